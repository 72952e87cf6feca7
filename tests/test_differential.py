"""docbao's parser against feedparser, on every feed of ../shared/corpus and on generated
feeds (RSS 0.9x/1.0/2.0, Atom 0.3/1.0; text, HTML, xhtml and base64 bodies; namespaces;
CDATA): the same entries, the same plain-text titles, links, ids and dates, and the same
text in the bodies (compared as text: the two sanitizers keep different markup).
"""

from __future__ import annotations

import base64
import html
import io
import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.feed_compare import fp_epoch, fp_title, html_text, squash
from tests.helpers import SHARED
from tui.content.charset import decode_feed
from tui.feeds.parse import _gunzip, _harden, _unmojibake, _utf8_document, parse_feed
from tui.model import FeedError, ParsedArticle

CORPUS = SHARED / "corpus"
FEED_FORMATS = ("rss", "atom")  # MANIFEST's format column: what is a feed (JSON Feed aside)

# Corpus files where docbao differs from feedparser on purpose, and why.
_REPAIRED = ("double-encoded UTF-8 or a legacy charset: docbao's reading is the readable one"
             " (feedparser's text is mojibake, or lost the last byte of a sequence to strip())")
_LINK_RULE = ("Atom alternates: docbao takes an HTML alternate, then the shortest URL, whatever the order;"
              " feedparser the first link")
CORPUS_DIFFERENCES: dict[str, str] = {
    "rss2/rss-parser__reddit-atom.rss":
        "relative href= inside escaped text is made absolute too (the body shows markup as text)",
    "atom/rsparser__OneFootTsunami.atom": _LINK_RULE,
    "awkward/feed-extractor__atom-multilinks.xml": _LINK_RULE,
    "atom/feedreader-cs__AtomAdobe.xml":
        "escaped HTML in an Atom <content> without a type is shown as HTML, not as its tags",
    "rss09x/newsboat__rss091_1.xml": "an unterminated tag at the end of an HTML body is dropped",
    "rss09x/newsboat__rss092_1.xml": "an unterminated tag at the end of an HTML body is dropped",
    "non-latin-scripts/feedreader-cs__Rss20CityDog.xml": _REPAIRED,
    "legacy-encodings/miniflux__no_encoding_ISO-8859-1.xml": _REPAIRED,
    "legacy-encodings/rss-parser__uolNoticias.rss": _REPAIRED,
    "legacy-encodings/rsparser__kc0011.rss": "feedparser reads the date 2020/1/10 14:33:00 as 2020-12-01",
    "awkward/node-feedparser__illegally-nested.xml":
        "an <item> illegally nested in another is an empty element, not an article",
    "awkward/rss-parser__incomplete-fields.atom": "an empty <entry> is not an article",
    "feedparser-suite/feedparser__wellformed__itunes__itunes_item_duration.xml":
        "an item with nothing but a duration is not an article",
    "feedparser-suite/feedparser__illformed__rss_incomplete_cdata.xml":
        "a document cut off inside its only entry has no complete entry to store",
}


def _feedparser(data: bytes, url: str = "") -> Any:
    """feedparser's reading of the text docbao reads: decoded by docbao's charset policy
    (tested on its own in test_parse) and without its DTD, so that only parsing differs."""
    import feedparser

    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data)
    text = decode_feed(data, "")[0].lstrip("\ufeff").lstrip()
    document = _utf8_document(_harden(text, [])[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return feedparser.parse(io.BytesIO(document), response_headers={"content-location": url})


def _fp_body(entry: Any, fix: Callable[[str], str]) -> str:
    contents = entry.get("content") or []
    if contents:
        value = fix(contents[0].get("value") or "")
        return squash(value) if contents[0].get("type") == "text/plain" else html_text(value)
    detail = entry.get("summary_detail") or {}
    value = fix(entry.get("summary") or "")
    return squash(value) if detail.get("type") == "text/plain" else html_text(value)


def _our_body(article: ParsedArticle) -> str:
    return html_text(article.content)


def differences(data: bytes, url: str = "") -> list[str]:
    """What a reader would see differently in docbao's reading and feedparser's."""
    fp = _feedparser(data, url)
    try:
        ours = parse_feed(data, url=url)
    except FeedError as exc:
        return [f"docbao refused it: {exc}"] if fp.entries else []
    repaired = "double-encoded UTF-8 repaired" in ours.warning
    fix = _unmojibake if repaired else (lambda value: value)
    found: list[str] = []
    by_key: dict[str, ParsedArticle] = {}
    for article in reversed(ours.articles):
        by_key.update({article.guid: article, _resolved(url, article.guid): article})
        if article.link:
            by_key[article.link] = article
        by_key[f"title:{article.title}"] = article
        by_key[f"body:{_our_body(article)}"] = article
    seen: set[str] = set()
    for index, entry in enumerate(fp.entries):
        entry_id = squash(entry.get("id") or "")
        # docbao repairs double-encoded UTF-8 in every title, and in bodies (whole when titles needed it)
        title = fp_title(entry.get("title_detail"), _unmojibake(entry.get("title") or ""))
        keys = [entry_id] if entry_id else []
        keys += [entry.get("link") or "", f"title:{title}", f"body:{_fp_body(entry, fix)}"]
        article = next((by_key[key] for key in keys if key and key in by_key), None)
        if article is None:
            found.append(f"entry {index} ({entry_id or entry.get('link') or title!r}) missing")
            continue
        if article.guid in seen:
            continue  # a duplicate id: docbao keeps the first
        seen.add(article.guid)
        if title != article.title:
            found.append(f"entry {index} title {article.title!r} != {title!r}")
        fp_link = entry.get("link") or ""
        if fp_link and article.link and fp_link != article.link:
            found.append(f"entry {index} link {article.link!r} != {fp_link!r}")
        published = fp_epoch(dict.get(entry, "published_parsed")) or fp_epoch(dict.get(entry, "updated_parsed"))
        if published and article.published and published != article.published:
            found.append(f"entry {index} date {article.published} != {published}")
        body, our_body = _fp_body(entry, fix), _our_body(article)
        if body != our_body and body not in our_body:
            at = next((i for i, (a, b) in enumerate(zip(body, our_body)) if a != b), min(len(body), len(our_body)))
            found.append(f"entry {index} body differs at {at}: {our_body[max(0, at - 30):at + 50]!r}"
                         f" != {body[max(0, at - 30):at + 50]!r}")
    return found


def _resolved(base: str, ref: str) -> str:
    try:
        return urljoin(base, ref)
    except ValueError:
        return ref


def _corpus_feeds() -> list[str]:
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.exists():
        return []
    rows = [line.split("\t") for line in manifest.read_text(encoding="utf-8").splitlines()[1:]]
    return [row[0] for row in rows if len(row) > 1 and row[1].startswith(FEED_FORMATS)]


@pytest.mark.parametrize("name", _corpus_feeds() or ["(no corpus)"])
def test_corpus_feed_reads_as_feedparser_reads_it(name: str) -> None:
    if not (CORPUS / "MANIFEST.tsv").exists():
        pytest.skip(f"{CORPUS} is not available (the shared corpus)")
    if name in CORPUS_DIFFERENCES:
        pytest.skip(CORPUS_DIFFERENCES[name])
    found = differences((CORPUS / name).read_bytes(), url=f"https://corpus.example/{name}")
    assert not found, "\n".join(found[:10])


_HREF = re.compile(r"""<a\b[^>]*?\shref\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)


def _link_targets(fragment: str) -> list[str]:
    return [html.unescape(a if a is not None else b).strip() for a, b in _HREF.findall(fragment or "")]


def _xml_base_feeds() -> list[str]:
    return [name for name in _corpus_feeds() if b"xml:base" in (CORPUS / name).read_bytes()]


@pytest.mark.parametrize("name", _xml_base_feeds() or ["(no corpus)"])
def test_corpus_feed_with_xml_base_links_where_feedparser_links(name: str) -> None:
    """Relative links in the bodies of a feed that uses xml:base resolve as feedparser
    resolves them (an Atom <content xml:base> after a <summary> without one was missed: every
    link of Daring Fireball's articles pointed at the feed's own host)."""
    if not (CORPUS / "MANIFEST.tsv").exists():
        pytest.skip(f"{CORPUS} is not available (the shared corpus)")
    data, url = (CORPUS / name).read_bytes(), f"https://corpus.example/{name}"
    ours, theirs = parse_feed(data, url=url), _feedparser(data, url)
    for index, (article, entry) in enumerate(zip(ours.articles, theirs.entries)):
        contents = entry.get("content") or []
        expected = _link_targets(contents[0].get("value") if contents else entry.get("summary", ""))
        assert _link_targets(article.content or article.summary) == expected, f"entry {index}"


# --------------------------------------------------------------------------- generated feeds

FORMATS = ("rss090", "rss091", "rss092", "rss10", "rss20", "atom03", "atom10")
BODY_MODES = ("text", "escaped", "cdata", "xhtml", "base64", "elements")
ATOM10 = "http://www.w3.org/2005/Atom"
ATOM03 = "http://purl.org/atom/ns#"
RSS10 = "http://purl.org/rss/1.0/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
DC = "http://purl.org/dc/elements/1.1/"

_words = st.text(alphabet="abcdefghXYZ0189 <>&'\"éđ中ẫ", min_size=1, max_size=24).filter(lambda t: t.strip())


@dataclass
class _Item:
    title: str
    title_html: bool
    words: list[str]
    body_mode: str
    cdata_title: bool
    date: int


@st.composite
def _feeds(draw: st.DrawFn) -> tuple[str, bytes]:
    fmt = draw(st.sampled_from(FORMATS))
    items = [
        _Item(
            title=draw(_words),
            title_html=draw(st.booleans()),
            words=draw(st.lists(_words, min_size=1, max_size=3)),
            body_mode=draw(st.sampled_from(BODY_MODES)),
            cdata_title=draw(st.booleans()),
            date=draw(st.integers(min_value=1_000_000_000, max_value=1_700_000_000)),
        )
        for _ in range(draw(st.integers(min_value=1, max_value=4)))
    ]
    prefixes = (draw(st.sampled_from(["content", "c", "ns1"])), draw(st.sampled_from(["dc", "d"])))
    return fmt, _render(fmt, items, prefixes)


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _paragraphs(words: list[str]) -> str:
    """The body as HTML: one paragraph per word group, a bold first word."""
    return "".join(f"<p><b>{_esc(w)}</b> end</p>" for w in words)


def _text_node(value: str, cdata: bool) -> str:
    if cdata and "]]>" not in value:
        return f"<![CDATA[{value}]]>"
    return _esc(value)


def _atom_title(item: _Item) -> str:
    if item.title_html:
        return f'<title type="html">{_text_node(_esc(item.title) + " <i>x</i>", item.cdata_title)}</title>'
    return f'<title type="text">{_text_node(item.title, item.cdata_title)}</title>'


def _atom_body(item: _Item, fmt: str) -> str:
    markup = _paragraphs(item.words)
    mode = item.body_mode
    if mode == "text":
        return f'<content type="{"text/plain" if fmt == "atom03" else "text"}">{_esc(" ".join(item.words))}</content>'
    if mode in ("xhtml", "elements"):
        kind = 'type="application/xhtml+xml" mode="xml"' if fmt == "atom03" else 'type="xhtml"'
        return f'<content {kind}><div xmlns="http://www.w3.org/1999/xhtml">{markup}</div></content>'
    if mode == "base64" and fmt == "atom03":
        return f'<content type="text/html" mode="base64">{base64.b64encode(markup.encode()).decode()}</content>'
    kind = 'type="text/html" mode="escaped"' if fmt == "atom03" else 'type="html"'
    return f"<content {kind}>{_text_node(markup, mode == 'cdata')}</content>"


def _rss_body(item: _Item, fmt: str, content: str) -> str:
    markup = _paragraphs(item.words)
    mode = item.body_mode
    if mode == "elements":
        return f"<description>{markup}</description>"  # markup written as elements
    if mode == "text":  # an RSS description is HTML: the text escaped as HTML, then as XML
        return f"<description>{_esc(_esc(' '.join(item.words)))}</description>"
    if fmt in ("rss10", "rss20") and mode in ("xhtml", "base64"):
        return (f"<description>{_esc(item.words[0])}</description>"
                f"<{content}:encoded>{_text_node(markup, True)}</{content}:encoded>")
    return f"<description>{_text_node(markup, mode == 'cdata')}</description>"


def _render(fmt: str, items: list[_Item], prefixes: tuple[str, str]) -> bytes:
    content, dc = prefixes
    stamp = lambda epoch: time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(epoch))  # noqa: E731
    iso = lambda epoch: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))  # noqa: E731
    out: list[str] = []
    if fmt.startswith("atom"):
        ns = ATOM03 if fmt == "atom03" else ATOM10
        version = ' version="0.3"' if fmt == "atom03" else ""
        out.append(f'<feed xmlns="{ns}"{version}><title>Generated</title>'
                   '<link rel="alternate" type="text/html" href="https://gen.example/"/>')
        for n, item in enumerate(items):
            date = f"<modified>{iso(item.date)}</modified>" if fmt == "atom03" else f"<updated>{iso(item.date)}</updated>"
            out.append(f"<entry><id>urn:gen:{n}</id>{_atom_title(item)}"
                       f'<link rel="alternate" type="text/html" href="https://gen.example/{n}"/>'
                       f"{date}{_atom_body(item, fmt)}</entry>")
        out.append("</feed>")
    elif fmt in ("rss090", "rss10"):
        default = "http://my.netscape.com/rdf/simple/0.9/" if fmt == "rss090" else RSS10
        out.append(f'<rdf:RDF xmlns:rdf="{RDF}" xmlns="{default}" xmlns:{content}="{CONTENT}" xmlns:{dc}="{DC}">'
                   '<channel rdf:about="https://gen.example/"><title>Generated</title>'
                   "<link>https://gen.example/</link><description>d</description></channel>")
        for n, item in enumerate(items):
            extra = f"<{dc}:date>{iso(item.date)}</{dc}:date>{_rss_body(item, fmt, content)}" if fmt == "rss10" else ""
            out.append(f'<item rdf:about="https://gen.example/{n}"><title>{_text_node(item.title, item.cdata_title)}'
                       f"</title><link>https://gen.example/{n}</link>{extra}</item>")
        out.append("</rdf:RDF>")
    else:
        version = {"rss091": "0.91", "rss092": "0.92", "rss20": "2.0"}[fmt]
        out.append(f'<rss version="{version}" xmlns:{content}="{CONTENT}"><channel><title>Generated</title>'
                   "<link>https://gen.example/</link><description>d</description>")
        for n, item in enumerate(items):
            guid = f"<guid>https://gen.example/{n}</guid>" if fmt == "rss20" else ""
            date = f"<pubDate>{stamp(item.date)}</pubDate>" if fmt != "rss091" else ""
            out.append(f"<item><title>{_text_node(item.title, item.cdata_title)}</title>"
                       f"<link>https://gen.example/{n}</link>{guid}{date}{_rss_body(item, fmt, content)}</item>")
        out.append("</channel></rss>")
    return "".join(out).encode("utf-8")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_feeds())
def test_generated_feeds_read_as_feedparser_reads_them(feed: tuple[str, bytes]) -> None:
    fmt, data = feed
    found = differences(data, url="https://gen.example/feed")
    assert not found, f"{fmt}: " + "\n".join(found[:5]) + "\n" + data.decode()
