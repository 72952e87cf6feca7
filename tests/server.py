"""A programmable HTTP server on 127.0.0.1 for tests: real sockets, real HTTP/1.1.

    with LocalServer() as srv:
        srv.route("/feed.xml", body=data, content_type="application/rss+xml", etag='"v1"')
        url = srv.url("/feed.xml")

A route answers conditional GETs (If-None-Match / If-Modified-Since) with 304 when it has
an ETag / Last-Modified, gzips when asked and allowed, and can be slowed down. With
`ranges=True` it answers `Range: bytes=N-` with 206 (or 416 past the end) and honours
If-Range; `pace` sleeps between 64 KiB pieces of the body; `length` announces another
Content-Length than the body has (a lying server: it hangs up after the body). For
misbehaving servers, pass `raw=callable(handler)`: it gets the BaseHTTPRequestHandler
and writes whatever bytes it likes to `handler.wfile`.

`RawServer` is a bare TCP listener for peers that do not speak HTTP at all (silent,
garbage, fake TLS); `abort(sock)` ends a connection with a reset.
"""

from __future__ import annotations

import gzip
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/xml"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str = ""
    last_modified: str = ""
    delay: float = 0.0
    gzip: bool = True
    ranges: bool = False
    pace: float = 0.0
    length: int | None = None
    raw: Callable[[BaseHTTPRequestHandler], None] | None = None


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        owner = self.server.owner
        owner.requests.append(Request("GET", self.path, {k.lower(): v for k, v in self.headers.items()}))
        route = owner.routes.get(self.path.split("?", 1)[0])
        if route is None:
            self._send(404, b"not found", {"Content-Type": "text/plain"})
            return
        if route.delay:
            time.sleep(route.delay)
        if route.raw is not None:
            try:
                route.raw(self)
            except OSError:  # the client hung up on a hostile response: expected, not an error
                self.close_connection = True
            return
        headers = {"Content-Type": route.content_type, **route.headers}
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        if route.status == 200 and (
            (route.etag and inm and route.etag in [t.strip() for t in inm.split(",")])
            or (route.last_modified and not inm and ims == route.last_modified)
        ):
            self._send(304, b"", headers)
            return
        body = route.body
        status = route.status
        asked = self.headers.get("Range", "")
        if_range = self.headers.get("If-Range")
        if route.ranges and status == 200 and asked.startswith("bytes=") and asked.endswith("-") \
                and (if_range is None or if_range == route.etag):
            start = int(asked[6:-1])
            if start >= len(body):
                self._send(416, b"", {"Content-Range": f"bytes */{len(body)}"})
                return
            headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
            body, status = body[start:], 206
        if route.ranges:
            headers["Accept-Ranges"] = "bytes"
        if route.gzip and "gzip" in self.headers.get("Accept-Encoding", "") and body:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        self._send(status, body, headers, pace=route.pace, length=route.length)

    def _send(self, status: int, body: bytes, headers: dict[str, str], *, pace: float = 0.0,
              length: int | None = None) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if status == 304:
            return
        if not pace:
            self.wfile.write(body)
        else:
            for start in range(0, len(body), 65536):
                self.wfile.write(body[start:start + 65536])
                self.wfile.flush()
                time.sleep(pace)
        if length is not None and length != len(body):
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # A refresh opens 64 connections at once; the default backlog of 5 left the rest to
    # retry until their deadline, and a 200-feed refresh lost a feed to it.
    request_queue_size = 1024
    owner: "LocalServer"

    def process_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        self.owner.connections += 1  # (called on the accepting thread only)
        super().process_request(request, client_address)  # type: ignore[arg-type]

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up mid-response (as fetch does on a bomb) is not a server bug."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class LocalServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self.connections = 0  # TCP connections accepted so far
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, body: bytes | str = b"", **options: object) -> str:
        """Serve `body` at `path`; returns the full URL."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.routes[path] = Route(body=body, **options)  # type: ignore[arg-type]
        return self.url(path)

    def route_file(self, path: str, file: Path, **options: object) -> str:
        return self.route(path, file.read_bytes(), **options)

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path.split("?", 1)[0] == path]

    def start(self) -> "LocalServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> "LocalServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class RawServer:
    """A TCP listener on 127.0.0.1 that need not speak HTTP at all.

    Each accepted connection is passed to `handler(sock)` on its own daemon thread, for
    servers that stay silent, answer with garbage, or reset the connection. The socket is
    closed when the handler returns.
    """

    def __init__(self, handler: Callable[[socket.socket], None]) -> None:
        self.handler = handler
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    def url(self, path: str = "/", scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            self.handler(conn)
        except OSError:
            pass  # the client hung up: that is usually the point of the test
        finally:
            conn.close()

    def start(self) -> "RawServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()

    def __enter__(self) -> "RawServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def read_request_head(conn: socket.socket, limit: int = 65536) -> bytes:
    """Read up to the blank line that ends a request's headers (or until the client stops)."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < limit:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def abort(conn: socket.socket) -> None:
    """Close with a TCP RST instead of a FIN: what a crashing server or a middlebox does."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()
