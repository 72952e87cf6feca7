"""tui.feeds.fetch against real sockets on 127.0.0.1: well-behaved, misconfigured and hostile servers."""

from __future__ import annotations

import asyncio
import gzip
import socket
import ssl
import struct
import threading
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from email.utils import format_datetime
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler

import httpx
import pytest
import trustme
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.server import LocalServer, RawServer, abort, read_request_head
from tui import USER_AGENT
from tui.feeds import fetch as fetch_module
from tui.feeds.fetch import (
    DEFAULT_DEFERRAL,
    FEED_ACCEPT,
    MAX_DEFERRAL,
    PAGE_ACCEPT,
    fetch,
    host_is_private,
    is_private_host,
    make_client,
    parse_retry_after,
)
from tui.feeds.transport import Transport

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Tin m\xe1\xbb\x9bi</title>
<item><title>Hello</title><link>https://example.org/1</link></item></channel></rss>"""
MB = 1024 * 1024


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(4) as c:
        yield c


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[socket.socket], None]], RawServer]]:
    """Start RawServers on demand; all are stopped at the end of the test."""
    started: list[RawServer] = []

    def start(handler: Callable[[socket.socket], None]) -> RawServer:
        srv = RawServer(handler).start()
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()


def head(handler: BaseHTTPRequestHandler, status: str = "200 OK", **headers: str) -> None:
    """Write a status line and headers by hand (underscores in names become dashes)."""
    lines = [f"HTTP/1.1 {status}"] + [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    handler.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


def stream(handler: BaseHTTPRequestHandler, data: bytes, piece: int = 64 * 1024) -> None:
    """Send `data` in pieces, so a client that hangs up stops the server early."""
    view = memoryview(data)
    for start in range(0, len(view), piece):
        handler.wfile.write(view[start : start + piece])


def gzip_bomb(megabytes: int) -> bytes:
    """A valid gzip member of `megabytes` MiB of zeros, about 1/1000 of that on the wire.

    Built from one fully flushed compressed MiB repeated, so 1 GiB takes a fraction of a
    second to build instead of compressing a gigabyte.
    """
    zeros = bytes(MB)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    tail = deflate.flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(megabytes):
        crc = zlib.crc32(zeros, crc)
    size = (megabytes * MB) & 0xFFFFFFFF
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + block * megabytes + tail + struct.pack("<II", crc, size)


def raw_deflate(gz: bytes) -> bytes:
    """The bare deflate stream inside a gzip member (what some servers send as "deflate")."""
    return gz[10:-8]


def zlib_wrapped(raw: bytes, megabytes: int) -> bytes:
    """A zlib stream (RFC 1950, HTTP's "deflate") around the same deflate data."""
    adler = 1
    zeros = bytes(MB)
    for _ in range(megabytes):
        adler = zlib.adler32(zeros, adler)
    return b"\x78\xda" + raw + struct.pack(">I", adler)


@pytest.fixture(scope="module")
def bomb_1gb() -> bytes:
    return gzip_bomb(1024)


async def measure_peak(coro: "asyncio.Future[object] | object") -> tuple[object, int]:
    tracemalloc.start()
    try:
        result = await coro  # type: ignore[misc]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


# ---------------------------------------------------------------- the address policy


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1", "127.8.9.10", "localhost", "LOCALHOST.", "feeds.localhost", "0.0.0.0",
        "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1", "224.0.0.1",
        "255.255.255.255", "::1", "[::1]", "::", "fe80::1", "fe80::1%eth0", "fc00::1", "ff02::1",
        "::ffff:127.0.0.1", "[::ffff:10.0.0.1]", "2002:7f00:1::",
    ],
)
def test_private_hosts_are_recognised_without_dns(host: str) -> None:
    assert is_private_host(host)


@pytest.mark.parametrize(
    "host",
    ["8.8.8.8", "93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8",
     "example.com", "vnexpress.net", "feeds.bbci.co.uk", ""],
)
def test_public_hosts_and_names_are_not_private_by_themselves(host: str) -> None:
    assert not is_private_host(host)


@pytest.mark.parametrize(
    ("addresses", "private"),
    [
        (["10.1.2.3"], True),
        (["203.0.113.9"], True),  # documentation range: not global, never a real feed host
        (["93.184.216.34", "127.0.0.1"], True),  # any private answer taints the name
        (["93.184.216.34"], False),
        (["2606:4700:4700::1111"], False),
        (["fd12:3456::1"], True),
    ],
)
async def test_a_name_is_private_when_it_resolves_to_a_private_address(
    monkeypatch: pytest.MonkeyPatch, addresses: list[str], private: bool
) -> None:
    async def resolve(host: str) -> list[str]:
        assert host == "intranet.example"
        return addresses

    monkeypatch.setattr(fetch_module, "_resolve", resolve)
    assert await host_is_private("intranet.example") is private


async def test_an_unresolvable_name_is_left_to_the_request(monkeypatch: pytest.MonkeyPatch) -> None:
    async def resolve(host: str) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(fetch_module, "_resolve", resolve)
    assert await host_is_private("nowhere.example") is False


async def test_localhost_resolves_privately_through_the_real_resolver() -> None:
    assert await host_is_private("localhost")
    assert await host_is_private("127.0.0.1")


# ---------------------------------------------------------------- Retry-After


NOW = 1_750_000_000


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", NOW + 120),
        (" 0 ", NOW),
        ("99999999999999", NOW + MAX_DEFERRAL),
        (format_datetime(datetime.fromtimestamp(NOW + 3600, timezone.utc), usegmt=True), NOW + 3600),
        ("Sunday, 06-Nov-94 08:49:37 GMT", NOW),  # RFC 850 form, in the past: now
        ("Sun Nov  6 08:49:37 1994", NOW),  # asctime form
        ("Fri, 31 Dec 9999 23:59:59 GMT", NOW + MAX_DEFERRAL),
        ("-5", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_forms(value: str | None, expected: int | None) -> None:
    assert parse_retry_after(value, NOW) == expected


# ---------------------------------------------------------------- the ordinary path


async def test_a_feed_is_fetched_with_its_metadata(server: LocalServer, client: httpx.AsyncClient) -> None:
    url = server.route(
        "/feed.xml", RSS, content_type="application/rss+xml; charset=utf-8",
        etag='"abc"', last_modified="Wed, 21 Oct 2015 07:28:00 GMT",
    )
    result = await fetch(client, url)
    assert result.status == "ok", result.error
    assert result.body == RSS  # the server gzipped it; the caller sees the document
    assert result.http_status == 200
    assert result.final_url == url
    assert result.content_type == "application/rss+xml; charset=utf-8"
    assert result.etag == '"abc"'
    assert result.last_modified == "Wed, 21 Oct 2015 07:28:00 GMT"
    assert result.permanent_url == ""
    sent = server.hits("/feed.xml")[0].headers
    assert sent["user-agent"] == USER_AGENT
    assert sent["accept-encoding"] == "gzip, deflate"
    assert sent["accept"] == FEED_ACCEPT
    assert "if-none-match" not in sent and "if-modified-since" not in sent


async def test_reader_mode_asks_for_html(server: LocalServer, client: httpx.AsyncClient) -> None:
    url = server.route("/article", b"<html><p>Bai bao</p></html>", content_type="text/html")
    result = await fetch(client, url, accept=PAGE_ACCEPT)
    assert result.status == "ok" and result.body == b"<html><p>Bai bao</p></html>"
    assert server.hits("/article")[0].headers["accept"].startswith("text/html")


async def test_an_uncompressed_body_is_returned_as_sent(server: LocalServer, client: httpx.AsyncClient) -> None:
    body = bytes(range(256)) * 1000
    url = server.route("/blob", body, content_type="application/octet-stream", gzip=False)
    result = await fetch(client, url)
    assert result.status == "ok" and result.body == body


async def test_cookies_are_not_kept_between_fetches(server: LocalServer, client: httpx.AsyncClient) -> None:
    url = server.route("/c", RSS, headers={"Set-Cookie": "session=secret; Path=/"})
    assert (await fetch(client, url)).status == "ok"
    assert (await fetch(client, url)).status == "ok"
    assert all("cookie" not in hit.headers for hit in server.hits("/c"))


async def test_proxy_environment_is_ignored(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    url = server.route("/feed.xml", RSS)
    async with make_client() as c:
        assert (await fetch(c, url)).status == "ok"


async def test_concurrency_bounds_open_connections(server: LocalServer) -> None:
    lock = threading.Lock()
    active = [0, 0]  # now, most ever

    def slow(handler: BaseHTTPRequestHandler) -> None:
        with lock:
            active[0] += 1
            active[1] = max(active[1], active[0])
        time.sleep(0.2)
        with lock:
            active[0] -= 1
        head(handler, Content_Length=str(len(RSS)))
        handler.wfile.write(RSS)

    url = server.route("/slow", raw=slow)
    async with make_client(concurrency=2) as c:
        results = await asyncio.gather(*(fetch(c, url) for _ in range(8)))
    assert [r.status for r in results] == ["ok"] * 8
    assert active[1] == 2


async def test_answers_without_a_wanted_body_keep_their_connection(server: LocalServer) -> None:
    """A 304, a redirect and an error page leave the connection open for the next request:
    an unchanged refresh of hundreds of feeds then needs no new connection (no TLS
    handshake) per feed. An error page too long to read is dropped with its connection."""
    fresh = server.route("/fresh.xml", RSS, etag='"v1"')
    server.route("/moved", status=301, headers={"Location": "/fresh.xml"}, body=b"<p>Moved</p>")
    server.route("/missing", status=404, body=b"<h1>Not here</h1>" * 100)
    server.route("/huge-error", status=500, body=b"x" * (256 * 1024), gzip=False)
    async with make_client(concurrency=1) as c:
        first = await fetch(c, fresh)
        assert first.status == "ok"
        results = [await fetch(c, fresh, etag='"v1"') for _ in range(10)]
        results += [await fetch(c, server.url("/moved"), etag='"v1"'), await fetch(c, server.url("/missing"))]
        assert [r.http_status for r in results] == [304] * 11 + [404]
        assert server.connections == 1
        assert (await fetch(c, server.url("/huge-error"))).http_status == 500
        assert (await fetch(c, fresh)).status == "ok"
    assert server.connections == 2


# ---------------------------------------------------------------- conditional GET


async def test_etag_revalidation_returns_not_modified_without_a_body(
    server: LocalServer, client: httpx.AsyncClient
) -> None:
    url = server.route("/feed.xml", RSS, etag='"v1"', last_modified="Wed, 21 Oct 2015 07:28:00 GMT")
    first = await fetch(client, url)
    second = await fetch(client, url, etag=first.etag, last_modified=first.last_modified)
    assert second.status == "not_modified"
    assert second.body is None
    assert second.http_status == 304
    assert (second.etag, second.last_modified) == ('"v1"', "Wed, 21 Oct 2015 07:28:00 GMT")
    sent = server.hits("/feed.xml")[1].headers
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == "Wed, 21 Oct 2015 07:28:00 GMT"


async def test_last_modified_revalidation(server: LocalServer, client: httpx.AsyncClient) -> None:
    stamp = "Tue, 01 Apr 2025 10:00:00 GMT"
    url = server.route("/lm.xml", RSS, last_modified=stamp)
    result = await fetch(client, url, last_modified=stamp)
    assert result.status == "not_modified" and result.body is None
    assert result.last_modified == stamp and result.etag == ""
    assert server.hits("/lm.xml")[0].headers["if-modified-since"] == stamp


async def test_a_changed_feed_answers_200_to_stale_validators(
    server: LocalServer, client: httpx.AsyncClient
) -> None:
    url = server.route("/feed.xml", RSS, etag='"v2"')
    result = await fetch(client, url, etag='"v1"')
    assert result.status == "ok" and result.body == RSS and result.etag == '"v2"'


async def test_a_304_without_validators_keeps_the_ones_sent(server: LocalServer, client: httpx.AsyncClient) -> None:
    def bare_304(handler: BaseHTTPRequestHandler) -> None:
        head(handler, "304 Not Modified")

    url = server.route("/bare", raw=bare_304)
    result = await fetch(client, url, etag='W/"7"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT")
    assert result.status == "not_modified"
    assert (result.etag, result.last_modified) == ('W/"7"', "Mon, 01 Jan 2024 00:00:00 GMT")


async def test_a_304_with_a_new_etag_replaces_the_old_one(server: LocalServer, client: httpx.AsyncClient) -> None:
    def new_etag(handler: BaseHTTPRequestHandler) -> None:
        head(handler, "304 Not Modified", ETag='"v9"')

    url = server.route("/new", raw=new_etag)
    result = await fetch(client, url, etag='"v8"')
    assert result.status == "not_modified" and result.etag == '"v9"'


async def test_hostile_validators_are_neither_stored_nor_sent(
    server: LocalServer, client: httpx.AsyncClient
) -> None:
    url = server.route("/feed.xml", RSS, etag='"\x1b[31mred"')
    result = await fetch(client, url, etag='"a"\r\nX-Injected: 1', last_modified="\x00")
    assert result.status == "ok" and result.etag == ""
    sent = server.hits("/feed.xml")[0].headers
    assert "x-injected" not in sent and "if-none-match" not in sent and "if-modified-since" not in sent


# ---------------------------------------------------------------- bodies: caps and bombs


@pytest.mark.parametrize("coding", ["gzip", "deflate-zlib", "deflate-raw"])
async def test_a_one_gigabyte_bomb_stops_at_the_cap_in_little_memory(
    server: LocalServer, client: httpx.AsyncClient, bomb_1gb: bytes, coding: str
) -> None:
    if coding == "gzip":
        payload, header = bomb_1gb, "gzip"
    elif coding == "deflate-zlib":
        payload, header = zlib_wrapped(raw_deflate(bomb_1gb), 1024), "deflate"
    else:
        payload, header = raw_deflate(bomb_1gb), "deflate"

    def bomb(handler: BaseHTTPRequestHandler) -> None:
        head(handler, Content_Type="application/rss+xml", Content_Encoding=header,
             Content_Length=str(len(payload)))
        stream(handler, payload)

    url = server.route("/bomb", raw=bomb)
    result, peak = await measure_peak(fetch(client, url, max_bytes=MB))
    assert result.status == "error"  # type: ignore[attr-defined]
    assert result.error == "response larger than 1 MB"  # type: ignore[attr-defined]
    assert result.body is None  # type: ignore[attr-defined]
    # The cap is 1 MiB and the bomb 1 GiB; inflating a whole 64 KiB read at once (as httpx
    # does) would peak near 80 MiB.
    assert peak < 4 * MB, f"peak {peak / MB:.1f} MiB"


async def test_a_bomb_under_the_default_cap(server: LocalServer, client: httpx.AsyncClient, bomb_1gb: bytes) -> None:
    def bomb(handler: BaseHTTPRequestHandler) -> None:
        head(handler, Content_Encoding="gzip", Transfer_Encoding="chunked")
        for start in range(0, len(bomb_1gb), 32 * 1024):
            piece = bomb_1gb[start : start + 32 * 1024]
            handler.wfile.write(b"%x\r\n%b\r\n" % (len(piece), piece))
        handler.wfile.write(b"0\r\n\r\n")

    url = server.route("/bomb", raw=bomb)
    result, peak = await measure_peak(fetch(client, url))
    assert result.error == "response larger than 10 MB"  # type: ignore[attr-defined]
    assert peak < 16 * MB, f"peak {peak / MB:.1f} MiB"


async def test_a_body_just_under_the_cap_is_whole(server: LocalServer, client: httpx.AsyncClient) -> None:
    body = b"x" * (MB - 1)
    url = server.route("/big", body)  # gzipped by the server
    result = await fetch(client, url, max_bytes=MB)
    assert result.status == "ok" and result.body == body
    over = await fetch(client, server.route("/bigger", body + b"yy"), max_bytes=MB)
    assert over.status == "error" and over.error == "response larger than 1 MB"


async def test_a_declared_length_over_the_cap_is_refused_before_reading(
    server: LocalServer, client: httpx.AsyncClient
) -> None:
    def huge(handler: BaseHTTPRequestHandler) -> None:
        head(handler, Content_Length=str(50 * 1024 * MB))
        stream(handler, bytes(4 * MB))

    result = await fetch(client, server.route("/huge", raw=huge), deadline=2)
    assert result.status == "error" and result.error == "response larger than 10 MB"


@pytest.mark.parametrize("framing", ["chunked", "until-close"])
async def test_an_endless_body_stops_at_the_cap(
    server: LocalServer, client: httpx.AsyncClient, framing: str
) -> None:
    def endless(handler: BaseHTTPRequestHandler) -> None:
        piece = b"<item>spam</item>" * 4000
        if framing == "chunked":
            head(handler, Transfer_Encoding="chunked")
            frame = b"%x\r\n%b\r\n" % (len(piece), piece)
        else:
            head(handler, Connection="close")
            frame = piece
        for _ in range(100_000):  # bounded, so a broken client cannot keep the thread forever
            handler.wfile.write(frame)

    result = await fetch(client, server.route("/endless", raw=endless), max_bytes=2 * MB)
    assert result.status == "error" and result.error == "response larger than 2 MB"


async def test_multi_member_gzip_is_decoded_whole(server: LocalServer, client: httpx.AsyncClient) -> None:
    payload = gzip.compress(RSS[:50]) + gzip.compress(RSS[50:])

    def members(handler: BaseHTTPRequestHandler) -> None:
        head(handler, Content_Encoding="gzip", Content_Length=str(len(payload)))
        handler.wfile.write(payload)

    result = await fetch(client, server.route("/mm", raw=members))
    assert result.status == "ok" and result.body == RSS


@pytest.mark.parametrize("wrapped", [True, False])
async def test_deflate_in_both_dialects(server: LocalServer, client: httpx.AsyncClient, wrapped: bool) -> None:
    payload = zlib.compress(RSS) if wrapped else zlib.compress(RSS)[2:-4]

    def deflated(handler: BaseHTTPRequestHandler) -> None:
        head(handler, Content_Encoding="deflate", Content_Length=str(len(payload)))
        handler.wfile.write(payload)

    result = await fetch(client, server.route("/d", raw=deflated))
    assert result.status == "ok" and result.body == RSS


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (gzip.compress(RSS)[:-20], "corrupt compressed body (gzip)"),  # cut inside the stream
        (b"this is not gzip at all", "corrupt compressed body (gzip)"),
    ],
)
async def test_a_broken_gzip_body_is_an_error(
    server: LocalServer, client: httpx.AsyncClient, payload: bytes, message: str
) -> None:
    def broken(handler: BaseHTTPRequestHandler) -> None:
        head(handler, Content_Encoding="gzip", Content_Length=str(len(payload)))
        handler.wfile.write(payload)

    result = await fetch(client, server.route("/g", raw=broken))
    assert result.status == "error" and result.error == message and result.body is None


async def test_an_unrequested_encoding_is_refused(server: LocalServer, client: httpx.AsyncClient) -> None:
    url = server.route("/br", b"\x1b\x00\x00", gzip=False, headers={"Content-Encoding": "br"})
    result = await fetch(client, url)
    assert result.status == "error" and result.error == "unsupported content encoding 'br'"


# ---------------------------------------------------------------- the total deadline


async def test_a_slowloris_body_ends_at_the_deadline(server: LocalServer, client: httpx.AsyncClient) -> None:
    def trickle(handler: BaseHTTPRequestHandler) -> None:
        head(handler, Content_Length="1000")
        for _ in range(20):  # never quiet long enough for a per-read timeout to fire
            handler.wfile.write(b"x")
            time.sleep(0.5)
        handler.close_connection = True  # after 10 s: a short body, not a timeout

    result = await fetch(client, server.route("/trickle", raw=trickle), deadline=2)
    assert result.status == "error" and result.error == "timed out after 2 s" and result.body is None


async def test_slow_headers_end_at_the_deadline(server: LocalServer, client: httpx.AsyncClient) -> None:
    def slow_headers(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
        for n in range(20):
            handler.wfile.write(b"X-Wait-%d: 1\r\n" % n)
            time.sleep(0.5)
        handler.wfile.write(b"Content-Length: %d\r\n\r\n%b" % (len(RSS), RSS))  # whole, after 10 s

    result = await fetch(client, server.route("/slowhead", raw=slow_headers), deadline=2)
    assert result.status == "error" and result.error == "timed out after 2 s"


async def test_a_silent_server_ends_at_the_deadline(raw_server: Callable[..., RawServer], client: httpx.AsyncClient) -> None:
    def silent(conn: socket.socket) -> None:
        conn.settimeout(10)  # then hang up: a client without a total deadline would see that
        try:
            while conn.recv(4096):
                pass
        except TimeoutError:
            pass

    srv = raw_server(silent)
    result = await fetch(client, srv.url("/feed"), deadline=2)
    assert result.status == "error" and result.error == "timed out after 2 s"


async def test_the_deadline_covers_a_chain_of_slow_redirects(server: LocalServer, client: httpx.AsyncClient) -> None:
    for n in range(5):
        server.route(f"/hop{n}", status=302, headers={"Location": f"/hop{n + 1}"}, delay=0.6)
    server.route("/hop5", RSS)
    result = await fetch(client, server.url("/hop0"), deadline=2)
    assert result.status == "error" and result.error == "timed out after 2 s"
    assert not server.hits("/hop5")


async def test_cancellation_is_not_swallowed(server: LocalServer, client: httpx.AsyncClient) -> None:
    url = server.route("/slow", RSS, delay=5)
    task = asyncio.create_task(fetch(client, url, deadline=30))
    while not server.hits("/slow"):
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


# ---------------------------------------------------------------- redirects


async def test_a_redirect_loop_stops_after_ten_hops(server: LocalServer, client: httpx.AsyncClient) -> None:
    url = server.route("/loop", status=302, headers={"Location": "/loop"})
    result = await fetch(client, url)
    assert result.status == "error" and result.error == "too many redirects (10)"
    assert len(server.hits("/loop")) == 11  # the first request and ten followed hops


async def test_two_urls_redirecting_to_each_other(server: LocalServer, client: httpx.AsyncClient) -> None:
    server.route("/ping", status=301, headers={"Location": "/pong"})
    server.route("/pong", status=301, headers={"Location": "/ping"})
    result = await fetch(client, server.url("/ping"), max_redirects=3)
    assert result.error == "too many redirects (3)" and result.permanent_url == ""


async def test_ten_redirects_are_allowed(server: LocalServer, client: httpx.AsyncClient) -> None:
    for n in range(10):
        server.route(f"/r{n}", status=307, headers={"Location": f"/r{n + 1}"})
    server.route("/r10", RSS)
    result = await fetch(client, server.url("/r0"))
    assert result.status == "ok" and result.body == RSS and result.final_url == server.url("/r10")


@pytest.mark.parametrize(
    "location",
    ["file:///etc/passwd", "javascript:alert(1)", "data:text/xml,<rss/>", "ftp://127.0.0.1/feed.xml",
     "gopher://127.0.0.1/", "mailto:a@b.c"],
)
async def test_redirects_to_other_schemes_are_refused(
    server: LocalServer, client: httpx.AsyncClient, location: str
) -> None:
    url = server.route("/away", status=302, headers={"Location": location})
    result = await fetch(client, url)
    assert result.status == "error" and result.error == "redirect to a non-http(s) URL refused"
    assert result.body is None and result.http_status == 302


async def test_a_redirect_without_location_is_an_error(server: LocalServer, client: httpx.AsyncClient) -> None:
    result = await fetch(client, server.route("/nowhere", status=301))
    assert result.status == "error" and result.error == "HTTP 301 redirect without a Location"


@pytest.mark.parametrize(
    ("start", "location", "final"),
    [
        ("/a/b/feed", "../other/feed.xml", "/a/other/feed.xml"),
        ("/a/b/feed", "../../top.xml", "/top.xml"),
        ("/a/b/feed", "next.xml", "/a/b/next.xml"),
        ("/a/feed", "/root.xml", "/root.xml"),
        ("/a/feed", "list?page=2", "/a/list?page=2"),
        ("/a/feed", "//127.0.0.1:{port}/abs.xml", "/abs.xml"),
    ],
)
async def test_relative_locations_are_resolved(
    server: LocalServer, client: httpx.AsyncClient, start: str, location: str, final: str
) -> None:
    server.route(start, status=302, headers={"Location": location.format(port=server.port)})
    server.route(final.split("?")[0], RSS)
    result = await fetch(client, server.url(start))
    assert result.status == "ok" and result.final_url == server.url(final)


@pytest.mark.parametrize(
    ("codes", "permanent"),
    [
        ([301], True),
        ([308], True),
        ([301, 308, 301], True),
        ([302], False),
        ([303], False),
        ([307], False),
        ([301, 302], False),
        ([302, 301], False),
        ([308, 307, 308], False),
    ],
)
async def test_only_an_all_permanent_chain_moves_the_feed(
    server: LocalServer, client: httpx.AsyncClient, codes: list[int], permanent: bool
) -> None:
    for n, code in enumerate(codes):
        server.route(f"/m{n}", status=code, headers={"Location": f"/m{n + 1}"})
    final = server.route(f"/m{len(codes)}", RSS)
    result = await fetch(client, server.url("/m0"))
    assert result.status == "ok" and result.final_url == final and result.url == server.url("/m0")
    assert result.permanent_url == (final if permanent else "")


async def test_a_permanent_move_to_an_unchanged_feed(server: LocalServer, client: httpx.AsyncClient) -> None:
    server.route("/old", status=301, headers={"Location": "/new"})
    new = server.route("/new", RSS, etag='"v1"')
    result = await fetch(client, server.url("/old"), etag='"v1"')
    assert result.status == "not_modified" and result.permanent_url == new
    assert server.hits("/new")[0].headers["if-none-match"] == '"v1"'


def _as_if_127_0_0_1_were_public(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests' only server is on loopback; pretend its literal address is a public host."""
    real = fetch_module.is_private_host
    monkeypatch.setattr(fetch_module, "is_private_host", lambda host: host != "127.0.0.1" and real(host))


@pytest.mark.parametrize(
    "target",
    ["http://localhost:{port}/secret", "http://[::1]:{port}/secret", "http://10.0.0.1/secret",
     "http://169.254.169.254/latest/meta-data/", "http://0.0.0.0:{port}/secret",
     "https://192.168.1.1/admin", "http://intranet.example:{port}/secret"],
)
async def test_a_public_feed_may_not_redirect_into_the_private_network(
    server: LocalServer, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    _as_if_127_0_0_1_were_public(monkeypatch)

    async def resolve(host: str) -> list[str]:
        return {"intranet.example": ["192.168.7.7"]}.get(host, ["93.184.216.34"])

    monkeypatch.setattr(fetch_module, "_resolve", resolve)
    server.route("/secret", b"router admin page")
    url = server.route("/feed", status=302, headers={"Location": target.format(port=server.port)})
    result = await fetch(client, url)
    assert result.status == "error" and result.error == "redirect to a private network address refused"
    assert not server.hits("/secret")


async def test_a_redirect_after_a_public_hop_is_still_checked(
    server: LocalServer, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _as_if_127_0_0_1_were_public(monkeypatch)
    server.route("/secret", b"router admin page")
    server.route("/one", status=301, headers={"Location": "/two"})
    server.route("/two", status=301, headers={"Location": f"http://localhost:{server.port}/secret"})
    result = await fetch(client, server.url("/one"))
    assert result.error == "redirect to a private network address refused"
    assert len(server.hits("/two")) == 1 and not server.hits("/secret")


async def test_a_feed_the_user_put_on_a_private_address_may_redirect_there(
    server: LocalServer, client: httpx.AsyncClient
) -> None:
    server.route("/feed", status=302, headers={"Location": f"http://localhost:{server.port}/real.xml"})
    server.route("/real.xml", RSS)
    result = await fetch(client, server.url("/feed"))
    assert result.status == "ok" and result.final_url == f"http://localhost:{server.port}/real.xml"
    result = await fetch(client, f"http://localhost:{server.port}/feed")
    assert result.status == "ok" and result.body == RSS


# ---------------------------------------------------------------- statuses


@pytest.mark.parametrize(
    ("code", "message"),
    [(404, "HTTP 404 Not Found"), (500, "HTTP 500 Internal Server Error"), (401, "HTTP 401 Unauthorized"),
     (403, "HTTP 403 Forbidden"), (400, "HTTP 400 Bad Request"), (502, "HTTP 502 Bad Gateway")],
)
async def test_http_errors_say_what_happened(
    server: LocalServer, client: httpx.AsyncClient, code: int, message: str
) -> None:
    url = server.route("/x", b"<html>error page</html>", status=code, content_type="text/html")
    result = await fetch(client, url)
    assert (result.status, result.error, result.http_status, result.body) == ("error", message, code, None)


async def test_a_hostile_reason_phrase_is_not_shown(server: LocalServer, client: httpx.AsyncClient) -> None:
    def odd(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b"HTTP/1.1 599 \x1b]0;pwned\x07[bold]x\r\nContent-Length: 0\r\n\r\n")

    result = await fetch(client, server.route("/odd", raw=odd))
    assert result.status == "error" and result.http_status == 599
    assert result.error.startswith("HTTP 599") and "\x1b" not in result.error and "\x07" not in result.error


async def test_410_means_gone(server: LocalServer, client: httpx.AsyncClient) -> None:
    result = await fetch(client, server.route("/dead", b"gone", status=410))
    assert result.status == "gone" and result.http_status == 410 and result.body is None


async def test_410_after_a_redirect_is_still_gone(server: LocalServer, client: httpx.AsyncClient) -> None:
    server.route("/a", status=302, headers={"Location": "/dead"})
    server.route("/dead", status=410)
    assert (await fetch(client, server.url("/a"))).status == "gone"


@pytest.mark.parametrize("code", [429, 503])
async def test_retry_after_in_seconds_defers_the_feed(
    server: LocalServer, client: httpx.AsyncClient, code: int
) -> None:
    url = server.route("/busy", status=code, headers={"Retry-After": "3600"})
    before = int(time.time())
    result = await fetch(client, url)
    assert result.status == "deferred" and result.http_status == code and result.body is None
    assert result.retry_after is not None and before + 3600 <= result.retry_after <= int(time.time()) + 3600
    assert result.error.endswith("retry after 60 min")


@pytest.mark.parametrize("code", [429, 503])
async def test_retry_after_as_a_date_defers_the_feed(server: LocalServer, client: httpx.AsyncClient, code: int) -> None:
    at = int(time.time()) + 7200
    stamp = format_datetime(datetime.fromtimestamp(at, timezone.utc), usegmt=True)
    result = await fetch(client, server.route("/busy", status=code, headers={"Retry-After": stamp}))
    assert result.status == "deferred" and result.retry_after == at


async def test_an_absurd_retry_after_is_capped_at_a_week(server: LocalServer, client: httpx.AsyncClient) -> None:
    before = int(time.time())
    result = await fetch(client, server.route("/busy", status=429, headers={"Retry-After": "315360000"}))
    assert result.retry_after is not None
    assert before + MAX_DEFERRAL <= result.retry_after <= int(time.time()) + MAX_DEFERRAL


@pytest.mark.parametrize("header", [None, "whenever"])
async def test_a_429_without_a_usable_retry_after_backs_off_by_default(
    server: LocalServer, client: httpx.AsyncClient, header: str | None
) -> None:
    headers = {"Retry-After": header} if header else {}
    before = int(time.time())
    result = await fetch(client, server.route("/busy", status=429, headers=headers))
    assert result.status == "deferred" and result.retry_after is not None
    assert before + DEFAULT_DEFERRAL <= result.retry_after <= int(time.time()) + DEFAULT_DEFERRAL


# ---------------------------------------------------------------- broken transfers


async def test_a_reset_mid_body_is_an_error(server: LocalServer, client: httpx.AsyncClient) -> None:
    def reset(handler: BaseHTTPRequestHandler) -> None:
        head(handler, Content_Length="100000")
        handler.wfile.write(RSS)
        time.sleep(0.3)  # let the client read the headers and start on the body
        abort(handler.connection)
        handler.close_connection = True

    result = await fetch(client, server.route("/reset", raw=reset))
    assert result.status == "error" and result.error == "connection reset mid-body" and result.body is None


async def test_a_reset_before_any_answer(raw_server: Callable[..., RawServer], client: httpx.AsyncClient) -> None:
    def reset(conn: socket.socket) -> None:
        read_request_head(conn)
        abort(conn)

    result = await fetch(client, raw_server(reset).url("/"))
    assert result.status == "error" and result.error in ("connection reset", "server closed the connection without an HTTP response")


async def test_a_body_shorter_than_its_content_length_is_an_error(
    server: LocalServer, client: httpx.AsyncClient
) -> None:
    def short(handler: BaseHTTPRequestHandler) -> None:
        head(handler, Content_Length=str(len(RSS) + 500))
        handler.wfile.write(RSS)
        handler.close_connection = True

    result = await fetch(client, server.route("/short", raw=short))
    assert result.status == "error" and result.body is None
    assert result.error == "response cut short (fewer bytes than Content-Length)"


@pytest.mark.parametrize(
    "chunks",
    [
        b"10\r\n0123456789abcdef\r\nZZ\r\nnot hex\r\n0\r\n\r\n",  # a chunk size that is not hex
        b"10\r\n0123456789abcdef\r\n40\r\nonly a few bytes",  # the connection ends inside a chunk
        b"10\r\n0123456789abcdef\r\n",  # no terminating zero-size chunk
    ],
)
async def test_broken_chunked_encoding_is_an_error(
    server: LocalServer, client: httpx.AsyncClient, chunks: bytes
) -> None:
    def broken(handler: BaseHTTPRequestHandler) -> None:
        head(handler, Transfer_Encoding="chunked")
        handler.wfile.write(chunks)
        handler.close_connection = True

    result = await fetch(client, server.route("/chunks", raw=broken))
    assert result.status == "error" and result.body is None
    assert result.error == "broken chunked encoding"


async def test_a_server_that_closes_without_answering(raw_server: Callable[..., RawServer], client: httpx.AsyncClient) -> None:
    def hang_up(conn: socket.socket) -> None:
        read_request_head(conn)

    result = await fetch(client, raw_server(hang_up).url("/"))
    assert result.status == "error" and result.error == "server closed the connection without an HTTP response"


NOT_HTTP = "not an HTTP response"
CLOSED = "server closed the connection without an HTTP response"


@pytest.mark.parametrize(
    ("garbage", "message"),
    [
        (b"\x00\xff\xfe garbage\r\n\r\n", NOT_HTTP),
        (b"HTTP/1.1 abc Broken\r\n\r\n", NOT_HTTP),
        (b"<html><body>HTTP/0.9 style</body></html>\r\n\r\n", NOT_HTTP),
        (b"\x16\x03\x03\x00\x02\x02\x28" + bytes(range(256)) * 100, NOT_HTTP),  # binary flood
        (b"SSH-2.0-OpenSSH_9.6\r\n", CLOSED),  # a banner, then the peer gives up on us
        (b"220 smtp.example ESMTP ready\r\n500 unrecognised command\r\n", CLOSED),
    ],
)
async def test_a_port_that_does_not_speak_http(
    raw_server: Callable[..., RawServer], client: httpx.AsyncClient, garbage: bytes, message: str
) -> None:
    def talk(conn: socket.socket) -> None:
        read_request_head(conn)
        conn.sendall(garbage)

    result = await fetch(client, raw_server(talk).url("/feed.xml"), deadline=2)
    assert result.status == "error" and result.error == message


async def test_tls_against_a_plain_socket_sending_garbage(
    raw_server: Callable[..., RawServer], client: httpx.AsyncClient
) -> None:
    def garbage(conn: socket.socket) -> None:
        conn.recv(4096)  # the ClientHello
        conn.sendall(b"this is not TLS\r\n" * 10)

    result = await fetch(client, raw_server(garbage).url("/feed.xml", scheme="https"), deadline=2)
    assert result.status == "error" and result.error == "TLS handshake failed"


async def test_tls_against_a_plain_http_server(server: LocalServer, client: httpx.AsyncClient) -> None:
    url = server.route("/feed.xml", RSS).replace("http://", "https://")
    result = await fetch(client, url, deadline=2)
    assert result.status == "error" and result.error == "TLS handshake failed"


@pytest.fixture(scope="module")
def tls_server() -> Iterator[tuple[ssl.SSLContext, RawServer, list[int]]]:
    """An https server on 127.0.0.1 with a certificate of the tests' own authority, keeping
    its connections alive; and a client context that trusts that authority. The list
    counts the connections it accepted."""
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)
    accepted: list[int] = []

    def serve(conn: socket.socket) -> None:
        accepted.append(1)
        with server_context.wrap_socket(conn, server_side=True) as tls:
            while read_request_head(tls):
                tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(RSS) + RSS)

    with RawServer(serve) as srv:
        yield client_context, srv, accepted


async def test_https_with_a_trusted_certificate_keeps_its_connection(
    tls_server: tuple[ssl.SSLContext, RawServer, list[int]],
) -> None:
    context, srv, accepted = tls_server
    before = len(accepted)
    client = httpx.AsyncClient(transport=Transport(max_connections=4, keepalive_expiry=30, tls=context))
    async with client:
        results = [await fetch(client, srv.url("/feed.xml", scheme="https")) for _ in range(5)]
    assert [(r.status, r.body) for r in results] == [("ok", RSS)] * 5
    assert len(accepted) - before == 1


async def test_https_with_a_certificate_of_an_unknown_authority_is_refused(
    tls_server: tuple[ssl.SSLContext, RawServer, list[int]], client: httpx.AsyncClient,
) -> None:
    result = await fetch(client, tls_server[1].url("/feed.xml", scheme="https"), deadline=5)
    assert result.status == "error"
    assert result.error == "TLS certificate rejected (unable to get local issuer certificate)"


async def test_a_kept_connection_the_server_closes_unanswered_is_replaced(
    raw_server: Callable[..., RawServer],
) -> None:
    """A server that ends a kept-alive connection as the next request arrives (its idle
    timeout, a restart): that request goes again on a new connection, once."""
    accepted: list[int] = []

    def one_answer(conn: socket.socket) -> None:
        accepted.append(1)
        read_request_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(RSS) + RSS)
        read_request_head(conn)  # the next request on this connection, left unanswered

    url = raw_server(one_answer).url("/feed.xml")
    async with make_client(1) as c:
        results = [await fetch(c, url, deadline=5) for _ in range(4)]
    assert [(r.status, r.body) for r in results] == [("ok", RSS)] * 4
    assert len(accepted) == 4


@pytest.mark.parametrize(("first", "status", "error"), [
    (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n", "ok", ""),
    (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", "error",
     "not an HTTP response"),
])
async def test_interim_responses_before_the_answer(raw_server: Callable[..., RawServer], client: httpx.AsyncClient,
                                                  first: bytes, status: str, error: str) -> None:
    """1xx answers are skipped on the way to the real one; a switch of protocol is an error."""
    def answer(conn: socket.socket) -> None:
        read_request_head(conn)
        conn.sendall(first + b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(RSS) + RSS)

    result = await fetch(client, raw_server(answer).url("/feed.xml"), deadline=5)
    assert (result.status, result.error) == (status, error)
    assert result.body == (RSS if status == "ok" else None)


async def test_a_connection_the_server_closed_while_idle_is_not_used(
    raw_server: Callable[..., RawServer],
) -> None:
    def answer_and_close(conn: socket.socket) -> None:
        read_request_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(RSS) + RSS)

    url = raw_server(answer_and_close).url("/feed.xml")
    async with make_client(1) as c:
        first = await fetch(c, url, deadline=5)
        await asyncio.sleep(0.1)  # its close has arrived
        second = await fetch(c, url, deadline=5)
    assert (first.status, second.status) == ("ok", "ok")


async def test_a_closed_port_is_connection_refused(client: httpx.AsyncClient) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = await fetch(client, f"http://127.0.0.1:{port}/feed.xml")
    assert result.status == "error" and result.error == "connection refused"


@pytest.mark.parametrize(
    ("url", "message"),
    [("ftp://127.0.0.1/feed.xml", "not an http(s) URL"), ("file:///etc/passwd", "not an http(s) URL"),
     ("feed.xml", "not an http(s) URL"), ("http://", "not an http(s) URL"),
     ("http://[::1/feed", "invalid URL"), ("", "not an http(s) URL")],
)
async def test_urls_that_cannot_be_fetched(client: httpx.AsyncClient, url: str, message: str) -> None:
    result = await fetch(client, url)
    assert result.status == "error" and result.error == message and result.url == url


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answer=st.one_of(
    st.binary(max_size=300),
    st.builds(lambda tail: b"HTTP/1.1 200 OK\r\n" + tail, st.binary(max_size=300)),
    st.builds(lambda status, tail: b"HTTP/1.1 %d X\r\nContent-Length: 5\r\n\r\n" % status + tail,
              st.integers(100, 999), st.binary(max_size=20)),
))
def test_whatever_a_server_answers_fetch_returns_a_result(answer: bytes) -> None:
    def reply(conn: socket.socket) -> None:
        read_request_head(conn)
        conn.sendall(answer)

    async def run() -> None:
        with RawServer(reply) as srv:
            async with make_client() as c:
                result = await fetch(c, srv.url("/"), deadline=2)
        assert result.status in {"ok", "not_modified", "error", "gone", "deferred"}
        assert (result.body is not None) == (result.status == "ok")
        if result.status == "error":
            assert result.error and "\n" not in result.error and len(result.error) < 120

    asyncio.run(run())
