"""One refresh: pick feeds -> fetch concurrently -> parse -> store.

Network waits run on the event loop; parsing runs in a thread pool so a big or slow feed
never stalls the others; this process's writes go through one thread that owns its cache
connection, one transaction per feed. A big refresh parses in worker processes, and each
worker stores what it parsed on its own connection: the parsed articles never travel back,
and this process, which drives the network, is not kept from it by their inserts. The
bodies that wait for a worker go to it together and are stored in one transaction, each
feed in its own savepoint. A per-feed failure is recorded and never stops the others, and
never touches what is stored.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from tui.config import Config, FeedConfig
from tui.model import FeedError, FetchResult, ParsedFeed
from tui.feeds.inflate import BodyError, decode
from tui.feeds.workers import PROCESS_POOL_FROM, CacheThread, process_count, worker_pool, writing
from tui.store.cache import FeedRow, Store, StoreError, StoreStats

if TYPE_CHECKING:
    from tui.feeds.fulltext import PageOutcome
    from tui.feeds.sync import AccountOutcome

T = TypeVar("T")
FAILED = ("error", "gone")
DUE_SLACK = 60  # seconds: for `refresh --due`, a feed fetched a little less than its interval ago is
                # due (a timer's run starts on the minute; its last fetch was stored seconds later)
FIRST_EPISODES = 1  # the first refresh of a `download = true` feed queues its newest episode only


@dataclass(slots=True)
class FeedOutcome:
    url: str
    feed_id: int
    title: str
    status: str  # "ok", "not_modified", "error", "gone", "deferred", "skipped"
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    error: str = ""
    new_ids: tuple[int, ...] = ()
    added_enclosures: tuple[tuple[int, tuple[str, ...]], ...] = ()  # stored articles' new enclosures


@dataclass(slots=True)
class RefreshReport:
    outcomes: list[FeedOutcome] = field(default_factory=list)
    elapsed: float = 0.0
    pruned: int = 0
    pages: list["PageOutcome"] = field(default_factory=list)  # reader-mode prefetch
    queued: int = 0  # enclosures of `download = true` feeds queued for `docbao download`
    accounts: list["AccountOutcome"] = field(default_factory=list)  # sync-server accounts

    @property
    def new(self) -> int:
        return sum(o.new for o in self.outcomes)

    @property
    def updated(self) -> int:
        return sum(o.updated for o in self.outcomes)

    @property
    def failed(self) -> list[FeedOutcome]:
        return [o for o in self.outcomes if o.status in FAILED]


Progress = Callable[[FeedOutcome, int, int], None]


class SelectionError(ValueError):
    """--feed named something that is not subscribed."""


def select_feeds(config: Config, only: Sequence[str] | None) -> list[FeedConfig]:
    """The feeds named by URL or title (case-insensitive); all feeds when none are named."""
    if not only:
        return list(config.feeds)
    chosen: list[FeedConfig] = []
    for name in only:
        wanted = name.strip().casefold()
        matches = [f for f in config.feeds if f.url.casefold() == wanted or f.title.casefold() == wanted]
        if not matches:
            raise SelectionError(f"no subscribed feed has the URL or title '{name}'")
        chosen.extend(m for m in matches if m not in chosen)
    return chosen


@dataclass(frozen=True, slots=True)
class Schedule:
    """When each feed was fetched and each account synced last, to tell which are due."""

    last_fetch: Mapping[str, int | None]  # feed URL -> epoch seconds
    last_sync: Mapping[str, int | None]  # account name -> epoch seconds of its last sync tried

    @classmethod
    def read(cls, store: Store, config: Config) -> Schedule:
        return cls({row.url: row.last_fetch for row in store.feeds()},
                   {account.name: store.account_state(account.name).tried for account in config.accounts})

    @classmethod
    def load(cls, cache_dir: Path, config: Config) -> Schedule:
        store = Store.open(cache_dir)
        try:
            return cls.read(store, config)
        finally:
            store.close()

    def due(self, config: Config, feeds: Sequence[FeedConfig], *, now: int | None = None, slack: int = DUE_SLACK,
            untimed: bool = True) -> tuple[list[FeedConfig], list[str]]:
        """The HTTP feeds among `feeds` whose interval (refresh_minutes, else [settings]
        auto_refresh_minutes) has passed since their last fetch, within `slack` seconds
        (how often the caller looks; at most a quarter of the interval), and the accounts of
        `config` due to sync (every auto_refresh_minutes; an account never tried at the first
        look, even without that interval: its feeds are on its server, and the schedule knows
        of them only once it has synced). Never fetched is due; with no interval, due when
        `untimed`."""
        clock = int(time.time()) if now is None else now

        def due(last: int | None, minutes: int) -> bool:
            if not minutes:
                return untimed
            # the slack is at most a quarter of the interval: a 2-minute feed under a cron
            # line that runs every minute is fetched every 2 minutes, not every run
            return last is None or clock - last + min(slack, minutes * 15) >= minutes * 60

        chosen = [f for f in feeds if not f.account and due(self.last_fetch.get(f.url), f.interval(config.settings))]
        accounts = [a.name for a in config.accounts if self.last_sync.get(a.name) is None
                    or due(self.last_sync.get(a.name), config.settings.auto_refresh_minutes)]
        return chosen, accounts


async def refresh(config: Config, cache_dir: Path, *, only: Sequence[str] | None = None,
                  progress: Progress | None = None, full_text: bool = False,
                  page_progress: Callable[["PageOutcome", int, int], None] | None = None,
                  now: int | None = None, due: bool = False, slack: int = DUE_SLACK,
                  untimed: bool = True, on_sync: Callable[[str | None], None] | None = None) -> RefreshReport:
    """Refresh the chosen feeds into the cache in `cache_dir` and report per feed; with
    `due`, only those of them (and of the accounts) whose interval has passed (see
    Schedule.due, which `slack` and `untimed` are for).

    Then, for feeds with full_text (or all of them when `full_text` is set), fetch the
    full article of every unread article that lacks one, so it reads offline.

    Accounts on a sync server are synced first (every account when no feed is named,
    else the accounts of the feeds named), each announced to `on_sync` by name as it
    begins, then None once they are done; their feeds are never fetched over HTTP, so
    `progress` counts only the others.
    """
    from tui.feeds.fetch import make_client  # imported here: httpx is not needed at start-up

    started = time.monotonic()
    chosen = select_feeds(config, only)
    feeds = [f for f in chosen if not f.account]
    accounts = {a.name for a in config.accounts} if not only else {f.account for f in chosen if f.account}
    if due:
        schedule = await asyncio.to_thread(Schedule.load, cache_dir, config)
        feeds, due_accounts = schedule.due(config, feeds, now=now, slack=slack, untimed=untimed)
        accounts &= set(due_accounts)
    report = RefreshReport()
    if accounts:
        from tui.feeds.sync import sync

        for name in sorted(accounts):
            if on_sync is not None:
                on_sync(name)
            report.accounts.extend((await sync(config, cache_dir, only=name)).accounts)
        if on_sync is not None:
            on_sync(None)
    in_db = CacheThread()
    parse_pool = worker_pool(len(feeds), threads=1, name="parse")

    store: Store = await in_db(Store.open, cache_dir)
    batches: _Batches | None = None
    if isinstance(parse_pool, ProcessPoolExecutor):  # (its workers start with the first body to parse)
        batches = _Batches(parse_pool, cache_dir, process_count())
    try:
        ids = await in_db(store.ensure_feeds, [f.url for f in feeds])
        rows = {row.id: row for row in await in_db(store.feeds)}
        if batches is not None and _whole_bodies_expected(feeds, ids, rows) >= PROCESS_POOL_FROM:
            for _ in range(process_count()):  # the workers start while the first requests are out
                parse_pool.submit(_get_ready, cache_dir)
        settings = config.settings
        limit = asyncio.Semaphore(settings.concurrency)
        done = 0

        async def one(feed: FeedConfig, client: object) -> None:
            nonlocal done
            row = rows[ids[feed.url]]
            async with limit:
                outcome = await _refresh_feed(feed, row, client, store, in_db, parse_pool, batches, config, now)
            report.outcomes.append(outcome)
            done += 1
            if progress is not None:
                progress(outcome, done, len(feeds))

        async with make_client(settings.concurrency, settings.user_agent) as client:
            await asyncio.gather(*(one(feed, client) for feed in feeds))
            podcasts = {ids[f.url] for f in feeds if f.download}
            fresh: list[int] = []
            added: list[tuple[int, tuple[str, ...]]] = []
            for outcome in report.outcomes:
                if outcome.feed_id not in podcasts:
                    continue
                if rows[outcome.feed_id].last_fetch is None:  # a new subscription: not its whole back catalogue
                    if outcome.new_ids:
                        fresh += await in_db(functools.partial(store.article_ids, feed_ids=[outcome.feed_id],
                                                               limit=FIRST_EPISODES))
                else:
                    fresh += outcome.new_ids
                    added += outcome.added_enclosures  # an episode's file published after its entry
            if fresh or added:
                from tui.store.downloads import queue_enclosures

                report.queued = await in_db(queue_enclosures, store, fresh, added)
            wanted = [ids[f.url] for f in feeds
                      if full_text or (settings.full_text if f.full_text is None else f.full_text)]
            if report.accounts and (full_text or settings.full_text):  # the accounts' feeds too
                synced = {account.name for account in report.accounts}
                wanted += [row.feed_id for row in await in_db(store.account_feeds) if row.account in synced]
            if wanted:
                report.pages = await _prefetch(store, in_db, client, config, wanted, page_progress)
        report.pruned = await in_db(store.prune, settings.keep_articles, settings.keep_days)
        # The pool's thread and workers end before this process's connection closes (off the
        # event loop). At exit, Python 3.11's hook for process pools races a pool thread still
        # ending, and the command then ends on a traceback (EBADF). And the last connection
        # to close writes the log into the cache file and removes it: this one, after the
        # workers', where two workers closing at once could each leave it to the other.
        await asyncio.to_thread(functools.partial(parse_pool.shutdown, wait=True, cancel_futures=True))
    finally:
        parse_pool.shutdown(wait=False, cancel_futures=True)  # (on an error, without waiting)
        await in_db(store.close)
        in_db.shutdown()
    order = {feed.url: index for index, feed in enumerate(feeds)}
    report.outcomes.sort(key=lambda o: order[o.url])
    report.elapsed = time.monotonic() - started
    return report


async def _refresh_feed(feed: FeedConfig, row: FeedRow, client: object, store: Store,
                        in_db: Callable[..., asyncio.Future], parse_pool: Executor, batches: _Batches | None,
                        config: Config, now: int | None) -> FeedOutcome:
    from tui.feeds.fetch import fetch

    title = feed.title or row.title or feed.url
    outcome = FeedOutcome(feed.url, row.id, title, "skipped")
    clock = int(time.time()) if now is None else now
    if row.gone:
        outcome.error = "the server said this feed is gone (HTTP 410); remove it or fix its URL"
        return outcome
    if row.retry_after and row.retry_after > clock:
        outcome.status = "deferred"
        outcome.error = f"the server asked to wait until {time.strftime('%H:%M', time.localtime(row.retry_after))}"
        return outcome
    settings = config.settings
    deadline = feed.timeout or settings.timeout
    max_bytes = int(settings.max_feed_mb * 1024 * 1024)
    if feed.is_local:
        result = await asyncio.to_thread(_read_local, feed, max_bytes)
    else:
        # The body comes as sent: the parse worker inflates it, off the process that drives the network.
        result = await fetch(client, row.redirect_url or feed.url, etag=row.etag,  # type: ignore[arg-type]
                             last_modified=row.last_modified, deadline=deadline, max_bytes=max_bytes,
                             decode=False)
    saved: _Saved | None = None
    parsed: ParsedFeed | None = None
    if result.status == "ok" and result.body is not None:
        loop = asyncio.get_running_loop()
        try:
            if batches is not None:  # a worker parses it and stores it
                saved = await batches.save(row.id, result, max_bytes)
            else:
                parsed = await loop.run_in_executor(
                    parse_pool, _parse, result.body, result.content_encoding, max_bytes,
                    result.final_url or result.url, result.content_type)
        except (FeedError, BodyError) as exc:
            result.status, result.error = "error", str(exc)
        except (sqlite3.Error, StoreError):
            raise  # the cache itself failed: as when this process writes
        except Exception as exc:  # a parser bug, a worker that died: a per-feed error
            result.status, result.error = "error", f"could not parse the feed ({type(exc).__name__}: {exc})"
        result.body = None
    if saved is None:
        saved = _Saved.of(result, await in_db(store.save_fetch, row.id, result, parsed), parsed)
    outcome.status, outcome.error = saved.status, saved.error
    stats = saved.stats
    outcome.new, outcome.updated, outcome.unchanged = stats.new, stats.updated, stats.unchanged
    outcome.new_ids, outcome.added_enclosures = stats.new_ids, stats.added_enclosures
    if not feed.title and saved.title:
        outcome.title = saved.title
    return outcome


async def _prefetch(store: Store, in_db: Callable[..., asyncio.Future], client: object, config: Config,
                    feed_ids: list[int], progress: Callable[..., None] | None) -> list["PageOutcome"]:
    from tui.feeds.fulltext import extraction_pool, fetch_pages

    candidates = await in_db(lambda: store.extract_candidates(feed_ids=feed_ids, unread_only=True))
    if not candidates:
        return []
    pool = extraction_pool(len(candidates))
    try:
        pages = await fetch_pages(candidates, client=client, in_db=in_db, store=store, config=config,
                                  pool=pool, progress=progress)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    if config.settings.images != "off":  # the articles kept for offline reading keep their images too
        from tui.feeds.images import prefetch_images

        await prefetch_images([p.article_id for p in pages if p.ok], store=store, in_db=in_db,
                              client=client, config=config)
    return pages


def _parse(body: bytes, encoding: str, max_bytes: int, url: str, content_type: str) -> ParsedFeed:
    from tui.feeds.parse import parse_feed

    return parse_feed(decode(body, encoding, max_bytes), url=url, content_type=content_type)


@dataclass(frozen=True, slots=True)
class _Saved:
    """What a feed's fetch came to once stored: all the outcome needs, small enough to come
    back from a worker process."""

    status: str
    error: str
    title: str
    stats: StoreStats

    @classmethod
    def of(cls, result: FetchResult, stats: StoreStats, parsed: ParsedFeed | None) -> _Saved:
        return cls(result.status, result.error or (parsed.warning if parsed else ""),
                   parsed.title if parsed else "", stats)


_worker_stores: dict[Path, Store] = {}  # in a worker process: its connection to each cache


def _worker_store(cache_dir: Path) -> Store:
    store = _worker_stores.get(cache_dir)
    if store is None:
        store = _worker_stores[cache_dir] = Store.open(cache_dir, create=False)
        atexit.register(store.close)  # (before the worker's quick exit: workers.py)
        # A savepoint keeps the pages its feed changes as they were, to roll back to: in
        # memory (a batch's worth), not in a temporary file written for every feed.
        store.conn.execute("PRAGMA temp_store = MEMORY")
    return store


def _whole_bodies_expected(feeds: Sequence[FeedConfig], ids: Mapping[str, int], rows: Mapping[int, FeedRow]) -> int:
    """How many of `feeds` will send a whole document rather than "not modified": those
    with nothing to ask a server whether it changed (new subscriptions, most of all)."""
    return sum(1 for row in (rows[ids[feed.url]] for feed in feeds) if not (row.etag or row.last_modified))


def _get_ready(cache_dir: Path) -> None:
    """In a worker process, before the first body comes: the parsers imported, the cache opened."""
    import tui.feeds.parse  # noqa: F401

    _worker_store(cache_dir)


def _parse_fetched(result: FetchResult, max_bytes: int) -> ParsedFeed | None:
    """A fetched body parsed; a feed that does not parse becomes an error result, as the
    refresh stores it."""
    parsed: ParsedFeed | None = None
    try:
        parsed = _parse(result.body or b"", result.content_encoding, max_bytes,
                        result.final_url or result.url, result.content_type)
    except (FeedError, BodyError) as exc:
        result.status, result.error = "error", str(exc)
    except Exception as exc:  # a parser bug must stay a per-feed error
        result.status, result.error = "error", f"could not parse the feed ({type(exc).__name__}: {exc})"
    result.body = None
    return parsed


def _parse_and_save(cache_dir: Path, fetches: list[tuple[int, FetchResult, int]]) -> list[_Saved | Exception]:
    """In a worker process: parse fetched bodies (feed id, fetch, size cap) and store them
    with their fetches on the worker's own connection (kept for the pool's next batches):
    all in one transaction, each feed in a savepoint, so that a feed whose writes fail
    leaves the others stored (the exception takes its place in the list)."""
    parsed = [(feed_id, result, _parse_fetched(result, max_bytes)) for feed_id, result, max_bytes in fetches]
    store = _worker_store(cache_dir)
    with writing():
        stats = store.save_fetches(parsed)
    return [saved if isinstance(saved, Exception) else _Saved.of(result, saved, feed)
            for (_, result, feed), saved in zip(parsed, stats)]


class _Batches:
    """A big refresh's fetched bodies on their way to the parse workers, which parse and
    store them. A worker stores a batch in one transaction, so the further the network runs
    ahead of the workers, the fewer commits they make. A worker that is idle gets what came
    in at once (each feed alone when the network is the slower), shared evenly with the
    other idle ones; while every worker is busy, only whole batches (MAX_BATCH bodies) are
    queued for them, one per worker, and the rest waits for the first worker to be free.
    (Queueing whatever had come made every other batch a single feed, committed alone.)"""

    MAX_BATCH = 16

    def __init__(self, pool: ProcessPoolExecutor, cache_dir: Path, workers: int) -> None:
        self._pool = pool
        self._cache_dir = cache_dir
        self._workers = workers
        self._sent = 0  # batches in the pool: being parsed, or queued for a worker
        self._waiting: list[tuple[int, FetchResult, int, asyncio.Future[_Saved]]] = []
        self._loop = asyncio.get_running_loop()

    async def save(self, feed_id: int, result: FetchResult, max_bytes: int) -> _Saved:
        """Parse and store one fetch; raises what storing it raised, or what became of the
        worker (a pool that broke)."""
        future: asyncio.Future[_Saved] = self._loop.create_future()
        self._waiting.append((feed_id, result, max_bytes, future))
        self._send()
        return await future

    def _send(self) -> None:
        while self._waiting and self._sent < 2 * self._workers:
            idle = self._workers - self._sent
            if idle > 0:
                size = min(self.MAX_BATCH, -(-len(self._waiting) // idle))
            elif len(self._waiting) >= self.MAX_BATCH:
                size = self.MAX_BATCH
            else:
                return
            batch, self._waiting = self._waiting[:size], self._waiting[size:]
            futures = [future for *_, future in batch]
            try:
                sent = self._loop.run_in_executor(self._pool, _parse_and_save, self._cache_dir,
                                                  [(feed_id, result, cap) for feed_id, result, cap, _ in batch])
            except Exception as exc:  # a pool that broke (a worker died) or was shut down
                for future in futures:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self._sent += 1
            sent.add_done_callback(functools.partial(self._done, futures))

    def _done(self, futures: list[asyncio.Future[_Saved]], sent: asyncio.Future[list[_Saved | Exception]]) -> None:
        self._sent -= 1
        if sent.cancelled():
            for future in futures:
                future.cancel()
        elif (failure := sent.exception()) is not None:
            for future in futures:
                if not future.done():
                    future.set_exception(failure)
        else:
            for future, saved in zip(futures, sent.result()):
                if future.done():  # its feed's task was cancelled
                    continue
                if isinstance(saved, BaseException):
                    future.set_exception(saved)
                else:
                    future.set_result(saved)
        self._send()


def _read_local(feed: FeedConfig, max_bytes: int) -> FetchResult:
    path = feed.local_path
    try:
        with path.open("rb") as handle:
            body = handle.read(max_bytes + 1)
    except OSError as exc:
        return FetchResult("error", feed.url, error=f"cannot read {path}: {exc.strerror or exc}")
    if len(body) > max_bytes:
        return FetchResult("error", feed.url, error=f"file larger than {max_bytes // (1024 * 1024)} MB")
    return FetchResult("ok", feed.url, final_url=path.resolve().as_uri(), body=body)
