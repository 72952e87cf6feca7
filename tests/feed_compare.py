"""What "docbao reads a feed as feedparser does" means, shared by the conformance and the
differential tests.

Bodies are compared as text (the two sanitizers keep different markup), titles as the plain
line a reader sees, dates as epoch seconds, links and ids as written.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from html.parser import HTMLParser
from typing import Any

_SPACE = re.compile(r"\s+")
_DROPPED = frozenset({"script", "style"})
# Where text on either side reads as two words, whatever the markup's whitespace.
_BLOCKS = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6"
    " header hr li main nav ol p pre section table tbody td tfoot th thead tr ul".split()
)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in _DROPPED:
            self.skip += 1
        elif tag in _BLOCKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED and self.skip:
            self.skip -= 1
        elif tag in _BLOCKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def html_text(markup: str | None) -> str:
    """The words of an HTML fragment, whitespace collapsed, scripts and styles dropped."""
    if not markup:
        return ""
    parser = _Text()
    parser.feed(markup)
    parser.close()
    return squash("".join(parser.parts))


def squash(text: str | None) -> str:
    """Whitespace collapsed; controls, invisible format characters (bidi marks, BOM, zero
    widths) and the like dropped: what a reader sees, and what docbao stores of a line."""
    text = "".join(
        ch for ch in (text or "")
        if (ch >= " " or ch in "\t\n\r") and unicodedata.category(ch) not in ("Cf", "Cc", "Co", "Cs")
        or ch in "\t\n\r"
    )
    return unicodedata.normalize("NFC", _SPACE.sub(" ", text).strip())


def fp_title(detail: Any, value: str) -> str:
    """feedparser's title as the plain line a reader sees: markup only when feedparser
    says the title is HTML."""
    kind = (detail or {}).get("type", "text/plain") if detail is not None else "text/plain"
    if kind in ("text/html", "application/xhtml+xml"):
        return html_text(value)
    return squash(value)


def fp_epoch(struct: Any) -> int | None:
    return int(calendar.timegm(struct)) if struct else None
