"""The download queue of enclosures: one row per (article, enclosure URL) asked for.

States: "queued" (waiting), "downloading" (a process, `owner`, is at it), "done" (the file
at `path` is whole) and "failed" (`error` says why; a partial copy is kept for a resume).
A row claimed by a process that is gone (killed mid-transfer) counts as queued again.
Rows go with their article (ON DELETE CASCADE); the files are the user's and stay.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

from tui.store.cache import Store, _chunks

STATES = ("queued", "downloading", "done", "failed")


@dataclass(slots=True)
class DownloadRow:
    id: int
    article_id: int
    feed_id: int
    feed_url: str
    title: str  # the article's
    url: str
    type: str
    state: str
    path: str
    received: int
    total: int | None
    etag: str
    error: str
    owner: int | None
    queued: int
    finished: int | None

    @property
    def stale(self) -> bool:
        """Claimed by a process that no longer runs: an interrupted download."""
        return self.state == "downloading" and not _alive(self.owner)

    def as_json(self, received: int) -> dict[str, object]:
        """What `articles --json` says of it; `received` as feeds.downloads.received() has it."""
        return {"state": "queued" if self.stale else self.state, "path": self.path or None,
                "received": received, "total": self.total, "error": self.error}


_COLUMNS = ("d.id, d.article_id, a.feed_id, f.url, a.title, d.url, d.type, d.state, d.path, d.received, d.total,"
            " d.etag, d.error, d.owner, d.queued, d.finished")


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def queue(store: Store, article_id: int, url: str, type_: str = "", *, retry: bool = False) -> int:
    """Queue one enclosure of an article (again, when `retry` and it failed); its row id."""
    now = int(time.time())
    with store.transaction() as conn:
        conn.execute("INSERT OR IGNORE INTO downloads (article_id, url, type, queued) VALUES (?, ?, ?, ?)",
                     (article_id, url, type_, now))
        if retry:
            conn.execute("UPDATE downloads SET state = 'queued', error = '', queued = ? WHERE article_id = ?"
                         " AND url = ? AND state = 'failed'", (now, article_id, url))
        return int(conn.execute("SELECT id FROM downloads WHERE article_id = ? AND url = ?",
                                (article_id, url)).fetchone()[0])


def queue_enclosures(store: Store, article_ids: Sequence[int],
                     added: Sequence[tuple[int, Sequence[str]]] = ()) -> int:
    """Queue every http(s) enclosure of these articles (a refresh of a `download = true`
    feed), and the enclosures in `added` (articles stored before whose update brought
    them: their older enclosures stay as they were); how many were new to the queue."""
    wanted: dict[int, set[str] | None] = {article_id: None for article_id in article_ids}  # None: all
    for article_id, urls in added:
        if article_id not in wanted:
            wanted[article_id] = set(urls)
    queued = 0
    now = int(time.time())
    with store.transaction() as conn:
        for chunk in _chunks(list(wanted), 500):
            marks = ",".join("?" * len(chunk))
            for article_id, enclosures in conn.execute(
                    f"SELECT id, enclosures FROM articles WHERE id IN ({marks})", chunk).fetchall():
                only = wanted[article_id]
                for enclosure in json.loads(enclosures or "[]"):
                    url = str(enclosure.get("url") or "")
                    if only is not None and url not in only:
                        continue
                    if url.lower().startswith(("http://", "https://")):
                        queued += conn.execute(
                            "INSERT OR IGNORE INTO downloads (article_id, url, type, queued) VALUES (?, ?, ?, ?)",
                            (article_id, url, str(enclosure.get("type") or ""), now)).rowcount
    return queued


def rows(store: Store, *, states: Sequence[str] | None = None, feed_ids: Sequence[int] | None = None,
         ids: Sequence[int] | None = None) -> list[DownloadRow]:
    """Downloads in the order they were queued; "queued" includes the interrupted ones."""
    clauses, params = [], []
    if feed_ids is not None:
        clauses.append(f"a.feed_id IN ({','.join('?' * len(feed_ids))})")
        params.extend(feed_ids)
    if ids is not None:
        clauses.append(f"d.id IN ({','.join('?' * len(ids))})")
        params.extend(ids)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    found = [DownloadRow(*row) for row in store.conn.execute(
        f"SELECT {_COLUMNS} FROM downloads d JOIN articles a ON a.id = d.article_id JOIN feeds f ON f.id = a.feed_id"
        f" {where}"
        " ORDER BY d.queued, d.id", params)]
    if states is None:
        return found
    return [row for row in found if ("queued" if row.stale else row.state) in states]


def of_articles(store: Store, article_ids: Sequence[int]) -> dict[tuple[int, str], DownloadRow]:
    """The downloads of these articles by (article id, enclosure URL)."""
    found: dict[tuple[int, str], DownloadRow] = {}
    for chunk in _chunks(list(article_ids), 500):
        marks = ",".join("?" * len(chunk))
        for row in store.conn.execute(
                f"SELECT {_COLUMNS} FROM downloads d JOIN articles a ON a.id = d.article_id"
                f" JOIN feeds f ON f.id = a.feed_id WHERE d.article_id IN ({marks})", chunk):
            download = DownloadRow(*row)
            found[(download.article_id, download.url)] = download
    return found


def claim(store: Store, download_id: int) -> DownloadRow | None:
    """Take a download for this process; None when another live process has it, or it is done."""
    with store.transaction() as conn:
        found = rows(store, ids=[download_id])
        if not found or found[0].state == "done" or (found[0].state == "downloading" and not found[0].stale):
            return None
        conn.execute("UPDATE downloads SET state = 'downloading', owner = ?, error = '' WHERE id = ?",
                     (os.getpid(), download_id))
    return rows(store, ids=[download_id])[0]


def update(store: Store, download_id: int, **fields: object) -> None:
    """Set some columns of a download (path, received, total, etag, state, error...)."""
    allowed = {"path", "received", "total", "etag", "state", "error", "owner", "finished"}
    assert set(fields) <= allowed, fields
    sets = ", ".join(f"{name} = ?" for name in fields)
    with store.transaction() as conn:
        conn.execute(f"UPDATE downloads SET {sets} WHERE id = ?", (*fields.values(), download_id))


def paths_in_use(store: Store) -> set[str]:
    """The file names already given to downloads, so two never share one."""
    return {row[0] for row in store.conn.execute("SELECT path FROM downloads WHERE path != ''")}
