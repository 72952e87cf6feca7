"""`F`: find a feed or a tag by typing part of its name. The list narrows as each letter is
typed, with case and diacritics folded as search folds them ("thai" finds "Thái Nguyên"),
and Enter goes to the one highlighted in the feed list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from tui.store.index import fold
from tui.ui.screens.prompts import DIALOG_CSS
from tui.ui.widgets.feed_list import FeedEntry

SHOWN = 500  # matches listed at most, a bound for very long feed lists (the count says how many match)


@dataclass(frozen=True, slots=True)
class Place:
    """A feed or a tag the finder can go to."""

    key: str  # the feed list entry
    label: str
    where: str  # "tag", "view" (All, Unread, Starred, a saved search), or a feed's folder ("" for none)
    folded: str
    unread: int  # told beside the name: feeds of one name differ by it


def places(entries: Sequence[FeedEntry]) -> list[Place]:
    """The views (All, Unread, Starred, the saved searches), each tag once, and each feed
    once (where it is first listed), in feed list order."""
    seen: set[tuple[int, ...]] = set()
    found: list[Place] = []
    for entry in entries:
        if entry.kind in ("view", "search"):
            found.append(Place(entry.key, entry.label, "view", fold(entry.label), entry.count))
        elif entry.kind == "folder":
            found.append(Place(entry.key, entry.label, "tag", fold(entry.label), entry.count))
        elif entry.kind == "feed" and entry.feed_ids not in seen:
            seen.add(entry.feed_ids or ())
            found.append(Place(entry.key, entry.label, entry.folder, fold(entry.label), entry.count))
    return found


def matches(every: Sequence[Place], typed: str) -> list[Place]:
    """The places whose folded name holds the folded `typed`: the names that are it first,
    then those that start with it, then those with a word that does, then the rest, each in
    feed list order."""
    needle = " ".join(fold(typed).split())
    if not needle:
        return list(every)
    ranked: list[tuple[int, int, Place]] = []
    for order, place in enumerate(every):
        at = place.folded.find(needle)
        if at < 0:
            continue
        if at == 0:
            rank = 0 if " ".join(place.folded.split()) == needle else 1
        else:
            rank = 2 if not place.folded[at - 1].isalnum() else 3
        ranked.append((rank, order, place))
    ranked.sort(key=lambda item: item[:2])
    return [place for _, _, place in ranked]


class FeedFinder(ModalScreen[str | None]):
    """The key of the feed list entry chosen, or None when cancelled with Esc."""

    DEFAULT_CSS = DIALOG_CSS.format(name="FeedFinder") + """
    FeedFinder OptionList { height: auto; max-height: 16; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", show=False),
        Binding("down,ctrl+n", "move(1)", show=False),
        Binding("up,ctrl+p", "move(-1)", show=False),
        Binding("pagedown", "move(10)", show=False),
        Binding("pageup", "move(-10)", show=False),
    ]

    def __init__(self, entries: Sequence[FeedEntry]) -> None:
        super().__init__()
        self.every = places(entries)
        self.found: list[Place] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Content("Go to the feed or tag named:"))
            yield Input(placeholder="part of a name")
            yield OptionList()
            yield Label(Content("↑↓ choose · Enter goes there · Esc cancels"), classes="prompt--hint")

    def on_mount(self) -> None:
        self._show("")

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        self._show(event.value)

    def _show(self, typed: str) -> None:
        self.found = matches(self.every, typed)
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options([self._option(place) for place in self.found[:SHOWN]])
        if self.found:
            options.highlighted = 0
        self.query_one(Vertical).border_subtitle = f"{len(self.found)} of {len(self.every)}"

    @staticmethod
    def _option(place: Place) -> Option:
        where = place.where if place.where in ("tag", "view") else f"in {place.where}" if place.where else ""
        about = " · ".join(part for part in (f"{place.unread} unread" if place.unread else "", where) if part)
        return Option(Content.assemble(place.label, ("  " + about, "dim") if about else ""))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        index = self.query_one(OptionList).highlighted
        if index is not None and index < len(self.found):
            self.dismiss(self.found[index].key)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.found[event.option_index].key)

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if options.option_count:
            current = options.highlighted or 0
            options.highlighted = max(0, min(options.option_count - 1, current + step))

    def action_cancel(self) -> None:
        self.dismiss(None)
