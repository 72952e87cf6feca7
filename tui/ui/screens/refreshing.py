"""Refresh: fetch the feeds in a worker, merge what it stores into the lists as it goes
(at most every MERGE_DELAY seconds), and say how it went."""

from __future__ import annotations

import asyncio
import importlib
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.worker import get_current_worker

from tui.config import Config, file_stamp
from tui.content.sanitize import clean_line
from tui.store.cache import Store
from tui.ui.screens.base import FIXED_VIEWS, ReaderBase
from tui.ui.widgets.keys import bind

if TYPE_CHECKING:
    from textual.timer import Timer

    from tui.feeds.refresh import FeedOutcome

MERGE_DELAY = 0.4  # seconds: a running refresh is merged into the lists at most this often
LOOK_EVERY = 15  # seconds: how often the automatic refresh looks for feeds that are due
WATCH_SECONDS = 1.5  # how often the reader looks whether another docbao process wrote to the cache
ELSEWHERE_GAP = 10.0  # seconds: another process's writes closer than this are told as one refresh


class RefreshPart(ReaderBase):
    BINDINGS = [
        bind("refresh", "refresh"),
        bind("refresh_all", "refresh_all"),
    ]

    def __init__(self, store: Store, config: Config, cache_dir: Path) -> None:
        super().__init__(store, config, cache_dir)
        self._merge_due = False
        self._merge_timer_running = False
        self._seen_version = 0  # the cache's data_version last merged
        self._config_tried: tuple[int, int] | None = None  # feeds.toml's stamp last read again
        self._watch_timer: Timer | None = None
        self._elsewhere: tuple[int, float] | None = None  # another process's refresh: the total before it, when seen last

    def start_auto_refresh(self) -> None:
        """Every LOOK_EVERY seconds, the feeds whose interval has passed (refresh_minutes,
        else auto_refresh_minutes) are refreshed; feeds with neither are left to the keys.
        The first look comes after LOOK_EVERY: opening the reader fetches nothing by itself
        unless refresh_on_start says so."""
        if self.config.settings.auto_refresh_minutes > 0 or any(f.refresh_minutes for f in self.config.feeds):
            self.set_interval(LOOK_EVERY, self.refresh_due, name="auto-refresh")

    def start_watching(self) -> None:
        """Notice what another docbao process stores (a cron or shell `docbao refresh`, a
        `docbao add`) and merge it as the reader's own refresh is merged."""
        self._seen_version = self.store.data_version()
        self._watch_timer = self.set_interval(WATCH_SECONDS, self._watch, name="watch-cache")

    def _watch(self) -> None:
        """PRAGMA data_version on the reader's own connection: it changes only when another
        connection commits. It costs about 4 µs and takes no lock (WAL), so it is asked on
        the event loop: a thread for each look would cost more than the look."""
        if self.refreshing:
            return  # the refresh merges as it goes; what others stored meanwhile is merged at its end
        if self.marking:
            return  # the reader's own marks, written in threads: shown once written (marks_written)
        try:
            version = self.store.data_version()
        except sqlite3.Error as exc:
            self.notify(f"Changes made by other docbao processes are no longer noticed: {exc}",
                        severity="warning", markup=False)
            if self._watch_timer is not None:
                self._watch_timer.stop()
            return
        stamp = _stamp(self.config.path)
        # `docbao add` or `remove` (which writes nothing to the cache), or an editor; the
        # reader's own edits read it again at once. A file that cannot be read is said once.
        edited = stamp not in (None, self.config.stamp, self._config_tried)
        if version == self._seen_version and not edited:
            return
        self._seen_version = version
        if edited and self.config.path is not None:
            self._config_tried = stamp
            self.reload_config(self.config.path)
        elif self.config.accounts and self.config.path is not None and self._accounts_changed():
            self.reload_config(self.config.path)  # a sync elsewhere added, renamed or dropped feeds
        before = self.total
        self._merge()
        self.find_ignored()
        if self.total > before:  # the status line tells of that refresh (another docbao) as of its own
            now = time.monotonic()
            # it writes in batches, each seen apart: counted together while they come in a row
            if self._elsewhere is not None and now - self._elsewhere[1] <= ELSEWHERE_GAP:
                before = self._elsewhere[0]
            self._elsewhere = (before, now)
            self.show_job("refresh", f"refreshed {time.strftime('%H:%M')} elsewhere: "
                                     f"{self.total - before:,} new", ended=True)

    def marks_written(self) -> None:
        """The marks this reader wrote in threads (from connections of their own, which the
        watcher cannot tell from another process's) are shown once written: the rows drawn
        again, the counts read. Merged as another process's writes, they had the view read
        again, and a view that leaves read articles out then kept only the lines near the
        cursor (1,000 of 90,000 after "mark all read"). What another process stored while
        they were written shows with its next write or when the view is read again."""
        if not self.refreshing:  # (a refresh takes the cache as merged at its end)
            self._seen_version = self.store.data_version()

    def _accounts_changed(self) -> bool:
        """Whether the accounts' feeds the cache mirrors differ from the config's."""
        from tui.feeds.subscriptions import account_feeds

        mirrored = [(f.url, f.title, f.tags) for f in account_feeds(self.config, self.store)]
        return mirrored != [(f.url, f.title, f.tags) for f in self.config.feeds if f.account]

    def action_refresh(self) -> None:
        entry = self.entry
        self.start_refresh(list(entry.urls) if entry is not None and entry.urls else None)

    def action_refresh_all(self) -> None:
        self.start_refresh(None)

    def refresh_due(self) -> None:
        """The automatic refresh: only the feeds that are due (nothing when none is)."""
        if self.refreshing:
            return
        from tui.feeds.refresh import Schedule

        schedule = Schedule.read(self.store, self.config)
        feeds, accounts = schedule.due(self.config, self.config.feeds, slack=LOOK_EVERY, untimed=False)
        if feeds or accounts:
            self.start_refresh([feed.url for feed in feeds], automatic=True, accounts=accounts)

    def start_refresh(self, urls: list[str] | None, *, automatic: bool = False,
                      accounts: list[str] | None = None) -> None:
        """Fetch these feeds (None: every feed); an `automatic` refresh announces the new
        articles of the feeds with notify (see notifying.py). The status line counts the
        feeds fetched over HTTP; the accounts synced first (those of the feeds named, every
        one with None, else `accounts`) are named as each sync runs."""
        if self.refreshing:
            self.notify("A refresh is already running.", markup=False)
            return
        if not self.config.feeds and not self.config.accounts:
            self.notify("No feeds are subscribed: add [[feed]] entries to the config.", severity="warning",
                        markup=False)
            return
        self.refreshing = True
        self.show_job("hint", "")
        named = set(urls) if urls is not None else None
        feeds = [f for f in self.config.feeds if named is None or f.url in named]
        if accounts is None:
            accounts = ([a.name for a in self.config.accounts] if urls is None
                        else sorted({f.account for f in feeds if f.account}))
        total = sum(1 for f in feeds if not f.account)
        first = f"syncing {accounts[0]}…" if accounts else f"refreshing 0/{total:,} feeds…"
        self.show_job("refresh", first, self._refresh(urls, automatic, total), failed="refresh failed")

    @work(group="refresh", name="refresh", exit_on_error=False, description="refresh")
    async def _refresh(self, urls: list[str] | None, automatic: bool, total: int) -> None:
        """The network waits on the event loop, parsing and writing happen in threads
        inside tui.feeds.refresh, so keys keep working while it runs. Whatever it stored
        is shown even when it stops part-way; the failure then reaches the worker handler."""
        worker = get_current_worker()
        # an automatic refresh toasts only new failures: the ones known already keep their !
        known_failures = ({row.url for row in self.store.feeds() if row.last_status in ("error", "gone")}
                          if automatic else set())
        try:
            # the fetch and parse stack (httpx, feedparser) is imported off the event loop
            for module in ("tui.feeds.refresh", "tui.feeds.fetch", "tui.feeds.parse"):
                await asyncio.to_thread(importlib.import_module, module)
            from tui.feeds.refresh import refresh

            def syncing(name: str | None) -> None:
                if name is not None or total:
                    self.job_progress("refresh", f"syncing {name}…" if name else f"refreshing 0/{total:,} feeds…",
                                      worker)

            def progress(outcome: FeedOutcome, done: int, total: int) -> None:
                self.job_progress("refresh", f"refreshing {done:,}/{total:,} feeds…", worker)
                if outcome.new or outcome.updated or outcome.status in ("error", "gone"):
                    self._merge_soon()

            if automatic:  # the feeds and accounts due now (the ones found due a moment ago)
                report = await refresh(self.config, self.cache_dir, progress=progress, due=True, slack=LOOK_EVERY,
                                       untimed=False, on_sync=syncing)
            else:
                report = await refresh(self.config, self.cache_dir, only=urls, progress=progress, on_sync=syncing)
            if report.accounts and self.config.path is not None:  # the servers' feeds may have changed
                self.reload_config(self.config.path)
        finally:
            self.refreshing = False
            if not worker.is_cancelled:
                self._merge()
                self.find_ignored()
                self._seen_version = self.store.data_version()  # what it stored is merged
                self._elsewhere = None  # the next one elsewhere is counted from here
        if automatic:
            self.announce_new(report.outcomes)
        failed = report.failed
        new = report.new + sum(account.new for account in report.accounts)
        unsynced = [clean_line(account.name) for account in report.accounts if not account.ok]
        summary = (f"{new:,} new" + (f", {len(failed):,} failed" if failed else "")
                   + (f", {', '.join(unsynced)} not synced" if unsynced else ""))
        failed = [outcome for outcome in failed if outcome.url not in known_failures]
        for account in report.accounts:
            if not account.ok:
                from tui.feeds.sync import kept_marks

                self.notify(clean_line(account.error + kept_marks(account)), title=f"Account {account.name} not synced",
                            severity="warning", markup=False)
        self.show_job("refresh", f"refreshed {time.strftime('%H:%M')}: {summary}", ended=True)
        if len(failed) == 1:
            self.notify(f"{clean_line(failed[0].title)}: {clean_line(failed[0].error)}", title="Feed not refreshed",
                        severity="error", markup=False)
        elif failed:  # one small toast, not one per feed over the article list
            self.notify(f"{len(failed)} feeds failed; they are marked ! in the feed list, with their error "
                        "above their articles.", title="Feeds not refreshed", severity="error", markup=False)

    def _merge_soon(self) -> None:
        self._merge_due = True
        if not self._merge_timer_running:
            self._merge_timer_running = True
            self.set_timer(MERGE_DELAY, self._merge_tick)

    def _merge_tick(self) -> None:
        self._merge_timer_running = False
        if self._merge_due:
            self._merge()

    def _merge(self) -> None:
        """Read counts and the current view again after a refresh wrote to the cache,
        keeping the cursor on its article. A search view is searched again once the
        refresh has ended, not at each merge: its first query indexes the new articles,
        which would take the index's write lock against the refresh's writer."""
        self._merge_due = False
        self.update_counts()
        for key in [k for k in self._virtual_ids if k not in FIXED_VIEWS]:
            del self._virtual_ids[key]  # new articles may match: found again when shown
        entry = self.entry
        if entry is not None:
            if entry.virtual and entry.key not in FIXED_VIEWS:
                if not self.refreshing:
                    self.run_search(entry)  # keeps the old list until the new one is ready
            else:
                self.show_entry(entry, keep=True)  # draws the rows from the store again


def _stamp(path: Path | None) -> tuple[int, int] | None:
    try:
        return file_stamp(path) if path is not None else None
    except OSError:
        return None
