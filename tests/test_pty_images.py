"""The installed `docbao` command in a pseudo-terminal drawing an article's picture with
the Kitty graphics protocol and with Sixel: the byte streams are well formed, carry the
picture's pixels and nothing of the feed (its hostile alt text and title stay plain text
outside them); with images = "auto" in a terminal that answers nothing, half-blocks."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import pytest
from PIL import Image

from tests.test_pty import docbao_command
from tests.test_ui_images import image_cache
from tui.store.cache import Store

pexpect = pytest.importorskip("pexpect")

FEED = "http://127.0.0.1:9/pictures.xml"
PHOTO = "http://127.0.0.1:9/flag.png"
# what a hostile feed puts in an image's alt text and its title: OSC 52, an APC that would
# speak the Kitty protocol, a DCS that would start Sixel
HOSTILE = "Evil \x1b]52;c;SGFja2Vk\x07 \x1b_Ga=d\x1b\\ \x1bPq#0!9~\x1b\\ end"
FEED_BYTES = (b"SGFja2Vk", b"Evil", b"a=d\x1b", b"#0!9~")
APC = re.compile(rb"\x1b_G(.*?)\x1b\\", re.S)
DCS = re.compile(rb"\x1bP(.*?)\x1b\\", re.S)
KITTY_BODY = re.compile(rb"^[a-zA-Z]=[0-9a-z]+(,[a-zA-Z]=[0-9a-z]+)*(;[A-Za-z0-9+/=]+)?$")
SIXEL_BODY = re.compile(rb'^[0-9;]*q("[0-9]+;[0-9]+;[0-9]+;[0-9]+)?[#!$\-0-9;?-~]*$')


def run_reader(tmp_path: Path, mode: str) -> bytes:
    """Open the article with its picture kept in the cache; everything the terminal got."""
    cache = image_cache(tmp_path / "cache", FEED, f'<p>Before.</p><p><img src="{PHOTO}" alt="{HOSTILE}"></p><p>After.</p>')
    picture = Image.new("RGB", (160, 80), (220, 30, 30))
    data = io.BytesIO()
    picture.save(data, "PNG")
    store = Store.open(cache.folder)
    try:
        store.link_images(cache.articles[FEED][0], [PHOTO])
        store.save_image(PHOTO, data.getvalue(), 160, 80, limit_bytes=1 << 30)
    finally:
        store.close()
    drawn = {"kitty": rb"\x1b_Ga=p", "sixel": rb"\x1bP[0-9;]*q", "auto": "▀".encode()}[mode]
    return spawn_reader(tmp_path, cache.folder, FEED, mode, drawn)


def spawn_reader(tmp_path: Path, cache: Path, feed: str, mode: str, drawn: bytes, *, open_it: bool = True) -> bytes:
    """The installed docbao on `cache`: open the feed's one article (unless the reader
    reopens it itself), wait for `drawn`, quit; everything the terminal got."""
    config = tmp_path / "feeds.toml"
    config.write_text(f'[settings]\nimages = "{mode}"\n\n[[feed]]\nurl = "{feed}"\ntitle = "Pictures"\n', encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TERM": "xterm-256color", "COLORTERM": "truecolor",
           "LANG": "C.UTF-8", "TZ": "UTC"}
    child = pexpect.spawn(docbao_command(), ["--config", str(config), "--cache", str(cache)], env=env,
                          dimensions=(36, 120), timeout=30)
    child.logfile_read = io.BytesIO()
    try:
        child.expect(b"Pictures")
        if open_it:
            child.send("\r")  # the feed's articles
            child.expect(b"1 in view")
            child.send("\r")  # the article, its picture drawn the way asked
        child.expect(drawn)
        child.send("Q")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    return child.logfile_read.getvalue()


def assert_nothing_of_the_feed_escapes(out: bytes, sequences: list[bytes]) -> None:
    for body in sequences:
        for piece in FEED_BYTES:
            assert piece not in body
    assert b"\x1b]52" not in out  # the alt text's OSC 52 never reached the terminal as one
    assert b"]52;c;SGFja2Vk" not in out  # ... nor its tail, as text: the whole sequence went


def test_kitty_graphics_carry_the_picture_and_nothing_else(tmp_path: Path) -> None:
    out = run_reader(tmp_path, "kitty")
    bodies = APC.findall(out)
    assert bodies and all(KITTY_BODY.match(body) for body in bodies), bodies
    keys = [dict(part.split(b"=", 1) for part in body.split(b";")[0].split(b",")) for body in bodies]
    uploads = [(k, body) for k, body in zip(keys, bodies) if k.get(b"f") == b"100"]
    assert uploads and len({k[b"i"] for k, _ in uploads}) == 1
    png = base64.b64decode(b"".join(body.split(b";", 1)[1] for _, body in uploads))
    with Image.open(io.BytesIO(png)) as shown:
        assert shown.format == "PNG" and shown.size == (160, 80)  # 16 × 4 cells of 10 × 20 pixels
        assert shown.convert("RGB").getpixel((80, 40)) == (220, 30, 30)
    placements = [k for k in keys if k.get(b"a") == b"p"]
    assert placements == [{b"a": b"p", b"i": uploads[0][0][b"i"], b"c": b"16", b"r": b"4", b"U": b"1", b"q": b"2"}]
    assert out.count(chr(0x10EEEE).encode()) == 16 * 4  # the placeholder cells the picture shows in
    assert_nothing_of_the_feed_escapes(out, bodies)


def test_sixel_carries_the_picture_and_nothing_else(tmp_path: Path) -> None:
    out = run_reader(tmp_path, "sixel")
    bodies = DCS.findall(out)
    assert bodies and all(SIXEL_BODY.match(body) for body in bodies), [b[:80] for b in bodies]
    # a picture of 160 × 80 pixels, 16 × 4 cells: one Sixel image per line of cells
    assert len(bodies) >= 4 and {body[body.index(b'"'):body.index(b'"') + 11] for body in bodies} == {b'"1;1;160;20'}
    assert_nothing_of_the_feed_escapes(out, bodies)


def test_auto_draws_half_blocks_when_the_terminal_answers_nothing(tmp_path: Path) -> None:
    out = run_reader(tmp_path, "auto")
    assert "▀".encode() in out
    assert not APC.findall(out) and not DCS.findall(out)
    assert_nothing_of_the_feed_escapes(out, [])


def test_pictures_fetched_once_show_again_with_the_server_gone(tmp_path: Path) -> None:
    from tests.server import LocalServer
    from tests.test_images import png

    with LocalServer() as server:
        feed = server.url("/feed.xml")
        photo = server.route("/photo.png", png(80, 40, (20, 160, 60)), content_type="image/png")
        cache = image_cache(tmp_path / "cache", feed, f'<p>Before.</p><p><img src="{photo}" alt="Green"></p>')
        online = spawn_reader(tmp_path, cache.folder, feed, "blocks", "▀".encode())
        assert len(server.hits("/photo.png")) == 1
    # the server is gone; the reader, started again, reopens the article and draws the picture
    offline = spawn_reader(tmp_path, cache.folder, feed, "blocks", "▀".encode(), open_it=False)
    assert "▀".encode() in online and b"[image: Green]" in offline
