"""Subscriptions in and out: OPML import and export, and newsboat's urls file.

Everything here is a pure function over bytes or text: no network, no config writing. An
import file comes from somewhere else and is treated as hostile: XML entity declarations
(billion laughs, external entities that read local files) are refused before anything is
expanded, only http(s) feed URLs are accepted, and commands (`|cmd`, newsboat's `exec:` and
`filter:`) are reported and never run. Whatever is left out is listed in
`ImportResult.skipped` with a reason the user can read.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from tui.content.charset import to_utf8_xml
from tui.content.sanitize import clean_line, is_openable_url
from tui.feeds.parse import repair_mojibake

# docbao's own attributes in OPML: `hidden`, and `titleFromFeed` on a title that is only the
# feed's own name (not one the user gave it), which docbao's import leaves to the feed. Other
# readers ignore a namespaced attribute they do not know, as OPML 2.0 asks them to.
DOCBAO_NS = "urn:docbao:opml"
_HIDDEN = f"{{{DOCBAO_NS}}}hidden"
_TITLE_FROM_FEED = f"{{{DOCBAO_NS}}}titleFromFeed"

# Folder names deeper than this are not turned into tags: a hostile file nested a hundred
# thousand levels deep would otherwise give every feed a hundred thousand tags.
MAX_FOLDER_DEPTH = 16
MAX_URL_LENGTH = 4096
_WHAT_LENGTH = 200

_BARE_AMPERSAND = re.compile(rb"&(?!(?:[A-Za-z_][\w.-]*|#[0-9]+|#x[0-9A-Fa-f]+);)")
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass
class Subscription:
    url: str
    title: str = ""
    tags: list[str] = field(default_factory=list)
    hidden: bool = False
    title_from_feed: bool = False  # the title is the feed's own name (written as such in OPML)


@dataclass
class ImportResult:
    subscriptions: list[Subscription] = field(default_factory=list)
    searches: list[tuple[str, str]] = field(default_factory=list)  # (name, docbao query)
    ignores: list[str] = field(default_factory=list)  # [[ignore]] queries (a docbao export's)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (what, why)
    changed: list[tuple[str, str]] = field(default_factory=list)  # (feed URL, what changed and why)


# --- URLs -------------------------------------------------------------------------------


def normalise_url(url: str) -> str:
    """The form two spellings of one feed URL share, used to merge duplicates.

    Scheme and host are lowercased (an internationalised host is compared in its ASCII
    form), the default port and the fragment dropped and an empty path becomes "/"; the
    path and query are kept as they are, since servers may treat their case as meaningful.
    Raises ValueError for a URL whose port cannot be read.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        pass  # not representable in IDNA 2003: compare the lowercased form
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    netloc = host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{host}:{port}"
    if parts.username is not None:
        userinfo = parts.username
        if parts.password is not None:
            userinfo += f":{parts.password}"
        netloc = f"{userinfo}@{netloc}"
    path = parts.path
    if not path and netloc:
        path = "/"
    return urlunsplit((scheme, netloc, path, parts.query, ""))


def _shown(text: str) -> str:
    """Imported text as it may appear in a report: one clean line of bounded length."""
    line = clean_line(text)
    if len(line) > _WHAT_LENGTH:
        line = line[: _WHAT_LENGTH - 1] + "…"
    return line


# the start of a URL written without its scheme: "example.org", "127.0.0.1:8080"
_HOST_AND_PORT = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?::[0-9]{1,5})?|localhost(?::[0-9]{1,5})?")


def check_feed_url(raw: str) -> tuple[str, str]:
    """(url, "") for a feed URL docbao may fetch, else ("", the reason it is refused).

    `feed://host/x` and `feed:https://host/x` are the old "subscribe" spellings of an
    http(s) URL and are accepted as such. Anything that would run a command, read a local
    file or execute script is refused, as is anything that is not a well-formed http(s) URL.
    """
    url = raw.strip()
    lowered = url.lower()
    if not url:
        return "", "no feed URL"
    if url.startswith("|"):
        return "", "a command (starts with |); docbao never runs commands"
    if lowered.startswith(("exec:", "filter:")):
        return "", f"a newsboat {lowered.split(':', 1)[0]}: command; docbao never runs commands"
    if lowered.startswith("feed:"):
        rest = url[5:]
        url = rest if rest.lower().startswith(("http://", "https://")) else "http:" + rest
        lowered = url.lower()
    scheme = lowered.split(":", 1)[0] if ":" in lowered else ""
    if scheme not in ("http", "https"):
        if re.fullmatch(r"[a-z][a-z0-9+.-]*", scheme) and not _HOST_AND_PORT.fullmatch(url.split("/", 1)[0]):
            return "", f"not an http(s) feed URL ({scheme}: URLs are not fetched)"
        if url.startswith(("/", "~", "./", "../")):
            return "", "a local file: write its path as a feed's url in feeds.toml (only http(s) feeds are looked up)"
        if _HOST_AND_PORT.fullmatch(url.split("/", 1)[0]):
            return "", f"no scheme: write http://{url} or https://{url}"
        return "", "malformed URL"
    if len(url) > MAX_URL_LENGTH:
        return "", "malformed URL (too long)"
    if not is_openable_url(url):
        return "", "malformed URL"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        return "", "malformed URL"
    if not parts.hostname:
        return "", "malformed URL (no host)"
    return url, ""


class _Collector:
    """Subscriptions in first-seen order, merged by normalised URL."""

    def __init__(self) -> None:
        self.result = ImportResult()
        self._by_key: dict[str, Subscription] = {}

    def skip(self, what: str, why: str) -> None:
        self.result.skipped.append((_shown(what) or "(empty)", why))

    def add(self, raw_url: str, title: str, tags: Iterable[str], hidden: bool,
            where: str = "", changes: Iterable[str] = ()) -> None:
        url, reason = check_feed_url(raw_url)
        if reason:
            self.skip(raw_url or title, where + reason)
            return
        key = normalise_url(url)
        title = clean_line(title)
        if title == url or title == raw_url.strip():
            title = ""  # a "title" that only repeats the URL tells nothing
        changes = list(changes)
        if title and repair_mojibake(title) != title:
            # the feed's own title as a reader that decoded it twice kept it (no one names a
            # feed so): pinned in feeds.toml, it would hide the title docbao reads and repairs
            changes.append(f'the title "{_shown(title)}" was left out: it is double-encoded text, '
                           "the feed's own title garbled by another reader; docbao shows the feed's title, repaired")
            title = ""
        self.result.changed.extend((url, where + change) for change in changes)
        clean_tags = [tag for tag in (clean_line(t) for t in tags) if tag]
        known = self._by_key.get(key)
        if known is None:
            sub = Subscription(url=url, title=title, tags=[], hidden=hidden)
            _add_tags(sub, clean_tags)
            self._by_key[key] = sub
            self.result.subscriptions.append(sub)
            return
        if url != known.url:
            self.skip(url, f"the same feed as {_shown(known.url)}; merged into it")
        if not known.title:
            known.title = title
        known.hidden = known.hidden or hidden
        _add_tags(known, clean_tags)


def _add_tags(sub: Subscription, tags: Iterable[str]) -> None:
    for tag in tags:
        if tag not in sub.tags:
            sub.tags.append(tag)


# --- OPML in ----------------------------------------------------------------------------


def _local(tag: object) -> str:
    """An element's name without its namespace ("" for comments and processing instructions)."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _parse_xml(data: bytes) -> ET.Element:
    """The document's root, or ValueError saying why it cannot be read.

    defusedxml refuses entity declarations and external references outright, so nothing is
    ever expanded or fetched. A bare `&` in a URL (common in hand-made and older exports)
    makes the file not well-formed; one retry escapes such ampersands and nothing else.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    stripped = data.lstrip()
    if stripped.startswith(b"<?xml"):
        data = stripped  # whitespace before the declaration is an error to expat
    if not data.strip():
        raise ValueError("not an OPML file: it is empty")
    data = to_utf8_xml(data)
    try:
        return _defused_fromstring(data)
    except ET.ParseError as first:
        repaired = _BARE_AMPERSAND.sub(b"&amp;", data)
        if repaired != data:
            try:
                return _defused_fromstring(repaired)
            except ET.ParseError:
                pass
        raise ValueError(f"not an OPML file: it is not well-formed XML ({first})") from None


def _defused_fromstring(data: bytes) -> ET.Element:
    try:
        root: ET.Element = SafeET.fromstring(data)
    except DefusedXmlException as exc:
        raise ValueError(
            "refused: the file declares XML entities or external references "
            f"({type(exc).__name__}), which can exhaust memory or read local files; "
            "a real OPML export never needs them"
        ) from None
    except ValueError as exc:  # expat's own refusals, e.g. an encoding it cannot read
        raise ValueError(f"not an OPML file: it cannot be read as XML ({exc})") from None
    return root


def read_opml(data: bytes) -> ImportResult:
    """Subscriptions from an OPML 1.0/2.0 file, folders becoming tags.

    A feed is an outline with an `xmlUrl`; an outline without one is a folder whose name
    (its `title`, else its `text`) becomes a tag of every feed inside it, at any depth. A
    feed listed in two folders gets both tags, and the OPML 2.0 `category` attribute
    ("/Tech/Python,/News") adds its names too. Raises ValueError when the file is not OPML.
    """
    root = _parse_xml(data)
    name = _local(root.tag)
    if name.lower() != "opml":
        raise ValueError(f"not an OPML file: its root element is <{_shown(name)}>, not <opml>")
    body = next((child for child in root if _local(child.tag).lower() == "body"), None)
    if body is None:
        raise ValueError("not an OPML file: it has no <body>")

    out = _Collector()
    too_deep_reported = False
    # An explicit stack, depth first in document order: a hostile file may nest outlines
    # deeper than Python's recursion limit.
    stack: list[tuple[ET.Element, tuple[str, ...]]] = [
        (child, ()) for child in reversed(_outlines(body))
    ]
    while stack:
        outline, path = stack.pop()
        attrs = {k.lower(): v for k, v in outline.attrib.items() if not k.startswith("{")}
        label = clean_line(attrs.get("title") or attrs.get("text") or "")
        xml_url = (attrs.get("xmlurl") or "").strip()
        children = _outlines(outline)
        inner = path
        if xml_url:
            tags = list(path) + _categories(attrs.get("category", ""))
            hidden = outline.get(_HIDDEN, "").strip().lower() in ("true", "1", "yes")
            if outline.get(_TITLE_FROM_FEED, "").strip().lower() in ("true", "1", "yes"):
                label = ""  # the feed's own name when exported: the feed keeps naming itself
            out.add(xml_url, label, tags, hidden)
        elif children:
            if label and len(path) < MAX_FOLDER_DEPTH:
                inner = path + (label,)
            elif label and not too_deep_reported:
                too_deep_reported = True
                out.skip(label, f"folders nested deeper than {MAX_FOLDER_DEPTH} levels: "
                                "the deeper folder names are not used as tags")
        elif attrs.get("type", "").lower() == "include":
            out.skip(attrs.get("url") or label, "includes another OPML file, which is not fetched")
        elif attrs.get("type", "").lower() == "link" or attrs.get("url") or attrs.get("htmlurl"):
            out.skip(label or attrs.get("url") or attrs.get("htmlurl", ""),
                     "a link to a page, not a feed (no xmlUrl)")
        else:
            out.skip(label, "an empty folder or a note (no xmlUrl)")
        stack.extend((child, inner) for child in reversed(children))
    return out.result


def _outlines(element: ET.Element) -> list[ET.Element]:
    return [child for child in element if _local(child.tag).lower() == "outline"]


def _categories(value: str) -> list[str]:
    """Tag names from an OPML 2.0 category attribute: comma-separated slash paths."""
    names: list[str] = []
    for path in value.split(","):
        names.extend(part for part in (clean_line(p) for p in path.split("/")) if part)
    return names


# --- OPML out ---------------------------------------------------------------------------


# What XML 1.0 cannot hold even as a reference, beyond the controls clean_line removes.
_NOT_XML = re.compile("[\ufffe\uffff]")


def _attr(value: str) -> str:
    """An attribute value escaped for XML, newlines and tabs kept as references."""
    return (
        _NOT_XML.sub("", value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        .replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    )


def _feed_outline(sub: Subscription, indent: str) -> str:
    url = clean_line(sub.url)
    title = clean_line(sub.title)
    parts = [f'type="rss" text="{_attr(title or url)}"']
    if title:
        parts.append(f'title="{_attr(title)}"')
    parts.append(f'xmlUrl="{_attr(url)}"')
    if title and sub.title_from_feed:
        parts.append('docbao:titleFromFeed="true"')
    if sub.hidden:
        parts.append('docbao:hidden="true"')
    return f"{indent}<outline {' '.join(parts)}/>"


def write_opml(subscriptions: list[Subscription], title: str = "docbao subscriptions") -> bytes:
    """OPML 2.0 that other readers import and read_opml reads back to the same subscriptions.

    Each tag is a folder at the top level holding every feed with that tag, so a feed with
    two tags appears in both (readers that know only folders still file it in each); a feed
    without tags sits at the top level. Folders come in the order their tags first appear.
    Hidden feeds carry `docbao:hidden="true"`, and a title that is only the feed's own name
    `docbao:titleFromFeed="true"` (so that importing the file again does not pin it), which
    other readers ignore.
    """
    folders: dict[str, list[Subscription]] = {}
    untagged: list[Subscription] = []
    for sub in subscriptions:
        tags = [tag for tag in (clean_line(t) for t in sub.tags) if tag]
        if not tags:
            untagged.append(sub)
        for tag in dict.fromkeys(tags):
            folders.setdefault(tag, []).append(sub)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<opml version="2.0" xmlns:docbao="{DOCBAO_NS}">',
        "  <head>",
        f"    <title>{_attr(clean_line(title))}</title>",
        "  </head>",
        "  <body>",
    ]
    for tag, subs in folders.items():
        lines.append(f'    <outline text="{_attr(tag)}" title="{_attr(tag)}">')
        lines.extend(_feed_outline(sub, "      ") for sub in subs)
        lines.append("    </outline>")
    lines.extend(_feed_outline(sub, "    ") for sub in untagged)
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines).encode("utf-8")


# --- newsboat's urls file ---------------------------------------------------------------

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "v": "\v"}


def _newsboat_tokens(line: str) -> list[str]:
    """Split one urls line the way newsboat does.

    Tokens are separated by blanks; double quotes group (and may start mid-token), a
    backslash escapes the next character inside quotes, an unterminated quote runs to the
    end of the line, and a `#` at the start of a token begins a comment.
    """
    tokens: list[str] = []
    i, n = 0, len(line)
    while i < n:
        while i < n and line[i] in " \t\r\n":
            i += 1
        if i >= n or line[i] == "#":
            break
        token: list[str] = []
        while i < n and line[i] not in " \t\r\n":
            if line[i] == '"':
                i += 1
                while i < n and line[i] != '"':
                    if line[i] == "\\" and i + 1 < n:
                        i += 1
                        token.append(_ESCAPES.get(line[i], line[i]))
                    else:
                        token.append(line[i])
                    i += 1
                i += 1  # the closing quote, if there is one
            else:
                token.append(line[i])
                i += 1
        tokens.append("".join(token))
    return tokens


def read_newsboat_urls(text: str) -> ImportResult:
    """Subscriptions and saved searches from newsboat's urls file.

    Each line is `URL tag "tag two" "~Custom Title" "!"` ("!" hides the feed); `#` starts
    a comment. `"query:Name:expression"` lines become saved searches when their filter
    expression translates into docbao's query language, and are reported otherwise.
    `exec:` and `filter:` lines name commands: they are reported, never run.
    """
    out = _Collector()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        tokens = _newsboat_tokens(line)
        if not tokens:
            continue
        url, rest = tokens[0], tokens[1:]
        if url.lower().startswith("query:"):
            _newsboat_query(out, url, number)
            continue
        title = ""
        hidden = False
        tags: list[str] = []
        changes: list[str] = []
        for token in rest:
            if token.startswith("~"):
                title = token[1:]
            elif token == "!":
                hidden = True
            elif token.startswith("!"):
                # newsboat hides a feed with a tag that starts with "!" (seen only through query
                # feeds). docbao shows every feed, so the tag's name keeps such feeds together in
                # one folder, which folds away; a literal "!hidden" folder would look like a bug.
                hidden = True
                name = clean_line(token[1:])
                tags.append(name)
                changes.append(f'the tag "{_shown(token)}" became "{name}": newsboat hides a feed with a tag '
                               f'that starts with "!"; docbao shows every feed, in the folder "{name}"')
            elif token:
                tags.append(token)
        out.add(url, title, tags, hidden, where=f"line {number}: ", changes=changes)
    return out.result


def _newsboat_query(out: _Collector, token: str, number: int) -> None:
    body = token[len("query:"):]
    name, sep, expression = body.partition(":")
    name = clean_line(name)
    if not sep or not name or not expression.strip():
        out.skip(token, f"line {number}: a query needs a name and an expression (query:Name:expr)")
        return
    try:
        query = translate_newsboat_filter(expression)
    except ValueError as exc:
        out.skip(f"query {name}: {expression}", f"line {number}: {exc}")
        return
    out.result.searches.append((name, query))


# --- newsboat filter expressions -> docbao queries --------------------------------------

_FILTER_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<op>!=~|=~|!=|<=|>=|!\#|[=<>\#])
      | (?P<paren>[()])
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<number>-?[0-9]+(?::[0-9]+)?)
      | (?P<bad>\S)
    )""",
    re.VERBOSE,
)
# One docbao search word: letters and digits, with inner ' . - allowed ("don't", "v2.0").
_PLAIN_WORD = re.compile(r"\w+(?:['.-]\w+)*")
_REGEX_META = set(".^$*+?()[]{}|\\")
_TEXT_ATTRIBUTES = {"title", "content", "description"}
_FEED_ATTRIBUTES = {"feedtitle", "feedurl", "feedlink"}


def _unquote(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal[1:-1])


def _search_terms(value: str, attribute: str) -> list[str]:
    """A literal match on text as docbao words (one word) or a quoted phrase."""
    if any(ch in _REGEX_META for ch in value):
        raise ValueError(f"the regular expression {value!r} on {attribute} has no docbao equivalent")
    words = value.split()
    if not words or not all(_PLAIN_WORD.fullmatch(w) for w in words):
        raise ValueError(f"{attribute} =~ {value!r} cannot be written as docbao search words")
    return [words[0]] if len(words) == 1 else ['"' + " ".join(words) + '"']


def _filter_value(value: str, attribute: str) -> str:
    """A value for a docbao `name:value` filter, which takes one plain word."""
    if any(ch in _REGEX_META for ch in value):
        raise ValueError(f"the regular expression {value!r} on {attribute} has no docbao equivalent")
    if not _PLAIN_WORD.fullmatch(value):
        raise ValueError(f"{attribute} {value!r}: docbao filters take a single word")
    return value


def translate_newsboat_filter(expression: str) -> str:
    """A newsboat filter expression as a docbao query, or ValueError naming what cannot be.

    docbao queries are a conjunction (every term must hold), so only `and`-joined
    comparisons translate: unread = "yes"/"no" (is:unread / is:read), text matches on the
    title (title:, `!=~` -title:) and on content/description (`=~` words, which docbao looks
    for in the whole article; `!=~` an excluded word), author (author:),
    feedtitle/feedurl/feedlink (feed:), `tags # "x"` (tag:x) and `age <`/`>` N days
    (after:Nd / before:Nd). A translation is never looser or stricter on purpose: an
    expression with `or`, parentheses or any other comparison is refused whole.
    """
    tokens: list[tuple[str, str]] = []
    for match in _FILTER_TOKEN.finditer(expression):
        kind = match.lastgroup or "bad"
        if kind == "bad":
            raise ValueError(f"cannot read the filter expression near {match.group(kind)!r}")
        tokens.append((kind, match.group(kind)))
    if not tokens:
        raise ValueError("the filter expression is empty")
    terms: list[str] = []
    i = 0
    while True:
        if i + 3 > len(tokens):
            raise ValueError("cannot read the filter expression: a comparison is incomplete")
        (k1, attribute), (k2, op), (k3, literal) = tokens[i : i + 3]
        if k1 == "paren" or k2 == "paren" or k3 == "paren":
            raise ValueError("parentheses (grouping) have no docbao equivalent")
        if k1 != "word" or k2 != "op" or k3 not in ("string", "number"):
            raise ValueError(f"cannot read the comparison {attribute} {op} {literal}")
        value = _unquote(literal) if k3 == "string" else literal
        terms.extend(_translate_comparison(attribute.lower(), op, value))
        i += 3
        if i == len(tokens):
            break
        kind, joiner = tokens[i]
        if kind == "word" and joiner.lower() == "and":
            i += 1
            continue
        if kind == "word" and joiner.lower() == "or":
            raise ValueError("`or` has no docbao equivalent (every search term must match)")
        raise ValueError(f"cannot read the filter expression near {joiner!r}")
    return " ".join(dict.fromkeys(terms))


def _translate_comparison(attribute: str, op: str, value: str) -> list[str]:
    if attribute == "unread":
        flag = value.strip().lower()
        if op in ("=", "!=") and flag in ("yes", "no"):
            unread = (flag == "yes") == (op == "=")
            return ["is:unread" if unread else "is:read"]
    elif attribute == "title" and op in ("=~", "!=~"):  # the title alone, as newsboat looks
        term = _search_terms(value, attribute)[0]
        return [("-" if op == "!=~" else "") + "title:" + term]
    elif attribute in _TEXT_ATTRIBUTES:
        if op == "=~":
            return _search_terms(value, attribute)
        if op == "!=~":
            terms = _search_terms(value, attribute)
            if len(value.split()) == 1:
                return ["-" + terms[0]]
            raise ValueError(f"{attribute} !=~ {value!r}: docbao excludes single words only")
    elif attribute == "author" and op in ("=~", "="):
        return ["author:" + _filter_value(value, attribute)]
    elif attribute in _FEED_ATTRIBUTES and op in ("=~", "="):
        return ["feed:" + _filter_value(value, attribute)]
    elif attribute == "tags" and op == "#":
        return ["tag:" + _filter_value(value, attribute)]
    elif attribute == "age" and op in ("<", "<=", ">", ">=") and value.isdigit():
        return [("after:" if op.startswith("<") else "before:") + f"{int(value)}d"]
    raise ValueError(f"{attribute} {op} {value!r} has no docbao equivalent")
