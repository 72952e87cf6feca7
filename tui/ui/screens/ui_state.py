"""Where the reader is: the view, the selected and the open article, the pane, the folded
folders and how far each article was scrolled, kept in the cache's state table so that the
next start comes back to it. Changes are gathered and written at most every STATE_DELAY
seconds: moving the cursor down a list writes once, not once per line."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.message_pump import MessagePump

    from tui.store.cache import Store

SCROLL_MEMORY = 500  # articles whose scroll position is remembered
SEARCH_MEMORY = 100  # typed searches the search box recalls with ↑
STATE_DELAY = 0.5  # seconds: state changes are written at most this often


class UIState:
    """The reading screen's memory, written through `store` on `owner`'s timers."""

    def __init__(self, owner: MessagePump, store: Store) -> None:
        self.owner = owner
        self.store = store
        self.scrolls: dict[str, int] = {}  # article id -> line, oldest first
        self._scrolls_changed = False
        self._pending: dict[str, str] = {}
        self._timer_running = False

    def get(self, key: str, default: str = "") -> str:
        return self.store.get_state(key, default)

    def get_int(self, key: str) -> int | None:
        return _int(self.store.get_state(key))

    def toggle(self, name: str, configured: bool) -> bool:
        """A switch the user flipped with a key, or the setting when it changed in
        feeds.toml since (a new setting wins over an old choice)."""
        if self.store.get_state(f"ui.{name}_config", "") == str(configured):
            return self.store.get_state(f"ui.{name}", "") == "1"
        return configured

    def flipped(self, name: str, value: bool, configured: bool) -> None:
        self.remember({f"ui.{name}": "1" if value else "0", f"ui.{name}_config": str(configured)})

    def sorts(self) -> dict[str, str]:
        """The order chosen for each view with `O`."""
        try:
            value = json.loads(self.store.get_state("ui.sort", "{}"))
        except ValueError:
            return {}
        return {str(k): v for k, v in value.items() if isinstance(v, str)} if isinstance(value, dict) else {}

    def searches(self) -> list[str]:
        """The searches typed before, oldest first (each once, where it was typed last)."""
        text = self._pending.get("ui.searches") or self.store.get_state("ui.searches", "[]")  # (not written yet)
        return _json_list(text)[-SEARCH_MEMORY:]

    def searched(self, query: str) -> None:
        typed = [q for q in self.searches() if q != query] + [query]
        self.remember({"ui.searches": json.dumps(typed[-SEARCH_MEMORY:], ensure_ascii=False)})

    def collapsed(self) -> list[str]:
        return _json_list(self.store.get_state("ui.collapsed", "[]"))

    def load_scrolls(self) -> None:
        self.scrolls = {k: int(v) for k, v in _json_dict(self.store.get_state("ui.scroll", "{}")).items()}

    def scrolled(self, article_id: int, line: int) -> None:
        """The reader scrolled an article: its line is remembered (the most recent last, so
        the oldest are forgotten first)."""
        key = str(article_id)
        self.scrolls.pop(key, None)
        if line:
            self.scrolls[key] = line
        while len(self.scrolls) > SCROLL_MEMORY:
            self.scrolls.pop(next(iter(self.scrolls)))
        self._scrolls_changed = True
        self._schedule()

    def scroll_of(self, article_id: int) -> int:
        return self.scrolls.get(str(article_id), 0)

    def remember(self, values: dict[str, str]) -> None:
        """Note where the reader is; written to the cache at most every STATE_DELAY seconds."""
        self._pending.update(values)
        self._schedule()

    def _schedule(self) -> None:
        if not self._timer_running:
            self._timer_running = True
            self.owner.set_timer(STATE_DELAY, self._tick)

    def _tick(self) -> None:
        self._timer_running = False
        self.flush(wait=False)

    def flush(self, *, wait: bool = True) -> None:
        """Write what changed; without `wait`, a cache another writer holds is tried again
        at the next tick instead of stopping the reader until it is free."""
        if self._scrolls_changed:
            self._scrolls_changed = False
            self._pending["ui.scroll"] = json.dumps(self.scrolls)
        if self._pending:
            pending, self._pending = self._pending, {}
            if not self.store.set_state(pending, wait=wait):
                self._pending = {**pending, **self._pending}
                self._schedule()


def _json_list(text: str) -> list[str]:
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def _json_dict(text: str) -> dict[str, int]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, int)}


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None
