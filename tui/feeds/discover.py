"""Subscribe by site URL: the feeds a web page names, and a cheap "is this a feed?" test.

Pure functions over bytes: the caller fetches the page (and, when the page names no feed,
probes COMMON_PATHS on the same site), then asks `looks_like_feed` before subscribing, so
that a typo'd URL answering with an HTML page is never added as a feed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from tui.feeds.opml import normalise_url
from tui.content.charset import decode_html, wide_encoding
from tui.content.sanitize import clean_line, is_openable_url

# Paths where blog engines publish a feed when the page does not announce one: WordPress
# (/feed), Ghost and many others (/rss), Jekyll (/feed.xml), Hugo (/index.xml), Blogger.
COMMON_PATHS = [
    "/feed", "/rss", "/feed.xml", "/rss.xml", "/atom.xml", "/index.xml", "/feed.json",
    "/feeds/posts/default",
]

FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
)

_SNIFF_BYTES = 8192


@dataclass(frozen=True, slots=True)
class DiscoveredFeed:
    url: str
    title: str = ""
    type: str = ""  # the announced MIME type, lowercased, without parameters


class _LinkCollector(HTMLParser):
    """Collects <link> attributes and the first <base href>; browsers use the first of each
    repeated attribute, and so does this."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[dict[str, str]] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("link", "base"):
            return
        first: dict[str, str] = {}
        for name, value in attrs:
            first.setdefault(name, value or "")
        if tag == "link":
            self.links.append(first)
        elif self.base is None and "href" in first:
            self.base = first["href"]


def discover_feeds(html: bytes, base_url: str) -> list[DiscoveredFeed]:
    """The feeds a page announces with <link rel="alternate" type="…feed type…">.

    `rel` is a token list ("alternate home" counts), compared without case; relative hrefs
    resolve against the page's <base href> if it has one, else `base_url`. Only http(s)
    results are kept, in document order, each feed once (by normalised URL). WordPress's
    REST links (`application/json` under /wp-json/) describe a page, not a feed, and are
    left out.
    """
    parser = _LinkCollector()
    parser.feed(decode_html(html))
    parser.close()
    base = base_url
    if parser.base:
        candidate = urljoin(base_url, parser.base.strip())
        if is_openable_url(candidate):
            base = candidate
    found: list[DiscoveredFeed] = []
    seen: set[str] = set()
    for attrs in parser.links:
        rel = {token.lower() for token in attrs.get("rel", "").split()}
        kind = attrs.get("type", "").split(";", 1)[0].strip().lower()
        href = attrs.get("href", "").strip()
        if "alternate" not in rel or kind not in FEED_TYPES or not href:
            continue
        try:
            url = urljoin(base, href)
            key = normalise_url(url)
            urlsplit(url).port  # noqa: B018 - a port that cannot be read means a broken href
        except ValueError:
            continue
        if not is_openable_url(url) or key in seen:
            continue
        if kind == "application/json" and "/wp-json/" in urlsplit(url).path:
            continue
        seen.add(key)
        found.append(DiscoveredFeed(url=url, title=clean_line(attrs.get("title", "")), type=kind))
    return found


# --- sniffing -----------------------------------------------------------------------------

_START_TAG = re.compile(r"<([A-Za-z_][\w.:-]*)")
_JSON_FEED_VERSION = re.compile(rb"jsonfeed\.org\\?/version")
_JSON_ITEMS = re.compile(rb'"items"\s*:\s*\[')
_JSON_FEED_KEYS = re.compile(rb'"(?:feed_url|home_page_url)"\s*:')
_RSS_RDF_NAMESPACES = ("purl.org/rss/1.0", "my.netscape.com/rdf/simple/0.9")
_FEED_CONTENT_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml",
                       "application/feed+json")


def _sniff_text(data: bytes, encoding: str | None) -> str:
    """The start of the document as text (markup is ASCII, so latin-1 reads any 8-bit form)."""
    head = data[:_SNIFF_BYTES]
    if encoding is None:
        return head.decode("latin-1")
    width = 4 if "32" in encoding else 2
    return head[: len(head) // width * width].decode(encoding, errors="replace")


def _root_element(text: str) -> tuple[str, str] | None:
    """(root element name, the text from it on), skipping the prolog; None if not reached."""
    pos = 0
    text = text.lstrip("\ufeff\xef\xbb\xbf")
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if text.startswith("<?", pos):
            end = text.find("?>", pos)
        elif text.startswith("<!--", pos):
            end = text.find("-->", pos)
        elif text.startswith("<!", pos):
            bracket, close = text.find("[", pos), text.find(">", pos)
            end = text.find("]>", pos) if -1 < bracket < close else close
        else:
            match = _START_TAG.match(text, pos)
            return (match.group(1), text[pos:]) if match else None
        if end < 0:
            return None
        pos = text.find(">", end) + 1


def _looks_like_json_feed(data: bytes, kind: str) -> bool:
    """A JSON object that names its JSON Feed version anywhere (keys come in any order),
    or, cut short before that key, carries JSON Feed's own key names or content type."""
    if _JSON_FEED_VERSION.search(data):
        return True
    head = data[:_SNIFF_BYTES]
    return kind == "application/feed+json" or bool(
        _JSON_ITEMS.search(head) and _JSON_FEED_KEYS.search(head)
    )


def looks_like_feed(data: bytes, content_type: str) -> bool:
    """True when the bytes are RSS, Atom, RDF or a JSON Feed, judged from their start.

    The bytes decide, not the header: servers send feeds as text/html and error pages as
    application/rss+xml. Only when the start of the document is all prolog (a very long
    comment or DTD) does a feed Content-Type tip the balance. A JSON document counts when it
    names its JSON Feed version, wherever that key sits.
    """
    kind = content_type.split(";", 1)[0].strip().lower()
    encoding = wide_encoding(data)
    text = _sniff_text(data, encoding)
    if text.lstrip("\ufeff\xef\xbb\xbf \t\r\n").startswith("{"):
        body = data if encoding is None else data.decode(encoding, errors="replace").encode()
        return _looks_like_json_feed(body, kind)
    root = _root_element(text)
    if root is None:
        return kind in _FEED_CONTENT_TYPES and text.lstrip().startswith("<")
    name, rest = root
    local = name.rsplit(":", 1)[-1].lower()
    if local in ("rss", "feed"):
        return True
    if local == "rdf":  # RDF is used for much else: only RSS 1.0 / 0.90 count
        return any(ns in rest for ns in _RSS_RDF_NAMESPACES)
    return False
