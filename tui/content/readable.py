"""Numbers as people read them, for every layer that prints one (the reader, the command
line, download messages), without loading the article renderer."""

from __future__ import annotations


def file_size(length: int) -> str:
    """A size as people read it: "11.8 MB"."""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if length >= scale:
            return f"{length / scale:.1f} {unit}"
    return f"{length} B"
