"""Property tests of what every text passes through: the sanitiser and the parser.

Any text in, and out comes text without control characters (C0 but tab and newline, DEL,
C1, bidi controls); any HTML in, and html5ever is never handed markup that nests deeper
than a bound (nesting is what made it quadratic); valid HTML comes out as nh3 alone would
have made it. tests/test_parse_props.py covers arbitrary and mutated bytes and generated
RSS; here: JSON Feed and Atom with hostile text in every field, and text written as
character references."""

from __future__ import annotations

import html
import json
import re

import nh3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile import control_refs_in, controls_in
from tui.content import sanitize
from tui.model import FeedError, ParsedFeed
from tui.feeds.parse import parse_feed
from tui.content.sanitize import (
    _MAX_DEPTH,
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    URL_SCHEMES,
    _nest_shallowly,
    clean_line,
    clean_text,
    html_to_line,
    sanitize_html,
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HOSTILE_CHARS = list("<>&;#\"'=/ \t\n\r\x00\x07\x08\x0b\x0c\x1b\x7f\x85\x9b\x9c\x9d\u061c\u200e\u200f"
                     "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff\u0301đĐ")
TEXT = st.text(st.characters(blacklist_categories=["Cs"]) | st.sampled_from(HOSTILE_CHARS), max_size=60)
REFERENCES = st.sampled_from(["&#x1b;", "&#27;", "&#x9b;", "&#155;", "&#x202e;", "&#8238;", "&#x7f;",
                              "&#0;", "&#x0;", "&#x00000001b;", "&#X1B;", "&#x1b", "&amp;#x1b;", "&#xd800;"])
TEXT_WITH_REFS = st.lists(TEXT | REFERENCES, max_size=6).map("".join)


# ------------------------------------------------------------------------ the sanitiser
@SETTINGS
@given(TEXT_WITH_REFS)
def test_cleaned_text_holds_no_control_character(text: str) -> None:
    assert controls_in(clean_text(text).replace("\n", "").replace("\t", "")) == []
    line = clean_line(text)
    assert controls_in(line) == [] and "\n" not in line and "\t" not in line and line == line.strip()
    title = html_to_line(text)
    assert controls_in(title) == [] and "\n" not in title


@SETTINGS
@given(TEXT | st.lists(st.sampled_from(["a", "ă", " ", "  ", "Đ", "\u0301", "e\u0302", "\xa0", "\u2028", "\t", "\x1b"]))
       .map("".join))
def test_text_without_line_ends_or_controls_is_cleaned_as_any_other(text: str) -> None:
    """clean_text and clean_line answer printable text (most titles, links, authors) with NFC
    and a look for double spaces: the same as the full pass."""
    full = sanitize._CONTROLS.sub("", sanitize._drop_sequences(sanitize._normal_lines(text), sanitize._TEXT_SEQUENCES))
    assert clean_text(text) == full
    assert clean_line(text) == sanitize._SPACE_RUN.sub(" ", full).strip()


@SETTINGS
@given(TEXT_WITH_REFS)
def test_sanitized_html_holds_no_control_character_nor_reference(text: str) -> None:
    out = sanitize_html(text)
    assert controls_in(out.replace("\n", "").replace("\t", "")) == []
    assert control_refs_in(out) == []


TAGS = ["div", "p", "b", "i", "a", "ul", "ol", "li", "dl", "dd", "dt", "table", "tr", "td", "th",
        "tbody", "span", "h1", "h2", "blockquote", "pre", "em", "font", "svg", "math", "option",
        "optgroup", "select", "button", "section", "rb", "rt", "ruby", "caption", "br", "img", "hr",
        "textarea", "title", "script", "style", "template", "object", "nobr", "center", "html", "body"]
ATTRIBUTES = ["", " class=c1", " class=c2", ' href="https://e.example/"', " a='>'", ' title="</div>"',
              " x=y/", "/", ' a"b', " href=javascript:alert(1)", " onclick=alert(1)"]
TOKENS = st.one_of(
    st.builds(lambda t, a: f"<{t}{a}>", st.sampled_from(TAGS), st.sampled_from(ATTRIBUTES)),
    st.builds(lambda t: f"</{t}>", st.sampled_from(TAGS)),
    st.sampled_from(["x", " ", "&amp;", "<", ">", "<!-- c -->", "<!--", "-->", "<!x>", "<?p?>", "</ 1>",
                     "<![CDATA[y]]>", "</br>", "</p>", "\x1b[31m", "&#x1b;"]),
)


@st.composite
def tag_soup(draw: st.DrawFn) -> str:
    """Thousands of tags: a short pattern repeated with noise, as attacks are built."""
    pattern = draw(st.lists(TOKENS, min_size=1, max_size=5))
    noise = draw(st.lists(TOKENS, max_size=20))
    repeats = draw(st.integers(50, 3000))
    return "".join(pattern) * repeats + "".join(noise)


_SERIALIZED_TAG = re.compile(r"<(/?)([a-z][a-z0-9]*)")
_SERIALIZED_VOID = {"br", "img", "hr", "col", "input", "image", "area", "wbr", "embed", "source",
                    "track", "param", "link", "meta", "base", "keygen", "frame", "basefont", "bgsound"}


def parsed_depth(markup: str) -> int:
    """How deep html5ever nests `markup`: its tree, every element kept, serialized by nh3
    with explicit end tags, measured tag by tag."""
    tree = nh3.clean(markup, tags=set(TAGS) - {"script", "style"}, attributes={}, strip_comments=True)
    depth = deepest = 0
    for closing, tag in _SERIALIZED_TAG.findall(tree):
        if tag in _SERIALIZED_VOID:
            continue
        depth += -1 if closing else 1
        deepest = max(deepest, depth)
    return deepest


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tag_soup())
def test_html5ever_never_sees_deep_nesting(soup: str) -> None:
    """The rebuilt markup nests at most _MAX_DEPTH levels (tables twice that: html5ever adds
    the tbody and tr they leave out), so its cost per tag is bounded."""
    assert parsed_depth(_nest_shallowly(soup)) <= 2 * _MAX_DEPTH + 2


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tag_soup())
def test_sanitized_tag_soup_is_safe(soup: str) -> None:
    out = sanitize_html(soup)
    tags = re.findall(r"<[^>]*>", out)  # real markup; text holds "&lt;" for a "<"
    assert not any(t.startswith(("<script", "<style", "<textarea")) for t in tags)
    assert not any("javascript:" in t or "onclick" in t for t in tags)
    assert controls_in(out.replace("\n", "")) == []


def test_the_depth_probe_sees_deep_nesting() -> None:
    """Without the rebuild html5ever nests what it is given: the probe above measures it."""
    assert parsed_depth("<div>" * 500) == 500
    assert parsed_depth(_nest_shallowly("<div>" * 500)) == _MAX_DEPTH


INLINE_TAGS = ["b", "i", "em", "strong", "code", "span", "small", "sub", "sup", "abbr", "q", "mark", "s", "u"]
WORDS = st.sampled_from(["Lãnh đạo", "x &amp; y", "a &lt; b", " ", "Ω", "\n", "Thái Nguyên"])


def element(tag: str, children: st.SearchStrategy[str], *, count: int = 3) -> st.SearchStrategy[str]:
    return st.lists(children, min_size=1, max_size=count).map(lambda kids: f"<{tag}>{''.join(kids)}</{tag}>")


INLINE = st.recursive(
    WORDS | st.just("<br>") | st.just('<img src="https://e.example/i.png" alt="a &quot;b&quot;">'),
    lambda inner: st.one_of(*(element(tag, inner) for tag in INLINE_TAGS)),
    max_leaves=12,
)
LINK = st.lists(WORDS, min_size=1, max_size=3).map(lambda words: f'<a href="https://e.example/?a=1&amp;b=2">{"".join(words)}</a>')
PHRASING = st.lists(INLINE | LINK, min_size=1, max_size=4).map("".join)
BLOCKS = st.recursive(
    PHRASING.map(lambda text: f"<p>{text}</p>"),
    lambda inner: st.one_of(
        *(st.lists(inner | PHRASING, min_size=1, max_size=4).map(lambda kids, t=tag: f"<{t}>{''.join(kids)}</{t}>")
          for tag in ("div", "blockquote", "section", "article")),
        *(st.lists(inner | PHRASING, min_size=1, max_size=4).map(
            lambda items, t=tag: f"<{t}>{''.join(f'<li>{i}</li>' for i in items)}</{t}>") for tag in ("ul", "ol")),
        st.lists(st.tuples(PHRASING, inner), min_size=1, max_size=2).map(
            lambda pairs: "<dl>" + "".join(f"<dt>{t}</dt><dd>{d}</dd>" for t, d in pairs) + "</dl>"),
        st.lists(st.lists(inner | PHRASING, min_size=1, max_size=3), min_size=1, max_size=3).map(
            lambda rows: "<table><tbody>" + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>"
                                                    for row in rows) + "</tbody></table>"),
        PHRASING.map(lambda text: f"<h2>{text}</h2>"),
        PHRASING.map(lambda text: f"<pre>{text}</pre>"),
    ),
    max_leaves=20,
)


@SETTINGS
@given(st.lists(BLOCKS, min_size=1, max_size=8).map("".join))
def test_valid_html_comes_out_as_nh3_alone_makes_it(fragment: str) -> None:
    """The rebuild is invisible on valid markup: real articles keep every element."""
    alone = nh3.clean(fragment, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES,
                      link_rel=None, strip_comments=True)
    assert sanitize_html(fragment) == alone


# ------------------------------------------------------------------------ the parser
BIDI_AND_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def check_clean(feed: ParsedFeed) -> None:
    lines = [feed.title, feed.link, feed.warning]
    for article in feed.articles:
        lines += [article.guid, article.link, article.title, article.author]
        lines += [e.url for e in article.enclosures] + [e.type for e in article.enclosures]
        for body in (article.summary, article.content):
            assert not BIDI_AND_CONTROLS.search(body.replace("\n", "").replace("\t", ""))
            assert control_refs_in(body) == []
    for line in lines:
        assert not BIDI_AND_CONTROLS.search(line) and "\n" not in line, repr(line)


def parse(data: bytes, content_type: str = "") -> ParsedFeed | None:
    try:
        feed = parse_feed(data, url="https://e.example/feed", content_type=content_type)
    except FeedError:
        return None
    check_clean(feed)
    return feed


@SETTINGS
@given(st.lists(st.fixed_dictionaries({
    "id": TEXT, "url": TEXT, "external_url": TEXT, "title": TEXT, "content_html": TEXT_WITH_REFS,
    "content_text": TEXT, "summary": TEXT, "authors": st.lists(st.fixed_dictionaries({"name": TEXT}), max_size=2),
    "attachments": st.lists(st.fixed_dictionaries({"url": TEXT, "mime_type": TEXT}), max_size=2),
}), max_size=4), TEXT, TEXT)
def test_json_feed_with_hostile_text_everywhere(items: list[dict[str, object]], title: str, home: str) -> None:
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": title, "home_page_url": home, "items": items}
    feed = parse(json.dumps(doc).encode("utf-8"), "application/feed+json")
    assert feed is not None and len(feed.articles) <= len(items)


def as_references(text: str) -> str:
    """Every character as a hexadecimal reference, as a hostile generator would write it."""
    return "".join(f"&#x{ord(ch):x};" for ch in text)


@SETTINGS
@given(st.lists(st.tuples(TEXT, TEXT, TEXT, TEXT_WITH_REFS), min_size=1, max_size=4), TEXT,
       st.sampled_from(["raw", "references"]))
def test_atom_with_hostile_text_everywhere(entries: list[tuple[str, str, str, str]], title: str, form: str) -> None:
    def write(text: str) -> str:
        if form == "references":
            return as_references(text)
        text = "".join(ch for ch in text if ch in "\t\n\r" or 32 <= ord(ch) and ch not in "\ufffe\uffff")
        return html.escape(text, quote=False)

    body = "".join(
        f"<entry><id>urn:e:{n}</id><title type=\"html\">{write(t)}</title><author><name>{write(a)}</name></author>"
        f'<link href="https://e.example/{n}{write(link)}"/><content type="html">{html.escape(c, quote=False)}</content></entry>'
        for n, (t, a, link, c) in enumerate(entries)
    )
    doc = f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>{write(title)}</title>{body}</feed>'
    feed = parse(doc.encode("utf-8"))
    if form == "raw":
        assert feed is not None and [a.guid for a in feed.articles] == [f"urn:e:{n}" for n in range(len(entries))]


# Escape sequences written raw into an XML document, where they are removed whole before
# any parser reads it: pieces that end one early, run on unterminated, or sit beside what
# XML reads as markup (quotes, "&amp;", "]]>", "-->").
SEQUENCE_PIECES = st.sampled_from([
    "\x1b[31m", "\x1b[0m", "\x1b[", "\x1b[?25l", "\x1b[2 q", "\x1b]0;title\x07", "\x1b]8;;https://e.example/\x1b\\",
    "\x1b]", "\x1bPq#0\x1b\\", "\x1b_apc", "\x1bc", "\x1b(B", "\x1b", "\x07", "\x9b31m", "\x9d0;t\x9c", "\x9d0;t\x07",
    "\x1b_a\x9c", "]", "]]", "-", "--", "'", '"', "&amp;", "&lt;", ">", "word", " ",
])
SEQUENCE_TEXT = st.lists(SEQUENCE_PIECES, max_size=8).map("".join)


@SETTINGS
@given(st.lists(st.tuples(SEQUENCE_TEXT, SEQUENCE_TEXT, SEQUENCE_TEXT, SEQUENCE_TEXT), min_size=1, max_size=4),
       SEQUENCE_TEXT)
def test_raw_escape_sequences_never_break_an_xml_document(entries: list[tuple[str, str, str, str]],
                                                          title: str) -> None:
    body = "".join(
        f"<entry><id>urn:e:{n}</id><title>T{n} {t}</title>"
        f"<link href='https://e.example/{n}/{html.escape(link)}'/><!-- {note.replace('-', ' ')} -->"
        f"<content type=\"html\"><![CDATA[<p>{c.replace(']]>', '')}</p>]]></content></entry>"
        for n, (t, link, note, c) in enumerate(entries)
    )
    doc = f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>F {title}</title>{body}</feed>'
    feed = parse(doc.encode("utf-8"))
    assert feed is not None and feed.title.startswith("F")
    assert [a.guid for a in feed.articles] == [f"urn:e:{n}" for n in range(len(entries))]
    assert [a.title.split(" ")[0] for a in feed.articles] == [f"T{n}" for n in range(len(entries))]
