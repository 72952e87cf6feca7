"""Sync with accounts on a Google Reader API server: the second kind of source.

One sync of an account, in this order:
1. the marks queued in the cache (read, unread, star, unstar made here since the last sync)
   go to the server, grouped into a few edit-tag requests; each group leaves the queue only
   once the server has taken it, so a kill at any moment loses nothing (a mark sent twice
   is harmless);
2. the subscription list is mirrored: the server's list is the truth for an account;
3. the items crawled since the last sync come in pages and are stored like any article;
4. read and starred are taken from the server for every article of the account, except
   those with a mark still queued (made during this sync).
The rule for conflicts: the mark that reaches the server last wins, and a local mark always
reaches the server before the server's state is read back, so a star (or any mark) made
here, even offline, is never lost by a sync; the server's unstar is only ever taken for an
article unstarred elsewhere after its star reached the server.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.config import AccountConfig, Config, FeedConfig
from tui.content.sanitize import clean_line, html_to_line, is_openable_url, sanitize_html
from tui.feeds.greader import READ, READING_LIST, STARRED, Client, SyncError, item_number
from tui.feeds.workers import CacheThread
from tui.model import Enclosure, ParsedArticle
from tui.store.cache import AccountFeedRow, Store, account_feed_key

PASSWORD_TIMEOUT = 30.0
KEYRING_SERVICE = "docbao"
WATERMARK_SLACK = 1  # seconds: items crawled in the watermark's own second are asked for again


@dataclass(slots=True)
class AccountOutcome:
    name: str
    ok: bool = False
    error: str = ""
    sent: int = 0  # marks the server took
    new: int = 0
    updated: int = 0
    feeds_added: int = 0
    feeds_removed: int = 0
    state_changed: int = 0
    waiting: int = 0  # marks made here that wait for the next sync (counted when this one failed)
    requests: int = 0
    logins: int = 0  # ClientLogin requests (none while the kept login holds)
    elapsed: float = 0.0


@dataclass(slots=True)
class SyncReport:
    accounts: list[AccountOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[AccountOutcome]:
        return [a for a in self.accounts if not a.ok]


def password(account: AccountConfig) -> str:
    """The account's password: password_command's output, else the system keyring (when
    the keyring library is installed), else the file's `password`. SyncError when none."""
    if account.password_command:
        try:
            done = subprocess.run(account.password_command, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=PASSWORD_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SyncError(f"account {account.name}: password_command failed: {exc}") from None
        if done.returncode != 0:
            raise SyncError(f"account {account.name}: password_command exited with status {done.returncode}")
        secret = done.stdout.decode("utf-8", "replace").rstrip("\r\n")
        if secret:
            return secret
        raise SyncError(f"account {account.name}: password_command printed no password")
    try:
        import keyring  # optional: used when installed
    except ImportError:
        keyring = None
    if keyring is not None:
        try:
            secret = keyring.get_password(KEYRING_SERVICE, f"{account.name}:{account.user}")
        except Exception:  # noqa: BLE001 - a keyring without a backend is "no password there"
            secret = None
        if secret:
            return secret
    if account.password:
        return account.password
    raise SyncError(f"account {account.name}: no password (set password_command, or store it in the"
                    f" keyring as service '{KEYRING_SERVICE}', user '{account.name}:{account.user}')")


async def sync(config: Config, cache_dir: Path, *, only: str | None = None,
               now: int | None = None) -> SyncReport:
    """Sync every configured account (or the one named `only`) into the cache."""
    report = SyncReport()
    accounts = [a for a in config.accounts if only is None or a.name == only]
    if not accounts:
        return report
    in_db = CacheThread()
    store: Store = await in_db(Store.open, cache_dir)
    try:
        for account in accounts:
            report.accounts.append(await _sync_account(account, config, store, in_db, now))
    finally:
        await in_db(store.close)
        in_db.shutdown()
    return report


async def _sync_account(account: AccountConfig, config: Config, store: Store, in_db: Any,
                        now: int | None) -> AccountOutcome:
    outcome = AccountOutcome(account.name)
    started = time.monotonic()
    clock = int(time.time()) if now is None else now
    state = await in_db(store.account_state, account.name)
    await in_db(lambda: store.save_account_state(account.name, tried=clock))
    try:
        async with _client(account, config, state.auth) as client:
            try:
                await _exchange(account.name, client, store, in_db, outcome)
            finally:
                outcome.requests = client.requests
                outcome.logins = client.logins
                if client.auth != state.auth:  # a new login: kept for the next syncs
                    await in_db(lambda: store.save_account_state(account.name, auth=client.auth))
        outcome.ok = True
        await in_db(lambda: store.save_account_state(account.name, synced=clock, error=""))
    except SyncError as exc:
        outcome.error = str(exc)
        await in_db(lambda: store.save_account_state(account.name, error=outcome.error))
        outcome.waiting = len(await in_db(store.pending_marks, account.name))
    outcome.elapsed = time.monotonic() - started
    return outcome


def _client(account: AccountConfig, config: Config, auth: str) -> Client:
    """A session of the account with the login kept from its last sync (a new login on 401).
    The password is asked for only when a login is needed."""
    return Client(account.url, account.user, lambda: password(account), deadline=config.settings.timeout, auth=auth)


async def _exchange(name: str, client: Client, store: Store, in_db: Any, outcome: AccountOutcome) -> None:
    # 1. queued marks, grouped: one group per (state, add or remove), sent in batches
    pending = await in_db(store.pending_marks, name)
    groups: dict[tuple[str, bool], list[tuple[int, int]]] = defaultdict(list)
    for seq, item, kind, value in pending:
        groups[(kind, value)].append((seq, item))
    for (kind, value), marks in groups.items():
        state = READ if kind == "read" else STARRED
        items = [item for _, item in marks]
        await client.edit_tag(items, add=state if value else "", remove="" if value else state)
        await in_db(store.drop_marks, [seq for seq, _ in marks])
        outcome.sent += len(marks)

    # 2. subscriptions
    subs = await client.subscriptions()
    added, outcome.feeds_removed = await in_db(
        store.save_account_feeds, name, [(s.stream_id, clean_line(s.title), s.url, s.html_url,
                                          [clean_line(label) for label in s.labels]) for s in subs])
    outcome.feeds_added = len(added)
    feed_ids = {row.stream_id: row.feed_id for row in await in_db(store.account_feeds, name)}

    # 3. new items since the newest crawl time seen; all the items of a feed new here (it may
    # have been subscribed on the server, and crawled, before that time)
    watermark = (await in_db(store.account_state, name)).watermark
    since = watermark - WATERMARK_SLACK if watermark else None
    newest = 0
    streams = [(READING_LIST, since)] + ([(stream_id, None) for stream_id in added] if since else [])
    for stream, start in streams:
        async for page in client.items(stream, since=start):
            newest = max(newest, await _store_page(name, page.items, feed_ids, store, in_db, outcome))
    if newest:
        await in_db(lambda: store.save_account_state(name, watermark=newest))

    # 4. read and starred state of every item, from the server
    unread = await client.item_ids(READING_LIST, exclude=READ)
    starred = await client.item_ids(STARRED)
    outcome.state_changed = await in_db(store.apply_remote_state, name, unread, starred)


async def subscribe(config: Config, cache_dir: Path, name: str,
                    feeds: Sequence[tuple[str, str, Sequence[str]]]) -> tuple[list[tuple[str, str, str]], AccountOutcome]:
    """Subscribe the account `name` to each (url, title, labels) on its server (which fetches
    it), then sync the account so the feeds and their items are here. Returns (url, stream
    id, error) per feed, one of the two empty, and the sync. SyncError when the server
    cannot be reached at all."""
    account = next(a for a in config.accounts if a.name == name)
    results: list[tuple[str, str, str]] = []
    async with _session(account, config, cache_dir) as client:
        for url, title, labels in feeds:
            try:
                stream_id = await client.quickadd(url)
                if title:
                    await client.edit_subscription(stream_id, "edit", title=title)
                for label in labels:
                    await client.edit_subscription(stream_id, "edit", add_label=label)
            except SyncError as exc:
                results.append((url, "", str(exc)))
            else:
                results.append((url, stream_id, ""))
    return results, (await sync(config, cache_dir, only=name)).accounts[0]


async def unsubscribe(config: Config, cache_dir: Path, feed: FeedConfig) -> AccountOutcome:
    """Unsubscribe the account's feed on its server, then sync: the server's list is the
    truth, so the feed and its articles leave the cache too."""
    account, row = _account_feed(config, cache_dir, feed)
    async with _session(account, config, cache_dir) as client:
        await client.edit_subscription(row.stream_id, "unsubscribe")
    return (await sync(config, cache_dir, only=account.name)).accounts[0]


async def edit_feed(config: Config, cache_dir: Path, feed: FeedConfig, *, title: str = "",
                    labels: Sequence[str] | None = None) -> AccountOutcome:
    """Rename (`title`) or relabel (`labels`, the whole new list) the account's feed on its
    server with subscription/edit, then sync so that the cache mirrors what the server kept
    (a server may hold one label per feed: FreshRSS keeps the last one added). SyncError
    when the server cannot be reached; nothing changes here then."""
    account, row = _account_feed(config, cache_dir, feed)
    async with _session(account, config, cache_dir) as client:
        if title:
            await client.edit_subscription(row.stream_id, "edit", title=title)
        if labels is not None:
            for label in [label for label in row.labels if label not in labels]:
                await client.edit_subscription(row.stream_id, "edit", remove_label=label)
            for label in [label for label in labels if label not in row.labels]:
                await client.edit_subscription(row.stream_id, "edit", add_label=label)
    return (await sync(config, cache_dir, only=account.name)).accounts[0]


def _account_feed(config: Config, cache_dir: Path, feed: FeedConfig) -> tuple[AccountConfig, AccountFeedRow]:
    """The account of an account's feed and the feed's row as the cache mirrors it."""
    account = next(a for a in config.accounts if a.name == feed.account)
    store = Store.open(cache_dir)
    try:
        row = next(row for row in store.account_feeds(account.name)
                   if account_feed_key(account.name, row.stream_id) == feed.url)
    finally:
        store.close()
    return account, row


@contextlib.asynccontextmanager
async def _session(account: AccountConfig, config: Config, cache_dir: Path) -> AsyncIterator[Client]:
    """A session of the account outside a sync, with the login the cache keeps (and keeps)."""
    store = Store.open(cache_dir)
    try:
        auth = store.account_state(account.name).auth
    finally:
        store.close()
    async with _client(account, config, auth) as client:
        try:
            yield client
        finally:
            if client.auth != auth:
                store = Store.open(cache_dir)
                try:
                    store.save_account_state(account.name, auth=client.auth)
                finally:
                    store.close()


async def _store_page(name: str, items: list[dict[str, Any]], feed_ids: dict[str, int], store: Store,
                      in_db: Any, outcome: AccountOutcome) -> int:
    """Store a page of items, one transaction per feed; the newest crawl time among them."""
    by_feed: dict[int, list[tuple[int, ParsedArticle, bool, bool]]] = defaultdict(list)
    newest = 0
    for raw in items:
        origin = raw.get("origin") if isinstance(raw.get("origin"), dict) else {}
        feed_id = feed_ids.get(str(origin.get("streamId", "")))
        converted = _article(raw)
        if feed_id is None or converted is None:
            continue
        by_feed[feed_id].append(converted)
        newest = max(newest, _int(raw.get("crawlTimeMsec")) // 1000 or _int(raw.get("timestampUsec")) // 1_000_000)
    for feed_id, found in by_feed.items():
        stats = await in_db(store.save_remote_items, name, feed_id, found)
        outcome.new += stats.new
        outcome.updated += stats.updated
    return newest


def _article(raw: dict[str, Any]) -> tuple[int, ParsedArticle, bool, bool] | None:
    """An item of stream/contents as (item id, article, read, starred); None if unusable.
    Item text is feed text: cleaned and sanitized the way the feed parser does it."""
    try:
        number = item_number(str(raw["id"]))
    except (KeyError, ValueError):
        return None
    link = ""
    for key in ("canonical", "alternate"):
        for entry in raw.get(key) or []:
            href = entry.get("href") if isinstance(entry, dict) else None
            if isinstance(href, str) and is_openable_url(href.strip()):
                link = href.strip()
                break
        if link:
            break
    summary = raw.get("summary") if isinstance(raw.get("summary"), dict) else {}
    content = raw.get("content") if isinstance(raw.get("content"), dict) else {}
    body = str(content.get("content") or summary.get("content") or "")
    enclosures = []
    for entry in raw.get("enclosure") or []:
        href = entry.get("href") if isinstance(entry, dict) else None
        if isinstance(href, str) and is_openable_url(href.strip()):
            enclosures.append(Enclosure(href.strip(), clean_line(str(entry.get("type") or "")),
                                        _int(entry.get("length")) or None))
    categories = {str(c) for c in raw.get("categories") or []}
    published = _int(raw.get("published")) or None
    updated = _int(raw.get("updated")) or None
    article = ParsedArticle(
        guid=str(raw["id"]), link=link, title=html_to_line(str(raw.get("title") or "")),
        author=clean_line(str(raw.get("author") or "")), published=published, updated=updated,
        content=sanitize_html(body), enclosures=enclosures)
    read = any(c.endswith("/state/com.google/read") for c in categories)
    starred = any(c.endswith("/state/com.google/starred") for c in categories)
    return number, article, read, starred


def _int(value: object) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return 0


def kept_marks(outcome: AccountOutcome) -> str:
    """What a failed sync says of the marks it could not send: they are kept, not lost."""
    if not outcome.waiting:
        return ""
    marks = "1 mark waits" if outcome.waiting == 1 else f"{outcome.waiting} marks wait"
    return f"; {marks} to be sent at the next sync"


def describe(outcome: AccountOutcome) -> str:
    """One line for the user about one account's sync."""
    if not outcome.ok:
        return f"account {outcome.name}: not synced: {outcome.error}{kept_marks(outcome)}"
    parts = [f"{outcome.new} new", f"{outcome.sent} marks sent", f"{outcome.state_changed} marks received"]
    if outcome.feeds_added or outcome.feeds_removed:
        parts.append(f"feeds +{outcome.feeds_added} -{outcome.feeds_removed}")
    return f"account {outcome.name}: {', '.join(parts)} in {outcome.elapsed:.1f} s"
