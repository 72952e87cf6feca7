"""newsboat's moving keys in the reader: `N` marks an article and goes down the list (so
`N N N` marks a run), `J`/`K` go to the next or previous article (opening it when reading),
Ctrl+N/Ctrl+P to the next or previous feed with unread articles, and the command palette
(`:`) leaves Ctrl+P alone. Each can be remapped in [keys]."""

from __future__ import annotations

from textual.command import CommandPalette

from tests.pilot import (
    EVIL,
    PLAIN,
    SIZE,
    TECH,
    VN,
    UICache,
    build_ui_cache,
    feed_key,
    go_to_feed,
    laid_out,
    lines,
    panes,
    read_state,
    status,
)
from tests.test_ui_daily import burst
from tui.ui.app import DocbaoApp
from tui.ui.screens.main import MainScreen


def marks(cache: UICache, url: str) -> list[bool]:
    """Whether each article of the feed is read, newest first (as the list shows them)."""
    return [read_state(cache, article)[0] for article in cache.articles[url]]


async def test_N_N_N_marks_a_run_of_articles_and_m_leaves_the_cursor(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, TECH, "Tech"))
        await pilot.press("enter")  # the list; nothing opened
        _, articles, _ = panes(app)
        assert marks(cache, TECH) == [False, False, True, True]
        await burst(pilot, "N", "N", "N")  # as a newsboat user types it
        assert marks(cache, TECH) == [True, True, False, True]  # three articles, each toggled once
        assert articles.cursor == 3 and articles.current_id == cache.articles[TECH][3]
        await pilot.press("N")  # on the last line: toggled, and the cursor stays
        assert marks(cache, TECH) == [True, True, False, False]
        assert articles.cursor == 3
        await pilot.press("m", "m")  # docbao's m: the same article, back and forth
        assert marks(cache, TECH) == [True, True, False, False] and articles.cursor == 3
        await pilot.press("g", "m")
        assert marks(cache, TECH) == [False, True, False, False] and articles.cursor == 0
        assert app.screen.reading is None  # nothing was opened


async def test_N_in_an_open_article_marks_that_article_and_stays_on_it(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, TECH, "Tech"))
        await pilot.press("enter", "enter")  # the first article, read as it opens
        await laid_out(pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        first = cache.articles[TECH][0]
        assert screen.reading == first and marks(cache, TECH)[0]
        await pilot.press("N")
        assert marks(cache, TECH) == [False, False, True, True]  # unread again, the others untouched
        assert screen.reading == first and screen.pane == "reader"
        assert panes(app)[1].cursor == 0
        assert "Marked unread." in status(app)


async def test_J_and_K_open_the_next_and_previous_article_and_move_the_list_cursor(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, TECH, "Tech"))
        await pilot.press("enter", "enter")
        await laid_out(pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        ids = cache.articles[TECH]
        await burst(pilot, "J")
        assert screen.reading == ids[1] and screen.pane == "reader"
        assert marks(cache, TECH)[:2] == [True, True]  # opened, so read
        assert "Terminal UIs are back" in "\n".join(lines(panes(app)[2]))
        await burst(pilot, "J", "J", "J")  # read ones open too; the last one stays
        assert screen.reading == ids[3] and panes(app)[1].cursor == 3
        assert "No next article in this list." in status(app)
        await burst(pilot, "K")
        assert screen.reading == ids[2]
        assert "Reading feeds offline" in "\n".join(lines(panes(app)[2]))
        await pilot.press("q")  # the list: J and K move its cursor and open nothing
        await pilot.press("K", "K")
        assert panes(app)[1].cursor == 0 and screen.reading == ids[2] and screen.pane == "articles"
        await pilot.press("J")
        assert panes(app)[1].cursor == 1 and screen.reading == ids[2]


async def test_ctrl_n_and_ctrl_p_open_the_next_and_previous_feed_with_unread_articles(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, TECH, "Tech"))
        await pilot.press("enter", "m")  # Tech's first article read: its first unread is the second
        screen = app.screen
        assert isinstance(screen, MainScreen)
        feeds, articles, _ = panes(app)

        def where() -> tuple[str, int]:
            assert screen.entry is not None and feeds.current is not None
            assert feeds.current.key == screen.entry.key and screen.pane == "articles"
            return screen.entry.key, articles.cursor

        await burst(pilot, "ctrl+n")
        assert where() == (feed_key(cache, EVIL, "Tech"), 0)
        await burst(pilot, "ctrl+n")
        assert where() == (feed_key(cache, PLAIN), 0)  # Broken and never fetched: nothing unread
        await burst(pilot, "ctrl+n")  # round from the top: the first folder holding a feed with unread ones
        assert where() == (feed_key(cache, VN, "Việt Nam"), 0)
        await burst(pilot, "ctrl+n")  # the same feed in its second folder is not another feed
        assert where() == (feed_key(cache, TECH, "Tech"), 1)  # on its first unread article
        await burst(pilot, "ctrl+p")
        assert not isinstance(app.screen, CommandPalette)  # Ctrl+P is the reader's, not the palette's
        assert where() == (feed_key(cache, VN, "Tin tức"), 0)
        await burst(pilot, "ctrl+p")  # past the same feed in its first folder, round from the bottom
        assert where() == (feed_key(cache, PLAIN), 0)
        await pilot.press("enter")  # the keys after Ctrl+P still reach the reader
        await laid_out(pilot)
        assert screen.reading == cache.articles[PLAIN][0]
        await burst(pilot, "ctrl+n")  # from an open article too: the next feed's list
        assert where() == (feed_key(cache, VN, "Việt Nam"), 0)


async def test_ctrl_n_says_so_when_no_other_feed_has_unread_articles(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, PLAIN))
        await pilot.press("C", "y")  # every article read
        await pilot.press("enter", "m")  # but one
        await burst(pilot, "ctrl+n")
        screen = app.screen
        assert isinstance(screen, MainScreen) and screen.entry is not None
        assert screen.entry.key == feed_key(cache, PLAIN)
        assert "No other feed has unread articles." in status(app)


async def test_the_new_keys_are_remapped_from_the_config(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cache = build_ui_cache(tmp_path / "cache", keys={"next_article": "x", "previous_feed": "X",
                                                     "toggle_read_next": "M", "command_palette": "ctrl+k"})
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        assert app.warnings == []
        await go_to_feed(pilot, app, feed_key(cache, TECH, "Tech"))
        await pilot.press("enter", "M")
        assert marks(cache, TECH)[0] and panes(app)[1].cursor == 1
        await pilot.press("enter")
        await laid_out(pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        await pilot.press("J")  # no longer the key
        assert screen.reading == cache.articles[TECH][1]
        await burst(pilot, "x")
        assert screen.reading == cache.articles[TECH][2]
        await burst(pilot, "X")
        assert screen.entry is not None and screen.entry.key == feed_key(cache, VN, "Tin tức")
        await pilot.press("ctrl+k")
        assert isinstance(app.screen, CommandPalette)


async def test_colon_opens_the_command_palette(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        assert not isinstance(app.screen, CommandPalette)
        await pilot.press("colon")
        assert isinstance(app.screen, CommandPalette)
