"""Search: a typed search that replaces the article list until Esc, the saved searches of
feeds.toml with their unread counts, and the killfile ([[ignore]]) that hides articles from
every list. All three are queries of the full-text index, run by one thread body on a
connection of its own; each posts what it found back to the screen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual import on
from textual.message import Message
from textual.worker import Worker, get_current_worker

from tui.config import Config
from tui.content.sanitize import clean_line
from tui.store.cache import Store
from tui.ui.screens.base import ReaderBase
from tui.ui.screens.prompts import TextPrompt
from tui.ui.widgets.article_list import ArticleList
from tui.ui.widgets.feed_list import FeedEntry, FeedList, saved_search_views
from tui.ui.widgets.keys import bind
from tui.ui.widgets.status_bar import StatusBar

SEARCH_LIMIT = 500  # results of a typed search


@dataclass(frozen=True)
class Query:
    """One job for the query thread: what it is for, and the queries to run. `run` gets the
    thread's own store, the feeds' tags and the subscribed feeds' ids, and returns (what was
    found, what could not be read)."""

    kind: str  # "search" (a search view), "counts" (the saved searches), "ignored" (the killfile)
    cache_dir: Path
    config: Config
    run: Callable[[Store, dict[str, list[int]], set[int]], tuple[Any, list[str]]]
    entry: FeedEntry | None = None  # the search view it fills
    index_first: bool = False  # index the new articles first, showing the progress


class SearchPart(ReaderBase):
    BINDINGS = [bind("search", "search")]

    @dataclass
    class Found(Message):
        """A query thread's answer."""

        query: Query
        result: Any
        problems: list[str] = field(default_factory=list)  # queries that could not be read

    @dataclass
    class Indexing(Message):
        """The index catching up with new articles before a search: done of total."""

        worker: Worker[Any]
        done: int
        total: int

    def __init__(self, store: Store, config: Config, cache_dir: Path) -> None:
        super().__init__(store, config, cache_dir)
        self._bad_ignores: set[str] = set()  # [[ignore]] queries that cannot be read, already said
        self._before_search: FeedEntry | None = None  # the view a typed search replaced
        self._selected_before: int | None = None  # ... and the article selected in it
        self._bad_searches: dict[str, str] = {}  # saved search views whose query cannot be read -> why
        self._pending_select: int | None = None  # the article to select when a saved search has run
        self._results_note = ""  # what the status line says about a typed search's results
        self._search_order: str | None = None  # how `O` sorted the typed search's results (None: as found)

    def action_search(self) -> None:
        """`/`: ask for a query; the results replace the article list until Esc."""
        self._ask_query(self.entry.query if self.entry is not None and self.entry.key == "search" else "")

    def _ask_query(self, text: str, problem: str = "") -> None:
        """The search box, holding `text`; a query that cannot be read stays in it, with
        why (`problem`: why the search of `text` failed already)."""
        def typed(query: str | None) -> None:
            if query:
                self.state.searched(query)
                self._search_order = None  # a new search lists its matches in its own order first
                entry = FeedEntry("search", "search", f"Search: {clean_line(query)}", None, query=query)
                self.run_search(entry)

        prompt = TextPrompt("Search the articles:", text, placeholder='words, "a phrase", feed:, tag:, is:unread …',
                            hint="Enter searches, Esc cancels, ↑ earlier searches. No marks needed: lanh dao finds "
                                 "Lãnh đạo.",
                            check=self._query_problem, problem=problem, history=self.state.searches())
        self.app.push_screen(prompt, typed)

    def _query_problem(self, text: str) -> str:
        """Why the query `text` cannot be searched ("" when it can, as far as can be told
        without the index)."""
        from tui.store.search import QueryError, check_query, feed_tags

        try:
            check_query(text, feed_tags(self.config, self.store.feeds()))
        except QueryError as exc:
            return str(exc)
        return ""

    # ------------------------------------------------------------------ the thread
    def _start(self, query: Query, group: str) -> Worker[None]:
        return self.run_worker(lambda: self._query_thread(query), thread=True, group=group, exclusive=True,
                               exit_on_error=False)

    def _query_thread(self, query: Query) -> None:
        """Runs in a thread: open the cache, run the query, post what it found. A cache
        that cannot be read raises, and the worker handler says so."""
        from tui.feeds.workers import index_workers
        from tui.store import search

        worker = get_current_worker()
        store = Store.open(query.cache_dir)
        try:
            if query.index_first:
                search.catch_up(store.conn, lambda done, total: self.post_message(self.Indexing(worker, done, total)),
                                workers=index_workers)
            rows = store.feeds()
            tags, feeds = search.feed_tags(query.config, rows), search.subscribed_ids(query.config, rows)
            result, problems = query.run(store, tags, feeds)
        finally:
            store.close()
        if not worker.is_cancelled:
            self.post_message(self.Found(query, result, problems))

    @on(Indexing)
    def _indexing(self, message: SearchPart.Indexing) -> None:
        self.job_progress("search", f"indexing {message.done}/{message.total}…", message.worker)

    @on(Found)
    def _found(self, message: SearchPart.Found) -> None:
        {"search": self._search_done, "counts": self._counts_done, "ignored": self._ignored_done}[
            message.query.kind](message)

    # ---------------------------------------------------------------- search views
    def run_search(self, entry: FeedEntry) -> None:
        """Find the articles of a search view (a typed search or a saved one): the first
        query after a refresh indexes the new articles first."""
        from tui.store import search

        def run(store: Store, tags: dict[str, list[int]], feeds: set[int]) -> tuple[list[int] | None, list[str]]:
            try:
                if entry.key == "search":
                    hits = search.search(store.conn, entry.query, limit=SEARCH_LIMIT + 1, tags=tags, snippets=False,
                                         feeds=feeds)
                    return [hit.article_id for hit in hits], []
                return search.matching_ids(store.conn, entry.query, tags=tags, feeds=feeds), []
            except search.QueryError as exc:
                return None, [str(exc)]

        query = Query("search", self.cache_dir, self.config, run, entry=entry, index_first=True)
        self.show_job("search", "searching…", self._start(query, f"search-{entry.key}"))

    def _search_done(self, message: SearchPart.Found) -> None:
        entry, ids = message.query.entry, message.result
        assert entry is not None
        if ids is None and entry.key == "search":  # a typed query the box let through: back in it
            self._ask_query(entry.query, "; ".join(message.problems))
            return
        for problem in message.problems:
            self.notify(f"Search: {problem}", title="Search", severity="warning", markup=False)
        if ids is None:
            return
        more = entry.key == "search" and len(ids) > SEARCH_LIMIT
        self._virtual_ids[entry.key] = ids = ids[:SEARCH_LIMIT] if more else ids
        if entry.key == "search":
            if self.entry is not None and self.entry.key != "search":
                self._before_search = self.entry
                self._selected_before = self.query_one(ArticleList).current_id
            self.show_entry(entry)
            self.pane = "articles"
            bar = self.query_one(StatusBar)
            if more:
                from tui.store.search import result_order

                which = {"best": "best", "stored": "latest stored", "newest": "newest"}[result_order(entry.query)]
                self._results_note = f"{which} {SEARCH_LIMIT} listed, more match: add a word or a filter"
                bar.say(self._results_note, 8)
            else:
                bar.set(note="")  # a note about the results this search replaced
        elif self.entry is not None and self.entry.key == entry.key:
            select, self._pending_select = self._pending_select, None
            self.show_entry(entry, keep=True, select=select)

    def end_search(self) -> None:
        """Esc on search results: back to the view they replaced, on the article selected
        there (in sight, however far down it was); what the status line said of the results
        goes with them."""
        self._virtual_ids.pop("search", None)
        self.query_one(StatusBar).unsay(self._results_note)
        before, self._before_search = self._before_search, None
        selected, self._selected_before = self._selected_before, None
        feeds = self.query_one(FeedList)
        entry = next((e for e in feeds.entries if before is not None and e.key == before.key), None)
        if entry is None:  # none, or its feed left the config meanwhile: the feed the cursor went to
            entry, selected = feeds.current, None
        self.show_entry(entry, select=selected)

    # -------------------------------------------------------------- saved searches
    def count_searches(self) -> None:
        """Unread matches of the saved searches, in a thread after the first frame (never
        before it: start-up stays as fast without them), after marks, and once a refresh has
        ended: never during one, where catching the index up would take its write lock
        against the refresh's writer."""
        if not self.config.searches or self.refreshing:
            return
        from tui.store import search

        saved = [(key, one) for (key, _), one in zip(saved_search_views(self.config.searches), self.config.searches)]

        def run(store: Store, tags: dict[str, list[int]], feeds: set[int]
                ) -> tuple[tuple[dict[str, int], dict[str, str]], list[str]]:
            counts: dict[str, int] = {}
            bad: dict[str, str] = {}  # the views whose query cannot be read -> why
            for key, one in saved:
                try:
                    counts[key] = search.count_unread(store.conn, one.query, tags=tags, feeds=feeds)
                except search.QueryError as exc:
                    bad[key] = f"Saved search {one.name}: {exc}"
            return (counts, bad), list(bad.values())

        self._start(Query("counts", self.cache_dir, self.config, run), "search-counts")

    def _counts_done(self, message: SearchPart.Found) -> None:
        counts, bad = message.result
        for key, problem in bad.items():
            if self._bad_searches.get(key) != problem:  # said once, not after every mark
                self.notify(problem, severity="warning", markup=False)
        self._bad_searches = bad  # (a search mended in feeds.toml leaves it)
        if counts != self._search_counts:
            self._search_counts = counts
            self.update_counts(searches=False)

    # ------------------------------------------------------------------- killfile
    def find_ignored(self) -> None:
        """The killfile: articles matched by the [[ignore]] queries, found in a thread after
        the first frame and after each refresh, then hidden from every list. A query that
        cannot be read is named once and hides nothing; the others still apply."""
        if not self.config.ignores:
            if self._ignored:
                self._apply_ignored([])
            return
        from tui.store import search

        ignores = list(self.config.ignores)

        def run(store: Store, tags: dict[str, list[int]], feeds: set[int]) -> tuple[list[int], list[str]]:
            problems: list[str] = []  # an unreadable rule hides nothing; the others still apply
            found = search.ignored_ids(store.conn, ignores, tags=tags, problems=problems)
            return ([i for i in store.article_ids(compact=True) if i in found] if found else []), problems  # in list order

        self._start(Query("ignored", self.cache_dir, self.config, run), "ignored")

    def _ignored_done(self, message: SearchPart.Found) -> None:
        for problem in message.problems:
            if problem not in self._bad_ignores:  # said once, not after every refresh
                self._bad_ignores.add(problem)
                self.notify(f"Ignore list: {problem}", severity="warning", markup=False)
        self._apply_ignored(message.result)

    def _apply_ignored(self, ordered: list[int]) -> None:
        found = set(ordered)
        self._virtual_ids["ignored"] = ordered
        if found == self._ignored:
            return
        self._ignored = found
        self.update_counts(searches=False)
        if self.entry is not None:
            self.show_entry(self.entry, keep=True)
