"""The ids of a view, read the one way every view is read: a page at once, the rest in a thread.

A view (a feed, a folder, All, a search's results, in any order, read articles hidden or
not) can hold a million articles: reading its ids takes up to a second and a Python list
of them 36 MB. So the screen reads on the spot only a page around the article to select
(keyset queries, `page`), which is the whole view when the view is short, and a thread
reads the rest (`every`) into an array of 8-byte ints, finding where the cursor goes
by bisection on the way. Nothing here runs a query whose cost grows with the cache on the
event loop, and nothing here knows Textual.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tui.store.cache import Store, id_array

PAGE = 1000  # ids read at once; a view no longer than this is read whole, on the spot


@dataclass(frozen=True)
class ViewQuery:
    """What decides a view's ids, taken on the event loop so that a thread can read them."""

    key: str
    order: str
    feed_ids: tuple[int, ...] | None = None
    unread: bool = False
    starred: bool = False
    feed_order: tuple[int, ...] = ()  # the feeds by name, for the order "feed"
    found: Sequence[int] | None = None  # a search view's articles as found (newest or best first)
    ranked: bool = False  # found in the search's own order (best matches...), not newest first
    ignored: frozenset[int] = frozenset()  # hidden by the [[ignore]] rules
    kept: tuple[int, ...] = field(default=())  # shown near the cursor: stay though they left the filter

    @property
    def keyed(self) -> bool:
        """The order is one of the store's (a search's "best" and "stored" are its own)."""
        return self.order in ("newest", "oldest", "title", "feed")


@dataclass
class ViewIds:
    """A view's ids (all of them, or a page while the rest is read), the line for the cursor."""

    ids: Sequence[int]  # a list; an array of 8-byte ints when longer than a page
    whole: bool  # all of the view's ids, not a page of them
    index: int | None = None  # the line of the article asked for, or of the one that follows it
    hidden: int = 0  # articles the [[ignore]] rules left out


def page(store: Store, query: ViewQuery, around: int | None) -> ViewIds:
    """At most PAGE ids of the view: the page around `around` where the order allows a
    keyset query, else the first; the whole view when it is that short."""
    if query.found is not None:
        if len(query.found) > PAGE:
            if query.ranked and query.order in ("newest", "oldest"):
                return ViewIds([], whole=False)  # sorted by date: the thread's sort comes first
            if query.order in ("newest", "best", "stored") and not query.ignored:
                return ViewIds(list(query.found[:PAGE]), whole=False)
            if query.order == "oldest" and not query.ignored:
                return ViewIds(list(reversed(query.found[-PAGE:])), whole=False)
            return ViewIds([], whole=False)  # sorted by title or feed: the thread's sort comes first
        return _finish(store, query, list(query.found), around)
    filters = {"feed_ids": query.feed_ids, "unread": query.unread, "starred": query.starred}
    ids = store.article_ids(order=query.order, feed_order=query.feed_order, limit=PAGE + 1, **filters)
    if len(ids) <= PAGE:  # the whole view
        return _finish(store, query, ids, around)
    placed = around in ids
    if around is not None and not placed:  # the page around its place, where a keyset allows
        nearby = store.ids_around(around, PAGE, order=query.order, **filters)
        ids, placed = nearby or ids, bool(nearby)
    if query.ignored:
        ids = [i for i in ids if i not in query.ignored]
    # its line, or (it left the view) the next article's
    index = line_of(ids, around, store.order_key(query.order, query.feed_order)) if placed else None
    return ViewIds(ids, whole=False, index=index)


def every(store: Store, query: ViewQuery, around: int | None) -> ViewIds:
    """All the view's ids in display order, as an array (in a thread, from its own store)."""
    if query.found is not None:
        return _finish(store, query, query.found, around)
    ids = store.article_ids(feed_ids=query.feed_ids, unread=query.unread, starred=query.starred,
                            order=query.order, feed_order=query.feed_order, compact=True)
    return _finish(store, query, ids, around)


def _finish(store: Store, query: ViewQuery, ids: Sequence[int], around: int | None) -> ViewIds:
    """Search results sorted, ignored articles left out, the kept ones put back in their
    place, and the line of `around` (or of the article after it) found."""
    ids = id_array(ids)
    found = query.found is not None
    if found and query.ranked and query.order in ("newest", "oldest"):
        ids = array("q", store.sort_ids(ids, "newest"))
    if found and query.order == "oldest":
        ids.reverse()
    elif found and query.order in ("title", "feed"):
        ids = array("q", store.sort_ids(ids, query.order, query.feed_order))
    hidden = 0
    if query.ignored and query.key != "ignored":
        total = len(ids)
        ids = array("q", (i for i in ids if i not in query.ignored))
        hidden = total - len(ids)
    key = store.order_key(query.order, query.feed_order) if query.keyed else None
    if query.kept and key is not None:
        left = [row.id for row in store.rows(query.kept) if row.id not in query.ignored
                and ((query.unread and row.read) or (query.starred and not row.starred))]
        _put_back(ids, left, key)
    index = line_of(ids, around, key)
    return ViewIds(ids if len(ids) > PAGE else ids.tolist(), whole=True, index=index, hidden=hidden)


def _put_back(ids: array[int], kept: list[int], key: Callable[[int], tuple[object, ...]]) -> None:
    """Insert `kept` (articles that left the view's filter) into `ids` (sorted by `key`),
    each where it sorts."""
    for article_id in kept:
        place = bisect.bisect_left(ids, key(article_id), key=key)
        if place >= len(ids) or ids[place] != article_id:
            ids.insert(place, article_id)


def line_of(ids: Sequence[int], article_id: int | None,
            key: Callable[[int], tuple[object, ...]] | None = None) -> int | None:
    """The line of `article_id` in `ids`; with the order's `key`, found by bisection, and
    when the article is not there, the line of the one that follows it."""
    if article_id is None or not ids:
        return None
    if key is not None:
        place = bisect.bisect_left(ids, key(article_id), key=key)
        if place < len(ids) and ids[place] == article_id:
            return place
    try:
        return ids.index(article_id)
    except ValueError:
        return min(place, len(ids) - 1) if key is not None else None


def near(ids: Sequence[int], article_id: int, hint: int, reach: int = 2000) -> int | None:
    """The line of `article_id` looked for around line `hint` first: the article under the
    cursor is found in a view of a million without reading the whole of it."""
    start = max(0, hint - reach)
    try:
        return start + list(ids[start:hint + reach]).index(article_id)
    except ValueError:
        pass
    try:
        return ids.index(article_id)
    except ValueError:
        return None


__all__ = ["PAGE", "ViewIds", "ViewQuery", "every", "line_of", "near", "page"]
