"""Feed text made fit for a widget: cleaned of control characters and wrapped as plain
Content, so `[bold]`, `[@click=app.quit]` or an escape sequence shows as what it is."""

from __future__ import annotations

from textual.content import Content

from tui.content.sanitize import clean_line, html_to_line


def plain(text: str) -> Content:
    """One line of untrusted text as literal Content (never parsed as markup)."""
    return Content(clean_line(text))


UNTITLED_MARK = "… "  # before the start of the text shown in place of a missing title
LEAD_CHARACTERS = 110


def untitled(html: str | None) -> str:
    """What stands for the title of an article that has none: the start of its text, cut
    at a word, after a mark that says it is not a title ("" when there is no text either)."""
    text = html_to_line(html)
    if not text:
        return ""
    if len(text) > LEAD_CHARACTERS:
        cut = text.rfind(" ", 0, LEAD_CHARACTERS)
        text = text[:cut if cut > LEAD_CHARACTERS // 2 else LEAD_CHARACTERS].rstrip(" ,;:") + "…"
    return UNTITLED_MARK + text


def plural(count: int, word: str) -> str:
    """"1 article", "2 articles", "90,083 articles" (counts grouped as everywhere the reader writes them)."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"
