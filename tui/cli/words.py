"""Words as people read them on a terminal: counts ("1 new article", "2 new articles") and
names cut to a column with "…" (measured in terminal cells: Vietnamese, CJK)."""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size


def count(number: int, noun: str) -> str:
    """`number` and `noun`, plural unless it is one ("1 feed", "0 feeds", "2 new articles")."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def fit(text: str, width: int) -> str:
    """`text` cut or padded to exactly `width` terminal cells, ending in "…" when cut (as
    the reader cuts a feed's name): "Báo Thái Nguyên – Tin t…", never a shorter word that
    reads as another ("Tin tứ" for "Tin tức"). A wide character that would straddle the
    edge is left out and the cell padded."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, width - 1) + "…"
