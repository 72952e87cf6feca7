"""What every part of the reading screen shares: the cache, the config, the view shown, and
the few entry points the parts call in each other.

The reading screen (screens/main.py) is put together from parts, one per responsibility:
reading (reading.py), links (links.py), commands of the user's own (commands.py), search
(searching.py), refresh (refreshing.py), notifications (notifying.py) and subscriptions
(subscribing.py). Each part is a Screen subclass with its own keys, handlers
and workers; they all build on this base, which declares what one part may ask of another.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.notifications import Notification, Notify
from textual.reactive import var
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from tui.config import Config
from tui.content.sanitize import clean_line
from tui.store.cache import Store
from tui.ui.screens.ui_state import UIState
from tui.ui.undo import UndoLog, Unsubscribed
from tui.ui.widgets.feed_list import FeedEntry
from tui.ui.widgets.keys import display_key, effective_keys
from tui.ui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from tui.feeds.refresh import FeedOutcome

FIXED_VIEWS = ("search", "ignored")  # search views whose ids are found once, not when shown
# What the notification says when a worker of this group fails (a search view's group is
# "search-" and its key).
FAILURES = {
    "refresh": "Refresh failed",
    "fulltext": "No full article",
    "render": "The article cannot be shown",
    "subscribe": "Not subscribed",
    "search": "Search failed",
    "search-counts": "Saved searches not counted",
    "ignored": "Ignore list not applied",
    "browser": "The browser did not start",
    "bookmark": "Not bookmarked",
    "notify": "No desktop notification",
    "warm-up": "The article renderer cannot be loaded",
    "images": "An image cannot be shown",
    "download": "Downloads stopped",
    "marks": "Articles not marked",
}


class ReaderBase(Screen[None]):
    """The shared state of the reading screen's parts."""

    pane: var[str] = var("feeds")  # the focused pane: "feeds", "articles" or "reader"

    def __init__(self, store: Store, config: Config, cache_dir: Path) -> None:
        super().__init__()
        self.store = store
        self.config = config
        self.cache_dir = cache_dir
        self.state = UIState(self, store)
        self.default_order = "oldest" if config.settings.oldest_first else "newest"
        self.sorts = self.state.sorts()  # view key -> its order (`O`), where the user chose one
        self.hide_read = self.state.toggle("hide_read", config.settings.hide_read)  # `H`
        self.entry: FeedEntry | None = None  # the view the article list shows
        self.feed_names: dict[int, str] = {}  # feed id -> the label the feed list shows
        self.total = 0  # articles of the subscribed feeds
        self.refreshing = False
        self.marking = 0  # marks of many articles being written in threads
        self._virtual_ids: dict[str, list[int]] = {}  # search view key -> its article ids, in order
        self._ignored: set[int] = set()  # articles the [[ignore]] queries match: hidden from every list
        self._search_counts: dict[str, int] = {}  # saved search key -> unread matches
        self._cache_note = ""  # what the empty article list says on an empty cache
        self._narrow: bool | None = None  # the layout (one pane at a time or not) the status line follows
        self._ignored_note = ""  # ... and when the [[ignore]] rules hid the whole view
        self.undo_log = UndoLog()  # marks and unsubscriptions since the reader started, for `u`
        self._job_workers: dict[str, Worker[Any]] = {}  # status slot -> the worker whose message it shows
        self._job_failed: dict[str, str] = {}  # status slot -> what it says if that worker fails
        self._undo_toasts: dict[Unsubscribed, Notification] = {}  # what a change said, taken away by its undo
        self._view_note = ""  # a status note about the view shown ("Sorted oldest first."): goes with it

    def key_name(self, binding_id: str) -> str:
        """The first key of an action as the user's keymap has it, to name it in a message."""
        keymap = getattr(self.app, "keymap", {})
        return display_key(effective_keys(binding_id, keymap).split(",")[0])

    def toast(self, message: str) -> Notification:
        """A notification in plain text, as notify() shows it, that `untoast` can take away
        before its time: one whose news an undo took back."""
        note = Notification(message, "", "information", self.app.NOTIFICATION_TIMEOUT, markup=False)
        self.app.post_message(Notify(note))
        return note

    def untoast(self, note: Notification) -> None:
        # Textual (pinned) has no public call to take one notification away: its toasts
        # call this when clicked; a notification already gone is no error. Called later:
        # after the message that shows it, should that still be on its way.
        self.app.call_later(self.app._unnotify, note)

    def say_of_view(self, text: str) -> None:
        """A status note about the view shown (its order): it goes when another view is."""
        self._view_note = text
        self.query_one(StatusBar).say(text)

    def remember(self, values: dict[str, str]) -> None:
        self.state.remember(values)

    def hiding_read(self, entry: FeedEntry) -> bool:
        """`H` leaves read articles out of the feeds, folders and All; Starred and the
        searches list everything they hold."""
        return self.hide_read and not entry.starred_only and not entry.virtual

    # ------------------------------------------------------------------ jobs
    def show_job(self, job: str, text: str, worker: Worker[Any] | None = None, *, failed: str = "",
                 ended: bool = False) -> None:
        """Put a job's message in its own slot of the status line. With `worker`, the slot
        belongs to it: it is emptied when that worker ends (or says `failed` if it fails,
        until the next note), and a worker that was replaced in the meantime no longer
        writes there. `ended`: the job's last words (its result), which the next note
        replaces."""
        self.query_one(StatusBar).set_job(job, text, ended=ended)
        if worker is None:
            self._job_workers.pop(job, None)
        else:
            self._job_workers[job] = worker
            self._job_failed[job] = failed

    def job_progress(self, job: str, text: str, worker: Worker[Any]) -> None:
        """A worker's progress, shown only while the slot is still that worker's."""
        if self._job_workers.get(job) is worker:
            self.query_one(StatusBar).set_job(job, text)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Every worker of the screen ends here: its status slot is freed, and a failure is
        told to the user (a worker never fails in silence)."""
        worker = event.worker
        if event.state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        for job, owner in list(self._job_workers.items()):
            if owner is worker:
                del self._job_workers[job]
                failed = self._job_failed.pop(job, "")
                self.query_one(StatusBar).set_job(job, failed if event.state == WorkerState.ERROR else "", ended=True)
        if event.state == WorkerState.ERROR:
            group = worker.group
            what = FAILURES.get(group) or FAILURES.get(group.split("-")[0], "A background job failed")
            error = worker.error
            reason = clean_line(str(error)) or type(error).__name__
            self.notify(f"{what}: {reason}", severity="error", markup=False)

    # Entry points one part calls in another; each is defined by the part named.
    def show_entry(self, entry: FeedEntry | None, *, keep: bool = False, select: int | None = None,
                   then: Callable[[], None] | None = None, at_once: bool = False) -> None:
        """main: fill the article pane with the view `entry` stands for."""
        raise NotImplementedError

    def update_counts(self, *, searches: bool = True) -> None:
        """main: read the counters again into the feed list and the status line."""
        raise NotImplementedError

    def open_article(self, article_id: int, *, focus: bool = True) -> None:
        """reading: show an article in the reader and mark it read."""
        raise NotImplementedError

    def current_article(self) -> int | None:
        """reading: the article a mark or a link key acts on."""
        raise NotImplementedError

    def run_in_terminal(self, argv: list[str], *, text: str | None = None, env: dict[str, str] | None = None) -> None:
        """links: run a terminal program while the reader steps aside, `text` its stdin."""
        raise NotImplementedError

    def start_detached(self, argv: list[str], url: str) -> None:
        """links: start a program in a session of its own, with nothing of the terminal."""
        raise NotImplementedError

    def run_search(self, entry: FeedEntry) -> None:
        """searching: find the articles of a search view."""
        raise NotImplementedError

    def count_searches(self) -> None:
        """searching: count the saved searches' unread matches."""
        raise NotImplementedError

    def find_ignored(self) -> None:
        """searching: find the articles the [[ignore]] queries hide."""
        raise NotImplementedError

    def end_search(self) -> None:
        """searching: back from typed search results to the view they replaced."""
        raise NotImplementedError

    def reload_config(self, path: Path) -> bool:
        """subscribing: read the config file again (after it was written)."""
        raise NotImplementedError

    def start_refresh(self, urls: list[str] | None, *, automatic: bool = False,
                      accounts: list[str] | None = None) -> None:
        """refreshing: fetch these feeds (None: every feed)."""
        raise NotImplementedError

    def announce_new(self, outcomes: list[FeedOutcome]) -> None:
        """notifying: tell of the new unread articles an automatic refresh brought."""
        raise NotImplementedError

    def start_watching(self) -> None:
        """refreshing: notice what other docbao processes store, and merge it."""
        raise NotImplementedError

    def marks_written(self) -> None:
        """refreshing: what this reader's own threads marked is shown: not to be merged as
        another process's writes."""
        raise NotImplementedError
