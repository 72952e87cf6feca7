"""Undoing a body's Content-Encoding (gzip, deflate) within a cap on what it inflates to.

A gzip bomb of a few kilobytes must not become gigabytes: every step is bounded, and the cap
applies to the inflated size. No httpx here: a refresh hands the body as it came off the
wire to its parse workers, which inflate it there, off the process that drives the network.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

CODINGS = {"gzip", "x-gzip", "deflate"}  # what Accept-Encoding offers (plus gzip's old alias)
_CHUNK = 64 * 1024  # largest piece a decompressor may produce in one step


class BodyError(Exception):
    """A body that cannot be inflated within its cap; the message is for the user."""


def decode(body: bytes, header: str, max_bytes: int) -> bytes:
    """`body` with the Content-Encoding `header` undone, at most `max_bytes` of it; a gzip
    body sent without Content-Encoding is inflated too. Raises BodyError."""
    if not codings(header):
        return inflate_undeclared(body, max_bytes) if body[:2] == b"\x1f\x8b" else body
    decoder = Decoder(header)
    out = bytearray()
    try:
        for piece in decoder.feed(body):
            if len(out) + len(piece) > max_bytes:
                raise BodyError(too_large(max_bytes))
            out += piece
        decoder.finish()
    except zlib.error as exc:
        raise BodyError(f"corrupt compressed body ({header.strip()})") from exc
    return bytes(out)


def inflate_undeclared(body: bytes, max_bytes: int) -> bytes:
    """A gzip body sent without Content-Encoding (a feed.xml.gz, a misconfigured server).
    The parser would inflate it, so the cap applies to what it inflates to: a few hundred
    kilobytes on the wire must not become a 60 MB document. Not gzip after all: as is."""
    inflater = Inflater("gzip")
    out = bytearray()
    try:
        for piece in inflater.feed(bytes(body)):
            if len(out) + len(piece) > max_bytes:
                raise BodyError(too_large(max_bytes))
            out += piece
        inflater.finish()
    except zlib.error:
        return body
    return bytes(out)


def too_large(max_bytes: int) -> str:
    return f"response larger than {_size(max_bytes)}"


def codings(header: str) -> list[str]:
    """Content codings in the order the server applied them, identity dropped."""
    found = [c.strip().lower() for c in header.split(",")]
    return [c for c in found if c and c != "identity"]


class Decoder:
    """Undo Content-Encoding in pieces of at most _CHUNK bytes, so memory follows the cap.

    httpx's own decoders inflate a whole network read at once (a 64 KiB read of a bomb is
    64 MiB); here every step is bounded with `max_length`.
    """

    def __init__(self, header: str) -> None:
        # Decode in the reverse of the order applied.
        self._stages = [Inflater(coding) for coding in reversed(codings(header))]

    def feed(self, data: bytes) -> Iterator[bytes]:
        return self._through(0, data)

    def _through(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self._stages):
            if data:
                yield data
            return
        for piece in self._stages[index].feed(data):
            yield from self._through(index + 1, piece)

    def finish(self) -> None:
        """Fail if a compressed layer stopped before its end marker: the body was cut short."""
        for stage in self._stages:
            stage.finish()


class Inflater:
    """One gzip or deflate layer; "deflate" may be zlib-wrapped or raw, as servers differ."""

    def __init__(self, coding: str) -> None:
        self._gzip = coding in ("gzip", "x-gzip")
        self._obj: zlib._Decompress | None = zlib.decompressobj(31) if self._gzip else None
        self._pending = b""  # the first byte of a deflate stream, until its kind is known
        self._seen_input = False
        self._done = False  # the stream ended; what follows is ignored

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not data or self._done:
            return
        self._seen_input = True
        if self._obj is None:
            data = self._pending + data
            if len(data) < 2:
                self._pending = data
                return
            self._pending = b""
            zlib_wrapped = (data[0] & 0x0F) == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self._obj = zlib.decompressobj(15 if zlib_wrapped else -15)
        obj = self._obj
        while True:
            out = obj.decompress(data, _CHUNK)
            if out:
                yield out
            if obj.eof:
                rest = obj.unused_data
                if self._gzip and rest[:2] == b"\x1f\x8b":  # another gzip member follows
                    self._obj = obj = zlib.decompressobj(31)
                    data = rest
                    continue
                self._done = True  # trailing padding after the stream is ignored, as browsers do
                return
            data = obj.unconsumed_tail
            if not data:
                return

    def finish(self) -> None:
        if self._seen_input and not self._done:
            raise zlib.error("stream ended before its end marker")


def _size(count: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if count >= scale and count % scale == 0:
            return f"{count // scale} {unit}"
    if count >= 1 << 20:
        return f"{count / (1 << 20):.1f} MB"
    return f"{count} bytes"
