"""Size and time: one `docbao refresh` of many feeds at once, most of them hostile.

A 50 MB item (declared, gzipped, chunked, and gzipped without Content-Encoding), an endless
body, gzip and deflate bombs, a bomb without Content-Encoding, 10,000 items, 100,000 levels of nested HTML, the markup
that makes an HTML5 parser re-open formatting elements without end, a 100 KB title, a
slowloris body, slow headers, a silent server and a port that speaks garbage, beside two
good feeds. With `timeout = 3` the whole refresh must end within a generous bound, its
peak memory stay under 256 MB, each hostile feed end as its own error (or be stored,
bounded), and the good feeds be stored."""

from __future__ import annotations

import gzip
import html
import socket
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.server import LocalServer, RawServer, read_request_head
from tests.hostile import (
    PEAK_RSS_LIMIT,
    Run,
    cache_db,
    docbao,
    integrity,
    query,
    rss,
    simple_items,
    write_config,
)

TIMEOUT = 3
BOUND = TIMEOUT * 3 + 10  # seconds for the whole refresh: generous, not a benchmark
MB = 1024 * 1024
ITEM_HEAD = b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Big</title><item><title>big</title><guid>big</guid><description>'
ITEM_TAIL = b"</description></item></channel></rss>"
Handler = Callable[[BaseHTTPRequestHandler], None]
FILLER = "Nội dung rất dài của một bài báo. ".encode() * 1000  # about 35 KB


def head(handler: BaseHTTPRequestHandler, status: str = "200 OK", **headers: str) -> None:
    lines = [f"HTTP/1.1 {status}", "Content-Type: application/rss+xml"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    handler.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


def fifty_megabytes() -> Iterator[bytes]:
    """An RSS document with one 50 MB item, in pieces."""
    yield ITEM_HEAD
    for _ in range(50 * MB // len(FILLER)):
        yield FILLER
    yield ITEM_TAIL


def declared_50mb(handler: BaseHTTPRequestHandler) -> None:
    head(handler, Content_Length=str(sum(len(p) for p in fifty_megabytes())))
    for piece in fifty_megabytes():
        handler.wfile.write(piece)


def chunked_50mb(handler: BaseHTTPRequestHandler) -> None:
    head(handler, Transfer_Encoding="chunked")
    for piece in fifty_megabytes():
        handler.wfile.write(b"%x\r\n%b\r\n" % (len(piece), piece))
    handler.wfile.write(b"0\r\n\r\n")


def endless(handler: BaseHTTPRequestHandler) -> None:
    head(handler, Connection="close")
    handler.wfile.write(ITEM_HEAD)
    for _ in range(100_000):  # bounded, so that the thread ends even if the client never hangs up
        handler.wfile.write(FILLER)


def gzip_bomb(megabytes: int) -> bytes:
    """A gzip member of `megabytes` MiB of zeros, built from one compressed MiB repeated."""
    zeros = bytes(MB)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    tail = deflate.flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(megabytes):
        crc = zlib.crc32(zeros, crc)
    return (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + block * megabytes + tail
            + struct.pack("<II", crc, (megabytes * MB) & 0xFFFFFFFF))


def deflate_bomb(megabytes: int) -> bytes:
    """The same zeros as HTTP's "deflate" (a zlib stream)."""
    raw = gzip_bomb(megabytes)[10:-8]
    adler = 1
    zeros = bytes(MB)
    for _ in range(megabytes):
        adler = zlib.adler32(zeros, adler)
    return b"\x78\xda" + raw + struct.pack(">I", adler)


def bomb_route(payload: bytes, coding: str) -> Handler:
    def send(handler: BaseHTTPRequestHandler) -> None:
        head(handler, Content_Encoding=coding, Content_Length=str(len(payload)))
        for start in range(0, len(payload), 64 * 1024):
            handler.wfile.write(payload[start:start + 64 * 1024])
    return send


def slowloris(handler: BaseHTTPRequestHandler) -> None:
    head(handler, Content_Length="1000")
    for _ in range(20):  # never quiet long enough for a read timeout
        handler.wfile.write(b"x")
        time.sleep(0.5)


def slow_headers(handler: BaseHTTPRequestHandler) -> None:
    handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
    for n in range(20):
        handler.wfile.write(b"X-Wait-%d: 1\r\n" % n)
        time.sleep(0.5)


def silent(conn: socket.socket) -> None:
    conn.settimeout(BOUND)
    try:
        while conn.recv(4096):
            pass
    except TimeoutError:
        pass


def garbage(conn: socket.socket) -> None:
    read_request_head(conn)
    conn.sendall(b"\x00\xff\xfe\x16\x03 garbage \r\n\r\n" + bytes(range(256)) * 64)


def nested(depth: int) -> bytes:
    body = "<div>" * depth + "deep" + "</div>" * depth
    return rss([{"title": "Nested", "guid": "nested", "link": "https://e.example/nested",
                 "content:encoded": f"<![CDATA[{body}]]>", "description": "short"}])


def reopening(paragraphs: int) -> bytes:
    """Unclosed <b> with distinct attributes in every paragraph: a browser re-opens each
    one in every later paragraph, a quadratic amount of elements."""
    body = "".join(f"<p><b class=c{n}>bold {n}</p>" for n in range(paragraphs))
    return rss([{"title": "Reopening", "guid": "reopen", "description": html.escape(body, quote=False)}])


@dataclass
class World:
    folder: Path
    config: Path
    run: Run
    urls: dict[str, str]

    @property
    def db(self) -> Path:
        return cache_db(self.folder)

    def feed(self, name: str) -> tuple[str, str, int]:
        return query(self.db, "SELECT last_status, last_error, total FROM feeds WHERE url = ?", (self.urls[name],))[0]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("limits")
    big = b"".join(fifty_megabytes())
    with LocalServer() as srv, RawServer(silent) as quiet, RawServer(garbage) as noise:
        urls = {
            "good": srv.route("/good.xml", rss(simple_items(20, "g"))),
            "good-too": srv.route("/good-too.xml", rss(simple_items(5, "h"), title="Tin khác")),
            "50mb-declared": srv.route("/50mb-declared.xml", raw=declared_50mb),
            "50mb-gzip": srv.route("/50mb-gzip.xml", gzip.compress(big, 6), gzip=False,
                                   headers={"Content-Encoding": "gzip"}, content_type="application/rss+xml"),
            "50mb-chunked": srv.route("/50mb-chunked.xml", raw=chunked_50mb),
            "endless": srv.route("/endless.xml", raw=endless),
            "gzip-bomb": srv.route("/gzip-bomb.xml", raw=bomb_route(gzip_bomb(1024), "gzip")),
            "deflate-bomb": srv.route("/deflate-bomb.xml", raw=bomb_route(deflate_bomb(1024), "deflate")),
            "bomb-as-body": srv.route("/bomb-as-body.xml", gzip_bomb(256), gzip=False),
            "50mb-gzip-as-body": srv.route("/50mb-gzip-as-body.xml", gzip.compress(big, 6), gzip=False),
            "gzip-as-body": srv.route("/gzip-as-body.xml", gzip.compress(rss(simple_items(3, "z"))), gzip=False),
            "10000-items": srv.route("/10000-items.xml", rss(simple_items(10_000, "m"))),
            "nested-100000": srv.route("/nested.xml", nested(100_000)),
            "reopening": srv.route("/reopening.xml", reopening(20_000)),
            "title-100kb": srv.route("/title.xml", rss([{"title": "Lãnh đạo " * 11_000, "guid": "t",
                                                         "description": "x"}])),
            "slowloris": srv.route("/slowloris.xml", raw=slowloris),
            "slow-headers": srv.route("/slow-headers.xml", raw=slow_headers),
            "silent": quiet.url("/feed.xml"),
            "garbage": noise.url("/feed.xml"),
        }
        del big
        config = write_config(folder, list(urls.values()), timeout=TIMEOUT, concurrency=32)
        run = docbao("refresh", "--config", str(config), cwd=folder, timeout=BOUND + 30)
        yield World(folder, config, run, urls)


def test_the_whole_refresh_is_bounded(world: World) -> None:
    print(f"refresh of {len(world.urls)} feeds: {world.run.elapsed:.1f} s, peak RSS {world.run.peak_rss >> 20} MB")
    assert world.run.returncode == 1, world.run.out + world.run.err  # feeds failed, nothing else
    assert "Traceback" not in world.run.err
    assert world.run.elapsed < BOUND, f"{world.run.elapsed:.1f} s"
    assert world.run.peak_rss < PEAK_RSS_LIMIT, f"peak RSS {world.run.peak_rss >> 20} MB"


def test_the_good_feeds_are_stored(world: World) -> None:
    assert world.feed("good") == ("ok", "", 20)
    assert world.feed("good-too") == ("ok", "", 5)


@pytest.mark.parametrize(("name", "message"), [
    ("50mb-declared", "response larger than 10 MB"),
    ("50mb-gzip", "response larger than 10 MB"),
    ("50mb-chunked", "response larger than 10 MB"),
    ("endless", "response larger than 10 MB"),
    ("gzip-bomb", "response larger than 10 MB"),
    ("deflate-bomb", "response larger than 10 MB"),
    ("bomb-as-body", "response larger than 10 MB"),
    ("50mb-gzip-as-body", "response larger than 10 MB"),
    ("slowloris", f"timed out after {TIMEOUT} s"),
    ("slow-headers", f"timed out after {TIMEOUT} s"),
    ("silent", f"timed out after {TIMEOUT} s"),
    ("garbage", "not an HTTP response"),
])
def test_each_hostile_feed_is_its_own_error(world: World, name: str, message: str) -> None:
    status, error, total = world.feed(name)
    assert (status, total) == ("error", 0)
    assert error == message


def test_a_gzip_body_without_content_encoding_is_read_under_the_cap(world: World) -> None:
    """fetch inflates it within the cap: the parser used to inflate up to 64 MB, so 200 KB
    on the wire became a 50 MB item and a refresh of 560 MB."""
    assert world.feed("gzip-as-body") == ("ok", "", 3)


def test_ten_thousand_items_are_all_stored(world: World) -> None:
    assert world.feed("10000-items") == ("ok", "", 10_000)
    assert query(world.db, "SELECT count(DISTINCT guid) FROM articles a JOIN feeds f ON f.id = a.feed_id"
                           " WHERE f.url = ?", (world.urls["10000-items"],)) == [(10_000,)]


def test_deep_nesting_is_stored_flattened_with_its_text(world: World) -> None:
    status, error, total = world.feed("nested-100000")
    assert (status, total) == ("ok", 1), error
    ((content,),) = query(world.db, "SELECT content FROM articles WHERE guid = 'nested'")
    assert "deep" in content
    assert content.count("<div>") <= 100 and len(content) < 10_000


def test_reopened_formatting_stays_proportionate(world: World) -> None:
    """20,000 such paragraphs (640 KB) took an HTML5 parser minutes and gigabytes."""
    status, error, total = world.feed("reopening")
    assert (status, total) == ("ok", 1), error
    ((content,),) = query(world.db, "SELECT content FROM articles WHERE guid = 'reopen'")
    assert content.count("<p>") == 20_000 and "bold 19999" in content
    assert len(content) < 10 * len(reopening(20_000))


def test_a_100_kb_title_is_stored_and_listed(world: World) -> None:
    status, error, total = world.feed("title-100kb")
    assert (status, total) == ("ok", 1), error
    ((title,),) = query(world.db, "SELECT title FROM articles WHERE guid = 't'")
    assert title.startswith("Lãnh đạo Lãnh đạo") and len(title) > 90_000


def test_the_cache_reads_back_after_it_all(world: World) -> None:
    assert integrity(world.db) == "ok"
    assert query(world.db, "PRAGMA quick_check") == [("ok",)]  # (a plain sqlite3 shell can check it too)
    listing = docbao("articles", "--config", str(world.config), "--limit", "30", cwd=world.folder)
    assert listing.returncode == 0 and listing.out.count("\n") == 30
    for guid in ("nested", "reopen", "t"):
        ((article_id,),) = query(world.db, "SELECT id FROM articles WHERE guid = ?", (guid,))
        shown = docbao("read", str(article_id), "--config", str(world.config), cwd=world.folder)
        assert shown.returncode == 0, shown.err
        assert shown.peak_rss < PEAK_RSS_LIMIT
    assert "deep" in docbao("read", str(query(world.db, "SELECT id FROM articles WHERE guid = 'nested'")[0][0]),
                            "--config", str(world.config), cwd=world.folder).out
