"""The status line: counts on the left, the refresh state in the middle, a key hint."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from tui.widgets.text import plain


class StatusBar(Horizontal):
    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
        color: $foreground;
    }
    StatusBar > Static { width: auto; padding: 0 1; }
    StatusBar > #status-view { color: $text-muted; }
    StatusBar > #status-refresh { width: 1fr; color: $text-accent; }
    StatusBar > #status-keys { color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="status-counts", markup=False)
        yield Static(id="status-view", markup=False)
        yield Static(id="status-refresh", markup=False)
        yield Static(id="status-keys", markup=False)

    def set_counts(self, text: str) -> None:
        self.query_one("#status-counts", Static).update(plain(text))

    def set_view(self, text: str) -> None:
        self.query_one("#status-view", Static).update(plain(text))

    def set_refresh(self, text: str) -> None:
        self.query_one("#status-refresh", Static).update(plain(text))

    def set_keys(self, text: str) -> None:
        self.query_one("#status-keys", Static).update(plain(text))
