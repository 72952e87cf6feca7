"""Enclosures: `e` downloads one (a number is asked when the article has several), with its
progress in the status line; `E` shows the downloads; `P` plays one with `player`.

Downloads run in one thread worker at a time, with its own cache connection and event
loop (tui/feeds/downloads.py does the work); what is asked for while it runs joins it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.worker import get_current_worker

from tui.config import Config
from tui.content.readable import file_size
from tui.content.sanitize import clean_line
from tui.store import downloads as queue
from tui.store.cache import Store
from tui.store.downloads import DownloadRow
from tui.ui.screens.base import ReaderBase
from tui.ui.screens.link_prompt import LinkPrompt
from tui.ui.widgets.keys import bind
from tui.ui.widgets.text import plural

if TYPE_CHECKING:
    from textual.worker import Worker


CANCEL_CHECK = 0.2  # seconds between looks whether the reader is quitting


class DownloadsPart(ReaderBase):
    BINDINGS = [
        bind("download", "download"),
        bind("downloads", "downloads"),
        bind("play", "play"),
    ]

    def __init__(self, store: Store, config: Config, cache_dir: Path) -> None:
        super().__init__(store, config, cache_dir)
        self._wanted: list[int] = []  # downloads asked for since the reader started, in order
        self._ended: set[int] = set()
        self._lock = threading.Lock()
        self._draining = False

    # ------------------------------------------------------------------ choosing
    def _enclosures(self) -> tuple[int, list[dict[str, object]]] | None:
        """The current article and its enclosures; None (said) when there is none."""
        article_id = self.current_article()
        article = self.store.article(article_id) if article_id is not None else None
        if article is None:
            self.notify("Select an article first.", severity="warning", markup=False)
            return None
        # numbered as the article header numbers them (render.media_lines)
        enclosures = [e for e in article.enclosures if clean_line(str(e.get("url") or ""))]
        if not enclosures:
            self.notify("This article has no enclosure to download or play.", severity="warning", markup=False)
            return None
        return article.id, enclosures

    def _choose(self, what: str, then: Callable[[int, dict[str, object]], None]) -> None:
        """The one enclosure, or the one whose number is typed."""
        found = self._enclosures()
        if found is None:
            return
        article_id, enclosures = found
        def chosen(number: int | None) -> None:
            if number is None:
                return
            if not 1 <= number <= len(enclosures):
                self.notify(f"The article has no enclosure {number}.", severity="warning", markup=False)
                return
            enclosure = enclosures[number - 1]
            if not str(enclosure["url"]).lower().startswith(("http://", "https://")):
                self.notify("Only http(s) enclosures can be downloaded or played.", severity="warning",
                            markup=False)
                return
            then(article_id, enclosure)

        if len(enclosures) == 1:
            chosen(1)
            return

        self.app.push_screen(LinkPrompt(len(enclosures), what), chosen)

    # ------------------------------------------------------------------ download
    def action_download(self) -> None:
        self._choose("Download: enclosure", self._queue)

    def _queue(self, article_id: int, enclosure: dict[str, object]) -> None:
        url = str(enclosure["url"])
        download_id = queue.queue(self.store, article_id, url, str(enclosure.get("type") or ""), retry=True)
        [row] = queue.rows(self.store, ids=[download_id])
        if row.state == "done" and Path(row.path).is_file():
            self.notify(f"Downloaded already: {row.path}", markup=False)
            return
        if row.state == "done":  # the file was deleted or moved since: download it again
            queue.update(self.store, row.id, state="queued", path="", received=0, total=None, finished=None)
        self.start_downloads([download_id])

    def start_downloads(self, ids: list[int]) -> None:
        """Download these (queued) rows; the worker that runs takes them on, or one starts."""
        with self._lock:
            self._wanted.extend(i for i in ids if i not in self._wanted)
            self._ended.difference_update(ids)
            if self._draining:
                return
            self._draining = True
        worker = self.run_worker(self._drain, thread=True, group="download", exit_on_error=False)
        self.show_job("download", "download starting", worker, failed="download stopped")

    def _drain(self) -> None:
        """In a thread: download what was asked for until nothing is left."""
        from tui.feeds.downloads import run_queue

        worker: Worker[None] = get_current_worker()
        call = self.app.call_from_thread
        while True:
            with self._lock:
                pending = [i for i in self._wanted if i not in self._ended]
                if not pending or worker.is_cancelled:
                    self._draining = False
                    return
            try:
                ended = asyncio.run(_cancellable(worker, run_queue(
                    self.config, self.cache_dir, ids=pending,
                    started=lambda row: call(self.job_progress, "download", f"↓ {_title(row)}", worker),
                    progress=lambda row, got, total: call(self.job_progress, "download",
                                                          f"↓ {progress_text(got, total)} {_title(row)}", worker))))
            except BaseException:
                with self._lock:
                    self._draining = False
                raise
            with self._lock:
                self._ended.update(pending)
            call(self._say_ended, ended)

    def _say_ended(self, ended: list[DownloadRow]) -> None:
        """One message for one download, a count for a batch (the downloads view has each)."""
        failed = [row for row in ended if row.state == "failed"]
        done = [row for row in ended if row.state == "done"]
        if len(ended) > 1:
            self.notify(f"{plural(len(done), 'download')} done, {len(failed)} failed"
                        + (f" ({self.key_name('downloads')} shows why)" if failed else ""),
                        severity="warning" if failed else "information", markup=False)
        elif done:
            self.notify(f"Downloaded {Path(done[0].path).name} ({file_size(done[0].received)})", markup=False)
        elif failed:
            self.notify(f"Download failed: {_title(failed[0])}: {failed[0].error}", severity="error", markup=False)

    def action_downloads(self) -> None:
        from tui.ui.screens.downloads import DownloadsScreen

        self.app.push_screen(DownloadsScreen(self.store, self.start_downloads, self.play))

    # ---------------------------------------------------------------------- play
    def action_play(self) -> None:
        if self._player_set():
            self._choose("Play: enclosure", self._play)

    def _player_set(self) -> bool:
        if not self.config.settings.player:
            self.notify('No player is set: add player = ["mpv", "%f"] to [settings] in feeds.toml.',
                        severity="warning", markup=False)
        return bool(self.config.settings.player)

    def _play(self, article_id: int, enclosure: dict[str, object]) -> None:
        url = str(enclosure["url"])
        self.play(queue.of_articles(self.store, [article_id]).get((article_id, url)), url)

    def play(self, row: DownloadRow | None, url: str) -> None:
        """The downloaded file when it is whole, else the URL, as one argument of the
        player: in the terminal while the reader steps aside, or on its own when there is
        no terminal to hand over."""
        from tui.ui.screens.links import command_line

        if not self._player_set():
            return
        target = row.path if row is not None and row.state == "done" and Path(row.path).is_file() else url
        argv = command_line(self.config.settings.player, target, "%f")
        if self.app.is_headless:
            self.start_detached(argv, target)
        else:
            self.run_in_terminal(argv)


async def _cancellable(worker: Worker[None], work: Coroutine[Any, Any, list[DownloadRow]]) -> list[DownloadRow]:
    """`work`, cancelled soon after the worker is (the reader quits): a thread worker is
    never interrupted, and quitting would wait for the last byte of a long download. The
    download goes back to the queue, its part kept."""
    task = asyncio.ensure_future(work)
    while not task.done():
        if worker.is_cancelled:
            task.cancel()
        await asyncio.wait({task}, timeout=CANCEL_CHECK)
    return task.result()


def _title(row: DownloadRow) -> str:
    return clean_line(row.title or Path(row.path or row.url).name)[:50]


def progress_text(received: int, total: int | None) -> str:
    """"12.3 MB of 45.6 MB (27%)", or what came so far when the size is not known."""
    if total:
        return f"{file_size(received)} of {file_size(total)} ({min(100, received * 100 // total)}%)"
    return file_size(received)

