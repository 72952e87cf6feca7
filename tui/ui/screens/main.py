"""The reading screen: feeds | articles | article, and the state that ties them together.

The screen owns the state (which view, which article, refresh progress, where the reader
was) and talks to the store; the widgets draw and report what the user did with messages.
This module composes the screen, moves between the panes and fills the article list with
a view; reading, links, search, refresh and subscriptions are parts of their own
(see screens/base.py), and where the reader was is kept by screens/ui_state.py.
"""

from __future__ import annotations

import gc
import importlib
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Static
from textual.worker import Worker, get_current_worker

from tui.content.sanitize import clean_line
from tui.store.cache import ORDERS, Store
from tui.store.index import fold
from tui.ui.screens.base import FIXED_VIEWS
from tui.ui.screens.commands import CommandsPart
from tui.ui.screens.downloading import DownloadsPart
from tui.ui.screens.links import LinksPart
from tui.ui.screens.notifying import NotifyPart
from tui.ui.screens.reading import ReadingPart
from tui.ui.screens.refreshing import RefreshPart
from tui.ui.screens.searching import SearchPart
from tui.ui.screens.subscribing import SubscribePart
from tui.ui.views import ViewIds, ViewQuery, every, near, page
from tui.ui.widgets.article_list import ArticleList
from tui.ui.widgets.article_view import ArticleView
from tui.ui.widgets.feed_list import FeedEntry, FeedList, build_entries
from tui.ui.widgets.keys import bind
from tui.ui.widgets.status_bar import StatusBar
from tui.ui.widgets.text import plain, plural

PANES = ("feeds", "articles", "reader")
ORDER_NAMES = {"newest": "newest first", "oldest": "oldest first", "title": "by title", "feed": "by feed",
               "best": "best matches first", "stored": "most recently stored first"}
ROOMY = 200  # columns from which the article read last stays in view beside the list
KEPT_REACH = 1000  # lines either side of the cursor whose articles a filtered view keeps when read again


def nothing_matches(query: str, search_key: str) -> str:
    """What the list of a typed search that found nothing says: the query (one clean line,
    never markup) and how words match."""
    return (f"Nothing matches \u201c{clean_line(query)}\u201d. Every word must match a whole word (case, "
            f"diacritics and plural aside); word* also finds longer words. {search_key} edits the search, "
            "Esc goes back.")



def warm_up(modules: list[str]) -> None:
    """Import `modules` (in a thread), then take what they built out of the collector's
    sight like the rest of the app (gc.freeze): left in it, every full collection walked
    them on the event loop, 25-35 ms each while an article's pictures were drawn."""
    for name in modules:
        importlib.import_module(name)
    gc.freeze()

class MainScreen(ReadingPart, LinksPart, CommandsPart, DownloadsPart, SearchPart, RefreshPart, NotifyPart,
                 SubscribePart):
    """Composition, the panes and moving between them, the view the article list shows,
    and the counts; what each key does lives in the part it belongs to."""

    # narrow: one pane at a time; wide: the feeds and the list; roomy: the last article read beside them
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide"), (ROOMY, "-roomy")]
    BINDINGS = [
        bind("back", "back"),
        bind("back_or_quit", "back_or_quit"),
        bind("next_pane", "next_pane"),
        bind("previous_pane", "previous_pane"),
        bind("find_feed", "find_feed"),
        bind("hide_read", "hide_read"),
        bind("sort", "sort"),
    ]

    _load = 0  # the number of the latest view load; what an older one read is dropped
    _loader: Worker[None] | None = None  # the thread reading the rest of the view's ids
    _loaded: Callable[[], None] | None = None  # what to do once the whole view is in

    @dataclass
    class ViewRead(Message):
        """A view's ids, read in a thread."""

        load: int
        found: ViewIds
        around: int | None  # the article whose line `found.index` is

    # ------------------------------------------------------------------ building
    def compose(self) -> ComposeResult:
        entries = self._entries()
        collapsed = self.state.collapsed()
        with Horizontal(id="panes"):
            feeds = FeedList(entries, collapsed=collapsed, hide_read=self.hide_read, id="feeds", classes="pane")
            feeds.border_title = "Feeds"
            yield feeds
            with Vertical(id="articles-pane", classes="pane"):
                yield Static(id="banner", markup=False)
                yield ArticleList(self.store.rows, self.store.leads, date_format=self.config.settings.date_format,
                                  id="articles")
            reader = ArticleView(reading_width=self.config.settings.reading_width, id="reader", classes="pane")
            reader.images_on = getattr(self.app, "image_mode", "off") != "off"
            yield reader
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
        entries = build_entries(self.config, rows, lambda ids: self.store.count(feed_ids=ids, starred=True),
                                self._search_counts,
                                ignored=len(self._ignored),
                                ignored_unread=self.store.unread_by_feed(self._ignored) if self._ignored else None)
        self.feed_names = {e.feed_ids[0]: e.label for e in entries if e.kind == "feed" and e.feed_ids}
        self.total = sum(row.total for row in rows if row.id in self.feed_names)
        return entries

    def on_mount(self) -> None:
        """Only the feed list and the counts go into the first frame; the article list
        and the article the reader left open follow right after it."""
        feeds = self.query_one(FeedList)
        if not feeds.select(self.state.get("ui.view", "all"), announce=False):
            feeds.select("all", announce=False)
        self._show_pane(self.pane)
        self._show_counts()
        self._status_keys()
        self.call_after_refresh(self._restore)
        # the article renderer (and, when pictures are drawn, the HTTP stack that fetches them
        # and Pillow that decodes them) is not needed for the first frame; load it while the
        # user looks, not as an article opens (a thread importing then competes with the
        # article's first frames)
        pictures = getattr(self.app, "image_mode", "off") != "off"
        modules = ["tui.content.render", *(["tui.feeds.fetch", "tui.feeds.images", "PIL.Image"] if pictures else [])]
        self.set_timer(0.3, lambda: self.run_worker(lambda: warm_up(modules), thread=True, group="warm-up"))
        self.start_auto_refresh()

    def _restore(self) -> None:
        """Back to where the reader was: the view, the selected article, the open one
        (scrolled where it was) and the pane. A long view shows the page around the
        selected article at once and the rest once its ids are read in a thread (a million
        take a second); the open article and the pane come back then."""
        self.state.load_scrolls()
        current, selected = self.query_one(FeedList).current, self.state.get_int("ui.article")
        if current is not None and current.virtual:
            self._pending_select = selected  # a saved search lists its articles once it has run
        place = self.state.get_int("ui.open"), self.state.get("ui.pane", "feeds")
        self.show_entry(current, select=selected, then=lambda: self._reopen(place))
        if self.loading_view and place[1] == "articles":  # keys go there meanwhile
            self.pane = "articles"  # the reader's pane comes with its article
        self.count_searches()
        self.find_ignored()
        self.start_watching()
        if self.config.settings.refresh_on_start:
            self.start_refresh(None)

    def _reopen(self, place: tuple[int | None, str]) -> None:
        """The article the reader left open (scrolled where it was) and the pane."""
        opened, pane = place
        if opened is not None and opened == self.query_one(ArticleList).current_id:
            self.open_article(opened, focus=False, mark=False)
        if pane == "reader" and self.reading is None:
            pane = "articles"
        self.pane = pane if pane in PANES else "feeds"

    def on_unmount(self) -> None:
        self.state.flush()

    # --------------------------------------------------------------------- panes
    def watch_pane(self, pane: str) -> None:
        self._show_pane(pane)
        self.remember({"ui.pane": pane})
        self._status_view()

    def on_resize(self, event: object) -> None:
        """The panes shown change at the breakpoints (whose classes are set by now), and the
        status line's view part with them; only then, and not after a refresh: headless,
        each refresh asked for from here resized the screen again, for ever."""
        narrow = self.has_class("-narrow")
        if narrow != self._narrow:
            self._narrow = narrow
            self._status_view()

    def _show_pane(self, pane: str) -> None:
        """Focus the pane; on a narrow terminal it is also the only one shown, and the
        article being read always is (the feeds and the list step aside until back)."""
        self.set_class(pane == "reader", "-reading")
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

    def action_back_or_quit(self) -> None:
        """`q` as in newsboat: back one pane (article, articles, feeds); quit from the feeds."""
        if self.pane == "feeds":
            if not self.quit_after_marks():
                self.app.exit()
        else:
            self.action_back()

    def action_next_pane(self) -> None:
        self._next_pane(1)

    def action_previous_pane(self) -> None:
        self._next_pane(-1)

    def _next_pane(self, step: int) -> None:
        """Tab and Shift+Tab: the next pane round. Under ROOMY columns the article is on
        screen only while it has the focus, so the reader's pane is the article the list
        selects: opened as Enter opens it (the one read last may be another), and left out
        when the list selects none."""
        pane = PANES[(PANES.index(self.pane) + step) % len(PANES)]
        if pane == "reader" and not self.has_class("-roomy"):
            selected = self.query_one(ArticleList).current_id
            if selected is None:
                pane = PANES[(PANES.index(pane) + step) % len(PANES)]
            elif selected != self.reading:
                self.open_article(selected)
                return
        self.pane = pane

    def action_find_feed(self) -> None:
        """`F`: type part of a feed's or tag's name; Enter puts the feed list on it."""
        from tui.ui.screens.finder import FeedFinder

        def chosen(key: str | None) -> None:
            if key is not None and self.query_one(FeedList).select(key):
                self.pane = "feeds"

        self.app.push_screen(FeedFinder(self.query_one(FeedList).entries), chosen)

    # --------------------------------------------------------------------- views
    @property
    def loading_view(self) -> bool:
        """The view's ids are still being read (the list shows a page of them)."""
        return self._loader is not None

    def show_entry(self, entry: FeedEntry | None, *, keep: bool = False, select: int | None = None,
                   then: Callable[[], None] | None = None, at_once: bool = False) -> None:
        """Fill the article pane with the view `entry` stands for: a page around the
        article to select at once (the whole view when it is short), the rest from a
        thread, while keys wait (typeahead.VIEW_WORKERS). `keep`: the same view read again
        (after marks or a refresh): its lines stay until the new ones are in, the selected
        article and its place on screen are kept, and in a filtered view ("Unread",
        "Starred", read hidden) the articles shown near the cursor stay though they left
        it. `then`: called once the whole view is in. `at_once`: the whole view read here
        (a feed's, which `n` looks through)."""
        if entry is None:
            return
        self._load += 1
        waited = self._loader is not None and self._loader.group == "view"  # a new view, not yet in
        if self._loader is not None:
            self._loader.cancel()  # a newer view: what the older load reads is never shown
            self._loader = None
        articles = self.query_one(ArticleList)
        same = self.entry is not None and self.entry.key == entry.key
        keep = keep and same
        if not same and self._view_note:  # "Sorted oldest first." was of the view left
            self.query_one(StatusBar).unsay(self._view_note)
            self._view_note = ""
        self.entry = entry
        if entry.virtual and entry.key not in FIXED_VIEWS and entry.key not in self._virtual_ids:
            self.run_search(entry)  # shown when found; the list is empty meanwhile
        articles.feed_names = self.feed_names
        around = select if select is not None else (articles.current_id if keep else None)
        query = self._view_query(entry, kept=self._kept(entry) if keep else ())
        found = every(self.store, query, around) if at_once else page(self.store, query, around)
        if then is not None or not keep:  # the same view read again still does what was due
            self._loaded = then
        self._place(entry, found, around, keep=keep)
        if found.whole:
            return
        load, cache_dir = self._load, self.cache_dir

        def read() -> None:
            """In a thread: the view's ids from the thread's own store; stopped when a
            newer view replaced this one."""
            worker = get_current_worker()
            store = Store.open(cache_dir)
            store.conn.execute("PRAGMA cache_size = -2000")  # one pass through an index: no need to keep it
            store.conn.set_progress_handler(lambda: worker.is_cancelled, 10_000)
            try:
                found = every(store, query, around)
            except sqlite3.OperationalError:
                if worker.is_cancelled:
                    return
                raise
            finally:
                store.close()
            if not worker.is_cancelled:
                self.post_message(self.ViewRead(load, found, around))

        # keys wait for a new view (they act on it), not for the same one read again
        self._loader = self.run_worker(read, thread=True, group="reread" if keep and not waited else "view",
                                       exit_on_error=False)
        self._status_view()

    @on(ViewRead)
    def _view_read(self, message: MainScreen.ViewRead) -> None:
        if message.load != self._load or self.entry is None:  # a newer view replaced it
            return
        self._loader = None
        self._place(self.entry, message.found, message.around, keep=True)

    def _place(self, entry: FeedEntry, found: ViewIds, around: int | None, *, keep: bool) -> None:
        """Show `found` (a page, or the whole view) in the list, the cursor on the article
        it stands on (found again if it moved meanwhile), and the view's label and order."""
        articles = self.query_one(ArticleList)
        if not found.whole and (keep or (around is not None and found.index is None and articles.ids
                                         and articles.current_id == around)):
            articles.reload_rows()  # the lines shown stay until the whole view is in
        else:
            index = found.index
            current = articles.current_id
            if keep and current is not None and current != around:  # the cursor moved meanwhile
                index = near(found.ids, current, articles.cursor) if found.ids else None
                if index is None:
                    index = found.index
            if index is None and keep:
                index = min(articles.cursor, len(found.ids) - 1)
            top = round(articles.scroll_y)
            if keep and top == 0 and articles.cursor == 0 and current != self.reading:
                # a list left at its first line stays on it (what a refresh adds above comes
                # into view), unless the article there is the one being read
                index = 0
            # the cursor's line on screen is kept, but a list shown from its top stays at its top
            offset = articles.cursor - top if keep and top else None
            self._ignored_note = self._all_ignored(entry, found)
            articles.set_empty(self._empty_note())
            articles.show(found.ids, show_feed=entry.kind != "feed", index=index or 0, offset=offset,
                          center=not keep and around is not None)
        pane = self.query_one("#articles-pane")
        pane.border_title = plain(entry.label)
        pane.border_subtitle = Content(ORDER_NAMES[self.order_of(entry)])
        banner = self.query_one("#banner", Static)
        banner.update(plain(f"! {entry.error}") if entry.error else Content(""))
        banner.display = bool(entry.error)
        self._status_view()
        if not found.whole:  # the reader's place is kept until the whole view is shown
            return
        if entry.key != "search":  # a typed search is not where the reader comes back to
            self.remember({"ui.view": entry.key})
        if articles.current_id is not None:
            self.remember({"ui.article": str(articles.current_id)})
        then, self._loaded = self._loaded, None
        if then is not None:
            then()

    def _empty_note(self) -> str:
        """What the article list says when it has no line."""
        if self._cache_note or self._ignored_note:
            return self._cache_note or self._ignored_note
        if self.entry is not None and self.entry.key in self._bad_searches:
            return f"{self._bad_searches[self.entry.key]}. Its query in feeds.toml matches nothing until it is mended."
        if self.entry is not None and self.hiding_read(self.entry) and not self.entry.empty:
            return f"No unread articles here ({self.key_name('hide_read')} shows the read ones too)."
        if self.entry is not None and self.entry.key == "search":
            return nothing_matches(self.entry.query, self.key_name("search"))
        return ArticleList.EMPTY

    def action_hide_read(self) -> None:
        """`H`: leave out (or show again) the feeds and articles with nothing unread."""
        self.hide_read = not self.hide_read
        self.state.flipped("hide_read", self.hide_read, self.config.settings.hide_read)
        self.query_one(FeedList).set_hide_read(self.hide_read)
        self.show_entry(self.entry, select=self.query_one(ArticleList).current_id)
        self.query_one(StatusBar).say("Read feeds and articles hidden." if self.hide_read
                                      else "Read feeds and articles shown.")

    def _all_ignored(self, entry: FeedEntry, found: ViewIds) -> str:
        """Why a view is empty when the [[ignore]] rules hid everything in it ("" if not)."""
        if found.ids or not found.hidden:
            return ""
        hidden = found.hidden
        return (f"No articles here: {hidden} {'is' if hidden == 1 else 'are'} hidden by the [[ignore]] rules "
                "of feeds.toml (listed under Ignored in the feed list).")

    def _view_query(self, entry: FeedEntry, *, kept: tuple[int, ...] = ()) -> ViewQuery:
        """What decides the view's ids, for views.page and views.every (in a thread)."""
        order = self.order_of(entry)
        feed_order = tuple(self._feed_order()) if order == "feed" else ()
        ignored = frozenset(self._ignored)
        if entry.virtual:  # a search's articles, newest first (the typed search's in its own order)
            return ViewQuery(entry.key, order, feed_order=feed_order, found=self._virtual_ids.get(entry.key, []),
                             ignored=ignored, ranked=entry.key == "search")
        return ViewQuery(entry.key, order, feed_ids=None if entry.feed_ids is None else tuple(entry.feed_ids),
                         unread=entry.unread_only or self.hiding_read(entry), starred=entry.starred_only,
                         feed_order=feed_order, ignored=ignored, kept=kept)

    def _kept(self, entry: FeedEntry) -> tuple[int, ...]:
        """When a filtered view ("Unread", "Starred", read hidden) is read again while it
        is shown, the articles near the cursor stay, so reading or unstarring never pulls
        lines from under it."""
        if entry.virtual or not (entry.unread_only or entry.starred_only or self.hiding_read(entry)):
            return ()
        articles = self.query_one(ArticleList)
        cursor = articles.cursor
        return tuple(articles.ids[max(0, cursor - KEPT_REACH):cursor + KEPT_REACH])

    def order_of(self, entry: FeedEntry) -> str:
        """How a view is sorted: as chosen for it with `O`, else as the settings say; a
        typed search as `O` sorted it, else as the query makes search() order its matches."""
        if entry.key == "search":
            return self._search_order or self._found_order(entry)
        return self.sorts.get(entry.key, self.default_order)

    @staticmethod
    def _found_order(entry: FeedEntry) -> str:
        """The order search() lists a typed search's matches in."""
        from tui.store.search import QueryError, result_order

        try:
            return result_order(entry.query)
        except QueryError:
            return "best"

    def _feed_order(self) -> list[int]:
        """The feeds by name, for lists sorted by feed."""
        return sorted(self.feed_names, key=lambda feed_id: (fold(self.feed_names[feed_id]), feed_id))

    def action_sort(self) -> None:
        """`O`: the next order for this view (newest, oldest, title, and feed where there
        are several), remembered for it."""
        entry = self.entry
        if entry is None:
            return
        current = self.order_of(entry)
        found = self._found_order(entry) if entry.key == "search" else ""
        if found:  # a typed search: its own order first (best matches...), then the views' orders
            orders = [found, *(o for o in ORDERS if o != found)]
        else:
            orders = [o for o in ORDERS if o != "feed" or entry.kind != "feed"]  # one feed: by date already
        order = orders[(orders.index(current) + 1) % len(orders)] if current in orders else orders[0]
        if found:
            self._search_order = None if order == found else order
        else:
            self.sorts[entry.key] = order
            self.remember({"ui.sort": json.dumps(self.sorts)})
        self.show_entry(entry, select=self.query_one(ArticleList).current_id)
        self.say_of_view(f"Sorted {ORDER_NAMES[order]}.")

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
        self.state.scrolled(event.article_id, event.line)

    # ------------------------------------------------------------------- counts
    def update_counts(self, *, searches: bool = True) -> None:
        """Read the counters again (after marks or a refresh) into the feed list; the saved
        searches are counted again in a worker."""
        if searches:
            self.count_searches()
        feeds = self.query_one(FeedList)
        feeds.set_entries(self._entries())
        if self.entry is not None:
            entry = next((e for e in feeds.entries if e.key == self.entry.key), None)
            if entry is not None:
                self.entry = entry
            elif self.entry.key != "search":  # its feed left the config: the feed the cursor went to
                self.show_entry(feeds.current)
        self._show_counts()

    def _show_counts(self) -> None:
        unread = self.query_one(FeedList).entries[0].count
        self.query_one(StatusBar).set(counts=f"{unread:,} unread · {plural(self.total, 'article')}")
        self._status_view()
        self._show_hint()

    def _show_hint(self) -> None:
        """On an empty cache, what to press to fill it: in the empty article list, and in
        the status line while no refresh runs."""
        if not self.config.feeds and self.config.accounts:  # an account not synced yet
            sync, add = self.key_name('refresh_all'), self.key_name('add_feed')
            short = f"Press {sync} to sync the account's feeds, or {add} in its folder to subscribe to one."
            hint = f"no feeds yet: press {sync} to sync, or {add} to subscribe"
        elif not self.config.feeds:
            short = f"Press {self.key_name('add_feed')} to subscribe to a feed."
            hint = f"no feeds yet: press {self.key_name('add_feed')} to subscribe to one"
        elif self.total == 0:
            short = f"Press {self.key_name('refresh_all')} to fetch the feeds."
            # (short enough for the counts, the view and the key hint at 120 columns)
            hint = f"nothing fetched yet: {self.key_name('refresh_all')} fetches every feed"
        else:
            short = hint = ""
        self._cache_note = short
        self.query_one(ArticleList).set_empty(self._empty_note())
        self.show_job("hint", "" if self.refreshing else hint)

    def _status_view(self) -> None:
        articles = self.query_one(ArticleList)
        if self.pane == "feeds" and self.has_class("-narrow"):
            # one pane at a time and it is the feeds': "12 in view" would count what is not on screen
            self.query_one(StatusBar).set(view="")
        elif self.entry is not None:
            hidden = " · read hidden" if self.hide_read else ""
            order = ORDER_NAMES[self.order_of(self.entry)]
            reading = self._loader is not None and self._loader.group == "view"
            count = "reading the list" if reading else f"{len(articles.ids):,} in view"
            self.query_one(StatusBar).set(view=f"{count} · {order}{hidden}")

    def _status_keys(self) -> None:
        short = f"{self.key_name('help')} keys"
        keys = f"{short}  {self.key_name('back_or_quit')} back  {self.key_name('quit')} quit"
        self.query_one(StatusBar).set(keys=keys, short_keys=short)
