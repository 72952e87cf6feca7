"""Bytes -> text for every document docbao reads (feeds, web pages, OPML), with one policy.

The policy, whoever decodes:
- A byte-order mark wins; UTF-16/32 without one is told by its NUL pattern.
- Bytes that are valid UTF-8 are UTF-8, whatever the declaration says: a wrong declaration
  (a page re-served as UTF-8 that still says "iso-8859-1") is far more common than legacy
  text that happens to be valid multi-byte UTF-8.
- Then the HTTP charset, then the document's own declaration (XML declaration, <meta>).
  A UTF-8 label is kept for bytes that are not valid UTF-8 only while most of their
  non-ASCII text still reads as UTF-8 (a few broken bytes, not a legacy charset).
  A declaration that could be read as ASCII cannot be right about UTF-16/32 (WHATWG rule).
- Legacy labels are read through the superset browsers use (gb2312 -> gb18030, iso-8859-1
  and ascii -> windows-1252, shift_jis -> cp932, ...), so bytes in the superset's extra
  range still decode.
- Codecs that are not character encodings a document can be in, or that smuggle escapes
  (UTF-7, unicode-escape, idna, rot13, base64 ...), are refused everywhere: a document
  declaring one is read as if it declared nothing.
- Then a guess. Never an exception: what cannot be read better comes back with
  replacement characters.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from tui.content.escapes import sequence_pattern

# Labels Python does not know (or knows as something narrower), as browsers read them.
_ALIASES = {
    "windows-874": "cp874", "x-mac-roman": "mac_roman", "macintosh": "mac_roman",
    "x-sjis": "cp932", "windows-31j": "cp932", "x-euc-jp": "euc_jp", "ks_c_5601-1987": "cp949",
    "unicode": "utf-16", "x-gbk": "gb18030", "gb_2312-80": "gb18030", "gb_2312": "gb18030",
    "csgb2312": "gb18030", "x-x-big5": "big5hkscs",
}
# Python codec name -> the superset to read it through (WHATWG Encoding Standard).
_SUPERSETS = {
    "ascii": "cp1252", "iso8859-1": "cp1252", "gb2312": "gb18030", "gbk": "gb18030",
    "shift_jis": "cp932", "euc_kr": "cp949", "iso8859-9": "cp1254", "tis-620": "cp874",
    "iso8859-11": "cp874", "big5": "big5hkscs",
}
# Codecs that are not character encodings a document can be in, or that smuggle escapes.
_REFUSED = {"unicode-escape", "raw-unicode-escape", "undefined", "idna", "punycode", "utf-7"}


def codec_for(label: str, *, from_declaration: bool = False) -> str | None:
    """The Python codec to read a charset label with, widened to its superset; None for a
    label Python does not know or that this policy refuses. `from_declaration`: the label
    was read from the document's own bytes as ASCII, so it cannot mean UTF-16/32."""
    label = label.strip().strip("\"'").lower()
    if not label:
        return None
    label = _ALIASES.get(label, label)
    try:
        info = codecs.lookup(label)
    except LookupError:
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _REFUSED:
        return None
    if from_declaration and info.name.startswith(("utf-16", "utf-32")):
        return "utf-8"
    return _SUPERSETS.get(info.name, info.name)


def wide_encoding(data: bytes) -> str | None:
    """UTF-16 or UTF-32, told by a byte-order mark, by the NULs around a first "<" or "{",
    or by the NUL pattern of mostly ASCII text; None for 8-bit and UTF-8 bytes."""
    # UTF-32 first: its little-endian BOM begins with UTF-16's.
    for marks, encoding in (
        ((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE), "utf-32"),
        ((b"<\x00\x00\x00", b"{\x00\x00\x00"), "utf-32-le"),
        ((b"\x00\x00\x00<", b"\x00\x00\x00{"), "utf-32-be"),
        ((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE), "utf-16"),
        ((b"<\x00", b"{\x00"), "utf-16-le"),
        ((b"\x00<", b"\x00{"), "utf-16-be"),
    ):
        if data.startswith(marks):
            return encoding
    head = data[:256]
    if len(head) < 8 or head.count(0) < len(head) // 3:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if odd > len(head) // 4 and even < odd // 4:
        return "utf-16-le"
    if even > len(head) // 4 and odd < even // 4:
        return "utf-16-be"
    return None


# ------------------------------------------------------------------------------------ feeds
_XML_DECL_ENCODING = re.compile(
    rb"""^\s*<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""", re.IGNORECASE
)
# C0 controls that XML 1.0 forbids; libxml2 stops reading text at one of them.
_C0_BYTES = bytes(c for c in range(32) if c not in (9, 10, 13))
_C0_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# The escape sequences that hold those controls (ESC, BEL ending an OSC), removed whole
# before them (else their tails, "[31m", stay in the text), from an XML document (JSON has
# no raw controls, and its backslashes would make "ESC \\" mean something else). A sequence
# never takes with it what could be markup: a line end, a tag's "<" or ">", a quote, a
# reference's "&", the start of the end of a comment, a CDATA section or an instruction.
_XML_SEQUENCE = ("\r\n<>\"'", "&", ("-->", "]]>", "?>"))
_XML_SEQUENCES = re.compile(sequence_pattern(*_XML_SEQUENCE, utf8_bytes=True).encode("ascii"))
_XML_SEQUENCES_TEXT = re.compile(sequence_pattern(*_XML_SEQUENCE))
# What charset detection may be trusted for in a feed: a script other than Latin. For Latin
# text detection cannot tell windows-1250/1252/1257 apart from little text, and 1252 is by
# far the most common legacy charset of feeds.
_NON_LATIN_GUESSES = (
    "cp1251", "koi8", "iso8859-5", "mac_cyrillic", "cp866", "cp855", "iso8859_5", "kz1048",
    "cp1253", "iso8859-7", "iso8859_7", "cp1255", "iso8859-8", "iso8859_8", "cp1256",
    "iso8859-6", "iso8859_6", "cp874", "tis", "gb", "big5", "euc", "shift_jis", "cp932",
    "cp949", "johab", "hz", "iso2022", "cp950", "ptcp154", "mac_greek",
)
_REAL_NON_ASCII = re.compile("[^\x00-\x7f\ufffd]")


def decode_feed(data: bytes, http_charset: str = "") -> tuple[str, list[str], bool]:
    """A feed document as text, by the policy above, with XML's forbidden C0 controls dropped.

    Returns the text, warnings for the user, and whether the bytes are already the UTF-8
    a parser can be handed unchanged."""
    wide = wide_encoding(data)
    if wide:
        text = data.decode(wide, errors="replace")
        if ("\x1b" in text or "\x07" in text) and text.lstrip(" \t\r\n\ufeff")[:1] == "<":
            text = _XML_SEQUENCES_TEXT.sub("", text)
        return _C0_CHARS.sub("", text), [], False
    declared_match = _XML_DECL_ENCODING.match(data[:512])
    declared = declared_match.group(1).decode("ascii") if declared_match else ""
    pristine = True
    if not declared.lower().startswith("iso-2022"):  # (whose ESC switches character sets)
        if (b"\x1b" in data or b"\x07" in data) and data.lstrip(b" \t\r\n\xef\xbb\xbf")[:1] == b"<":
            data, pristine = _XML_SEQUENCES.sub(b"", data), False
        cleaned = data.translate(None, _C0_BYTES)
        if len(cleaned) != len(data):
            data, pristine = cleaned, False
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if declared and codec_for(declared, from_declaration=True) != "utf-8":
            pristine = False  # the declaration must be rewritten to say UTF-8
        return text, [], pristine
    warnings: list[str] = []
    for source, name in (("HTTP charset", http_charset), ("declared encoding", declared)):
        if not name:
            continue
        codec = codec_for(name, from_declaration=source == "declared encoding")
        if codec is None:
            warnings.append(f"unknown {source} {name!r} ignored")
            continue
        if codec == "utf-8":
            text = data.decode("utf-8", errors="replace")
            # UTF-8 with a few broken bytes: most of its non-ASCII text reads as UTF-8. Legacy
            # text (windows-1251, gb2312 served as UTF-8) makes a rare valid sequence by chance.
            if len(_REAL_NON_ASCII.findall(text)) > text.count("\ufffd"):
                return text, [*warnings, "invalid UTF-8 bytes replaced"], False
            warnings.append(f"{source} UTF-8 does not match the bytes")
            continue
        try:
            return data.decode(codec), warnings, False
        except UnicodeDecodeError:
            text = data.decode(codec, errors="replace")
            return text, [*warnings, f"bytes invalid in {name} replaced"], False
    guess = _guess_feed_charset(data)
    text = data.decode(guess, errors="replace")
    shown = "windows-1252" if guess == "cp1252" else guess
    return text, [*warnings, f"encoding not declared; read as {shown}"], False


def _guess_feed_charset(data: bytes) -> str:
    """Undeclared 8-bit feed text: detection decides only between Latin and other scripts."""
    from charset_normalizer import from_bytes

    best = from_bytes(data[:65536]).best()
    if best is not None:
        name = best.encoding.lower()
        if any(name.startswith(prefix) for prefix in _NON_LATIN_GUESSES):
            codec = codec_for(name)
            if codec:
                return codec
    return "cp1252"


# ------------------------------------------------------------------------------- web pages
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9._:\-]+)""", re.I)
_META_CHARSET = re.compile(rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([A-Za-z0-9._:\-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._:\-]+)""", re.I)
_PRESCAN_BYTES = 16384
# A declared charset is kept when only a few bytes are invalid in it (a truncated or lightly
# damaged page); past this share the declaration is taken to be wrong.
_MAX_BAD_SHARE = 0.001
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# The legacy encodings web pages are written in (WHATWG Encoding Standard). Detection picks
# among these only: DOS and Mac-Central-European code pages read short Latin pages "cleanly"
# too, and no web page uses them.
_WEB_CODECS = [
    "cp1250", "cp1251", "cp1252", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258",
    "iso8859_2", "iso8859_3", "iso8859_4", "iso8859_5", "iso8859_6", "iso8859_7", "iso8859_8",
    "iso8859_10", "iso8859_13", "iso8859_14", "iso8859_15", "iso8859_16", "koi8_r", "koi8_u",
    "cp866", "mac_roman", "mac_cyrillic", "cp874", "gb18030", "big5hkscs", "euc_jp", "iso2022_jp",
    "cp932", "cp949",
]
_UTF16 = ["utf_16", "utf_16_le", "utf_16_be"]


def decode_html(data: bytes, content_type: str = "") -> str:
    """A web page as text, NFC, whatever charset it came in.

    Order: a byte-order mark; then bytes that are valid UTF-8 are UTF-8; then the charset of
    the HTTP Content-Type; then <meta charset> / <meta http-equiv> (or an XML declaration) in
    the first 16 KB; then detection by charset-normalizer. Never raises: a page that cannot
    be decoded any better comes back as UTF-8 with replacement characters.
    """
    try:
        text = _decode_page(bytes(data), content_type or "")
    except Exception:  # noqa: BLE001 - the contract is "always a str"; codecs raise odd things
        text = bytes(data).decode("utf-8", "replace")
    # windows-1258 writes Vietnamese tone marks as combining characters; NFC composes them.
    return unicodedata.normalize("NFC", text.lstrip("\ufeff"))


def _decode_page(data: bytes, content_type: str) -> str:
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, "replace")
    if b"\x00" not in data:  # UTF-16 without a BOM is valid UTF-8 full of NULs
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    declared: list[str] = []
    if match := _HEADER_CHARSET.search(content_type):
        if codec := codec_for(match.group(1)):
            declared.append(codec)
    head = data[:_PRESCAN_BYTES]
    for pattern in (_XML_ENCODING, _META_CHARSET):
        if match := pattern.search(head):
            codec = codec_for(match.group(1).decode("ascii", "replace"), from_declaration=True)
            if codec and codec not in declared:
                declared.append(codec)
    for codec in declared:
        if (text := _decode_declared(data, codec)) is not None:
            return text
    if (text := _detect_page(data)) is not None:
        return text
    return data.decode(declared[0] if declared else "utf-8", "replace")


def _decode_declared(data: bytes, codec: str) -> str | None:
    """Decode with a declared charset unless the bytes show the declaration is wrong."""
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        pass
    text = data.decode(codec, "replace")
    bad = text.count("\ufffd")
    if bad <= max(2, len(text) * _MAX_BAD_SHARE):
        return text
    return None


def _detect_page(data: bytes) -> str | None:
    """Undeclared page bytes that are not UTF-8, decoded by their likeliest charset.

    Short Latin-script pages decode equally cleanly in several code pages, and
    charset-normalizer then ranks them by a language guess that a few accented words cannot
    support; among the cleanest readings windows-1252, the web's default for undeclared
    pages, wins. Vietnamese (windows-1258) and Cyrillic pages do not read cleanly as
    windows-1252, so this never overrides them. UTF-16 is only considered when there are NUL
    bytes: HTML in UTF-16 is mostly ASCII, which UTF-16 writes with a NUL in every other byte.
    """
    from charset_normalizer import from_bytes

    candidates = _WEB_CODECS + _UTF16 if b"\x00" in data else _WEB_CODECS
    matches = list(from_bytes(data, cp_isolation=candidates))
    if not matches:
        return None
    cleanest = min(match.chaos for match in matches)
    best = next(
        (m for m in matches if m.encoding == "cp1252" and m.chaos <= cleanest), matches[0]
    )
    if not best.encoding:
        return None
    return data.decode(codec_for(best.encoding) or best.encoding, "replace")


# ------------------------------------------------------------------------------------ OPML
_XML_DECLARED = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")


def to_utf8_xml(data: bytes) -> bytes:
    """An XML document re-encoded as UTF-8 when it declares an 8-bit or multi-byte codec,
    its declaration rewritten to say so; the bytes as they are otherwise.

    expat reads only UTF-8, UTF-16, ASCII and Latin-1 itself and refuses multi-byte codecs
    such as Shift_JIS or GB2312 outright; Python's codecs read them all. A refused or
    unknown declaration is left for expat to report.
    """
    match = _XML_DECLARED.match(data)
    if not match:
        return data
    codec = codec_for(match.group(1).decode("ascii"), from_declaration=True)
    if codec is None or codec == "utf-8":
        return data
    text = data.decode(codec, errors="replace")
    return re.sub(r"(<\?xml[^>]*?encoding\s*=\s*[\"'])[^\"']*", r"\g<1>UTF-8", text, count=1).encode()
