"""Downloading enclosures (podcast episodes, videos, files) into the download folder.

A download is written to `NAME.part` beside its final name and renamed when whole, so a
file under its final name is always complete. After an interruption (a kill, a network
cut, a full disk) the next run asks for the rest with an HTTP Range; a server that
ignores it sends the whole file again and it is started over. Requests follow the
refresh's rules (tui/feeds/fetch.py: http(s) only, redirects checked and capped, a
deadline for the answer and for every stall).

File names come from the URL (else the article's title), made safe: no path separators,
no control or bidi characters, no leading dot, at most MAX_NAME bytes, and never one
that is taken (" (2)" is added).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import mimetypes
import os
import re
import shutil
import subprocess
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tui.config import Config
from tui.content.readable import file_size
from tui.store import downloads as queue
from tui.store.cache import Store
from tui.store.downloads import DownloadRow

PART = ".part"
MAX_NAME = 200  # bytes of a file name (most file systems allow 255; ".part" and " (99)" must fit)
DISK_FULL = "disk full"  # how a failure for want of room starts: the queue stops there
PROGRESS_EVERY = 0.25  # seconds between progress reports (and writes of the count to the cache)
_UNSAFE = re.compile(r'[/\\:*?"<>|]')
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_UNSATISFIED = re.compile(r"bytes\s+\*/(\d+)")

Progress = Callable[[DownloadRow, int, "int | None"], None]


class _Restart(Exception):
    """The server did not resume where the partial copy ends: start from the first byte."""


def default_download_dir() -> Path:
    """The XDG download folder: $XDG_DOWNLOAD_DIR, else what `xdg-user-dir DOWNLOAD` says
    (it says $HOME when none is set up), else ~/Downloads."""
    named = os.environ.get("XDG_DOWNLOAD_DIR", "").strip()
    if named:
        return Path(named).expanduser()
    home = Path.home()
    command = shutil.which("xdg-user-dir")
    if command:
        try:
            answer = subprocess.run([command, "DOWNLOAD"], capture_output=True, text=True, timeout=5,
                                    stdin=subprocess.DEVNULL).stdout.strip()
        except (OSError, subprocess.SubprocessError, UnicodeDecodeError):
            answer = ""
        if answer and Path(answer) != home:
            return Path(answer)
    return home / "Downloads"


def download_dir(config: Config) -> Path:
    """[settings] download_dir (a relative path is taken from the config's folder), else XDG's."""
    if config.settings.download_dir:
        return config.folder / Path(config.settings.download_dir).expanduser()
    return default_download_dir()


def safe_name(text: str, fallback: str = "download") -> str:
    """A file name that names one file in one folder and shows as what it is."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(" " if unicodedata.category(ch) in ("Zl", "Zp") or ch in "\t\n\r" else
                   "" if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") else ch for ch in text)
    text = _UNSAFE.sub("_", text)
    text = re.sub(r"\s+", " ", text).strip(" .")
    if not text:
        return fallback
    stem, dot, ext = text.rpartition(".")
    if not dot or not stem or len(ext) > 16:
        stem, ext = text, ""
    suffix = f".{ext}" if ext else ""
    if len((stem + suffix).encode("utf-8")) > MAX_NAME:
        while len((stem + suffix).encode("utf-8")) > MAX_NAME:
            stem = stem[:-1]
        stem = stem.rstrip(" .")
    return (stem or fallback) + suffix


def file_name(url: str, title: str, type_: str) -> str:
    """The name a download gets: the URL's last path segment, else the title; with the
    extension its type implies when it has none."""
    segment = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    name = safe_name(segment, "") or safe_name(title)
    guessed = mimetypes.guess_extension(type_.split(";")[0].strip().lower()) if type_ else None
    if guessed and "." not in name.lstrip("."):
        name = safe_name(name + guessed)
    return name


def unique_path(folder: Path, name: str, taken: set[str]) -> Path:
    """`folder/name`, or `name (2)`, `(3)`... when it, its partial copy, or another
    download's file has the name."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    number = 1
    while True:
        candidate = folder / (name if number == 1 else f"{stem} ({number}){'.' + ext if ext else ''}")
        part = candidate.with_name(candidate.name + PART)
        if str(candidate) not in taken and not candidate.exists() and not part.exists():
            return candidate
        number += 1


def received(row: DownloadRow) -> int:
    """Bytes a download has: for a running one, what its part holds right now."""
    if row.state == "downloading" and row.path:
        try:
            return os.stat(row.path + PART).st_size
        except OSError:
            pass
    return row.received


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _total(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


@dataclass(slots=True)
class _Transfer:
    row: DownloadRow
    part: Path
    progress: Progress | None
    store: Store
    received: int = 0
    total: int | None = None
    reported: float = 0.0

    def report(self, force: bool = False) -> None:
        """Tell the progress callback; the cache hears only of starts and ends (each write
        would make every open reader look at the cache again), and lists show a running
        download's progress from its part's size (received())."""
        now = time.monotonic()
        if not force and now - self.reported < PROGRESS_EVERY:
            return
        self.reported = now
        if force:
            queue.update(self.store, self.row.id, received=self.received, total=self.total)
        if self.progress is not None:
            self.progress(self.row, self.received, self.total)


async def download(store: Store, row: DownloadRow, folder: Path, client: object, *, deadline: float = 30.0,
                   progress: Progress | None = None) -> DownloadRow:
    """Download one queued enclosure into `folder`; the row as it ends (done or failed).
    A row another live process has taken is returned as it is."""
    from tui.feeds.fetch import StreamError

    claimed = queue.claim(store, row.id)
    if claimed is None:
        return queue.rows(store, ids=[row.id])[0]
    row = claimed
    path = Path(row.path) if row.path else None
    if path is None or not path.with_name(path.name + PART).exists():  # no part to resume: a name now
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            queue.update(store, row.id, state="failed", error=f"cannot create {folder}: {exc.strerror or exc}",
                         owner=None)
            return queue.rows(store, ids=[row.id])[0]
        taken = queue.paths_in_use(store) - {row.path}
        path = unique_path(folder, file_name(row.url, row.title, row.type), taken)
        queue.update(store, row.id, path=str(path), received=0)
    part = path.with_name(path.name + PART)
    transfer = _Transfer(row, part, progress, store)
    if await _private_from_public(row):
        return _fail(store, row, transfer, "an enclosure of a public feed on a private network address refused")
    try:
        try:
            await _get(transfer, client, deadline, resume=True)
        except _Restart:
            await _get(transfer, client, deadline, resume=False)
    except StreamError as exc:
        return _fail(store, row, transfer, str(exc))
    except OSError as exc:
        if exc.errno in _DISK_FULL:
            return _fail(store, row, transfer,
                         f"{DISK_FULL} in {path.parent} after {file_size(transfer.received)}; the part is kept "
                         "and the download resumes from there")
        return _fail(store, row, transfer, f"cannot write {path.name}: {exc.strerror or exc}")
    except BaseException:  # cancelled (the reader quits, Ctrl-C): back in the queue, resumable
        queue.update(store, row.id, state="queued", owner=None, received=transfer.received)
        raise
    if path.exists():  # someone put a file there meanwhile: never replace it
        path = unique_path(path.parent, path.name, queue.paths_in_use(store) - {str(path)})
    os.replace(part, path)
    queue.update(store, row.id, state="done", path=str(path), received=transfer.received, total=transfer.received,
                 owner=None, error="", finished=int(time.time()))
    transfer.report(force=True)
    return queue.rows(store, ids=[row.id])[0]


async def _private_from_public(row: DownloadRow) -> bool:
    """A public feed may not make docbao reach into the local network (a router, a local
    service), least of all from a `download = true` refresh run by cron."""
    from tui.feeds.fetch import host_is_private

    if not row.feed_url.lower().startswith(("http://", "https://")):
        return False  # a local feed file is the user's own
    if await host_is_private(urlsplit(row.feed_url).hostname or ""):
        return False
    return await host_is_private(urlsplit(row.url).hostname or "")


async def _get(transfer: _Transfer, client: object, deadline: float, *, resume: bool) -> None:
    from tui.feeds.fetch import StreamError, status_message, stream

    part = transfer.part
    offset = part.stat().st_size if resume and part.exists() else 0
    headers = {"Accept": "*/*"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        if transfer.row.etag:
            headers["If-Range"] = transfer.row.etag
    async with stream(client, transfer.row.url, headers=headers, deadline=deadline) as response:  # type: ignore[arg-type]
        status = response.status_code
        if status == 416 and offset:
            unsatisfied = _UNSATISFIED.match(response.headers.get("Content-Range", ""))
            if unsatisfied and int(unsatisfied.group(1)) == offset:  # the part was whole already
                transfer.received = transfer.total = offset
                return
            raise _Restart()
        if status == 206 and offset:
            ranged = _RANGE.match(response.headers.get("Content-Range", ""))
            if not ranged or int(ranged.group(1)) != offset:
                raise _Restart()
            transfer.total = _total(ranged.group(3))
        elif status == 200:
            offset = 0  # a server without Range support sends it all: start over
            transfer.total = _total(response.headers.get("Content-Length"))
        else:
            raise StreamError(status_message(response))
        encoding = response.headers.get("Content-Encoding", "").strip().lower()
        if encoding not in ("", "identity"):
            raise StreamError(f"the server compressed the file (Content-Encoding: {encoding[:20]})")
        etag = response.headers.get("ETag", "").strip()
        strong = etag if etag and not etag.startswith("W/") and len(etag) < 200 and etag.isprintable() else ""
        queue.update(transfer.store, transfer.row.id, etag=strong)
        transfer.received = offset
        transfer.report(force=True)
        fd = os.open(part, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.ftruncate(fd, offset)
            os.lseek(fd, offset, os.SEEK_SET)
            async for chunk in response.aiter_raw():
                _write_all(fd, chunk)
                transfer.received += len(chunk)
                transfer.report()
            os.fsync(fd)
        finally:
            os.close(fd)
        if transfer.total is not None and transfer.received != transfer.total:
            raise StreamError(f"the server sent {file_size(transfer.received)} of the {file_size(transfer.total)} "
                              "it announced; the part is kept and the download resumes from there")


def _fail(store: Store, row: DownloadRow, transfer: _Transfer, error: str) -> DownloadRow:
    """Record why; a part is kept for a resume, unless nothing was written to it, and the
    feed's folder too, unless it holds nothing."""
    try:
        if transfer.part.stat().st_size == 0:
            transfer.part.unlink()
    except OSError:
        pass
    with contextlib.suppress(OSError):  # (only an empty folder can be removed)
        transfer.part.parent.rmdir()
    queue.update(store, row.id, state="failed", error=error, owner=None, received=transfer.received)
    return queue.rows(store, ids=[row.id])[0]


async def run_queue(config: Config, cache_dir: Path, *, feed_ids: Sequence[int] | None = None,
                    ids: Sequence[int] | None = None, retry: bool = False,
                    progress: Progress | None = None,
                    started: Callable[[DownloadRow], None] | None = None) -> list[DownloadRow]:
    """Download what is queued (and, with `retry`, what failed) until nothing is left or
    the disk is full, one file at a time; what is queued meanwhile is taken too. The rows
    as they ended."""
    from tui.feeds.fetch import make_client

    store = Store.open(cache_dir)
    try:
        folder = download_dir(config)
        names = feed_folders(config, store)
        states = ("queued", "failed") if retry else ("queued",)
        finished: dict[int, DownloadRow] = {}
        async with make_client(2, config.settings.user_agent) as client:
            while True:
                pending = [row for row in queue.rows(store, states=states, feed_ids=feed_ids, ids=ids)
                           if row.id not in finished]
                if not pending:
                    break
                for row in pending:
                    if started is not None:
                        started(row)
                    ended = await download(store, row, folder / names.get(row.feed_id, "feed"),
                                           client, deadline=config.settings.timeout, progress=progress)
                    finished[row.id] = ended
                    if ended.state == "failed" and ended.error.startswith(DISK_FULL):
                        return list(finished.values())  # the rest stays queued for when there is room
        return list(finished.values())
    finally:
        store.close()


def feed_folders(config: Config, store: Store) -> dict[int, str]:
    """The folder of each feed's downloads, named after it (made safe)."""
    configured = {f.url: f.title for f in config.feeds}
    return {row.id: safe_name(configured.get(row.url) or row.title or urlsplit(row.url).netloc, "feed")
            for row in store.feeds()}

