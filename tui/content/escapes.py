"""Terminal escape sequences (ECMA-48) as a terminal reads them, so that they can be removed
whole: removing only the ESC of "ESC [31m" or "ESC ]0;title BEL" leaves "[31m" and
"]0;title" in the text. The sanitizer removes them from text and from the HTML it keeps,
the charset policy from a feed document's bytes (whose ESC no XML parser reads).
"""

from __future__ import annotations

import re

# What an escape sequence starts with: ESC, and the 8-bit CSI, OSC, DCS, SOS, PM and APC.
ESC = "\x1b"
C1_INTRODUCERS = ("\x9b", "\x9d", "\x90", "\x98", "\x9e", "\x9f")


def _byte_class(first: str, last: str, leave_out: str) -> str:
    """A regex class of the characters from `first` to `last` but those of `leave_out`."""
    chars = (chr(code) for code in range(ord(first), ord(last) + 1))
    return "[" + "".join(re.escape(ch) for ch in chars if ch not in leave_out) + "]"


def sequence_pattern(stops: str, markup: str = "", guards: tuple[str, ...] = (), *,
                     utf8_bytes: bool = False) -> str:
    """The regex of one escape sequence. CSI: parameter bytes, intermediate bytes, a final
    byte. OSC, DCS, SOS, PM, APC: a string to its terminator (ST, or BEL for OSC). Else ESC,
    intermediate bytes and a final byte ("ESC c", "ESC ( B").

    A terminal hides everything after a string sequence that is never terminated; here such
    a string ends at the first of `stops` (the end of the line, and in markup where the
    markup starts again), so that one stray "ESC ]" costs at most the rest of its line, not
    the rest of the article. No sequence takes one of `stops` or `markup` with it, nor the
    start of one of `guards`, so that one in markup never takes part of a tag, a quote, a
    reference or the end of a comment away.
    `utf8_bytes`: a pattern for UTF-8 bytes, where the 8-bit forms are two bytes each."""
    leave_out = stops + markup
    stop = re.escape(stops)
    guard = "(?!" + "|".join(map(re.escape, guards)) + ")" if guards else ""

    def byte(cls: str) -> str:
        return f"(?:{guard}{cls})" if guard else cls

    def run(cls: str) -> str:
        return f"{byte(cls)}*"

    parameters = run(_byte_class("0", "?", leave_out))
    intermediates = run(_byte_class(" ", "/", leave_out))
    csi_final = byte(_byte_class("@", "~", leave_out))
    final = byte(_byte_class("0", "~", leave_out))
    c1 = r"\xc2" if utf8_bytes else ""  # (the first of the two bytes of U+0080 to U+009F)

    def string(but: str = "") -> str:
        """The body of a string sequence: anything but its terminators and the stops."""
        if utf8_bytes:
            return run(rf"(?:[^{but}\x1b\xc2{stop}]|\xc2(?!\x9c))")
        return run(rf"[^{but}\x1b\x9c{stop}]")

    st = rf"(?:\x1b\\|{c1}\x9c)"
    osc_string, other_string = string(r"\x07"), string()
    return (
        rf"(?:\x1b\[|{c1}\x9b){parameters}{intermediates}{csi_final}?"
        rf"|(?:\x1b\]|{c1}\x9d){osc_string}(?:\x07|{st})?"
        rf"|(?:\x1b[PX^_]|{c1}[\x90\x98\x9e\x9f]){other_string}{st}?"
        rf"|\x1b{intermediates}{final}"
    )
