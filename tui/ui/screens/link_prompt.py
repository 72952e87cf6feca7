"""`f`: ask for a link number of more than one digit (1-9 open directly); also which
enclosure `e` downloads or `P` plays."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class LinkPrompt(ModalScreen[int | None]):
    """Returns the number typed, or None when cancelled."""

    DEFAULT_CSS = """
    LinkPrompt { align: center middle; }
    LinkPrompt > Vertical {
        width: 40;
        height: auto;
        border: round $border;
        background: $surface;
        padding: 0 1;
    }
    LinkPrompt Input { width: 100%; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, count: int, what: str = "Open link") -> None:
        super().__init__()
        self.count = count
        self.what = what

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"{self.what} number (1-{self.count}), then Enter:", markup=False)
            yield Input(type="integer", restrict=r"[0-9]*", max_length=6)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(int(event.value) if event.value else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
