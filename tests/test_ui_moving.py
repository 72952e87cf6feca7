"""newsboat's moving keys in the reader: `N` marks an article and goes down the list (so
`N N N` marks a run)."""

from __future__ import annotations

from tests.pilot import (
    SIZE,
    TECH,
    UICache,
    feed_key,
    go_to_feed,
    laid_out,
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
