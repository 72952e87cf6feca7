"""Start-up does only what the first screen needs: the network and parsing stack (httpx,
feedparser, trafilatura) is not imported before the first frame, and the article renderer
only once the reader can look at something."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pilot import HOUR, NEVER, SIZE, T0, build_ui_cache, laid_out, panes, read_state, status
from tui.model import FetchResult, ParsedArticle, ParsedFeed
from tui.store.cache import Store
from tui.ui.app import DocbaoApp
from tui.ui.views import PAGE as FIRST_PAGE

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, sys
from pathlib import Path
sys.path.insert(0, {root!r})
from tests.pilot import build_ui_cache
import tui.ui.app

class Probe(tui.ui.app.DocbaoApp):
    CSS_PATH = str(Path(tui.ui.app.__file__).parent / "docbao.tcss")

    def on_ready(self) -> None:  # the first frame is on screen
        from tui.ui.widgets.feed_list import FeedList
        feeds = self.screen.query_one(FeedList)
        lines = [feeds.render_line(y).text.strip() for y in range(3)]
        loaded = sorted(m for m in ("httpx", "feedparser", "trafilatura", "tui.feeds.fetch", "tui.feeds.parse",
                                    "tui.feeds.refresh", "tui.content.render") if m in sys.modules)
        print(json.dumps({{"lines": lines, "loaded": loaded}}), flush=True)
        self.exit(0)

cache = build_ui_cache(Path({cache!r}))
Probe(cache.config, cache.folder).run(headless=True, size={size!r})
"""


@pytest.mark.parametrize("size", [(120, 36), (80, 24)])  # wide, and narrow: one pane at a time
def test_first_frame_needs_no_network_or_parsing_stack(tmp_path: Path, size: tuple[int, int]) -> None:
    code = PROBE.format(root=str(ROOT), cache=str(tmp_path / "cache"), size=size)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["lines"][0].split() == ["All", "9"]  # the counts are on the first frame
    assert report["loaded"] == []


async def test_a_long_view_opens_on_its_first_page_and_comes_back_to_where_the_reader_was(tmp_path: Path) -> None:
    """All holds more than a page: its first page is shown at once and its ids are read in
    a thread; then the article selected and open when the reader quit is back, scrolled
    into view, and the list holds every article."""
    cache = build_ui_cache(tmp_path / "cache")
    many = [ParsedArticle(guid=f"n-{n}", link=f"https://example.com/n/{n}", title=f"Archive entry {n}",
                          author="", published=T0 - (100 + n) * HOUR, summary=f"<p>Entry {n}.</p>")
            for n in range(FIRST_PAGE + 100)]
    store = Store.open(cache.folder)
    try:
        store.save_fetch(cache.feed_ids[NEVER], FetchResult("ok", NEVER), ParsedFeed(title="Archive", articles=many),
                         now=T0)
        every = store.article_ids()
        chosen = every[FIRST_PAGE + 50]  # not on the first page
        store.set_state({"ui.view": "all", "ui.article": str(chosen), "ui.open": str(chosen), "ui.pane": "reader"})
    finally:
        store.close()

    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete([w for w in app.workers if w.group == "view"])
        await pilot.pause()
        await laid_out(pilot)
        _, articles, reader = panes(app)
        assert list(articles.ids) == every
        assert articles.current_id == chosen and reader.article_id == chosen and app.focused is reader
        assert f"{len(every):,} in view" in status(app)
        await pilot.press("h", "G")
        assert articles.current_id == every[-1]


async def test_the_article_left_open_and_marked_unread_comes_back_unread(tmp_path: Path) -> None:
    """`m` on the article being read, then quit: at the next start the article is open
    again, and still unread."""
    cache = build_ui_cache(tmp_path / "cache")
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l", "l")  # All, its newest article
        await laid_out(pilot)
        _, articles, reader = panes(app)
        chosen = reader.article_id
        assert chosen is not None and read_state(cache, chosen)[0]
        unread = status(app)
        await pilot.press("m")  # keep it for later
        await pilot.pause()
        assert not read_state(cache, chosen)[0]
        kept = status(app)
        assert kept != unread
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await laid_out(pilot)
        _, articles, reader = panes(app)
        assert reader.article_id == chosen and articles.current_id == chosen
        assert not read_state(cache, chosen)[0]
        assert status(app).split("·")[0] == kept.split("·")[0]  # the unread count as it was


async def test_the_article_selected_last_time_comes_back_in_the_middle_of_the_list(tmp_path: Path) -> None:
    """It was scrolled into view before the list had a height, so the next layout put it
    on the last row, under 30 other lines."""
    from tests.pilot import go_to_feed, long_feed_cache

    config, feed_id = long_feed_cache(tmp_path / "cache", 300)
    app = DocbaoApp(config, tmp_path / "cache")
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, f"feed:{feed_id}")
        await pilot.press("enter", *["j"] * 150)
        await laid_out(pilot)
        _, articles, _ = panes(app)
        chosen = articles.current_id
    app = DocbaoApp(config, tmp_path / "cache")
    async with app.run_test(size=SIZE) as pilot:
        await laid_out(pilot)
        _, articles, _ = panes(app)
        assert articles.current_id == chosen
        height = articles.scrollable_content_region.height
        row = articles.cursor - round(articles.scroll_y)  # the cursor's line on screen
        assert abs(row - height // 2) <= 1, (row, height)
