"""Text and HTML from the network made safe to store and to show in a terminal.

Everything that arrives from a feed or a page passes through here before it is stored:
terminal escape sequences (whole, not only their ESC), control characters (C0 but tab and
newline, DEL, C1), bidi overrides and isolates, and NUL are removed, text is normalised to
NFC, and HTML is cut down to an allowlist.
What is left can never drive the terminal; Rich/Textual markup is a separate concern of
the UI, which shows feed text as `Text`/`Content`, never as markup.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata

import nh3

from tui.content.escapes import C1_INTRODUCERS, ESC, sequence_pattern
from tui.content.tokens import ESCAPABLE_RAW, VOID, Attrs, tokenize

# C0 controls except \t and \n, DEL, C1 controls, bidi embeddings/overrides/isolates,
# the byte-order mark and the Unicode "interlinear annotation" and specials that some
# terminals mishandle.
_CONTROLS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ufff9-\ufffb]"
)
# Numeric character references that would decode to one of the characters above.
_CONTROL_REFS = re.compile(
    r"&#(?:[xX]0*(?:[0-8bcefBCEF]|1[0-9a-fA-F]|7[fF]|[89][0-9a-fA-F]|61[cC]|200[eEfF]|202[a-eA-E]|206[6-9]|[fF][eE][fF][fF])"
    r"|0*(?:[0-8]|1[1-9]|2[0-9]|3[01]|12[7-9]|1[3-5][0-9]))(?![0-9a-fA-F]);?"
)

# In the allowlist's output a "<" always opens a tag, a '"' ends an attribute's value (nh3
# quotes every one so), a ">" ends a tag and a "&" starts a character reference.
_HTML_SEQUENCES = re.compile(sequence_pattern('\n<"', markup=">&"))
_TEXT_SEQUENCES = re.compile(sequence_pattern("\n"))


def _drop_sequences(text: str, sequences: re.Pattern[str]) -> str:
    """`text` without escape sequences. Most text has none: it costs one scan for ESC, and
    the 8-bit introducers are looked for only in text that is not ASCII."""
    if ESC in text or (not text.isascii() and any(c1 in text for c1 in C1_INTRODUCERS)):
        return sequences.sub("", text)
    return text


_SPACE_RUN = re.compile(r"\s+")
_WHITESPACE = re.compile(r"\s")
# nh3 parses the content of <noscript> (scripting on), <iframe>, <noembed> and <noframes>
# as raw text and would keep it as escaped, visible markup. It is the fallback for what a
# terminal cannot show: unwrapping the tags lets its images, links and text be parsed like
# the rest.
_FALLBACK_TAG = re.compile(r"</?(?:noscript|iframe|noembed|noframes)\b[^>]*>", re.IGNORECASE)
# One scan for the start of what sanitize_html mends before the allowlist ("<!", the tags
# above, <svg>, <math>), which most bodies hold none of; spelled out in both cases, which
# the regex engine runs twice as fast as re.IGNORECASE.
_MENDS_START = re.compile(r"<(?:!|/?(?:[nN][oO][sSeEfF]|[iI][fF][rR]|[sS][vV][gG]|[mM][aA][tT]))")

ALLOWED_TAGS = {
    "a", "abbr", "acronym", "b", "bdi", "big", "blockquote", "br", "caption", "cite", "code",
    "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q",
    "s", "samp", "small", "span", "strike", "strong", "sub", "summary", "sup", "table", "tbody",
    "td", "tfoot", "th", "thead", "time", "tr", "tt", "u", "ul", "var", "section", "article",
    "header", "footer", "main", "aside", "center", "font",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "acronym": {"title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start"},
    "q": {"cite"},
    "blockquote": {"cite"},
    "time": {"datetime"},
}
URL_SCHEMES = {"http", "https", "mailto"}


def clean_text(text: str | None) -> str:
    """Multi-line text: NFC, line ends normalised, every escape sequence and control
    character removed."""
    if not text:
        return ""
    if text.isprintable():  # no line end, escape, control or bidi character: only NFC to do
        return text if text.isascii() else unicodedata.normalize("NFC", text)
    return _CONTROLS.sub("", _drop_sequences(_normal_lines(text), _TEXT_SEQUENCES))


def _normal_lines(text: str) -> str:
    """NFC, every line end a newline."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text)


def clean_line(text: str | None) -> str:
    """A one-line field (title, author, feed name): like clean_text, whitespace collapsed."""
    if not text:
        return ""
    text = clean_text(text)
    if text.isprintable() and "  " not in text:  # (printable text's only white space is " ")
        return text.strip()
    return _SPACE_RUN.sub(" ", text).strip()


def html_to_line(fragment: str | None) -> str:
    """A title that may carry markup or entities ("AT&amp;T <b>news</b>") as one plain line."""
    if not fragment:
        return ""
    if "<" in fragment:
        fragment = re.sub(r"<[^>]*>", "", fragment)
    return clean_line(html.unescape(_CONTROL_REFS.sub("", fragment)))


_UNCLOSED_DECLARATION = re.compile(r"<!(?!--)")


def mend_declarations(markup: str) -> str:
    """Markup whose "<!" constructs cannot swallow text. HTML5 reads a comment to "-->" or
    to the end, a CDATA section outside SVG/MathML as a comment to the next ">", and "<!x"
    without a ">" as a doctype: a stray "<!--" would hide the rest of an article, and
    "<![CDATA[" (a feed's escaping done once too often) the start of the next tag. So, as
    feedparser reads them: a comment without "-->" ends at the next ">", a CDATA marker is
    text, and so is a "<!" that no ">" follows."""
    if "<!" not in markup:
        return markup
    markup = markup.replace("<![CDATA[", "&lt;![CDATA[")
    start = markup.find("<!--")
    while start >= 0:
        close = markup.find("-->", start + 4)
        if close >= 0:
            start = markup.find("<!--", close + 3)
            continue
        end = markup.find(">", start + 4)
        if end < 0:
            break  # nothing closes it: it hides the rest, as in a browser
        markup = markup[:start] + markup[end + 1 :]
        start = markup.find("<!--", start)
    last = markup.rfind(">") + 1
    if "<!" in markup[last:]:
        markup = markup[:last] + _UNCLOSED_DECLARATION.sub("&lt;!", markup[last:])
    return markup


def drop_control_refs(markup: str) -> str:
    """Markup without the character references that would decode to a control character
    (`&#x1b;`, `&#7;`): lxml refuses such text half-way through a page."""
    return _CONTROL_REFS.sub("", markup)


def sanitize_html(fragment: str | None) -> str:
    """Stored HTML: allowlisted tags and attributes, http/https/mailto links only,
    no scripts, styles, iframes, forms or event handlers, and no escape sequences or
    control characters, nor control characters as character references."""
    if not fragment:
        return ""
    # Raw control characters pass through the allowlist as they came (in text and in the
    # attributes it keeps) and are removed from its output, once; references that would
    # decode to one are removed here, before the parser decodes them.
    fragment = _CONTROL_REFS.sub("", _normal_lines(fragment))
    if _MENDS_START.search(fragment):
        fragment = _FALLBACK_TAG.sub("", mend_declarations(fragment))
        if _FOREIGN_START.search(fragment):
            fragment = _FOREIGN.sub(_foreign_text, fragment)
    if fragment.count("<") > _FEW_TAGS:
        fragment = _nest_shallowly(fragment)
    clean = _CONTROLS.sub("", _drop_sequences(_cleaner().clean(fragment), _HTML_SEQUENCES))
    if 'width="1' in clean or 'width="0' in clean:  # (nh3 writes every attribute in double quotes)
        clean = _PIXEL.sub("", clean)
    return clean


# A tracking pixel: an image 1 or 0 pixels wide and high (a web bug of pixel.wp.com,
# feedburner, mailing tools). Never drawn, never fetched, and a body that holds nothing
# else is an empty one.
_PIXEL = re.compile(r'<img\b(?=[^>]*\swidth="[01](?:px)?")(?=[^>]*\sheight="[01](?:px)?")[^>]*>')


# MathML and SVG: the allowlist keeps neither (nh3 drops them with all they hold), but
# their text is part of the article: a formula's "a+b", a figure's title and labels. The
# element is replaced by that text, its scripts and styles dropped whole; MathML's tokens
# make one expression, SVG's texts are separate labels. What is left is text for nh3.
_FOREIGN_START = re.compile(r"<(?:svg|math)(?=[\s/>])", re.IGNORECASE)
_FOREIGN = re.compile(
    r"<(svg|math)(?=[\s/>])[^>]*?(?:/>|>(.*?)(?:</\1\s*>|\Z))", re.IGNORECASE | re.DOTALL
)
_FOREIGN_DROPPED = re.compile(
    r"<(script|style)(?=[\s/>]).*?(?:</\1\s*>|\Z)|<!--.*?(?:-->|\Z)", re.IGNORECASE | re.DOTALL
)
_ANY_TAG = re.compile(r"<[^>]*>")


def _foreign_text(match: re.Match[str]) -> str:
    inner = _FOREIGN_DROPPED.sub("", match.group(2) or "")
    return _ANY_TAG.sub(" " if match.group(1).lower() == "svg" else "", inner)


@functools.cache
def _cleaner() -> nh3.Cleaner:
    """One allowlist cleaner, built once: building it per call costs more than cleaning."""
    return nh3.Cleaner(tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES,
                       link_rel=None, strip_comments=True)


# html5ever (under nh3) walks its stack of open elements for most start tags, and re-opens
# every formatting element left unclosed at each new paragraph: 100,000 nested <div>s took
# 15 s, 10,000 "<p><b class=cN>x</p>" 70 s, and 20,000 of them gigabytes. So a fragment
# with more than _FEW_TAGS tags is first rebuilt here, in one linear pass, as the same markup
# with an explicit end tag for every element, at most _MAX_DEPTH levels deep (deeper start
# tags are dropped, their text stays) and at most _MAX_REOPEN formatting elements re-opened
# the way browsers do. On well-nested markup html5ever's work is linear.
_FEW_TAGS = 64  # below this, the worst html5ever can do is ~4x the input, in microseconds
_MAX_DEPTH = 100
_MAX_REOPEN = 12
_PLAIN_NAME = re.compile(r"[a-z_:][-a-z0-9_:.]*")
_FORMATTING = frozenset("a b big code em font i nobr s small strike strong tt u".split())
_CLOSES_P = frozenset("address article aside blockquote center details dialog dir div dl fieldset "
                      "figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr li dd dt "
                      "listing main menu nav ol p pre section summary ul".split())
_HEADINGS = frozenset("h1 h2 h3 h4 h5 h6".split())
_SCOPE = frozenset("applet caption html table td th marquee object template".split())
_MARKERS = frozenset("applet caption td th marquee object template".split())
_TABLE_PARTS = frozenset("caption colgroup tbody thead tfoot tr td th".split())
_END_SCOPES = {tag: frozenset({"table", "template", "html"}) for tag in (*_TABLE_PARTS, "table")}
_END_SCOPES |= {"li": _SCOPE | {"ol", "ul"}, "p": _SCOPE | {"button"}}
_TABLE_CONTEXT = frozenset("table template html caption colgroup tbody thead tfoot tr td th".split())
# HTML's "special" elements but address, div and p: where the search for an open <li>
# (or <dd>/<dt>) to close stops.
_LIST_STOP = frozenset(
    "applet area article aside base basefont bgsound blockquote body br button caption center col "
    "colgroup dd details dir dl dt embed fieldset figcaption figure footer form frame frameset h1 h2 "
    "h3 h4 h5 h6 head header hgroup hr html iframe img input keygen li link listing main marquee "
    "menu meta nav noembed noframes noscript object ol param plaintext pre script section select "
    "source style summary table tbody td template textarea tfoot th thead title tr track ul wbr xmp".split()
)


class _Nesting:
    """The open elements of the rebuilt fragment, with what the implied end tags need
    (the nearest open <p>, list stop and table element) kept per level, so that each
    decision is O(1) and each close O(depth)."""

    def __init__(self, out: list[str]) -> None:
        self.out = out
        self.tags: list[str] = []
        self.attrs: list[str] = []
        self.p_at: list[int] = []  # index of the nearest <p> in button scope, or -1
        self.list_at: list[int] = []  # index of the nearest list stop, or -1
        self.table_at: list[int] = []  # index of the nearest table element, or -1
        self.foreign = 0  # open <svg>/<math>: HTML's implied end tags do not apply inside
        self.dropped: dict[str, int] = {}
        # Formatting elements closed by something else than their end tag, which browsers
        # open again before the next text; one list per table cell (or other marker).
        self.lingering: list[list[tuple[str, str]]] = [[]]

    def push(self, tag: str, attrs: str) -> None:
        index = len(self.tags)
        top = bool(self.tags)
        self.p_at.append(index if tag == "p" else -1 if tag in _SCOPE or tag == "button"
                         else self.p_at[-1] if top else -1)
        self.list_at.append(index if tag in _LIST_STOP else self.list_at[-1] if top else -1)
        self.table_at.append(index if tag in _TABLE_CONTEXT else self.table_at[-1] if top else -1)
        self.tags.append(tag)
        self.attrs.append(attrs)
        self.foreign += tag in ("svg", "math")
        if tag in _MARKERS:
            self.lingering.append([])
        self.out.append(f"<{tag}{attrs}>")

    def pop_to(self, index: int, closing: str = "") -> None:
        """Close every element from the top down to (and with) the one at `index`;
        `closing` is the tag whose end tag this is (that one does not linger)."""
        closed: list[tuple[str, str]] = []
        while len(self.tags) > index:
            tag, attrs = self.tags.pop(), self.attrs.pop()
            self.p_at.pop()
            self.list_at.pop()
            self.table_at.pop()
            self.foreign -= tag in ("svg", "math")
            if tag in _MARKERS and len(self.lingering) > 1:
                self.lingering.pop()
                closed.clear()  # what was open inside a table cell stays in the cell
            self.out.append(f"</{tag}>")
            if tag in _FORMATTING and not (tag == closing and len(self.tags) == index):
                closed.append((tag, attrs))
        for tag, attrs in reversed(closed):  # re-opened outermost first, as they were
            self.linger(tag, attrs)

    def linger(self, tag: str, attrs: str) -> None:
        entries = self.lingering[-1]
        # HTML's "Noah's Ark" keeps three of a kind; a kind here is the tag alone, since the
        # attributes that tell them apart (class, id) are not kept anyway.
        same = [index for index, entry in enumerate(entries) if entry[0] == tag]
        if len(same) >= 3:
            del entries[same[0]]
        entries.append((tag, attrs))
        del entries[:-_MAX_REOPEN]

    def reopen(self) -> None:
        """Open the lingering formatting elements again, as browsers do before text."""
        entries = self.lingering[-1]
        if entries and not self.foreign:
            self.lingering[-1] = []
            for tag, attrs in entries:
                if len(self.tags) < _MAX_DEPTH:
                    self.push(tag, attrs)

    def forget(self, tag: str) -> None:
        """An end tag of a lingering element: browsers drop it from the list."""
        entries = self.lingering[-1]
        for index in range(len(entries) - 1, -1, -1):
            if entries[index][0] == tag:
                del entries[index]
                return

    def implied_end_tags(self, tag: str) -> None:
        """The end tags HTML implies before `tag` (a subset: never one a browser would not)."""
        if not self.tags or self.foreign:
            return
        if tag in _CLOSES_P and self.p_at[-1] >= 0:
            self.pop_to(self.p_at[-1])
        if not self.tags:
            return
        if tag == "li" or tag in ("dd", "dt"):
            stop = self.list_at[-1]
            if stop >= 0 and (self.tags[stop] == "li" if tag == "li" else self.tags[stop] in ("dd", "dt")):
                self.pop_to(stop)
        elif tag in _HEADINGS and self.tags[-1] in _HEADINGS:
            self.pop_to(len(self.tags) - 1)
        elif tag in ("option", "optgroup") and self.tags[-1] == "option":
            self.pop_to(len(self.tags) - 1)
        elif tag in ("td", "th", "tr", "tbody", "thead", "tfoot"):
            # A new cell closes the open cell; a row also the open row; a row group all three.
            closing = [("td", "th"), ("tr",), ("tbody", "thead", "tfoot")]
            for closes in closing[: 1 if tag in ("td", "th") else 2 if tag == "tr" else 3]:
                near = self.table_at[-1] if self.tags else -1
                if near >= 0 and self.tags[near] in closes:
                    self.pop_to(near)
        elif tag == "a" and "a" in self.tags:  # "<a>x<a>y": the first link ends
            self.close("a")

    def text(self, data: str) -> None:
        if self.lingering[-1]:
            self.reopen()
        self.out.append(data)

    # ------------------------------------------------------------ the tokenizer's sink
    def raw_text(self, tag: str, attrs: Attrs, raw: str) -> None:
        """Raw text is text: kept as such, escaped (nh3 drops scripts and styles whole anyway)."""
        if tag not in ("script", "style"):
            self.text(html.escape(html.unescape(raw) if tag in ESCAPABLE_RAW else raw, quote=False))

    def start(self, tag: str, attrs: Attrs, self_closing: bool) -> None:
        attrs = _attributes(attrs)
        self.implied_end_tags(tag)
        if tag == "a":
            self.forget("a")
        if tag not in _CLOSES_P and tag not in _TABLE_PARTS:
            self.reopen()
        if tag in VOID:
            self.out.append(f"<{tag}{attrs}>")
        elif self_closing and (self.foreign or tag in ("svg", "math")):
            # "<stop/>" in SVG; written out as an empty element, so that it is one in HTML too
            self.out.append(f"<{tag}{attrs}></{tag}>")
        elif len(self.tags) >= _MAX_DEPTH:
            self.dropped[tag] = self.dropped.get(tag, 0) + 1
        else:
            self.push(tag, attrs)

    def end(self, tag: str) -> None:
        if self.dropped.get(tag):
            self.dropped[tag] -= 1
        elif not self.close(tag):
            if tag in _FORMATTING:
                self.forget(tag)
            elif tag == "p" or tag == "br":  # browsers make an empty paragraph, a line break
                self.out.append("<p></p>" if tag == "p" else "<br>")

    def close(self, tag: str) -> bool:
        """Close the innermost open `tag` if it is in scope; whether it was."""
        scope = _END_SCOPES.get(tag, _SCOPE)
        for index in range(len(self.tags) - 1, -1, -1):
            if self.tags[index] == tag:
                self.pop_to(index, tag)
                return True
            if self.tags[index] in scope:
                break
        return False


def _nest_shallowly(fragment: str) -> str:
    """The fragment with every element closed explicitly and no deeper than _MAX_DEPTH;
    comments dropped, the text of raw-text elements escaped."""
    out: list[str] = []
    nesting = _Nesting(out)
    tokenize(fragment, nesting)
    nesting.pop_to(0)
    return "".join(out)


def _attributes(attrs: Attrs) -> str:
    """Attributes written out again: as written when the tokenizer found them plain, else
    the first of each name, and only names an allowlist could hold."""
    if isinstance(attrs, str):
        return attrs
    kept: dict[str, str] = {}
    for name, value in attrs:
        if name not in kept and _PLAIN_NAME.fullmatch(name):
            kept[name] = value.replace('"', "&quot;")
    return "".join(f' {name}="{value}"' for name, value in kept.items())


def is_openable_url(url: str) -> bool:
    """True for a URL the browser may be handed: http(s), a host, no whitespace or controls."""
    if not url or url != url.strip() or url.startswith("-"):
        return False
    if _CONTROLS.search(url) or _WHITESPACE.search(url):
        return False
    lowered = url.lower()
    if not (lowered.startswith("http://") or lowered.startswith("https://")):
        return False
    host = url.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return bool(host) and not host.startswith("-")
