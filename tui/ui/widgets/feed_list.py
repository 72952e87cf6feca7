"""The feeds pane: the views "All", "Unread" and "Starred", then feeds grouped in folders by
their config tags, then untagged feeds, each with its unread count from the cache's counters."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from rich.cells import cell_len, get_character_cell_size, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Size
from textual.message import Message

from tui.config import Config, SavedSearch
from tui.content.cells import fit
from tui.content.sanitize import clean_line
from tui.store.cache import FeedRow
from tui.ui.widgets.keys import bind
from tui.ui.widgets.virtual_list import VirtualList

FAILED = ("error", "gone")
# last path parts that name no feed in particular ("…/atom.xml"): the part before them is shown too
GENERIC_FEED_NAMES = frozenset({"atom", "rss", "rss2", "feed", "feeds", "index", "default", "all", "posts", "news"})


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One line of the feeds pane and the article view it stands for."""

    key: str  # stable across runs, kept in the UI state: "all", "tag:news", "tag:news/feed:3", "feed:3"
    kind: str  # "view", "folder", "feed", or "search" (a search, saved or typed, or the ignored articles)
    label: str  # plain text, already cleaned
    feed_ids: tuple[int, ...] | None  # None: every feed
    unread_only: bool = False
    starred_only: bool = False
    count: int = 0  # unread articles (starred ones for "Starred")
    error: str = ""  # the last fetch error of a feed
    folder: str = ""  # the tag of a folder and of the feeds shown in it
    urls: tuple[str, ...] = ()  # what "refresh" fetches for this entry; () is every feed
    query: str = ""  # the search of a "search" entry
    url_label: bool = False  # the label is the feed's URL (it has no name): cut from the left (fit_url)
    empty: bool = False  # a feed or folder with no article at all, read or not (a new or a failing feed)

    @property
    def virtual(self) -> bool:
        """Its articles come from a search, not from the store's feed filters."""
        return self.kind == "search"


def feed_label(title: str, row: FeedRow | None, url: str) -> tuple[str, bool]:
    """The config title, else the feed's own title, else the telling part of its URL, as
    one plain line; and whether it is the URL."""
    name = clean_line(title) or clean_line(row.title if row else "")
    return (name, False) if name else (short_url(url), True)


def short_url(url: str) -> str:
    """A feed's URL as a name: the host and the last part of the path ("example.com/…/ruby.xml",
    "example.com/…/ruby/atom.xml"), so that feeds of one site differ where their URLs do, not
    after a cut shared prefix."""
    from urllib.parse import urlsplit

    text = clean_line(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return text
    if not parts.netloc:  # a local file: its name
        return text.rstrip("/").rsplit("/", 1)[-1] or text
    host = parts.netloc.rsplit("@", 1)[-1].removeprefix("www.")
    segments = [s for s in parts.path.split("/") if s]
    keep = 2 if len(segments) > 1 and segments[-1].split(".")[0].lower() in GENERIC_FEED_NAMES else 1
    tail = ("/…/" if len(segments) > keep else "/") + "/".join(segments[-keep:]) if segments else ""
    return host + tail + (f"?{parts.query}" if parts.query else "")


# What the end of a URL keeps at the least beside its host when cut; with less room the
# host goes and the end has it all.
_URL_END_CELLS = 12


def fit_url(label: str, width: int) -> str:
    """A feed named by its URL (see short_url), cut to `width` cells from the left of its
    path when it must be: its end (the file name) is what tells the feeds of a site apart,
    where a cut at the end left rows that all read "host/…/feed-rs__a…". The host stays
    while the end keeps _URL_END_CELLS beside it."""
    if cell_len(label) <= width:
        return fit(label, width)
    host, slash, path = label.partition("/")
    end = "/" + path.removeprefix("…/") if slash else label
    head = f"{host}/…" if slash and cell_len(host) + 2 + _URL_END_CELLS <= width else "…"
    return head + _last_cells(end, width - cell_len(head))


def _last_cells(text: str, width: int) -> str:
    """The end of `text` that fits in `width` cells, padded to exactly `width`."""
    used = 0
    for index in range(len(text) - 1, -1, -1):
        used += get_character_cell_size(text[index])
        if used > width:
            return set_cell_size(text[index + 1 :], width)
    return set_cell_size(text, width)


def saved_search_views(searches: Sequence[SavedSearch]) -> list[tuple[str, str]]:
    """The feed list key and label of each [[search]] entry: "search:NAME", and for later
    entries with the same name "search:NAME#2" labelled "NAME (2)", and so on, so that two
    of them never share a view, a count or a remembered place."""
    views: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for saved in searches:
        label = clean_line(saved.name) or clean_line(saved.query)
        number = seen[saved.name] = seen.get(saved.name, 0) + 1
        if number == 1:
            views.append((f"search:{saved.name}", label))
        else:
            views.append((f"search:{saved.name}#{number}", f"{label} ({number})"))
    return views


def build_entries(config: Config, rows: Iterable[FeedRow], starred: Callable[[tuple[int, ...] | None], int],
                  search_counts: dict[str, int] | None = None, *, ignored: int = 0,
                  ignored_unread: dict[int, int] | None = None) -> list[FeedEntry]:
    """Every line of the feeds pane, in order, from the config and the counters (`starred`:
    how many articles of these feeds, None for every one, are starred); saved
    searches follow Starred with their unread counts (`search_counts`, by entry key, known
    only once a worker has run them), then "Ignored" when the killfile hides any (`ignored`
    articles, shown as its count). The unread articles the killfile hides (`ignored_unread`,
    by feed id) are not counted: a feed read to the end of what it shows has nothing unread."""
    hidden = ignored_unread or {}
    by_url = {row.url: row for row in rows}
    subscribed = [(feed, by_url.get(feed.url)) for feed in config.feeds]
    every = None if len(by_url) == len(subscribed) else tuple(r.id for _, r in subscribed if r)
    unread = sum(max(0, row.unread - hidden.get(row.id, 0)) for _, row in subscribed if row)
    entries = [
        FeedEntry("all", "view", "All", every, count=unread),
        FeedEntry("unread", "view", "Unread", every, unread_only=True, count=unread),
        FeedEntry("starred", "view", "Starred", every, starred_only=True, count=starred(every)),
    ]
    counts = search_counts or {}
    for (key, label), saved in zip(saved_search_views(config.searches), config.searches):
        entries.append(FeedEntry(key, "search", label, None, count=counts.get(key, 0), query=saved.query))
    if ignored:
        entries.append(FeedEntry("ignored", "search", "Ignored", None, count=ignored))
    folders: dict[str, list[FeedEntry]] = {}
    untagged: list[FeedEntry] = []
    for feed, row in subscribed:
        if row is None:
            continue
        error = (clean_line(row.last_error) or row.last_status) if row.last_status in FAILED else ""
        label, url_label = feed_label(feed.title, row, feed.url)
        base = FeedEntry(f"feed:{row.id}", "feed", label, (row.id,), count=max(0, row.unread - hidden.get(row.id, 0)),
                         error=error, urls=(feed.url,), url_label=url_label, empty=row.total == 0)
        if not feed.tags:
            untagged.append(base)
        for tag in feed.tags:
            folders.setdefault(tag, []).append(replace(base, key=f"tag:{tag}/{base.key}", folder=tag))
    for tag, children in folders.items():
        ids = tuple(dict.fromkeys(i for child in children for i in child.feed_ids or ()))
        entries.append(FeedEntry(f"tag:{tag}", "folder", clean_line(tag), ids,
                                 count=sum(child.count for child in children), folder=tag,
                                 urls=tuple(u for child in children for u in child.urls),
                                 empty=all(child.empty for child in children)))
        entries.extend(children)
    for account in config.accounts:  # an account not synced yet (or with no feeds): its folder, for `a`
        if account.name not in folders:
            entries.append(FeedEntry(f"tag:{account.name}", "folder", clean_line(account.name), (), folder=account.name))
    entries.extend(untagged)
    return entries


def _indent(entry: FeedEntry) -> int:
    """Cells before the name: a folder's arrow, or the indent of a feed in a folder."""
    return 2 if entry.folder else 0


class FeedList(VirtualList):
    """The feeds pane. Folders fold with `z`; the cursor follows its entry's key when the
    counts are re-read, so a refresh never moves it."""

    DEFAULT_CSS = """
    FeedList > .feed-list--view { text-style: bold; }
    FeedList > .feed-list--folder { color: $text-accent; text-style: bold; }
    FeedList > .feed-list--unread { text-style: bold; }
    FeedList > .feed-list--error { color: $text-error; text-style: bold; }
    """
    COMPONENT_CLASSES = VirtualList.COMPONENT_CLASSES | {
        "feed-list--view", "feed-list--folder", "feed-list--unread", "feed-list--error",
    }
    BINDINGS = [bind("fold", "fold")]
    CHOOSES_VIEW = True  # its cursor keys replace the view being read: typed ahead, they need not wait for it

    @dataclass
    class Highlighted(Message):
        """The cursor is on another entry: the article pane follows it."""

        entry: FeedEntry

    @dataclass
    class Opened(Message):
        """The user opened an entry (enter, l or a click)."""

        entry: FeedEntry

    @dataclass
    class Folded(Message):
        """A folder was folded or unfolded (to be remembered)."""

        collapsed: frozenset[str]

    def __init__(self, entries: Sequence[FeedEntry] = (), *, collapsed: Iterable[str] = (), hide_read: bool = False,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.entries: list[FeedEntry] = list(entries)
        self.collapsed: set[str] = set(collapsed)
        self.hide_read = hide_read  # feeds and folders with nothing unread are left out
        self.shown: list[FeedEntry] = []
        self.natural_width = 0
        self._layout()

    def _layout(self, keep: str = "") -> None:
        """The lines shown: folded feeds and, when hiding read ones, feeds and folders with
        nothing unread are left out; the entry `keep` (where the cursor is) and its folder
        stay, so that reading a feed to the end never pulls it from under the cursor."""
        kept_folder = keep.split("/", 1)[0] if keep.startswith("tag:") else ""
        self.shown = [e for e in self.entries if not (e.kind == "feed" and e.folder in self.collapsed)
                      and not (self.hide_read and e.kind in ("feed", "folder") and not e.count
                               and e.key not in (keep, kept_folder))]
        # wide enough for every name and count, folded or not (the CSS caps it); never
        # narrower than before, so that the article list beside it does not move sideways
        # when counts get shorter (after A) or a feed's error mark goes
        self.natural_width = max(self.natural_width, 1 + max(
            (1 + _indent(e) + (2 if e.error else 0) + cell_len(e.label) + (len(str(e.count)) + 2 if e.count else 1)
             for e in self.entries), default=0))

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return self.natural_width

    @property
    def line_count(self) -> int:
        return len(self.shown)

    @property
    def current(self) -> FeedEntry | None:
        return self.shown[self.cursor] if self.shown else None

    def on_resize(self, event: events.Resize) -> None:
        super().on_resize(event)
        # the scroll range follows the new virtual size only after this refresh: the scroll
        # above was clamped to the old one (a feed restored far down stayed out of view)
        self.call_after_refresh(self.scroll_to_cursor)

    def set_entries(self, entries: Sequence[FeedEntry]) -> None:
        """New counts or feeds: keep the cursor on the same entry, draw only what changed.
        When its entry left (a feed unsubscribed by another process), the cursor goes to
        the nearest feed (see `_nearest_feed`)."""
        current = self.current
        old, old_width = self.shown, self.natural_width
        self.entries = list(entries)
        self._layout(keep=current.key if current else "")
        if self.natural_width != old_width:
            self.refresh(layout=True)
        if len(old) == len(self.shown) and all(a.key == b.key for a, b in zip(old, self.shown)):
            for index, (before, after) in enumerate(zip(old, self.shown)):
                if before != after:
                    self.refresh_line(index)
            return
        index = self.index_of(current.key) if current else None
        self.cursor = index if index is not None else self._nearest_feed(current, self.cursor)
        self.lines_changed()
        self.scroll_to_cursor()  # lines come and go above it (views added to feeds.toml)

    def _nearest_feed(self, gone: FeedEntry | None, index: int) -> int:
        """The line for a cursor whose entry `gone` left the list from line `index`: the
        same feed in another folder; else the feed that took its place, or the one above
        it, in its folder first; else All (the first line)."""
        feeds = [i for i, e in enumerate(self.shown) if e.kind == "feed"]
        if gone is None or not feeds:
            return 0
        same = [i for i in feeds if gone.kind == "feed" and self.shown[i].feed_ids == gone.feed_ids]
        if same:
            return same[0]
        folder = gone.folder

        def distance(i: int) -> tuple[bool, float]:  # the line that took its place, the one above, below...
            return self.shown[i].folder != folder, i - index if i >= index else index - i - 0.5

        return min(feeds, key=distance)

    def set_hide_read(self, hide: bool) -> None:
        """Leave out (or show again) the feeds and folders with nothing unread."""
        key = self.current.key if self.current else ""
        self.hide_read = hide
        self._layout(keep=key)
        self.cursor = self.index_of(key) or 0
        self.lines_changed()
        self.scroll_to_cursor()

    def index_of(self, key: str) -> int | None:
        return next((i for i, e in enumerate(self.shown) if e.key == key), None)

    def select(self, key: str, *, announce: bool = True) -> bool:
        """Put the cursor on the entry with `key`, unfolding its folder if needed."""
        entry = next((e for e in self.entries if e.key == key), None)
        if entry is None:
            return False
        before = self.current.key if self.current is not None else None
        if entry.kind == "feed" and entry.folder in self.collapsed:
            self.collapsed.discard(entry.folder)
            self._layout(keep=key)
            self.lines_changed()
            self.post_message(self.Folded(frozenset(self.collapsed)))
        elif self.index_of(key) is None:  # a read feed while read ones are hidden
            self._layout(keep=key)
            self.lines_changed()
        index = self.index_of(key)
        assert index is not None
        # (said by the entry, not by the line: a read feed kept under the cursor leaves the
        # list as this one comes into it, and this one may take its very line)
        self.move_cursor(index, announce=False)
        if announce and before != key:
            self.cursor_moved(index)
        return True

    def action_fold(self) -> None:
        entry = self.current
        if entry is None or not entry.folder:
            return
        if entry.folder in self.collapsed:
            self.collapsed.discard(entry.folder)
        else:
            self.collapsed.add(entry.folder)
        self._layout(keep=f"tag:{entry.folder}")
        self.cursor = self.index_of(f"tag:{entry.folder}") or 0
        self.lines_changed()
        self.scroll_to_cursor()
        self.post_message(self.Folded(frozenset(self.collapsed)))
        if self.current is not entry and self.current is not None:
            self.post_message(self.Highlighted(self.current))

    def row_key(self, index: int) -> object:
        entry = self.shown[index]
        return entry, entry.folder in self.collapsed

    def cursor_moved(self, index: int) -> None:
        self.post_message(self.Highlighted(self.shown[index]))

    def opened(self, index: int) -> None:
        self.post_message(self.Opened(self.shown[index]))

    def render_row(self, index: int, width: int, base: Style, selected: bool) -> list[Segment]:
        entry = self.shown[index]
        count = str(entry.count) if entry.count else ""
        prefix = " " * _indent(entry)
        if entry.kind == "folder":
            prefix = "▸ " if entry.folder in self.collapsed else "▾ "
            label_style = base + self.part("feed-list--folder", selected)
        elif entry.kind in ("view", "search"):
            label_style = base + self.part("feed-list--view", selected)
        else:
            label_style = base + self.part("feed-list--unread", selected) if entry.count else base
        segments = [Segment(" " + prefix, base)]
        used = 1 + len(prefix)
        if entry.error:
            segments.append(Segment("! ", base + self.part("feed-list--error", selected)))
            used += 2
        room = width - used - (len(count) + 2 if count else 1)
        segments.append(Segment((fit_url if entry.url_label else fit)(entry.label, room), label_style))
        if count:
            segments.append(Segment(" " + count + " ", base + self.part("feed-list--unread", selected)))
        return segments
