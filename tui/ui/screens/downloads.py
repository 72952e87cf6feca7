"""`E`: the downloads (queued, downloading with its progress, done, failed with the reason),
read again from the cache twice a second, so it shows what `docbao download` in another
terminal does too. `r` downloads the selected failed or queued one (`R` all of them), Enter
or `P` plays it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual.widgets.data_table import ColumnKey

from tui.content.readable import file_size
from tui.feeds.downloads import received
from tui.content.sanitize import clean_line
from tui.store import downloads as queue
from tui.store.cache import Store
from tui.store.downloads import DownloadRow
from tui.ui.screens.downloading import progress_text

RELOAD_SECONDS = 0.5


class DownloadsScreen(Screen[None]):
    DEFAULT_CSS = """
    DownloadsScreen > DataTable { height: 1fr; }
    DownloadsScreen > Static { height: 1; background: $panel; color: $text-muted; }
    DownloadsScreen > #downloads-title { color: $text; text-style: bold; }
    """
    BINDINGS = [
        Binding("escape,q,E", "close", "Close", show=False),
        Binding("r", "retry", "Retry", show=False),
        Binding("R", "retry_all", "Retry all", show=False),
        Binding("P", "play", "Play", show=False),
        Binding("j", "cursor('down')", show=False),
        Binding("k", "cursor('up')", show=False),
    ]

    def __init__(self, store: Store, start: Callable[[list[int]], None],
                 play: Callable[[DownloadRow | None, str], None]) -> None:
        super().__init__()
        self.store = store
        self.start = start  # the reading screen's: download these rows
        self.play = play  # ... and play this one (its file, else its URL)
        self._shown: list[tuple[object, ...]] = []  # (download id, cells...) as the table has them
        self._columns: list[ColumnKey] = []

    def compose(self) -> ComposeResult:
        yield Static(" Downloads", id="downloads-title", markup=False)
        yield DataTable(cursor_type="row", zebra_stripes=False)
        yield Static(" r download the selected failed or queued one   R all of them   Enter or P play it   Esc close", id="downloads-keys", markup=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        self._columns = table.add_columns("State", "Size", "Episode", "File, or why it failed")
        self._reload()
        self.set_interval(RELOAD_SECONDS, self._reload, name="downloads")
        table.focus()

    def _reload(self) -> None:
        rows = queue.rows(self.store)
        cells = [(row.id, *_cells(row)) for row in rows]
        if cells == self._shown:
            return
        table = self.query_one(DataTable)
        self.query_one("#downloads-title", Static).update(f" Downloads: {_summary(rows) or 'none yet'}")
        if [c[0] for c in cells] == [c[0] for c in self._shown]:  # the same rows: change what changed
            for new, old in zip(cells, self._shown):
                for column, value, was in zip(self._columns, new[1:], old[1:]):
                    if value != was:
                        table.update_cell(str(new[0]), column, Text(str(value)), update_width=True)
            self._shown = cells
            return
        selected = self._selected_id()
        table.clear()
        for row_id, *values in cells:
            table.add_row(*(Text(str(v)) for v in values), key=str(row_id))
        self._shown = cells
        ids = [c[0] for c in cells]
        if selected in ids:
            table.move_cursor(row=ids.index(selected), animate=False)

    def _selected_id(self) -> int | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return int(key) if key is not None else None

    def action_cursor(self, direction: str) -> None:
        table = self.query_one(DataTable)
        table.action_cursor_down() if direction == "down" else table.action_cursor_up()

    def action_retry(self) -> None:
        """The selected download: a failed one again, a queued (or interrupted) one now."""
        selected = self._selected_id()
        found = queue.rows(self.store, ids=[selected]) if selected is not None else []
        if not found or found[0].state not in ("failed", "queued") and not found[0].stale:
            self.notify("Select a failed or queued download.", severity="warning", markup=False)
            return
        self._start(found)

    def action_retry_all(self) -> None:
        """Every failed and queued download (a refresh of a `download = true` feed queues)."""
        found = queue.rows(self.store, states=("queued", "failed"))
        if not found:
            self.notify("Nothing is queued or failed.", markup=False)
            return
        self._start(found)

    def _start(self, rows: list[DownloadRow]) -> None:
        for row in rows:
            queue.queue(self.store, row.article_id, row.url, retry=True)
        self.start([row.id for row in rows])
        self._reload()

    @on(DataTable.RowSelected)
    def _chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_play()

    def action_play(self) -> None:
        selected = self._selected_id()
        found = queue.rows(self.store, ids=[selected]) if selected is not None else []
        if found:
            self.play(found[0], found[0].url)

    def action_close(self) -> None:
        self.dismiss(None)


def _cells(row: DownloadRow) -> tuple[str, str, str, str]:
    state = "queued" if row.stale else row.state
    if state == "downloading":
        size = progress_text(received(row), row.total)
    elif state == "done":
        size = file_size(row.received)
    elif row.received:
        size = f"{file_size(row.received)} kept"
    else:
        size = ""
    where = row.error if state == "failed" else (Path(row.path).name if row.path else row.url)
    return state, size, clean_line(row.title)[:60], clean_line(where)


def _summary(rows: list[DownloadRow]) -> str:
    counts: dict[str, int] = {}
    for row in rows:
        state = "queued" if row.stale else row.state
        counts[state] = counts.get(state, 0) + 1
    return " · ".join(f"{counts[s]} {s}" for s in queue.STATES if s in counts)
