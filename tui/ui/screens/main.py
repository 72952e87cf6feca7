"""The reading screen: feeds | articles | article, and the state that ties them together.

The screen owns the state (which view, which article, refresh progress, where the reader
was) and talks to the store; the widgets draw and report what the user did with messages.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import shlex
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Static

from tui.config import Config, ConfigError, FeedConfig, resolve_cache_dir
from tui.content.sanitize import clean_line, html_to_line, is_openable_url
from tui.ui.screens.link_prompt import LinkPrompt
from tui.ui.screens.prompts import Choose, Confirm, TextPrompt
from tui.store.cache import Article, Store, StoreError
from tui.feeds.subscriptions import feed_key
from tui.ui.widgets.article_list import ArticleList
from tui.ui.widgets.article_view import ArticleView
from tui.ui.widgets.feed_list import FeedEntry, FeedList, build_entries
from tui.ui.widgets.keys import bind, display_key, effective_keys
from tui.ui.widgets.status_bar import StatusBar
from tui.ui.widgets.text import plain

if TYPE_CHECKING:
    from tui.feeds.refresh import FeedOutcome

PANES = ("feeds", "articles", "reader")
SCROLL_MEMORY = 500  # articles whose scroll position is remembered
STATE_DELAY = 0.5  # seconds: state changes are written at most this often
MERGE_DELAY = 0.4  # seconds: a running refresh is merged into the lists at most this often
MINUTE = 60  # seconds; Settings.auto_refresh_minutes counts these
CONSOLE_BROWSERS = {"www-browser", "links", "elinks", "lynx", "w3m"}
FIXED_VIEWS = ("search", "ignored")  # search views whose ids are found once, not when shown
SEARCH_LIMIT = 500  # results of a typed search
SHORT_FEED_TEXT = 600  # characters: a feed text shorter than this opens on the full article when one is cached


class MainScreen(Screen[None]):
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    BINDINGS = [
        bind("back", "back"),
        bind("next_pane", "next_pane"),
        bind("previous_pane", "previous_pane"),
        bind("article_page_down", "article_page_down"),
        bind("article_page_up", "article_page_up"),
        bind("next_unread", "next_unread"),
        bind("previous_unread", "previous_unread"),
        bind("search", "search"),
        bind("reader_mode", "reader_mode"),
        bind("link", "link_prompt"),
        *(bind(f"link_{n}", f"open_link({n})") for n in range(1, 10)),
        bind("toggle_read", "toggle_read"),
        bind("mark_all_read", "mark_all_read"),
        bind("star", "star"),
        bind("sort", "sort"),
        bind("open_browser", "open_browser"),
        bind("copy_link", "copy_link"),
        bind("refresh", "refresh"),
        bind("refresh_all", "refresh_all"),
        bind("add_feed", "add_feed"),
        bind("remove_feed", "remove_feed"),
        bind("edit_tags", "edit_tags"),
    ]

    pane: var[str] = var("feeds")

    def __init__(self, store: Store, config: Config, cache_dir: Path) -> None:
        super().__init__()
        self.store = store
        self.config = config
        self.cache_dir = cache_dir
        self.oldest_first = config.settings.oldest_first
        self.entry: FeedEntry | None = None
        self.feed_names: dict[int, str] = {}
        self.total = 0
        self.refreshing = False
        self._scrolls: dict[str, int] = {}  # article id -> line, oldest first
        self._scrolls_changed = False
        self._pending: dict[str, str] = {}
        self._state_timer_running = False
        self._merge_due = False
        self._merge_timer_running = False
        self.full_article = False  # the reader shows the fetched full article, not the feed's text
        self._fetching: int | None = None  # the article whose full text is being fetched
        self._virtual_ids: dict[str, list[int]] = {}  # search view key -> its article ids, in order
        self._ignored: set[int] = set()  # articles the [[ignore]] queries match: hidden from every list
        self._ignores_failed = False
        self._before_search: FeedEntry | None = None  # the view a typed search replaced
        self._search_counts: dict[str, int] = {}  # saved search key -> unread matches
        self._bad_searches: set[str] = set()  # saved searches whose query cannot be read
        self._pending_select: int | None = None  # the article to select when a saved search has run

    # ------------------------------------------------------------------ building
    def compose(self) -> ComposeResult:
        entries = self._entries()
        collapsed = _json_list(self.store.get_state("ui.collapsed", "[]"))
        with Horizontal(id="panes"):
            feeds = FeedList(entries, collapsed=collapsed, id="feeds", classes="pane")
            feeds.border_title = "Feeds"
            yield feeds
            with Vertical(id="articles-pane", classes="pane"):
                yield Static(id="banner", markup=False)
                yield ArticleList(self.store.rows, id="articles")
            yield ArticleView(id="reader", classes="pane")
        yield StatusBar(id="status")

    def _entries(self) -> list[FeedEntry]:
        """The feed pane's lines from the counters; also the feed names and the total.
        Feeds added to the config since the last run get their cache rows here (one quick
        write, only then)."""
        rows = self.store.feeds()
        known = {row.url for row in rows}
        missing = [f.url for f in self.config.feeds if f.url not in known]
        if missing:
            self.store.ensure_feeds(missing)
            rows = self.store.feeds()
        entries = build_entries(self.config, rows, self.store.count(starred=True), self._search_counts,
                                ignored=len(self._ignored))
        self.feed_names = {e.feed_ids[0]: e.label for e in entries if e.kind == "feed" and e.feed_ids}
        self.total = sum(row.total for row in rows if row.id in self.feed_names)
        return entries

    def on_mount(self) -> None:
        """Only the feed list and the counts go into the first frame; the article list
        and the article the reader left open follow right after it."""
        feeds = self.query_one(FeedList)
        if not feeds.select(self.store.get_state("ui.view", "all"), announce=False):
            feeds.select("all", announce=False)
        self._show_pane(self.pane)
        self._show_counts()
        self._status_keys()
        self.call_after_refresh(self._restore)
        # the article renderer is not needed for the first frame; load it while the user looks
        self.set_timer(0.3, lambda: self.run_worker(lambda: importlib.import_module("tui.content.render"), thread=True,
                                                   group="warm-up"))
        minutes = self.config.settings.auto_refresh_minutes
        if minutes > 0:
            self.set_interval(minutes * MINUTE, self._refresh_on_timer, name="auto-refresh")

    def _restore(self) -> None:
        """Back to where the reader was: the view, the selected article, the open one
        (scrolled where it was) and the pane."""
        self._scrolls = {k: int(v) for k, v in _json_dict(self.store.get_state("ui.scroll", "{}")).items()}
        current, selected = self.query_one(FeedList).current, _int(self.store.get_state("ui.article"))
        if current is not None and current.virtual:
            self._pending_select = selected  # a saved search lists its articles once it has run
        self.show_entry(current, select=selected)
        opened = _int(self.store.get_state("ui.open"))
        if opened is not None and opened == self.query_one(ArticleList).current_id:
            self.open_article(opened, focus=False)
        pane = self.store.get_state("ui.pane", "feeds")
        if pane == "reader" and self.query_one(ArticleView).article_id is None:
            pane = "articles"
        self.pane = pane if pane in PANES else "feeds"
        self.count_searches()
        self.find_ignored()

    def on_unmount(self) -> None:
        self.flush_state()

    # --------------------------------------------------------------------- panes
    def watch_pane(self, pane: str) -> None:
        self._show_pane(pane)
        self.remember({"ui.pane": pane})

    def _show_pane(self, pane: str) -> None:
        """Focus the pane; on a narrow terminal it is also the only one shown."""
        for name in PANES:
            self.query_one(f"#{'articles-pane' if name == 'articles' else name}").set_class(name == pane, "-active")
        widget = {"feeds": FeedList, "articles": ArticleList, "reader": ArticleView}[pane]
        self.query_one(widget).focus(scroll_visible=False)

    def on_descendant_focus(self, event: object) -> None:
        focused = self.focused
        for name, widget in (("feeds", FeedList), ("articles", ArticleList), ("reader", ArticleView)):
            if isinstance(focused, widget) and self.pane != name:
                self.pane = name

    def action_back(self) -> None:
        if self.pane == "reader":
            self.pane = "articles"
        elif self.pane == "articles" and self.entry is not None and self.entry.key == "search":
            self.end_search()
        elif self.pane == "articles":
            self.pane = "feeds"

    def action_next_pane(self) -> None:
        self.pane = PANES[(PANES.index(self.pane) + 1) % len(PANES)]

    def action_previous_pane(self) -> None:
        self.pane = PANES[(PANES.index(self.pane) - 1) % len(PANES)]

    # --------------------------------------------------------------------- views
    def show_entry(self, entry: FeedEntry | None, *, keep: bool = False, select: int | None = None) -> None:
        """Fill the article pane with the view `entry` stands for."""
        if entry is None:
            return
        self.entry = entry
        if entry.virtual and entry.key not in FIXED_VIEWS and entry.key not in self._virtual_ids:
            self.run_search(entry)  # shown when found; the list is empty meanwhile
        articles = self.query_one(ArticleList)
        articles.feed_names = self.feed_names
        articles.show(self._view_ids(entry, articles.ids if keep else None), show_feed=entry.kind != "feed",
                      keep=keep, select=select)
        pane = self.query_one("#articles-pane")
        pane.border_title = plain(entry.label)
        order = "oldest first" if self.oldest_first else "newest first"
        pane.border_subtitle = Content("best matches first" if entry.key == "search" else order)
        banner = self.query_one("#banner", Static)
        banner.update(plain(f"! {entry.error}") if entry.error else Content(""))
        banner.display = bool(entry.error)
        if entry.key != "search":  # a typed search is not where the reader comes back to
            self.remember({"ui.view": entry.key})
        if articles.current_id is not None:
            self.remember({"ui.article": str(articles.current_id)})
        self._status_view()

    def _view_ids(self, entry: FeedEntry, shown: list[int] | None) -> list[int]:
        """The ids of a view in display order. When a filtered view ("Unread", "Starred") is
        read again while it is shown, the articles already in it stay, so reading or
        unstarring never pulls lines from under the cursor."""
        if entry.key == "ignored":
            ids = self._virtual_ids.get(entry.key, [])
            return ids[::-1] if self.oldest_first else ids
        if entry.virtual:
            ids = [i for i in self._virtual_ids.get(entry.key, []) if i not in self._ignored]
            return ids[::-1] if self.oldest_first and entry.key != "search" else ids
        ids = self.store.article_ids(feed_ids=entry.feed_ids, unread=entry.unread_only,
                                     starred=entry.starred_only, oldest_first=self.oldest_first)
        if shown is None or not (entry.unread_only or entry.starred_only):
            return [i for i in ids if i not in self._ignored] if self._ignored else ids
        keep = set(ids)
        keep.update(shown)
        return [i for i in self.store.article_ids(feed_ids=entry.feed_ids, oldest_first=self.oldest_first)
                if i in keep and i not in self._ignored]

    @on(FeedList.Highlighted)
    def _feed_highlighted(self, event: FeedList.Highlighted) -> None:
        self.show_entry(event.entry)

    @on(FeedList.Opened)
    def _feed_opened(self, event: FeedList.Opened) -> None:
        if self.entry is None or event.entry.key != self.entry.key:
            self.show_entry(event.entry)
        self.pane = "articles"

    @on(FeedList.Folded)
    def _feed_folded(self, event: FeedList.Folded) -> None:
        self.remember({"ui.collapsed": json.dumps(sorted(event.collapsed))})

    @on(ArticleList.Highlighted)
    def _article_highlighted(self, event: ArticleList.Highlighted) -> None:
        self.remember({"ui.article": str(event.article_id)})

    @on(ArticleList.Opened)
    def _article_opened(self, event: ArticleList.Opened) -> None:
        self.open_article(event.article_id)

    @on(ArticleView.Scrolled)
    def _article_scrolled(self, event: ArticleView.Scrolled) -> None:
        key = str(event.article_id)
        self._scrolls.pop(key, None)  # most recent last: the oldest are forgotten first
        if event.line:
            self._scrolls[key] = event.line
        while len(self._scrolls) > SCROLL_MEMORY:
            self._scrolls.pop(next(iter(self._scrolls)))
        self._scrolls_changed = True
        self._schedule_state()

    # ------------------------------------------------------------------ articles
    def open_article(self, article_id: int, *, focus: bool = True) -> None:
        """Show an article in the reader and mark it read. The feed's text by default; the
        full article when a copy is cached and the feed gave only a few lines."""
        article = self.store.article(article_id)
        if article is None:
            self.notify("That article is no longer in the cache.", severity="warning", markup=False)
            return
        extract = self.store.extract(article_id)
        feed_html = article.content or article.summary
        full = (extract is not None and extract.fetched is not None and bool(extract.text.strip())
                and len(html_to_line(feed_html)) < SHORT_FEED_TEXT)
        self._show_article(article, extract.html if full and extract else feed_html, full=full,
                           line=self._scrolls.get(str(article_id), 0))
        self.remember({"ui.open": str(article_id)})
        if not article.read:
            self.store.set_read([article_id])
            self.query_one(ArticleList).update_row(article_id, read=True)
            self._update_counts()
        if focus:
            self.pane = "reader"

    def _show_article(self, article: Article, html: str, *, full: bool, line: int) -> None:
        from tui.content.render import render_article

        reader = self.query_one(ArticleView)
        feed = self.feed_names.get(article.feed_id, "")
        width = reader.scrollable_content_region.width or None
        rendered = render_article(title=clean_line(article.title), feed=feed, author=clean_line(article.author),
                                  published=article.published, link=article.link, html=html, width=width)
        reader.show(article.id, rendered, line=line)
        reader.border_title = plain(feed)
        reader.border_subtitle = Content("full article" if full else "")
        self.full_article = full

    def action_reader_mode(self) -> None:
        """`t`: the full article in place of the feed's text, and back. The page is fetched
        (in a worker) the first time; the feed's text stays on screen if that fails."""
        reader = self.query_one(ArticleView)
        article_id = reader.article_id
        if article_id is None:
            self.notify("Open an article first.", markup=False)
            return
        article = self.store.article(article_id)
        if article is None:
            return
        if self.full_article:
            self._show_article(article, article.content or article.summary, full=False, line=0)
            return
        extract = self.store.extract(article_id)
        if extract is not None and extract.fetched is not None:
            self._show_article(article, extract.html, full=True, line=0)
            return
        if self._fetching == article_id:
            return
        self._fetching = article_id
        self.query_one(StatusBar).set(task="fetching the full article…")
        self.run_worker(self._fetch_full(article_id), group="fulltext", exclusive=True, exit_on_error=False)

    async def _fetch_full(self, article_id: int) -> None:
        """Runs as a worker: fetch_one writes the extract (or the error) to the cache."""
        from tui.feeds.fulltext import fetch_one

        status = self.query_one(StatusBar)
        try:
            outcome = await fetch_one(self.config, self.cache_dir, article_id)
        finally:
            if self._fetching == article_id:
                self._fetching = None
                status.set(task="")
        if not outcome.ok:
            self.notify(f"No full article: {clean_line(outcome.error) or 'the page could not be read'}",
                        title="Reader mode", severity="warning", markup=False)
            return
        reader = self.query_one(ArticleView)
        article = self.store.article(article_id)
        extract = self.store.extract(article_id)
        if reader.article_id != article_id or article is None or extract is None or extract.fetched is None:
            return  # the reader moved on; the copy is cached for next time
        self._show_article(article, extract.html, full=True, line=0)

    def _current_article(self) -> int | None:
        """The article a mark or a link key acts on: the one being read when the reader
        has focus, else the one under the list cursor."""
        reader = self.query_one(ArticleView)
        articles = self.query_one(ArticleList)
        if self.pane == "reader" and reader.article_id is not None:
            return reader.article_id
        return articles.current_id if articles.current_id is not None else reader.article_id

    def action_article_page_down(self) -> None:
        reader = self.query_one(ArticleView)
        articles = self.query_one(ArticleList)
        if reader.article_id is None and articles.current_id is not None:
            self.open_article(articles.current_id)
        else:
            reader.action_page_down()

    def action_article_page_up(self) -> None:
        self.query_one(ArticleView).action_page_up()

    def action_next_unread(self) -> None:
        self._jump_unread(forward=True)

    def action_previous_unread(self) -> None:
        self._jump_unread(forward=False)

    def _jump_unread(self, *, forward: bool) -> None:
        """Open the next (or previous) unread article, moving on to the next feed with
        unread articles when this one has no more."""
        entry = self.entry
        if entry is None:
            return
        articles = self.query_one(ArticleList)
        reader = self.query_one(ArticleView)
        if articles.ids:
            here = articles.cursor
            reading = reader.article_id is not None and reader.article_id == articles.current_id
            start = here + 1 if forward and reading else here if forward else here - 1
            found = self._find_unread(entry, articles.ids, start, forward)
            if found is not None:
                articles.move_cursor(found)
                self.open_article(articles.ids[found])
                return
        if entry.kind not in ("view", "search"):
            covered = set(entry.feed_ids or ())
            feeds = self.query_one(FeedList)
            order = feeds.entries if forward else list(reversed(feeds.entries))
            position = next((i for i, e in enumerate(order) if e.key == entry.key), -1)
            for candidate in order[position + 1:]:
                if candidate.kind == "feed" and candidate.count and not covered.intersection(candidate.feed_ids or ()):
                    feeds.select(candidate.key, announce=False)
                    self.show_entry(candidate)
                    ids = articles.ids
                    found = self._find_unread(candidate, ids, 0 if forward else len(ids) - 1, forward)
                    if found is not None:
                        articles.move_cursor(found)
                        self.open_article(ids[found])
                        return
        self.notify("No more unread articles.", markup=False)

    def _find_unread(self, entry: FeedEntry, ids: list[int], start: int, forward: bool) -> int | None:
        unread = set(self.store.article_ids(feed_ids=entry.feed_ids, unread=True, starred=entry.starred_only))
        if not unread:
            return None
        indexes = range(start, len(ids)) if forward else range(min(start, len(ids) - 1), -1, -1)
        return next((i for i in indexes if ids[i] in unread), None)

    def action_toggle_read(self) -> None:
        article_id = self._current_article()
        rows = self.store.rows([article_id]) if article_id is not None else []
        if not rows:
            return
        read = not rows[0].read
        self.store.set_read([rows[0].id], read)
        self.query_one(ArticleList).update_row(rows[0].id, read=read)
        self._update_counts()

    def action_star(self) -> None:
        article_id = self._current_article()
        rows = self.store.rows([article_id]) if article_id is not None else []
        if not rows:
            return
        starred = not rows[0].starred
        self.store.set_starred(rows[0].id, starred)
        self.query_one(ArticleList).update_row(rows[0].id, starred=starred)
        self._update_counts()

    def action_mark_all_read(self) -> None:
        entry = self.entry
        if entry is None:
            return
        if entry.virtual:  # only what the search shows, never every feed
            ids = [row.id for row in self.store.rows(self.query_one(ArticleList).ids) if not row.read]
            self.store.set_read(ids)
            count = len(ids)
        else:
            count = self.store.mark_all_read(feed_ids=entry.feed_ids, starred=entry.starred_only)
        self.query_one(ArticleList).reload_rows()
        self._update_counts()
        self.notify(f"Marked {count} article{'s' if count != 1 else ''} read.", markup=False)

    def action_sort(self) -> None:
        self.oldest_first = not self.oldest_first
        articles = self.query_one(ArticleList)
        self.show_entry(self.entry, select=articles.current_id)
        self.notify("Oldest first." if self.oldest_first else "Newest first.", markup=False)

    # -------------------------------------------------------------------- search
    def action_search(self) -> None:
        """`/`: ask for a query; the results replace the article list until Esc."""
        current = self.entry.query if self.entry is not None and self.entry.key == "search" else ""

        def typed(query: str | None) -> None:
            if query:
                entry = FeedEntry("search", "search", f"Search: {clean_line(query)}", None, query=query)
                self.run_search(entry)

        prompt = TextPrompt("Search the articles:", current, placeholder='words, "a phrase", feed:, tag:, is:unread …',
                            hint="Enter searches, Esc cancels. No marks needed: lanh dao finds Lãnh đạo.")
        self.app.push_screen(prompt, typed)

    def run_search(self, entry: FeedEntry) -> None:
        """Find the articles of a search view in a thread, on a connection of its own:
        the first query after a refresh indexes the new articles first."""
        self.query_one(StatusBar).set(task="searching…")
        self.run_worker(lambda: self._search_thread(entry), thread=True, group=f"search-{entry.key}",
                        exclusive=True, exit_on_error=False)

    def _search_thread(self, entry: FeedEntry) -> None:
        from textual.worker import get_current_worker

        from tui.store import search

        worker = get_current_worker()
        status = self.query_one(StatusBar)

        def progress(done: int, total: int) -> None:
            self.app.call_from_thread(status.set, task=f"indexing {done}/{total}…")

        try:
            store = Store.open(self.cache_dir)
            try:
                search.catch_up(store.conn, progress)
                tags = search.feed_tags(self.config, store.feeds())
                if entry.key == "search":
                    ids = [hit.article_id for hit in search.search(store.conn, entry.query, limit=SEARCH_LIMIT,
                                                                   tags=tags)]
                else:
                    ids = search.matching_ids(store.conn, entry.query, tags=tags)
            finally:
                store.close()
        except search.QueryError as exc:
            self.app.call_from_thread(self.notify, f"Search: {exc}", title="Search", severity="warning",
                                      markup=False)
            ids = None
        except Exception as exc:  # a cache that cannot be read is reported, never fatal
            self.app.call_from_thread(self.notify, f"Search failed: {exc}", severity="error", markup=False)
            ids = None
        finally:
            self.app.call_from_thread(status.set, task="")
        if ids is not None and not worker.is_cancelled:
            self.app.call_from_thread(self._search_done, entry, ids)

    def _search_done(self, entry: FeedEntry, ids: list[int]) -> None:
        self._virtual_ids[entry.key] = ids
        if entry.key == "search":
            if self.entry is not None and self.entry.key != "search":
                self._before_search = self.entry
            self.show_entry(entry)
            self.pane = "articles"
            if not ids:
                self.notify(f"Nothing found for {entry.query}", markup=False)
        elif self.entry is not None and self.entry.key == entry.key:
            select, self._pending_select = self._pending_select, None
            self.show_entry(entry, keep=True, select=select)

    def count_searches(self) -> None:
        """Unread matches of the saved searches, in a thread after the first frame (never
        before it: start-up stays as fast without them), after marks, and once a refresh has
        ended (not at each of its merges)."""
        if self.config.searches and not self.refreshing:
            self.run_worker(self._count_thread, thread=True, group="search-counts", exclusive=True,
                            exit_on_error=False)

    def _count_thread(self) -> None:
        from textual.worker import get_current_worker

        from tui.store import search

        worker = get_current_worker()
        counts: dict[str, int] = {}
        try:
            store = Store.open(self.cache_dir)
            try:
                tags = search.feed_tags(self.config, store.feeds())
                for saved in self.config.searches:
                    try:
                        counts[f"search:{saved.name}"] = search.count_unread(store.conn, saved.query, tags=tags)
                    except search.QueryError as exc:
                        if saved.name not in self._bad_searches:  # said once, not after every mark
                            self._bad_searches.add(saved.name)
                            self.app.call_from_thread(self.notify, f"Saved search {saved.name}: {exc}",
                                                      severity="warning", markup=False)
            finally:
                store.close()
        except Exception as exc:  # counts are a nicety: say why they are missing, go on
            self.app.call_from_thread(self.notify, f"Saved searches not counted: {exc}", severity="warning",
                                      markup=False)
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._counts_done, counts)

    def _counts_done(self, counts: dict[str, int]) -> None:
        if counts != self._search_counts:
            self._search_counts = counts
            self._update_counts(searches=False)

    def find_ignored(self) -> None:
        """The killfile: articles matched by the [[ignore]] queries, found in a thread after
        the first frame and after each refresh, then hidden from every list."""
        if self.config.ignores:
            self.run_worker(self._ignored_thread, thread=True, group="ignored", exclusive=True,
                            exit_on_error=False)
        elif self._ignored:
            self._ignored_done([])

    def _ignored_thread(self) -> None:
        from textual.worker import get_current_worker

        from tui.store import search

        worker = get_current_worker()
        try:
            store = Store.open(self.cache_dir)
            try:
                found = search.ignored_ids(store.conn, self.config.ignores, tags=search.feed_tags(self.config, store.feeds()))
                ordered = [i for i in store.article_ids() if i in found] if found else []
            finally:
                store.close()
        except Exception as exc:  # QueryError names the bad [[ignore]] line; nothing is hidden then
            if not self._ignores_failed:
                self._ignores_failed = True
                self.app.call_from_thread(self.notify, f"Ignore list not applied: {exc}", severity="warning",
                                          markup=False)
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._ignored_done, ordered)

    def _ignored_done(self, ordered: list[int]) -> None:
        found = set(ordered)
        self._virtual_ids["ignored"] = ordered
        if found == self._ignored:
            return
        self._ignored = found
        self._update_counts(searches=False)
        if self.entry is not None:
            self.show_entry(self.entry, keep=True)

    def end_search(self) -> None:
        """Esc on search results: back to the view they replaced."""
        self._virtual_ids.pop("search", None)
        before, self._before_search = self._before_search, None
        feeds = self.query_one(FeedList)
        entry = before or feeds.current
        if entry is not None:
            entry = next((e for e in feeds.entries if e.key == entry.key), entry)
            self.show_entry(entry)

    # --------------------------------------------------------------------- links
    def _article_link(self) -> str:
        article_id = self._current_article()
        rows = self.store.rows([article_id]) if article_id is not None else []
        return rows[0].link if rows else ""

    def action_open_browser(self) -> None:
        self.open_url(self._article_link())

    def action_copy_link(self) -> None:
        link = clean_line(self._article_link())
        if not link:
            self.notify("This article has no link.", severity="warning", markup=False)
            return
        self.app.copy_to_clipboard(link)
        self.notify(f"Copied {link}", markup=False)

    def action_open_link(self, number: int) -> None:
        links = self.query_one(ArticleView).links
        if not 1 <= number <= len(links):
            self.notify(f"The article has no link {number}.", severity="warning", markup=False)
            return
        self.open_url(links[number - 1])

    def action_link_prompt(self) -> None:
        count = len(self.query_one(ArticleView).links)
        if not count:
            self.notify("The article has no numbered links.", severity="warning", markup=False)
            return

        def chosen(number: int | None) -> None:
            if number is not None:
                self.action_open_link(number)

        self.app.push_screen(LinkPrompt(count), chosen)

    def open_url(self, url: str) -> None:
        """Hand a link to $BROWSER (or the system's browser) as one argument, no shell."""
        if not is_openable_url(url):
            self.notify("This link cannot be opened in a browser (only http and https links are).",
                        severity="warning", markup=False)
            return
        browser = os.environ.get("BROWSER", "").split(os.pathsep)[0].strip()
        if browser:
            try:
                parts = shlex.split(browser)
            except ValueError:
                parts = []
            if not parts:
                self.notify("$BROWSER is not a command docbao can run.", severity="error", markup=False)
                return
            argv = [part.replace("%s", url) for part in parts]
            if not any("%s" in part for part in parts):
                argv.append(url)
            try:
                subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, start_new_session=True)
            except OSError as exc:
                self.notify(f"Cannot run $BROWSER: {exc.strerror or exc}", severity="error", markup=False)
                return
            self.notify(f"Opening {url}", markup=False)
        else:
            self.run_worker(lambda: self._system_browser(url), thread=True, group="browser")

    def _system_browser(self, url: str) -> None:
        """In a thread: finding the system's browser probes the PATH, and some wait."""
        import webbrowser

        try:
            controller: webbrowser.BaseBrowser | None = webbrowser.get()
        except webbrowser.Error:
            controller = None
        if controller is None or getattr(controller, "name", "") in CONSOLE_BROWSERS:
            # a text-mode browser would fight the reader for the terminal
            self.notify("No graphical browser found; set $BROWSER.", severity="warning", markup=False)
        elif controller.open(url):
            self.notify(f"Opening {url}", markup=False)
        else:
            self.notify("The browser did not start; set $BROWSER.", severity="warning", markup=False)

    # ------------------------------------------------------------------- refresh
    def action_refresh(self) -> None:
        entry = self.entry
        self.start_refresh(list(entry.urls) if entry is not None and entry.urls else None)

    def action_refresh_all(self) -> None:
        self.start_refresh(None)

    def _refresh_on_timer(self) -> None:
        if not self.refreshing:
            self.start_refresh(None)

    def start_refresh(self, urls: list[str] | None) -> None:
        if self.refreshing:
            self.notify("A refresh is already running.", markup=False)
            return
        if not self.config.feeds:
            self.notify("No feeds are subscribed: add [[feed]] entries to the config.", severity="warning",
                        markup=False)
            return
        self.refreshing = True
        total = len(urls) if urls is not None else len(self.config.feeds)
        self.query_one(StatusBar).set(refresh=f"refreshing 0/{total}…")
        self.run_worker(self._refresh(urls), group="refresh", name="refresh", exit_on_error=False)

    async def _refresh(self, urls: list[str] | None) -> None:
        """Runs as a worker: the network waits on the loop, parsing and writing happen in
        threads inside tui.feeds.refresh, so keys keep working while it runs."""
        status = self.query_one(StatusBar)
        try:
            # the fetch and parse stack (httpx, feedparser) is imported off the event loop
            for module in ("tui.feeds.refresh", "tui.feeds.fetch", "tui.feeds.parse"):
                await asyncio.to_thread(importlib.import_module, module)
            from tui.feeds.refresh import refresh

            def progress(outcome: FeedOutcome, done: int, total: int) -> None:
                status.set(refresh=f"refreshing {done}/{total}…")
                if outcome.new or outcome.updated or outcome.status in ("error", "gone"):
                    self._merge_soon()

            report = await refresh(self.config, self.cache_dir, only=urls, progress=progress)
        except Exception as exc:  # a refresh that cannot run at all is reported, never fatal
            self.notify(f"Refresh failed: {exc}", severity="error", markup=False)
            status.set(refresh="refresh failed")
            return
        finally:
            self.refreshing = False
        self._merge()
        self.find_ignored()
        failed = report.failed
        summary = f"{report.new} new" + (f", {len(failed)} failed" if failed else "")
        status.set(refresh=f"refreshed {time.strftime('%H:%M')}: {summary}")
        for outcome in failed[:3]:
            self.notify(f"{clean_line(outcome.title)}: {clean_line(outcome.error)}", title="Feed not refreshed",
                        severity="error", markup=False)
        if len(failed) > 3:
            self.notify(f"{len(failed) - 3} more feeds were not refreshed; they are marked ! in the feed list.",
                        severity="error", markup=False)

    def _merge_soon(self) -> None:
        self._merge_due = True
        if not self._merge_timer_running:
            self._merge_timer_running = True
            self.set_timer(MERGE_DELAY, self._merge_tick)

    def _merge_tick(self) -> None:
        self._merge_timer_running = False
        if self._merge_due:
            self._merge()

    def _merge(self) -> None:
        """Read counts and the current view again after a refresh wrote to the cache,
        keeping the cursor on its article."""
        self._merge_due = False
        self._update_counts()
        for key in [k for k in self._virtual_ids if k not in FIXED_VIEWS]:
            del self._virtual_ids[key]  # new articles may match: found again when shown
        entry = self.entry
        if entry is not None:
            if entry.virtual and entry.key not in FIXED_VIEWS:
                self.run_search(entry)  # keeps the old list until the new one is ready
            else:
                self.show_entry(entry, keep=True)  # draws the rows from the store again

    # ------------------------------------------------------------- subscriptions
    def action_add_feed(self) -> None:
        """`a`: a URL, looked up in a worker; a page naming several feeds offers a choice."""
        def typed(url: str | None) -> None:
            if url:
                self.add_feed(url)

        self.app.push_screen(TextPrompt("Subscribe to (a feed's or a site's URL):", placeholder="https://…",
                                        hint="Enter looks it up, Esc cancels"), typed)

    def add_feed(self, raw: str) -> None:
        from tui.feeds.opml import check_feed_url
        from tui.feeds.subscriptions import known_feeds

        url, reason = check_feed_url(raw)
        if reason:
            self.notify(f"Cannot subscribe to {clean_line(raw)}: {reason}", severity="warning", markup=False)
            return
        known = known_feeds(self.config, self.cache_dir)
        if feed_key(url) in known:
            self._already(known[feed_key(url)])
            return
        self.query_one(StatusBar).set(task=f"looking up {url}…")
        self.run_worker(self._look_up(url, known), group="subscribe", exclusive=True, exit_on_error=False)

    def _already(self, feed: FeedConfig) -> None:
        name = self.feed_names.get(self._feed_id(feed.url) or -1) or feed.title or feed.url
        self.notify(f"Already subscribed: {clean_line(name)}", severity="warning", markup=False)

    def _feed_id(self, url: str) -> int | None:
        ids = self.store.feed_ids([url])
        return ids.get(url)

    async def _look_up(self, url: str, known: dict[str, FeedConfig]) -> None:
        """Runs as a worker: fetch the URL; a feed is subscribed, a page's feeds are offered."""
        from tui.feeds.subscriptions import look_up

        settings = self.config.settings
        max_bytes = int(settings.max_feed_mb * 1024 * 1024)
        status = self.query_one(StatusBar)
        try:
            lookup = await look_up(url, deadline=settings.timeout, max_bytes=max_bytes)
        except Exception as exc:  # reported, never fatal
            self.notify(f"Cannot look up {url}: {exc}", severity="error", markup=False)
            return
        finally:
            status.set(task="")
        if lookup.kind == "error":
            self.notify(f"Cannot fetch {url}: {clean_line(lookup.error)}", severity="error", markup=False)
            return
        if lookup.kind == "feed":
            if lookup.final_url and feed_key(lookup.final_url) in known:
                self._already(known[feed_key(lookup.final_url)])
                return
            self._subscribe(lookup.candidates[0].url, "", verified=True, known=known)
            return
        found = lookup.candidates
        if not found:
            where = " (nor at the usual feed paths of the site)" if lookup.probed else ""
            self.notify(f"{url} is a web page that names no feed{where}.", severity="warning", markup=False)
            return
        if len(found) == 1:
            self._subscribe(found[0].url, found[0].title, verified=found[0].verified, known=known)
            return
        labels = [f"{clean_line(c.title) or '(untitled)'}  {c.url}"
                  + ("  (already subscribed)" if feed_key(c.url) in known else "") for c in found]

        def chosen(index: int | None) -> None:
            if index is not None:
                pick = found[index]
                self._subscribe(pick.url, pick.title, verified=pick.verified, known=known)

        self.app.push_screen(Choose(f"{len(found)} feeds are named by {lookup.final_url}; subscribe to:", labels),
                             chosen)

    def _subscribe(self, url: str, title: str, *, verified: bool, known: dict[str, FeedConfig]) -> None:
        if feed_key(url) in known:
            self._already(known[feed_key(url)])
            return
        if verified:
            self._write_feed(url, title)
            return
        self.query_one(StatusBar).set(task=f"checking {url}…")
        self.run_worker(self._check_then_write(url, title, known), group="subscribe", exclusive=True,
                        exit_on_error=False)

    async def _check_then_write(self, url: str, title: str, known: dict[str, FeedConfig]) -> None:
        """A feed a page names is fetched once before it is subscribed: pages name dead feeds."""
        from tui.feeds.subscriptions import check_is_feed

        settings = self.config.settings
        try:
            checked = await check_is_feed(url, deadline=settings.timeout, max_bytes=int(settings.max_feed_mb * 1024 * 1024))
        finally:
            self.query_one(StatusBar).set(task="")
        if isinstance(checked, str):
            self.notify(f"Not subscribed: {url}: {clean_line(checked)}", severity="error", markup=False)
        elif checked.final_url and feed_key(checked.final_url) in known:
            self._already(known[feed_key(checked.final_url)])
        else:
            self._write_feed(url, title)

    def _write_feed(self, url: str, title: str) -> None:
        """Add the feed to the config file (created where docbao looks when there is none),
        read the config again and fetch the new feed."""
        from tui.config import add_feeds, default_config_path

        path = self.config.path or default_config_path()
        default_cache = self.config.path is None and self.cache_dir == resolve_cache_dir(self.config)
        try:
            add_feeds(path, [FeedConfig(url=url, title=clean_line(title))])
        except ConfigError as exc:
            self.notify(f"Not subscribed: {exc}", severity="error", markup=False)
            return
        if not self._reload_config(path):
            return
        if default_cache and resolve_cache_dir(self.config) != self.cache_dir:
            # a config just created keeps its cache beside it, where the next start looks
            self._use_cache(resolve_cache_dir(self.config))
        self._update_counts()
        feed_id = self._feed_id(url)
        feeds = self.query_one(FeedList)
        if feed_id is not None and feeds.select(f"feed:{feed_id}", announce=False):
            self.show_entry(feeds.current)
        self.notify(f"Subscribed to {url}", markup=False)
        if self.refreshing:
            self.notify("It is fetched by the next refresh (one is running).", markup=False)
        else:
            self.start_refresh([url])

    def _use_cache(self, folder: Path) -> None:
        """Go on with the cache at `folder` (the old one is closed by whoever opened it)."""
        try:
            store = Store.open(folder)
        except StoreError as exc:
            self.notify(f"Cannot open the cache {folder}: {exc}", severity="error", markup=False)
            return
        self.flush_state()
        self.store, self.cache_dir = store, folder
        self.query_one(ArticleList).use_source(store.rows)
        adopt = getattr(self.app, "adopt_store", None)
        if adopt is not None:
            adopt(store, folder)

    def _reload_config(self, path: Path) -> bool:
        from tui.config import load_config

        try:
            config = load_config(path)
        except ConfigError as exc:
            self.notify(f"The config cannot be read again: {exc}", severity="error", markup=False)
            return False
        self.config = config
        if hasattr(self.app, "config"):
            self.app.config = config
        return True

    def _selected_feed(self) -> tuple[FeedEntry, FeedConfig] | None:
        """The feed under the feed list's cursor and its config entry, or None (saying why)."""
        entry = self.query_one(FeedList).current
        if entry is None or entry.kind != "feed" or not entry.urls:
            self.notify("Select a feed in the feed list first.", severity="warning", markup=False)
            return None
        feed = next((f for f in self.config.feeds if f.url == entry.urls[0]), None)
        if feed is None or self.config.path is None:
            self.notify("This feed is not in a config file docbao can edit.", severity="warning", markup=False)
            return None
        return entry, feed

    def action_remove_feed(self) -> None:
        """`d`: unsubscribe after a confirmation; the cached articles stay."""
        from tui.config import remove_feed

        selected = self._selected_feed()
        if selected is None:
            return
        entry, feed = selected
        path = self.config.path
        assert path is not None

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                remove_feed(path, feed.url)
            except ConfigError as exc:
                self.notify(f"Not removed: {exc}", severity="error", markup=False)
                return
            if self._reload_config(path):
                self._update_counts()
                self.show_entry(self.query_one(FeedList).current)
                self.notify(f"Unsubscribed from {entry.label}; its articles stay in the cache.", markup=False)

        self.app.push_screen(Confirm(f"Unsubscribe from {entry.label}? Its articles stay in the cache."), answered)

    def action_edit_tags(self) -> None:
        """`T`: the feed's tags as "a, b"; each tag is a folder of the feed list."""
        from tui.config import set_feed_tags

        selected = self._selected_feed()
        if selected is None:
            return
        entry, feed = selected
        path = self.config.path
        assert path is not None

        def typed(text: str | None) -> None:
            if text is None:
                return
            tags = list(dict.fromkeys(t for t in (clean_line(part) for part in text.split(",")) if t))
            try:
                set_feed_tags(path, feed.url, tags)
            except ConfigError as exc:
                self.notify(f"Tags not changed: {exc}", severity="error", markup=False)
                return
            if self._reload_config(path):
                self._update_counts()
                feeds = self.query_one(FeedList)
                key = f"tag:{tags[0]}/feed:{entry.feed_ids[0]}" if tags and entry.feed_ids else \
                    f"feed:{entry.feed_ids[0]}" if entry.feed_ids else ""
                if key and feeds.select(key, announce=False):
                    self.show_entry(feeds.current)

        self.app.push_screen(TextPrompt(f"Tags of {entry.label} (comma-separated, empty for none):",
                                        ", ".join(feed.tags)), typed)

    # ------------------------------------------------------------------- counts
    def _update_counts(self, *, searches: bool = True) -> None:
        """Read the counters again (after marks or a refresh) into the feed list; the saved
        searches are counted again in a worker."""
        if searches:
            self.count_searches()
        feeds = self.query_one(FeedList)
        feeds.set_entries(self._entries())
        if self.entry is not None:
            self.entry = next((e for e in feeds.entries if e.key == self.entry.key), self.entry)
        self._show_counts()

    def _show_counts(self) -> None:
        unread = self.query_one(FeedList).entries[0].count
        self.query_one(StatusBar).set(counts=f"{unread} unread · {self.total} articles")
        self._status_view()

    def _status_view(self) -> None:
        articles = self.query_one(ArticleList)
        if self.entry is not None:
            self.query_one(StatusBar).set(view=f"{len(articles.ids)} in view")

    def _status_keys(self) -> None:
        keymap = getattr(self.app, "keymap", {})
        help_key = display_key(effective_keys("help", keymap).split(",")[0])
        quit_key = display_key(effective_keys("quit", keymap).split(",")[0])
        self.query_one(StatusBar).set(keys=f"{help_key} keys  {quit_key} quit")

    # -------------------------------------------------------------------- state
    def remember(self, values: dict[str, str]) -> None:
        """Note where the reader is; written to the cache at most every STATE_DELAY seconds."""
        self._pending.update(values)
        self._schedule_state()

    def _schedule_state(self) -> None:
        if not self._state_timer_running:
            self._state_timer_running = True
            self.set_timer(STATE_DELAY, self._state_tick)

    def _state_tick(self) -> None:
        self._state_timer_running = False
        self.flush_state()

    def flush_state(self) -> None:
        if self._scrolls_changed:
            self._scrolls_changed = False
            self._pending["ui.scroll"] = json.dumps(self._scrolls)
        if self._pending:
            pending, self._pending = self._pending, {}
            self.store.set_state(pending)


def _json_list(text: str) -> list[str]:
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def _json_dict(text: str) -> dict[str, int]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, int)}


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None
