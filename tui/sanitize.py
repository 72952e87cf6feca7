"""Text and HTML from the network made safe to store and to show in a terminal.

Everything that arrives from a feed or a page passes through here before it is stored:
control characters (C0 but tab and newline, DEL, C1), bidi overrides and isolates, and
NUL are removed, text is normalised to NFC, and HTML is cut down to an allowlist.
What is left can never drive the terminal; Rich/Textual markup is a separate concern of
the UI, which shows feed text as `Text`/`Content`, never as markup.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata

import nh3

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
_SPACE_RUN = re.compile(r"\s+")
_WHITESPACE = re.compile(r"\s")
# nh3 parses <noscript> content as raw text (scripting on) and would keep it as escaped,
# visible markup; unwrapping the tags lets its images and text be parsed like the rest.
_NOSCRIPT_TAG = re.compile(r"</?noscript\b[^>]*>", re.IGNORECASE)

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
    """Multi-line text: NFC, line ends normalised, every control character removed."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", _CONTROLS.sub("", text))


def clean_line(text: str | None) -> str:
    """A one-line field (title, author, feed name): like clean_text, whitespace collapsed."""
    if not text:
        return ""
    return _SPACE_RUN.sub(" ", clean_text(text)).strip()


def html_to_line(fragment: str | None) -> str:
    """A title that may carry markup or entities ("AT&amp;T <b>news</b>") as one plain line."""
    if not fragment:
        return ""
    if "<" in fragment:
        fragment = re.sub(r"<[^>]*>", "", fragment)
    return clean_line(html.unescape(_CONTROL_REFS.sub("", fragment)))


def drop_control_refs(markup: str) -> str:
    """Markup without the character references that would decode to a control character
    (`&#x1b;`, `&#7;`): lxml refuses such text half-way through a page."""
    return _CONTROL_REFS.sub("", markup)


def sanitize_html(fragment: str | None) -> str:
    """Stored HTML: allowlisted tags and attributes, http/https/mailto links only,
    no scripts, styles, iframes, forms or event handlers, and no control characters
    either raw or as character references."""
    if not fragment:
        return ""
    fragment = _NOSCRIPT_TAG.sub("", _CONTROL_REFS.sub("", clean_text(fragment)))
    return _CONTROLS.sub("", _cleaner().clean(fragment))


@functools.cache
def _cleaner() -> nh3.Cleaner:
    """One allowlist cleaner, built once: building it per call costs more than cleaning."""
    return nh3.Cleaner(tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES,
                       link_rel=None, strip_comments=True)


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
