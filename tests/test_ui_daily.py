"""What a daily reader does, the way they do it: `q` backs out and `Q` quits, keys typed in
a burst all land, `A` asks before marking more than a screenful and `u` takes marks back,
untitled articles show their text, and the small things met in a day of use."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual import events
from textual.app import App, ComposeResult

from tests.pilot import (
    long_feed_cache,
    EVIL,
    PLAIN,
    SHOWN_FEED,
    SIZE,
    TECH,
    VN,
    UICache,
    browser_args,
    build_ui_cache,
    feed_key,
    go_to_feed,
    laid_out,
    lines,
    panes,
    read_state,
    screen_lines,
    status,
)
from tui.config import Config, FeedConfig, load_config
from tui.model import FetchResult, ParsedArticle, ParsedFeed
from tui.store.cache import Store
from tui.ui.app import DocbaoApp
from tui.ui.widgets.feed_list import FeedList
from tui.ui.screens.main import MainScreen
from tui.ui.screens.prompts import Confirm
from tui.ui.screens.reading import MarksProgress
from tui.ui.widgets.status_bar import StatusBar


async def burst(pilot, *keys: str) -> None:  # type: ignore[no-untyped-def]
    """Send keys the way a fast typist or a script does: all queued at once, no pause for
    the app between them (Pilot's press waits for the app after every key)."""
    app = pilot.app
    for key in keys:
        char = {"enter": "\r", "escape": "\x1b", "space": " "}.get(key, key if len(key) == 1 else None)
        event = events.Key(key, char)
        event.set_sender(app)
        app._driver.send_message(event)
    await asyncio.sleep(0)
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()


# ---------------------------------------------------------------------------- q and Q
async def test_q_goes_back_pane_by_pane_and_quits_from_the_feeds(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, VN, "Việt Nam"))
        feeds, articles, reader = panes(app)
        await pilot.press("enter", "enter")
        assert app.focused is reader and reader.article_id == cache.articles[VN][0]
        await pilot.press("q")
        assert app.is_running and app.focused is articles
        await pilot.press("q")
        assert app.is_running and app.focused is feeds
        assert "? keys q back Q quit" in status(app)
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running
    assert app.return_code == 0


async def test_capital_q_quits_from_the_article(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, VN, "Việt Nam"))
        await pilot.press("enter", "enter", "Q")
        await pilot.pause()
        assert not app.is_running


async def test_back_and_quit_keys_are_remapped_from_the_config(cache: UICache) -> None:
    cache.config.keys = {"back_or_quit": "x", "quit": "q"}  # the old way: q quits anywhere
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, VN, "Việt Nam"))
        feeds, articles, _ = panes(app)
        await pilot.press("enter", "x")
        assert app.is_running and app.focused is feeds
        assert "x back q quit" in status(app)
        await pilot.press("enter", "enter", "q")
        await pilot.pause()
        assert not app.is_running


# ------------------------------------------------------------------------ key bursts
async def test_l_l_in_a_burst_opens_the_feed_then_the_article(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, VN, "Việt Nam"))
        _, _, reader = panes(app)
        await burst(pilot, "l", "l")
        assert reader.article_id == cache.articles[VN][0]
        assert app.focused is reader


async def test_f_and_a_number_in_a_burst_open_the_link(cache: UICache, browser: Path) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, VN, "Việt Nam"))
        await burst(pilot, "l", "l", "f", "2", "enter")
        assert await browser_args(browser) == ["1", "https://example.com/rss"]
        assert isinstance(app.screen, MainScreen)


async def test_a_burst_through_the_lists_does_what_slow_keys_do(cache: UICache) -> None:
    """The same walk typed slowly and in one burst ends on the same article, marked alike."""
    walk = ["j", "j", "j", "j", "l", "j", "l", "s", "q", "q", "j", "j", "j", "j", "l", "l", "m"]
    ends = []
    for fast in (False, True):
        fresh = build_ui_cache(cache.folder.parent / f"walk-{fast}")
        app = DocbaoApp(fresh.config, fresh.folder)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            if fast:
                await burst(pilot, *walk)
            else:
                await pilot.press(*walk)
            _, articles, reader = panes(app)
            ends.append((app.screen.pane, reader.article_id, articles.current_id, status(app).split("  ")[0]))
        store = Store.open(fresh.folder)
        try:
            ends[-1] += (sorted((r.id, r.read, r.starred) for r in store.rows(store.article_ids())),)
        finally:
            store.close()
    assert ends[0] == ends[1], f"slow: {ends[0]}\nburst: {ends[1]}"
    assert ends[0][0] == "reader"


async def test_a_search_typed_in_a_burst_runs_whole(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await burst(pilot, "slash", *"sqlite", "enter")
        _, articles, _ = panes(app)
        assert app.screen.entry is not None and app.screen.entry.query == "sqlite"
        assert articles.ids == [cache.articles[TECH][0]]


# ------------------------------------------------------------------ mark all and undo
async def test_mark_all_read_in_a_search_says_it_marks_what_is_listed(tmp_path: Path) -> None:
    """A search lists its best matches (at most SEARCH_LIMIT): `A` there marks those, and
    its question says so, not "articles of Search" as if every match went."""
    from tui.ui.screens.searching import SEARCH_LIMIT

    config, _ = long_feed_cache(tmp_path / "cache", SEARCH_LIMIT + 300)
    app = DocbaoApp(config, tmp_path / "cache")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"item", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        _, articles, _ = panes(app)
        assert len(articles.ids) == SEARCH_LIMIT
        await pilot.press("A")
        assert isinstance(app.screen, Confirm)
        assert (f"Mark the {SEARCH_LIMIT:,} unread of the {SEARCH_LIMIT:,} articles listed for Search: item read?"
                in app.screen.question), app.screen.question
        await pilot.press("y")
        await pilot.pause()
        assert unread_count(tmp_path / "cache") == 300


def unread_count(folder: Path) -> int:
    store = Store.open(folder)
    try:
        return store.count(unread=True)
    finally:
        store.close()


async def test_q_answers_no_to_a_question_asked_while_reading(tmp_path: Path) -> None:
    """q goes back everywhere, so in a question it answers no; the article stays open."""
    config, feed_id = long_feed_cache(tmp_path / "cache", 600)
    app = DocbaoApp(config, tmp_path / "cache")
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, f"feed:{feed_id}")
        await pilot.press("enter", "enter")  # the feed's articles, the first of them
        await laid_out(pilot)
        _, articles, view = panes(app)
        assert app.focused is view
        await pilot.press("A")
        assert isinstance(app.screen, Confirm)
        assert any("y or Enter: yes · n, q or Esc: no" in line for line in screen_lines(app))
        await pilot.press("q")
        assert isinstance(app.screen, MainScreen) and app.focused is view
        assert unread_count(tmp_path / "cache") == 599  # (the article opened)
        await pilot.press("q")
        assert app.focused is articles


async def test_mark_all_read_asks_for_more_than_a_screen_and_u_takes_it_back(tmp_path: Path) -> None:
    config, feed_id = long_feed_cache(tmp_path / "cache", 1956)
    # a name as wide as the feeds pane with its count: the widest line, and shorter without it
    config = Config(path=None, feeds=[FeedConfig(url=config.feeds[0].url, title="Tin tức tổng hợp")])
    app = DocbaoApp(config, tmp_path / "cache")
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, f"feed:{feed_id}")
        await pilot.press("A")
        assert isinstance(app.screen, Confirm)
        assert "Mark 1,956 articles of Tin tức tổng hợp read? (u undoes it)" in app.screen.question
        await pilot.press("n")
        assert isinstance(app.screen, MainScreen) and unread_count(tmp_path / "cache") == 1956
        feeds, articles, _ = panes(app)
        where = (feeds.region.width, articles.region.x)
        await pilot.press("A", "y")
        assert unread_count(tmp_path / "cache") == 0
        assert "Marked 1,956 articles read" in status(app)
        assert "0 unread" in status(app)
        await pilot.pause()
        assert (feeds.region.width, articles.region.x) == where  # the counts went, the panes stay put
        await pilot.press("u")
        assert unread_count(tmp_path / "cache") == 1956
        assert "Undone: 1,956 articles of Tin tức tổng hợp marked read" in status(app)
        assert "1,956 unread" in status(app)
        _, articles, _ = panes(app)
        assert all("●" in line for line in lines(articles) if line.strip())
        await pilot.press("u")
        assert "Nothing to undo" in status(app)


async def test_a_big_mark_is_written_in_a_thread_and_the_reader_stays_usable(tmp_path: Path) -> None:
    """Marking All read on a big cache writes every article's page (a million take a
    minute): the mark, and its undo, run in a thread with their progress in the status
    line, and the reader answers keys meanwhile, here while a refresh holds the cache."""
    import sqlite3

    from tui.ui.screens.help import HelpScreen
    from tui.ui.screens.reading import MARK_ON_THE_LOOP

    many = MARK_ON_THE_LOOP + 500
    config, feed_id = long_feed_cache(tmp_path / "cache", many)
    app = DocbaoApp(config, tmp_path / "cache")
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, f"feed:{feed_id}")
        writer = sqlite3.connect(tmp_path / "cache" / "docbao.db", isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")  # another process writing, as a refresh does
        try:
            await pilot.press("A", "y")
            assert f"marking {many:,} articles read…" in status(app)
            await pilot.press("question_mark")  # the reader still answers
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("escape")
        finally:
            writer.execute("ROLLBACK")
            writer.close()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert unread_count(tmp_path / "cache") == 0
        assert f"Marked {many:,} articles read" in status(app) and "0 unread" in status(app)
        with cache_held(tmp_path / "cache"):  # the undo waits for it
            await pilot.press("u")
            assert f"undoing: marking {many:,} articles unread…" in status(app)
            # the undo's worker is described in a few words: Textual's default, the repr of
            # every argument made on the event loop, took 60 MB at a million ids
            undoing = [worker.description for worker in app.workers if worker.group == "marks"]
            assert len(undoing) == 1 and len(undoing[0]) < 80, undoing[0][:80]
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert unread_count(tmp_path / "cache") == many
        assert f"Undone: {many:,} articles of Long marked read" in status(app) and f"{many:,} unread" in status(app)


def small_marks(monkeypatch: pytest.MonkeyPatch, on_the_loop: int = 100, chunk: int = 50) -> None:
    """Marks of more than `on_the_loop` articles go to a thread, `chunk` to a transaction:
    the threaded path, with a cache of a few hundred articles."""
    from tui.store import cache as store_module
    from tui.ui.screens import reading

    monkeypatch.setattr(reading, "MARK_ON_THE_LOOP", on_the_loop)
    monkeypatch.setattr(store_module, "MARK_CHUNK", chunk)


@contextlib.contextmanager
def cache_held(folder: Path) -> Iterator[None]:
    """Another process writing to the cache (as a refresh does): a mark in a thread waits
    at its first chunk until it lets go."""
    writer = sqlite3.connect(folder / "docbao.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        writer.execute("ROLLBACK")
        writer.close()


async def settled(pilot) -> None:  # type: ignore[no-untyped-def]
    """Wait until the marks in threads are written, and what they started after them too."""
    app = pilot.app
    while [w for w in app.workers if w.group == "marks" and not w.is_finished] or app.screen.marking:
        await app.workers.wait_for_complete()
        await pilot.pause()
    await pilot.pause()


async def test_u_while_a_big_mark_is_written_undoes_that_mark_not_the_one_before(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`u` pressed while "mark all read" is still being written undoes that mark: it stops
    after the chunk it is writing and what it wrote is given back. The mark made before it
    stays, and is the next `u`'s."""
    small_marks(monkeypatch)
    folder = tmp_path / "cache"
    config, feed_id = long_feed_cache(folder, 300)
    app = DocbaoApp(config, folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, f"feed:{feed_id}")
        _, articles, _ = panes(app)
        await pilot.press("enter", "m")  # the first article read by hand
        first = articles.ids[0]
        assert unread_count(folder) == 299
        with cache_held(folder):
            await pilot.press("A", "y")
            assert "marking 299 articles read…" in status(app)
            await pilot.press("u")
            assert "stopping the mark to undo it…" in status(app)
            await pilot.press("u")  # one undo at a time: the next would race the marks given back
            assert "Still undoing the last mark; u again once it is done." in status(app)
        await settled(pilot)
        assert unread_count(folder) == 299  # all the mark wrote given back, and only that
        store = Store.open(folder)
        try:
            assert store.rows([first])[0].read
        finally:
            store.close()
        assert "Undone: the mark of 299 articles of Long read, stopped after 50 (1 more to undo)" in status(app)
        assert "299 unread" in status(app)
        await pilot.press("u")
        assert "Undone: 1 article of Long marked read" in status(app) and unread_count(folder) == 300
        await pilot.press("u")
        assert "Nothing to undo." in status(app)


async def test_a_again_while_its_mark_is_written_marks_nothing_twice(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`A` pressed again while the mark it started is written (an impatient user) says so,
    instead of counting half-marked articles, asking again and starting a second mark that
    `u` would undo alone. A feed the mark leaves alone can still be marked."""
    small_marks(monkeypatch)
    folder = tmp_path / "cache"
    config, feed_id = long_feed_cache(folder, 300)
    app = DocbaoApp(config, folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, f"feed:{feed_id}")
        with cache_held(folder):
            await pilot.press("A", "y")
            assert "marking 300 articles read…" in status(app)
            await pilot.press("A")
            assert "Still marking 300 articles read; u stops it." in status(app)
            assert not isinstance(app.screen, Confirm)
            await pilot.press("C")  # every feed: this one's articles among them
            assert not isinstance(app.screen, Confirm)
        await settled(pilot)
        assert unread_count(folder) == 0
        assert "Marked 300 articles read" in status(app)
        await pilot.press("u")
        await settled(pilot)
        assert unread_count(folder) == 300  # one undo gives back the one mark
        await pilot.press("A", "y")  # and once it is written, A marks again
        await settled(pilot)
        assert unread_count(folder) == 0


async def test_u_while_the_only_mark_is_written_undoes_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With nothing else to undo, `u` during a mark is not lost as "Nothing to undo": the
    mark is undone, the part it wrote given back in a thread too when it is big."""
    small_marks(monkeypatch, on_the_loop=100, chunk=150)
    folder = tmp_path / "cache"
    config, feed_id = long_feed_cache(folder, 400)
    app = DocbaoApp(config, folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, f"feed:{feed_id}")
        with cache_held(folder):
            await pilot.press("enter", "A", "y", "u")
            assert "Nothing to undo" not in status(app)
            assert "stopping the mark to undo it…" in status(app)
        await settled(pilot)
        assert unread_count(folder) == 400
        assert "Undone: the mark of 400 articles of Long read, stopped after 150" in status(app)
        assert "400 unread" in status(app)
        await pilot.press("u")
        assert "Nothing to undo." in status(app)


async def test_quitting_while_a_big_mark_is_written_says_so_and_ends_once_it_is_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Q while "mark all read" is written: the reader keeps its screen and says it is
    finishing (it used to go blank while the process waited for the thread), then ends
    with every article marked. `q` from the feed list does the same."""
    small_marks(monkeypatch)
    folder = tmp_path / "cache"
    config, feed_id = long_feed_cache(folder, 300)
    for quit_keys in (["Q"], ["q", "q"]):
        store = Store.open(folder)
        try:
            store.set_read(store.article_ids(), False)
        finally:
            store.close()
        app = DocbaoApp(config, folder)
        async with app.run_test(size=SIZE) as pilot:
            await go_to_feed(pilot, app, f"feed:{feed_id}")
            with cache_held(folder):
                await pilot.press("enter", "A", "y", *quit_keys)
                assert app.is_running
                assert "finishing: marking 300 articles read…" in status(app), quit_keys
                assert "Marked" not in status(app)
                assert [n.message for n in app._notifications][-1:] == [
                    "docbao quits once the marks are written. u undoes the mark and quits sooner."]
            for _ in range(400):  # (waiting on the workers would see them cancelled as the app ends)
                if not app.is_running:
                    break
                await asyncio.sleep(0.05)
            assert not app.is_running
        assert app.return_code == 0
        assert unread_count(folder) == 0


def hint_apart(line: str) -> bool:
    """The key hint, when the status line shows it, stands apart from what comes before."""
    return "? keys" not in line or line[:line.index("? keys")].endswith("  ")


@pytest.mark.parametrize("width", [80, 120])
async def test_the_status_line_of_a_big_mark_and_its_undo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          width: int) -> None:
    """The question, the progress and the result write a count alike (1,200); the undo's
    progress says it undoes, marking unread; nothing runs into the key hint, and a
    refresh's result goes when a newer note comes instead of running on into it."""
    small_marks(monkeypatch, on_the_loop=100, chunk=500)
    folder = tmp_path / "cache"
    config, feed_id = long_feed_cache(folder, 1200)
    app = DocbaoApp(config, folder)
    async with app.run_test(size=(width, 36)) as pilot:
        await go_to_feed(pilot, app, f"feed:{feed_id}")
        await pilot.press("enter", "A")
        assert isinstance(app.screen, Confirm)
        assert "Mark 1,200 articles of Long read? (u undoes it)" in app.screen.question
        with cache_held(folder):
            await pilot.press("y")
            assert "marking 1,200 articles read…" in status(app)
        await settled(pilot)
        line = status(app)
        assert "0 unread · 1,200 articles" in line and "Marked 1,200 articles read (u undoes it)." in line
        assert hint_apart(line), line
        with cache_held(folder):
            await pilot.press("u")
            line = status(app)
            assert "undoing: marking 1,200 articles unread…" in line and hint_apart(line), line
        await settled(pilot)
        line = status(app)
        assert "1,200 unread" in line and "Undone: 1,200 articles of Long marked read" in line
        assert hint_apart(line), line
        await pilot.press("R")  # nothing listens there: "refreshed 12:00: 0 new, 1 failed"
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "refreshed" in status(app) and "0 new, 1 failed" in status(app)
        await pilot.press("m")
        line = status(app)
        assert "Marked read." in line and "refreshed" not in line and hint_apart(line), line


class StatusLine(App[None]):
    """The status line alone, to draw it at a given width."""

    def compose(self) -> ComposeResult:
        yield StatusBar()


BIG_COUNTS = "90,083 unread · 100,000 articles"
BIG_VIEW = "90,083 in view · newest first · read hidden"


async def test_a_note_never_runs_into_the_key_hint() -> None:
    """Whatever a note's length, at 80 and 120 columns: the key hint keeps a gap before it or
    gives its room up, and a note that fits the line is shown whole, the counts after it
    when they no longer fit before it."""
    words = " ".join(f"word{n}" for n in range(40))
    for width in (80, 120):
        for view, job in (("12 in view · newest first", ""), (BIG_VIEW, "marking 15,000/90,083 articles read…")):
            app = StatusLine()
            async with app.run_test(size=(width, 3)):
                bar = app.query_one(StatusBar)
                bar.set(counts=BIG_COUNTS, view=view, keys="? keys  q back  Q quit", short_keys="? keys")
                bar.set_job("marks", job)
                for length in range(1, width):
                    note = words[:length].strip()
                    bar.set(note=note)
                    line = bar.render().plain
                    assert len(line) <= width and hint_apart(line), (width, line)
                    if len(f" {note}") < width:  # (the last cell is the ellipsis when more follows)
                        assert note in line, (width, line)
                    if len(f" {note}…  ? keys ") <= width:  # the help key stays while the note leaves room
                        assert "? keys" in line, (width, line)


async def test_at_80_columns_the_status_line_keeps_the_help_key_and_counts_only_what_is_shown(
        cache: UICache) -> None:
    """One pane at a time: back at the feed list, the article list's "4 in view" is not on
    screen and is not said; a line too long for the key hint still names the help key."""
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=(80, 24)) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, TECH, "Tech"))
        await pilot.press("enter")
        assert "4 in view · newest first" in status(app)
        await pilot.press("m")  # a note: the line is too long for the whole key hint
        line = status(app)
        assert "Marked read." in line and line.rstrip().endswith("? keys") and hint_apart(line), line
        await pilot.press("q")  # the feed list, alone on the screen
        line = status(app)
        assert "in view" not in line and "8 unread · 11 articles" in line and "? keys" in line, line
        await pilot.press("enter")
        assert "4 in view" in status(app)
        await pilot.press("q")
        await pilot.resize_terminal(120, 36)  # both panes: the list's count is on screen again
        await pilot.pause()
        assert "4 in view" in status(app)
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert "in view" not in status(app)


async def test_a_sort_note_goes_when_another_view_is_shown(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, TECH, "Tech"))
        await pilot.press("enter", "O")
        assert "Sorted oldest first." in status(app)
        await pilot.press("h", "k")  # the Tech folder, newest first
        line = status(app)
        assert "Sorted oldest first." not in line and "6 in view · newest first" in line, line


async def test_a_refresh_made_elsewhere_is_told_whole_at_80_columns_after_the_counts() -> None:
    app = StatusLine()
    async with app.run_test(size=(80, 3)):
        bar = app.query_one(StatusBar)
        bar.set(counts=BIG_COUNTS, view=BIG_VIEW, keys="? keys  q back  Q quit", short_keys="? keys")
        bar.set_job("refresh", "refreshed 23:59 elsewhere: 123 new", ended=True)
        assert f" {BIG_COUNTS}  refreshed 23:59 elsewhere: 123 new" in bar.render().plain


async def test_what_a_big_mark_says_fits_80_columns_after_the_counts() -> None:
    """Its start, progress, undo, stop and the wait to quit, each read whole after the
    counts of a 100,000-article cache."""
    said = []
    for quitting in (False, True):
        said += [MarksProgress(90_083, True).text(quitting=quitting),
                 MarksProgress(90_083, True, 15_000).text(quitting=quitting),
                 MarksProgress(90_082, False, undoing=True).text(quitting=quitting),
                 MarksProgress(90_082, False, 80_000, undoing=True).text(quitting=quitting),
                 MarksProgress(90_083, True, 15_000, stopping=True).text(quitting=quitting)]
    assert said[:5] == ["marking 90,083 articles read…", "marking 15,000/90,083 articles read…",
                        "undoing: marking 90,082 articles unread…", "undoing: 80,000/90,082 marked unread…",
                        "stopping the mark to undo it…"]
    assert said[6] == "finishing: 15,000/90,083 marked read…"
    app = StatusLine()
    async with app.run_test(size=(80, 3)):
        bar = app.query_one(StatusBar)
        bar.set(counts=BIG_COUNTS, view=BIG_VIEW, keys="? keys  q back  Q quit")
        for text in said:
            bar.set_job("marks", text)
            assert f" {BIG_COUNTS}  {text}" in bar.render().plain


async def test_a_screenful_is_marked_without_a_question(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, TECH, "Tech"))
        await pilot.press("A")
        assert isinstance(app.screen, MainScreen)
        assert all(read_state(cache, a)[0] for a in cache.articles[TECH])


async def test_u_undoes_marks_and_stars_one_by_one_last_first(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, PLAIN))
        first, second = cache.articles[PLAIN]
        await pilot.press("enter")  # the article list; nothing is opened, nothing marked
        await pilot.press("m", "s", "j", "m")
        assert read_state(cache, first) == (True, True)
        assert read_state(cache, second) == (True, True)  # it was starred already
        await pilot.press("u")
        assert read_state(cache, second) == (False, True)
        assert "Undone: 1 article of Plain Feed marked read (2 more to undo)" in status(app)
        await pilot.press("u")
        assert read_state(cache, first) == (True, False)
        assert "Undone: star of an article of Plain Feed" in status(app)
        await pilot.press("u")
        assert read_state(cache, first) == (False, False)
        _, articles, _ = panes(app)
        assert lines(articles)[0].lstrip().startswith("●")


async def test_u_brings_an_unsubscribed_feed_back_with_the_file_as_it_was(cache: UICache, tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    text = (f'# my feeds\n[[feed]]\nurl = "{VN}"\ntitle = "Báo Thái Nguyên"  # the seed\n'
            f'tags = ["Việt Nam", "Tin tức"]\n\n[[feed]]\nurl = "{TECH}"\ntags = ["Tech"]\n\n'
            f'[[feed]]\nurl = "{EVIL}"\ntags = ["Tech"]\n\n[[feed]]\nurl = "{PLAIN}"\ntitle = "Plain Feed"\n')
    path.write_text(text, encoding="utf-8")
    app = DocbaoApp(load_config(path), cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, TECH, "Tech"))
        await pilot.press("d", "y")
        assert TECH not in path.read_text(encoding="utf-8")
        feeds, _, _ = panes(app)
        assert all(e.urls != (TECH,) for e in feeds.entries)
        assert any("u undoes it" in n.message for n in app._notifications)
        await pilot.press("u")
        await pilot.pause()
        assert path.read_text(encoding="utf-8") == text
        assert any(e.urls == (TECH,) for e in feeds.entries)
        assert "Undone: unsubscribe from Tech Weekly" in status(app)
        # what the toast said no longer holds: it goes (the warnings of the start would stay)
        assert not any("u undoes it" in n.message for n in app._notifications)


async def test_u_says_where_the_mark_it_undoes_was_made(cache: UICache) -> None:
    """`u` may reach back to a mark made in another feed minutes ago: it names that feed
    (as text: a hostile feed name is no markup) or the view, All being every feed."""
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=(160, 40)) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, EVIL, "Tech"))
        await pilot.press("A")  # a screenful: marked without a question
        assert "Marked 2 articles read" in status(app)
        await go_to_feed(pilot, app, feed_key(cache, PLAIN))
        await pilot.press("enter", "enter")  # reading another feed's article
        await laid_out(pilot)
        await pilot.press("u")
        assert isinstance(app.screen, MainScreen)  # [@click=app.quit] in the name did nothing
        assert f"Undone: 2 articles of {SHOWN_FEED} marked read" in status(app)
        assert not any(read_state(cache, a)[0] for a in cache.articles[EVIL])
        await go_to_feed(pilot, app, "all")
        await pilot.press("C", "y")
        await settled(pilot)
        await pilot.press("u")
        assert "Undone: 8 articles of every feed marked read" in status(app)


# ------------------------------------------------------------------------- browsers
def test_the_browser_setting_is_an_argument_list(tmp_path: Path) -> None:
    from tui.config import ConfigError

    path = tmp_path / "feeds.toml"
    path.write_text('[settings]\nbrowser = ["w3m", "-o", "confirm_qq=false", "%u"]\n', encoding="utf-8")
    assert load_config(path).settings.browser == ["w3m", "-o", "confirm_qq=false", "%u"]
    for wrong in ('"w3m %u"', "[]", '["w3m", 3]'):
        path.write_text(f"[settings]\nbrowser = {wrong}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match="browser"):
            load_config(path)


def test_a_text_mode_browser_is_recognised_and_the_link_stays_one_argument() -> None:
    from tui.ui.screens.links import command_line, is_text_mode

    url = "https://example.com/a?b=1&c=$(id) d"
    assert command_line(["w3m", "%u"], url, "%u") == ["w3m", url]
    assert command_line(["/usr/bin/lynx", "-accept_all_cookies"], url, "%u") == ["/usr/bin/lynx",
                                                                                 "-accept_all_cookies", url]
    assert is_text_mode(["/usr/bin/lynx", url]) and is_text_mode(["w3m", url])
    assert not is_text_mode(["firefox", url])


# ------------------------------------------------------------------ untitled articles
async def test_untitled_articles_show_the_start_of_their_text_marked(tmp_path: Path) -> None:
    from tests.helpers import shared_path
    from tui.feeds.parse import parse_feed

    data = shared_path("corpus", "rss2", "rsparser__scriptingNews.rss").read_bytes()
    url = "http://127.0.0.1:9/scripting.xml"
    parsed = parse_feed(data, url=url)
    untitled_count = sum(1 for a in parsed.articles if not a.title.strip())
    store = Store.open(tmp_path / "cache")
    try:
        feed_id = store.ensure_feeds([url])[url]
        store.save_fetch(feed_id, FetchResult("ok", url), parsed)
        rows = store.rows(store.article_ids(feed_ids=[feed_id]))
    finally:
        store.close()
    assert untitled_count >= 30 and sum(1 for r in rows if not r.title) == untitled_count
    first = next(i for i, r in enumerate(rows) if not r.title)
    config = Config(path=None, feeds=[FeedConfig(url=url)])
    app = DocbaoApp(config, tmp_path / "cache")
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, f"feed:{feed_id}")
        _, articles, reader = panes(app)
        shown = lines(articles)
        assert not any("(no title" in line for line in shown)
        assert shown[first].split("  ")[-1].lstrip().startswith("… ")
        titled = next(i for i, r in enumerate(rows) if r.title)
        assert not shown[titled].split("  ")[-1].lstrip().startswith("… ")
        await pilot.press("enter", *["j"] * first, "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        header = reader.text.splitlines()[0]
        assert header.startswith("… ") and len(header) > 20
        body = " ".join(reader.text.split())
        assert " ".join(header[2:].rstrip("…").split()) in body  # the start of the text, as the text says it


# ------------------------------------------------------------------------ small things
def test_short_list_dates_keep_the_year_of_older_articles() -> None:
    import time

    from tui.ui.widgets.article_list import format_date

    now = int(time.time())
    this_year = time.strftime("%b %d", time.localtime(now))
    assert format_date(now, short=True) == this_year + " "
    nov_2015 = 1_447_286_400  # 2015-11-12 UTC
    assert format_date(nov_2015, short=True) == "2015-11"
    assert format_date(nov_2015) == "2015-11-12"
    assert len({len(format_date(t, short=True)) for t in (now, nov_2015, None)}) == 1


async def test_a_feed_all_ignored_says_why_it_is_empty(cache: UICache) -> None:
    cache.config.ignores = ['"plain news"']
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await go_to_feed(pilot, app, feed_key(cache, PLAIN))
        _, articles, _ = panes(app)
        assert articles.ids == []
        text = " ".join(" ".join(lines(articles)).split())
        assert "2 are hidden by the [[ignore]] rules" in text
        # what the killfile hides is not counted unread: the feed shows nothing to read
        feeds = app.screen.query_one(FeedList)
        plain = next(e for e in feeds.entries if e.key == feed_key(cache, PLAIN))
        assert plain.count == 0 and feeds.entries[0].count == 7  # All: 9 unread, 2 of them hidden
        assert "7 unread" in status(app)
        await go_to_feed(pilot, app, feed_key(cache, TECH, "Tech"))
        assert lines(articles)[0].strip() and "hidden" not in " ".join(lines(articles))
        await go_to_feed(pilot, app, feed_key(cache, VN, "Việt Nam"))  # not the one the cursor was on
        await go_to_feed(pilot, app, "ignored")
        assert sorted(articles.ids) == sorted(cache.articles[PLAIN])


async def test_mark_all_read_leaves_what_the_ignore_rules_hide(cache: UICache) -> None:
    """`A` on All marks the 7 unread articles the reader shows, not the 2 the [[ignore]]
    rules hide (the user never saw them; newsboat's ignore-article does the same)."""
    cache.config.ignores = ['"plain news"']
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await go_to_feed(pilot, app, "all")
        assert "7 unread" in status(app)
        await pilot.press("A")
        await settled(pilot)
        assert "0 unread" in status(app) and "Marked 7 articles read" in status(app), status(app)
        store = Store.open(cache.folder)
        try:
            assert [row.read for row in store.rows(cache.articles[PLAIN])] == [False, False]
        finally:
            store.close()


@pytest.mark.parametrize("size", [SIZE, (80, 24)], ids=["two-panes", "one-pane"])
async def test_s_and_m_in_an_empty_list_touch_no_article_out_of_sight(cache: UICache, size: tuple[int, int]) -> None:
    """In an empty list (Starred with nothing starred) `s` and `m` act on no article: under
    200 columns the article read last is not on screen beside the list."""
    store = Store.open(cache.folder)
    try:
        store.conn.execute("UPDATE articles SET starred = 0")
    finally:
        store.close()
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=size) as pilot:
        await go_to_feed(pilot, app, "all")
        await pilot.press("enter", "enter")  # the newest article read
        await laid_out(pilot)
        reading = app.screen.reading
        await pilot.press("escape")
        await go_to_feed(pilot, app, "starred")
        await pilot.press("enter", "s", "m")
        await pilot.pause()
        assert panes(app)[1].ids == []
        store = Store.open(cache.folder)
        try:
            [row] = store.rows([reading])
        finally:
            store.close()
        assert (row.starred, row.read) == (False, True)  # as it was


def many_feeds(folder: Path, count: int) -> tuple[Config, dict[str, int]]:
    urls = [f"http://127.0.0.1:9/site/feed-{n:02d}/atom.xml" for n in range(count)]
    store = Store.open(folder)
    try:
        ids = store.ensure_feeds(urls)
        for n, url in enumerate(urls[:3]):
            store.save_fetch(ids[url], FetchResult("ok", url), ParsedFeed(title=f"Feed {n}", articles=[
                ParsedArticle(guid="only", title=f"The only article of {n}", link=f"https://example.com/{n}",
                              published=1_590_000_000 + n, summary="<p>x</p>")]))
    finally:
        store.close()
    return Config(path=None, feeds=[FeedConfig(url=u) for u in urls]), ids


@pytest.mark.parametrize("size", [SIZE, (80, 24)])
async def test_restart_scrolls_the_feed_pane_to_the_restored_feed(tmp_path: Path, size: tuple[int, int]) -> None:
    config, ids = many_feeds(tmp_path / "cache", 240)  # the corpus's size: the last one is far below
    target = f"feed:{ids[config.feeds[235].url]}"
    app = DocbaoApp(config, tmp_path / "cache")
    async with app.run_test(size=size) as pilot:
        await go_to_feed(pilot, app, target)
        await pilot.press("enter", "Q")  # left in the article list (on 80 columns the feeds are hidden)
    again = DocbaoApp(config, tmp_path / "cache")
    async with again.run_test(size=size) as pilot:
        await pilot.pause()
        feeds, articles, _ = panes(again)
        assert again.focused is articles
        if feeds.display:  # beside the list, it shows the restored feed before any key
            top, height = round(feeds.scroll_y), feeds.scrollable_content_region.height
            assert top <= feeds.cursor < top + height, (top, feeds.cursor, height)
        await pilot.press("h")
        assert again.focused is feeds
        assert feeds.current is not None and feeds.current.key == target
        top, height = round(feeds.scroll_y), feeds.scrollable_content_region.height
        assert top <= feeds.cursor < top + height, (top, feeds.cursor, height)
        # never fetched, no title in feeds.toml: named by the telling end of the URL
        assert feeds.current.label == "127.0.0.1:9/…/feed-235/atom.xml"
        assert any(line.strip() == "127.0.0.1:9/…/feed-235/atom.xml" for line in lines(feeds))


async def test_next_unread_at_the_end_says_so_once(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, PLAIN))
        await pilot.press(*["n"] * 12)  # 9 unread articles, round the feed list, then none
        await laid_out(pilot)
        assert "No unread articles left." in status(app)
        assert "9 unread" not in status(app) and "0 unread" in status(app)
        assert not [n for n in app._notifications if "unread" in n.message]
        assert len(app.screen.query("Toast")) == 0


async def test_several_failed_feeds_make_one_small_toast(tmp_path: Path) -> None:
    config, ids = many_feeds(tmp_path / "cache", 5)  # 127.0.0.1:9 refuses every one
    app = DocbaoApp(config, tmp_path / "cache")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("R")
        await app.workers.wait_for_complete()
        await pilot.pause()
        failures = [n for n in app._notifications if n.severity == "error"]
        assert [n.title for n in failures] == ["Feeds not refreshed"]
        assert failures[0].message.startswith("5 feeds failed; they are marked ! in the feed list")
        assert "5 failed" in status(app)
        assert "3 unread · 3 articles" in status(app)


async def test_one_article_is_not_articles(tmp_path: Path) -> None:
    config, _ = many_feeds(tmp_path / "cache", 1)
    app = DocbaoApp(config, tmp_path / "cache")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "1 unread · 1 article " in status(app) + " "
        assert "1 articles" not in status(app)


async def test_a_search_that_cannot_be_read_keeps_what_was_typed(cache: UICache) -> None:
    from tui.ui.screens.prompts import TextPrompt
    from textual.widgets import Input

    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await burst(pilot, "slash", *'"unclosed phrase and more', "enter")
        assert isinstance(app.screen, TextPrompt)
        assert app.screen.query_one(Input).value == '"unclosed phrase and more'


async def test_long_code_lines_wrap_with_a_mark_at_a_space_or_bracket(tmp_path: Path) -> None:
    url = "http://127.0.0.1:9/code.xml"
    code = ("def a_function_with_a_rather_long_name(first_argument, second_argument, third_argument):\n"
            "    return first_argument")
    store = Store.open(tmp_path / "cache")
    try:
        feed_id = store.ensure_feeds([url])[url]
        store.save_fetch(feed_id, FetchResult("ok", url), ParsedFeed(title="Code", articles=[
            ParsedArticle(guid="c", title="Some code", link="https://example.com/c", published=1_590_000_000,
                          summary=f"<p>Before.</p><pre>{code}</pre><p>After the code.</p>")]))
    finally:
        store.close()
    app = DocbaoApp(Config(path=None, feeds=[FeedConfig(url=url)]), tmp_path / "cache")
    async with app.run_test(size=(80, 24)) as pilot:
        await go_to_feed(pilot, app, f"feed:{feed_id}")
        await pilot.press("enter", "enter")
        await laid_out(pilot)
        _, _, reader = panes(app)
        shown = [line.rstrip() for line in reader.text.splitlines()]
        start = next(i for i, line in enumerate(shown) if "a_function_with" in line)
        assert shown[start].endswith("def a_function_with_a_rather_long_name(first_argument, second_argument,")
        assert shown[start + 1].strip() == "↪ third_argument):"  # the end of the line can be read
        assert shown[start + 2].strip() == "return first_argument"
        assert "After the code." in " ".join(shown)


@pytest.mark.parametrize("tmux", [False, True])
async def test_y_copies_the_link_and_says_what_tmux_needs_to_let_it_through(
        cache: UICache, tmux: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """The link goes to the terminal's clipboard (OSC 52), which tmux drops unless told to
    take it: inside tmux the notice says how."""
    if tmux:
        monkeypatch.setenv("TMUX", "/tmp/tmux-1000/default,1,0")
    else:
        monkeypatch.delenv("TMUX", raising=False)
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, "all")
        await pilot.press("enter", "y")
        await pilot.pause()
        [copied] = [n.message for n in app._notifications if n.message.startswith("Copied ")]
        assert copied.startswith("Copied https://") and ("set -g set-clipboard on" in copied) == tmux


async def test_newsboat_keys_N_toggles_read_and_C_marks_every_feed_read_after_asking(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, TECH, "Tech"))
        await pilot.press("enter", "N")  # newsboat's toggle-read, as m
        await pilot.pause()
        assert "8 unread" in status(app)
        await pilot.press("C")  # from a feed's view: every feed, asked first even for a short list
        assert isinstance(app.screen, Confirm) and "Mark 8 articles of All read?" in app.screen.question
        await pilot.press("y")
        await settled(pilot)
        assert "0 unread" in status(app) and unread_count(cache.folder) == 0
