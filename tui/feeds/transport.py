"""HTTP/1.1 under httpx: keep-alive connections on asyncio, read and written by h11.

httpx's own transport (httpcore over anyio) spent about 1.5 ms of CPU on each request of a
refresh, as much as the process's whole share of a 500-feed refresh: its pool checks every
connection of the pool for each request, anyio rebuilds a socket's attributes at each
look, and a request passes through four layers of objects. Here a request is one h11
exchange on an `asyncio.Protocol`; httpx above it (requests, headers, redirects left to
fetch) is unchanged, and so are its exceptions, which fetch turns into the user's words.

A connection goes back to its origin's idle list when its response was read to the end
and both sides keep it alive; it is taken again only while it is quiet (nothing sent
unasked, not closed by the server, idle less than `keepalive_expiry`). A request on a
reused connection that the server closed before answering is sent again, once, on a new
connection, when its body can be sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Iterator

import h11
import httpx

_READ_LIMIT = 256 * 1024  # bytes received and not yet read before the socket stops being read
_MAX_HEAD = 100 * 1024  # a response's status line and headers, at most
_UNANSWERED = "Server disconnected without sending a response."  # (httpcore's words)


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection and its h11 state."""

    def __init__(self) -> None:
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_HEAD)
        self.transport: asyncio.Transport | None = None
        self.idle_since = 0.0
        self.used = False  # has carried a request already
        self._received = bytearray()
        self._closed = False
        self._lost: Exception | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._received += data
        if len(self._received) > _READ_LIMIT and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self._closed = True
        self._wake()
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._lost = exc
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def read(self) -> bytes:
        """What has come in since the last read; b"" once the server has closed."""
        while not self._received and not self._closed:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        if not self._received and self._lost is not None:
            raise self._lost
        data = bytes(self._received)
        self._received.clear()
        if self._paused and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        return data

    def write(self, data: bytes) -> None:
        if self._closed or self.transport is None or self.transport.is_closing():
            raise ConnectionResetError("the server closed the connection")
        self.transport.write(data)

    @property
    def quiet(self) -> bool:
        """Open, and nothing received since its last response: fit to carry a request."""
        return not self._closed and not self._received and self.transport is not None \
            and not self.transport.is_closing()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        self._closed = True


class _ClosedUnanswered(Exception):
    """A reused connection was found closed before any of its response came."""


class Transport(httpx.AsyncBaseTransport):
    """At most `max_connections` requests at once, each on a connection of its origin;
    idle connections kept `keepalive_expiry` seconds. `tls` is the context for https."""

    def __init__(self, *, max_connections: int, keepalive_expiry: float, tls: ssl.SSLContext) -> None:
        self._slots = asyncio.Semaphore(max(1, max_connections))
        self._max_idle = max(1, max_connections)
        self._expiry = keepalive_expiry
        self._tls = tls
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._idle_count = 0
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        origin = _origin(request.url)
        timeouts = request.extensions.get("timeout", {})
        try:
            async with asyncio.timeout(timeouts.get("pool")):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise httpx.PoolTimeout("no connection became free in time") from exc
        try:
            connection = self._take(origin)
            if connection is not None:
                try:
                    return await self._exchange(connection, origin, request, timeouts)
                except _ClosedUnanswered as exc:
                    if not isinstance(request.stream, httpx.ByteStream):
                        raise httpx.RemoteProtocolError(_UNANSWERED) from exc
            connection = await self._connect(origin, timeouts)
            try:
                return await self._exchange(connection, origin, request, timeouts)
            except _ClosedUnanswered as exc:
                raise httpx.RemoteProtocolError(_UNANSWERED) from exc
        except BaseException:
            self._slots.release()
            raise

    async def aclose(self) -> None:
        self._closed = True
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()
        self._idle_count = 0

    def _take(self, origin: tuple[str, str, int]) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            self._idle_count -= 1
            if connection.quiet and now - connection.idle_since < self._expiry:
                return connection
            connection.close()
        return None

    def _give_back(self, connection: _Connection, origin: tuple[str, str, int], whole: bool) -> None:
        """A response's end: its connection kept for the next request, or closed."""
        try:
            if (whole and not self._closed and connection.quiet and connection.h11.our_state is h11.DONE
                    and connection.h11.their_state is h11.DONE):
                connection.h11.start_next_cycle()
                connection.idle_since = time.monotonic()
                if self._idle_count >= self._max_idle:
                    self._drop_oldest()
                self._idle.setdefault(origin, []).append(connection)
                self._idle_count += 1
            else:
                connection.close()
        finally:
            self._slots.release()

    def _drop_oldest(self) -> None:
        oldest = min((c for cs in self._idle.values() for c in cs), key=lambda c: c.idle_since)
        for connections in self._idle.values():
            if oldest in connections:
                connections.remove(oldest)
        oldest.close()
        self._idle_count -= 1

    async def _connect(self, origin: tuple[str, str, int], timeouts: dict[str, float | None]) -> _Connection:
        scheme, host, port = origin
        tls = self._tls if scheme == "https" else None
        loop = asyncio.get_running_loop()
        with _mapped(httpx.ConnectTimeout, httpx.ConnectError):
            async with asyncio.timeout(timeouts.get("connect")):
                _, connection = await loop.create_connection(
                    _Connection, host, port, ssl=tls, server_hostname=host if tls else None)
        return connection

    async def _exchange(self, connection: _Connection, origin: tuple[str, str, int], request: httpx.Request,
                        timeouts: dict[str, float | None]) -> httpx.Response:
        reused, connection.used = connection.used, True
        try:
            with _mapped(httpx.WriteTimeout, httpx.WriteError):
                try:
                    connection.write(connection.h11.send(h11.Request(
                        method=request.method, target=request.url.raw_path, headers=request.headers.raw)))
                except ConnectionError as exc:
                    raise _ClosedUnanswered() from exc
                async for chunk in request.stream:  # type: ignore[union-attr]
                    connection.write(connection.h11.send(h11.Data(data=chunk)))
                connection.write(connection.h11.send(h11.EndOfMessage()))
            with _mapped(httpx.ReadTimeout, httpx.ReadError):
                while True:
                    event = await _next_event(connection, timeouts.get("read"), unanswered=reused)
                    if isinstance(event, h11.Response):
                        break
                    if not isinstance(event, h11.InformationalResponse) or event.status_code == 101:
                        raise httpx.RemoteProtocolError(f"unexpected {type(event).__name__} before a response")
        except BaseException:
            connection.close()
            raise
        return httpx.Response(
            event.status_code,
            headers=event.headers.raw_items(),
            stream=_Body(self, connection, origin, timeouts.get("read")),
            extensions={"http_version": b"HTTP/" + event.http_version, "reason_phrase": event.reason},
        )


class _Body(httpx.AsyncByteStream):
    """A response's body as it comes; closing it hands its connection back."""

    def __init__(self, transport: Transport, connection: _Connection, origin: tuple[str, str, int],
                 timeout: float | None) -> None:
        self._transport = transport
        self._connection = connection
        self._origin = origin
        self._timeout = timeout
        self._whole = False
        self._done = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _mapped(httpx.ReadTimeout, httpx.ReadError):
            while not self._whole:
                event = await _next_event(self._connection, self._timeout)
                if isinstance(event, h11.Data):
                    yield bytes(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    self._whole = True
                else:  # (h11 has no other event inside a body)
                    raise httpx.RemoteProtocolError(f"unexpected {type(event).__name__} in a body")

    async def aclose(self) -> None:
        if not self._done:
            self._done = True
            self._transport._give_back(self._connection, self._origin, self._whole)


async def _next_event(connection: _Connection, timeout: float | None, *, unanswered: bool = False) -> object:
    """h11's next event, reading from the connection while it needs more. `unanswered`: a
    reused connection's first response, whose absence (the server had closed it) is
    _ClosedUnanswered."""
    while True:
        event = connection.h11.next_event()
        if event is not h11.NEED_DATA:
            return event
        try:
            async with asyncio.timeout(timeout):
                data = await connection.read()
        except ConnectionError as exc:
            if unanswered and connection.h11.their_state is h11.SEND_RESPONSE:
                raise _ClosedUnanswered() from exc
            raise
        if not data and connection.h11.their_state is h11.SEND_RESPONSE:
            if unanswered:
                raise _ClosedUnanswered()
            raise httpx.RemoteProtocolError(_UNANSWERED)
        connection.h11.receive_data(data)


@contextlib.contextmanager
def _mapped(timeout: type[httpx.TimeoutException], broken: type[httpx.TransportError]) -> Iterator[None]:
    """OS, TLS and protocol errors as httpx's, the original kept as the cause."""
    try:
        yield
    except TimeoutError as exc:
        raise timeout("timed out") from exc
    except h11.RemoteProtocolError as exc:
        raise httpx.RemoteProtocolError(str(exc)) from exc
    except h11.LocalProtocolError as exc:
        raise httpx.LocalProtocolError(str(exc)) from exc
    except OSError as exc:  # ssl.SSLError, socket.gaierror and resets are OSErrors too
        raise broken(str(exc) or type(exc).__name__) from exc


def _origin(url: httpx.URL) -> tuple[str, str, int]:
    scheme = url.scheme
    if scheme not in ("http", "https"):
        raise httpx.UnsupportedProtocol(f"Request URL has an unsupported protocol '{scheme}://'.")
    if not url.host:
        raise httpx.UnsupportedProtocol("Request URL is missing a host.")
    host = url.raw_host.decode("ascii")
    if host.startswith("["):
        host = host[1:-1]
    return scheme, host, url.port or (443 if scheme == "https" else 80)
