"""The one HTML tokenizer, and the one table of tags it needs, shared by the sanitizer's
rebuild (tui.content.sanitize) and the renderer's tree builder (tui.content.render), so that
both see the same tags where a browser would: the same comments, bogus comments, raw-text
elements, attributes and void elements.

One linear pass; no state is kept between calls. What each reader does with a token (build
a tree, write markup again) is its own business: the tokenizer hands a sink

    text(raw)                        text as written, entities not decoded; a "<" that starts
                                     no tag arrives as "&lt;"
    start(tag, attrs, self_closing)  tag lower-cased; attrs as written (a str) when they are
                                     plain enough for every tokenizer to read them alike,
                                     else (lower-cased name, raw value) pairs
    end(tag)
    raw_text(tag, attrs, raw)        a raw-text element (script, style, textarea, ...) and
                                     its text as written, up to its end tag

Input that ends inside a tag drops that tag, as browsers do.
"""

from __future__ import annotations

import re
from typing import Protocol

# Elements that never have content: HTML's void elements, its legacy ones, and <image>,
# which the HTML parser turns into <img>.
VOID = frozenset(
    "area base basefont bgsound br col embed frame hr image img input keygen link meta param "
    "source track wbr".split()
)
# Elements whose content is text up to their end tag, never markup.
RAW_TEXT = frozenset("script style xmp iframe noembed noframes plaintext textarea title".split())
ESCAPABLE_RAW = frozenset({"textarea", "title"})  # entities decoded inside, tags not

Attrs = str | list[tuple[str, str]]


class Sink(Protocol):
    def text(self, raw: str) -> None: ...
    def start(self, tag: str, attrs: Attrs, self_closing: bool) -> None: ...
    def end(self, tag: str) -> None: ...
    def raw_text(self, tag: str, attrs: Attrs, raw: str) -> None: ...


_TAG_OPEN = re.compile(r"<(?:(/?)([A-Za-z][^\t\n\f\r />]*)|(!--)|([!?/]))")
# A tag whose attributes any HTML tokenizer reads the same way, so they can be used as written
# (an unquoted value must end at a space or ">": browsers read "href=a/>" as "a/").
_SIMPLE_TAG = re.compile(
    r"""<(/?)([A-Za-z][A-Za-z0-9]*)((?:[ \t\n]+[A-Za-z_:][-A-Za-z0-9_:.]*"""
    r"""(?:[ \t\n]*=[ \t\n]*(?:"[^"]*"|'[^']*'|[^ \t\n\f\r"'=<>`/]+(?=[ \t\n>])))?)*)[ \t\n]*(/?)>"""
)
_SIMPLE_ATTR = re.compile(
    r"""([A-Za-z_:][-A-Za-z0-9_:.]*)(?:[ \t\n]*=[ \t\n]*(?:"([^"]*)"|'([^']*)'|([^ \t\n\f\r"'=<>`/]+)))?"""
)
_ATTR_GAP = re.compile(r"[\t\n\f\r /]*")
_ATTR_NAME = re.compile(r"[^\t\n\f\r />][^\t\n\f\r /=>]*")
_ATTR_EQ = re.compile(r"[\t\n\f\r ]*=[\t\n\f\r ]*")
_UNQUOTED = re.compile(r"[^\t\n\f\r >]*")
_RAW_END: dict[str, re.Pattern[str]] = {}


def tokenize(source: str, sink: Sink) -> None:
    """Hand every token of `source` to `sink`, in order."""
    pos, end = 0, len(source)
    find = source.find
    simple_tag = _SIMPLE_TAG.match
    while pos < end:
        lt = find("<", pos)
        if lt < 0:
            sink.text(source[pos:])
            return
        if lt > pos:
            sink.text(source[pos:lt])
        simple = simple_tag(source, lt)
        attrs: Attrs
        if simple:  # plain attributes (nearly every tag)
            closing, name, attrs, slash = simple.groups()
            tag, self_closing, pos = name.lower(), slash == "/", simple.end()
        else:
            match = _TAG_OPEN.match(source, lt)
            if match is None:  # a "<" that starts no tag is text
                sink.text("&lt;")
                pos = lt + 1
                continue
            closing, name, comment, bogus = match.groups()
            if comment:  # "<!-->" and "<!--->" end at once; an unterminated one runs to the end
                if source.startswith((">", "->"), lt + 4):
                    pos = find(">", lt + 4) + 1
                else:
                    close = find("-->", lt + 4)
                    pos = end if close < 0 else close + 3
                continue
            if bogus:  # <!doctype>, <?pi>, </3>: bogus comments up to ">"
                close = find(">", lt + 2)
                pos = end if close < 0 else close + 1
                continue
            tag = name.lower()
            pos, attrs, self_closing = read_attributes(source, match.end())
            if pos < 0:  # the input ends inside a tag: browsers drop it
                return
        if closing:
            sink.end(tag)
        elif tag in RAW_TEXT:
            pattern = _RAW_END.get(tag)
            if pattern is None:
                pattern = _RAW_END[tag] = re.compile(rf"</{re.escape(tag)}(?=[\t\n\f\r />]|$)", re.IGNORECASE)
            found = pattern.search(source, pos)
            sink.raw_text(tag, attrs, source[pos : found.start() if found else end])
            gt = find(">", found.end()) if found else -1
            pos = end if gt < 0 else gt + 1
        else:
            sink.start(tag, attrs, self_closing)


def attribute_pairs(attrs: Attrs) -> list[tuple[str, str]]:
    """(lower-cased name, raw value) pairs, whichever form the tokenizer handed over."""
    if not isinstance(attrs, str):
        return attrs
    if not attrs:
        return []
    # findall gives "" for the alternatives that did not match, and only one of them did
    return [(name.lower(), double or single or bare) for name, double, single, bare in _SIMPLE_ATTR.findall(attrs)]


def read_attributes(source: str, pos: int) -> tuple[int, list[tuple[str, str]], bool]:
    """The attributes of a tag read from `pos` the way browsers read them: (position after
    its ">", (lower-cased name, raw value) pairs in order, whether it ended with "/>"), or
    (-1, [], False) when the input ends first."""
    pairs: list[tuple[str, str]] = []
    end = len(source)
    while True:
        start = pos
        pos = _ATTR_GAP.match(source, pos).end()  # type: ignore[union-attr]
        if pos >= end:
            return -1, [], False
        if source[pos] == ">":
            return pos + 1, pairs, pos > start and source[pos - 1] == "/"
        name_match = _ATTR_NAME.match(source, pos)
        assert name_match is not None  # the gap consumed every character a name cannot start with
        name = name_match.group(0).lower()
        pos = name_match.end()
        value = ""
        eq = _ATTR_EQ.match(source, pos)
        if eq:
            pos = eq.end()
            if pos < end and source[pos] in "\"'":
                close = source.find(source[pos], pos + 1)
                if close < 0:
                    return -1, [], False
                value = source[pos + 1 : close]
                pos = close + 1
            else:
                value = _UNQUOTED.match(source, pos).group(0)  # type: ignore[union-attr]
                pos += len(value)
        pairs.append((name, value))
