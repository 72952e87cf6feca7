"""Small modal dialogs: a line of text (search, a feed URL, tags), a yes/no question and a
choice from a list. Every label is shown as plain text: a feed title in a question or a
choice is never read as markup."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from tui.content.sanitize import clean_line

DIALOG_CSS = """
    {name} {{ align: center middle; }}
    {name} > Vertical {{
        width: 70;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $border;
        background: $surface;
        padding: 0 1;
    }}
    {name} Input {{ width: 100%; }}
    {name} Label {{ width: 100%; }}
    {name} .prompt--hint {{ color: $text-muted; }}
    {name} .prompt--error {{ color: $text-error; }}
"""


class TextPrompt(ModalScreen[str | None]):
    """One line of text: the text entered (stripped), or None when cancelled with Esc.
    `check` says what is wrong with a text ("" when nothing is): Enter on such a text
    keeps the prompt open, the text as typed and the problem under it, to be mended.
    `history` (oldest first): ↑ and ↓ go through it, ↓ past the newest back to the text
    that was being typed."""

    DEFAULT_CSS = DIALOG_CSS.format(name="TextPrompt")
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", show=False),
        Binding("up", "history(-1)", show=False),
        Binding("down", "history(1)", show=False),
    ]

    def __init__(self, question: str, value: str = "", *, placeholder: str = "", hint: str = "",
                 check: Callable[[str], str] | None = None, problem: str = "",
                 history: Sequence[str] = ()) -> None:
        super().__init__()
        self.question = question
        self.value = value
        self.placeholder = placeholder
        self.hint = hint
        self.check = check
        self.problem = problem  # shown from the start: the text was refused once already
        self.history = list(history)
        self._recalled: int | None = None  # the line of history in the box (None: the text typed)
        self._typed = ""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Content(clean_line(self.question)))
            yield Input(self.value, placeholder=self.placeholder)
            error = Label(Content(clean_line(self.problem)), classes="prompt--error")
            error.display = bool(self.problem)
            yield error
            if self.hint:
                yield Label(Content(clean_line(self.hint)), classes="prompt--hint")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        problem = self.check(text) if self.check is not None and text else ""
        if problem:
            error = self.query_one(".prompt--error", Label)
            error.update(Content(clean_line(problem)))
            error.display = True
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_history(self, step: int) -> None:
        box = self.query_one(Input)
        if self._recalled is None:
            if step > 0 or not self.history:
                return
            self._typed = box.value
            line = len(self.history) - 1
            if self.history[line] == box.value.strip() and line:  # the one shown already: the one before
                line -= 1
        else:
            line = self._recalled + step
            if line < 0:
                return
        if line >= len(self.history):
            self._recalled = None
            box.value = self._typed
        else:
            self._recalled = line
            box.value = self.history[line]
        box.cursor_position = len(box.value)


class Confirm(ModalScreen[bool]):
    """A yes/no question: y or Enter says yes, n, q or Esc says no (q is back everywhere)."""

    DEFAULT_CSS = DIALOG_CSS.format(name="Confirm")
    BINDINGS = [
        Binding("y,enter", "answer(True)", "Yes", show=False),
        Binding("n,q,escape", "answer(False)", "No", show=False),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Content(clean_line(self.question)))
            yield Label(Content("y or Enter: yes · n, q or Esc: no"), classes="prompt--hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class Choose(ModalScreen[int | None]):
    """Pick one of several lines: its index, or None when cancelled with Esc."""

    DEFAULT_CSS = DIALOG_CSS.format(name="Choose") + "Choose OptionList { height: auto; max-height: 16; }"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", show=False),
        Binding("j", "move(1)", show=False),
        Binding("k", "move(-1)", show=False),
    ]

    def __init__(self, question: str, choices: Sequence[str]) -> None:
        super().__init__()
        self.question = question
        self.choices = list(choices)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Content(clean_line(self.question)))
            yield OptionList(*(Option(Content(clean_line(c))) for c in self.choices))

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option_index)

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if step > 0:
            options.action_cursor_down()
        else:
            options.action_cursor_up()

    def action_cancel(self) -> None:
        self.dismiss(None)
