"""HTTP for docbao: one careful GET per feed or article page.

Every server is treated as hostile. A fetch has one total deadline (redirects, headers
and body together), so a server that trickles a byte a second cannot hold a refresh
hostage; the body is capped on its *decoded* size while it streams, so a gzip bomb stops
after a few kilobytes of input; redirects are followed by hand so that each hop is
checked (scheme, address, count); and a body that ends early is an error, never a
truncated document passed off as whole.

`fetch` never raises (but for cancellation): every failure comes back as a
`FetchResult` whose `error` is short enough to show the user as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import re
import socket
import ssl
import time
import zlib
from collections.abc import AsyncIterator
from datetime import timezone
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from http.cookiejar import Cookie, CookieJar, CookiePolicy
from urllib.request import Request as _UrllibRequest

import httpx

# The codec a host name is encoded with to be resolved, which the first connection would
# otherwise import on the event loop. The UI imports this module in a thread; it comes with it.
import encodings.idna  # noqa: F401

from tui import USER_AGENT
from tui.model import FetchResult
from tui.content.sanitize import clean_line
from tui.feeds.inflate import CODINGS, BodyError, Decoder, codings, inflate_undeclared, too_large
from tui.feeds.transport import Transport

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"

DEFAULT_DEFERRAL = 10 * 60  # seconds to wait after a 429/503 that gave no Retry-After
MAX_DEFERRAL = 7 * 24 * 3600  # a Retry-After further away than this is taken as this
_REDIRECTS = {301, 302, 303, 307, 308}
_PERMANENT = {301, 308}
_SCHEME = re.compile(r"\s*([A-Za-z][A-Za-z0-9+.-]*):")
_LOCATION = "docbao.location"  # where _take_location keeps a response's Location
_MAX_VALIDATOR = 1024  # ETag / Last-Modified longer than this are not worth sending back
_MAX_DRAIN = 64 * 1024  # an unwanted body (304, redirect, error page) up to this is read to keep its connection


class _Failure(Exception):
    """A fetch that ended with a message for the user (raised inside, returned outside)."""

    def __init__(self, message: str, http_status: int | None = None, final_url: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.final_url = final_url


class _NoCookies(CookiePolicy):
    """Refuse every cookie: feeds are public, and a jar shared across feeds would leak."""

    netscape = True
    rfc2965 = False
    hide_cookie2 = True

    def set_ok(self, cookie: Cookie, request: _UrllibRequest) -> bool:
        return False

    def return_ok(self, cookie: Cookie, request: _UrllibRequest) -> bool:
        return False

    def domain_return_ok(self, domain: str, request: _UrllibRequest) -> bool:
        return False

    def path_return_ok(self, path: str, request: _UrllibRequest) -> bool:
        return False


def make_client(concurrency: int = 16, user_agent: str = "") -> httpx.AsyncClient:
    """One client per refresh: a pool as wide as the refresh, no redirects, no cookies, no env;
    `user_agent` ([settings] user_agent) replaces docbao's own."""
    concurrency = max(1, concurrency)
    return httpx.AsyncClient(
        headers={"User-Agent": user_agent or USER_AGENT, "Accept-Encoding": "gzip, deflate"},
        transport=Transport(max_connections=concurrency, keepalive_expiry=30.0, tls=_tls_context()),
        timeout=httpx.Timeout(30.0),
        follow_redirects=False,
        cookies=CookieJar(policy=_NoCookies()),
        trust_env=False,
        event_hooks={"response": [_take_location]},
    )


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One certificate store for every client: loading it costs 15 ms each time."""
    return httpx.create_ssl_context()


async def _take_location(response: httpx.Response) -> None:
    """Hide Location from httpx, which parses it even with redirects off and raises on odd ones.

    fetch reads it back from the extensions and applies its own checks to every hop.
    """
    locations = response.headers.get_list("Location")
    if locations:
        response.extensions[_LOCATION] = locations[0]
        del response.headers["Location"]


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    *,
    etag: str = "",
    last_modified: str = "",
    deadline: float = 30.0,
    max_bytes: int = 10 * 1024 * 1024,
    max_redirects: int = 10,
    accept: str = FEED_ACCEPT,
    decode: bool = True,
) -> FetchResult:
    """Conditional GET of `url` within `deadline` seconds; every failure is a result, not a raise.
    `decode=False` leaves the body's Content-Encoding for the caller (`inflate.decode`)."""
    try:
        async with asyncio.timeout(deadline):
            return await _fetch(
                client, url, etag=etag, last_modified=last_modified, deadline=deadline,
                max_bytes=max_bytes, max_redirects=max_redirects, accept=accept, decode=decode,
            )
    except TimeoutError:
        return FetchResult(status="error", url=url, error=f"timed out after {_seconds(deadline)}")
    except _Failure as failure:
        return FetchResult(
            status="error", url=url, final_url=failure.final_url, http_status=failure.http_status,
            error=failure.message,
        )
    except httpx.TimeoutException:
        return FetchResult(status="error", url=url, error=f"timed out after {_seconds(deadline)}")
    except Exception as exc:  # noqa: BLE001 - the contract is "never raises"
        return FetchResult(status="error", url=url, error=describe_error(exc))


async def _fetch(
    client: httpx.AsyncClient,
    url: str,
    *,
    etag: str,
    last_modified: str,
    deadline: float,
    max_bytes: int,
    max_redirects: int,
    accept: str,
    decode: bool,
) -> FetchResult:
    current = _parse_url(url)
    headers = {"Accept": accept}
    if _valid_validator(etag):
        headers["If-None-Match"] = etag
    if _valid_validator(last_modified):
        headers["If-Modified-Since"] = last_modified
    origin_private: bool | None = None  # decided at the first redirect, if any
    permanent = True
    redirects = 0
    while True:
        request = client.build_request("GET", current, headers=headers, timeout=deadline)
        try:
            response = await client.send(request, stream=True)
        except httpx.TimeoutException:
            raise
        except httpx.TransportError as exc:
            raise _Failure(describe_error(exc)) from exc
        try:
            status = response.status_code
            if not 200 <= status < 300:
                await _drain(response)
            if status in _REDIRECTS:
                current, origin_private = await _next_hop(current, response, redirects, max_redirects,
                                                          origin_private)
                permanent = permanent and status in _PERMANENT
                redirects += 1
                continue
            final_url = str(current)
            moved = final_url if permanent and redirects else ""
            if status == 304:
                return FetchResult(
                    status="not_modified", url=url, final_url=final_url, http_status=304,
                    etag=_validator(response.headers.get("ETag")) or etag,
                    last_modified=_validator(response.headers.get("Last-Modified")) or last_modified,
                    permanent_url=moved,
                )
            if 200 <= status < 300:
                body = await _read_body(response, max_bytes, decode=decode)
                return FetchResult(
                    status="ok", url=url, final_url=final_url, http_status=status, body=body,
                    content_encoding="" if decode else response.headers.get("Content-Encoding", ""),
                    content_type=clean_line(response.headers.get("Content-Type", ""))[:200],
                    etag=_validator(response.headers.get("ETag")),
                    last_modified=_validator(response.headers.get("Last-Modified")),
                    permanent_url=moved,
                )
            message = status_message(response)
            if status == 410:
                return FetchResult(
                    status="gone", url=url, final_url=final_url, http_status=status, error=message
                )
            if status in (429, 503):
                now = int(time.time())
                retry_at = parse_retry_after(response.headers.get("Retry-After"), now)
                if retry_at is None:
                    retry_at = now + DEFAULT_DEFERRAL
                return FetchResult(
                    status="deferred", url=url, final_url=final_url, http_status=status,
                    retry_after=retry_at,
                    error=f"{message}; retry after {_duration(retry_at - now)}",
                )
            raise _Failure(message, status, final_url)
        finally:
            await response.aclose()


async def _next_hop(current: httpx.URL, response: httpx.Response, redirects: int, max_redirects: int,
                    origin_private: bool | None) -> tuple[httpx.URL, bool]:
    """Where a redirect leads, checked (scheme, count, no private address for a public
    origin); and whether the origin is private, decided at the first redirect."""
    status = response.status_code
    location = str(response.extensions.get(_LOCATION) or response.headers.get("Location", "")).strip()
    if not location:
        raise _Failure(f"HTTP {status} redirect without a Location", status)
    if redirects >= max_redirects:
        raise _Failure(f"too many redirects ({max_redirects})", status)
    scheme = _SCHEME.match(location)
    if scheme and scheme.group(1).lower() not in ("http", "https"):
        raise _Failure("redirect to a non-http(s) URL refused", status)
    try:
        target = current.join(location)
    except (httpx.InvalidURL, ValueError) as exc:
        raise _Failure("redirect to an invalid URL refused", status) from exc
    if target.scheme not in ("http", "https") or not target.host:
        raise _Failure("redirect to a non-http(s) URL refused", status)
    if origin_private is None:
        origin_private = await host_is_private(current.host)
    if not origin_private and await host_is_private(target.host):
        raise _Failure("redirect to a private network address refused", status)
    return target, origin_private


class StreamError(Exception):
    """A download that could not start or went wrong; the message is fit to show as it is."""


@contextlib.asynccontextmanager
async def stream(client: httpx.AsyncClient, url: str, *, headers: dict[str, str], deadline: float,
                 max_redirects: int = 10) -> AsyncIterator[httpx.Response]:
    """GET `url` for a download: redirects followed by fetch's rules within `deadline`
    seconds; yields the final response with its body unread (read it with aiter_raw:
    no Content-Encoding is asked for). Reading stalls longer than `deadline` time out.
    Every failure is a StreamError."""
    response: httpx.Response | None = None
    try:
        async with asyncio.timeout(deadline):
            current = _parse_url(url)
            origin_private: bool | None = None
            redirects = 0
            while True:
                request = client.build_request("GET", current, headers={"Accept-Encoding": "identity", **headers},
                                               timeout=deadline)
                response = await client.send(request, stream=True)
                if response.status_code not in _REDIRECTS:
                    break
                await _drain(response)
                await response.aclose()
                current, origin_private = await _next_hop(current, response, redirects, max_redirects,
                                                          origin_private)
                redirects += 1
    except TimeoutError as exc:
        if response is not None:
            await response.aclose()
        raise StreamError(f"timed out after {_seconds(deadline)}") from exc
    except _Failure as exc:
        raise StreamError(exc.message) from exc
    except httpx.HTTPError as exc:
        raise StreamError(describe_error(exc)) from exc
    try:
        yield response
    except httpx.TimeoutException as exc:
        raise StreamError(f"stalled: nothing received for {_seconds(deadline)}") from exc
    except httpx.HTTPError as exc:
        raise StreamError(describe_error(exc, in_body=True)) from exc
    finally:
        await response.aclose()


async def _drain(response: httpx.Response) -> None:
    """Read the rest of a body that is not wanted, when it is short, so that closing the
    response hands its connection back to the pool: the transport closes a connection whose
    response was not read to its end, and every 304 of a refresh then cost a new connection
    (a TLS handshake for https). A longer body is left, and its connection closed."""
    read = 0
    try:
        async for raw in response.aiter_raw():
            read += len(raw)
            if read > _MAX_DRAIN:
                return
    except httpx.HTTPError:
        pass  # the connection is closed with the response; the status is what counts


def status_message(response: httpx.Response) -> str:
    """"HTTP 404 Not Found": a status as the user is told it."""
    return f"HTTP {response.status_code} {_reason(response)}".rstrip()


async def _read_body(response: httpx.Response, max_bytes: int, *, decode: bool = True) -> bytes:
    """The decoded body, or a _Failure as soon as it passes `max_bytes` or turns out broken.
    `decode=False`: the body as sent, its Content-Encoding still applied (`inflate.decode`
    undoes it, within the same cap), capped at `max_bytes` as sent."""
    encoding = response.headers.get("Content-Encoding", "")
    length = response.headers.get("Content-Length", "")
    if not codings(encoding) and length.strip().isdigit() and int(length) > max_bytes:
        raise _Failure(too_large(max_bytes), response.status_code)
    for coding in codings(encoding):
        if coding not in CODINGS:
            raise _Failure(
                f"unsupported content encoding {clean_line(coding)[:40]!r}", response.status_code
            )
    decoder = Decoder(encoding if decode else "")
    body = bytearray()
    raw_total = 0
    try:
        async for raw in response.aiter_raw():
            raw_total += len(raw)
            # A compressed stream that decodes to nothing must not run forever either.
            if raw_total > max_bytes:
                raise _Failure(too_large(max_bytes), response.status_code)
            for piece in decoder.feed(raw):
                if len(body) + len(piece) > max_bytes:
                    raise _Failure(too_large(max_bytes), response.status_code)
                body += piece
        decoder.finish()
    except httpx.TimeoutException:
        raise
    except httpx.TransportError as exc:
        raise _Failure(describe_error(exc, in_body=True), response.status_code) from exc
    except zlib.error as exc:
        raise _Failure(f"corrupt compressed body ({encoding.strip()})", response.status_code) from exc
    if decode and not codings(encoding) and body[:2] == b"\x1f\x8b":
        try:
            return inflate_undeclared(bytes(body), max_bytes)
        except BodyError as exc:
            raise _Failure(str(exc), response.status_code) from exc
    return bytes(body)


def _parse_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise _Failure("invalid URL") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise _Failure("not an http(s) URL")
    return parsed


def is_private_host(host: str) -> bool:
    """True for a host that names this machine or a non-public network without a DNS lookup.

    Covers IP literals (v4, v6, v4-mapped v6) that are loopback, private, link-local,
    unspecified, multicast, reserved or otherwise not global, and the `localhost` names.
    A public feed may not redirect us to these: that is how a feed would make docbao
    probe a router, a local service or a cloud metadata endpoint.
    """
    name = host.strip().strip("[]").rstrip(".").lower()
    if not name:
        return False
    if name == "localhost" or name.endswith(".localhost") or name == "localhost.localdomain":
        return True
    if "%" in name:  # an IPv6 zone id only makes sense on a local link
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return _address_is_private(address)


def _address_is_private(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return _address_is_private(mapped)
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_unspecified
        or address.is_multicast
        or address.is_reserved
        or not address.is_global
    )


async def _resolve(host: str) -> list[str]:
    """The addresses `host` resolves to (tests replace this; they cannot reach public DNS)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def host_is_private(host: str) -> bool:
    """is_private_host, plus: a name that resolves to any private address is private."""
    if is_private_host(host):
        return True
    name = host.strip().strip("[]")
    try:
        ipaddress.ip_address(name)
        return False  # a public literal needs no lookup
    except ValueError:
        pass
    try:
        addresses = await _resolve(name)
    except (OSError, UnicodeError):
        return False  # unresolvable: the request itself will fail with a clear message
    return any(is_private_host(address) for address in addresses)


def parse_retry_after(value: str | None, now: int) -> int | None:
    """Retry-After (delta-seconds or an HTTP-date) as epoch seconds, within [now, now + 7 days].

    None when the header is absent or unreadable, so the caller picks its own backoff.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return now + min(int(value[:12]), MAX_DEFERRAL)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # HTTP-dates are GMT; email.utils reads "-0000" as naive
        when = when.replace(tzinfo=timezone.utc)
    try:
        at = int(when.timestamp())
    except (OverflowError, OSError, ValueError):
        return None
    return max(now, min(at, now + MAX_DEFERRAL))


def describe_error(exc: BaseException, *, in_body: bool = False) -> str:
    """A short message for the user from an httpx/OS error, without a traceback's noise."""
    chain = _causes(exc)
    text = " ".join(str(e) for e in chain).lower()
    for cause in chain:
        if isinstance(cause, ssl.SSLCertVerificationError):
            detail = clean_line(cause.verify_message or "")[:80]
            return f"TLS certificate rejected ({detail})" if detail else "TLS certificate rejected"
        if isinstance(cause, ssl.SSLError):
            return "TLS handshake failed"
    if "certificate verify failed" in text or "[ssl" in text or "handshake" in text:
        return "TLS handshake failed"
    for cause in chain:
        if isinstance(cause, socket.gaierror):
            return "host not found"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ConnectionResetError | BrokenPipeError):
            return "connection reset mid-body" if in_body else "connection reset"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return "not an http(s) URL"
    if isinstance(exc, httpx.InvalidURL):
        return "invalid URL"
    if "connection refused" in text:
        return "connection refused"
    if "reset" in text:
        return "connection reset mid-body" if in_body else "connection reset"
    if "name or service not known" in text or "nodename nor servname" in text:
        return "host not found"
    if "location header" in text:  # a client not from make_client met an unparsable redirect
        return "redirect to an invalid URL refused"
    if isinstance(exc, httpx.RemoteProtocolError):
        if in_body:
            if "expected" in text and "received" in text:
                return "response cut short (fewer bytes than Content-Length)"
            if "chunk" in text:
                return "broken chunked encoding"
            return "response body ended early"
        if "without sending a response" in text or "disconnected" in text:
            return "server closed the connection without an HTTP response"
        return "not an HTTP response"
    if isinstance(exc, httpx.ConnectError):
        return "could not connect"
    if isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.NetworkError):
        return "connection broken mid-body" if in_body else "connection broken"
    if isinstance(exc, httpx.HTTPError):
        return clean_line(str(exc))[:100] or type(exc).__name__
    return f"unexpected error: {type(exc).__name__}"


def _causes(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _reason(response: httpx.Response) -> str:
    """The standard phrase for a known status; a server's own phrase is hostile text."""
    try:
        return HTTPStatus(response.status_code).phrase
    except ValueError:
        return clean_line(response.reason_phrase)[:60]


def _valid_validator(value: str) -> bool:
    return bool(value) and len(value) <= _MAX_VALIDATOR and all(" " <= ch <= "~" for ch in value)


def _validator(value: str | None) -> str:
    """An ETag/Last-Modified worth storing: printable ASCII that can be sent back unchanged."""
    value = (value or "").strip()
    return value if _valid_validator(value) else ""


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{max(seconds, 0)} s"
    if seconds < 2 * 3600:
        return f"{round(seconds / 60)} min"
    if seconds < 2 * 86400:
        return f"{round(seconds / 3600)} h"
    return f"{round(seconds / 86400)} days"
