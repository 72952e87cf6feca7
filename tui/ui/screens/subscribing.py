"""Subscriptions: `a` subscribes to a feed or a site that names one (looked up in a worker),
`d` unsubscribes, `T` edits a feed's tags; each writes feeds.toml and reads it again."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work

from tui.config import ConfigError, FeedConfig, resolve_cache_dir
from tui.content.sanitize import clean_line
from tui.store.cache import Store, StoreError
from tui.ui.screens.base import ReaderBase
from tui.ui.screens.prompts import Choose, Confirm, TextPrompt
from tui.ui.undo import Unsubscribed
from tui.ui.widgets.article_list import ArticleList
from tui.ui.widgets.feed_list import FeedEntry, FeedList
from tui.ui.widgets.keys import bind

if TYPE_CHECKING:
    from tui.feeds.sync import AccountOutcome


def url_problem(text: str) -> str:
    """Why `a` cannot look a text up ("" when it can): said under the text in the prompt."""
    from tui.feeds.opml import check_feed_url

    return check_feed_url(text)[1]


class SubscribePart(ReaderBase):
    BINDINGS = [
        bind("add_feed", "add_feed"),
        bind("remove_feed", "remove_feed"),
        bind("edit_tags", "edit_tags"),
    ]

    _adding: tuple[str, str] | None = None  # the account ("" for none) and the text `a` is looking up
    _add_failed_text: tuple[str, str, str] | None = None  # ... and why it failed: the next `a` starts from it

    def action_add_feed(self) -> None:
        """`a`: a URL, looked up in a worker; a page naming several feeds offers a choice. In
        an account's folder (or on one of its feeds) the account's server subscribes to it.
        A text that failed (a typo, a 404) comes back in the next `a`'s prompt, with the
        reason, to be mended rather than typed again."""
        account = self._account_here()
        failed = self._add_failed_text if self._add_failed_text and self._add_failed_text[0] == account else None
        value, problem = (failed[1], failed[2]) if failed else ("", "")
        if account:
            def for_account(url: str | None) -> None:
                self._add_failed_text = None
                if url:
                    self._adding = (account, url)
                    self.show_job("subscribe", f"subscribing {account} to {url}…", self._add_to_account(account, url),
                                  failed="subscribing failed")

            self.app.push_screen(TextPrompt(f"Subscribe the account {account} to (a feed's or a site's URL):", value,
                                            placeholder="https://…", hint="Enter asks its server, Esc cancels",
                                            problem=problem), for_account)
            return

        def typed(url: str | None) -> None:
            self._add_failed_text = None
            if url:
                self.add_feed(url)

        self.app.push_screen(TextPrompt("Subscribe to (a feed's or a site's URL):", value, placeholder="https://…",
                                        hint="Enter looks it up, Esc cancels", check=url_problem, problem=problem),
                             typed)

    def _add_failed(self, problem: str) -> None:
        """What `a` looked up cannot be subscribed to: the next `a` brings the text back."""
        if self._adding is not None:
            self._add_failed_text = (*self._adding, clean_line(problem))

    def _mend_hint(self) -> str:
        """Told with a failure: what was typed is not lost."""
        return f" Press {self.key_name('add_feed')} to mend it."

    def _account_here(self) -> str:
        """The account whose folder or feed is under the feed list's cursor, else ""."""
        entry = self.query_one(FeedList).current
        names = {account.name for account in self.config.accounts}
        if entry is None or not names:
            return ""
        if entry.folder in names and (entry.kind == "folder" or not entry.urls):
            return entry.folder
        feed = next((f for f in self.config.feeds if entry.urls and f.url == entry.urls[0]), None)
        return feed.account if feed is not None else ""

    @work(group="subscribe", exclusive=True, exit_on_error=False, description="subscribe on the server")
    async def _add_to_account(self, account: str, url: str) -> None:
        """The server finds and fetches the feed; a sync brings it here."""
        from tui.feeds.greader import SyncError
        from tui.feeds.sync import subscribe

        try:
            [(_, _, error)], outcome = await subscribe(self.config, self.cache_dir, account, [(url, "", [])])
        except SyncError as exc:
            error, outcome = str(exc), None
        if error:
            self._add_failed(error)
            self.notify(f"Not subscribed: {clean_line(error).rstrip('.')}.{self._mend_hint()}",
                        title=f"Account {account}", severity="error", markup=False)
            return
        if self.config.path is not None:
            self.reload_config(self.config.path)
        self.update_counts()
        self.notify(f"Subscribed to {url}" + (f" ({outcome.new} new)" if outcome and outcome.ok else ""),
                    title=f"Account {account}", markup=False)

    def add_feed(self, raw: str) -> None:
        from tui.feeds.opml import check_feed_url

        self._adding = ("", raw)
        url, reason = check_feed_url(raw)
        if reason:
            self._add_failed(reason)
            self.notify(f"Cannot subscribe to {clean_line(raw)}: {reason}.{self._mend_hint()}", severity="warning",
                        markup=False)
            return
        self.show_job("subscribe", f"looking up {url}…", self._look_up(url))

    def _already(self, feed: FeedConfig) -> None:
        name = self.feed_names.get(self._feed_id(feed.url) or -1) or feed.title or feed.url
        self.notify(f"Already subscribed: {clean_line(name)}", severity="warning", markup=False)

    def _feed_id(self, url: str) -> int | None:
        ids = self.store.feed_ids([url])
        return ids.get(url)

    @work(group="subscribe", exclusive=True, exit_on_error=False, description="look up a feed")
    async def _look_up(self, url: str) -> None:
        """Fetch the URL: a feed is subscribed, a page's feeds are offered. The network
        waits on the event loop, the cache is read in a thread."""
        from tui.feeds.subscriptions import feed_key, known_feeds, look_up

        known = await asyncio.to_thread(known_feeds, self.config, self.cache_dir)
        if feed_key(url) in known:
            self._already(known[feed_key(url)])
            return
        settings = self.config.settings
        lookup = await look_up(url, deadline=settings.timeout, max_bytes=int(settings.max_feed_mb * 1024 * 1024),
                               user_agent=settings.user_agent)
        if lookup.kind == "error":
            self._add_failed(lookup.error)
            self.notify(f"Cannot fetch {url}: {clean_line(lookup.error).rstrip('.')}.{self._mend_hint()}",
                        severity="error", markup=False)
            return
        if lookup.kind == "feed":
            if lookup.final_url and feed_key(lookup.final_url) in known:
                self._already(known[feed_key(lookup.final_url)])
                return
            self._subscribe(lookup.candidates[0].url, verified=True, known=known)
            return
        found = lookup.candidates
        if not found and lookup.skipped:
            reasons = "; ".join(f"{_short(clean_line(what))}: {clean_line(why)}" for what, why in lookup.skipped)
            self._add_failed(f"it names feeds none of which can be subscribed to: {reasons}")
            self.notify(f"{url} names {len(lookup.skipped)} feed{'s' if len(lookup.skipped) != 1 else ''}, "
                        f"none of which can be subscribed to: {reasons}.{self._mend_hint()}", severity="warning",
                        markup=False)
            return
        if not found:
            where = " (nor at the usual feed paths of the site)" if lookup.probed else ""
            self._add_failed(f"a web page that names no feed{where}")
            self.notify(f"{url} is a web page that names no feed{where}.{self._mend_hint()}", severity="warning",
                        markup=False)
            return
        if len(found) == 1:
            self._subscribe(found[0].url, verified=found[0].verified, known=known)
            return
        labels = [f"{clean_line(c.title) or '(untitled)'}  {c.url}"
                  + ("  (already subscribed)" if feed_key(c.url) in known else "") for c in found]

        def chosen(index: int | None) -> None:
            if index is not None:
                pick = found[index]
                # the page's name for the feed (its <link title>: mostly "RSS") is not pinned as
                # the feed's title: as with `docbao add --pick`, the feed is named by its own
                self._subscribe(pick.url, verified=pick.verified, known=known)

        self.app.push_screen(Choose(f"{len(found)} feeds are named by {lookup.final_url}; subscribe to:", labels),
                             chosen)

    def _subscribe(self, url: str, *, verified: bool, known: dict[str, FeedConfig]) -> None:
        from tui.feeds.subscriptions import feed_key

        if feed_key(url) in known:
            self._already(known[feed_key(url)])
            return
        if verified:
            self._write_feed(url)
            return
        self.show_job("subscribe", f"checking {url}…", self._check_then_write(url, known))

    @work(group="subscribe", exclusive=True, exit_on_error=False, description="subscribe")
    async def _check_then_write(self, url: str, known: dict[str, FeedConfig]) -> None:
        """A feed a page names is fetched once before it is subscribed: pages name dead feeds."""
        from tui.feeds.subscriptions import check_is_feed, feed_key

        settings = self.config.settings
        checked = await check_is_feed(url, deadline=settings.timeout, max_bytes=int(settings.max_feed_mb * 1024 * 1024),
                                      user_agent=settings.user_agent)
        if isinstance(checked, str):
            self._add_failed(f"{url}: {checked}")
            self.notify(f"Not subscribed: {url}: {clean_line(checked).rstrip('.')}.{self._mend_hint()}",
                        severity="error", markup=False)
        elif checked.final_url and feed_key(checked.final_url) in known:
            self._already(known[feed_key(checked.final_url)])
        else:
            self._write_feed(url)

    def _write_feed(self, url: str) -> None:
        """Add the feed to the config file (created where docbao looks when there is none),
        read the config again and fetch the new feed. No title is written: the feed is
        named by its own (the reader has no way to give one, and `docbao add` writes none)."""
        from tui.config import add_feeds, default_config_path

        path = self.config.path or default_config_path()
        default_cache = self.config.path is None and self.cache_dir == resolve_cache_dir(self.config)
        try:
            add_feeds(path, [FeedConfig(url=url)])
        except ConfigError as exc:
            self.notify(f"Not subscribed: {exc}", severity="error", markup=False)
            return
        if not self.reload_config(path):
            return
        if default_cache and resolve_cache_dir(self.config) != self.cache_dir:
            # a config just created keeps its cache beside it, where the next start looks
            self._use_cache(resolve_cache_dir(self.config))
        self.update_counts()
        feed_id = self._feed_id(url)
        feeds = self.query_one(FeedList)
        if feed_id is not None and feeds.select(f"feed:{feed_id}", announce=False):
            self.show_entry(feeds.current)
        self.notify(f"Subscribed to {url}", markup=False)
        if self.refreshing:
            self.notify("It is fetched by the next refresh (one is running).", markup=False)
        else:
            self.start_refresh([url])

    def _use_cache(self, folder: Path) -> None:
        """Go on with the cache at `folder` (the old one is closed by whoever opened it)."""
        try:
            store = Store.open(folder)
        except StoreError as exc:
            self.notify(f"Cannot open the cache {folder}: {exc}", severity="error", markup=False)
            return
        self.state.flush()
        self.store, self.cache_dir = store, folder
        self.state.store = store
        self.query_one(ArticleList).use_source(store.rows, store.leads)
        adopt = getattr(self.app, "adopt_store", None)
        if adopt is not None:
            adopt(store, folder)

    def reload_config(self, path: Path) -> bool:
        from tui.config import load_config

        try:
            config = load_config(path)
        except ConfigError as exc:
            self.notify(f"The config cannot be read again: {exc}", severity="error", markup=False)
            return False
        if config.accounts:  # the accounts' feeds, as the cache holds them
            from tui.feeds.subscriptions import account_feeds

            config.feeds.extend(account_feeds(config, self.store))
        self.config = config
        if hasattr(self.app, "config"):
            self.app.config = config
        return True

    def _selected_feed(self) -> tuple[FeedEntry, FeedConfig, Path] | None:
        """The feed under the feed list's cursor, its config entry and the config file to
        edit (an account's feed is changed on its server instead), or None (saying why)."""
        entry = self.query_one(FeedList).current
        if entry is None or entry.kind != "feed" or not entry.urls:
            self.notify("Select a feed in the feed list first.", severity="warning", markup=False)
            return None
        feed = next((f for f in self.config.feeds if f.url == entry.urls[0]), None)
        if feed is None or self.config.path is None:
            self.notify("This feed is not in a config file docbao can edit.", severity="warning", markup=False)
            return None
        return entry, feed, self.config.path

    def action_remove_feed(self) -> None:
        """`d`: unsubscribe after a confirmation; the cached articles stay."""
        from tui.config import remove_feed

        selected = self._selected_feed()
        if selected is None:
            return
        entry, feed, path = selected
        if feed.account:
            def confirmed(yes: bool | None) -> None:
                if yes:
                    self.show_job("subscribe", f"unsubscribing {feed.account} from {entry.label}…",
                                  self._unsubscribe_on_server(feed, entry.label), failed="unsubscribing failed")

            self.app.push_screen(Confirm(f"Unsubscribe the account {feed.account} from {entry.label} on its server?"
                                         " Its articles leave this cache too."), confirmed)
            return

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                before = path.read_bytes()
                remove_feed(path, feed.url)
                after = path.read_bytes()
            except (OSError, ConfigError) as exc:
                self.notify(f"Not removed: {exc}", severity="error", markup=False)
                return
            change = Unsubscribed(path, before, after, feed.url, feed.title, tuple(feed.tags), entry.label)
            self.undo_log.record(change)
            if self.reload_config(path):
                self.update_counts()  # the view goes to the feed beside it
                self._undo_toasts[change] = self.toast(f"Unsubscribed from {entry.label}; its articles stay in the "
                                                       f"cache ({self.key_name('undo')} undoes it).")

        self.app.push_screen(Confirm(f"Unsubscribe from {entry.label}? Its articles stay in the cache."), answered)

    def action_edit_tags(self) -> None:
        """`T`: the feed's tags as "a, b"; each tag is a folder of the feed list. An account's
        feed has its server's labels: they are changed there, and the sync that follows
        brings what the server kept."""
        from tui.config import set_feed_tags

        selected = self._selected_feed()
        if selected is None:
            return
        entry, feed, path = selected
        if feed.account:
            def relabel(text: str | None) -> None:
                if text is not None:
                    labels = list(dict.fromkeys(t for t in (clean_line(part) for part in text.split(",")) if t))
                    self.show_job("subscribe", f"relabelling on {feed.account}…", self._edit_on_server(feed, labels),
                                  failed="relabelling failed")

            self.app.push_screen(TextPrompt(f"Labels of {entry.label} on the account {feed.account}'s server"
                                            " (comma-separated, empty for none):", ", ".join(feed.tags[1:])), relabel)
            return

        def typed(text: str | None) -> None:
            if text is None:
                return
            tags = list(dict.fromkeys(t for t in (clean_line(part) for part in text.split(",")) if t))
            try:
                set_feed_tags(path, feed.url, tags)
            except ConfigError as exc:
                self.notify(f"Tags not changed: {exc}", severity="error", markup=False)
                return
            if self.reload_config(path):
                self.update_counts()
                feeds = self.query_one(FeedList)
                key = f"tag:{tags[0]}/feed:{entry.feed_ids[0]}" if tags and entry.feed_ids else \
                    f"feed:{entry.feed_ids[0]}" if entry.feed_ids else ""
                if key and feeds.select(key, announce=False):
                    self.show_entry(feeds.current)

        self.app.push_screen(TextPrompt(f"Tags of {entry.label} (comma-separated, empty for none):",
                                        ", ".join(feed.tags)), typed)


    @work(group="subscribe", exclusive=True, exit_on_error=False, description="unsubscribe on the server")
    async def _unsubscribe_on_server(self, feed: FeedConfig, label: str) -> None:
        """subscription/edit unsubscribe on the account's server; the sync that follows takes
        the feed and its articles out of the cache (the server's list is the truth)."""
        from tui.feeds.sync import unsubscribe

        if await self._on_server(feed, unsubscribe(self.config, self.cache_dir, feed), "Not unsubscribed"):
            self.notify(f"Unsubscribed from {label} on the server", title=f"Account {feed.account}", markup=False)

    @work(group="subscribe", exclusive=True, exit_on_error=False, description="edit on the server")
    async def _edit_on_server(self, feed: FeedConfig, labels: list[str]) -> None:
        """subscription/edit on the account's server, then a sync mirrors the result."""
        from tui.feeds.sync import edit_feed

        if await self._on_server(feed, edit_feed(self.config, self.cache_dir, feed, labels=labels),
                                 "Labels not changed"):
            kept = next((f.tags[1:] for f in self.config.feeds if f.url == feed.url), [])
            self.notify(f"Labels on the server: {', '.join(kept) or 'none'}", title=f"Account {feed.account}",
                        markup=False)

    async def _on_server(self, feed: FeedConfig, change: Coroutine[Any, Any, AccountOutcome], failed: str) -> bool:
        """Run a change of an account's feed on its server (it ends with a sync), then show
        what the cache mirrors. False, having said why, when the server did not take it or
        the sync after it failed."""
        from tui.feeds.greader import SyncError

        try:
            outcome = await change
        except SyncError as exc:
            self.notify(f"{failed}: {clean_line(str(exc))}", title=f"Account {feed.account}", severity="error",
                        markup=False)
            return False
        if self.config.path is not None:
            self.reload_config(self.config.path)
        self.update_counts()
        if not outcome.ok:
            self.notify(f"Changed on the server; not synced yet: {clean_line(outcome.error)}",
                        title=f"Account {feed.account}", severity="warning", markup=False)
        return outcome.ok


def _short(url: str, room: int = 80) -> str:
    return url if len(url) <= room else url[:room - 1] + "…"
