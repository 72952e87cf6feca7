"""Images of articles: checked by their bytes (a bomb, an SVG, a page called image/png are
refused with a reason), fetched with the refresh's rules from a server on 127.0.0.1, kept
in the cache (evicted least recently shown first, pruned with their articles), and fetched
by a `full_text` refresh with the articles it keeps."""

from __future__ import annotations

import asyncio
import io
import struct
import zlib
from pathlib import Path

from PIL import Image

from tests.server import LocalServer
from tui.config import Config, FeedConfig, Settings
from tui.feeds import fetch as fetch_module
from tui.feeds.images import MAX_PIXELS, MAX_SIDE, Picture, Refusal, check_image, fetch_images
from tui.feeds.refresh import refresh
from tui.model import FetchResult, ParsedArticle, ParsedFeed
from tui.store.cache import Store

SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'


def png(width: int = 40, height: int = 20, colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


def noise_png(side: int) -> bytes:
    """A PNG that does not compress: random pixels."""
    import os

    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "PNG")
    return out.getvalue()


def bomb_png(side: int = 30_000) -> bytes:
    """A few hundred bytes claiming side × side pixels: its rows would inflate to gigabytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = zlib.compress(b"\x00" * (side + 1) * 64, 9)  # the first rows; the rest never read
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


def test_a_png_a_jpeg_and_a_gif_are_pictures_whatever_the_server_called_them() -> None:
    for fmt in ("PNG", "JPEG", "GIF", "WEBP"):
        out = io.BytesIO()
        Image.new("RGB", (30, 20), (10, 200, 10)).save(out, fmt)
        picture = check_image(out.getvalue(), "text/html")
        assert isinstance(picture, Picture), (fmt, picture)
        assert (picture.width, picture.height) == (30, 20)


def test_a_decompression_bomb_is_refused_from_its_header() -> None:
    data = bomb_png(8_000)
    assert len(data) < 2000
    assert check_image(data, "image/png") == f"too many pixels (8000 × 8000; at most {MAX_PIXELS // 1_000_000} million)"
    # Pillow refuses the biggest claims itself, as it reads the header
    assert check_image(bomb_png(30_000), "image/png") == f"too many pixels (at most {MAX_PIXELS // 1_000_000} million)"


def test_an_svg_a_page_and_a_damaged_png_are_refused_with_a_reason() -> None:
    assert check_image(SVG, "image/svg+xml") == "SVG images are not drawn (only PNG, JPEG, GIF and WebP)"
    assert check_image(b"<html><body>Not found</body></html>", "image/png") == \
        "not an image the reader draws (the server said image/png)"
    damaged = check_image(png()[:60], "image/png")
    assert isinstance(damaged, str) and damaged.startswith("a damaged PNG image")


def test_a_big_picture_is_kept_scaled_down() -> None:
    picture = check_image(png(4000, 1000), "image/png")
    assert isinstance(picture, Picture)
    assert (picture.width, picture.height) == (MAX_SIDE, MAX_SIDE // 4)
    with Image.open(io.BytesIO(picture.data)) as image:
        assert image.size == (MAX_SIDE, MAX_SIDE // 4)


def _outcomes(server: LocalServer, paths: list[str], *, origin: str, settings: Settings | None = None
              ) -> dict[str, Picture | Refusal]:
    config = Config(path=None, settings=settings or Settings())
    found: dict[str, Picture | Refusal] = {}

    async def keep(url: str, outcome: Picture | Refusal) -> None:
        found[url.rsplit("/", 1)[1]] = outcome

    async def run() -> None:
        async with fetch_module.make_client(4) as client:
            await fetch_images([(server.url("/" + p), origin) for p in paths], client=client, config=config, keep=keep)

    asyncio.run(run())
    return found


def test_images_are_fetched_by_the_refresh_rules_and_sniffed() -> None:
    with LocalServer() as server:
        server.route("/ok.png", png(), content_type="text/plain")  # a PNG by its bytes
        server.route("/page.png", b"<html>nope</html>", content_type="image/png")
        server.route("/draw.svg", SVG, content_type="image/svg+xml")
        server.route("/bomb.png", bomb_png(), content_type="image/png")
        server.route("/huge.png", noise_png(300), content_type="image/png")
        server.route("/gone.png", b"", status=404, content_type="text/plain")
        server.route("/hop.png", b"", status=302, headers={"Location": "file:///etc/passwd"})
        found = _outcomes(server, ["ok.png", "page.png", "draw.svg", "bomb.png", "huge.png", "gone.png", "hop.png"],
                          origin=server.url("/feed.xml"), settings=Settings(max_feed_mb=0.1))
    assert isinstance(found["ok.png"], Picture)
    assert found["page.png"] == Refusal("not an image the reader draws (the server said image/png)", True)
    assert found["draw.svg"] == Refusal("SVG images are not drawn (only PNG, JPEG, GIF and WebP)", True)
    assert found["bomb.png"] == Refusal(f"too many pixels (at most {MAX_PIXELS // 1_000_000} million)", True)
    huge = found["huge.png"]
    assert isinstance(huge, Refusal) and huge.lasting and huge.message.startswith("response larger than")
    assert found["gone.png"] == Refusal("HTTP 404 Not Found", False)  # tried again another time
    assert found["hop.png"] == Refusal("redirect to a non-http(s) URL refused", False)


def test_an_image_of_a_public_feed_may_not_point_at_a_private_address(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    async def resolve(host: str) -> list[str]:
        return {"news.example": ["93.184.216.34"]}.get(host, ["127.0.0.1"])

    monkeypatch.setattr(fetch_module, "_resolve", resolve)
    with LocalServer() as server:
        server.route("/ok.png", png(), content_type="image/png")
        found = _outcomes(server, ["ok.png"], origin="https://news.example/feed.xml")
        assert found["ok.png"] == Refusal("an image of a public feed on a private network address refused", True)
        assert server.hits("/ok.png") == []
        # the same image in a feed of this machine is fetched
        assert isinstance(_outcomes(server, ["ok.png"], origin=server.url("/feed.xml"))["ok.png"], Picture)


def test_a_name_that_never_resolves_fails_its_image_within_the_deadline(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The address checks look names up before the fetch: a resolver that never answers (a
    machine without network) fails the picture when the fetch deadline passes, and gives its
    place back to the next image (it held the picture "loading", and the place, for ever)."""
    async def resolve(host: str) -> list[str]:
        await asyncio.Event().wait()  # no answer, ever
        return []

    monkeypatch.setattr(fetch_module, "_resolve", resolve)
    config = Config(path=None, settings=Settings(timeout=1))
    found: dict[str, Picture | Refusal] = {}

    async def keep(url: str, outcome: Picture | Refusal) -> None:
        found[url.rsplit("/", 1)[1]] = outcome

    with LocalServer() as server:
        server.route("/ok.png", png(), content_type="image/png")

        async def run() -> None:
            async with fetch_module.make_client(4) as client:
                await asyncio.wait_for(fetch_images(
                    [("https://pics.example/lost.png", "https://news.example/feed.xml"),
                     (server.url("/ok.png"), server.url("/feed.xml"))],
                    client=client, config=config, keep=keep, limit=asyncio.Semaphore(1)), 10)

        asyncio.run(run())
    assert found["lost.png"] == Refusal("timed out after 1 s", False)  # tried again another time
    assert isinstance(found["ok.png"], Picture)


def _store_with_article(folder: Path, feed: str, html: str, guid: str = "a") -> tuple[Store, int]:
    store = Store.open(folder)
    ids = store.ensure_feeds([feed])
    store.save_fetch(ids[feed], FetchResult("ok", feed),
                     ParsedFeed(title="Pics", articles=[ParsedArticle(guid=guid, title="Pictures", link="https://example.com/a",
                                                                      summary=html, published=1_590_228_000)]))
    return store, store.article_ids()[0]


def test_the_store_evicts_the_least_recently_shown_and_prunes_with_the_articles(tmp_path: Path) -> None:
    store, article = _store_with_article(tmp_path, "http://127.0.0.1:9/f.xml", "<p>x</p>")
    try:
        urls = [f"http://127.0.0.1:9/{n}.png" for n in range(3)]
        store.link_images(article, urls)
        data = png()
        for number, url in enumerate(urls):
            store.save_image(url, data, 40, 20, limit_bytes=10 * len(data), now=100 + number)
        store.mark_images_shown([urls[0]], now=200)  # the first was looked at again: the second is oldest
        store.save_image(urls[2], data, 40, 20, limit_bytes=2 * len(data), now=300)
        rows = store.images(urls)
        assert rows[urls[1]].path is None  # evicted, to be fetched again when next shown
        assert rows[urls[0]].path is not None and rows[urls[0]].path.read_bytes() == data
        assert sorted(p.name for p in store.images_folder.iterdir()) == sorted(
            str(rows[u].id) for u in (urls[0], urls[2]))
        # the article goes (read, pruned): its images go with it, files and rows
        store.set_read([article])
        assert store.prune(keep_days=1, now=10**10) == 1
        assert store.images(urls) == {}
        assert list(store.images_folder.iterdir()) == []
    finally:
        store.close()


def test_a_full_text_refresh_keeps_the_images_of_the_articles_it_fetches(tmp_path: Path) -> None:
    with LocalServer() as server:
        page = (f'<html><body><article><h1>Story</h1><p>{"Words of the story. " * 40}</p>'
                f'<img src="/photo.png" alt="A photo"><p>{"More words here. " * 40}</p></article></body></html>')
        server.route("/story", page, content_type="text/html")
        server.route("/photo.png", png(60, 30), content_type="image/png")
        server.route("/inline.jpg", b"<html>not an image</html>", content_type="image/jpeg")
        item = (f"<item><guid>s1</guid><title>Story</title><link>{server.url('/story')}</link>"
                f"<description>&lt;img src=\"{server.url('/inline.jpg')}\"&gt; short</description></item>")
        feed = server.route("/feed.xml", f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{item}'
                                         "</channel></rss>", content_type="application/rss+xml")
        config = Config(path=None, feeds=[FeedConfig(url=feed, full_text=True)])
        report = asyncio.run(refresh(config, tmp_path))
        assert [p.ok for p in report.pages] == [True]
    store = Store.open(tmp_path)
    try:
        rows = store.images([server.url("/photo.png"), server.url("/inline.jpg")])
        photo = rows[server.url("/photo.png")]
        assert (photo.width, photo.height) == (60, 30) and photo.path is not None and photo.path.exists()
        assert rows[server.url("/inline.jpg")].error == "not an image the reader draws (the server said image/jpeg)"
    finally:
        store.close()
