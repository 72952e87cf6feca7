"""`?`: every key, as the user's keymap has them, grouped by what they do."""

from __future__ import annotations

import textwrap

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.ui.widgets.keys import KEYS, bind, display_key, effective_keys


KEY_COLUMN = 16  # the keys' column, in cells, between two spaces on each side


def help_text(keymap: dict[str, str], width: int | None = None) -> Content:
    """The key table: one line per action, link keys 1-9 folded into one line. At `width`
    cells a description too long for its line goes on under itself, not under the keys."""
    palette = display_key(effective_keys("command_palette", keymap).split(",")[0])
    parts: list[str | tuple[str, str]] = [
        (f"Esc or ? closes this help; the command palette ({palette}) finds any action by name.\n", "italic"),
        ("Mouse: a click selects a line, a second click opens it; the wheel scrolls the pane "
         "under it; a click on a link (its text or [number]) opens it. [settings] mouse = false leaves the "
         "mouse to the terminal (for selecting text).\n", "italic"),
    ]
    group = ""
    for spec in KEYS:
        if spec.id.startswith("link_") and spec.id != "link_1":
            continue
        if spec.group != group:
            group = spec.group
            parts.append(("\n" + group + "\n", "bold underline"))
        keys = ", ".join(display_key(k) for k in effective_keys(spec.id, keymap).split(","))
        description = spec.description
        if spec.id == "link_1":
            firsts = [effective_keys(f"link_{n}", keymap).split(",")[0] for n in range(1, 10)]
            digits = [str(n) for n in range(1, 10)]
            keys = "1-9" if firsts == digits else " ".join(display_key(k) for k in firsts)
            description = "Open link 1-9 of the article"
        key_column = f"  {keys:<{KEY_COLUMN}}"
        indent = " " * (len(key_column) + 2)  # under the description
        room = None if width is None else max(20, width - len(indent))
        lines = textwrap.wrap(description, room, break_on_hyphens=False) if room else [description]
        parts.append((key_column, "bold"))
        parts.append("  " + f"\n{indent}".join(lines) + "\n")
    return Content.assemble(*parts)


class KeyTable(Static):
    """The key table, wrapped again whenever its width changes."""

    DEFAULT_CSS = "KeyTable { width: 1fr; }"

    def __init__(self, keymap: dict[str, str]) -> None:
        super().__init__(help_text(keymap))
        self.keymap = keymap

    def on_resize(self, event: events.Resize) -> None:
        self.update(help_text(self.keymap, event.size.width))


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 76;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $border;
        border-title-align: center;
        background: $surface;
        padding: 0 1;
    }
    """
    # the user's own keys ([keys] of feeds.toml) move here as they do in the panes
    BINDINGS = [
        Binding("escape", "close", "Close", show=False),
        bind("help", "close"),
        bind("back_or_quit", "close"),
        bind("down", "scroll('down')"),
        bind("up", "scroll('up')"),
        bind("page_down", "scroll('page_down')"),
        bind("article_page_down", "scroll('page_down')"),
        bind("page_up", "scroll('page_up')"),
        bind("article_page_up", "scroll('page_up')"),
        bind("first", "scroll('home')"),
        bind("last", "scroll('end')"),
    ]

    def __init__(self, keymap: dict[str, str]) -> None:
        super().__init__()
        self.keymap = keymap

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "docbao keys"
            yield KeyTable(self.keymap)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_scroll(self, where: str) -> None:
        scroll = self.query_one(VerticalScroll)
        {"down": scroll.scroll_down, "up": scroll.scroll_up, "page_down": scroll.scroll_page_down,
         "page_up": scroll.scroll_page_up, "home": scroll.scroll_home, "end": scroll.scroll_end}[where](animate=False)
