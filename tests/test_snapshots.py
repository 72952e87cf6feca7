"""SVG snapshots of the reading screens on the fixed cache, at 120x36 and 80x24.

Update after a reviewed change with `pytest tests/test_snapshots.py --snapshot-update` and
look at the SVGs (snapshot_report.html shows the differences when a snapshot fails).
"""

from __future__ import annotations

from tests.pilot import BROKEN, EVIL, VN, UICache, feed_key, go_to_feed, laid_out
from tui.ui.app import DocbaoApp

WIDE = (120, 36)
NARROW = (80, 24)


def test_first_screen_all_articles(snap_compare, cache: UICache) -> None:  # type: ignore[no-untyped-def]
    """Feeds with folders, counts and an error mark; "All" with the feed column."""
    assert snap_compare(DocbaoApp(cache.config, cache.folder), terminal_size=WIDE)


def test_vietnamese_article(snap_compare, cache: UICache) -> None:  # type: ignore[no-untyped-def]
    async def open_seed(pilot) -> None:  # type: ignore[no-untyped-def]
        await go_to_feed(pilot, pilot.app, feed_key(cache, VN, "Việt Nam"))
        await pilot.press("enter", "enter")
        await laid_out(pilot)

    assert snap_compare(DocbaoApp(cache.config, cache.folder), terminal_size=WIDE, run_before=open_seed)


def test_hostile_feed_and_article(snap_compare, cache: UICache) -> None:  # type: ignore[no-untyped-def]
    async def open_hostile(pilot) -> None:  # type: ignore[no-untyped-def]
        await go_to_feed(pilot, pilot.app, feed_key(cache, EVIL, "Tech"))
        await pilot.press("enter", "enter")
        await laid_out(pilot)

    assert snap_compare(DocbaoApp(cache.config, cache.folder), terminal_size=WIDE, run_before=open_hostile)


def test_feed_with_a_fetch_error(snap_compare, cache: UICache) -> None:  # type: ignore[no-untyped-def]
    async def select_broken(pilot) -> None:  # type: ignore[no-untyped-def]
        await go_to_feed(pilot, pilot.app, feed_key(cache, BROKEN))

    assert snap_compare(DocbaoApp(cache.config, cache.folder), terminal_size=WIDE, run_before=select_broken)


def test_help_screen(snap_compare, cache: UICache) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(DocbaoApp(cache.config, cache.folder), terminal_size=WIDE, press=["question_mark"])


def test_narrow_feeds(snap_compare, cache: UICache) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(DocbaoApp(cache.config, cache.folder), terminal_size=NARROW)


def test_narrow_articles(snap_compare, cache: UICache) -> None:  # type: ignore[no-untyped-def]
    async def open_feed(pilot) -> None:  # type: ignore[no-untyped-def]
        await go_to_feed(pilot, pilot.app, feed_key(cache, VN, "Việt Nam"))
        await pilot.press("enter")

    assert snap_compare(DocbaoApp(cache.config, cache.folder), terminal_size=NARROW, run_before=open_feed)


def test_narrow_vietnamese_article(snap_compare, cache: UICache) -> None:  # type: ignore[no-untyped-def]
    async def open_seed(pilot) -> None:  # type: ignore[no-untyped-def]
        await go_to_feed(pilot, pilot.app, feed_key(cache, VN, "Việt Nam"))
        await pilot.press("enter", "enter")
        await laid_out(pilot)

    assert snap_compare(DocbaoApp(cache.config, cache.folder), terminal_size=NARROW, run_before=open_seed)


def test_saved_searches_ignored_and_the_search_prompt(snap_compare, cache: UICache) -> None:  # type: ignore[no-untyped-def]
    """Saved searches and "Ignored" between Starred and the folders, counted after the first
    frame; the search prompt over the screen."""
    from tui.config import SavedSearch

    cache.config.searches = [SavedSearch("Thái Nguyên", "thai nguyen"), SavedSearch("Tech unread", "tag:Tech is:unread")]
    cache.config.ignores = ["terminal"]

    async def open_prompt(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("slash", *"lanh dao")

    assert snap_compare(DocbaoApp(cache.config, cache.folder), terminal_size=WIDE, run_before=open_prompt)


def test_feed_finder(snap_compare, cache: UICache) -> None:  # type: ignore[no-untyped-def]
    """`F` over the screen: the tag and the feed whose names hold "te", the tag first,
    where each feed is listed beside it, and how many of all match."""
    assert snap_compare(DocbaoApp(cache.config, cache.folder), terminal_size=WIDE, press=["F", "t", "e"])


def test_an_article_with_a_picture_in_half_blocks(snap_compare, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A picture kept in the cache, drawn in Unicode half-blocks above its alt text."""
    import io

    from PIL import Image

    from tests.test_ui_images import image_cache, images_settled, open_article
    from tui.store.cache import Store

    feed, photo = "http://127.0.0.1:9/pictures.xml", "http://127.0.0.1:9/flag.png"
    cache = image_cache(tmp_path / "cache", feed, f'<p>Before the picture.</p><p><img src="{photo}" alt="Four colours">'
                                                  "</p><p>After the picture.</p>")
    picture = Image.new("RGB", (160, 80), (220, 30, 30))
    picture.paste((30, 160, 60), (80, 0, 160, 40))
    picture.paste((40, 70, 220), (0, 40, 80, 80))
    picture.paste((240, 200, 40), (80, 40, 160, 80))
    data = io.BytesIO()
    picture.save(data, "PNG")
    store = Store.open(cache.folder)
    try:
        store.link_images(cache.articles[feed][0], [photo])
        store.save_image(photo, data.getvalue(), 160, 80, limit_bytes=1 << 30, now=1_590_228_000)
    finally:
        store.close()

    async def open_pictures(pilot) -> None:  # type: ignore[no-untyped-def]
        await open_article(pilot, pilot.app, cache, feed)
        await images_settled(pilot)

    assert snap_compare(DocbaoApp(cache.config, cache.folder), terminal_size=WIDE, run_before=open_pictures)


def test_read_hidden(snap_compare, cache: UICache) -> None:  # type: ignore[no-untyped-def]
    """`H`: the feeds with nothing unread (Broken Feed, the never fetched one) and the read
    articles (two of Tech Weekly's) left out; the status line says so."""
    assert snap_compare(DocbaoApp(cache.config, cache.folder), terminal_size=WIDE, press=["H"])
