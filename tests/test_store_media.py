"""Media in the cache: the schema 2 migration keeps an old cache whole, a refresh mends
what the old parser stored empty or wrong, and enclosures, durations and the lead image
are saved and read back."""

from __future__ import annotations

import shutil
from pathlib import Path

from tui.feeds.parse import parse_feed
from tui.model import Enclosure, FetchResult, ParsedArticle, ParsedFeed
from tui.store.cache import SCHEMA_VERSION, Store

OLD_CACHE = Path(__file__).parent / "data" / "cache-v1"
YOUTUBE = "https://www.youtube.com/feeds/videos.xml?channel_id=UC7_gcs09iThXybpVgjHZ_7g"
TECH = "https://tech.example/feed"
PLAIN = "https://plain.example/rss"


def _old_cache(tmp_path: Path) -> Path:
    folder = tmp_path / "cache"
    folder.mkdir()
    shutil.copy(OLD_CACHE / "docbao.db", folder / "docbao.db")
    return folder


def _state(store: Store) -> dict[str, tuple[int, bool, bool]]:
    return {guid: (article_id, bool(read), bool(starred)) for guid, article_id, read, starred in
            store.conn.execute("SELECT guid, id, read, starred FROM articles")}


def test_an_old_cache_keeps_everything_through_the_migration(tmp_path: Path) -> None:
    folder = _old_cache(tmp_path)
    import sqlite3

    with sqlite3.connect(folder / "docbao.db") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        before = conn.execute("SELECT id, guid, title, content, read, starred FROM articles ORDER BY id").fetchall()
        feeds_before = conn.execute("SELECT id, url, unread, total FROM feeds ORDER BY id").fetchall()
    store = Store.open(folder)
    try:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        after = store.conn.execute("SELECT id, guid, title, content, read, starred FROM articles ORDER BY id").fetchall()
        assert after == before
        assert store.conn.execute("SELECT id, url, unread, total FROM feeds ORDER BY id").fetchall() == feeds_before
        assert all(store.article(row[0]).image == "" for row in after)  # type: ignore[union-attr]
    finally:
        store.close()


def test_a_refresh_mends_what_the_old_parser_stored_empty_or_wrong(tmp_path: Path) -> None:
    store = Store.open(_old_cache(tmp_path))
    try:
        ids = store.feed_ids([YOUTUBE, TECH])
        before = _state(store)
        video = store.conn.execute("SELECT id FROM articles WHERE feed_id = ?", (ids[YOUTUBE],)).fetchone()[0]
        assert store.article(video).content == ""  # type: ignore[union-attr]  # what the old parser kept

        youtube = parse_feed((OLD_CACHE / "feed-rs__atom_mediarss_youtube_1.xml").read_bytes(), url=YOUTUBE)
        stats = store.save_fetch(ids[YOUTUBE], FetchResult("ok", YOUTUBE), youtube)
        assert (stats.new, stats.updated) == (0, 1)
        tech = parse_feed((OLD_CACHE / "tech-notes.atom").read_bytes(), url=TECH)
        stats = store.save_fetch(ids[TECH], FetchResult("ok", TECH), tech)
        assert (stats.new, stats.updated) == (0, 2)

        assert _state(store) == before  # same ids, read and starred kept
        mended = store.article(video)
        assert mended is not None and "Weathered on PBS Terra" in mended.content
        assert mended.image == "https://i1.ytimg.com/vi/0A1ouV7iD8o/hqdefault.jpg"
        titles = {a.guid: a for a in (store.article(i) for i, _, _ in before.values()) if a}
        vec = titles["tag:tech.example,2024:vec"]
        assert vec.title == "Why Vec<T> is fast" and "<b>contiguous</b>" in vec.content
        assert titles["tag:tech.example,2024:blink"].title == "History of the <blink> tag"

        again = store.save_fetch(ids[TECH], FetchResult("ok", TECH), tech)
        assert (again.new, again.updated, again.unchanged) == (0, 0, 2)  # mended once, not at every refresh
    finally:
        store.close()


def test_articles_the_old_parser_read_right_are_left_alone(tmp_path: Path) -> None:
    """No mass rewrite after the upgrade: a body with a picture or an enclosure without a
    duration fingerprints as before."""
    store = Store.open(_old_cache(tmp_path))
    try:
        feed_id = store.feed_ids([PLAIN])[PLAIN]
        plain = parse_feed((OLD_CACHE / "plain.rss").read_bytes(), url=PLAIN)
        stats = store.save_fetch(feed_id, FetchResult("ok", PLAIN), plain)
        assert (stats.new, stats.updated, stats.unchanged) == (0, 0, 2)
    finally:
        store.close()


def test_enclosures_durations_and_the_lead_image_are_stored(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "cache")
    try:
        feed_id = store.ensure_feeds(["https://pod.example/feed"])["https://pod.example/feed"]
        article = ParsedArticle(
            guid="ep1", title="Episode 1", image="https://pod.example/ep1.jpg",
            enclosures=[Enclosure("https://pod.example/ep1.mp3", "audio/mpeg", 12345, 3723),
                        Enclosure("https://pod.example/ep1.pdf", "application/pdf")],
        )
        store.save_fetch(feed_id, FetchResult("ok", "https://pod.example/feed"), ParsedFeed(articles=[article]))
        (article_id,) = store.article_ids()
        stored = store.article(article_id)
        assert stored is not None and stored.image == "https://pod.example/ep1.jpg"
        assert stored.enclosures == [
            {"url": "https://pod.example/ep1.mp3", "type": "audio/mpeg", "length": 12345, "duration": 3723},
            {"url": "https://pod.example/ep1.pdf", "type": "application/pdf", "length": None},
        ]
    finally:
        store.close()
