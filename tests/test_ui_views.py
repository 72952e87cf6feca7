"""Views longer than a page: every view (All, Unread, a feed, another order, read hidden) shows
the page around its cursor at once and reads the rest in a thread. Switching views while one
loads never shows the view the reader has left, and keys typed in a burst while a view loads
act on that view."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.pilot import HOUR, NEVER, SIZE, T0, TECH, UICache, build_ui_cache, feed_key, laid_out, panes, status
from tui.model import FetchResult, ParsedArticle, ParsedFeed
from tui.store.cache import Store
from tui.ui.app import DocbaoApp
from tui.ui.screens import main
from tui.ui.widgets.article_list import ArticleList
from tui.ui.widgets.feed_list import FeedList
from tui.ui.views import PAGE

LONG = PAGE * 2 + 500  # articles of the long feed: All and Unread are longer than a page


@pytest.fixture
def long_cache(tmp_path: Path) -> UICache:
    """The test cache with a feed of LONG articles, one in three read."""
    cache = build_ui_cache(tmp_path / "cache")
    many = [ParsedArticle(guid=f"n-{n}", link=f"https://example.com/n/{n}", title=f"Archive entry {n}", author="",
                          published=T0 - (100 + n) * HOUR, summary=f"<p>Entry {n}.</p>") for n in range(LONG)]
    store = Store.open(cache.folder)
    try:
        store.save_fetch(cache.feed_ids[NEVER], FetchResult("ok", NEVER), ParsedFeed(title="Archive", articles=many),
                         now=T0)
        store.set_read([i for n, i in enumerate(store.article_ids(feed_ids=[cache.feed_ids[NEVER]])) if n % 3 == 0])
        store.set_state({"ui.view": feed_key(cache, TECH, "Tech"), "ui.pane": "feeds"})
    finally:
        store.close()
    return cache


def view_ids(cache: UICache, **query: object) -> list[int]:
    store = Store.open(cache.folder)
    try:
        return store.article_ids(**query)  # type: ignore[arg-type]
    finally:
        store.close()


def slow_loads(monkeypatch: pytest.MonkeyPatch, seconds: dict[str, float]) -> None:
    """The thread reading a view's ids takes `seconds[view key]` longer (a big cache on a
    busy machine), so that keys and other views come while it reads."""
    every = main.every

    def slow(store: Store, query: main.ViewQuery, around: int | None) -> main.ViewIds:
        if threading.current_thread() is not threading.main_thread():
            time.sleep(seconds.get(query.key, 0.0))
        return every(store, query, around)

    monkeypatch.setattr(main, "every", slow)


def record_shown(monkeypatch: pytest.MonkeyPatch, app: DocbaoApp) -> list[tuple[str, list[int]]]:
    """Every list the article pane is given, with the view the screen was showing then."""
    shown: list[tuple[str, list[int]]] = []
    show = ArticleList.show

    def recording(self: ArticleList, ids: Sequence[int], **kwargs: object) -> None:
        shown.append((app.screen.entry.key, list(ids)))  # type: ignore[attr-defined]
        show(self, ids, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ArticleList, "show", recording)
    return shown


async def settled(pilot, seconds: float = 0.0) -> None:  # type: ignore[no-untyped-def]
    """Every view load done (and `seconds` more, for a cancelled one still reading)."""
    app = pilot.app
    for _ in range(400):
        await pilot.pause()
        if not app.screen.loading_view and not any(w.group in ("view", "reread") and w.is_running
                                                   for w in app.workers):
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(seconds)
    await pilot.pause()


async def test_switching_views_while_one_loads_never_shows_the_view_left(
        long_cache: UICache, monkeypatch: pytest.MonkeyPatch) -> None:
    """All is still being read when Unread is clicked (keys would wait for All; a click
    does not): All's ids, arriving late, are never shown under Unread, which ends whole."""
    slow_loads(monkeypatch, {"all": 0.6})
    every, unread = view_ids(long_cache), view_ids(long_cache, unread=True)
    app = DocbaoApp(long_cache.config, long_cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        shown = record_shown(monkeypatch, app)
        feeds, articles, _ = panes(app)
        await pilot.press("g")  # All: its first page, the rest read in a thread
        assert app.screen.loading_view
        await pilot.click(FeedList, offset=(5, 2))  # Unread (under the border)
        await settled(pilot, 0.8)  # All's thread has ended meanwhile
        assert feeds.current.key == "unread"
        assert list(articles.ids) == unread
        assert f"{len(unread):,} in view" in status(app)
        allowed = {"all": set(every), "unread": set(unread)}
        assert shown and all(set(ids) <= allowed[key] for key, ids in shown)
        assert not any(key == "unread" and len(ids) == len(every) for key, ids in shown)


async def test_keys_typed_while_a_view_loads_act_on_the_whole_view(
        long_cache: UICache, monkeypatch: pytest.MonkeyPatch) -> None:
    """G typed right after opening All goes to All's last article (not the last of the page
    shown first), and Enter then opens it."""
    slow_loads(monkeypatch, {"all": 0.4, "unread": 0.4})
    every, unread = view_ids(long_cache), view_ids(long_cache, unread=True)
    app = DocbaoApp(long_cache.config, long_cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        feeds, articles, reader = panes(app)
        await pilot.press("g", "enter", "G", "enter")
        await settled(pilot)
        await laid_out(pilot)
        assert articles.current_id == every[-1] and reader.article_id == every[-1]
        assert f"{len(every):,} in view" in status(app)
        await pilot.press("h", "h", "j", "enter", "j", "j")  # back to the feeds, Unread, its third article
        await settled(pilot)
        assert feeds.current.key == "unread" and app.focused is articles
        assert articles.current_id == unread[2]


async def test_a_long_unread_view_read_again_keeps_the_article_just_read(
        long_cache: UICache, monkeypatch: pytest.MonkeyPatch) -> None:
    """Deep in Unread (past the first page), the article opened is read; when the view is
    read again (as after a refresh), its line stays, the cursor on it."""
    unread = view_ids(long_cache, unread=True)
    app = DocbaoApp(long_cache.config, long_cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        _, articles, reader = panes(app)
        await pilot.press("g", "j", "enter", "G", "k", "k", "enter")
        await settled(pilot)
        await laid_out(pilot)
        chosen = unread[-3]
        assert reader.article_id == chosen
        assert articles.row(articles.cursor).read  # drawn as read
        slow_loads(monkeypatch, {"unread": 0.3})
        app.screen._merge()  # what a refresh that wrote to the cache does
        await pilot.press("h", "k")  # keys go on during the read: the same view, still shown
        await settled(pilot)
        assert list(articles.ids) == unread
        assert articles.current_id == unread[-4]
        assert f"{len(unread):,} in view" in status(app)


async def test_sorting_a_long_view_by_title_keeps_the_article_selected(long_cache: UICache) -> None:
    every = view_ids(long_cache)
    chosen = every[PAGE + 300]
    app = DocbaoApp(long_cache.config, long_cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        _, articles, _ = panes(app)
        await pilot.press("g", "enter")
        await settled(pilot)
        articles.move_cursor(every.index(chosen))
        await pilot.press("O", "O")  # oldest first, then by title
        await settled(pilot)
        by_title = view_ids(long_cache, order="title")
        assert list(articles.ids) == by_title
        assert articles.current_id == chosen
        assert "by title" in status(app)
        await pilot.press("H")  # read hidden: the cursor on the article, or the unread one after it
        await settled(pilot)
        unread = set(view_ids(long_cache, unread=True))
        assert list(articles.ids) == [i for i in by_title if i in unread]
        assert articles.current_id == next(i for i in by_title[by_title.index(chosen):] if i in unread)


@pytest.mark.parametrize("sort_keys", [[], ["O", "O"]], ids=["newest first", "by title"])
async def test_n_and_p_in_a_long_view_open_the_next_and_previous_unread(long_cache: UICache,
                                                                         sort_keys: list[str]) -> None:
    """Deep in All (past its first page, one in three read), n opens the next unread article
    and p the one before, in the order shown; read ones (and those n just read) are passed over."""
    app = DocbaoApp(long_cache.config, long_cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        _, articles, reader = panes(app)
        await pilot.press("g", "enter", *sort_keys)
        await settled(pilot)
        order = "title" if sort_keys else "newest"
        every, unread = view_ids(long_cache, order=order), set(view_ids(long_cache, unread=True))
        start = PAGE + 40
        while every[start] in unread:  # from a read article
            start += 1
        articles.move_cursor(start)
        expected = [i for i in every[start:] if i in unread][:3]
        opened = []
        for _ in range(3):
            await pilot.press("n")
            await laid_out(pilot)
            opened.append(reader.article_id)
        assert opened == expected and articles.current_id == expected[-1]
        await pilot.press("p")  # the three are read now: the unread one before them
        await laid_out(pilot)
        assert reader.article_id == [i for i in every[:start] if i in unread][-1]


def test_order_key_sorts_as_the_store_lists_views(long_cache: UICache) -> None:
    """Where an article goes in a long view is found by bisection on order_key: it must sort
    exactly as article_ids lists every order, title case folded as SQLite does."""
    store = Store.open(long_cache.folder)
    try:
        feed_order = [row.id for row in sorted(store.feeds(), key=lambda row: row.title.lower())]
        for order in ("newest", "oldest", "title", "feed"):
            listed = store.article_ids(order=order, feed_order=feed_order)
            assert sorted(listed, key=store.order_key(order, feed_order)) == listed, order
    finally:
        store.close()


async def test_moving_through_the_feeds_in_a_burst_goes_past_views_still_loading(
        long_cache: UICache, monkeypatch: pytest.MonkeyPatch) -> None:
    """j and k in the feed list do not wait for the view under the cursor to be read: each
    replaces it (its load is dropped); Enter and G then wait for the view they act on."""
    slow_loads(monkeypatch, {"all": 0.5, "unread": 0.5})
    every, unread = view_ids(long_cache), view_ids(long_cache, unread=True)
    app = DocbaoApp(long_cache.config, long_cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        shown = record_shown(monkeypatch, app)
        feeds, articles, _ = panes(app)
        await pilot.press("g", "j", "j", "k", "enter", "G")  # All, Unread, Starred, Unread: its last
        await settled(pilot, 0.6)
        assert feeds.current.key == "unread" and app.focused is articles
        assert list(articles.ids) == unread and articles.current_id == unread[-1]
        allowed = {"all": set(every), "unread": set(unread), "starred": set(view_ids(long_cache, starred=True))}
        assert all(set(ids) <= allowed[key] for key, ids in shown)
        assert not any(len(ids) == len(every) for _, ids in shown)  # All was left before it was read


async def test_mark_all_read_with_read_hidden_keeps_the_whole_list_until_it_is_read_again(
        long_cache: UICache, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read hidden, All marked read in the background: every line stays, drawn read, as after
    a mark of a few (not the 1,000 near the cursor the cache watcher kept when it took the
    mark's writes for another process's). Read again, the list is empty; `u` brings every
    article back."""
    from tui.ui.screens import reading

    monkeypatch.setattr(reading, "MARK_ON_THE_LOOP", 100)  # All's mark goes to a thread
    long_cache.config.settings.hide_read = True
    unread = view_ids(long_cache, unread=True)
    assert len(unread) > main.KEPT_REACH  # more than the lines kept after the cursor on the first
    app = DocbaoApp(long_cache.config, long_cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        _, articles, _ = panes(app)
        await pilot.press("g")  # All
        await settled(pilot)
        assert list(articles.ids) == unread
        await pilot.press("A", "y")
        while app.screen.marking:  # the marks' thread, then what it shows
            await app.workers.wait_for_complete()
            await pilot.pause()
        app.screen._watch()  # the cache watcher's next look
        await settled(pilot)
        assert view_ids(long_cache, unread=True) == []
        assert list(articles.ids) == unread
        line = status(app)
        # (while the note is up, the help key's short form may cut the end of "read hidden")
        assert "0 unread" in line and f"{len(unread):,} in view" in line and "read hid" in line, line
        assert all(articles.row(n).read for n in (0, len(unread) // 2, len(unread) - 1))
        await pilot.press("H", "H")  # read again
        await settled(pilot)
        assert list(articles.ids) == [] and "0 in view" in status(app)
        await pilot.press("u")
        while app.screen.marking:  # the marks' thread, then what it shows
            await app.workers.wait_for_complete()
            await pilot.pause()
        await settled(pilot)
        assert list(articles.ids) == unread
        assert f"{len(unread):,} unread" in status(app) and f"{len(unread):,} in view" in status(app)
