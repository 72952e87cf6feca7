"""One charset policy for every document docbao reads: a feed, a web page (reader mode and
feed discovery) and an OPML file decode the same bytes the same way, and a declaration of
a codec that smuggles escapes (UTF-7, unicode-escape) is refused by all of them: the reader
sees the escapes as written, never the markup they would decode to."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import SHARED
from tui.content.charset import codec_for, decode_feed, decode_html
from tui.feeds.discover import discover_feeds
from tui.feeds.opml import read_opml
from tui.feeds.parse import parse_feed

# é in windows-1252: the bytes are not UTF-8, so the declaration is what decides.
UNICODE_ESCAPE_PAGE = (b'<html><head><meta charset="unicode-escape"></head>'
                       b'<body><p>caf\xe9 \\u003cscript\\u003ealert(1)\\u003c/script\\u003e</p></body></html>')
UTF7_PAGE = (b'<html><head><meta charset="utf-7"></head>'
             b'<body><p>caf\xe9 +ADw-script+AD4-alert(1)+ADw-/script+AD4-</p></body></html>')


@pytest.mark.parametrize("label", ["utf-7", "UTF7", "unicode-escape", "raw-unicode-escape", "idna",
                                   "punycode", "rot13", "base64", "undefined", "x-no-such-thing"])
def test_smuggling_and_unknown_codecs_are_refused(label: str) -> None:
    assert codec_for(label) is None


@pytest.mark.parametrize(("label", "codec"), [
    ("gb2312", "gb18030"), ("x-gbk", "gb18030"), ("ISO-8859-1", "cp1252"), ("us-ascii", "cp1252"),
    ("shift_jis", "cp932"), ("windows-31j", "cp932"), ("ks_c_5601-1987", "cp949"),
    ("big5", "big5hkscs"), ("windows-1258", "cp1258"), ("koi8-r", "koi8-r"), ("macintosh", "mac-roman"),
])
def test_legacy_labels_read_through_the_superset_browsers_use(label: str, codec: str) -> None:
    assert codec_for(label) == codec


def test_a_declaration_in_ascii_bytes_cannot_mean_utf16() -> None:
    assert codec_for("utf-16", from_declaration=True) == "utf-8"
    assert codec_for("utf-16") == "utf-16"


@pytest.mark.parametrize("page", [UNICODE_ESCAPE_PAGE, UTF7_PAGE], ids=["unicode-escape", "utf-7"])
def test_a_page_declaring_an_escape_codec_shows_the_escapes_as_written(page: bytes) -> None:
    text = decode_html(page)
    assert "café" in text
    assert "<script>" not in text
    assert "\\u003cscript" in text or "+ADw-script" in text


def test_a_feed_declaring_unicode_escape_is_read_as_undeclared() -> None:
    feed = (b'<?xml version="1.0" encoding="unicode-escape"?><rss version="2.0"><channel>'
            b'<title>Caf\xe9</title><item><guid>1</guid><title>\\u003cb\\u003ebold\\u003c/b\\u003e caf\xe9</title>'
            b'</item></channel></rss>')
    text, warnings, _ = decode_feed(feed)
    assert "unknown declared encoding 'unicode-escape' ignored" in warnings
    parsed = parse_feed(feed)
    assert parsed.title == "Café"
    assert parsed.articles[0].title == "\\u003cb\\u003ebold\\u003c/b\\u003e café"


def test_discovery_does_not_decode_a_link_hidden_in_escapes() -> None:
    page = (b'<html><head><meta charset="unicode-escape">'
            b'\\u003clink rel="alternate" type="application/rss+xml" href="/hidden.xml"\\u003e'
            b'<link rel="alternate" type="application/rss+xml" href="/caf\xe9.xml" title="Caf\xe9">'
            b'</head></html>')
    found = discover_feeds(page, "https://example.org/")
    assert [(f.url, f.title) for f in found] == [("https://example.org/café.xml", "Café")]


def test_an_opml_file_declaring_utf7_is_refused_not_decoded() -> None:
    opml = (b'<?xml version="1.0" encoding="utf-7"?><opml version="2.0"><body>'
            b'<outline type="rss" xmlUrl="https://a.example/feed" text="+ADw-b+AD4-x"/></body></opml>')
    with pytest.raises(ValueError, match="cannot be read as XML"):
        read_opml(opml)


def test_an_opml_file_in_a_legacy_multibyte_charset_is_read() -> None:
    title = "Tin tức 新闻"
    opml = ('<?xml version="1.0" encoding="gb2312"?><opml version="2.0"><body>'
            f'<outline type="rss" xmlUrl="https://a.example/feed" text="{title}"/></body></opml>')
    result = read_opml(opml.encode("gb18030"))
    assert [s.title for s in result.subscriptions] == [title]


def test_feed_and_page_decoders_agree_on_declared_legacy_bytes() -> None:
    text = "Новости дня"
    body = text.encode("cp1251")
    feed = (b'<?xml version="1.0" encoding="windows-1251"?><rss version="2.0"><channel><title>'
            + body + b"</title></channel></rss>")
    page = b'<html><head><meta charset="windows-1251"><title>' + body + b"</title></head></html>"
    assert parse_feed(feed).title == text
    assert f"<title>{text}</title>" in decode_html(page)


LEGACY = sorted((SHARED / "corpus" / "legacy-encodings").glob("*"))


@pytest.mark.skipif(not LEGACY, reason="the shared corpus has no legacy-encodings folder")
@pytest.mark.parametrize("path", LEGACY, ids=lambda p: p.name)
def test_a_legacy_feed_served_as_utf8_is_read_in_its_own_encoding(path: Path) -> None:
    """Servers label everything UTF-8; windows-1251 or gb2312 text makes a valid UTF-8
    sequence now and then, which must not make the whole feed read as UTF-8."""
    data = path.read_bytes()
    text, _, _ = decode_feed(data, "utf-8")
    assert "\ufffd" not in text
    assert text == decode_feed(data, "")[0]
    feed = parse_feed(data, content_type="application/rss+xml; charset=utf-8")
    assert not any("\ufffd" in article.title + article.content for article in feed.articles)


def test_utf8_with_a_few_broken_bytes_stays_utf8() -> None:
    body = ("Lãnh đạo Trung ương làm việc với Tỉnh ủy " * 20).encode() + b"\xff\xfe broken"
    feed = b'<?xml version="1.0" encoding="windows-1251"?><rss version="2.0"><channel><title>' + body + b"</title></channel></rss>"
    text, warnings, _ = decode_feed(feed, "utf-8")
    assert "Lãnh đạo" in text and warnings == ["invalid UTF-8 bytes replaced"]
