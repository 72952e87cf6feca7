"""Stored article HTML turned into what the reader sees: styled Rich text or plain text.

The article view (Textual) and `docbao read` (plain text to a pager) share this module, so it
builds `rich.text.Text` and never imports Textual.

The input is hostile. It is tokenised here by a small linear-time HTML tokenizer (the
standard library's `html.parser` goes quadratic on inputs such as a run of unclosed `<!--`,
and libxml2 silently drops everything below 2,048 levels of nesting), built into a tree with
the usual implied end tags, and walked with explicit stacks, so neither a huge nor a
10,000-level-deep document can exhaust the Python stack. Feed text is only ever placed in
`Text` objects with `Style` objects: nothing here parses Rich markup, so `[bold]` or
`[@click=app.quit]` in an article stays literal text. Every text node goes through
`clean_text` after its entities are decoded, so `&#x1b;` can never become an ESC.

Rendering happens in two steps. The walk produces width-independent blocks (paragraphs with
the prefixes their containers give them: list markers, quote gutters, indents; verbatim
blocks; tables). Laying the blocks out at a width wraps them with those prefixes repeated on
every wrapped line. A `Rendered` keeps its blocks, so `rewrap` and `to_plain` lay the same
document out again at another width without parsing it again.
"""

from __future__ import annotations

import gc
import html as _html
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urljoin

from rich.cells import cell_len, get_character_cell_size
from rich.style import Style
from rich.text import Span, Text

from tui.content.readable import file_size
from tui.content.sanitize import clean_line, clean_text, is_openable_url
from tui.content.tokens import ESCAPABLE_RAW, VOID, Attrs, attribute_pairs, tokenize

__all__ = ["IMAGE_META", "Rendered", "image_meta", "lead_image", "lead_picture", "media_lines",
           "render_article", "render_html", "rewrap", "to_plain"]

# --------------------------------------------------------------------------------------------
# Styles. Foreground and background are set together where a background is used, so code
# stays readable on light and dark terminals alike.

TITLE = Style(bold=True)
META = Style(dim=True)
RULE = Style(dim=True)
H1 = Style(bold=True, underline=True)
H2 = Style(bold=True, underline=True)
H3 = Style(bold=True)
BOLD = Style(bold=True)
ITALIC = Style(italic=True)
UNDERLINE = Style(underline=True)
STRIKE = Style(strike=True)
MARK = Style(reverse=True)
CODE = Style(color="grey93", bgcolor="grey23")
CODE_BLOCK = Style(color="grey93", bgcolor="grey15")
CUT_LINE_MARK = "…"  # ends a header line (a long URL) cut to keep the header compact
WRAP_MARK = "↪"  # starts the continuation of a code line too wide for the reader
LINK = Style(underline=True)
FOOTNOTE = Style(dim=True)
IMAGE = Style(italic=True, dim=True)
GUTTER = Style(dim=True)
TABLE_RULE = Style(dim=True)

QUOTE_GUTTER = "▌ "
BULLETS = ("•", "◦", "▪")
DD_INDENT = "    "
NATURAL_RULE_WIDTH = 40  # a horizontal rule when no width is known
MAX_PREFIX_LEVELS = 8  # nested quotes/lists deeper than this add no more indentation
MIN_COLUMN = 6  # narrowest useful table column; narrower tables are shown row by row
MAX_COLSPAN = 20
MAX_BREAKS = 2  # "<br><br><br><br>" shows at most one blank line

Seg = tuple[str, Style | None]
Line = list[Seg]

# --------------------------------------------------------------------------------------------
# Public API


@dataclass
class Rendered:
    """A rendered article: styled text, and the URLs its footnote numbers point to.

    `blocks` is the width-independent layout the text was made from; `rewrap` and
    `to_plain` use it to lay the same article out at another width.
    """

    text: Text
    links: list[str]
    blocks: list[_Block] = field(default_factory=list, repr=False, compare=False)
    images: list[str] = field(default_factory=list)  # image URLs; the label of image n carries image_meta(n)


IMAGE_META = "docbao.image"  # the Style meta key marking an image's label: where the view draws it
LINK_META = "docbao.link"  # the Style meta key marking a link's number: a click there opens it


def link_meta(number: int) -> Style:
    """The style that marks a link's text, its footnote number and its line in the list
    of links, so that a click on any of them opens link `number`."""
    return Style.from_meta({LINK_META: number})


def image_meta(index: int) -> Style:
    """The style that marks the label (the alt text) of the article's image `index`."""
    return Style.from_meta({IMAGE_META: index})


def render_html(html: str, *, base_url: str = "", width: int | None = None) -> Rendered:
    """The article body alone. Relative links resolve against `base_url` when given.

    With `width`, lines are wrapped here so quote gutters and list indents repeat on every
    wrapped line; without it each paragraph is one long line for the widget to wrap.
    """
    with _gc_paused(len(html)):
        blocks, links = _body_blocks(html, base_url)
        blocks = blocks + _link_list_blocks(links.urls)
        return Rendered(_to_text(blocks, width), links.urls, blocks, links.images)


def render_article(
    *,
    title: str,
    feed: str,
    author: str,
    published: int | None,
    link: str,
    html: str,
    width: int | None = None,
    media: Sequence[str] = (),
    lead: str = "",
    date_format: str = "",
    seen: int | None = None,
) -> Rendered:
    """Header (title, feed · author · local date, link, the media lines), a rule, then the
    body; the `lead` image on top of a body that has no image of its own. An article its
    feed gives no date has the date it was first `seen` (the date its list shows), said so."""
    header: list[_Block] = []
    title_line = clean_line(title)
    if title_line:
        header.append(_text_para(title_line, TITLE))
    when = _local_time(published, date_format) if published is not None else ""
    if not when and seen is not None and (first := _local_time(seen, date_format)):
        when = f"seen {first}"
    # the date and its time stay together, and a " ·" with the part before it: the line
    # breaks after a "·" or inside a long feed or author name, never in "2024-11-20 08:00"
    meta = [part for part in (clean_line(feed), clean_line(author), when.replace(" ", _GLUE)) if part]
    if meta:
        header.append(_text_para(f"{_GLUE}· ".join(meta), META, _GLUED))
    link_line = clean_line(link)
    if link_line:
        header.append(_text_para(link_line, META, _CUT))
    for line in media:
        if clean_line(line):
            header.append(_text_para(clean_line(line), META, _CUT))
    header.append(_Para([], [], "", [], _RULE))
    with _gc_paused(len(html)):
        body, links = _body_blocks(html, link_line)
        lead_url = links.resolve(lead, mailto=False) if lead and not links.images else None
        if lead_url is not None and _is_http(lead_url):
            body = [_text_para("[image]", IMAGE + image_meta(links.image(lead_url))), _Blank([]), *body]
        blocks = header + ([_Blank([])] + body if body else []) + _link_list_blocks(links.urls)
        return Rendered(_to_text(blocks, width), links.urls, blocks, links.images)


_IMG_SRC = re.compile(r"""<img\b[^>]*?\ssrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE)


def lead_image(image: str, html: str) -> str:
    """An article's lead image: the one its feed names, else the first <img> of its body
    that docbao could open, else ""."""
    if image:
        return image
    start = html.find("<img")
    while start >= 0:
        match = _IMG_SRC.match(html, start)
        if match:
            url = _html.unescape(next(g for g in match.groups() if g is not None)).strip()
            if is_openable_url(url):
                return url
        start = html.find("<img", start + 4)
    return ""


def lead_picture(image: str, enclosures: Sequence[Mapping[str, object]]) -> str:
    """The picture to draw on top of an article whose body has none: the image its feed
    names, else its first image enclosure, else ""."""
    if image:
        return image
    return next((str(e.get("url") or "") for e in enclosures if str(e.get("type") or "").startswith("image/")), "")


def media_lines(enclosures: Sequence[Mapping[str, object]], image: str, html: str = "") -> list[str]:
    """The article header's lines for its media: "Audio · 1:02:03 · 12.1 MB · <url>" for
    each enclosure, then "Image · <url>" for the lead image (see lead_image)."""
    lines = []
    several = sum(1 for enclosure in enclosures if clean_line(str(enclosure.get("url") or ""))) > 1
    for enclosure in enclosures:
        url = clean_line(str(enclosure.get("url") or ""))
        if not url:
            continue
        kind = clean_line(str(enclosure.get("type") or ""))
        family = kind.partition("/")[0]
        parts = [{"audio": "Audio", "video": "Video", "image": "Image"}.get(family, "Attachment")]
        if kind and family not in ("audio", "video", "image"):
            parts[0] += f" ({kind})"
        duration, length = enclosure.get("duration"), enclosure.get("length")
        if isinstance(duration, int) and duration > 0:
            hours, rest = divmod(duration, 3600)
            parts.append(f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}")
        if isinstance(length, int) and length > 0:
            parts.append(file_size(length))
        number = f"#{len(lines) + 1} " if several else ""  # what `e` and `P` ask for
        lines.append(number + " · ".join([*parts, url]))
    image_url = clean_line(lead_image(image, html))
    if image_url and not any(clean_line(str(enclosure.get("url") or "")) == image_url for enclosure in enclosures):
        lines.append("Image · " + image_url)  # an image enclosure is already listed with its size
    return lines


def rewrap(rendered: Rendered, width: int | None) -> Rendered:
    """The same article laid out at another width (for a resized view), without re-parsing."""
    if not rendered.blocks:
        return rendered
    with _gc_paused(len(rendered.text)):
        return Rendered(_to_text(rendered.blocks, width), rendered.links, rendered.blocks, rendered.images)


def to_plain(rendered: Rendered, width: int) -> str:
    """Plain text wrapped to `width` terminal cells, footnoted URLs listed at the end.

    No line is wider than `width` cells (wide and combining characters measured as the
    terminal shows them); widths below 2 are treated as 2.
    """
    width = max(2, width)
    blocks = rendered.blocks or [_text_para(rendered.text.plain, None)]  # or built by hand
    with _gc_paused(len(rendered.text)):
        lines = _layout(blocks, width, plain=True)
        return "\n".join("".join(text for text, _ in line) for line in lines)


def _local_time(published: int | None, date_format: str = "") -> str:
    if published is None:
        return ""
    try:
        return clean_line(time.strftime(date_format or "%Y-%m-%d %H:%M", time.localtime(published)))
    except (OverflowError, OSError, ValueError):
        return ""


# --------------------------------------------------------------------------------------------
# Tokenizer and tree

P_CLOSERS = frozenset(
    "address article aside blockquote center details dialog dir div dl fieldset figcaption "
    "figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr main menu nav ol p pre section "
    "summary table ul li dd dt plaintext xmp listing".split()
)
SCOPE_BOUNDARY = frozenset("applet caption html table td th marquee object template button".split())
CONTAINERS = frozenset(
    "ul ol li dl dd dt table thead tbody tfoot tr td th caption blockquote menu dir article "
    "section aside nav".split()
)
HEADINGS = frozenset("h1 h2 h3 h4 h5 h6".split())
KEEP_ATTRS = frozenset("href src alt start type reversed value colspan width height".split())

_SURROGATES = re.compile("[\ud800-\udfff]")


class _Node:
    """One element of the parsed tree; children are elements or decoded text."""

    __slots__ = ("tag", "attrs", "children")

    def __init__(self, tag: str, attrs: dict[str, str]) -> None:
        self.tag = tag
        self.attrs = attrs
        self.children: list[_Node | str] = []


# Superscript and subscript as characters of their own where Unicode has them, else the
# text marked ^(…) or _(…): flattened, N<sup>2</sup>/2 read "N2/2" and 1101<sub>2</sub> "11012".
_SUPERSCRIPT = str.maketrans("0123456789+-=()ni", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱ")
_SUBSCRIPT = str.maketrans("0123456789+-=()aeoxhklmnpst", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₒₓₕₖₗₘₙₚₛₜ")
_SHIFTABLE = {"sup": frozenset("0123456789+-=()ni"), "sub": frozenset("0123456789+-=()aeoxhklmnpst")}


def _shifted(node: _Node) -> str | None:
    """A <sup> or <sub> of text alone (up to 6 characters) that Unicode can write raised
    or lowered, so written; None for any other."""
    if len(node.children) != 1 or not isinstance(node.children[0], str):
        return None
    text = node.children[0].strip()
    if not 0 < len(text) <= 6 or not set(text) <= _SHIFTABLE[node.tag]:
        return None
    return text.translate(_SUPERSCRIPT if node.tag == "sup" else _SUBSCRIPT)


class _TreeBuilder:
    """Builds a tree with the implied end tags browsers apply (p, li, dd/dt, td/tr, a).

    Every decision is O(1) amortised: each open element remembers how many `<p>` are open
    in its scope and where its nearest list/table container is, so deep or adversarial
    nesting never makes the builder scan the whole stack per tag.
    """

    def __init__(self) -> None:
        self.root = _Node("#root", {})
        # parallel stacks: node, open <p> count in button scope, index of nearest container
        self.nodes: list[_Node] = [self.root]
        self.p_open: list[int] = [0]
        self.container: list[int] = [0]
        self.counts: dict[str, int] = {}
        self.pending: list[str] = []

    # ------------------------------------------------------------ the tokenizer's sink
    def text(self, raw: str) -> None:
        if raw:
            self.pending.append(_html.unescape(raw) if "&" in raw else raw)

    def start(self, tag: str, attrs: Attrs, self_closing: bool = False) -> None:
        kept: dict[str, str] = {}
        if attrs:
            for name, value in attribute_pairs(attrs):
                if name in KEEP_ATTRS and name not in kept:
                    kept[name] = _html.unescape(value) if "&" in value else value
        self.open(tag, kept)

    def raw_text(self, tag: str, attrs: Attrs, raw: str) -> None:
        self.start(tag, attrs)
        if raw:
            self.pending.append(_html.unescape(raw) if tag in ESCAPABLE_RAW and "&" in raw else raw)
        self.end(tag)

    def _flush_text(self) -> None:
        """Adjacent text runs become one child, joined once (not by repeated +=)."""
        if self.pending:
            self.nodes[-1].children.append("".join(self.pending))
            self.pending.clear()

    def _pop(self) -> None:
        node = self.nodes.pop()
        self.p_open.pop()
        self.container.pop()
        self.counts[node.tag] -= 1

    def _pop_to_index(self, index: int) -> None:
        while len(self.nodes) > max(index, 1):
            self._pop()

    def _close(self, tag: str) -> None:
        """Pop elements up to and including the innermost open `tag` (caller checked it is open)."""
        while len(self.nodes) > 1:
            top = self.nodes[-1].tag
            self._pop()
            if top == tag:
                return

    # ------------------------------------------------------------------ the tree
    def open(self, tag: str, attrs: dict[str, str]) -> None:
        self._flush_text()
        if tag in P_CLOSERS and self.p_open[-1]:
            self._close("p")
        if tag == "li":
            index = self.container[-1]
            if self.nodes[index].tag == "li":
                self._pop_to_index(index)
        elif tag in ("dd", "dt"):
            index = self.container[-1]
            if self.nodes[index].tag in ("dd", "dt"):
                self._pop_to_index(index)
        elif tag in HEADINGS:
            if self.nodes[-1].tag in HEADINGS:
                self._pop()
        elif tag in ("tr", "td", "th", "thead", "tbody", "tfoot"):
            index = self.container[-1]
            if self.nodes[index].tag in ("td", "th"):
                self._pop_to_index(index)
                index = self.container[-1]
            if tag != "td" and tag != "th" and self.nodes[index].tag == "tr":
                self._pop_to_index(index)
                index = self.container[-1]
            if tag in ("thead", "tbody", "tfoot") and self.nodes[index].tag in ("thead", "tbody", "tfoot"):
                self._pop_to_index(index)
        elif tag == "a" and self.counts.get("a"):
            self._close("a")  # "<a>x<a>y": browsers close the first link
        node = _Node(tag, attrs)
        self.nodes[-1].children.append(node)
        if tag in VOID:
            return
        depth = len(self.nodes)
        self.nodes.append(node)
        self.p_open.append(0 if tag in SCOPE_BOUNDARY else self.p_open[-1] + (tag == "p"))
        self.container.append(depth if tag in CONTAINERS else self.container[-1])
        self.counts[tag] = self.counts.get(tag, 0) + 1

    def end(self, tag: str) -> None:
        self._flush_text()
        if not self.counts.get(tag):
            if tag == "br":  # "</br>" is a line break in every browser
                self.open("br", {})
            return
        self._close(tag)


def _parse(source: str) -> _Node:
    """Tokenise and build the tree in one linear pass over `source`."""
    builder = _TreeBuilder()
    tokenize(_SURROGATES.sub("\ufffd", source), builder)
    builder._flush_text()
    return builder.root


# --------------------------------------------------------------------------------------------
# Blocks: the width-independent result of the walk

# _CUT: one line on screen, cut at its end with CUT_LINE_MARK; _CUT_URL: one line on screen, a
# URL cut in its middle so that its start and its end show. In plain text both are one line
# too, whole however long: a URL folded over two lines is two broken links to copy or click.
# _GLUED: wrapped as text, never at a _GLUE (a no-break space), which shows as a space.
_TEXT, _PRE, _RULE, _CUT, _CUT_URL, _GLUED = 0, 1, 2, 3, 4, 5
_GLUE = "\u00a0"
# The most of a cut URL's end that is kept (its file name, its slug): beyond it, the start
# (host, path) has the room. Less room gives the end a third of it.
_URL_END_CELLS = 24
_URL_MIN_CELLS = 8  # narrower than this a URL wraps: a cut one would say nothing


@dataclass(slots=True)
class _Para:
    """A paragraph-like run of text: wrapped (or verbatim) with prefixes on every line."""

    first: list[Seg]  # prefix of the first line (a list marker, a gutter)
    rest: list[Seg]  # prefix of every following line
    plain: str  # the text; "\n" is a hard line break
    spans: list[tuple[int, int, Style]]  # sorted, non-overlapping
    kind: int = _TEXT


@dataclass(slots=True)
class _Blank:
    prefix: list[Seg]  # a blank line inside a quote keeps its gutter


@dataclass(slots=True)
class _Table:
    first: list[Seg]
    rest: list[Seg]
    caption: list[_Block]
    rows: list[list[list[_Block]]]
    header: list[bool]


_Block = _Para | _Blank | _Table


def _text_para(text: str, style: Style | None, kind: int = _TEXT) -> _Para:
    spans = [(0, len(text), style)] if style and text else []
    return _Para([], [], text, spans, kind)


def _link_list_blocks(links: list[str]) -> list[_Block]:
    if not links:
        return []
    blocks: list[_Block] = [_Blank([])]
    width = len(f"[{len(links)}] ")
    for number, url in enumerate(links, 1):
        marker = f"[{number}] ".rjust(width)
        blocks.append(_Para([(marker, FOOTNOTE + link_meta(number))], [(" " * width, None)], url,
                            [(0, len(url), LINK + link_meta(number))], _CUT_URL))
    return blocks


# --------------------------------------------------------------------------------------------
# The walk: tree -> blocks

# content never shown: code, metadata, and fallback markup of embedded frames
SKIP = frozenset("script style template head title svg select datalist iframe noembed noframes".split())
BLOCKS = frozenset(
    "address article aside blockquote body center details dialog dir div dl dd dt fieldset "
    "figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr html li legend main menu "
    "nav ol p pre section summary table tr ul caption xmp listing plaintext".split()
)
MARGIN = frozenset(
    "p h1 h2 h3 h4 h5 h6 pre blockquote dl table figure address fieldset details hr xmp "
    "listing plaintext".split()
)
PRE_TAGS = frozenset("pre xmp listing plaintext".split())
INLINE_STYLES: dict[str, Style] = {
    "b": BOLD, "strong": BOLD, "i": ITALIC, "em": ITALIC, "cite": ITALIC, "var": ITALIC,
    "dfn": ITALIC, "address": ITALIC, "figcaption": ITALIC, "caption": ITALIC,
    "u": UNDERLINE, "ins": UNDERLINE, "s": STRIKE, "strike": STRIKE, "del": STRIKE,
    "mark": MARK, "code": CODE, "kbd": CODE, "samp": CODE, "tt": CODE,
    "h1": H1, "h2": H2, "h3": H3, "h4": H3, "h5": H3, "h6": H3,
    "dt": BOLD, "th": BOLD, "summary": BOLD,
}
_WS = re.compile(r"[ \t\n\r\f\u2028\u2029]+")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


class _Links:
    """The article's numbered URLs, shared by the walks of the body and its table cells."""

    def __init__(self, base_url: str) -> None:
        self.urls: list[str] = []
        self.numbers: dict[str, int] = {}
        self.images: list[str] = []  # the http(s) images, in order of first appearance
        self.image_indexes: dict[str, int] = {}
        self.base_url = base_url if is_openable_url(base_url) else ""
        self.seen: dict[tuple[str, bool], str | None] = {}

    def resolve(self, raw: str, *, mailto: bool) -> str | None:
        """The absolute URL a link or image points to; None when it cannot be opened."""
        key = (raw, mailto)
        if key in self.seen:
            return self.seen[key]
        url = self.seen[key] = self._resolve(raw, mailto)
        return url

    def number(self, url: str) -> int:
        """The URL's footnote number, given on its first appearance."""
        number = self.numbers.get(url)
        if number is None:
            self.urls.append(url)
            number = self.numbers[url] = len(self.urls)
        return number

    def image(self, url: str) -> int:
        """The image's index in `images`, given on its first appearance."""
        index = self.image_indexes.get(url)
        if index is None:
            index = self.image_indexes[url] = len(self.images)
            self.images.append(url)
        return index

    def _resolve(self, raw: str, mailto: bool) -> str | None:
        url = clean_text(raw).strip().replace("\n", "").replace("\t", "")
        if not url or url.startswith("#"):
            return None
        if self.base_url and not _SCHEME.match(url):
            try:
                url = urljoin(self.base_url, url)
            except ValueError:
                return None
        url = url.replace(" ", "%20")
        if url[:7].lower() == "mailto:":
            if not mailto or len(url) == 7 or any(ch.isspace() for ch in url):
                return None
        elif not is_openable_url(url):
            return None
        return url


@dataclass(slots=True, eq=False)
class _Ctx:
    """A container that prefixes its lines: a list item, a quote, a definition."""

    first: list[Seg]
    rest: list[Seg]
    opened_at: int  # paragraphs emitted before it opened: anything more means not empty
    used: bool = True  # False while a list item's marker has not been shown


@dataclass(slots=True)
class _ListState:
    ordered: bool
    next: int
    step: int
    kind: str  # "1", "a", "A", "i", "I"
    width: int  # cells of the widest marker, so numbers line up
    depth: int  # nesting among unordered lists, for the bullet shape


class _Inline:
    """Inline text of the paragraph being built, with whitespace collapsed as browsers do."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.parts: list[str] = []
        self.spans: list[tuple[int, int, Style]] = []
        self.length = 0
        self.space = False  # a collapsed space waits for the next word
        self.space_style: Style | None = None
        self.newlines = 0  # trailing "\n" count
        self.col = 0  # cells since the last newline, for tab stops in verbatim text

    def _append(self, text: str, style: Style | None) -> None:
        start = self.length
        self.parts.append(text)
        self.length += len(text)
        if style is not None:
            spans = self.spans
            if spans and spans[-1][1] == start and spans[-1][2] is style:
                spans[-1] = (spans[-1][0], self.length, style)
            else:
                spans.append((start, self.length, style))

    def add_text(self, text: str, style: Style | None) -> None:
        text = _WS.sub(" ", text)
        if not text:
            return
        if text[0] == " ":
            self.want_space(style)
            text = text[1:]
            if not text:
                return
        trailing = text[-1] == " "
        if trailing:
            text = text[:-1]
        if self.space:
            self._append(" ", self.space_style)
            self.space = False
        self._append(text, style)
        self.newlines = 0
        if trailing:
            self.want_space(style)

    def add_marker(self, text: str, style: Style | None) -> None:
        """Text glued to what precedes it (a footnote number): a pending space stays pending."""
        self._append(text, style)
        self.newlines = 0

    def want_space(self, style: Style | None) -> None:
        if self.length and not self.newlines and not self.space:
            self.space = True
            self.space_style = style

    def add_verbatim(self, text: str, style: Style | None) -> None:
        if "\t" in text:
            pieces: list[str] = []
            col = self.col
            for chunk in re.split(r"(\t|\n)", text):
                if chunk == "\t":
                    pad = 8 - col % 8
                    pieces.append(" " * pad)
                    col += pad
                elif chunk == "\n":
                    pieces.append("\n")
                    col = 0
                else:
                    pieces.append(chunk)
                    col += cell_len(chunk)
            text = "".join(pieces)
        if not text:
            return
        if self.space:
            self._append(" ", self.space_style)
            self.space = False
        self._append(text, style)
        last_line = text.rpartition("\n")
        self.col = cell_len(last_line[2]) if last_line[1] else self.col + cell_len(text)
        self.newlines = 0

    def add_break(self, verbatim: bool) -> None:
        self.space = False
        if verbatim:
            self._append("\n", None)
            self.col = 0
            return
        if self.length and self.newlines < MAX_BREAKS:
            self._append("\n", None)
            self.newlines += 1

    def take(self, verbatim: bool) -> tuple[str, list[tuple[int, int, Style]]] | None:
        """The paragraph so far (or None when empty), leaving the buffer empty."""
        plain = "".join(self.parts)
        spans = self.spans
        self.reset()
        if verbatim:
            if plain.endswith("\n"):
                plain = plain[:-1]
        else:
            plain = plain.rstrip("\n")
        if not plain or (verbatim and not plain.strip()):
            return None
        end = len(plain)
        if spans and spans[-1][1] > end:
            spans = [(a, min(b, end), s) for a, b, s in spans if a < end]
        return plain, spans


class _Walker:
    """Walks one tree (the body, or one table cell) and collects its blocks."""

    def __init__(self, links: _Links, *, in_cell: bool = False) -> None:
        self.links = links
        self.in_cell = in_cell
        self.blocks: list[_Block] = []
        self.ctx: list[_Ctx] = [_Ctx([], [], 0)]
        self.unused: list[_Ctx] = []
        self.styles: list[Style | None] = [None]
        self.anchors: list[tuple[str | None, int, int]] = []  # url, inline length, emitted
        self.lists: list[_ListState] = []
        self.inline = _Inline()
        self.pre = 0
        self.pre_fresh = False
        self.emitted = 0
        self.blank_pending = False
        self.blank_level = 0

    # -- driving -----------------------------------------------------------------------------

    def run(self, root: _Node) -> list[_Block]:
        """Depth-first over `root`'s children with an explicit stack (no recursion)."""
        stack: list[tuple[_Node, int]] = [(root, 0)]
        while stack:
            node, index = stack[-1]
            if index < len(node.children):
                stack[-1] = (node, index + 1)
                child = node.children[index]
                if isinstance(child, str):
                    self.text(child)
                elif self.start(child):
                    stack.append((child, 0))
            else:
                stack.pop()
                if stack:
                    self.end(node)
        self.flush()
        return self.blocks

    # -- emitting ----------------------------------------------------------------------------

    def _prefixes(self) -> tuple[list[Seg], list[Seg]]:
        first: list[Seg] = []
        rest: list[Seg] = []
        visible = self.ctx[1 : MAX_PREFIX_LEVELS + 1]
        for ctx in visible:
            first.extend(ctx.rest if ctx.used else ctx.first)
            rest.extend(ctx.rest)
        innermost = self.ctx[-1]
        if len(self.ctx) > MAX_PREFIX_LEVELS + 1 and not innermost.used:
            first.extend(innermost.first)  # a deep list item still shows its marker
        for ctx in self.unused:
            ctx.used = True
        self.unused.clear()
        return first, rest

    def _before_block(self) -> None:
        if self.blank_pending:
            prefix: list[Seg] = []
            for ctx in self.ctx[1 : min(self.blank_level, MAX_PREFIX_LEVELS) + 1]:
                prefix.extend(ctx.rest)
            self.blocks.append(_Blank(_rstrip_segments(prefix)))
            self.blank_pending = False

    def emit(self, block: _Block) -> None:
        self._before_block()
        self.blocks.append(block)
        self.emitted += 1

    def flush(self) -> None:
        taken = self.inline.take(self.pre > 0)
        if taken is None:
            return
        first, rest = self._prefixes()
        self.emit(_Para(first, rest, taken[0], taken[1], _PRE if self.pre else _TEXT))

    def request_blank(self) -> None:
        """Ask for a blank line before the next block, unless this container is still empty."""
        level = len(self.ctx) - 1
        if self.emitted <= self.ctx[-1].opened_at:
            return
        if self.blank_pending:
            self.blank_level = min(self.blank_level, level)
        else:
            self.blank_pending = True
            self.blank_level = level

    def push_ctx(self, first: list[Seg], rest: list[Seg], marker: bool = False) -> None:
        ctx = _Ctx(first, rest, self.emitted, used=not marker)
        if marker:
            self.unused.append(ctx)
        self.ctx.append(ctx)

    def pop_ctx(self) -> None:
        ctx = self.ctx.pop()
        if not ctx.used:  # markers are shown innermost-last, so it is at the end
            index = len(self.unused) - 1
            while self.unused[index] is not ctx:
                index -= 1
            del self.unused[index]
        if self.blank_pending:
            self.blank_level = min(self.blank_level, len(self.ctx) - 1)

    # -- handlers ----------------------------------------------------------------------------

    def text(self, data: str) -> None:
        data = clean_text(data)
        if not data:
            return
        if self.pre:
            if self.pre_fresh:
                self.pre_fresh = False
                if data.startswith("\n"):
                    data = data[1:]
            self.inline.add_verbatim(data, self.styles[-1])
        else:
            self.inline.add_text(data, self.styles[-1])

    def start(self, node: _Node) -> bool:
        tag = node.tag
        if tag in SKIP:
            return False
        if tag == "table" and not self.in_cell:
            self.table(node)
            return False
        if tag == "br":
            self.inline.add_break(self.pre > 0)
            return False
        if tag == "img":
            self.image(node)
            return False
        if tag == "hr":
            self.flush()
            self.request_blank()
            first, rest = self._prefixes()
            self.emit(_Para(first, rest, "", [], _RULE))
            self.request_blank()
            return False
        if tag in VOID:
            return False
        if tag in BLOCKS or (self.in_cell and tag in ("td", "th")):
            self.block_start(node)
        elif tag == "a":
            url = self.links.resolve(node.attrs["href"], mailto=True) if "href" in node.attrs else None
            self.anchors.append((url, self.inline.length, self.emitted))
        elif tag == "q":
            self.inline.add_text("“", self.styles[-1])
        elif tag in ("sup", "sub"):
            shifted = _shifted(node)
            if shifted is not None:  # x², H₂O: as a browser shows them
                self.inline.add_marker(shifted, self.styles[-1])
                return False
            self.inline.add_marker("^(" if tag == "sup" else "_(", self.styles[-1])
        style = INLINE_STYLES.get(tag)
        if tag == "a" and self.anchors[-1][0] is not None:
            style = LINK
        current = self.styles[-1]
        self.styles.append(style if current is None else (current if style is None else current + style))
        return True

    def end(self, node: _Node) -> None:
        tag = node.tag
        self.styles.pop()
        if tag == "a":
            self.anchor_end(*self.anchors.pop())
        elif tag == "q":
            self.inline.add_text("”", self.styles[-1])
        elif tag in ("sup", "sub"):
            self.inline.add_marker(")", self.styles[-1])
        elif tag in BLOCKS or (self.in_cell and tag in ("td", "th")):
            self.block_end(node)

    def anchor_end(self, url: str | None, length: int, emitted: int) -> None:
        """Number the link after its text; a link that showed nothing gets no number."""
        if url is None:
            return
        start = length if self.emitted == emitted else 0
        if self.inline.length > start:
            number = self.links.number(url)
            meta = link_meta(number)
            inline = self.inline  # the link's own text opens it too: its spans get the number
            inline.spans = [(a, b, style + meta if style is not None and start <= a and b <= inline.length else style)
                            for a, b, style in inline.spans]
            inline.add_marker(f"[{number}]", FOOTNOTE + meta)
            return
        last = self.blocks[-1] if self.emitted != emitted and self.blocks else None
        if isinstance(last, _Para) and last.kind == _TEXT and last.plain:  # <a><p>text</p></a>
            number = self.links.number(url)
            marker = f"[{number}]"
            last.spans.append((len(last.plain), len(last.plain) + len(marker), FOOTNOTE + link_meta(number)))
            last.plain += marker

    def block_start(self, node: _Node) -> None:
        tag = node.tag
        if self.in_cell and tag in ("td", "th"):  # a table nested in a cell: cells on one line
            self.inline.want_space(None)
            return
        self.flush()
        if tag in MARGIN or (tag in ("ul", "ol") and not self.lists):
            self.request_blank()
        if tag in ("ul", "ol", "menu", "dir"):
            self.lists.append(self._list_state(node))
        elif tag == "li":
            marker = self._marker(node)
            pad = " " * cell_len(marker)
            self.push_ctx([(marker, None)], [(pad, None)], marker=True)
        elif tag == "blockquote":
            self.push_ctx([(QUOTE_GUTTER, GUTTER)], [(QUOTE_GUTTER, GUTTER)])
        elif tag == "dd":
            self.push_ctx([(DD_INDENT, None)], [(DD_INDENT, None)])
        elif tag in PRE_TAGS:
            self.pre += 1
            self.pre_fresh = True

    def block_end(self, node: _Node) -> None:
        tag = node.tag
        if self.in_cell and tag in ("td", "th"):
            self.inline.want_space(None)
            return
        self.flush()
        if tag in ("ul", "ol", "menu", "dir"):
            self.lists.pop()
        elif tag == "li":
            ctx = self.ctx[-1]
            if not ctx.used and self.emitted == ctx.opened_at:  # an empty item keeps its number
                first, rest = self._prefixes()
                self.emit(_Para(_rstrip_segments(first), rest, "", []))
            self.pop_ctx()
        elif tag in ("blockquote", "dd"):
            self.pop_ctx()
        elif tag in PRE_TAGS:
            self.pre -= 1
            self.pre_fresh = False
        if tag in MARGIN or (tag in ("ul", "ol") and not self.lists):
            self.request_blank()

    def _list_state(self, node: _Node) -> _ListState:
        ordered = node.tag == "ol"
        parent = self.lists[-1] if self.lists else None
        depth = 0 if parent is None else parent.depth + (not parent.ordered)
        if not ordered:
            return _ListState(False, 0, 0, "", 0, depth)
        items = sum(1 for child in node.children if isinstance(child, _Node) and child.tag == "li")
        reversed_ = "reversed" in node.attrs
        start = _int_attr(node.attrs.get("start"), items if reversed_ else 1)
        step = -1 if reversed_ else 1
        kind = node.attrs.get("type", "1").strip()
        if kind not in ("1", "a", "A", "i", "I"):
            kind = "1"
        last = start + step * max(items - 1, 0)
        width = max(cell_len(_number_text(start, kind)), cell_len(_number_text(last, kind)))
        return _ListState(True, start, step, kind, width, depth)

    def _marker(self, node: _Node) -> str:
        if not self.lists:
            return BULLETS[0] + " "
        state = self.lists[-1]
        if not state.ordered:
            return BULLETS[state.depth % len(BULLETS)] + " "
        if "value" in node.attrs:
            state.next = _int_attr(node.attrs["value"], state.next)
        label = _number_text(state.next, state.kind)
        state.next += state.step
        return label.rjust(state.width) + ". "

    def image(self, node: _Node) -> None:
        attrs = node.attrs
        if _int_attr(attrs.get("width"), 2) in (0, 1) or _int_attr(attrs.get("height"), 2) in (0, 1):
            return  # a tracking pixel, not a picture
        alt = clean_line(attrs.get("alt", ""))
        label = f"[image: {alt}]" if alt else "[image]"
        url = self.links.resolve(attrs["src"], mailto=False) if "src" in attrs else None
        style = IMAGE if self.styles[-1] is None else self.styles[-1] + IMAGE
        if url is not None and _is_http(url):
            style += image_meta(self.links.image(url))
        self.inline.add_text(label, style)
        if url is not None:
            number = self.links.number(url)
            self.inline.add_marker(f"[{number}]", FOOTNOTE + link_meta(number))

    def table(self, node: _Node) -> None:
        """Collect the table's rows and cells and lay each cell out with its own walk."""
        self.flush()
        self.request_blank()
        caption: list[_Block] = []
        rows: list[list[list[_Block]]] = []
        header: list[bool] = []
        row: list[list[_Block]] | None = None
        row_all_th = True
        stack: list[tuple[_Node, int, bool]] = [(node, 0, False)]  # node, child index, in thead
        while stack:
            current, index, in_head = stack[-1]
            if index >= len(current.children):
                stack.pop()
                if current.tag == "tr" and row is not None:
                    rows.append(row)
                    header.append(in_head or (row_all_th and bool(row)))
                    row = None
                continue
            stack[-1] = (current, index + 1, in_head)
            child = current.children[index]
            if isinstance(child, str):
                if child.strip() and clean_text(child).strip():
                    rows.append([self._cell_blocks(_Node("td", {}), child)])
                    header.append(False)
                continue
            tag = child.tag
            if tag == "caption":
                caption = self._cell_blocks(child)
            elif tag == "tr":
                row = []
                row_all_th = True
                stack.append((child, 0, in_head))
            elif tag in ("td", "th"):
                if row is None:  # a cell outside any row becomes a row of its own
                    rows.append([self._cell_blocks(child)])
                    header.append(tag == "th")
                    continue
                row.append(self._cell_blocks(child))
                row_all_th = row_all_th and tag == "th"
                span = min(_int_attr(child.attrs.get("colspan"), 1), MAX_COLSPAN)
                row.extend([] for _ in range(span - 1))
            elif tag in ("thead", "tbody", "tfoot"):
                stack.append((child, 0, tag == "thead"))
            elif tag in ("colgroup", "col") or tag in SKIP:
                continue
            else:  # anything else inside a table keeps its text as a one-cell row
                rows.append([self._cell_blocks(child, as_child=True)])
                header.append(False)
        if not rows and not caption:
            return
        first, rest = self._prefixes()
        self.emit(_Table(first, rest, caption, rows, header))
        self.request_blank()

    def _cell_blocks(self, node: _Node, text: str | None = None, as_child: bool = False) -> list[_Block]:
        walker = _Walker(self.links, in_cell=True)
        if text is not None:
            node.children.append(text)
        if as_child:
            wrapper = _Node("#cell", {})
            wrapper.children.append(node)
            node = wrapper
        base = INLINE_STYLES.get(node.tag)
        if base is not None:
            walker.styles = [base]
        return walker.run(node)


def _int_attr(value: str | None, default: int) -> int:
    if value is None:
        return default
    match = re.match(r"\s*([+-]?\d{1,9})", value)
    return int(match.group(1)) if match else default


def _number_text(number: int, kind: str) -> str:
    if kind in ("a", "A") and number > 0:
        letters = ""
        while number > 0:
            number, remainder = divmod(number - 1, 26)
            letters = chr(ord("a") + remainder) + letters
        return letters.upper() if kind == "A" else letters
    if kind in ("i", "I") and 0 < number < 4000:
        numerals = (
            (1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
            (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"),
        )
        out = ""
        for value, letters in numerals:
            while number >= value:
                out += letters
                number -= value
        return out.upper() if kind == "I" else out
    return str(number)


GC_PAUSE_SIZE = 200_000  # characters of HTML above which collection is paused while parsing


@contextmanager
def _gc_paused(size: int) -> Iterator[None]:
    """Pause the cyclic collector while a large document is parsed.

    Parsing and layout allocate millions of small objects and CPython's collector keeps rescanning
    them (half the time of a link-heavy 4 MB page); the tree and blocks hold no reference
    cycles, so nothing is lost by collecting afterwards instead.
    """
    pause = size > GC_PAUSE_SIZE and gc.isenabled()
    if pause:
        gc.disable()
    try:
        yield
    finally:
        if pause:
            gc.enable()


def _body_blocks(html: str, base_url: str) -> tuple[list[_Block], _Links]:
    links = _Links(base_url)
    if not html:
        return [], links
    return _Walker(links).run(_parse(html)), links


def _is_http(url: str) -> bool:
    return url[:7].lower() == "http://" or url[:8].lower() == "https://"


# --------------------------------------------------------------------------------------------
# Layout: blocks -> lines at a width


def _segments_width(segments: list[Seg]) -> int:
    return sum(cell_len(text) for text, _ in segments)


def _rstrip_segments(segments: list[Seg]) -> list[Seg]:
    out = list(segments)
    while out:
        text, style = out[-1]
        stripped = text.rstrip(" ")
        if stripped:
            out[-1] = (stripped, style)
            break
        out.pop()
    return out


def _crop_segments(segments: list[Seg], cells: int) -> list[Seg]:
    """The leading `cells` cells of a prefix (deep nesting on a narrow screen)."""
    out: list[Seg] = []
    for text, style in segments:
        width = cell_len(text)
        if width <= cells:
            out.append((text, style))
            cells -= width
            continue
        kept = ""
        for grapheme in _graphemes(text):
            size = cell_len(grapheme)
            if size > cells:
                break
            kept += grapheme
            cells -= size
        if kept:
            out.append((kept, style))
        break
    return out


def _graphemes(text: str) -> list[str]:
    """Characters with the zero-width marks (combining accents, joiners) that belong to them."""
    out: list[str] = []
    join = False
    for char in text:
        if out and (join or get_character_cell_size(char) == 0):
            out[-1] += char
            join = char == "\u200d"
        else:
            out.append(char)
            join = char == "\u200d"
    return out


def _fold(text: str, start: int, width: int) -> list[tuple[int, int]]:
    """(start, end) pieces of at most `width` cells each, never splitting a grapheme."""
    pieces: list[tuple[int, int]] = []
    piece_start = start
    pos = start
    cells = 0
    for grapheme in _graphemes(text):
        size = cell_len(grapheme)
        if cells and cells + size > width:
            pieces.append((piece_start, pos))
            piece_start = pos
            cells = 0
        cells += size
        pos += len(grapheme)
    pieces.append((piece_start, pos))
    return pieces


_CODE_BREAKS = frozenset(" ,;([{")


def _code_ranges(plain: str, first_width: int, rest_width: int) -> tuple[list[tuple[int, int]], dict[int, str]]:
    """Line ranges of verbatim text on screen: one per hard line, a line too wide wrapped
    after a space or an opening bracket or separator in the second half of the room, else
    between two characters.
    The second value maps each continuation line to what it starts with: the hard line's
    own indentation (while it leaves room) and WRAP_MARK, so the wrap is never taken for
    the code's own line break."""
    ranges: list[tuple[int, int]] = []
    continued: dict[int, str] = {}
    offset = 0
    for hard in plain.split("\n"):
        width = max(2, first_width if not ranges else rest_width)
        end = offset + len(hard)
        if cell_len(hard) <= width:
            ranges.append((offset, end))
            offset = end + 1
            continue
        indent = hard[: len(hard) - len(hard.lstrip(" "))]
        lead = f"{indent}{WRAP_MARK} " if cell_len(indent) + 2 <= rest_width // 2 else f"{WRAP_MARK} "
        if cell_len(lead) >= rest_width:
            lead = ""
        graphemes = _graphemes(hard)
        pos, index, room = offset, 0, width
        while index < len(graphemes):
            if pos != offset:  # a continuation: the lead, unless the next character needs its room
                line_lead = lead if cell_len(graphemes[index]) <= rest_width - cell_len(lead) else ""
                continued[len(ranges)] = line_lead
                room = max(1, rest_width - cell_len(line_lead))
            first, cut, cells = index, pos, 0
            while index < len(graphemes) and (cells + cell_len(graphemes[index]) <= room or index == first):
                cells += cell_len(graphemes[index])
                cut += len(graphemes[index])
                index += 1
            if index < len(graphemes):  # break after the last space or , ; ( [ { of the second half
                back, at = index, cut
                while back > first + (index - first) // 2 and graphemes[back - 1] not in _CODE_BREAKS:
                    back -= 1
                    at -= len(graphemes[back])
                if back > first + (index - first) // 2:
                    index, cut = back, at
            ranges.append((pos, cut))
            pos = cut
        offset = end + 1
    return ranges, continued


def _wrap_ranges(plain: str, first_width: int | None, rest_width: int | None, verbatim: bool) -> list[tuple[int, int]]:
    """Line ranges of `plain`: hard breaks kept, long lines wrapped at spaces (or folded)."""
    ranges: list[tuple[int, int]] = []
    offset = 0
    for hard in plain.split("\n"):
        width = first_width if not ranges else rest_width
        end = offset + len(hard)
        if width is None or cell_len(hard) <= width:
            ranges.append((offset, end))
        elif verbatim:
            ranges.extend(_fold(hard, offset, width))
        else:
            _wrap_line(hard, offset, width, min(width, rest_width or width), ranges)
        offset = end + 1
    return ranges


def _wrap_line(line: str, offset: int, width: int, rest_width: int, ranges: list[tuple[int, int]]) -> None:
    """Greedy word wrap of one hard line. Words wider than the line are folded; wide (CJK)
    characters may break anywhere, as browsers allow."""
    start = -1  # start of the current output line, -1 before its first word
    end = 0  # end of its last word
    cells = 0
    space = 0  # spaces since the last word
    avail = width
    pos = offset
    for word in line.split(" "):
        length = len(word)
        if not length:
            space += 1
            pos += 1
            continue
        size = length if word.isascii() else cell_len(word)
        if size == length and size <= rest_width:  # the common case: one unbreakable word
            if start < 0:
                start, end, cells = pos, pos + length, size
            elif cells + space + size <= avail:
                end = pos + length
                cells += space + size
            else:
                ranges.append((start, end))
                avail = rest_width
                start, end, cells = pos, pos + length, size
        else:
            gap = space
            for atom_start, atom_end, atom_cells in _atoms(word, pos, rest_width):
                if start < 0:
                    start, end, cells = atom_start, atom_end, atom_cells
                elif cells + gap + atom_cells <= avail:
                    end = atom_end
                    cells += gap + atom_cells
                else:
                    ranges.append((start, end))
                    avail = rest_width
                    start, end, cells = atom_start, atom_end, atom_cells
                gap = 0
        pos += length + 1
        space = 1
    ranges.append((start, end) if start >= 0 else (offset, offset))


def _atoms(word: str, pos: int, width: int) -> list[tuple[int, int, int]]:
    """A word split where it may break: around wide characters, and into `width`-cell
    pieces when it is wider than a whole line."""
    atoms: list[tuple[int, int, int]] = []
    run_start = pos
    run_cells = 0
    cursor = pos
    for grapheme in _graphemes(word):
        size = cell_len(grapheme)
        if size >= 2 or (run_cells and run_cells + size > width):
            if cursor > run_start:
                atoms.append((run_start, cursor, run_cells))
            if size >= 2:
                atoms.append((cursor, cursor + len(grapheme), size))
                cursor += len(grapheme)
                run_start = cursor
                run_cells = 0
                continue
            run_start = cursor
            run_cells = 0
        run_cells += size
        cursor += len(grapheme)
    if cursor > run_start:
        atoms.append((run_start, cursor, run_cells))
    return atoms


def _range_segments(plain: str, spans: list[tuple[int, int, Style]], ranges: list[tuple[int, int]]) -> list[Line]:
    """Cut the styled text into lines; one sweep over the sorted spans."""
    lines: list[Line] = []
    first_span = 0
    count = len(spans)
    for start, end in ranges:
        while first_span < count and spans[first_span][1] <= start:
            first_span += 1
        segments: Line = []
        pos = start
        index = first_span
        while index < count and spans[index][0] < end:
            a, b, style = spans[index]
            a = max(a, start)
            b = min(b, end)
            if a > pos:
                segments.append((plain[pos:a], None))
            if b > a:
                segments.append((plain[a:b], style))
            pos = max(pos, b)
            index += 1
        if pos < end:
            segments.append((plain[pos:end], None))
        lines.append(segments)
    return lines


def _layout(blocks: list[_Block], width: int | None, *, plain: bool) -> list[Line]:
    """Lines of segments for `blocks` at `width` cells (None: no wrapping)."""
    out: list[Line] = []
    max_prefix = None if width is None else width - max(2, width // 2)
    for block in blocks:
        if isinstance(block, _Blank):
            prefix = block.prefix if max_prefix is None else _crop_segments(block.prefix, max_prefix)
            out.append(_rstrip_segments(prefix))
            continue
        first, rest = block.first, block.rest
        whole = plain and isinstance(block, _Para) and block.kind in (_CUT, _CUT_URL)  # one line, however long
        if max_prefix is not None and not whole:
            if _segments_width(first) > max_prefix:
                first = _crop_segments(first, max_prefix)
            if _segments_width(rest) > max_prefix:
                rest = _crop_segments(rest, max_prefix)
        first_width = None if width is None else width - _segments_width(first)
        rest_width = None if width is None else width - _segments_width(rest)
        if isinstance(block, _Table):
            body = _layout_table(block, rest_width, plain=plain)
        elif block.kind == _RULE:
            size = NATURAL_RULE_WIDTH if first_width is None else first_width
            body = [[("─" * size, RULE)]]
        elif whole:
            body = _range_segments(block.plain, block.spans, [(0, len(block.plain))])
        elif block.kind == _CUT and first_width is not None and cell_len(block.plain) > first_width:
            cut_range = _fold(block.plain, 0, max(1, first_width - cell_len(CUT_LINE_MARK)))[0]
            body = [[*_range_segments(block.plain, block.spans, [cut_range])[0], (CUT_LINE_MARK, META)]]
        elif (block.kind == _CUT_URL and first_width is not None and first_width > _URL_MIN_CELLS
              and cell_len(block.plain) > first_width):
            body = [_cut_url(block, first_width)]
        else:
            verbatim = block.kind == _PRE
            continued: dict[int, str] = {}
            if verbatim and not plain and first_width is not None and rest_width is not None:
                ranges, continued = _code_ranges(block.plain, first_width, rest_width)
            else:
                ranges = _wrap_ranges(block.plain, first_width, rest_width, verbatim)
            body = _range_segments(block.plain, block.spans, ranges)
            if block.kind == _GLUED:
                body = [[(text.replace(_GLUE, " "), style) for text, style in line] for line in body]
            for index, lead in continued.items():
                body[index] = [(lead, GUTTER), *body[index]]
            if verbatim:
                body = _style_verbatim(body, rest_width, plain=plain)
        for index, line in enumerate(body):
            prefix = first if index == 0 else rest
            out.append(prefix + line if line else _rstrip_segments(prefix))
    return out


def _cut_url(block: _Para, width: int) -> Line:
    """A URL too wide for its line as its start, CUT_LINE_MARK and its end, in `width` cells:
    "https://vnexpress.net/thoi-su/da-nang…-tuyen-duong-4790123.html". The mark takes the
    style of the text around it, so a click on it opens the link as the rest of the line does."""
    plain = block.plain
    graphemes = _graphemes(plain)
    room = width - cell_len(CUT_LINE_MARK)
    end_room = min(_URL_END_CELLS, room // 3)
    tail, cells = len(plain), 0
    for grapheme in reversed(graphemes):
        if cells + cell_len(grapheme) > end_room:
            break
        cells += cell_len(grapheme)
        tail -= len(grapheme)
    head = 0
    for grapheme in graphemes:
        if cells + cell_len(grapheme) > room:
            break
        cells += cell_len(grapheme)
        head += len(grapheme)
    style = next((s for a, b, s in block.spans if a < head <= b), None)
    mark = (CUT_LINE_MARK, META if style is None else META + style)
    start, end = _range_segments(plain, block.spans, [(0, head), (tail, len(plain))])
    return [*start, mark, *end]


def _style_verbatim(lines: list[Line], width: int | None, *, plain: bool) -> list[Line]:
    """Verbatim text as a shaded block: code colours under any inline style, padded even."""
    if plain:
        return lines
    styled: list[Line] = [
        [(text, CODE_BLOCK if style is None else CODE_BLOCK + style) for text, style in line] for line in lines
    ]
    block_width = max((_segments_width(line) for line in lines), default=0) + 1
    if width is not None:
        block_width = min(block_width, width)
    for line in styled:
        pad = block_width - _segments_width(line)
        if pad > 0:
            line.append((" " * pad, CODE_BLOCK))
    return styled


def _layout_table(table: _Table, width: int | None, *, plain: bool) -> list[Line]:
    """Aligned columns when they fit, one labelled cell per line when they do not."""
    out: list[Line] = []
    if table.caption:
        out.extend(_layout(table.caption, width, plain=plain))
    rows = table.rows
    columns = max((len(row) for row in rows), default=0)
    if not columns:
        return out
    natural = [0] * columns
    natural_lines: list[list[list[Line]]] = []
    for row in rows:
        cells = [_layout(cell, None, plain=plain) for cell in row]
        natural_lines.append(cells)
        for column, lines in enumerate(cells):
            natural[column] = max(natural[column], max((_segments_width(line) for line in lines), default=0))
    separator = " │ "
    room = None if width is None else width - cell_len(separator) * (columns - 1)
    if room is None or sum(natural) <= room:
        widths = natural
        cell_lines = natural_lines
    elif room >= MIN_COLUMN * columns:
        widths = _share_columns(natural, room, _longest_words(natural_lines, columns))
        cell_lines = [[_layout(cell, widths[column], plain=plain) for column, cell in enumerate(row)] for row in rows]
    else:
        assert width is not None
        out.extend(_layout_table_stacked(table, natural_lines, width, plain=plain))
        return out
    tall = any(len(lines) > 1 for cells in cell_lines for lines in cells)
    rule = [("─┼─".join("─" * size for size in widths), TABLE_RULE)]
    for index, cells in enumerate(cell_lines):
        height = max((len(lines) for lines in cells), default=0) or 1
        # a short row (or a colspan) ends where its last cell with text ends
        used = max((column + 1 for column, lines in enumerate(cells) if lines), default=1)
        for line_index in range(height):
            line: Line = []
            for column in range(used):
                lines = cells[column] if column < len(cells) else []
                content = lines[line_index] if line_index < len(lines) else []
                line.extend(content)
                if column < used - 1:
                    pad = widths[column] - _segments_width(content)
                    if pad:
                        line.append((" " * pad, None))
                    line.append((separator, TABLE_RULE))
            out.append(_rstrip_segments(line))
        is_last = index == len(cell_lines) - 1
        if not is_last and (table.header[index] and not table.header[index + 1] or tall):
            out.append(list(rule))
    return out


def _share_columns(natural: list[int], room: int, words: list[int] | None = None, least: int = 1) -> list[int]:
    """Narrow columns keep their natural width; the rest share what is left evenly, each
    column with text at least `least` cells. With each column's longest word (`words`),
    when every one fits, no column is narrower than its longest word: "Canonical" is not
    cut to "Canonica/l" while another column has room."""
    if words is not None and sum(words) <= room:
        floors = [min(word, size) for word, size in zip(words, natural)]
        # what is left is shared as it is: the floors already hold every column's text
        extra = _share_columns([size - floor for size, floor in zip(natural, floors)], room - sum(floors), least=0)
        return [floor + more for floor, more in zip(floors, extra)]
    widths = [0] * len(natural)
    remaining = room
    order = sorted(range(len(natural)), key=natural.__getitem__)
    for placed, column in enumerate(order):
        share = remaining // (len(natural) - placed)
        widths[column] = max(least if natural[column] else 0, min(natural[column], share))
        remaining -= widths[column]
    return widths


def _longest_words(natural_lines: list[list[list[Line]]], columns: int) -> list[int]:
    """Each column's widest word, in cells, over all its cells' lines."""
    longest = [0] * columns
    for cells in natural_lines:
        for column, lines in enumerate(cells):
            for line in lines:
                text = "".join(segment[0] for segment in line)
                longest[column] = max(longest[column], max((cell_len(word) for word in text.split()), default=0))
    return longest


def _layout_table_stacked(table: _Table, natural_lines: list[list[list[Line]]], width: int, *, plain: bool) -> list[Line]:
    """A table too wide for the screen: each cell on its own lines under its column's header."""
    labels: list[str] = []
    for index, is_header in enumerate(table.header):
        if is_header:
            labels = [" ".join("".join(text for text, _ in line) for line in lines).strip() for lines in natural_lines[index]]
            break
    out: list[Line] = []
    for index, row in enumerate(table.rows):
        if table.header[index]:
            continue
        if out:
            out.append([])
        for column, cell in enumerate(row):
            label = labels[column] if column < len(labels) else ""
            if label:
                out.extend(_layout([_text_para(label + ":", BOLD)], width, plain=plain))
                indent: list[Seg] = [("  ", None)]
                indented = [_indent_block(block, indent) for block in cell]
                out.extend(_layout(indented, width, plain=plain))
            else:
                out.extend(_layout(cell, width, plain=plain))
    return out


def _indent_block(block: _Block, indent: list[Seg]) -> _Block:
    if isinstance(block, _Blank):
        return _Blank(indent + block.prefix)
    if isinstance(block, _Para):
        return _Para(indent + block.first, indent + block.rest, block.plain, block.spans, block.kind)
    return _Table(indent + block.first, indent + block.rest, block.caption, block.rows, block.header)


def _to_text(blocks: list[_Block], width: int | None) -> Text:
    """One `Text` for the whole article, built from plain parts and spans in one pass."""
    if width is not None:
        width = max(2, width)
    parts: list[str] = []
    spans: list[Span] = []
    offset = 0
    for number, line in enumerate(_layout(blocks, width, plain=False)):
        if number:
            parts.append("\n")
            offset += 1
        for text, style in line:
            if not text:
                continue
            parts.append(text)
            if style is not None:
                spans.append(Span(offset, offset + len(text), style))
            offset += len(text)
    return Text("".join(parts), spans=spans)
