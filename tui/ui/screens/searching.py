"""Search: a typed search that replaces the article list until Esc, the saved searches of
feeds.toml with their unread counts, and the killfile ([[ignore]]) that hides articles from
every list. Each runs in a thread on a connection of its own."""

from __future__ import annotations

from pathlib import Path

from tui.config import Config
from tui.content.sanitize import clean_line
from tui.store.cache import Store
from tui.ui.screens.base import ReaderBase
from tui.ui.screens.prompts import TextPrompt
from tui.ui.widgets.feed_list import FeedEntry, FeedList
from tui.ui.widgets.keys import bind
from tui.ui.widgets.status_bar import StatusBar

SEARCH_LIMIT = 500  # results of a typed search


class SearchPart(ReaderBase):
    BINDINGS = [bind("search", "search")]

    def __init__(self, store: Store, config: Config, cache_dir: Path) -> None:
        super().__init__(store, config, cache_dir)
        self._ignores_failed = False
        self._before_search: FeedEntry | None = None  # the view a typed search replaced
        self._bad_searches: set[str] = set()  # saved searches whose query cannot be read
        self._pending_select: int | None = None  # the article to select when a saved search has run

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
            self.update_counts(searches=False)

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
        self.update_counts(searches=False)
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
