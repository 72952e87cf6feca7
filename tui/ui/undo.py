"""`u`: the reader's marks since it started, undone one by one, the last first.

Marking a read article unread, a whole view read, a star and an unsubscription each leave
a Change here; undoing writes the state before back through the store (articles) or the
config file as it was (an unsubscription, when nobody edited the file since). The screen
redraws what changed. A refresh never touches read or starred marks, so the marks written
back are still the ones the user saw.

A mark of many articles is written in a thread: it takes its place in the log as it starts
(a Pending), so that `u` pressed meanwhile undoes it and not the change before it, and it
becomes ReadMarks there once written.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tui.store.cache import Store, id_array
from tui.ui.widgets.text import plural

UNDO_LIMIT = 200  # changes kept; the oldest are forgotten first


def of_place(where: str) -> str:
    """" of WHERE" for a description, "" when the place is not known."""
    return f" of {where}" if where else ""


@dataclass(frozen=True, eq=False)
class ReadMarks:
    """Articles marked read (or unread): undo gives them the other mark back. The ids are
    kept as id_array gives them: a mark of a million articles is kept as 8 MB, not 36."""

    ids: Sequence[int]
    read: bool  # the mark they were given
    # where the mark was made (a feed's or a view's name, plain text): `u` may reach back to a
    # mark made elsewhere minutes ago, and says where
    where: str = ""

    @property
    def description(self) -> str:
        return f"{plural(len(self.ids), 'article')}{of_place(self.where)} marked {'read' if self.read else 'unread'}"

    def undo(self, store: Store) -> None:
        store.set_read(self.ids, not self.read)


@dataclass(frozen=True)
class StarMark:
    article_id: int
    starred: bool  # the mark it was given
    where: str = ""  # the article's feed

    @property
    def description(self) -> str:
        return f"{'star' if self.starred else 'unstar'} of an article{of_place(self.where)}"

    def undo(self, store: Store) -> None:
        store.set_starred(self.article_id, not self.starred)


@dataclass(frozen=True)
class Unsubscribed:
    """A feed removed from the config file: undo writes the file back as it was, unless it
    was changed since (then the feed is appended again, keeping the other change)."""

    path: Path
    before: bytes  # the file before the feed was removed
    after: bytes  # the file right after
    url: str
    title: str
    tags: tuple[str, ...]
    label: str

    @property
    def description(self) -> str:
        return f"unsubscribe from {self.label}"

    def undo(self, store: Store) -> None:
        from tui.config import FeedConfig, add_feeds, write_atomic

        try:
            now = self.path.read_bytes()
        except OSError:
            now = None
        if now == self.after:
            write_atomic(self.path, [self.before])
        else:
            add_feeds(self.path, [FeedConfig(url=self.url, title=self.title, tags=list(self.tags))])


@dataclass(eq=False)
class Pending:
    """A mark of many articles being written in a thread. Undoing it asks the thread to
    stop after the chunk it is writing (each chunk is a transaction of its own); the screen
    then gives back the marks it wrote."""

    total: int  # the articles it was started to mark
    read: bool = True
    stop: threading.Event = field(default_factory=threading.Event)
    feed_ids: tuple[int, ...] | None = None  # the feeds whose articles it marks; None: every feed
    where: str = ""  # the view it was made in, as ReadMarks.where

    def overlaps(self, feed_ids: Sequence[int] | None) -> bool:
        """Whether a mark of `feed_ids` (None: every feed) would mark some of the same articles."""
        return self.feed_ids is None or feed_ids is None or not set(self.feed_ids).isdisjoint(feed_ids)


Change = ReadMarks | StarMark | Unsubscribed | Pending


class UndoLog:
    """The changes made since the reader started, the most recent last."""

    def __init__(self) -> None:
        self._done: list[Change] = []

    def __len__(self) -> int:
        return len(self._done)

    def record(self, change: Change) -> None:
        if isinstance(change, ReadMarks) and not change.ids:
            return  # nothing was marked: nothing to undo
        self._done.append(change)
        del self._done[:-UNDO_LIMIT]

    def read(self, ids: Sequence[int], read: bool, where: str = "") -> None:
        self.record(ReadMarks(id_array(ids), read, where))

    def take(self) -> Change | None:
        """The last change, forgotten here (the caller undoes it)."""
        return self._done.pop() if self._done else None

    def settle(self, pending: Pending, change: ReadMarks) -> bool:
        """A mark written in a thread takes the place it took as it started (nothing to
        undo: it leaves the log); False when it is no longer there (`u` took it, or it
        was forgotten past UNDO_LIMIT)."""
        for index, done in enumerate(self._done):
            if done is pending:
                if change.ids:
                    self._done[index] = change
                else:
                    del self._done[index]
                return True
        return False
