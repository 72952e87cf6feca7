"""Images in the article view (half-blocks, as in a terminal Pilot cannot ask): drawn in
place above their alt text, refused ones (a bomb, a huge file, a page called image/png, an
SVG) with the reason in their place and the article still readable, the lead image on top
of a body without images, keys answering while a slow image loads, and everything shown
again from the cache with the server gone."""

from __future__ import annotations

import threading
from pathlib import Path

from tests.pilot import SIZE, UICache, go_to_feed, laid_out, lines, panes
from tests.server import LocalServer
from tests.test_images import SVG, bomb_png, noise_png, png
from tui.config import Config, FeedConfig, Settings
from tui.model import Enclosure, FetchResult, ParsedArticle, ParsedFeed
from tui.store.cache import Store
from tui.ui.app import DocbaoApp

HALF_BLOCK = "▀"


def image_cache(folder: Path, feed: str, body: str, *, image: str = "", enclosures: list[Enclosure] | None = None,
                settings: Settings | None = None) -> UICache:
    config = Config(path=None, feeds=[FeedConfig(url=feed, title="Pictures")], settings=settings or Settings())
    store = Store.open(folder)
    try:
        ids = store.ensure_feeds([feed])
        article = ParsedArticle(guid="p1", title="A day in pictures", link="https://example.com/p1", summary=body,
                                published=1_590_228_000, image=image, enclosures=enclosures or [])
        store.save_fetch(ids[feed], FetchResult("ok", feed), ParsedFeed(title="Pictures", articles=[article]))
        stored = store.article_ids()
    finally:
        store.close()
    return UICache(folder, config, ids, {feed: stored})


def pictures_cache(folder: Path, feed: str, bodies: list[str]) -> UICache:
    """A feed of one article for each body, listed in their order (the first is the newest)."""
    config = Config(path=None, feeds=[FeedConfig(url=feed, title="Pictures")], settings=Settings())
    store = Store.open(folder)
    try:
        ids = store.ensure_feeds([feed])
        articles = [ParsedArticle(guid=f"p{n}", title=f"Pictures {n}", link=f"https://example.com/p{n}", summary=body,
                                  published=1_590_228_000 - 3600 * n) for n, body in enumerate(bodies)]
        store.save_fetch(ids[feed], FetchResult("ok", feed), ParsedFeed(title="Pictures", articles=articles))
        stored = store.article_ids()
    finally:
        store.close()
    return UICache(folder, config, ids, {feed: stored})


def held(release: threading.Event, data: bytes):  # type: ignore[no-untyped-def]
    """A route that sends the picture only once `release` is set (a slow server)."""
    def answer(handler) -> None:  # type: ignore[no-untyped-def]
        release.wait(30)
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
    return answer


async def until(pilot, done, what: str) -> None:  # type: ignore[no-untyped-def]
    """Let the app run until `done()` holds (at most about 10 s)."""
    for _ in range(200):
        if done():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"never: {what}")


def picture_above(app: DocbaoApp, label: str) -> str:
    """The line drawn just above an image's label: its picture's last line, or why not."""
    text = shown(app)
    return text[text.index(label) - 1] if label in text else f"(no {label} on screen)"


async def open_article(pilot, app: DocbaoApp, cache: UICache, feed: str) -> None:  # type: ignore[no-untyped-def]
    await go_to_feed(pilot, app, f"feed:{cache.feed_ids[feed]}")
    await pilot.press("enter", "enter")
    await laid_out(pilot)


async def images_settled(pilot) -> None:  # type: ignore[no-untyped-def]
    """Wait for every image fetch and drawing asked for so far, and what they posted."""
    app = pilot.app
    for _ in range(3):  # a fetch starts a drawing when it ends
        loading = [w for w in app.workers if w.group.startswith("images")]
        if loading:
            await app.workers.wait_for_complete(loading)
        await pilot.pause()


def serve_pictures(server: LocalServer) -> str:
    server.route("/red.png", png(80, 40, (220, 20, 20)), content_type="image/png")
    server.route("/page.png", b"<html><body>Not found</body></html>", content_type="image/png")
    server.route("/plan.svg", SVG, content_type="image/svg+xml")
    server.route("/bomb.png", bomb_png(), content_type="image/png")
    server.route("/huge.png", noise_png(300), content_type="image/png")
    return (f'<p>The first paragraph.</p><p><img src="{server.url("/red.png")}" alt="A red square"></p>'
            f'<p>The second paragraph.</p><p><img src="{server.url("/page.png")}" alt="A missing photo"></p>'
            f'<p><img src="{server.url("/plan.svg")}" alt="A plan"></p><p><img src="{server.url("/bomb.png")}" alt="A bomb"></p>'
            f'<p><img src="{server.url("/huge.png")}" alt="A huge photo"></p><p>The last paragraph.</p>')


def shown(app: DocbaoApp) -> list[str]:
    _, _, reader = panes(app)
    return [line.strip() for line in lines(reader)]


async def read(cache: UICache, feed: str, size: tuple[int, int] = (120, 60)) -> list[str]:
    """The article's lines once its images have arrived, in a reader started afresh."""
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=size) as pilot:
        await open_article(pilot, app, cache, feed)
        await images_settled(pilot)
        return shown(app)


async def test_images_are_drawn_in_place_and_refused_ones_say_why(tmp_path: Path) -> None:
    with LocalServer() as server:
        feed = server.url("/feed.xml")
        cache = image_cache(tmp_path / "cache", feed, serve_pictures(server), settings=Settings(max_feed_mb=0.1))
        text = await read(cache, feed)
    # the 80 × 40 picture: 8 cells wide (never enlarged), 2 lines of half-blocks, the alt text beneath
    red = text.index("[image: A red square][1]")
    assert text[red - 2] == text[red - 1] == HALF_BLOCK * 8
    assert text[red - 4:red - 2] == ["The first paragraph.", ""]
    expected = [
        ("[image: A missing photo][2]", "✗ image not shown: not an image the reader draws (the server said image/png)"),
        ("[image: A plan][3]", "✗ image not shown: SVG images are not drawn (only PNG, JPEG, GIF and WebP)"),
        ("[image: A bomb][4]", "✗ image not shown: too many pixels (at most 40 million)"),
    ]
    for label, reason in expected:
        assert text[text.index(label) - 1] == reason
    huge = text.index("[image: A huge photo][5]")
    assert text[huge - 1].startswith("✗ image not shown: response larger than")
    for paragraph in ("The second paragraph.", "The last paragraph."):  # the article reads on
        assert paragraph in text
    assert sum(line.count(HALF_BLOCK) for line in text) == 16  # nothing else drawn as a picture

    # Offline: the server is gone; a new reader shows the picture and the reasons from the cache
    again = await read(cache, feed)
    red = again.index("[image: A red square][1]")
    assert again[red - 2] == again[red - 1] == HALF_BLOCK * 8
    for label, reason in expected:
        assert again[again.index(label) - 1] == reason


async def test_the_lead_image_tops_an_article_whose_body_has_none(tmp_path: Path) -> None:
    with LocalServer() as server:
        feed = server.url("/feed.xml")
        cover = server.route("/cover.png", png(40, 40, (20, 20, 220)), content_type="image/png")
        named = image_cache(tmp_path / "named", feed, "<p>Only words here.</p>", image=cover)
        enclosed = image_cache(tmp_path / "enclosed", feed, "<p>Only words here.</p>",
                               enclosures=[Enclosure(cover, "image/png", 1000)])
        for cache in (named, enclosed):  # the image the feed names, else an image enclosure
            text = await read(cache, feed, SIZE)
            top = text.index("[image]")
            assert text[top - 2] == text[top - 1] == HALF_BLOCK * 4  # 40 × 40 pixels: 4 cells, 2 lines
            assert text.index("Only words here.") > top
            assert any(line.startswith("Image · ") and line.endswith(cover) for line in text)  # the header names it


async def test_keys_answer_while_an_image_loads_and_it_holds_its_place(tmp_path: Path) -> None:
    with LocalServer() as server:
        feed = server.url("/feed.xml")
        release = threading.Event()  # the image is sent only once the keys have been pressed

        def slow(handler) -> None:  # type: ignore[no-untyped-def]
            release.wait(30)
            data = png()
            handler.send_response(200)
            handler.send_header("Content-Type", "image/png")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)

        server.route("/slow.png", raw=slow)
        body = ('<p><img src="' + server.url("/slow.png") + '" alt="Slow"></p>'
                + "".join(f"<p>Paragraph {n}.</p>" for n in range(60)))
        cache = image_cache(tmp_path / "cache", feed, body)
        app = DocbaoApp(cache.config, cache.folder)
        async with app.run_test(size=SIZE) as pilot:
            await open_article(pilot, app, cache, feed)
            _, _, reader = panes(app)
            for _ in range(100):  # the view asks for the image once the article is on screen
                fetching = [w for w in app.workers if w.group == "images-fetch"]
                if fetching:
                    break
                await pilot.pause()
            text = shown(app)
            assert text[text.index("[image: Slow][1]") - 1] == "◌ image loading…"
            assert fetching and all(w.is_running for w in fetching)
            await pilot.press("j", "j", "j", "space")  # down three lines, then a page
            await pilot.pause()
            assert reader.line > 3
            assert all(w.is_running for w in fetching)  # the keys did not wait for the image
            release.set()
            await images_settled(pilot)
            reader.scroll_to(y=0, animate=False, immediate=True)
            await pilot.pause()
            text = shown(app)
    assert text[text.index("[image: Slow][1]") - 1] == HALF_BLOCK * 4


async def test_images_off_leaves_the_labels_and_fetches_nothing(tmp_path: Path) -> None:
    with LocalServer() as server:
        feed = server.url("/feed.xml")
        body = serve_pictures(server)
        cache = image_cache(tmp_path / "cache", feed, body, settings=Settings(images="off"))
        text = await read(cache, feed)
        assert server.hits("/red.png") == []
    red = text.index("[image: A red square][1]")
    assert text[red - 2:red] == ["The first paragraph.", ""]
    assert not any(HALF_BLOCK in line or line.startswith("✗") for line in text)


def test_docbao_read_keeps_printing_the_labels(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from tui.cli.main import main

    photo = "http://127.0.0.1:9/photo.png"
    cache = image_cache(tmp_path / "cache", "http://127.0.0.1:9/f.xml",
                        f'<p>Words.</p><p><img src="{photo}" alt="A photo"></p>', image="http://127.0.0.1:9/cover.png")
    store = Store.open(cache.folder)
    try:  # the picture is in the cache, as after reading it in the reader
        store.link_images(cache.articles["http://127.0.0.1:9/f.xml"][0], [photo])
        store.save_image(photo, png(), 40, 20, limit_bytes=1 << 30)
    finally:
        store.close()
    config = tmp_path / "feeds.toml"
    config.write_text('[[feed]]\nurl = "http://127.0.0.1:9/f.xml"\n', encoding="utf-8")
    article = cache.articles["http://127.0.0.1:9/f.xml"][0]
    assert main(["read", str(article), "--config", str(config), "--cache", str(cache.folder), "--width", "80"]) == 0
    out = capsys.readouterr().out
    assert "Words.\n\n[image: A photo][1]\n" in out
    assert HALF_BLOCK not in out and "\n[image]\n" not in out  # no picture, no lead picture label


async def test_sixel_draws_the_lines_of_a_picture_that_are_on_screen(tmp_path: Path) -> None:
    """Each line of cells of a Sixel picture carries its own pixels: scrolled partly out of
    the pane, the picture still shows its lines that are in it, each at its own place."""
    photo = "http://127.0.0.1:9/tall.png"
    feed = "http://127.0.0.1:9/f.xml"
    cache = image_cache(tmp_path / "cache", feed, f'<p>Before.</p><p><img src="{photo}" alt="Tall"></p>'
                        + "".join(f"<p>After {n}.</p>" for n in range(40)))
    store = Store.open(cache.folder)
    try:
        store.link_images(cache.articles[feed][0], [photo])
        store.save_image(photo, png(100, 160), 100, 160, limit_bytes=1 << 30)  # 10 × 8 cells
    finally:
        store.close()
    app = DocbaoApp(cache.config, cache.folder, image_mode="sixel")
    async with app.run_test(size=SIZE) as pilot:
        await open_article(pilot, app, cache, feed)
        await images_settled(pilot)
        _, _, reader = panes(app)

        def sixel_rows() -> list[tuple[int, int]]:
            """(line on screen, the cursor line it moves to) of each Sixel drawn."""
            found = []
            for y in range(reader.scrollable_content_region.height):
                text = "".join(segment.text for segment in reader.render_line(y))
                if "\x1bP" in text:
                    move = text[text.index("\x1b["):text.index("\x1bP")]
                    found.append((y, int(move[2:].split(";")[0]) - 1 - reader.content_region.y))
            return found

        top = lines(reader).index(next(line for line in lines(reader) if line.strip().startswith("[image: Tall]"))) - 8
        whole = sixel_rows()
        assert whole == [(top + row, top + row) for row in range(8)]
        reader.scroll_to(y=top + 3, animate=False, immediate=True)  # the first 3 lines scrolled out
        await pilot.pause()
        assert sixel_rows() == [(row, row) for row in range(5)]


async def test_every_picture_of_a_paragraph_is_drawn_or_says_why(tmp_path: Path) -> None:
    """Pictures side by side in a paragraph have their labels on one line: each is drawn
    above them, in order (only the first was ever asked for; the others were never fetched
    and stood as labels)."""
    with LocalServer() as server:
        feed = server.url("/feed.xml")
        red = server.route("/red.png", png(40, 40, (220, 20, 20)), content_type="image/png")
        blue = server.route("/blue.png", png(60, 40, (20, 20, 220)), content_type="image/png")
        plan = server.route("/plan.svg", SVG, content_type="image/svg+xml")
        body = f'<p><img src="{red}?a" alt="first"><img src="{blue}?b" alt="second"><img src="{plan}" alt="third"></p>'
        text = await read(image_cache(tmp_path / "cache", feed, body), feed, SIZE)
        assert [len(server.hits(path)) for path in ("/red.png", "/blue.png", "/plan.svg")] == [1, 1, 1]
    labels = text.index("[image: first][1][image: second][2][image: third][3]")
    assert text[labels - 8:labels] == [
        "",
        HALF_BLOCK * 4, HALF_BLOCK * 4,  # 40 × 40 pixels: 4 cells, 2 lines
        "",
        HALF_BLOCK * 6, HALF_BLOCK * 6,  # 60 × 40 pixels
        "",
        "✗ image not shown: SVG images are not drawn (only PNG, JPEG, GIF and WebP)",
    ]


async def test_a_picture_left_while_it_loads_loads_when_its_article_is_back(tmp_path: Path) -> None:
    """Leaving an article while its picture is on its way (a slow server), for another one,
    the server answering meanwhile, and coming back: the picture is drawn (it stayed
    "loading" for the rest of the session: the answer was dropped, and the article, shown
    again from memory before its pane was on screen, asked for the pictures of a page of one
    line)."""
    with LocalServer() as server:
        feed = server.url("/feed.xml")
        release = threading.Event()
        server.route("/slow.png", raw=held(release, png(40, 40, (20, 160, 20))))
        fast = server.route("/fast.png", png(40, 40, (220, 20, 20)), content_type="image/png")
        words = "".join(f"<p>Paragraph {n}.</p>" for n in range(4))
        cache = pictures_cache(tmp_path / "cache", feed, [
            f'{words}<p><img src="{server.url("/slow.png")}" alt="Slow"></p>',
            f'{words}<p><img src="{fast}" alt="Fast"></p>'])
        app = DocbaoApp(cache.config, cache.folder)
        async with app.run_test(size=SIZE) as pilot:
            await open_article(pilot, app, cache, feed)
            await until(pilot, lambda: server.hits("/slow.png"), "the slow picture asked for")
            assert picture_above(app, "[image: Slow][1]") == "◌ image loading…"
            await pilot.press("q", "j", "enter")  # the next article, the picture still on its way
            await laid_out(pilot)
            await until(pilot, lambda: picture_above(app, "[image: Fast][1]") == HALF_BLOCK * 4, "the next one drawn")
            release.set()
            await images_settled(pilot)
            await pilot.press("q", "k", "enter")  # back
            await laid_out(pilot)
            await until(pilot, lambda: picture_above(app, "[image: Slow][1]") == HALF_BLOCK * 4,
                        "the slow picture drawn once back")
            assert not any(w.group.startswith("images") and not w.is_finished for w in app.workers)


async def test_each_article_of_a_key_burst_shows_its_picture_when_opened_again(tmp_path: Path) -> None:
    """g Enter q j Enter q j Enter q j Enter, faster than the articles are laid out: then
    each article opened again draws its picture (the first stayed "loading" for ever)."""
    with LocalServer() as server:
        feed = server.url("/feed.xml")
        words = "".join(f"<p>Paragraph {n}.</p>" for n in range(4))
        bodies = []
        for n in range(4):
            picture = server.route(f"/pic{n}.png", png(40, 40, (60 * n, 20, 200)), content_type="image/png")
            bodies.append(f'{words}<p><img src="{picture}" alt="Picture {n}"></p>')
        cache = pictures_cache(tmp_path / "cache", feed, bodies)
        app = DocbaoApp(cache.config, cache.folder)
        async with app.run_test(size=SIZE) as pilot:
            await go_to_feed(pilot, app, f"feed:{cache.feed_ids[feed]}")
            await pilot.press("enter")
            await pilot.pause()
            await pilot.press("g", "enter", "q", "j", "enter", "q", "j", "enter", "q", "j", "enter")
            await laid_out(pilot)
            await until(pilot, lambda: picture_above(app, "[image: Picture 3][1]") == HALF_BLOCK * 4, "the last drawn")
            for n in range(4):
                await pilot.press("q", "g", *["j"] * n, "enter")
                await laid_out(pilot)
                await until(pilot, lambda: picture_above(app, f"[image: Picture {n}][1]") == HALF_BLOCK * 4,
                            f"picture {n} drawn when opened again")


async def test_the_pictures_of_an_article_left_do_not_hold_up_the_next_ones(tmp_path: Path) -> None:
    """Four pictures from a server that does not answer take every place the reader fetches
    in; the article left for the next one, they give their places up, and its picture comes
    at once (it waited for the first four's deadline, half a minute)."""
    with LocalServer() as server:
        feed = server.url("/feed.xml")
        release = threading.Event()
        stuck = "".join(f'<p><img src="{server.route(f"/stuck{n}.png", raw=held(release, png()))}" alt="Stuck {n}"></p>'
                        for n in range(4))
        fast = server.route("/fast.png", png(40, 40, (220, 20, 20)), content_type="image/png")
        cache = pictures_cache(tmp_path / "cache", feed, [stuck, f'<p>Next.</p><p><img src="{fast}" alt="Fast"></p>'])
        app = DocbaoApp(cache.config, cache.folder)
        try:
            async with app.run_test(size=SIZE) as pilot:
                await open_article(pilot, app, cache, feed)
                await until(pilot, lambda: all(server.hits(f"/stuck{n}.png") for n in range(4)),
                            "four fetches under way")
                await pilot.press("q", "j", "enter")
                await laid_out(pilot)
                await until(pilot, lambda: picture_above(app, "[image: Fast][1]") == HALF_BLOCK * 4,
                            "the next article's picture drawn")
        finally:
            release.set()


async def test_a_picture_larger_than_the_image_cache_says_so(tmp_path: Path) -> None:
    """A picture evicted as soon as it is kept (alone larger than image_cache_mb) cannot be
    drawn from the cache: the reason stands in its place (it stayed "loading")."""
    with LocalServer() as server:
        feed = server.url("/feed.xml")
        photo = server.route("/photo.png", noise_png(60), content_type="image/png")  # about 11 KB
        cache = image_cache(tmp_path / "cache", feed, f'<p><img src="{photo}" alt="Photo"></p>',
                            settings=Settings(image_cache_mb=0.005))
        text = await read(cache, feed, SIZE)
    reason = text[text.index("[image: Photo][1]") - 1]
    assert reason == "✗ image not shown: larger than the image cache (image_cache_mb)"
