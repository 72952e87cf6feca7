"""Feed bytes -> ParsedFeed: RSS 0.9x/1.0/2.0, Atom 0.3/1.0 and JSON Feed 1.0/1.1. No I/O.

The pipeline, and why each step exists:

1. Bytes are decoded by docbao, not by the XML parsers, so that every parser sees the same
   text: BOM, then UTF-16/32 by their NUL pattern, then UTF-8 when the bytes are valid UTF-8
   (whatever the declaration says: a wrong declaration is far more common than legacy text
   that happens to be valid UTF-8), then the HTTP charset, then the XML declaration, then a
   guess (windows-1252 unless detection finds a non-Latin script). Legacy charsets are read
   through their supersets (gb2312 -> gb18030, iso-8859-1 -> windows-1252, ...).
2. DTDs never reach a parser. The DOCTYPE is cut out: short literal entities are
   substituted within a growth limit; external and parameter entities are dropped unread
   (a reference to one stays visible text); entities that refer to other entities (billion
   laughs), carry markup or are long get the document refused. HTML named entities, which
   RSS 0.91's DTD used to supply, become numeric references.
3. fastfeedparser (lxml, native extractor) reads the documents it reads as feedparser
   does; feedparser 6 reads the others, and those fastfeedparser fails on, finds fewer
   entries in, or that are not well-formed. fastfeedparser keeps only the text before an
   element's first child and knows no Media RSS, iTunes, base64 or feedparser's aliases,
   so a document holding any of these (found from its element names, which the
   well-formedness check reads anyway) goes to feedparser alone: its reading wins. Both
   go through one normaliser, so an entry's identity (guid, link) does not depend on the
   parser: a feed that is malformed on one refresh and fine on the next keeps its articles.
4. Every text field is cleaned with tui.content.sanitize: titles as one plain line (a plain
   text title keeps a literal "<T>" or "&"; an HTML title goes through an HTML parser,
   html5ever, its scripts and styles dropped whole), HTML bodies through the allowlist sanitizer, once,
   after relative URLs were made absolute.

Entries: guid is the entry's id, else its link as written in the document, else a SHA-1 of
title and date. The first of several entries with one guid is kept (feeds list newest
first). `content` holds the full body (content:encoded, Atom content, or the description
when that is all there is, a Media RSS description included) and `summary` the description
only when it differs from it. Media: enclosures (RSS, Atom, audio/video Media RSS content,
JSON Feed attachments) with their durations, and the lead image the feed names
(media:thumbnail, an image media:content, itunes:image, JSON Feed image/banner_image); the
body's first <img> stands in for it where it is shown (tui.content.render.lead_image), so
that a cache does not rewrite every article with a picture to store a copy of its URL.
Dates are epoch seconds; a date more than two days ahead, and a date on or before 1970-01-01
(what broken generators emit for "no date"), become None: the store then dates the article
by when it was first seen, which the same bytes never change.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import html
import html.entities
import io
import json
import re
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from html.entities import html5 as _HTML5_ENTITIES
from typing import Any
from urllib.parse import urljoin

from tui.model import Enclosure, FeedError, ParsedArticle, ParsedFeed
from tui.content.charset import decode_feed
from tui.content.sanitize import (
    clean_line,
    drop_control_refs,
    html_to_line,
    is_openable_url,
    mend_declarations,
    sanitize_html,
)

__all__ = ["parse_feed"]

MAX_INFLATED_BYTES = 64 * 1024 * 1024  # a gzip body is inflated up to this size, no further
FUTURE_SLACK = 2 * 86400  # dates further ahead than this are taken as unknown
MAX_GUID = 2048  # a longer id is stored as its SHA-1, so a hostile feed cannot bloat the index

# --------------------------------------------------------------------------- entry point


def parse_feed(data: bytes, *, url: str = "", content_type: str = "") -> ParsedFeed:
    """Parse one fetched document. Raises FeedError, and only FeedError, when nothing in it
    can be read as a feed; a damaged feed that still yields entries comes back with
    `warning` set."""
    try:
        return _parse(data, url, content_type)
    except FeedError:
        raise
    except (RecursionError, MemoryError) as exc:  # a pathological document
        raise FeedError(f"document too complex to parse ({type(exc).__name__})") from exc
    except Exception as exc:  # noqa: BLE001 - one bad feed must never stop a refresh
        raise FeedError(f"could not parse the document ({type(exc).__name__})") from exc


def _parse(data: bytes, url: str, content_type: str, reader: str = "auto") -> ParsedFeed:
    """parse_feed's body; `reader` ("auto", "fastfeedparser", "feedparser") lets the tests
    check that both parsers give entries the same identity."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise FeedError("no document (expected bytes)")
    data = bytes(data)
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data)
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf\xfe\xff"):
        raise FeedError("empty document")
    mime, http_charset = _split_content_type(content_type)
    text, warnings, pristine = decode_feed(data, http_charset)
    if text.startswith("\ufeff"):
        text = text[1:]
        pristine = False
    stripped = text.lstrip()
    if not stripped:
        raise FeedError("empty document")
    if stripped[0] in "{[" or (mime.endswith("json") and not stripped.startswith("<")):
        return _parse_json_feed(stripped, url, warnings)
    if len(stripped) != len(text):
        text = stripped
        pristine = False
    hardened, changed = _harden(text, warnings)
    if changed:
        text = hardened
        pristine = False
    return _parse_xml(text, data if pristine else None, url, warnings, reader)


# --------------------------------------------------------------------------- bytes and text


def _gunzip(data: bytes) -> bytes:
    """A gzip body that came without Content-Encoding: inflate it, within a size cap."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, MAX_INFLATED_BYTES + 1)
    except zlib.error as exc:
        raise FeedError(f"corrupt gzip data ({exc})") from exc
    if len(out) > MAX_INFLATED_BYTES or inflater.unconsumed_tail:
        raise FeedError("compressed document too large")
    if not out:
        raise FeedError("corrupt gzip data (nothing inflated)")
    return out


def _split_content_type(content_type: str) -> tuple[str, str]:
    mime, _, params = (content_type or "").partition(";")
    charset = ""
    match = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", params, re.IGNORECASE)
    if match:
        charset = match.group(1)
    return mime.strip().lower(), charset


# --------------------------------------------------------------------------- hardening

_XML_PREDEFINED = {"amp", "lt", "gt", "quot", "apos"}
_MAX_ENTITY_DECLS = 32
_MAX_ENTITY_VALUE = 1024
_MAX_ENTITY_GROWTH = 1024 * 1024
_MAX_DOCTYPE = 256 * 1024
_DOCTYPE_TOKEN = re.compile(
    r"""\"[^\"]*\"|'[^']*'|<!--.*?-->|<\?.*?\?>|[\[\]>]|[^\"'\[\]<>]+|<""", re.DOTALL
)
_ENTITY_ANY = re.compile(r"<!ENTITY\b", re.IGNORECASE)
# One declaration: parameter marker, name, then a literal or an external identifier.
_ENTITY_DECL = re.compile(
    r"""<!ENTITY\s+(%\s+)?([A-Za-z_:][\w.:-]*)\s+"""
    r"""(?:"([^"]*)"|'([^']*)'"""
    r"""|(SYSTEM|PUBLIC)(?:\s+(?:"[^"]*"|'[^']*'))+(?:\s+NDATA\s+[\w.:-]+)?)"""
    r"""\s*>""",
    re.IGNORECASE,
)
_SAFE_ENTITY_VALUE = re.compile(r"(?:[^<&%]|&#[0-9]{1,7};|&#x[0-9a-fA-F]{1,6};)*")
_STRAY_DECL = re.compile(r"<!(?=(?i:doctype|entity)\b)")
_STRAY_CANDIDATE = re.compile("<![DdEe]")
_NAMED_REF = re.compile(r"&(?!(?:amp|lt|gt|quot|apos);)([A-Za-z][A-Za-z0-9]{0,31});")
_CHAR_REF = re.compile(r"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));")
# Character references that may name a character XML 1.0 forbids: below 0x20, surrogates,
# U+FFFE/U+FFFF, beyond U+10FFFF. A cheap first look before the exact check.
_BAD_CHAR_REF_CANDIDATE = re.compile(
    r"&#(?:[xX]0*(?:[0-9a-fA-F]{1,2}|[dD][89a-fA-F][0-9a-fA-F]{2}|[fF]{3}[eEfF]|[0-9a-fA-F]{7,})"
    r"|0*(?:[0-9]{1,2}|5[5-7][0-9]{3}|6553[45]|[0-9]{7,}));"
)


def _harden(text: str, notes: list[str]) -> tuple[str, bool]:
    """Remove the DTD before any parser sees the document; see the module docstring.

    Returns the text and whether it changed; what the user should know goes to notes."""
    changed = False
    pos = _prolog_doctype(text)
    if pos is not None:
        start, end, subset = pos
        entities, dropped = _literal_entities(subset)
        text = text[:start] + text[end:]
        changed = True
        if entities:
            text = _substitute_entities(text, entities)
        if dropped:
            notes.append("external entity declarations ignored")
    # A DOCTYPE or ENTITY declaration anywhere else is not markup: make it text, so that
    # no parser (feedparser's loose one included) can act on it.
    if _STRAY_CANDIDATE.search(text):
        text, count = _STRAY_DECL.subn("&lt;!", text)
        changed = changed or count > 0
    if _BAD_CHAR_REF_CANDIDATE.search(text):
        # &#27; and the like are illegal in XML 1.0, and lxml's recovery from one drops
        # every entity reference of the document; the sanitizer would drop them anyway.
        text, count = _CHAR_REF.subn(_drop_illegal_char_ref, text)
        changed = changed or count > 0
    if _named_ref_outside_cdata(text):
        # In CDATA the change is harmless: "&#233;" is the same HTML as "&eacute;".
        text = _NAMED_REF.sub(_named_ref_to_numeric, text)
        changed = True
    return text, changed


def _named_ref_outside_cdata(text: str) -> bool:
    """Whether an HTML entity reference appears where the XML parser would see it (and
    drop it, cutting the text short); references inside CDATA are plain text."""
    match = _NAMED_REF.search(text)
    while match:
        start = match.start()
        opened = text.rfind("<![CDATA[", 0, start)
        if opened < 0 or text.rfind("]]>", opened, start) >= 0:
            return True
        closed = text.find("]]>", start)
        if closed < 0:
            return True
        match = _NAMED_REF.search(text, closed + 3)
    return False


def _prolog_doctype(text: str) -> tuple[int, int, str] | None:
    """Where the DOCTYPE before the root element is: (start, end, internal subset)."""
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if text.startswith("<?", i):
            close = text.find("?>", i)
            if close < 0:
                return None
            i = close + 2
        elif text.startswith("<!--", i):
            close = text.find("-->", i + 4)
            if close < 0:
                return None
            i = close + 3
        elif text[i : i + 9].upper() == "<!DOCTYPE":
            return _doctype_extent(text, i)
        else:
            return None
    return None


def _doctype_extent(text: str, start: int) -> tuple[int, int, str]:
    """Scan the DOCTYPE token by token (quoted strings, comments and processing
    instructions may hold "]" or ">") to its end."""
    depth = 0
    subset_start = subset_end = -1
    for match in _DOCTYPE_TOKEN.finditer(text, start + 9):
        token = match.group()
        if token == "[":
            if depth == 0:
                subset_start = match.end()
            depth += 1
        elif token == "]":
            depth -= 1
            if depth == 0:
                subset_end = match.start()
        elif token == ">" and depth <= 0:
            has_subset = subset_start >= 0 and subset_end >= 0
            return start, match.end(), text[subset_start:subset_end] if has_subset else ""
        if match.end() - start > _MAX_DOCTYPE:
            raise FeedError("XML with an oversized DOCTYPE refused")
    raise FeedError("XML with an unterminated DOCTYPE refused")


def _literal_entities(subset: str) -> tuple[dict[str, str], bool]:
    """The internal subset's literal entities, and whether external or parameter entities
    were dropped with the DTD. Refuses entities that refer to other entities (billion
    laughs), carry markup, are long or too many."""
    entities: dict[str, str] = {}
    dropped = False
    declarations = _ENTITY_DECL.findall(subset)
    if len(declarations) > _MAX_ENTITY_DECLS:
        raise FeedError("XML with entity declarations refused (too many)")
    for match in declarations:
        parameter, name, literal_dq, literal_sq, external = match
        if parameter or external:
            dropped = True  # never loaded: a reference to it stays literal text
            continue
        value = literal_dq or literal_sq
        if len(value) > _MAX_ENTITY_VALUE or not _SAFE_ENTITY_VALUE.fullmatch(value):
            raise FeedError("XML with entity declarations refused (nested or oversized entity)")
        if name not in _XML_PREDEFINED:
            entities.setdefault(name, value)  # XML: the first declaration binds
    if len(declarations) != len(_ENTITY_ANY.findall(subset)):
        raise FeedError("XML with entity declarations refused (unreadable declaration)")
    return entities, dropped


def _substitute_entities(text: str, entities: dict[str, str]) -> str:
    growth = sum(text.count(f"&{name};") * len(value) for name, value in entities.items())
    if growth > _MAX_ENTITY_GROWTH:
        raise FeedError("XML with entity declarations refused (expansion too large)")
    pattern = re.compile("&(" + "|".join(re.escape(name) for name in entities) + ");")
    return pattern.sub(lambda m: entities[m.group(1)], text)


def _drop_illegal_char_ref(match: re.Match[str]) -> str:
    digits_hex, digits_dec = match.groups()
    code = int(digits_hex, 16) if digits_hex is not None else int(digits_dec)
    legal = (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )
    return match.group() if legal else ""


def _named_ref_to_numeric(match: re.Match[str]) -> str:
    value = _HTML5_ENTITIES.get(match.group(1) + ";")
    if value is None:
        return "&amp;" + match.group(1) + ";"  # an unknown name stays visible as text
    return "".join(f"&#{ord(ch)};" for ch in value)


# --------------------------------------------------------------------------- XML


@dataclass(slots=True)
class _Raw:
    """One entry as a parser reported it, before docbao's rules are applied."""

    id: str = ""
    link: str = ""
    title: str = ""
    author: str = ""
    published: int | None = None
    updated: int | None = None
    summary: str = ""
    content: str = ""
    content_is_text: bool = False
    summary_is_text: bool = False
    # (url, type, length, duration) as written
    enclosures: list[tuple[str, str, Any, Any]] = field(default_factory=list)
    links: list[tuple[str, str, str]] = field(default_factory=list)  # (rel, type, href)
    title_is_html: bool | None = None  # None: guess as feedparser does (RSS)
    image: str = ""


@dataclass(slots=True)
class _RawFeed:
    title: str = ""
    link: str = ""
    format: str = ""
    title_is_html: bool | None = None
    entries: list[_Raw] = field(default_factory=list)


_ROOT_TAG = re.compile(r"<([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)([^>]{0,4000})>?")
_VERSION_ATTR = re.compile(r"""\bversion\s*=\s*["']\s*([\d.]+)""")
_XML_BASE_ATTR = re.compile(r"""\sxml:base\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_ENTRY_START = re.compile(r"<(?:[\w.-]+:)?(?:item|entry)(?=[\s/>])[^>]*>")
_ENTRY_START_BYTES = re.compile(_ENTRY_START.pattern.encode())
_CONTENT_START = re.compile(
    r"<([\w.-]+:)?(content|encoded|description|summary)(?=[\s/>])[^>]*>"
)
_XML_DECL = re.compile(r"^<\?xml[^>]{0,300}?\?>")
_FEED_MARKERS = ("<rss", "<feed", "<rdf:RDF", "<RDF", "<channel")


def _root_start(text: str, start: int = 0) -> int:
    """Where the root element's start tag begins (the first "<" from `start` that is not
    the prolog's declarations, comments or processing instructions: a comment may hold
    markup); len(text) when there is none."""
    i, n = start, len(text)
    while i < n:
        lt = text.find("<", i)
        if lt < 0:
            return n
        if text.startswith("<?", lt):
            close = text.find("?>", lt)
            i = close + 2 if close >= 0 else n
        elif text.startswith("<!--", lt):
            close = text.find("-->", lt)
            i = close + 3 if close >= 0 else n
        elif text.startswith("<!", lt):
            close = text.find(">", lt)
            i = close + 1 if close >= 0 else n
        else:
            return lt
    return n


def _root_info(text: str) -> tuple[str, str, str]:
    """The root element's local name, its start tag's attributes, and the format string."""
    lt = _root_start(text)
    while lt < len(text):
        match = _ROOT_TAG.match(text, lt)
        if match:
            local, attrs = match.group(2).lower(), match.group(3)
            return local, attrs, _format_of(local, attrs, text[lt : lt + 4096])
        lt = _root_start(text, lt + 1)
    return "", "", ""


def _format_of(local: str, attrs: str, head: str) -> str:
    if local == "rss":
        version = _VERSION_ATTR.search(attrs)
        if not version:
            return "rss"
        digits = version.group(1).replace(".", "")
        return "rss" + (digits if digits != "2" else "20")
    if local == "rdf":
        return "rss090" if "my.netscape.com/rdf/simple/0.9" in head else "rss10"
    if local == "feed":
        return "atom03" if "purl.org/atom/ns#" in head else "atom10"
    if local == "channel":
        return "rss"
    return ""


_CLOSED_ENTRY = re.compile(rb"</(?:[\w.-]+:)?(?:item|entry)\s*>")


def _count_entry_tags(document: bytes, fmt: str, names: Iterable[str] | None = None) -> int:
    """How many item/entry elements the document appears to hold. Cheap, and it may
    overcount (<itemList>, tags quoted in CDATA): that only costs a second parse. `names`,
    the element names of a well-formed document, spare a search for prefixed ones."""
    if fmt.startswith("atom"):
        tag = b"<entry"
    elif fmt:
        tag = b"<item"
    else:
        return document.count(b"<item") + document.count(b"<entry")
    count = document.count(tag)
    if fmt in ("rss10", "rss090"):
        count -= document.count(b"<items")  # RDF's table of contents
    prefixed = b":" + tag[1:]
    if names is not None:
        suffix = prefixed.decode()
        if not any(name.endswith(suffix) for name in names):
            return count
    if prefixed in document:
        count += len(re.findall(rb"<[\w.-]+" + prefixed + rb"[\s>]", document))
    return count


def _utf8_document(text: str) -> bytes:
    """The text as UTF-8 bytes whose XML declaration (if any) says UTF-8."""
    match = _XML_DECL.match(text)
    if match and "encoding" in match.group():
        decl = re.sub(
            r"""encoding\s*=\s*["'][^"']*["']""", 'encoding="utf-8"', match.group(), count=1
        )
        text = decl + text[match.end() :]
    return text.encode("utf-8", errors="replace")


def _parse_xml(
    text: str, original: bytes | None, url: str, warnings: list[str], reader: str = "auto"
) -> ParsedFeed:
    root, _attrs, fmt = _root_info(text)
    if root in ("html", "") or not fmt:
        if root == "html" or text[:1000].lower().lstrip().startswith("<!doctype html"):
            if not any(marker in text for marker in _FEED_MARKERS):
                raise FeedError("not a feed (HTML page)")
        elif not any(marker in text for marker in _FEED_MARKERS):
            # a root named only when the text is markup from its start, not bytes in which a "<" fell
            markup = root.isascii() and text.lstrip("\ufeff \t\r\n")[:1] == "<"
            shown = f"XML root <{root}>" if root and markup else "no RSS, Atom or JSON Feed found"
            raise FeedError(f"not a feed ({shown})")
    document = original if original is not None else _utf8_document(text)
    bases = None
    if b"xml:base" in document:
        bases = _xml_bases(text, url)
        text = _XML_BASE_ATTR.sub("", text)  # docbao resolves; parsers must report raw values
        document = _utf8_document(text)
    malformed, names = _xml_check(document)
    expected = _count_entry_tags(document, fmt, None if malformed else names)

    fast: _RawFeed | None = None
    unsafe = reader == "auto" and (
        _fast_reading_unsafe(document, fmt, names) or _dates_repeated(document, fmt, names, expected)
    )
    if reader != "feedparser" and not unsafe:
        fast = _try_fast(document, fmt)
    best = fast
    if reader != "fastfeedparser" and (
        unsafe
        or fast is None
        or malformed
        or len(fast.entries) < expected
        or any(not (e.id or e.link) for e in fast.entries)
        or (any(not e.title for e in fast.entries) and _has_xhtml_type(document))
    ):
        try:
            slow = _read_feedparser(document)
        except Exception:  # noqa: BLE001 - feedparser is the last resort; report, not crash
            slow = None
        if slow is not None and (fast is None or unsafe or _better(slow, fast, bool(malformed))):
            best = slow
        if unsafe and (slow is None or (expected and not slow.entries)):
            fast = _try_fast(document, fmt)  # feedparser gave up: the fast reading beats none
            if fast is not None and (slow is None or len(fast.entries) > len(slow.entries)):
                best = fast
    if best is None or (not best.entries and not best.format and not fmt):
        if root == "html":
            raise FeedError("not a feed (HTML page)")
        raise FeedError("not a feed (no RSS, Atom or JSON Feed found)")
    if malformed:
        warnings = [*warnings, f"not well-formed XML, read leniently ({malformed})"]
        closed = len(_CLOSED_ENTRY.findall(document))
        if closed < len(best.entries):
            # a document cut off mid-entry: the entries read from its unclosed tail are
            # fragments (a cut title, no body) and would be stored as articles of their own
            del best.entries[closed:]
    fmt = fmt or best.format
    head = _channel_head(text, fmt, bases.feed if bases else url)
    if best is fast:
        best.title_is_html = head.title_is_html
        if fmt.startswith("atom") and b"<email" in document:
            _add_author_emails(best, text)
    if any(length in (None, "") for e in best.entries for _url, _kind, length, _ in e.enclosures) and (
        b'rel="enclosure"' in document or b"rel='enclosure'" in document
    ):
        _fill_enclosure_lengths(best, text)
    feed = _finish(best, url, fmt, warnings, bases, head)
    if malformed and not feed.articles:
        # Broken and empty: nothing could be read, which is an error, not an empty feed.
        raise FeedError(f"not well-formed XML ({malformed}); no entries could be read")
    return feed


# What fastfeedparser misreads, so that feedparser reads the document instead: markup
# written as child elements of a text element (fastfeedparser keeps only the text before
# the first child; Atom xhtml content is such markup), base64 or other non-text content,
# feedparser's <body>/<fullitem> aliases of the content, another namespace's element with
# an RSS name (taken for the RSS one), Media RSS or iTunes markup (descriptions,
# thumbnails, durations, which only feedparser reports), and RSS 1.0's content:encoded.
# The element names come from the
# well-formedness check, which reads the whole document anyway.
_FEED_ELEMENTS = frozenset(
    "rss channel item title link description language copyright managingEditor webMaster"
    " pubDate lastBuildDate category generator docs cloud ttl image url width height rating"
    " textInput textinput name skipHours skipDays hour day author comments enclosure guid"
    " source feed entry id updated published email uri contributor content summary subtitle"
    " rights icon logo items modified issued created tagline info".split()
)
_RSS_NAMES = frozenset("description title link guid summary".split())
_RSS_NAME_PREFIXES = frozenset("content atom atom10 atom03 dc dcterms rdf".split())
_UNSAFE_PREFIXES = frozenset("media itunes xhtml html".split())
_ATOM_CONTENT_TYPE = re.compile(
    rb"<(?:[\w.-]++:)?+(?:content|summary|title|subtitle|rights)\s[^>]*?type\s*=\s*[\"']"
    rb"(?!(?:text|html|xhtml|text/html|text/plain)[\"'])"
)
_TITLE_TAG = re.compile(rb"<title\b([^>]*)>")
_TYPE_ATTR = re.compile(rb"""\btype\s*=\s*["']([^"']*)["']""")


def _fast_reading_unsafe(document: bytes, fmt: str, names: Iterable[str]) -> bool:
    """Whether fastfeedparser would lose something feedparser reads (see _FEED_ELEMENTS),
    or cannot say whether an Atom entry's title is HTML (entries whose titles differ in
    type). `names` are the document's element names."""
    rdf = fmt in ("rss10", "rss090")
    rss = fmt.startswith("rss")
    for name in names:
        prefix, colon, local = name.rpartition(":")
        if not colon:
            if name not in _FEED_ELEMENTS or (rss and name == "summary"):
                return True  # (an RSS <summary> beside the description: feedparser keeps both)
        elif prefix in _UNSAFE_PREFIXES or (local in _RSS_NAMES and prefix not in _RSS_NAME_PREFIXES):
            return True
        elif rdf and local == "encoded":
            return True  # fastfeedparser reads no content:encoded in RSS 1.0
    if fmt.startswith("atom"):  # base64 (Atom 0.3's mode, Atom 1.0's media types) is Atom's
        return (b"base64" in document or bool(_ATOM_CONTENT_TYPE.search(document))
                or len(_entry_title_kinds(document)) > 1)
    return False


# An Atom entry's date elements, by the field feedparser maps them to (Atom 0.3's issued
# and modified are published and updated).
_ATOM_DATE_TAGS = ((b"<published", b"<issued"), (b"<updated", b"<modified"))


def _dates_repeated(document: bytes, fmt: str, names: Iterable[str], entries: int) -> bool:
    """Whether some Atom entry may give one date twice (two <updated>, or <issued> and
    <published>): feedparser keeps the last, fastfeedparser the first. Counted from the
    first entry on, so that the feed's own dates do not count; a date in an entry's
    <source> counts too, which only costs feedparser's reading. (Each count reads the whole
    document: Atom 0.3's names are counted only where they occur, and RSS, where a second
    pubDate in an item is an error of the feed, not at all.)"""
    if not fmt.startswith("atom") or not entries:
        return False
    first = _ENTRY_START_BYTES.search(document)
    if not first:
        return False
    start = first.start()
    old = fmt == "atom03" or "issued" in names or "modified" in names
    return any(
        sum(document.count(tag, start) for tag in (tags if old else tags[:1])) > entries
        for tags in _ATOM_DATE_TAGS
    )


def _entry_title_kinds(document: bytes) -> set[str]:
    first = _ENTRY_START_BYTES.search(document)
    if not first:
        return set()
    kinds = set()
    for match in _TITLE_TAG.finditer(document, first.start()):
        kind = _TYPE_ATTR.search(match.group(1))
        kinds.add(kind.group(1).decode("ascii", "replace").strip().lower() if kind else "text")
    return kinds


def _try_fast(document: bytes, fmt: str) -> _RawFeed | None:
    try:
        fast = _read_fastfeedparser(document, _has_ids(document))
    except Exception:  # noqa: BLE001 - any failure of the fast path means: try feedparser
        return None
    if fmt.startswith("atom"):
        kinds = _entry_title_kinds(document)
        is_html = kinds <= {"html", "text/html"} if kinds else False
        for entry in fast.entries:
            entry.title_is_html = is_html
            entry.summary_is_text = False  # Atom says what a summary is; the type is the rule
    return fast


def _has_xhtml_type(document: bytes) -> bool:
    return b'type="xhtml"' in document or b"type='xhtml'" in document


def _fill_enclosure_lengths(feed: _RawFeed, text: str) -> None:
    """fastfeedparser drops the length of Atom enclosure links; read it from the tags."""
    lengths: dict[str, str] = {}
    for tag in _HEAD_LINK_TAG.finditer(text):
        attrs = _attributes(tag.group(1))
        if attrs.get("rel") == "enclosure" and attrs.get("href") and attrs.get("length"):
            lengths.setdefault(attrs["href"].strip(), attrs["length"])
    for entry in feed.entries:
        entry.enclosures = [
            (href, kind, length if length not in (None, "") else lengths.get(href), duration)
            for href, kind, length, duration in entry.enclosures
        ]


def _xml_check(document: bytes) -> tuple[str, Iterable[str]]:
    """("", element names) for a well-formed document, else where and why it is not, and
    the names read up to there. fastfeedparser recovers from errors without a word; this
    check (expat, no tree, a third of the cost of a parse) is how docbao knows to warn and
    to ask feedparser as well."""
    import xml.parsers.expat

    parser = xml.parsers.expat.ParserCreate()
    names: dict[str, Any] = {}
    parser.StartElementHandler = names.__setitem__  # a C call per element, no Python frame
    try:
        parser.Parse(document, True)
    except xml.parsers.expat.ExpatError as exc:
        return f"line {exc.lineno}: {xml.parsers.expat.errors.messages[exc.code]}", names.keys()
    except (ValueError, RecursionError):
        return "unreadable", names.keys()
    return "", names.keys()


def _has_ids(document: bytes) -> bool:
    """Whether any entry may carry an id of its own (guid, Atom id, rdf:about)."""
    first = _ENTRY_START_BYTES.search(document)
    start = first.start() if first else 0
    return any(document.find(marker, start) >= 0 for marker in (b"guid", b"id>", b"rdf:about"))


def _better(slow: _RawFeed, fast: _RawFeed, malformed: bool) -> bool:
    """Whether feedparser's reading beats fastfeedparser's: more entries, or as many with
    more of them identifiable, or with more titles. On a document that is not well-formed
    a tie goes to feedparser, whose loose parser is built for broken feeds, while lxml's
    recovery can drop text (entity references, the rest of a broken tag)."""
    def score(feed: _RawFeed) -> tuple[int, int, int]:
        return (
            len(feed.entries),
            sum(1 for e in feed.entries if e.id or e.link),
            sum(1 for e in feed.entries if e.title),
        )

    return score(slow) >= score(fast) if malformed else score(slow) > score(fast)


@dataclass(slots=True)
class _Bases:
    """xml:base in effect: for the feed, and per entry (link base, content base, summary base)."""

    feed: str
    entries: list[tuple[str, str, str]]


def _xml_bases(text: str, url: str) -> _Bases:
    """Read xml:base from the root, the RSS channel, each entry and its content element.

    A scan of start tags rather than a tree: it only runs for documents that use xml:base,
    and gives both parsers the same answer."""
    def base_in(tag: str) -> str | None:
        match = _XML_BASE_ATTR.search(tag)
        if not match:
            return None
        return match.group(1) if match.group(1) is not None else match.group(2)

    def join(base: str, ref: str | None) -> str:
        if ref is None:
            return base
        ref = html.unescape(ref.strip())
        if not base:
            return ref
        try:
            return urljoin(base, ref)
        except ValueError:  # e.g. a malformed IPv6 host
            return base

    feed_base = url
    root = _ROOT_TAG.match(text, _root_start(text))
    if root:
        feed_base = join(feed_base, base_in(root.group(0)))
    channel = re.search(r"<channel\b[^>]*>", text[:65536])
    if channel:
        feed_base = join(feed_base, base_in(channel.group(0)))
    starts = list(_ENTRY_START.finditer(text))
    entries: list[tuple[str, str, str]] = []
    for index, match in enumerate(starts):
        entry_base = join(feed_base, base_in(match.group(0)))
        end = starts[index + 1].start() if index + 1 < len(starts) else len(text)
        # the body and the summary each with their own: an Atom <summary> often comes
        # first, without one, and the <content> after it names the site its links are on
        body = summary = None
        for tag in _CONTENT_START.finditer(text, match.end(), end):
            prefix, name = tag.group(1) or "", tag.group(2)
            if name == "encoded" or (name == "content" and prefix.lower() in ("", "atom:")):
                body = body or tag
            elif name in ("summary", "description") and prefix.lower() in ("", "atom:", "rss:"):
                summary = summary or tag
            if body and summary:
                break
        summary_base = join(entry_base, base_in(summary.group(0))) if summary else entry_base
        content_base = join(entry_base, base_in(body.group(0))) if body else summary_base
        entries.append((entry_base, content_base, summary_base))
    return _Bases(feed_base, entries)


def _iso_to_epoch(value: Any) -> int | None:
    if not value or not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    try:
        return int(moment.timestamp())
    except (OverflowError, OSError, ValueError):
        return None


def _struct_to_epoch(value: Any) -> int | None:
    if not value:
        return None
    try:
        return int(calendar.timegm(value))
    except (TypeError, ValueError, OverflowError):
        return None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _read_fastfeedparser(document: bytes, has_ids: bool = True) -> _RawFeed:
    """fastfeedparser's reading. Without id elements in the document (has_ids False), the
    ids it reports are copies of its links, and are dropped: docbao picks the link."""
    import fastfeedparser

    parsed = fastfeedparser.parse(document)
    feed = parsed.get("feed") or {}
    out = _RawFeed(title=_text(feed.get("title")), link=_text(feed.get("link")))
    synthesize = _ffp_synthesizer()
    entries = parsed.get("entries") or []
    _drop_dates_read_from_ids(entries, document)
    for entry in entries:
        entry_id = _text(entry.get("id"))
        if not has_ids and entry.get("id") == entry.get("link"):
            entry_id = ""
        content = ""
        content_is_text = False
        items = entry.get("content") or []
        if items and isinstance(items[0], dict):
            content = items[0].get("value") or ""
            kind = (items[0].get("type") or "").lower()
            if kind in ("xhtml", "application/xhtml+xml"):
                content = _unwrap_xhtml(content)
            content_is_text = kind in ("text", "text/plain")
        description = entry.get("description") or ""
        if (
            description
            and content
            and synthesize is not None
            and description != content
            and len(description) <= _FFP_SYNTH_LEN
            and "<" not in description
        ):
            probe: dict[str, Any] = {"content": items}
            synthesize(probe)
            if probe.get("description") == description:
                description = ""  # fastfeedparser made it up from the content
        enclosures = [
            (_text(e.get("url")), _text(e.get("type")), e.get("length"), None)
            for e in entry.get("enclosures") or []
            if isinstance(e, dict)
        ]
        enclosures += [
            (_text(link.get("href")), _text(link.get("type")), link.get("length"), None)
            for link in entry.get("links") or []
            if isinstance(link, dict) and link.get("rel") == "enclosure"
        ]
        out.entries.append(
            _Raw(
                id=entry_id,
                link=_text(entry.get("link")),
                title=entry.get("title") or "",
                author=_text(entry.get("author")),
                published=_iso_to_epoch(entry.get("published")),
                updated=_iso_to_epoch(entry.get("updated")),
                summary=description.strip(),
                summary_is_text=_reads_as_text(description),
                content=content.strip(),
                content_is_text=content_is_text,
                enclosures=enclosures,
                links=_links(entry.get("links")),
            )
        )
    return out


# An element fastfeedparser reads an entry's date from (it compares local names in lower case).
_DATE_ELEMENT = re.compile(rb"<(?:[\w.-]+:)?(?:pubDate|published|issued|date|updated|modified|lastBuildDate)[\s/>]",
                           re.IGNORECASE)


def _drop_dates_read_from_ids(entries: list[dict[str, Any]], document: bytes) -> None:
    """fastfeedparser dates an entry that has no date element from its guid, if the guid
    reads as one: guid 7 becomes the 7th of this month, 1999 the 6th of December 1999, 5pm
    today at 17:00, 1234567890 a day of 2009 (seconds since 1970). feedparser does not, nor
    does docbao: such an entry has no date. In a document with no date element at all,
    every date came so; where only some entries have one, a date is dropped when the guid
    reads as it (read again only then: reading a guid as a date can take milliseconds)."""
    if b"<guid" not in document:  # (only an RSS guid is read so)
        return
    suspects = [
        entry for entry in entries
        if isinstance(entry.get("published"), str)
        and isinstance(entry.get("id"), str) and not entry["id"].startswith(("http://", "https://"))
    ]
    if not suspects:
        return
    first = _ENTRY_START_BYTES.search(document)  # (the channel's own dates are not the entries')
    start = first.start() if first else 0
    if document.count(b"<pubDate", start) >= len(entries):  # (nearly every RSS feed: a quick look)
        return
    dated = len(_DATE_ELEMENT.findall(document, start))
    if dated >= len(entries):
        return
    from fastfeedparser.main import _parse_date

    for entry in suspects:
        if not dated or _parse_date(entry["id"]) == entry["published"]:
            del entry["published"]
            if entry.get("updated"):
                entry["published"] = entry["updated"]


def _links(value: Any) -> list[tuple[str, str, str]]:
    """A parser's link list as (rel, type, href), rel "" when the element had none."""
    out = []
    for link in value or []:
        if isinstance(link, dict) and link.get("href"):
            out.append((_text(link.get("rel")), _text(link.get("type")), _text(link.get("href"))))
    return out


_FFP_SYNTH_LEN = 512  # fastfeedparser's made-up descriptions are never longer


def _ffp_synthesizer() -> Any:
    """fastfeedparser fills a missing description with text cut from the content; its own
    routine tells such a description from a real one."""
    try:
        from fastfeedparser import main
    except ImportError:  # pragma: no cover
        return None
    return getattr(main, "_synthesize_entry_description", None)


_XHTML_WRAPPER = re.compile(
    r"^\s*<(?:[\w.-]+:)?content\b[^>]*>(.*)</(?:[\w.-]+:)?content>\s*$", re.DOTALL
)


def _unwrap_xhtml(value: str) -> str:
    """fastfeedparser hands Atom xhtml content back with its <content> element around it."""
    match = _XHTML_WRAPPER.match(value)
    return match.group(1) if match else value


def _read_feedparser(document: bytes) -> _RawFeed:
    import feedparser

    # Bytes only, never a URL or a path; docbao resolves and sanitizes on its own, once.
    parsed = feedparser.parse(
        io.BytesIO(document), sanitize_html=False, resolve_relative_uris=False
    )
    feed = parsed.get("feed") or {}
    feed_link = _text(feed.get("link"))
    if feed_link and feed_link == _text(feed.get("id")):
        feed_link = ""  # feedparser copies the feed id into link; docbao wants the home page
    out = _RawFeed(
        title=_text(feed.get("title")),
        link=feed_link,
        format=_FP_FORMATS.get(parsed.get("version") or "", parsed.get("version") or ""),
        title_is_html=_fp_is_html(feed.get("title_detail")),
    )
    atom = out.format.startswith("atom")
    for entry in parsed.get("entries") or []:
        content = ""
        content_is_text = False
        for item in entry.get("content") or []:
            content = item.get("value") or ""
            content_is_text = (item.get("type") or "") == "text/plain"
            break
        summary = entry.get("summary") or ""
        if summary == content:
            summary = ""
        enclosures, image = _fp_media(entry)
        out.entries.append(
            _Raw(
                id=_text(entry.get("id")),
                link=_fp_link(entry),
                title=entry.get("title") or "",
                author=_fp_author(entry),
                # Plain dict lookups: feedparser's own would answer "updated_parsed"
                # with the publication date (and a deprecation warning).
                published=_struct_to_epoch(dict.get(entry, "published_parsed")),
                updated=_struct_to_epoch(dict.get(entry, "updated_parsed")),
                summary=summary.strip(),
                summary_is_text=(entry.get("summary_detail") or {}).get("type") == "text/plain"
                or (not atom and _reads_as_text(summary)),
                content=content.strip(),
                content_is_text=content_is_text,
                enclosures=enclosures,
                links=_links(entry.get("links")),
                title_is_html=_fp_is_html(entry.get("title_detail")),
                image=image,
            )
        )
    return out


def _fp_is_html(detail: Any) -> bool:
    kind = (detail or {}).get("type") if isinstance(detail, dict) else None
    return kind in ("text/html", "application/xhtml+xml")


def _fp_media(entry: Any) -> tuple[list[tuple[str, str, Any, Any]], str]:
    """Enclosures (RSS enclosure, Atom enclosure link, audio/video Media RSS content, with
    durations from Media RSS or itunes:duration) and the lead image (media:thumbnail, an
    image media:content, itunes:image) as feedparser reports them."""
    media = [m for m in entry.get("media_content") or [] if isinstance(m, dict) and m.get("url")]
    durations = {_text(m.get("url")): m.get("duration") for m in media if m.get("duration")}
    enclosures: list[tuple[str, str, Any, Any]] = []
    for item in entry.get("enclosures") or []:
        href = _text(item.get("href") or item.get("url"))
        enclosures.append((href, _text(item.get("type")), item.get("length"), durations.get(href)))
    for item in media:
        kind, medium = _text(item.get("type")).lower(), _text(item.get("medium")).lower()
        if medium in ("audio", "video") or kind.startswith(("audio/", "video/")):
            enclosures.append(
                (_text(item.get("url")), kind, item.get("filesize") or item.get("fileSize"), item.get("duration"))
            )
    itunes_duration = entry.get("itunes_duration")
    if itunes_duration and enclosures and not enclosures[0][3]:
        enclosures[0] = (*enclosures[0][:3], itunes_duration)
    image = ""
    for item in entry.get("media_thumbnail") or []:
        if isinstance(item, dict) and _text(item.get("url")):
            image = _text(item.get("url"))
            break
    if not image:
        for item in media:
            kind, medium = _text(item.get("type")).lower(), _text(item.get("medium")).lower()
            if medium == "image" or kind.startswith("image/"):
                image = _text(item.get("url"))
                break
    if not image:
        itunes_image = entry.get("image")
        if isinstance(itunes_image, dict):
            image = _text(itunes_image.get("href"))
    return enclosures, image


def _fp_author(entry: Any) -> str:
    """The author as written; feedparser glues "(email)" to Atom names (see _byline)."""
    return _text(entry.get("author"))


def _fp_link(entry: Any) -> str:
    """The entry's own link: one feedparser copied from the guid is left to docbao's rule
    (link = id when the id is an absolute URL), as fastfeedparser's reading is."""
    link = _text(entry.get("link"))
    if entry.get("guidislink") and link == _text(entry.get("id")):
        return ""
    return link


_FP_FORMATS = {"rss091u": "rss091", "rss091n": "rss091", "atom": "atom10"}


def _short(exc: object) -> str:
    return clean_line(str(exc))[:160]


# --------------------------------------------------------------------------- JSON Feed


def _parse_json_feed(text: str, url: str, warnings: list[str]) -> ParsedFeed:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise FeedError(f"invalid JSON Feed: {_short(exc)}") from exc
    if not isinstance(doc, dict):
        raise FeedError("invalid JSON Feed: the document is not a JSON object")
    version = doc.get("version")
    if isinstance(doc.get("rss"), dict) and not isinstance(doc.get("items"), list):
        return _parse_rss_in_json(doc["rss"], url, warnings)
    if not isinstance(version, str) or "jsonfeed.org/version/" not in version:
        if not isinstance(doc.get("items"), list):
            raise FeedError("invalid JSON Feed: no version and no items")
        warnings = [*warnings, "JSON Feed without a version"]
    fmt = "json11" if isinstance(version, str) and version.rstrip("/").endswith("1.1") else "json10"
    items = doc.get("items")
    if not isinstance(items, list):
        raise FeedError("invalid JSON Feed: items is not a list")
    base = url
    for key in ("feed_url", "home_page_url"):
        value = doc.get(key)
        if not base and isinstance(value, str) and is_openable_url(value.strip()):
            base = value.strip()
    raw = _RawFeed(
        title=_json_str(doc.get("title")),
        link=_json_str(doc.get("home_page_url")),
        format=fmt,
        title_is_html=None,  # as the items' titles: "Blog &#8211; InfluxData" is common
    )
    for item in items:
        if not isinstance(item, dict):
            continue
        content = _json_str(item.get("content_html"))
        content_is_text = False
        if not content:
            content = _json_str(item.get("content_text"))
            content_is_text = bool(content)
        enclosures = []
        attachments = item.get("attachments")
        for attachment in attachments if isinstance(attachments, list) else []:
            if isinstance(attachment, dict):
                enclosures.append(
                    (
                        _json_str(attachment.get("url")),
                        _json_str(attachment.get("mime_type")),
                        attachment.get("size_in_bytes"),
                        attachment.get("duration_in_seconds"),
                    )
                )
        item_id = item.get("id")
        if isinstance(item_id, bool) or not isinstance(item_id, (str, int)):
            item_id = ""  # the spec says string; numbers are common, anything else is noise
        raw.entries.append(
            _Raw(
                id=str(item_id).strip(),
                link=_json_str(item.get("url")) or _json_str(item.get("external_url")),
                title=_json_str(item.get("title")),
                author=_json_author(item) or _json_author(doc),
                published=_date_to_epoch(item.get("date_published")),
                updated=_date_to_epoch(item.get("date_modified")),
                summary=html.escape(_json_str(item.get("summary"))),
                content=content,
                content_is_text=content_is_text,
                enclosures=enclosures,
                title_is_html=None,  # plain text by the spec; entities are common: guess
                image=_json_str(item.get("image")) or _json_str(item.get("banner_image")),
            )
        )
    return _finish(raw, base, fmt, warnings, None)


def _parse_rss_in_json(rss: dict[str, Any], url: str, warnings: list[str]) -> ParsedFeed:
    """RSS-in-JSON (Scripting News's rss.json): RSS 2.0 element for element as a JSON
    object, {"rss": {"channel": {..., "item": [...]}}}; read as RSS is, its descriptions
    HTML, its dates RFC 822."""
    channel = rss.get("channel")
    if not isinstance(channel, dict):
        raise FeedError("invalid RSS-in-JSON: no channel")
    items = channel.get("item")
    items = [items] if isinstance(items, dict) else items if isinstance(items, list) else []
    raw = _RawFeed(title=_json_text(channel.get("title")), link=_json_text(channel.get("link")), format="rss-json")
    for item in items:
        if not isinstance(item, dict):
            continue
        enclosures = []
        enclosure = item.get("enclosure")
        for one in enclosure if isinstance(enclosure, list) else [enclosure]:
            if isinstance(one, dict):
                enclosures.append((_json_text(one.get("url")), _json_text(one.get("type")), one.get("length"), None))
        raw.entries.append(_Raw(
            id=_json_text(item.get("guid")),
            link=_json_text(item.get("link")),
            title=_json_text(item.get("title")),
            author=_json_text(item.get("author")) or _json_text(item.get("dc:creator")),
            published=_date_to_epoch(item.get("pubDate")),
            content=_json_text(item.get("description")),
            enclosures=enclosures,
        ))
    return _finish(raw, url, "rss-json", warnings, None)


def _json_text(value: Any) -> str:
    """An RSS-in-JSON value: a string, a number, or an element with attributes whose text
    is its "#value" (a guid with isPermaLink)."""
    if isinstance(value, dict):
        value = value.get("#value")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    return _json_str(value)


def _json_str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _json_author(obj: dict[str, Any]) -> str:
    authors = obj.get("authors")
    if isinstance(authors, list):
        names = [_json_str(a.get("name")) for a in authors if isinstance(a, dict)]
        names = [n for n in names if n]
        if names:
            return ", ".join(names)
    author = obj.get("author")
    if isinstance(author, dict):
        return _json_str(author.get("name"))
    return ""


def _date_to_epoch(value: Any) -> int | None:
    """RFC 3339 (JSON Feed), with RFC 822 as a courtesy to sloppy generators."""
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    epoch = _iso_to_epoch(value)
    if epoch is not None:
        return epoch
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    try:
        return int(moment.timestamp())
    except (OverflowError, OSError, ValueError):
        return None


# --------------------------------------------------------------------------- normalising

# One UTF-8 sequence that was read as windows-1252 (or Latin-1) and encoded again: a lead
# character (bytes C2-F4) and the continuation characters (bytes 80-BF) it needs.
_CONTINUATION = (
    "[\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013\u2014\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a"
    "\u20ac\u2122]"
)
_MOJIBAKE = re.compile(
    f"[\u00c2-\u00df]{_CONTINUATION}|[\u00e0-\u00ef]{_CONTINUATION}{{2}}"
    f"|[\u00f0-\u00f4]{_CONTINUATION}{{3}}"
)
# The families that are mojibake whatever surrounds them (Latin-1 letters, Cyrillic,
# punctuation such as quotes and dashes, emoji): these are repaired one by one even in a
# string that also holds correct text. "É”" could be French, so other leads are repaired
# only when the whole string comes out as valid UTF-8.
_MOJIBAKE_SURE = re.compile(
    f"[\u00c2\u00c3\u00d0\u00d1]{_CONTINUATION}|\u00e2{_CONTINUATION}{{2}}"
    f"|\u00f0{_CONTINUATION}{{3}}"
)
# What each of the two starts with: a lead and one continuation. A search for these, one
# character class first, is several times faster than for the alternations above (the
# regex engine skips ahead to the class), so it decides whether the whole is tried at all.
_MOJIBAKE_START = re.compile(f"[\u00c2-\u00f4]{_CONTINUATION}")
_MOJIBAKE_SURE_START = re.compile(f"[\u00c2\u00c3\u00d0\u00d1\u00e2\u00f0]{_CONTINUATION}")
_CP1252_BYTE = {
    ch: byte
    for byte in range(0x80, 0xA0)
    if (ch := bytes([byte]).decode("cp1252", errors="ignore"))
}
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_URL_ATTR = re.compile(
    r"""(\s(?:href|src)\s*=\s*)(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE
)
# Over lower-cased text, so that each pattern starts with a literal the engine can skip to.
_RELATIVE_HREF = re.compile(r"""href\s*=\s*["']?+(?![a-z][a-z0-9+.-]*:)""")
_RELATIVE_SRC = re.compile(r"""src\s*=\s*["']?+(?![a-z][a-z0-9+.-]*:)""")


def _unmojibake(value: str) -> str:
    """Undo UTF-8 that was decoded as windows-1252/Latin-1 and encoded again: the whole
    string when its bytes are valid UTF-8 (what feedparser does), else the unambiguous
    sequences one by one (a title may mix correct and broken quotes)."""
    if value.isascii() or not _MOJIBAKE_START.search(value) or not _MOJIBAKE.search(value):
        return value
    try:
        raw = bytes(ord(ch) if ord(ch) < 256 else _CP1252_BYTE[ch] for ch in value)
        return raw.decode("utf-8")
    except (KeyError, UnicodeDecodeError):
        return _MOJIBAKE_SURE.sub(_repair_sequence, value)


def repair_mojibake(value: str) -> str:
    """A title or name repaired as a feed's own would be (UTF-8 that was read as
    windows-1252 and written again): for titles docbao gets from elsewhere (OPML, newsboat)."""
    return _unmojibake_line(value)


def _repair_sequence(match: re.Match[str]) -> str:
    chars = match.group()
    raw = bytes(ord(ch) if ord(ch) < 256 else _CP1252_BYTE[ch] for ch in chars)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return chars


_EMAIL_THEN_NAME = re.compile(r"^([^\s@()]+@[^\s@()]+)\s*\((.+)\)$")
_NAME_THEN_EMAIL = re.compile(r"^(.+?)\s*\(([^\s@()]+@[^\s@()]+)\)$")
_NO_REPLY = re.compile(r"^(?:no-?reply|do-?not-?reply)[^@]*@", re.IGNORECASE)


def _byline(value: str) -> str:
    """The author as a reader sees it: "Name (address)", whether the feed wrote RSS's
    "address (Name)" or Atom's name and email (which feedparser glues as "Name (email)"),
    without the address when it is a no-reply one (Blogger gives every author
    noreply@blogger.com), which reaches nobody."""
    value = value.strip()
    if "@" not in value:
        return value
    match = _EMAIL_THEN_NAME.match(value)
    if match:
        address, name = match.group(1), match.group(2).strip()
    elif match := _NAME_THEN_EMAIL.match(value):
        name, address = match.group(1).strip(), match.group(2)
    else:
        return "" if _NO_REPLY.match(value) else value
    return name if _NO_REPLY.match(address) else f"{name} ({address})"


_AUTHOR_ELEMENT = re.compile(r"<(?:[\w.-]+:)?author\b[^>]*>(.*?)</(?:[\w.-]+:)?author\s*>", re.DOTALL)
_EMAIL_ELEMENT = re.compile(r"<(?:[\w.-]+:)?email\b[^>]*>\s*([^<]*?)\s*</", re.DOTALL)


def _add_author_emails(feed: _RawFeed, text: str) -> None:
    """fastfeedparser keeps an Atom author's name but not the email beside it: read the
    email of each entry's first author from its tags (entries and tags in step, or none)."""
    starts = list(_ENTRY_START.finditer(text))
    if len(starts) != len(feed.entries):
        return
    for index, (entry, match) in enumerate(zip(feed.entries, starts)):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(text)
        author = _AUTHOR_ELEMENT.search(text, match.end(), end)
        email = _EMAIL_ELEMENT.search(author.group(1)) if author else None
        if email and email.group(1):
            address = html.unescape(email.group(1))
            entry.author = f"{entry.author} ({address})" if entry.author else address


def _unmojibake_line(value: str) -> str:
    """Titles and names are always repaired; bodies whole only in a feed whose titles
    needed it (else _unmojibake_sure)."""
    return _unmojibake(value) if value else value


def _unmojibake_sure(value: str) -> str:
    """A body of a feed whose titles are sound: only the sequences that are mojibake
    whatever surrounds them ("GeorgiÃ«", "fotoâ€™s", "InÂ August"), one by one; a feed may
    have been written by hand and pasted from a page read in the wrong charset."""
    if value.isascii() or not _MOJIBAKE_SURE_START.search(value):
        return value
    return _MOJIBAKE_SURE.sub(_repair_sequence, value)


def _needs_unmojibake(feed: _RawFeed) -> bool:
    titles = [feed.title, *(e.title for e in feed.entries)]
    return any(value and _unmojibake(value) != value for value in titles)


# A URL is_openable_url accepts for certain: http(s), a host, printable ASCII only. It
# spares the character-by-character check for the common case; anything else is asked.
_PLAIN_HTTP_URL = re.compile(
    r"[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9\[][\x21-\x2e\x30-\x7e]*(?:/[\x21-\x7e]*)?"
)


def _absolute(base: str, ref: str) -> str:
    """ref resolved against base; an http(s) URL docbao can open, or ""."""
    ref = ref.strip()
    if not ref:
        return ""
    if not _SCHEME.match(ref) and base:
        try:
            ref = urljoin(base, ref)
        except ValueError:
            return ""
    ref = ref.replace(" ", "%20")
    if _PLAIN_HTTP_URL.fullmatch(ref) or is_openable_url(ref):
        return ref
    return ""


def _absolutize_html(fragment: str, base: str) -> str:
    """Make href/src in an HTML fragment absolute, so the stored body works offline of its
    page; URLs already absolute are left alone."""
    if not base:
        return fragment
    lowered = fragment.lower()
    if not (_RELATIVE_HREF.search(lowered) or _RELATIVE_SRC.search(lowered)):
        return fragment

    def fix(match: re.Match[str]) -> str:
        value = next(g for g in match.groups()[1:] if g is not None)
        if _SCHEME.match(value.strip()):
            return match.group(0)
        try:
            resolved = urljoin(base, html.unescape(value.strip()))
        except ValueError:
            return match.group(0)
        return f'{match.group(1)}"{html.escape(resolved, quote=True)}"'

    return _URL_ATTR.sub(fix, fragment)


def _text_to_html(value: str) -> str:
    return "<p>" + html.escape(value).replace("\n\n", "</p><p>").replace("\n", "<br>") + "</p>"


# The HTML elements feedparser's sanitizer keeps, which its guesses (is a title HTML?) go
# by; copied here so that the fast path never imports feedparser.
_FEEDPARSER_HTML_ELEMENTS = frozenset(
    "a abbr acronym address area article aside audio b big blockquote br button canvas caption"
    " center cite code col colgroup command datagrid datalist dd del details dfn dialog dir div"
    " dl dt em event-source fieldset figcaption figure font footer form h1 h2 h3 h4 h5 h6 header"
    " hr i img input ins kbd keygen label legend li m map menu meter multicol nav nextid noscript"
    " ol optgroup option output p pre progress q s samp section select small sound source spacer"
    " span strike strong sub sup table tbody td textarea tfoot th thead time tr tt u ul var"
    " video".split()
)
_TITLE_TAGS = re.compile(r"</?(\w+)")
_TITLE_ENTITIES = re.compile(r"&(\w+);")


_COMPLETE_TAG = re.compile(r"<(/?)([A-Za-z][\w]*)(?=[\s/>])([^<>]*)>")
# Elements feedparser's sanitizer does not keep, which still make a body HTML.
_OTHER_HTML_ELEMENTS = frozenset(
    "applet base basefont blink body embed form frame frameset head html iframe input link"
    " marquee math meta noscript object param script select style svg textarea title".split()
)


def _reads_as_text(value: str) -> bool:
    """Whether an RSS description is plain text that holds a "<" ("Vec<T>", "x <y"): it
    has no end tag, no tag with attributes and no tag of an HTML element. (feedparser
    reads every RSS description as HTML, where "<T>" is an unknown tag and vanishes.)"""
    if "<" not in value:
        return False
    for match in _COMPLETE_TAG.finditer(value):
        end, name, rest = match.groups()
        name = name.lower()
        if end or "=" in rest or name in _FEEDPARSER_HTML_ELEMENTS or name in _OTHER_HTML_ELEMENTS:
            return False
    return True


def _looks_like_html(value: str) -> bool:
    """feedparser's guess for an RSS title: HTML when it has an end tag or an entity
    reference, and only known HTML tags and entities."""
    if not (re.search(r"</(\w+)>", value) or re.search(r"&#?\w+;", value)):
        return False
    if any(tag.lower() not in _FEEDPARSER_HTML_ELEMENTS for tag in _TITLE_TAGS.findall(value)):
        return False
    return all(name in html.entities.entitydefs for name in _TITLE_ENTITIES.findall(value))


# A title is one line: longer markup is cut before it is parsed (html5ever's work grows with
# the nesting depth, and 100,000 nested <div>s would take it seconds).
_MAX_TITLE_MARKUP = 4096
# Elements whose edges separate words: kept through the parse, each then becomes a space.
_TITLE_BREAKS = frozenset(
    "br p div li tr td th dt dd blockquote h1 h2 h3 h4 h5 h6".split()
)


def _html_title_text(value: str) -> str:
    """The text of an HTML title, read by an HTML parser (html5ever, through nh3): tags
    gone, references decoded, scripts and styles dropped with their content, comments
    dropped ("<!" constructs mended first: see mend_declarations)."""
    import nh3

    markup = nh3.clean(
        # "&#155;" is no "›" but a control
        mend_declarations(drop_control_refs(value[:_MAX_TITLE_MARKUP])),
        tags=set(_TITLE_BREAKS),
        attributes={},
        clean_content_tags={"script", "style"},
        strip_comments=True,
        link_rel=None,
    )
    if "<" in markup:  # the parser's own output: "<" opens one of the kept tags, bare
        for tag in _TITLE_BREAKS:
            markup = markup.replace(f"<{tag}>", " ").replace(f"</{tag}>", " ")
    return html.unescape(markup)


def _title_line(value: str, is_html: bool | None) -> str:
    """A title as the one plain line a reader sees. Plain text stays as written (a literal
    "<T>" or "&" included); HTML goes through an HTML parser. is_html None: guess as
    feedparser does for RSS."""
    if not value:
        return ""
    if is_html is None:
        is_html = ("<" in value or "&" in value) and _looks_like_html(value)
    if not is_html or ("<" not in value and "&" not in value):
        return clean_line(value)
    return clean_line(_html_title_text(value))


def _duration(value: Any) -> int | None:
    """Seconds from "3600", "59:30", "1:02:03" (itunes:duration) or "12.5"."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    try:
        parts = [float(part) for part in text.split(":")] if text else []
    except ValueError:
        return None
    if not parts or len(parts) > 3 or any(part < 0 or part != part for part in parts):
        return None
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + part
    return int(seconds) if 0 < seconds < 10**7 else None


def _epoch(value: int | None, now: int) -> int | None:
    """A stored date: None for the epoch's first day or earlier (the "no date" value of
    broken generators, in any time zone) and for dates more than two days ahead (a
    year-9999 item must not sit on top forever, nor change at every refresh)."""
    if value is None or value < 86400 or value > now + FUTURE_SLACK:
        return None
    return value


def _length(value: Any) -> int | None:
    try:
        length = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return length if length > 0 else None


def _choose_link(
    fmt: str, link: str, links: list[tuple[str, str, str]], base: str
) -> tuple[str, str]:
    """The entry's (or feed's) web page, as written and resolved; ("", "") when none.

    RSS names it in <link>. Atom may list several alternates, and the parsers report them
    in different orders and with different defaults, so the choice depends on neither: an
    HTML alternate (a link without rel or type counts as one), then any alternate; among
    equals the shortest URL, then the first in alphabetical order."""
    if not fmt.startswith("atom"):
        own = _absolute(base, link)
        if own or not links:
            return (link, own) if own else ("", "")
    candidates: list[tuple[int, tuple[int, str], str, str]] = []
    for rel, kind, href in links:
        rel, kind = rel.lower() or "alternate", kind.lower() or "text/html"
        if rel != "alternate":
            continue
        resolved = _absolute(base, href)
        if resolved:
            rank = 0 if kind in ("text/html", "application/xhtml+xml") else 1
            candidates.append((rank, (len(resolved), resolved), href, resolved))
    if candidates:
        _rank, _key, href, resolved = min(candidates)
        return href, resolved
    return "", ""  # Atom: a self or related link is not the entry's page


@dataclass(slots=True)
class _Head:
    """The channel's own title and <link>, read from the text before the first entry: the
    parsers disagree on RSS feeds whose channel also carries atom:link alternates."""

    title: str = ""
    link: str = ""
    title_is_html: bool | None = None  # None: RSS, where feedparser guesses from the text


_HEAD_TITLE = re.compile(r"<((?:dc:)?title)(\s[^>]*)?>(.*?)</\1>", re.DOTALL | re.IGNORECASE)
_HEAD_LINK = re.compile(r"<link>\s*([^<\s]+)\s*</link>")
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.DOTALL)


_HEAD_LINK_TAG = re.compile(r"<(?:[\w.-]+:)?link\b([^>]*)>")
_ATTR = re.compile(r"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _attributes(tag_body: str) -> dict[str, str]:
    return {
        m.group(1).lower(): html.unescape(m.group(2) if m.group(2) is not None else m.group(3))
        for m in _ATTR.finditer(tag_body)
    }


def _channel_head(text: str, fmt: str, base: str) -> _Head:
    """Title and home link (resolved against base) of the feed, from the text before its
    first entry."""
    first = _ENTRY_START.search(text)
    head = text[: first.start() if first else 65536][:65536]
    head = re.sub(r"<image\b.*?</image>", "", head, flags=re.DOTALL)
    title = _HEAD_TITLE.search(head)
    title_text = _CDATA.sub(lambda m: html.escape(m.group(1)), title.group(3)) if title else ""
    title_is_html: bool | None = None
    kind = ""
    if title and title.group(2):
        kind_match = _TYPE_ATTR.search(title.group(2).encode("utf-8", "replace"))
        kind = kind_match.group(1).decode("utf-8", "replace").strip().lower() if kind_match else ""
    if fmt.startswith("atom") or kind:
        title_is_html = kind in ("html", "text/html", "xhtml", "application/xhtml+xml")
    if "xhtml" not in kind:  # xhtml is markup as written; the others are escaped text
        title_text = html.unescape(title_text)
    link = ""
    if fmt.startswith("rss"):
        match = _HEAD_LINK.search(head)
        link = _absolute(base, html.unescape(match.group(1))) if match else ""
    if not link:
        links = []
        for tag in _HEAD_LINK_TAG.finditer(head):
            attrs = _attributes(tag.group(1))
            if attrs.get("href"):
                links.append((attrs.get("rel", ""), attrs.get("type", ""), attrs["href"]))
        link = _choose_link("atom", "", links, base)[1]
    return _Head(title_text, link, title_is_html)


def _finish(
    raw: _RawFeed,
    url: str,
    fmt: str,
    warnings: list[str],
    bases: _Bases | None,
    head: _Head | None = None,
) -> ParsedFeed:
    """docbao's rules over either parser's reading: identity, links, dates, cleaning."""
    now = int(time.time())
    repair = _needs_unmojibake(raw)
    fix = _unmojibake if repair else _unmojibake_sure
    repaired = repair  # a body repaired in a feed whose titles are sound says so too
    feed_base = bases.feed if bases else url
    entry_bases = bases.entries if bases and len(bases.entries) == len(raw.entries) else None
    articles: list[ParsedArticle] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw.entries):
        if not (
            entry.title or entry.id or entry.link or entry.content or entry.summary
            or entry.enclosures or entry.image or entry.author or entry.published is not None
            or entry.updated is not None
        ):
            continue  # an empty element, e.g. an <item> illegally nested in another
        link_base, content_base, summary_base = entry_bases[index] if entry_bases else (feed_base,) * 3
        written_link, link = _choose_link(fmt, entry.link, entry.links, link_base)
        entry_id, written_id = clean_line(entry.id), ""
        if entry_id.startswith("/") and not entry_id.startswith("//"):
            # a path on the feed's site, as feedparser reads it: resolved, it is a link too
            written_id, entry_id = entry_id, _absolute(link_base, entry_id) or entry_id
            if entry_id == written_id:
                written_id = ""
        if not link and _SCHEME.match(entry_id):
            link = _absolute("", entry_id)
        title = _title_line(_unmojibake_line(entry.title), entry.title_is_html)
        published = _epoch(entry.published, now)
        updated = _epoch(entry.updated, now)
        if published is None:
            published = updated
        if updated == published:
            updated = None  # feedparser copies pubDate into "updated"; only a real update counts
        guid = entry_id or clean_line(written_link) or clean_line(entry.link)
        if not guid:
            basis = f"{title}\n{published or ''}"
            if not title and published is None:
                # Text, not markup: the parsers serialise the same body differently.
                basis += "\n" + html_to_line(entry.content or entry.summary)[:500]
            guid = "sha1:" + hashlib.sha1(basis.encode("utf-8", "replace")).hexdigest()
        elif len(guid) > MAX_GUID:
            guid = "sha1:" + hashlib.sha1(guid.encode("utf-8", "replace")).hexdigest()
        if guid in seen:
            continue  # the first entry with a given guid wins: feeds list their newest first
        seen.add(guid)
        html_base = content_base if bases else (link or feed_base)
        summary_html_base = summary_base if bases else html_base
        content, summary = fix(entry.content), fix(entry.summary)
        repaired = repaired or content != entry.content or summary != entry.summary
        if entry.content_is_text or (entry.summary_is_text and entry.content == entry.summary):
            content = _text_to_html(content)  # (fastfeedparser copies a description into content)
        if entry.summary_is_text and summary:
            summary = _text_to_html(summary)
        if summary == content:
            summary = ""
        if not content:
            content, summary = summary, ""
            html_base = summary_html_base
        content = sanitize_html(_absolutize_html(content, html_base))
        summary = sanitize_html(_absolutize_html(summary, summary_html_base)) if summary else ""
        enclosures: list[Enclosure] = []
        for enc_url, enc_type, enc_length, enc_duration in entry.enclosures:
            resolved = _absolute(link_base, enc_url)
            if resolved and all(e.url != resolved for e in enclosures):
                enclosures.append(
                    Enclosure(resolved, clean_line(enc_type), _length(enc_length), _duration(enc_duration))
                )
        image = _absolute(link_base, entry.image) if entry.image else ""
        articles.append(
            ParsedArticle(
                guid=guid,
                link=link,
                title=title,
                author=html_to_line(_unmojibake_line(_byline(entry.author))),
                published=published,
                updated=updated,
                summary=summary,
                content=content,
                enclosures=enclosures,
                image=image,
                written_guid=written_id if guid == entry_id else "",
            )
        )
    if raw.title or not head:
        feed_title = _title_line(_unmojibake_line(raw.title), raw.title_is_html)
    else:
        feed_title = _title_line(_unmojibake_line(head.title), head.title_is_html)
    feed_link = head.link if head else ""
    if not feed_link and not (head and fmt.startswith("atom")):
        # the parser's, where the head scan found none (CDF's is its root's HREF); not
        # Atom's, for which fastfeedparser gives the rel="self" link when there is no other
        feed_link = _absolute(feed_base, raw.link)
    if repaired:
        warnings = [*warnings, "double-encoded UTF-8 repaired"]
    return ParsedFeed(
        title=feed_title,
        link=feed_link,
        format=fmt,
        articles=articles,
        warning=clean_line("; ".join(dict.fromkeys(warnings))),
    )
