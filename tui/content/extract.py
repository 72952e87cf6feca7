"""Reader mode: the article itself out of its web page, without the site around it.

Many feeds carry only a headline and a lead, so docbao fetches the article's page and keeps
the headline, lead, body, images, author and date while dropping navigation, hotlines, share
buttons, related-article lists, comments and footers. Everything here is pure and CPU-bound
(no network, no Textual): the UI calls `extract_article` from a thread worker, several may run
at once, and nothing here keeps state between calls.

trafilatura does the boilerplate removal. Around it this module adds what a feed reader needs
and trafilatura leaves to its caller: decoding legacy charsets through tui.content.charset
(gb2312, windows-1252, windows-1258 with its combining tone marks), keeping a lead paragraph that sits outside the
body container (Vietnamese sites put the "sapo" in its own heading), a byline written as the
last bold line of the body, a publication time with its time zone, links resolved against the
page, and HTML sanitized for the renderer.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from tui.model import FeedError
from tui.content.charset import decode_html
from tui.content.sanitize import (
    clean_line, clean_text, drop_control_refs, html_to_line, is_openable_url, sanitize_html,
)

if TYPE_CHECKING:
    from lxml.etree import _Element
    from lxml.html import HtmlElement

# trafilatura and its helpers log every page they give up on; with no handler configured
# Python would print those to stderr, which is the terminal the TUI draws on.
for _name in ("trafilatura", "htmldate", "justext", "courlan", "charset_normalizer"):
    logging.getLogger(_name).addHandler(logging.NullHandler())


@dataclass(slots=True)
class Extract:
    """One article as reader mode shows it; every field is already cleaned."""

    html: str  # sanitized article HTML: headings, paragraphs, lists, quotes, tables, <img alt src>
    text: str  # the same article as plain text, one block (paragraph, heading, item) a line
    title: str = ""
    author: str = ""
    published: int | None = None  # epoch seconds UTC
    image: str = ""  # lead image URL (absolute http/https), "" when the page names none
    lead: str = ""  # the standfirst / description, plain text


# ---------------------------------------------------------------------------------------------
# Is it a page at all?

_HTML_TYPES = {"text/html", "application/xhtml+xml", "application/vnd.wap.xhtml+xml"}
# Types servers wrongly send for HTML: decided by looking at the bytes.
_SNIFFED_TYPES = {
    "", "text/plain", "application/octet-stream", "binary/octet-stream", "application/xml",
    "text/xml", "application/unknown", "unknown/unknown", "application/x-unknown",
    "application/download", "application/force-download",
}
_HTML_START = re.compile(
    r"""\A\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*
        <(?:!doctype\s+html|html|head|body|title|meta|link|base|script|style|div|p|table|
            h[1-6]|article|main|section|header|nav|a|b|br|font|iframe|center|span|form|ul|img)[\s/>]""",
    re.I | re.S | re.X,
)
_HTML_SOMEWHERE = re.compile(r"<(?:!doctype\s+html|html|head|body)[\s/>]", re.I)
_ANY_TAG = re.compile(r"<[A-Za-z!/?]")
_BINARY = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f]")


def _mime(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _refuse_type(content_type: str) -> None:
    """A response typed as something else (JSON, an image, a feed, a PDF) is no article page."""
    mime = _mime(content_type)
    if mime in _HTML_TYPES or mime in _SNIFFED_TYPES:
        return
    raise FeedError(f"not an HTML page ({mime})")


def _refuse_text(text: str, content_type: str) -> None:
    """Bytes that do not read as HTML: empty, binary, JSON, plain text."""
    if not text.strip():
        raise FeedError("the page is empty")
    sample = text[:4096]
    if len(_BINARY.findall(sample)) > len(sample) // 100:
        raise FeedError("not an HTML page (binary data)")
    if _mime(content_type) in _HTML_TYPES:
        looks_html = bool(_ANY_TAG.search(sample))
    else:
        looks_html = bool(_HTML_START.match(sample) or _HTML_SOMEWHERE.search(text[:2048]))
    if not looks_html:
        raise FeedError("not an HTML page")


# ---------------------------------------------------------------------------------------------
# Extraction

# Blocks of other articles that trafilatura's own lists do not name: "same category",
# "other news", "most read", and their Vietnamese counterparts (tin cùng chuyên mục, tin khác,
# tin liên quan, đọc nhiều, tin mới). Matched on class and id, and only on blocks with several
# links: "read more" / "xem thêm" are left alone, sites use them for the rest of the article.
_TEASER_TOKENS = (
    "same-?categor", r"\bother-", "(?:news|article)s?-?other",
    "more-?(?:news|articles|stories)", "most-?read", "cung-?chuyen-?muc", "tin-?khac",
    "lien-?quan", "doc-?nhieu", "tin-?moi", "tin-?noi-?bat",
)
_TEASER_PATTERN = "|".join(_TEASER_TOKENS)
_MIN_TEXT = 25  # characters of body text below which the page has no article to show
# Meta tags naming the publication time, most specific first: a generic "date" may be the
# day the page was last changed.
_DATE_KEYS = (
    "article:published_time", "og:article:published_time", "article:published",
    "datepublished", "date.published", "published_time", "publishdate", "publish-date",
    "publish_date", "pubdate", "parsely-pub-date", "sailthru.date", "cxenseparse:recs:publishtime",
    "dc.date.issued", "dcterms.issued", "dcterms.created", "dc.date", "date",
)
# What metadata extraction finds in author slots of real pages that names nobody.
_NOT_AUTHORS = {
    "admin", "administrator", "anonymous", "author", "editor", "guest", "staff", "submitted",
    "unknown", "username", "作者", "tác giả",
}
_ELLIPSIS = re.compile(r"(?:\.\.\.|…)\s*$")
_WORD = re.compile(r"\S+")
_SPACES = re.compile(r"\s+")
_NAME_WORD = re.compile(r"[^\W\d_][\w.'’-]*")


def _norm(text: str | None) -> str:
    return _SPACES.sub(" ", text or "").strip()


def extract_article(data: bytes, *, url: str, content_type: str = "") -> Extract:
    """The article on a fetched page, or FeedError saying why there is none.

    Raises only FeedError: "the page is empty", "not an HTML page (...)", "no article found on
    the page", or "could not read the page (...)" when the parser itself fails.
    """
    _refuse_type(content_type)
    if not data:
        raise FeedError("the page is empty")
    text = decode_html(data, content_type)
    _refuse_text(text, content_type)
    try:
        return _extract(drop_control_refs(text), url)
    except FeedError:
        raise
    except Exception as err:  # noqa: BLE001 - lxml/trafilatura on hostile pages; callers get FeedError only
        raise FeedError(f"could not read the page ({type(err).__name__}: {err})") from err


def _extract(page: str, url: str) -> Extract:
    from lxml.etree import Element, tostring
    from trafilatura import bare_extraction
    from trafilatura.htmlprocessing import convert_to_html
    from trafilatura.utils import load_html

    tree = load_html(page)
    if tree is None:
        raise FeedError("not an HTML page")
    base = _base_url(tree, url)
    published = _structured_published(tree)
    _prune_teasers(tree)
    _open_figures(tree)
    doc = bare_extraction(
        tree,  # trafilatura works on its own copy
        url=base or None,
        with_metadata=True,
        include_comments=False,
        include_formatting=True,
        include_tables=True,
        include_images=True,
        include_links=True,
        favor_precision=True,
        # htmldate's extensive search hands free text to dateparser, which is slow (seconds on
        # a first call) and keeps unguarded shared caches: not safe from worker threads.
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    if doc is None or doc.body is None or not len(doc.body):
        raise FeedError("no article found on the page")
    body: _Element = doc.body
    _drop_title_heading(body, doc.title or "")
    _unwrap_image_tables(body)
    _trim_edges(body)
    lead = _norm(html_to_line(doc.description or ""))
    body_text = _norm(_plain_text(body))
    visible = _visible_lead(tree, lead, body_text)
    if visible:
        paragraph = Element("p")
        paragraph.text = visible
        body.insert(0, paragraph)
    author = clean_line(doc.author)
    if author.casefold() in _NOT_AUTHORS:
        author = ""
    author = author or _byline(body)
    _resolve(body, base)
    text = clean_text(_plain_text(body)).strip()
    if len(text) < _MIN_TEXT:
        raise FeedError("no article found on the page")
    image = _absolute(doc.image or "", base) or next(
        (src for g in body.iter("graphic") if (src := g.get("src", ""))), ""
    )
    html = sanitize_html(tostring(convert_to_html(body), encoding="unicode"))
    if published is None:
        published = _visible_published(tree, doc.title or "")
    if published is None and doc.date:
        published = _parse_time(doc.date)
    return Extract(
        html=html.strip(),
        text=text,
        title=html_to_line(doc.title),
        author=author,
        published=published,
        image=image if is_openable_url(image) else "",
        lead=lead or text.split("\n", 1)[0].strip(),
    )


@cache
def _teaser_xpath() -> Any:
    from lxml.etree import XPath

    return XPath(
        ".//*[self::div or self::section or self::aside or self::ul or self::ol]"
        f"[re:test(@class, '{_TEASER_PATTERN}', 'i') or re:test(@id, '{_TEASER_PATTERN}', 'i')]"
        "[count(.//a[@href]) >= 2][not(.//h1 or .//article or .//*[@itemprop='articleBody'])]",
        namespaces={"re": "http://exslt.org/regular-expressions"},
    )


_CHROME_TAGS = ("nav", "aside", "footer", "header")


def _open_figures(tree: HtmlElement) -> None:
    """A <figure> with a caption becomes its picture in a paragraph and the caption as a
    paragraph under it: trafilatura drops figures whole, and with them the <figcaption>,
    which on Vietnamese sites is the one caption written with its diacritics (the alt text
    is "lanh dao trung uong ..."). A caption made of links (a teaser card's headline), one
    the alt text already says, or a figure in the page's chrome is left to trafilatura."""
    from lxml.html import Element

    for figure in list(tree.iter("figure")):
        parent = figure.getparent()
        if parent is None or any(a.tag in _CHROME_TAGS for a in figure.iterancestors()):
            continue
        images = [img for img in figure.iter("img") if img.get("src") or img.get("data-src")]
        captions = list(figure.iter("figcaption"))
        caption = _norm(" ".join(_norm(c.text_content()) for c in captions))
        linked = sum(len(_norm(a.text_content())) for c in captions for a in c.iter("a"))
        if not images or not caption or linked * 2 >= len(caption):
            continue
        if any(_norm(img.get("alt")).casefold() == caption.casefold() for img in images):
            continue  # the alt text says it already
        blocks: list[HtmlElement] = []
        for img in images:
            holder = Element("p")
            holder.append(Element("img", dict(img.attrib)))
            blocks.append(holder)
        paragraph = Element("p")
        paragraph.text = caption
        paragraph.tail = figure.tail
        blocks.append(paragraph)
        index = parent.index(figure)
        parent[index : index + 1] = blocks


def _prune_teasers(tree: HtmlElement) -> None:
    """Remove the other-articles blocks; a block holding the headline or the article is kept
    whatever its class says."""
    for element in _teaser_xpath()(tree):
        _remove_keep_tail(element)


_CONTAINERS = {"list", "table", "quote", "div"}  # blocks whose children are lines of their own
_LINES = {"p", "head", "item", "row", "code", "quote", "list", "table", "div"}


def _plain_text(body: _Element) -> str:
    """The article as plain text: one line per paragraph, heading, list item or table row,
    links as their words and images left out (their alt text describes, it does not tell)."""
    lines: list[str] = []

    def inline(element: _Element) -> str:
        parts = [element.text or ""]
        for child in element:
            if child.tag == "lb":
                parts.append("\n")
            elif child.tag in _LINES:
                parts.append("\n" + inline(child) + "\n")
            elif child.tag != "graphic":
                parts.append(inline(child))
            parts.append(child.tail or "")
        return "".join(parts)

    def add(text: str) -> None:
        lines.extend(line for raw in text.split("\n") if (line := _norm(raw)))

    def walk(element: _Element) -> None:
        if element.tag == "graphic":
            return
        if element.tag == "row":
            cells = [_norm(inline(cell)) for cell in element if cell.tag == "cell"]
            if any(cells):
                lines.append(" | ".join(cells))
            return
        if element.tag in _CONTAINERS and any(child.tag in _LINES or child.tag == "graphic" for child in element):
            add(element.text or "")
            for child in element:
                walk(child)
                add(child.tail or "")
            return
        add(inline(element))

    for block in body:
        walk(block)
        add(block.tail or "")
    return "\n".join(lines)


def _base_url(tree: HtmlElement, url: str) -> str:
    """The URL relative links on the page are relative to: <base href> when it has one."""
    for base in tree.iter("base"):
        href = (base.get("href") or "").strip()
        if href:
            joined = urljoin(url, href)
            if joined.lower().startswith(("http://", "https://")):
                return joined
    return url


def _absolute(link: str, base: str) -> str:
    link = link.strip()
    if not link:
        return ""
    try:
        return urljoin(base, link) if base else link
    except ValueError:  # malformed IPv6 netloc and the like
        return ""


def _resolve(body: _Element, base: str) -> None:
    """Links and images on the page as absolute URLs, so the reader can open them."""
    for ref in body.iter("ref"):
        if target := ref.get("target"):
            ref.set("target", _absolute(target, base))
    for graphic in body.iter("graphic"):
        if src := graphic.get("src"):
            graphic.set("src", _absolute(src, base))


def _drop_title_heading(body: _Element, title: str) -> None:
    """The headline is shown from `title`; a copy of it atop the body would show twice."""
    if len(body) and body[0].tag == "head" and _norm("".join(body[0].itertext())) == _norm(title):
        body.remove(body[0])


_SPACER = re.compile(r"(?:^|/)(?:clear|spacer|blank|pixel|transparent|1x1|trans)\.(?:gif|png)(?:$|\?)", re.I)
_SENTENCE_END = re.compile(r"[.!?。！？…;)”\"]$")


def _trim_edges(body: _Element) -> None:
    """Drop what the extractor let through around the article: lists of links to other pages
    before or after it (with the short heading over a trailing one: "Most viewed"), a last
    line announcing a list the extractor already dropped ("Read more:"), links that only
    work with JavaScript ("E-mail this"), and spacer images."""
    for graphic in list(body.iter("graphic")):
        if _SPACER.search(graphic.get("src", "")):
            _remove_keep_tail(graphic)
    while len(body):
        last = body[-1]
        if _is_link_list(last):
            body.remove(last)
            if len(body) and _is_caption_line(body[-1]):
                body.remove(body[-1])
        elif _is_control(last) or _is_empty(last) or _announces_nothing(last):
            body.remove(last)
        else:
            break
    while len(body) and (_is_link_list(body[0]) or _is_control(body[0]) or _is_empty(body[0])):
        body.remove(body[0])


def _remove_keep_tail(element: _Element) -> None:
    """Remove an element but not the text after it, which belongs to its parent."""
    parent = element.getparent()
    if parent is None:
        return
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def _is_link_list(element: _Element) -> bool:
    """A list of two or more short items that each link somewhere: other articles, sections."""
    if element.tag != "list":
        return False
    items = [item for item in element if item.tag == "item"]
    return len(items) >= 2 and all(
        item.find(".//ref") is not None and len(_words(item)) <= 150 for item in items
    )


def _is_control(element: _Element) -> bool:
    """A block whose only words are links that go nowhere: buttons of the page, not text."""
    if element.tag not in ("p", "head") or next(element.iter("graphic"), None) is not None:
        return False
    refs = list(element.iter("ref"))
    if not refs or any(_goes_somewhere(ref) for ref in refs):
        return False
    return _linked_length(refs) >= len(_words(element))


def _goes_somewhere(ref: _Element) -> bool:
    target = ref.get("target", "").strip().lower()
    return bool(target) and not target.startswith(("javascript:", "#"))


def _linked_length(refs: list[_Element]) -> int:
    return sum(len(_words(ref)) for ref in refs)


def _is_empty(element: _Element) -> bool:
    return (
        element.tag != "graphic"
        and next(element.iter("graphic"), None) is None
        and not _words(element)
    )


def _announces_nothing(element: _Element) -> bool:
    shown = _words(element)
    return element.tag in ("p", "head") and 0 < len(shown) <= 60 and shown.endswith(":")


def _is_caption_line(element: _Element) -> bool:
    """The title over a list of links: a heading, a short line announcing it ("Tin liên
    quan:", "Read more:"), or one that is itself a link ("Most viewed" pointing at the full
    list). A bold name signing the article is none of these."""
    shown = _words(element)
    if not 0 < len(shown) <= 60 or _SENTENCE_END.search(shown):
        return False
    return element.tag == "head" or shown.endswith(":") or (
        element.tag == "p" and _linked_length(list(element.iter("ref"))) >= len(shown)
    )


def _words(element: _Element) -> str:
    return _norm("".join(element.itertext()))


def _unwrap_image_tables(body: _Element) -> None:
    """A one-column table that holds an image and its caption is page layout, not data: it
    becomes the image followed by the caption as a paragraph, so the reader shows a picture
    and a line of text instead of a grid."""
    from lxml.etree import Element

    for table in list(body.iter("table")):
        rows = list(table)
        if not rows or len(rows) > 4 or next(table.iter("graphic"), None) is None:
            continue
        if any(row.tag != "row" or len(row) != 1 or row[0].tag != "cell" for row in rows):
            continue
        parent = table.getparent()
        if parent is None:
            continue
        blocks: list[_Element] = []
        for row in rows:
            cell = row[0]
            for graphic in cell.iter("graphic"):
                image = Element("graphic", {k: v for k, v in graphic.attrib.items() if k in ("src", "alt", "title")})
                blocks.append(image)
            caption = _norm("".join(cell.itertext()))
            if caption:
                paragraph = Element("p")
                paragraph.text = caption
                blocks.append(paragraph)
        if blocks:
            blocks[-1].tail = table.tail
        index = parent.index(table)
        parent[index : index + 1] = blocks


def _visible_lead(tree: HtmlElement, lead: str, body_text: str) -> str:
    """The standfirst when the page shows it outside the body trafilatura kept.

    News sites put the lead in its own block above the body (an <h2 class="sapo">, a
    <div class="article__lead">) and repeat it as the page description. Text that is both
    the description and shown below the headline is the article's own lead, so it is kept.
    (A site-wide description repeated in a footer is not below the headline.)
    """
    if len(lead) < 40:
        return ""
    headline = next(iter(tree.xpath("//body//h1[normalize-space()]")), None)
    stem = _ELLIPSIS.sub("", lead).strip()
    if stem[:60] in body_text:
        return ""
    words = _WORD.findall(stem)[:8]
    needle = max(words, key=len, default="")
    if len(needle) < 3:
        return ""
    best = ""
    for node in tree.xpath("//body//text()[contains(., $needle)]", needle=needle):
        element = node.getparent()
        if element is None:
            continue
        if getattr(node, "is_tail", False):
            element = element.getparent()
        for _ in range(4):
            if element is None or element.tag in ("body", "html"):
                break
            if _in_chrome(element):
                break
            shown = _norm(element.text_content())
            if len(shown) > len(stem) + 2000:
                break
            if _matches_lead(shown, stem, truncated=stem != lead):
                if (not best or len(shown) < len(best)) and (
                    headline is None or _follows(element, headline)
                ):
                    best = shown
                break
            element = element.getparent()
    if best and best[:60] in body_text:
        return ""
    return best


def _follows(element: HtmlElement, headline: HtmlElement) -> bool:
    """Whether `element` comes after the headline within the headline's part of the page."""
    # the set holds the elements themselves: lxml hands out one proxy per live node, so
    # identity holds while they are referenced (ids of dropped proxies get reused)
    chain = {element, *element.iterancestors()}
    node: HtmlElement | None = headline
    for _ in range(4):
        if node is None:
            break
        if any(sibling in chain for sibling in node.itersiblings()):
            return True
        node = node.getparent()
    return False


def _matches_lead(shown: str, stem: str, *, truncated: bool) -> bool:
    if shown == stem:
        return True
    if shown.endswith(stem) and len(shown) - len(stem) <= 40:
        return True  # a dateline before it: "(Baothainguyen.vn) - ", "TTO - "
    # a description cut short ("...", or at a length limit) of a longer visible lead
    return shown.startswith(stem) and (truncated or len(stem) >= 100) and len(shown) <= 3 * len(stem)


def _in_chrome(element: HtmlElement) -> bool:
    return any(
        ancestor.tag in ("a", "nav", "footer", "aside", "script", "noscript", "template", "head")
        for ancestor in element.iterancestors()
    ) or element.tag in ("a", "script", "noscript", "title")


def _byline(body: _Element) -> str:
    """The author when the article ends with a name set apart in bold or italics.

    Vietnamese and many other news sites sign articles this way ("Thu Hiền" in bold at the
    end) instead of in markup that metadata extraction understands.
    """
    blocks = [el for el in body if _norm("".join(el.itertext()))]
    if not blocks:
        return ""
    last = blocks[-1]
    if last.tag != "p" or _norm(last.text) or len(last) != 1:
        return ""
    child = last[0]
    if child.tag != "hi" or _norm(child.tail) or len(child):
        return ""
    name = _norm(child.text)
    words = name.split(" ")
    if not (1 <= len(words) <= 5 and len(name) <= 40):
        return ""
    if not all(_NAME_WORD.fullmatch(w) and w[0].isupper() for w in words):
        return ""
    return clean_line(name)


def _structured_published(tree: HtmlElement) -> int | None:
    """The publication time the page states in markup, with its time of day and zone."""
    stated: dict[str, str] = {}
    for meta in tree.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        if key in _DATE_KEYS and key not in stated:
            stated[key] = meta.get("content") or ""
    for key in _DATE_KEYS:
        if key in stated and (when := _parse_time(stated[key])) is not None:
            return when
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        if (found := _json_published(data, 0)) is not None:
            return found
    for time in tree.xpath("//time[@datetime][@itemprop='datePublished' or @pubdate]"):
        if (when := _parse_time(time.get("datetime") or "")) is not None:
            return when
    return None


def _json_published(data: object, depth: int) -> int | None:
    if depth > 6:
        return None
    if isinstance(data, dict):
        value = data.get("datePublished")
        if isinstance(value, str) and (when := _parse_time(value)) is not None:
            return when
        children: list[object] = [v for v in data.values() if isinstance(v, (dict, list))]
    elif isinstance(data, list):
        children = list(data)
    else:
        return None
    for child in children:
        if (found := _json_published(child, depth + 1)) is not None:
            return found
    return None


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SHOWN_DATE = re.compile(r"(?<!\d)(\d{1,2})[/.-](\d{1,2})[/.-]((?:19|20)\d\d)(?!\d)|(?<!\d)((?:19|20)\d\d)-(\d\d)-(\d\d)(?!\d)")


def _visible_published(tree: HtmlElement, title: str) -> int | None:
    """The date printed next to the headline ("21:22 | 23/05/2020"), as noon UTC that day.

    Pages without date markup show it there; searching the whole page instead (as htmldate
    does) finds the dates of related articles or of the site's "today" bar first. Numeric
    dates are read day first unless the day cannot be one, or the page is American English.
    """
    headline = next(iter(tree.xpath("//body//h1[normalize-space()]")), None)
    if headline is None:
        return None
    month_first = (tree.get("lang") or "").lower() == "en-us"
    element: HtmlElement | None = headline
    for level in range(3):
        if element is None or element.tag == "body":
            break
        neighbours = list(element.itersiblings())[:5]
        if level < 2:
            neighbours += list(element.itersiblings(preceding=True))[:2]
        for neighbour in neighbours:
            if not isinstance(neighbour.tag, str) or neighbour.tag in ("script", "style"):
                continue
            shown = _norm(neighbour.text_content())
            if not shown or len(shown) > 200 or shown == _norm(title):
                continue
            if (when := _shown_date(shown, month_first)) is not None:
                return when
        element = element.getparent()
    return None


def _shown_date(text: str, month_first: bool) -> int | None:
    match = _SHOWN_DATE.search(text)
    if match is None:
        return None
    if match.group(4):
        year, month, day = int(match.group(4)), int(match.group(5)), int(match.group(6))
    else:
        first, second, year = int(match.group(1)), int(match.group(2)), int(match.group(3))
        if first > 12 or (second <= 12 and not month_first):
            day, month = first, second
        else:
            day, month = second, first
    try:
        when = datetime(year, month, day, 12, tzinfo=timezone.utc)
    except ValueError:
        return None
    if when > datetime.now(timezone.utc):
        return None
    return int(when.timestamp())


def _parse_time(value: str) -> int | None:
    """ISO 8601 to epoch seconds. No zone means UTC; a bare date means noon UTC, which keeps
    the calendar day right in every time zone from UTC-12 to UTC+11."""
    value = value.strip()
    if not _ISO_DATE.match(value):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        try:
            when = datetime.fromisoformat(value[:10])
        except ValueError:
            return None
        value = value[:10]
    if len(value) == 10:
        when = when.replace(hour=12)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    if not 1990 <= when.year <= datetime.now(timezone.utc).year + 1:
        return None
    return int(when.timestamp())
