"""Feed text made fit for a widget: cleaned of control characters and wrapped as plain
Content, so `[bold]`, `[@click=app.quit]` or an escape sequence shows as what it is."""

from __future__ import annotations

from textual.content import Content

from tui.content.sanitize import clean_line


def plain(text: str) -> Content:
    """One line of untrusted text as literal Content (never parsed as markup)."""
    return Content(clean_line(text))
