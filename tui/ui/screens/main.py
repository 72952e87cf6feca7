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
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

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
FIRST_PAGE = 200  # lines of the view shown at start while the rest of its ids are read in a thread


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

    _reading_view: FeedEntry | None = None  # the view shown at start while its ids are read in a thread

    @dataclass
    class ViewRead(Message):
        """The ids of the view shown at start, read in a thread."""

        entry: FeedEntry
        ids: list[int]
        place: tuple[int | None, str]  # the article open and the pane when the reader quit

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
        entries = build_entries(self.config, rows, self.store.count(starred=True), self._search_counts,
                                ignored=len(self._ignored))
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
        (scrolled where it was) and the pane. A view of more than a page shows its first
        page at once and the rest once its ids are read in a thread (a million take a
        second); the reader's place is restored then."""
        self.state.load_scrolls()
        current, selected = self.query_one(FeedList).current, self.state.get_int("ui.article")
        if current is not None and current.virtual:
            self._pending_select = selected  # a saved search lists its articles once it has run
        first = self._view_ids(current, None, limit=FIRST_PAGE) if current and not current.virtual else []
        long = len(first) == FIRST_PAGE
        if long and selected is not None and selected not in first:
            first = self._view_ids(current, None, limit=FIRST_PAGE, around=selected) or first  # its neighbours
        place = self.state.get_int("ui.open"), self.state.get("ui.pane", "feeds")
        if not long:
            self.show_entry(current, select=selected)
            self._reopen(place)
        else:
            self.show_entry(current, select=selected, ids=first, first_page=True)
            if place[1] == "articles":  # keys go there meanwhile; the reader's pane comes with its article
                self.pane = "articles"
            self.run_worker(lambda: self._read_view(current, place), thread=True, group="view",
                            exclusive=True, exit_on_error=False)
        self.count_searches()
        self.find_ignored()
        self.start_watching()
        if self.config.settings.refresh_on_start:
            self.start_refresh(None)

    def _read_view(self, entry: FeedEntry, place: tuple[int | None, str]) -> None:
        """Runs in a thread: the ids of the view shown at start, from the thread's own store."""
        store = Store.open(self.cache_dir)
        try:
            ids = self._view_ids(entry, None, store=store, compact=True)
        finally:
            store.close()
        self.post_message(self.ViewRead(entry, ids, place))

    @on(ViewRead)
    def _view_read(self, message: MainScreen.ViewRead) -> None:
        if self._reading_view is not message.entry:  # the reader went to another view meanwhile
            return
        current = self.query_one(ArticleList).current_id  # where it stands on screen stays
        self.show_entry(message.entry, keep=True, select=current, ids=message.ids)
        self._reopen(message.place)

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
            self.app.exit()
        else:
            self.action_back()

    def action_next_pane(self) -> None:
        self.pane = PANES[(PANES.index(self.pane) + 1) % len(PANES)]

    def action_previous_pane(self) -> None:
        self.pane = PANES[(PANES.index(self.pane) - 1) % len(PANES)]

    def action_find_feed(self) -> None:
        """`F`: type part of a feed's or tag's name; Enter puts the feed list on it."""
        from tui.ui.screens.finder import FeedFinder

        def chosen(key: str | None) -> None:
            if key is not None and self.query_one(FeedList).select(key):
                self.pane = "feeds"

        self.app.push_screen(FeedFinder(self.query_one(FeedList).entries), chosen)

    # --------------------------------------------------------------------- views
    def show_entry(self, entry: FeedEntry | None, *, keep: bool = False, select: int | None = None,
                   ids: list[int] | None = None, first_page: bool = False) -> None:
        """Fill the article pane with the view `entry` stands for (`ids`: its ids, already
        read, or with `first_page` its first lines while the rest is read)."""
        if entry is None:
            return
        self._reading_view = entry if first_page else None
        self.entry = entry
        if entry.virtual and entry.key not in FIXED_VIEWS and entry.key not in self._virtual_ids:
            self.run_search(entry)  # shown when found; the list is empty meanwhile
        articles = self.query_one(ArticleList)
        articles.feed_names = self.feed_names
        if ids is None:
            ids = self._view_ids(entry, articles.ids if keep else None)
        self._ignored_note = self._all_ignored(entry, ids)
        articles.set_empty(self._empty_note())
        articles.show(ids, show_feed=entry.kind != "feed", keep=keep, select=select)
        pane = self.query_one("#articles-pane")
        pane.border_title = plain(entry.label)
        pane.border_subtitle = Content(ORDER_NAMES[self.order_of(entry)])
        banner = self.query_one("#banner", Static)
        banner.update(plain(f"! {entry.error}") if entry.error else Content(""))
        banner.display = bool(entry.error)
        if first_page:  # the reader's place is kept until the whole view is shown
            self._status_view()
            return
        if entry.key != "search":  # a typed search is not where the reader comes back to
            self.remember({"ui.view": entry.key})
        if articles.current_id is not None:
            self.remember({"ui.article": str(articles.current_id)})
        self._status_view()

    def _empty_note(self) -> str:
        """What the article list says when it has no line."""
        if self._cache_note or self._ignored_note:
            return self._cache_note or self._ignored_note
        if self.entry is not None and self._hiding_read(self.entry):
            return f"No unread articles here ({self.key_name('hide_read')} shows the read ones too)."
        if self.entry is not None and self.entry.key == "search":
            return nothing_matches(self.entry.query, self.key_name("search"))
        return ArticleList.EMPTY

    def _hiding_read(self, entry: FeedEntry) -> bool:
        """`H` leaves read articles out of the feeds, folders and All; Starred and the
        searches list everything they hold."""
        return self.hide_read and not entry.starred_only and not entry.virtual

    def action_hide_read(self) -> None:
        """`H`: leave out (or show again) the feeds and articles with nothing unread."""
        self.hide_read = not self.hide_read
        self.state.flipped("hide_read", self.hide_read, self.config.settings.hide_read)
        self.query_one(FeedList).set_hide_read(self.hide_read)
        self.show_entry(self.entry, select=self.query_one(ArticleList).current_id)
        self.query_one(StatusBar).say("Read feeds and articles hidden." if self.hide_read
                                      else "Read feeds and articles shown.")

    def _all_ignored(self, entry: FeedEntry, ids: list[int]) -> str:
        """Why a view is empty when the [[ignore]] rules hid everything in it ("" if not)."""
        if ids or not self._ignored or entry.key == "ignored":
            return ""
        if entry.virtual:
            every = self._virtual_ids.get(entry.key, [])
        else:
            every = self.store.article_ids(feed_ids=entry.feed_ids, unread=entry.unread_only,
                                           starred=entry.starred_only)
        hidden = sum(1 for i in every if i in self._ignored)
        if not hidden:
            return ""
        return (f"No articles here: {hidden} {'is' if hidden == 1 else 'are'} hidden by the [[ignore]] rules "
                "of feeds.toml (listed under Ignored in the feed list).")

    def _view_ids(self, entry: FeedEntry, shown: list[int] | None, *, limit: int | None = None,
                  around: int | None = None, store: Store | None = None, compact: bool = False) -> list[int]:
        """The ids of a view in display order (of a feed, folder or All: only the first
        `limit`, or `limit` around the article `around` when sorted by date; read from
        `store`, another thread's; `compact`: as an array). When a filtered view ("Unread",
        "Starred") is read again while it is shown, the articles already in it stay, so
        reading or unstarring never pulls lines from under the cursor."""
        store = store or self.store
        order = self.order_of(entry)
        if entry.virtual:  # a search's articles, newest first (the typed search's best first)
            found = self._virtual_ids.get(entry.key, [])
            ids = found if entry.key == "ignored" else [i for i in found if i not in self._ignored]
            if order in ("newest", "best", "stored"):
                return ids
            return ids[::-1] if order == "oldest" else store.sort_ids(ids, order, self._feed_order())
        unread = entry.unread_only or self._hiding_read(entry)
        feed_order = self._feed_order() if order == "feed" else ()
        if around is not None and limit:
            ids = store.ids_around(around, limit, feed_ids=entry.feed_ids, unread=unread,
                                   starred=entry.starred_only, order=order)
        else:
            ids = store.article_ids(feed_ids=entry.feed_ids, unread=unread, starred=entry.starred_only,
                                    order=order, feed_order=feed_order, limit=limit, compact=compact)
        if shown is None or not (unread or entry.starred_only):
            return [i for i in ids if i not in self._ignored] if self._ignored else ids
        keep = set(ids)
        keep.update(shown)
        return [i for i in store.article_ids(feed_ids=entry.feed_ids, order=order, feed_order=feed_order)
                if i in keep and i not in self._ignored]

    def order_of(self, entry: FeedEntry) -> str:
        """How a view is sorted: as chosen for it with `O`, else as the settings say; the
        a typed search lists its matches as the query makes search() order them."""
        if entry.key == "search":
            from tui.store.search import QueryError, result_order

            try:
                return result_order(entry.query)
            except QueryError:
                return "best"
        return self.sorts.get(entry.key, self.default_order)

    def _feed_order(self) -> list[int]:
        """The feeds by name, for lists sorted by feed."""
        return sorted(self.feed_names, key=lambda feed_id: (fold(self.feed_names[feed_id]), feed_id))

    def action_sort(self) -> None:
        """`O`: the next order for this view (newest, oldest, title, and feed where there
        are several), remembered for it."""
        entry = self.entry
        if entry is None:
            return
        status = self.query_one(StatusBar)
        if entry.key == "search":
            status.say(f"Search results are listed {ORDER_NAMES[self.order_of(entry)]}.")
            return
        orders = [o for o in ORDERS if o != "feed" or entry.kind != "feed"]  # one feed: by date already
        current = self.order_of(entry)
        order = orders[(orders.index(current) + 1) % len(orders)] if current in orders else orders[0]
        self.sorts[entry.key] = order
        self.remember({"ui.sort": json.dumps(self.sorts)})
        self.show_entry(entry, select=self.query_one(ArticleList).current_id)
        status.say(f"Sorted {ORDER_NAMES[order]}.")

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
            self.entry = next((e for e in feeds.entries if e.key == self.entry.key), self.entry)
        self._show_counts()

    def _show_counts(self) -> None:
        unread = self.query_one(FeedList).entries[0].count
        self.query_one(StatusBar).set(counts=f"{unread} unread · {plural(self.total, 'article')}")
        self._status_view()
        self._show_hint()

    def _show_hint(self) -> None:
        """On an empty cache, what to press to fill it: in the empty article list, and in
        the status line while no refresh runs."""
        if not self.config.feeds:
            short = f"Press {self.key_name('add_feed')} to subscribe to a feed."
            hint = f"no feeds yet: press {self.key_name('add_feed')} to subscribe to one"
        elif self.total == 0:
            short = f"Press {self.key_name('refresh_all')} to fetch the feeds."
            hint = f"nothing fetched yet: press {self.key_name('refresh_all')} to fetch every feed"
        else:
            short = hint = ""
        self._cache_note = short
        self.query_one(ArticleList).set_empty(self._empty_note())
        self.show_job("hint", "" if self.refreshing else hint)

    def _status_view(self) -> None:
        articles = self.query_one(ArticleList)
        if self.entry is not None:
            hidden = " · read hidden" if self.hide_read else ""
            order = ORDER_NAMES[self.order_of(self.entry)]
            count = "reading the list" if self._reading_view else f"{len(articles.ids)} in view"
            self.query_one(StatusBar).set(view=f"{count} · {order}{hidden}")

    def _status_keys(self) -> None:
        keys = f"{self.key_name('help')} keys  {self.key_name('back_or_quit')} back  {self.key_name('quit')} quit"
        self.query_one(StatusBar).set(keys=keys)
