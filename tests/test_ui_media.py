"""The reader's article header shows an episode's media: each enclosure's kind, duration,
size and URL, and the lead image, as plain text whatever the feed put in them."""

from __future__ import annotations

from pathlib import Path

from tests.pilot import SIZE, UICache, flat, go_to_feed, laid_out, panes
from tui.config import Config, FeedConfig
from tui.model import Enclosure, FetchResult, ParsedArticle, ParsedFeed
from tui.store.cache import Store
from tui.ui.app import DocbaoApp

FEED = "http://127.0.0.1:9/podcast.xml"


def podcast_cache(folder: Path) -> UICache:
    config = Config(path=None, feeds=[FeedConfig(url=FEED, title="Radio")])
    store = Store.open(folder)
    try:
        ids = store.ensure_feeds([FEED])
        episode = ParsedArticle(
            guid="ep", title="Episode 1: Vec<T> [@click=app.quit]", link="https://pod.example/1",
            content="<p>Show notes.</p>", published=1_590_243_720, image="https://pod.example/[b]cover.jpg",
            enclosures=[Enclosure("https://cdn.pod.example/ep1.mp3", "audio/mpeg", 5_000_000, 3723),
                        Enclosure("https://cdn.pod.example/ep1.mp4", "video/mp4", None, 95)],
        )
        store.save_fetch(ids[FEED], FetchResult("ok", FEED), ParsedFeed(title="Radio", articles=[episode]))
        stored = store.article_ids()
    finally:
        store.close()
    return UICache(folder, config, ids, {FEED: stored})


async def test_the_article_header_shows_the_media(tmp_path: Path) -> None:
    cache = podcast_cache(tmp_path / "cache")
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, f"feed:{cache.feed_ids[FEED]}")
        _, _, reader = panes(app)
        await pilot.press("enter", "enter")
        await laid_out(pilot)
        shown = flat(reader.text)
        header = shown.split("Show notes.")[0]
        assert "Episode 1: Vec<T> [@click=app.quit]" in header
        assert "Audio · 1:02:03 · 4.8 MB · https://cdn.pod.example/ep1.mp3" in header
        assert "Video · 1:35 · https://cdn.pod.example/ep1.mp4" in header
        assert "Image · https://pod.example/[b]cover.jpg" in header
        assert app.is_running  # the title's "action" was text, not markup
