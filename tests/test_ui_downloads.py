"""In the reader: `e` downloads an enclosure (a number when there are several) with its
progress in the status line, `E` lists the downloads and `r` there retries a failed one,
`P` plays the downloaded file (else the URL) with the configured player."""

from __future__ import annotations

import asyncio
import random
import stat
from pathlib import Path

from tests.pilot import SIZE, UICache, browser_args, go_to_feed, laid_out, plain, status
from tests.server import LocalServer
from tui.config import Config, FeedConfig, Settings
from tui.model import Enclosure, FetchResult, ParsedArticle, ParsedFeed
from tui.store.cache import Store
from tui.ui.app import DocbaoApp
from tui.ui.screens.downloads import DownloadsScreen
from tui.ui.screens.link_prompt import LinkPrompt

FEED = "http://127.0.0.1:9/podcast.xml"


def _cache(folder: Path, settings: Settings, urls: list[str]) -> UICache:
    config = Config(path=None, settings=settings, feeds=[FeedConfig(url=FEED, title="Radio [b]x")])
    store = Store.open(folder)
    try:
        ids = store.ensure_feeds([FEED])
        episode = ParsedArticle(guid="ep", title="Episode 1 [@click=app.quit]", link="https://pod.example/1",
                                content="<p>Show notes.</p>", published=1_590_243_720,
                                enclosures=[Enclosure(url, "audio/mpeg", 1000, 60) for url in urls])
        store.save_fetch(ids[FEED], FetchResult("ok", FEED), ParsedFeed(title="Radio", articles=[episode]))
        stored = store.article_ids()
    finally:
        store.close()
    return UICache(folder, config, ids, {FEED: stored})


def _player(tmp_path: Path) -> tuple[Path, Path]:
    out = tmp_path / "player-args"
    script = tmp_path / "fake-player"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$#" "$@" > "{out}.part" && mv "{out}.part" "{out}"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, out


async def _until(pilot, check, shown=lambda: "") -> None:  # type: ignore[no-untyped-def]
    for _ in range(800):
        if check():
            return
        await asyncio.sleep(0.025)
        await pilot.pause()
    raise AssertionError(f"never happened: {shown()}")


async def test_download_key_downloads_view_retry_and_play(server: LocalServer, tmp_path: Path) -> None:
    body = random.Random(5).randbytes(2 * 1024 * 1024)
    server.route("/ep1.mp3", body, content_type="audio/mpeg", gzip=False, ranges=True, pace=0.05)
    script, out = _player(tmp_path)
    media = tmp_path / "media"
    cache = _cache(tmp_path / "cache", Settings(download_dir=str(media), player=[str(script), "--", "%f"]),
                   [server.url("/ep1.mp3"), server.url("/missing.mp3")])
    target = media / "Radio [b]x" / "ep1.mp3"
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, f"feed:{cache.feed_ids[FEED]}")
        await pilot.press("enter", "enter")
        await laid_out(pilot)

        await pilot.press("P")  # not downloaded yet: the player gets the URL
        await pilot.pause()
        assert isinstance(app.screen, LinkPrompt)
        await pilot.press("2", "enter")
        assert await browser_args(out) == ["2", "--", server.url("/missing.mp3")]

        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, LinkPrompt)
        await pilot.press("1", "enter")
        await _until(pilot, lambda: "of 2.0 MB" in status(app), lambda: status(app))  # progress in the status line
        assert "↓" in status(app) and "Episode 1 [@click=app.quit]" in status(app)
        await app.workers.wait_for_complete([w for w in app.workers if w.group == "download"])
        await pilot.pause()
        assert target.read_bytes() == body
        assert "of 2.0 MB" not in status(app)  # the slot goes when the download ends

        await pilot.press("e", "2", "enter")  # this one is not on the server
        await app.workers.wait_for_complete([w for w in app.workers if w.group == "download"])
        await pilot.pause()
        assert any("Download failed" in str(n.message) and "HTTP 404" in str(n.message)
                   for n in app._notifications)

        await pilot.press("E")
        await pilot.pause()
        assert isinstance(app.screen, DownloadsScreen)
        table = app.screen.query_one("DataTable")
        rows = [[plain(cell) for cell in table.get_row_at(n)] for n in range(table.row_count)]
        assert rows[0][:3] == ["done", "2.0 MB", "Episode 1 [@click=app.quit]"] and rows[0][3] == "ep1.mp3"
        assert rows[1][0] == "failed" and rows[1][3] == "HTTP 404 Not Found"
        assert plain(app.screen.query_one("#downloads-title").render()) == " Downloads: 1 done · 1 failed"

        server.route("/missing.mp3", b"found now", content_type="audio/mpeg", gzip=False)
        await pilot.press("j", "r")
        await _until(pilot, lambda: plain(table.get_row_at(1)[0]) == "done")
        assert (media / "Radio [b]x" / "missing.mp3").read_bytes() == b"found now"
        await pilot.press("k", "enter")  # Enter plays the selected download's file
        assert await browser_args(out) == ["2", "--", str(target)]
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, DownloadsScreen)

        await pilot.press("P", "1", "enter")  # downloaded: the player gets the file
        assert await browser_args(out) == ["2", "--", str(target)]

        await pilot.press("e", "1", "enter")  # downloaded already: said, not fetched again
        await pilot.pause()
        assert any("Downloaded already" in str(n.message) for n in app._notifications)
        target.unlink()  # the user deleted the file: e fetches it again
        await pilot.press("e", "1", "enter")
        await _until(pilot, lambda: target.exists())
        await app.workers.wait_for_complete([w for w in app.workers if w.group == "download"])
        assert target.read_bytes() == body
        assert app.is_running


async def test_without_a_player_or_an_enclosure_the_keys_say_so(tmp_path: Path) -> None:
    cache = _cache(tmp_path / "cache", Settings(), [])
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, f"feed:{cache.feed_ids[FEED]}")
        await pilot.press("enter")
        await pilot.press("P")
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        messages = [str(n.message) for n in app._notifications]
        assert any("No player is set" in m for m in messages)
        assert any("no enclosure" in m for m in messages)


async def test_quitting_during_a_download_puts_it_back_in_the_queue(server: LocalServer, tmp_path: Path) -> None:
    body = random.Random(6).randbytes(4 * 1024 * 1024)
    server.route("/long.mp3", body, content_type="audio/mpeg", gzip=False, ranges=True, pace=0.2)
    cache = _cache(tmp_path / "cache", Settings(download_dir=str(tmp_path / "media")), [server.url("/long.mp3")])
    part = tmp_path / "media" / "Radio [b]x" / "long.mp3.part"
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, f"feed:{cache.feed_ids[FEED]}")
        await pilot.press("enter", "e")
        await _until(pilot, lambda: part.exists() and part.stat().st_size > 0)
        app.exit()
    from tui.store import downloads

    store = Store.open(cache.folder)
    try:
        for _ in range(1000):  # the worker's thread ends after the app: until it has said how
            [row] = downloads.rows(store)
            if row.state != "downloading":
                break
            await asyncio.sleep(0.05)
    finally:
        store.close()
    assert row.state == "queued" and 0 < part.stat().st_size < len(body)  # not waited for: resumable


def test_downloads_view_snapshot(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Every state as the view shows it: done, failed with a hostile reason, an interrupted
    one (its process gone) back in the queue with its part, and one queued."""
    from tui.store import downloads

    urls = [f"https://cdn.pod.example/ep{n}.mp3" for n in range(1, 5)]
    cache = _cache(tmp_path / "cache", Settings(), urls)
    store = Store.open(cache.folder)
    try:
        [article] = store.article_ids()
        ids = [downloads.queue(store, article, url, "audio/mpeg") for url in urls]
        downloads.update(store, ids[0], state="done", path="/home/u/Downloads/Radio/ep1.mp3", received=5_000_000,
                         total=5_000_000)
        downloads.update(store, ids[1], state="failed", error="HTTP 404 Not Found [b]x[/b] \x1b[31m")
        downloads.update(store, ids[2], state="downloading", owner=2**22 + 12345, received=1_234_567,
                         total=9_000_000, path="/home/u/Downloads/Radio/ep3.mp3")
    finally:
        store.close()

    async def open_view(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.press("E")
        await pilot.pause()

    assert snap_compare(DocbaoApp(cache.config, cache.folder), terminal_size=SIZE, run_before=open_view)


async def test_the_downloads_view_starts_what_a_refresh_queued(server: LocalServer, tmp_path: Path) -> None:
    from tui.store import downloads

    server.route("/a.mp3", b"first", content_type="audio/mpeg", gzip=False)
    server.route("/b.mp3", b"second", content_type="audio/mpeg", gzip=False)
    media = tmp_path / "media"
    cache = _cache(tmp_path / "cache", Settings(download_dir=str(media)), [server.url("/a.mp3"), server.url("/b.mp3")])
    store = Store.open(cache.folder)
    try:
        assert downloads.queue_enclosures(store, store.article_ids()) == 2  # as a download = true refresh does
    finally:
        store.close()
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("E")
        await pilot.pause()
        assert plain(app.screen.query_one("#downloads-title").render()) == " Downloads: 2 queued"
        await pilot.press("R")
        await _until(pilot, lambda: plain(app.screen.query_one("#downloads-title").render())
                     == " Downloads: 2 done")
        await app.workers.wait_for_complete([w for w in app.workers if w.group == "download"])
        await pilot.pause()
        messages = [str(n.message) for n in app._notifications]
        assert "2 downloads done, 0 failed" in messages and not any("Downloaded" in m for m in messages)
    assert (media / "Radio [b]x" / "a.mp3").read_bytes() == b"first"
    assert (media / "Radio [b]x" / "b.mp3").read_bytes() == b"second"
