"""Reader mode in the UI (`t`): the full article fetched from a page served on 127.0.0.1,
shown in place of the feed's lead, kept in the cache; a page that cannot be had leaves
the feed's text on screen and says why."""

from __future__ import annotations

from pathlib import Path

from tests.pilot import SIZE, UICache, flat, go_to_feed, laid_out, panes, status
from tests.helpers import PAGES, body_paragraphs
from tui.ui.app import DocbaoApp
from tui.config import Config, FeedConfig
from tui.model import FetchResult, ParsedArticle, ParsedFeed
from tui.store.cache import Store

FEED = "http://127.0.0.1:9/lead-only.xml"
LEAD = "Ngày 23/5, đồng chí Phạm Minh Chính đã làm việc với Ban Thường vụ Tỉnh ủy."


def lead_only_cache(folder: Path, links: list[str], lead: str = f"<p>{LEAD}</p>") -> UICache:
    """One feed whose items carry only a one-line lead, each linking to `links`."""
    config = Config(path=None, feeds=[FeedConfig(url=FEED, title="Lead only")])
    store = Store.open(folder)
    try:
        ids = store.ensure_feeds([FEED])
        articles = [ParsedArticle(guid=f"g{n}", title=f"Bài {n}", link=link, summary=lead,
                                  published=1_590_243_720 - n * 3600) for n, link in enumerate(links)]
        store.save_fetch(ids[FEED], FetchResult("ok", FEED), ParsedFeed(title="Lead only", articles=articles))
        stored = store.article_ids()
    finally:
        store.close()
    return UICache(folder, config, ids, {FEED: stored})


def seed_server(server, delay: float = 0.0) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    page = server.route("/bai-viet.html", (PAGES / "seed-page.html").read_bytes(),
                        content_type="text/html; charset=utf-8", delay=delay)
    return page, server.url("/missing.html")


async def test_t_fetches_the_full_article_and_back(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    page, _ = seed_server(server, delay=1.0)  # slow enough to see the status line say so
    cache = lead_only_cache(tmp_path / "cache", [page])
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, f"feed:{cache.feed_ids[FEED]}")
        _, _, reader = panes(app)
        await pilot.press("enter", "enter")
        await laid_out(pilot)
        assert LEAD in flat(reader.text) and "Thu Hiền" not in reader.text
        await pilot.press("t")
        assert "fetching the full article" in status(app)
        await app.workers.wait_for_complete()
        await laid_out(pilot)
        assert "fetching" not in status(app)
        assert "Thu Hiền" in reader.text
        shown = flat(reader.text)
        for paragraph in body_paragraphs():
            assert flat(paragraph) in shown
        assert "Hotline" not in shown
        assert str(reader.border_subtitle) == "full article"
        await pilot.press("t")  # back to the feed's text, without asking the server again
        await laid_out(pilot)
        assert LEAD in flat(reader.text) and flat(body_paragraphs()[0]) not in flat(reader.text)
        assert "Thu Hiền" in reader.text  # the author the page named is kept for the feed's text too
        await pilot.press("t")
        await laid_out(pilot)
        assert flat(body_paragraphs()[0]) in flat(reader.text)
        assert len(server.hits("/bai-viet.html")) == 1


async def test_t_in_the_list_opens_the_article_under_the_cursor_as_its_full_article(  # type: ignore[no-untyped-def]
        tmp_path: Path, server) -> None:
    """Back in the list after reading one article, `t` is for the article under the cursor:
    it opens, as its full article; the page of the one read before is never asked for."""
    page, missing = seed_server(server)
    cache = lead_only_cache(tmp_path / "cache", [missing, page])
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, f"feed:{cache.feed_ids[FEED]}")
        _, _, reader = panes(app)
        await pilot.press("enter", "enter")  # Bài 0
        await laid_out(pilot)
        await pilot.press("q", "j", "t")  # back to the list, down to Bài 1, t
        assert app.screen.reading == cache.articles[FEED][1]
        await app.workers.wait_for_complete()
        await laid_out(pilot)
        assert "Thu Hiền" in reader.text and str(reader.border_subtitle) == "full article"
        assert reader.has_focus and "Bài 1" in reader.text
        assert len(server.hits("/bai-viet.html")) == 1 and not server.hits("/missing.html")


async def test_a_cached_full_article_opens_first_when_the_feed_text_is_short(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    page, _ = seed_server(server)
    cache = lead_only_cache(tmp_path / "cache", [page])
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, f"feed:{cache.feed_ids[FEED]}")
        await pilot.press("enter", "enter", "t")
        await app.workers.wait_for_complete()
    app = DocbaoApp(cache.config, cache.folder)  # a new session: the copy comes from the cache
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, f"feed:{cache.feed_ids[FEED]}")
        _, _, reader = panes(app)
        await pilot.press("enter", "enter")
        await laid_out(pilot)
        assert flat(body_paragraphs()[0]) in flat(reader.text) and LEAD not in flat(reader.text)
        await pilot.press("t")
        await laid_out(pilot)
        assert LEAD in flat(reader.text) and flat(body_paragraphs()[0]) not in flat(reader.text)
    assert len(server.hits("/bai-viet.html")) == 1


async def test_a_page_that_cannot_be_fetched_keeps_the_feed_text(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    _, missing = seed_server(server)
    cache = lead_only_cache(tmp_path / "cache", [missing])
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, f"feed:{cache.feed_ids[FEED]}")
        _, _, reader = panes(app)
        await pilot.press("enter", "enter", "t")
        await app.workers.wait_for_complete()
        await laid_out(pilot)
        assert len(server.hits("/missing.html")) == 1
        assert LEAD in flat(reader.text)
        assert reader.article_id == cache.articles[FEED][0]
        messages = [n.message for n in app._notifications]
        assert any(m.startswith("No full article:") and "404" in m for m in messages), messages
        assert "fetching" not in status(app)


async def test_an_article_without_text_says_where_its_text_is(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    """A feed item with a title and a link only (many scientific and video feeds): the
    reader says so and names the keys that get the text, rather than showing nothing."""
    page, missing = seed_server(server)
    cache = lead_only_cache(tmp_path / "cache", [page, missing, ""], lead="")
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, f"feed:{cache.feed_ids[FEED]}")
        _, _, reader = panes(app)
        await pilot.press("enter", "enter")
        await laid_out(pilot)
        assert ("The feed gives no text for this article. Press t for the full article from its page, or o to open"
                " it in the browser.") in flat(reader.text)
        await pilot.press("t")
        await app.workers.wait_for_complete()
        await laid_out(pilot)
        assert flat(body_paragraphs()[0]) in flat(reader.text) and "no text" not in reader.text
        await pilot.press("escape", "j", "enter")
        await laid_out(pilot)
        assert "The feed gives no text for this article." in flat(reader.text)
        await pilot.press("escape", "j", "enter")  # no link at all: no key to offer
        await laid_out(pilot)
        assert flat(reader.text).endswith("The feed gives no text for this article.")


async def test_t_without_an_open_article_says_so(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    page, _ = seed_server(server)
    cache = lead_only_cache(tmp_path / "cache", [page])
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("t")
        assert any("Open an article first" in n.message for n in app._notifications)
        assert not server.hits("/bai-viet.html")


async def test_reader_mode_says_so_when_the_cache_cannot_be_opened(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    """fetch_one opens the cache on its own connection; when that fails, the worker's
    failure is told, and the feed's text stays."""
    page, _ = seed_server(server)
    cache = lead_only_cache(tmp_path / "cache", [page])
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, f"feed:{cache.feed_ids[FEED]}")
        _, _, reader = panes(app)
        await pilot.press("enter", "enter")
        await laid_out(pilot)
        cache.folder.rename(tmp_path / "moved")  # the reader keeps its open connection
        cache.folder.write_text("not a folder")
        await pilot.press("t")
        await app.workers.wait_for_complete()
        await laid_out(pilot)
        failures = [n.message for n in app._notifications if n.message.startswith("No full article:")]
        assert failures and "cache" in failures[0].lower(), [n.message for n in app._notifications]
        assert "fetching" not in status(app)
        assert LEAD in flat(reader.text)
        assert not server.hits("/bai-viet.html")
