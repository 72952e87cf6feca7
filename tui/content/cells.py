"""Text measured as a terminal shows it, in cells (a CJK character takes two)."""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size


def fit(text: str, width: int) -> str:
    """`text` cut or padded to exactly `width` terminal cells, ending in "…" when cut:
    "Báo Thái Nguyên – Tin t…", never a shorter word that reads as another ("Tin tứ" for
    "Tin tức"). A wide character that would straddle the edge is left out and the cell
    padded."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, width - 1) + "…"
