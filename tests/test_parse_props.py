"""Property tests: whatever bytes arrive, the parser answers with a ParsedFeed or a
FeedError, and every text it hands on is clean enough for the screen.

The checks call `_parse`, the body of parse_feed below its last-resort guard that turns
any other exception into a FeedError, so a bug cannot hide behind that guard."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui.model import FeedError, ParsedFeed
from tui.feeds.parse import _parse

DATA = Path(__file__).parent / "data" / "feeds"
FEEDS = sorted(p.read_bytes() for p in DATA.glob("*"))
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(data: bytes, url: str = "", content_type: str = "") -> ParsedFeed | None:
    try:
        feed = _parse(data, url, content_type)
    except FeedError as error:
        assert str(error) and "\n" not in str(error)
        return None
    check(feed)
    return feed


def check(feed: ParsedFeed) -> None:
    one_line = [feed.title, feed.link, feed.format, feed.warning]
    for article in feed.articles:
        assert article.guid
        one_line += [article.guid, article.link, article.title, article.author]
        one_line += [e.url for e in article.enclosures] + [e.type for e in article.enclosures]
        for body in (article.summary, article.content):
            assert not CONTROL.search(body.replace("\n", "").replace("\t", ""))
            assert unicodedata.is_normalized("NFC", body)
            assert "<script" not in body.lower()
        for url in [article.link, *(e.url for e in article.enclosures)]:
            assert url == "" or url.lower().startswith(("http://", "https://"))
    for text in one_line:
        assert not CONTROL.search(text) and "\n" not in text and "\t" not in text
        assert unicodedata.is_normalized("NFC", text)
    assert len({a.guid for a in feed.articles}) == len(feed.articles)


@SETTINGS
@given(st.binary(max_size=2000), st.sampled_from(["", "text/xml; charset=utf-16", "application/json"]))
def test_any_bytes(data: bytes, content_type: str) -> None:
    outcome(data, content_type=content_type)


# Pieces that make parsers and decoders take unusual paths.
TOKENS = [
    b"<", b">", b"&", b"&amp;", b"&eacute;", b"&#0;", b"&#x1b;", b"&#xD800;", b"&lol;", b"]]>",
    b"<![CDATA[", b"<!DOCTYPE rss [<!ENTITY lol 'lol'>]>", b"<!ENTITY x SYSTEM 'file:///etc/passwd'>",
    b"<?xml version='1.0' encoding='utf-16'?>", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"\xc3",
    b"\x1b[31m", "\u202e".encode(), b"</item>", b"<item>", b"<entry>", b"xml:base='../'",
    b"<link>javascript:alert(1)</link>", b"<script>alert(1)</script>", b"{", b'"items": [',
]


@st.composite
def mutated_feed(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(FEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        where = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["flip", "delete", "insert", "truncate"]))
        if action == "flip" and where < len(data):
            data[where] = draw(st.integers(0, 255))
        elif action == "delete":
            del data[where : where + draw(st.integers(1, 64))]
        elif action == "insert":
            data[where:where] = draw(st.sampled_from(TOKENS))
        elif action == "truncate":
            del data[where:]
    return bytes(data)


@SETTINGS
@given(mutated_feed(), st.sampled_from(["", "https://example.org/feeds/x.xml"]))
def test_mutated_real_feeds(data: bytes, url: str) -> None:
    outcome(data, url=url)


TEXT = st.text(
    st.characters(blacklist_categories=["Cs"]) | st.sampled_from(list("<>&;\"'\x00\x1b\u202e\u0301")),
    max_size=40,
)


@st.composite
def generated_rss(draw: st.DrawFn) -> tuple[bytes, int]:
    """A well-formed RSS document with hostile text in every field (escaped as XML
    requires); returns it and its number of items."""
    def esc(value: str) -> str:
        value = "".join(ch for ch in value if ch in "\t\n\r" or ord(ch) >= 32)
        value = "".join(ch for ch in value if ch not in "\ufffe\uffff")
        return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    count = draw(st.integers(0, 4))
    items = []
    for index in range(count):
        items.append(
            f"<item><title>{esc(draw(TEXT))}</title><guid>id-{index}</guid>"
            f"<link>{esc(draw(TEXT))}</link><author>{esc(draw(TEXT))}</author>"
            f"<pubDate>{esc(draw(TEXT))}</pubDate><description>{esc(draw(TEXT))}</description></item>"
        )
    doc = (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{esc(draw(TEXT))}'
        f"</title><link>{esc(draw(TEXT))}</link>{''.join(items)}</channel></rss>"
    )
    codec = draw(st.sampled_from(["utf-8", "utf-16", "utf-8-sig"]))
    return doc.encode(codec), count


@SETTINGS
@given(generated_rss())
def test_well_formed_feeds_keep_every_item(case: tuple[bytes, int]) -> None:
    data, count = case
    feed = outcome(data)
    assert feed is not None and feed.format == "rss20"
    assert [a.guid for a in feed.articles] == [f"id-{i}" for i in range(count)]
