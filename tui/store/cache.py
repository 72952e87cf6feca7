"""The SQLite cache: schema, migrations and every query the UI and the verbs need.

One file (`docbao.db`) in WAL mode. Writers take the lock up front (BEGIN IMMEDIATE) and
wait for it, so two docbao processes on one cache queue instead of failing with
"database is locked". Unread and total counts per feed are kept by triggers, so start-up
never counts articles. Each feed's refresh is one transaction, or one savepoint in a
transaction that stores several feeds: a failure leaves the cache as it was.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sqlite3
import sys
import time
from array import array
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from tui.store import index
from tui.model import FetchResult, ParsedArticle, ParsedFeed

DB_NAME = "docbao.db"
SCHEMA_VERSION = 11
IMAGES_FOLDER = "images"  # beside the database: one file per fetched image, named by its row id
# Pages of 16 KiB: an article (2-3 KB of summary and content) fits in one with others, where
# 4 KiB pages (SQLite's default) spread it over overflow pages; storing a refresh's articles
# costs a fifth less, and the cache is smaller.
PAGE_SIZE = 16384
BUSY_TIMEOUT_MS = 30_000
MARK_CHUNK = 5_000  # articles marked per transaction by mark_all_read and set_read (0.3 s at a million)


def say_upgrading() -> None:
    """What the commands and the reader say (on stderr, before the screen is the reader's)
    when Store.open migrates a cache: at a million articles that takes seconds, once."""
    print("docbao: updating the cache for this version of docbao (once; a big cache takes a while)…",
          file=sys.stderr, flush=True)


class StoreError(Exception):
    """The cache cannot be used; the message says why and what to do."""


@dataclass(slots=True)
class FeedRow:
    id: int
    url: str
    title: str  # the feed's own title
    site_link: str
    unread: int
    total: int
    last_fetch: int | None
    last_status: str
    last_error: str
    gone: bool
    redirect_url: str
    retry_after: int | None
    etag: str
    last_modified: str
    last_ok: int | None = None  # when a fetch last worked (an answer read, or "not modified")


@dataclass(slots=True)
class ArticleRow:
    """What a list line needs; the body is read only when the article is opened."""

    id: int
    feed_id: int
    title: str
    link: str
    author: str
    published: int | None
    sort_time: int
    read: bool
    starred: bool


@dataclass(slots=True)
class Article(ArticleRow):
    guid: str
    summary: str
    content: str
    enclosures: list[dict[str, object]]  # url, type, length (bytes), duration (seconds)
    first_seen: int
    updated: int | None
    image: str  # the lead image the feed named, "" when none (see render.lead_image)


@dataclass(slots=True)
class AccountFeedRow:
    """A feed of a sync-server account: its cache row, the server's id and labels."""

    feed_id: int
    account: str
    stream_id: str
    feed_url: str
    labels: list[str]
    title: str


@dataclass(frozen=True, slots=True)
class AccountState:
    """What the cache keeps of an account's syncs."""

    watermark: int | None = None  # the newest crawl time seen on the server (epoch s)
    synced: int | None = None  # the last sync that ended well
    tried: int | None = None  # the last sync begun, whatever its end
    error: str = ""  # why the last sync failed ("" when it did not)
    auth: str = ""  # the server's login token, kept until it answers 401


def account_feed_key(account: str, stream_id: str) -> str:
    """The feeds.url of an account's feed: unique, and never a URL a [[feed]] could have."""
    return f"greader:{account}:{stream_id}"


@dataclass(slots=True)
class ExtractRow:
    """Reader mode's copy of an article, or the record of why it could not be had."""

    html: str
    text: str
    fetched: int | None
    error: str
    attempts: int
    retry_after: int | None


@dataclass(slots=True)
class ImageRow:
    """An image of an article: fetched (a file, its pixel size), refused (the reason), or
    still to fetch (neither)."""

    id: int
    url: str
    path: Path | None
    width: int
    height: int
    error: str


@dataclass(slots=True)
class StoreStats:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    new_ids: tuple[int, ...] = ()
    # articles already stored that an update gave enclosures they did not have: (id, urls)
    added_enclosures: tuple[tuple[int, tuple[str, ...]], ...] = ()


_MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE feeds (
        id            INTEGER PRIMARY KEY,
        url           TEXT NOT NULL UNIQUE,
        title         TEXT NOT NULL DEFAULT '',
        site_link     TEXT NOT NULL DEFAULT '',
        etag          TEXT NOT NULL DEFAULT '',
        last_modified TEXT NOT NULL DEFAULT '',
        last_fetch    INTEGER,
        last_status   TEXT NOT NULL DEFAULT '',
        last_error    TEXT NOT NULL DEFAULT '',
        redirect_url  TEXT NOT NULL DEFAULT '',
        gone          INTEGER NOT NULL DEFAULT 0,
        retry_after   INTEGER,
        unread        INTEGER NOT NULL DEFAULT 0,
        total         INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE articles (
        id          INTEGER PRIMARY KEY,
        feed_id     INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
        guid        TEXT NOT NULL,
        link        TEXT NOT NULL DEFAULT '',
        title       TEXT NOT NULL DEFAULT '',
        author      TEXT NOT NULL DEFAULT '',
        published   INTEGER,
        updated     INTEGER,
        summary     TEXT NOT NULL DEFAULT '',
        content     TEXT NOT NULL DEFAULT '',
        enclosures  TEXT NOT NULL DEFAULT '[]',
        read        INTEGER NOT NULL DEFAULT 0,
        starred     INTEGER NOT NULL DEFAULT 0,
        first_seen  INTEGER NOT NULL,
        sort_time   INTEGER NOT NULL,
        digest      TEXT NOT NULL DEFAULT '',
        UNIQUE (feed_id, guid)
    );
    CREATE INDEX articles_by_feed ON articles (feed_id, sort_time DESC, id DESC);
    CREATE INDEX articles_by_time ON articles (sort_time DESC, id DESC);
    CREATE INDEX articles_unread ON articles (sort_time DESC, id DESC) WHERE read = 0;
    CREATE INDEX articles_starred ON articles (sort_time DESC, id DESC) WHERE starred = 1;
    -- guids of pruned articles, so a feed that still lists them does not bring them back
    CREATE TABLE pruned (
        feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
        guid    TEXT NOT NULL,
        PRIMARY KEY (feed_id, guid)
    ) WITHOUT ROWID;
    -- reader mode: the article extracted from its web page, kept beside the feed's text
    CREATE TABLE extracts (
        article_id  INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
        html        TEXT NOT NULL DEFAULT '',
        text        TEXT NOT NULL DEFAULT '',
        fetched     INTEGER,
        error       TEXT NOT NULL DEFAULT '',
        attempts    INTEGER NOT NULL DEFAULT 0,
        retry_after INTEGER
    );
    -- where the reader was: selected feed and article, scroll positions
    CREATE TABLE ui_state (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

    CREATE TRIGGER articles_count_insert AFTER INSERT ON articles BEGIN
        UPDATE feeds SET total = total + 1, unread = unread + (NEW.read = 0) WHERE id = NEW.feed_id;
    END;
    CREATE TRIGGER articles_count_delete AFTER DELETE ON articles BEGIN
        UPDATE feeds SET total = total - 1, unread = unread - (OLD.read = 0) WHERE id = OLD.feed_id;
    END;
    CREATE TRIGGER articles_count_read AFTER UPDATE OF read ON articles
    WHEN OLD.read != NEW.read BEGIN
        UPDATE feeds SET unread = unread + (NEW.read = 0) - (OLD.read = 0) WHERE id = NEW.feed_id;
    END;
    """,
    # 2: media. The lead image of an article; enclosures (JSON) may carry a duration.
    """
    ALTER TABLE articles ADD COLUMN image TEXT NOT NULL DEFAULT '';
    """,
    # 3: downloads of enclosures. `path` is the file the download becomes (its partial
    # copy is path + ".part" until whole); `owner` the pid of the process downloading it.
    """
    CREATE TABLE downloads (
        id          INTEGER PRIMARY KEY,
        article_id  INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        url         TEXT NOT NULL,
        type        TEXT NOT NULL DEFAULT '',
        state       TEXT NOT NULL DEFAULT 'queued',
        path        TEXT NOT NULL DEFAULT '',
        received    INTEGER NOT NULL DEFAULT 0,
        total       INTEGER,
        etag        TEXT NOT NULL DEFAULT '',
        error       TEXT NOT NULL DEFAULT '',
        owner       INTEGER,
        queued      INTEGER NOT NULL,
        finished    INTEGER,
        UNIQUE (article_id, url)
    );
    CREATE INDEX downloads_by_state ON downloads (state, id);
    """,
    # 4: the unread articles of some feeds (a folder, or a feed, with read ones hidden) read
    # from one index, without a look at each row
    """
    CREATE INDEX articles_unread_by_feed ON articles (feed_id, sort_time DESC, id DESC) WHERE read = 0;
    """,
    # 5: accounts on a sync server (Google Reader API). An account's feeds are ordinary feed
    # rows (url "greader:ACCOUNT:STREAM") with their server id and labels; its articles map to
    # the server's item ids; a read or star change on such an article queues a mark for the
    # server in the same transaction (trigger), unless the sync itself is applying the
    # server's state (a row in sync_applying, inside the sync's own transaction).
    """
    CREATE TABLE account_feeds (
        feed_id   INTEGER PRIMARY KEY REFERENCES feeds(id) ON DELETE CASCADE,
        account   TEXT NOT NULL,
        stream_id TEXT NOT NULL,
        feed_url  TEXT NOT NULL DEFAULT '',
        labels    TEXT NOT NULL DEFAULT '[]',
        UNIQUE (account, stream_id)
    );
    CREATE TABLE remote_items (
        account    TEXT NOT NULL,
        item       INTEGER NOT NULL,
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        PRIMARY KEY (account, item)
    ) WITHOUT ROWID;
    CREATE INDEX remote_items_by_article ON remote_items (article_id);
    CREATE TABLE mark_queue (
        seq     INTEGER PRIMARY KEY AUTOINCREMENT,
        account TEXT NOT NULL,
        item    INTEGER NOT NULL,
        field   TEXT NOT NULL,
        value   INTEGER NOT NULL,
        at      INTEGER NOT NULL,
        UNIQUE (account, item, field)
    );
    CREATE TABLE accounts (
        name       TEXT PRIMARY KEY,
        watermark  INTEGER,
        last_sync  INTEGER,
        last_error TEXT NOT NULL DEFAULT ''
    ) WITHOUT ROWID;
    CREATE TABLE sync_applying (flag INTEGER);
    CREATE TRIGGER articles_queue_read AFTER UPDATE OF read ON articles
    WHEN OLD.read != NEW.read AND NOT EXISTS (SELECT 1 FROM sync_applying) BEGIN
        INSERT OR REPLACE INTO mark_queue (account, item, field, value, at)
        SELECT account, item, 'read', NEW.read, CAST(strftime('%s', 'now') AS INTEGER)
        FROM remote_items WHERE article_id = NEW.id;
    END;
    CREATE TRIGGER articles_queue_starred AFTER UPDATE OF starred ON articles
    WHEN OLD.starred != NEW.starred AND NOT EXISTS (SELECT 1 FROM sync_applying) BEGIN
        INSERT OR REPLACE INTO mark_queue (account, item, field, value, at)
        SELECT account, item, 'starred', NEW.starred, CAST(strftime('%s', 'now') AS INTEGER)
        FROM remote_items WHERE article_id = NEW.id;
    END;
    """,
    # 6: images kept for offline reading, each a file in the images folder named by its id.
    # `shown` orders eviction (least recently shown first); an image no article names is pruned.
    """
    CREATE TABLE images (
        id      INTEGER PRIMARY KEY,
        url     TEXT NOT NULL UNIQUE,
        bytes   INTEGER NOT NULL DEFAULT 0,
        width   INTEGER NOT NULL DEFAULT 0,
        height  INTEGER NOT NULL DEFAULT 0,
        fetched INTEGER,
        shown   INTEGER NOT NULL DEFAULT 0,
        error   TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX images_by_shown ON images (shown) WHERE fetched IS NOT NULL;
    CREATE TABLE article_images (
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        image_id   INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        PRIMARY KEY (article_id, image_id)
    ) WITHOUT ROWID;
    CREATE INDEX article_images_by_image ON article_images (image_id);
    """,
    # 7: lists sorted by title read in order from an index, which holds what the lists
    # filter by (feed, read, starred) so that no row is looked at
    """
    CREATE INDEX articles_by_title ON articles (title COLLATE NOCASE, sort_time DESC, id DESC, feed_id, read, starred);
    """,
    # 8: an account's login kept between syncs (the server's Auth token, renewed on 401), and
    # when a sync was last tried (a failed one too), so that a server that is down is tried
    # again after the account's interval rather than at every look of the automatic refresh
    """
    ALTER TABLE accounts ADD COLUMN auth TEXT NOT NULL DEFAULT '';
    ALTER TABLE accounts ADD COLUMN tried INTEGER;
    """,
    # 9: titles sorted in the order of the Vietnamese alphabet (index.title_key); COLLATE
    # NOCASE put every title that starts with a letter with a mark (Đ, Ấ, Ư ...) after Z.
    # (The index on the new order is made by 10, which a cache at 8 runs next: once.)
    # And when each feed was last fetched without an error.
    """
    DROP INDEX articles_by_title;
    -- and when each feed's fetch last worked, which a feed that fails (offline) tells
    ALTER TABLE feeds ADD COLUMN last_ok INTEGER;
    """,
    # 10: the title order skips what comes before a title's first letter or digit (quotes,
    # "#", "…") and sorts numbers by their value: the index's keys are computed again
    """
    DROP INDEX IF EXISTS articles_by_title;
    CREATE INDEX articles_by_title ON articles (docbao_title_key(title), sort_time DESC, id DESC, feed_id, read, starred);
    """,
    # 11: an insert no longer counts itself in a trigger: whoever inserts a feed's articles
    # adds them to its counters once (count_inserted). Any AFTER INSERT trigger, even one
    # that does nothing, cost as much as the insert: 25,000 articles 1.6 s -> 0.85 s of CPU.
    """
    DROP TRIGGER IF EXISTS articles_count_insert;
    """,
]
# How a list can be sorted; "feed" is by feed name (the caller's order of the feeds), each
# feed's articles newest first.
ORDERS = ("newest", "oldest", "title", "feed")
_ORDER_BY = {
    "newest": "a.sort_time DESC, a.id DESC",
    "oldest": "a.sort_time ASC, a.id ASC",
    "title": "docbao_title_key(a.title), a.sort_time DESC, a.id DESC",  # (read from articles_by_title)
}


def article_digest(article: ParsedArticle) -> str:
    """A fingerprint of what the feed said, to tell an edited article from an unchanged one."""
    hasher = hashlib.blake2b(digest_size=12)
    for part in (article.title, article.link, article.author, article.summary, article.content,
                 str(article.published), str(article.updated)):
        hasher.update(part.encode("utf-8", "surrogatepass"))
        hasher.update(b"\x00")
    for enclosure in article.enclosures:
        hasher.update(f"{enclosure.url}\x00{enclosure.type}\x00{enclosure.length}".encode())
        if enclosure.duration is not None:  # only then: a digest without media is as it was
            hasher.update(f"\x00{enclosure.duration}".encode())
    if article.image:
        hasher.update(f"\x01{article.image}".encode("utf-8", "surrogatepass"))
    return hasher.hexdigest()


def enclosures_json(article: ParsedArticle) -> str:
    """The enclosures column: url, type, length, and the duration when one is known."""
    if not article.enclosures:
        return "[]"
    items: list[dict[str, object]] = []
    for enclosure in article.enclosures:
        item: dict[str, object] = {"url": enclosure.url, "type": enclosure.type, "length": enclosure.length}
        if enclosure.duration is not None:
            item["duration"] = enclosure.duration
        items.append(item)
    return json.dumps(items, ensure_ascii=False)


class Store:
    """A connection to one cache file. Not shared between threads."""

    def __init__(self, conn: sqlite3.Connection, path: Path, notice: str = "") -> None:
        self.conn = conn
        self.path = path
        self.notice = notice  # set when a corrupt cache was moved aside

    # ----------------------------------------------------------------- opening
    @classmethod
    def open(cls, folder: Path, *, create: bool = True, upgrading: Callable[[], None] | None = None) -> "Store":
        """Open (and create or migrate) the cache in `folder`; `upgrading` is called before
        a cache written by an older docbao is migrated, which can take a while (seconds
        per million articles), once.

        A corrupt file is moved aside, never deleted, and a fresh cache started; a cache
        written by a newer docbao is refused untouched.
        """
        path = folder / DB_NAME
        if not path.exists() and not create:
            raise StoreError(f"no cache at {path}; run 'docbao refresh' first")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the cache folder {folder}: {exc.strerror or exc}") from exc
        notice = ""
        try:
            conn = cls._connect(path, upgrading)
        except sqlite3.DatabaseError as exc:
            if not _is_corruption(exc):
                raise StoreError(f"cannot open the cache {path}: {exc}") from exc
            aside = _set_aside(path)
            notice = f"the cache {path} was damaged ({exc}); it was moved to {aside} and a new cache started"
            conn = cls._connect(path)
        return cls(conn, path, notice)

    @staticmethod
    def _connect(path: Path, upgrading: Callable[[], None] | None = None) -> sqlite3.Connection:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"the cache {path} was written by a newer docbao (schema {version}, this one "
                    f"knows {SCHEMA_VERSION}); upgrade docbao or use another --cache. It was not changed."
                )
            if not version:  # a new cache: its pages (an existing cache keeps its own size)
                conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
            _use_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA cache_size = -16000")
            index.register(conn)  # (an index of the schema calls them: before any migration)
            if version < SCHEMA_VERSION:
                if version and upgrading is not None:
                    upgrading()
                _migrate(conn, version)
            index.install(conn)  # the full-text index: its triggers call the folding functions
        except BaseException:
            conn.close()
            raise
        return conn

    def close(self) -> None:
        self.conn.close()

    def data_version(self) -> int:
        """A number that changes when another connection (another docbao, a refresh's
        writer) commits to the cache; this connection's own writes leave it as it is.
        Cheap: in WAL mode it takes no lock and reads no page."""
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE: take the write lock at once (and wait for it), so two
        processes never deadlock upgrading a read lock."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    @contextmanager
    def batched(self, size: int = 2000) -> Iterator[Callable[[int], AbstractContextManager[sqlite3.Connection]]]:
        """Many small writes (a bulk import's feeds) in transactions of about `size` articles
        each instead of one each: `with batched() as write:`, then `with write(n) as conn:`
        for each part, n its articles. A commit writes every page it changed, and the
        parts of an import change mostly the same pages (the indexes', the search index's):
        25,500 articles, a feed at a time, wrote 113,000 pages with a commit per feed and
        32,000 in transactions of 2,000 articles. A part that fails rolls back the
        transaction it is in, with the parts before it there, and raises."""
        conn = self.conn
        pending = 0
        index.prepare_bulk(conn)

        @contextmanager
        def write(articles: int) -> Iterator[sqlite3.Connection]:
            nonlocal pending
            if not conn.in_transaction:
                conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                pending = 0
                raise
            pending += articles
            if pending >= size:
                conn.execute("COMMIT")
                pending = 0

        try:
            yield write
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    # ------------------------------------------------------------------- feeds
    def ensure_feeds(self, urls: Iterable[str]) -> dict[str, int]:
        """Rows for the configured feeds (existing rows and their articles are kept)."""
        urls = list(urls)
        with self.transaction() as conn:
            conn.executemany("INSERT OR IGNORE INTO feeds (url) VALUES (?)", [(u,) for u in urls])
        return self.feed_ids(urls)

    def feed_ids(self, urls: Sequence[str]) -> dict[str, int]:
        ids: dict[str, int] = {}
        for chunk in _chunks(list(urls), 500):
            marks = ",".join("?" * len(chunk))
            ids.update(self.conn.execute(f"SELECT url, id FROM feeds WHERE url IN ({marks})", chunk).fetchall())
        return ids

    def feeds(self) -> list[FeedRow]:
        rows = self.conn.execute(
            "SELECT id, url, title, site_link, unread, total, last_fetch, last_status, last_error,"
            " gone, redirect_url, retry_after, etag, last_modified, last_ok FROM feeds ORDER BY id"
        ).fetchall()
        return [FeedRow(*row[:9], bool(row[9]), *row[10:]) for row in rows]

    def feed(self, feed_id: int) -> FeedRow | None:
        return next((f for f in self.feeds() if f.id == feed_id), None)

    def totals(self) -> tuple[int, int]:
        """(unread, total) over every feed, from the maintained counters."""
        row = self.conn.execute("SELECT coalesce(sum(unread), 0), coalesce(sum(total), 0) FROM feeds").fetchone()
        return int(row[0]), int(row[1])

    def forget_feed(self, feed_id: int) -> None:
        """Delete a feed and all its articles (the --purge of `docbao remove`)."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM feeds WHERE id = ?", (feed_id,))

    def move_feed(self, old_url: str, new_url: str) -> bool:
        """The cached feed at `old_url` goes on at `new_url` (its address in feeds.toml
        changed after a permanent redirect), with its articles and their state. False,
        and nothing changed, when the cache already holds articles under `new_url`."""
        with self.transaction() as conn:
            target = conn.execute("SELECT id, total FROM feeds WHERE url = ?", (new_url,)).fetchone()
            if target is not None:
                if target[1]:
                    return False
                conn.execute("DELETE FROM feeds WHERE id = ?", (target[0],))
            conn.execute("UPDATE feeds SET url = ?, redirect_url = '' WHERE url = ?", (new_url, old_url))
        return True

    # ----------------------------------------------------------------- refresh
    def save_fetch(self, feed_id: int, result: FetchResult, parsed: ParsedFeed | None,
                   *, now: int | None = None) -> StoreStats:
        """Record one fetch and merge its articles, all in one transaction.

        New articles are inserted; edited ones are updated in place (keeping id, read and
        starred); articles missing from the document are kept. An error records the
        message and touches no article.
        """
        now = int(time.time()) if now is None else now
        with self.transaction() as conn:
            return self._save_fetch(conn, feed_id, result, parsed, now)

    def save_fetches(self, fetches: Sequence[tuple[int, FetchResult, ParsedFeed | None]],
                     *, now: int | None = None) -> list[StoreStats | Exception]:
        """save_fetch for several feeds in one transaction, each feed in a savepoint of its
        own: a feed whose writes fail is rolled back alone (the exception takes its place in
        the list) and the others are committed together. One commit writes each page the
        feeds share (the indexes' pages) once, where a commit per feed wrote it each time."""
        now = int(time.time()) if now is None else now
        saved: list[StoreStats | Exception] = []
        with self.transaction() as conn:
            for feed_id, result, parsed in fetches:
                conn.execute("SAVEPOINT feed")
                try:
                    saved.append(self._save_fetch(conn, feed_id, result, parsed, now))
                except Exception as exc:  # noqa: BLE001 - one feed's failure stays its own
                    conn.execute("ROLLBACK TO feed")
                    saved.append(exc)
                conn.execute("RELEASE feed")
        return saved

    def _save_fetch(self, conn: sqlite3.Connection, feed_id: int, result: FetchResult,
                    parsed: ParsedFeed | None, now: int) -> StoreStats:
        stats = StoreStats()
        sets = ["last_fetch = ?", "last_status = ?", "last_error = ?"]
        values: list[object] = [now, result.status, result.error]
        if result.status in ("ok", "not_modified"):
            sets += ["etag = ?", "last_modified = ?", "retry_after = NULL", "last_ok = ?"]
            values += [result.etag, result.last_modified, now]
        if result.permanent_url:
            sets.append("redirect_url = ?")
            values.append(result.permanent_url)
        if result.status == "gone":
            sets.append("gone = 1")
        if result.retry_after is not None:
            sets.append("retry_after = ?")
            values.append(result.retry_after)
        if parsed is not None:
            sets += ["title = ?", "site_link = ?"]
            values += [parsed.title, parsed.link]
            if parsed.warning:
                values[2] = parsed.warning
        conn.execute(f"UPDATE feeds SET {', '.join(sets)} WHERE id = ?", (*values, feed_id))
        if parsed is not None and parsed.articles:
            stats = self._merge(conn, feed_id, parsed.articles, now)
        return stats

    def _merge(self, conn: sqlite3.Connection, feed_id: int, articles: list[ParsedArticle],
               now: int) -> StoreStats:
        # An article is known by its id as written (a path id that the parser resolves against
        # the document keeps its identity when the feed moves); duplicates: the last wins.
        by_guid = {a.written_guid or a.guid: a for a in articles}
        known: dict[str, tuple[int, str, str]] = {}  # guid -> id, digest, enclosures
        guids = list(by_guid)
        for chunk in _chunks(guids, 500):
            marks = ",".join("?" * len(chunk))
            for guid, article_id, digest, stored_enclosures in conn.execute(
                f"SELECT guid, id, digest, enclosures FROM articles WHERE feed_id = ? AND guid IN ({marks})",
                (feed_id, *chunk),
            ):
                known[guid] = (article_id, digest, stored_enclosures)
            for (guid,) in conn.execute(
                f"SELECT guid FROM pruned WHERE feed_id = ? AND guid IN ({marks})", (feed_id, *chunk)
            ):
                known.setdefault(guid, (0, "", ""))
        inserts, updates = [], []
        added_enclosures: list[tuple[int, tuple[str, ...]]] = []
        unchanged = 0
        for guid, article in by_guid.items():
            digest = article_digest(article)
            enclosures = enclosures_json(article)
            if guid not in known:
                inserts.append((feed_id, guid, article.link, article.title, article.author,
                                article.published, article.updated, article.summary, article.content,
                                enclosures, article.image, now, article.published or now, digest))
            elif known[guid][0] == 0 or known[guid][1] == digest:
                unchanged += 1
            else:
                updates.append((article.link, article.title, article.author, article.published,
                                article.updated, article.summary, article.content, enclosures,
                                article.image, article.published, digest, known[guid][0]))
                if enclosures != known[guid][2]:
                    before = {str(item.get("url")) for item in json.loads(known[guid][2] or "[]")}
                    added = tuple(e.url for e in article.enclosures if e.url not in before)
                    if added:
                        added_enclosures.append((known[guid][0], added))
        # Oldest first, and articles of the same time in the reverse of the feed's order: ids
        # then rise with dates, so "the most recently stored" (search's blocks) is the newest,
        # and lists, which break ties by id, show undated articles in the feed's own order.
        inserts.reverse()
        inserts.sort(key=lambda row: row[12])  # (sort_time; a stable sort)
        new_ids: list[int] = []
        for row in inserts:
            cursor = conn.execute(
                "INSERT INTO articles (feed_id, guid, link, title, author, published, updated, summary,"
                " content, enclosures, image, first_seen, sort_time, digest)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                row,
            )
            new_ids.append(int(cursor.lastrowid or 0))
        count_inserted(conn, feed_id, len(inserts), len(inserts))  # (unread, as inserted)
        conn.executemany(
            "UPDATE articles SET link = ?, title = ?, author = ?, published = ?, updated = ?, summary = ?,"
            " content = ?, enclosures = ?, image = ?, sort_time = coalesce(?, first_seen), digest = ?"
            " WHERE id = ?",
            updates,
        )
        return StoreStats(len(inserts), len(updates), unchanged, tuple(new_ids), tuple(added_enclosures))

    def prune(self, keep_articles: int = 0, keep_days: int = 0, *, now: int | None = None) -> int:
        """Delete read, unstarred articles beyond the limits; returns how many went.

        Unread and starred articles are never pruned. Pruned guids are remembered so the
        feed cannot bring them back as new.
        """
        if not keep_articles and not keep_days:
            return 0
        now = int(time.time()) if now is None else now
        oldest_kept = (now - keep_days * 86400, 0) if keep_days else None
        gone = 0
        conn = self.conn
        # Feed by feed, from the indexes: the cost follows the articles older than the limits,
        # not the cache (one query over every row was a pass over gigabytes at a million
        # articles, at every refresh). What goes is deleted 500 at a time, each in its own
        # transaction, so that the reader's marks never wait long; an article marked unread
        # or starred meanwhile stays.
        for feed_id, total, unread in conn.execute("SELECT id, total, unread FROM feeds").fetchall():
            if total == unread:
                continue  # nothing read (the counters follow every change)
            bound = oldest_kept  # prune the read, unstarred articles before it (sort_time, id)
            if keep_articles and total > keep_articles:
                last_kept = conn.execute(
                    "SELECT sort_time, id FROM articles WHERE feed_id = ?"
                    " ORDER BY sort_time DESC, id DESC LIMIT 1 OFFSET ?", (feed_id, keep_articles - 1)).fetchone()
                if last_kept is not None and (bound is None or tuple(last_kept) > bound):
                    bound = tuple(last_kept)
            if bound is None:
                continue
            older = (feed_id, *bound)
            # the read ones: the articles before the bound but the unread ones, both lists from
            # indexes, so that only the rows of read articles (which may go) are visited
            read = [row[0] for row in conn.execute(
                "SELECT id FROM articles WHERE feed_id = ? AND (sort_time, id) < (?, ?) EXCEPT"
                " SELECT id FROM articles WHERE feed_id = ? AND read = 0 AND (sort_time, id) < (?, ?)", older * 2)]
            for chunk in _chunks(read, 500):
                where = f"id IN ({','.join('?' * len(chunk))}) AND read = 1 AND starred = 0"
                with self.transaction():
                    conn.execute("INSERT OR IGNORE INTO pruned (feed_id, guid)"
                                 f" SELECT feed_id, guid FROM articles WHERE {where}", chunk)
                    gone += conn.execute(f"DELETE FROM articles WHERE {where}", chunk).rowcount
        self.prune_images()
        return gone

    # ------------------------------------------------------------------ images
    @property
    def images_folder(self) -> Path:
        return self.path.parent / IMAGES_FOLDER

    def link_images(self, article_id: int, urls: Sequence[str]) -> None:
        """Record that an article shows these images (a row each, to fetch later)."""
        if not urls:
            return
        with self.transaction() as conn:
            conn.executemany("INSERT OR IGNORE INTO images (url) VALUES (?)", [(u,) for u in urls])
            conn.executemany(
                "INSERT OR IGNORE INTO article_images (article_id, image_id)"
                " SELECT ?, id FROM images WHERE url = ?", [(article_id, u) for u in urls])

    def images(self, urls: Sequence[str]) -> dict[str, ImageRow]:
        """The rows of these image URLs (those the cache knows), by URL."""
        found: dict[str, ImageRow] = {}
        folder = self.images_folder
        for chunk in _chunks(list(urls), 500):
            marks = ",".join("?" * len(chunk))
            for image_id, url, width, height, fetched, error in self.conn.execute(
                f"SELECT id, url, width, height, fetched, error FROM images WHERE url IN ({marks})", chunk
            ):
                path = folder / str(image_id) if fetched is not None else None
                found[url] = ImageRow(image_id, url, path, width, height, error)
        return found

    def image_origin(self, article_id: int) -> str:
        """The URL of the feed an article came from (its images may not reach a private
        address unless the feed itself is on one)."""
        row = self.conn.execute(
            "SELECT f.url FROM articles a JOIN feeds f ON f.id = a.feed_id WHERE a.id = ?", (article_id,)
        ).fetchone()
        return row[0] if row else ""

    def images_to_fetch(self, article_ids: Sequence[int]) -> list[tuple[str, str]]:
        """(image URL, feed URL) of these articles' images neither fetched nor refused."""
        found: list[tuple[str, str]] = []
        for chunk in _chunks(list(article_ids), 500):
            marks = ",".join("?" * len(chunk))
            found.extend(self.conn.execute(
                "SELECT DISTINCT i.url, f.url FROM article_images ai JOIN images i ON i.id = ai.image_id"
                " JOIN articles a ON a.id = ai.article_id JOIN feeds f ON f.id = a.feed_id"
                f" WHERE ai.article_id IN ({marks}) AND i.fetched IS NULL AND i.error = ''", chunk))
        return found

    def save_image(self, url: str, data: bytes, width: int, height: int, *, limit_bytes: int,
                   now: int | None = None) -> None:
        """Keep a fetched image (its file first, then its row), then evict the least
        recently shown ones beyond `limit_bytes`."""
        now = int(time.time()) if now is None else now
        with self.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO images (url) VALUES (?)", (url,))
            (image_id,) = conn.execute("SELECT id FROM images WHERE url = ?", (url,)).fetchone()
            folder = self.images_folder
            folder.mkdir(exist_ok=True)
            part = folder / f"{image_id}.part"
            part.write_bytes(data)
            part.replace(folder / str(image_id))
            conn.execute("UPDATE images SET bytes = ?, width = ?, height = ?, fetched = ?, shown = ?,"
                         " error = '' WHERE id = ?", (len(data), width, height, now, now, image_id))
        self.evict_images(limit_bytes)

    def save_image_error(self, url: str, error: str) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO images (url) VALUES (?)", (url,))
            conn.execute("UPDATE images SET error = ? WHERE url = ?", (error or "refused", url))

    def mark_images_shown(self, urls: Sequence[str], now: int | None = None) -> None:
        now = int(time.time()) if now is None else now
        with self.transaction() as conn:
            conn.executemany("UPDATE images SET shown = ? WHERE url = ?", [(now, u) for u in urls])

    def evict_images(self, limit_bytes: int) -> int:
        """Forget the least recently shown images until the kept ones fit in `limit_bytes`;
        how many went. An evicted image is fetched again when next shown."""
        total = self.conn.execute("SELECT coalesce(sum(bytes), 0) FROM images WHERE fetched IS NOT NULL").fetchone()[0]
        if total <= limit_bytes:
            return 0
        going: list[int] = []
        for image_id, size in self.conn.execute(
                "SELECT id, bytes FROM images WHERE fetched IS NOT NULL ORDER BY shown, id"):
            if total <= limit_bytes:
                break
            going.append(image_id)
            total -= size
        with self.transaction() as conn:
            conn.executemany("UPDATE images SET fetched = NULL, bytes = 0, width = 0, height = 0 WHERE id = ?",
                             [(i,) for i in going])
        self._unlink_images(going)
        return len(going)

    def prune_images(self) -> int:
        """Delete the images no article names any more (with their files)."""
        with self.transaction() as conn:
            going = [row[0] for row in conn.execute(
                "SELECT id FROM images WHERE id NOT IN (SELECT image_id FROM article_images)")]
            conn.executemany("DELETE FROM images WHERE id = ?", [(i,) for i in going])
        self._unlink_images(going)
        return len(going)

    def _unlink_images(self, ids: Iterable[int]) -> None:
        folder = self.images_folder
        for image_id in ids:
            (folder / str(image_id)).unlink(missing_ok=True)

    # ---------------------------------------------------------------- articles
    def article_ids(self, *, feed_ids: Sequence[int] | None = None, unread: bool = False,
                    starred: bool = False, oldest_first: bool = False, order: str = "",
                    feed_order: Sequence[int] = (), limit: int | None = None, compact: bool = False) -> list[int]:
        """Ids of a view in display order: enough to drive a virtual list of any length.
        `order` is one of ORDERS (default: newest first, or oldest with `oldest_first`);
        by "feed", the feeds come in `feed_order`, each read from its own index. `compact`:
        as an array of 8-byte ints (8 MB for a million, a list of them takes 36)."""
        order = order or ("oldest" if oldest_first else "newest")
        if order == "feed":
            wanted = None if feed_ids is None else set(feed_ids)
            ids: list[int] = array("q") if compact else []  # type: ignore[assignment]
            for feed_id in feed_order:
                if wanted is None or feed_id in wanted:
                    ids.extend(self.article_ids(feed_ids=[feed_id], unread=unread, starred=starred,
                                                limit=limit and limit - len(ids)))
                    if limit and len(ids) >= limit:
                        break
            return ids
        clauses, params = self._filters(feed_ids, unread, starred)
        sql = f"SELECT id FROM articles a {clauses} ORDER BY {_ORDER_BY[order]}"
        if limit:
            sql += f" LIMIT {int(limit)}"
        rows = self.conn.execute(sql, params)
        if compact:  # the rows' one-tuples flattened in C: a million in about two thirds of the time
            return array("q", itertools.chain.from_iterable(rows))  # type: ignore[return-value]
        return [row[0] for row in rows]

    def ids_around(self, article_id: int, count: int, *, feed_ids: Sequence[int] | None = None,
                   unread: bool = False, starred: bool = False, order: str = "newest") -> list[int]:
        """About `count` ids of a view in display order around `article_id`'s place (the
        article in the middle, or where it would be when it left the view: marked read
        in a view of unread articles), read by keyset from the date index: a place in a
        view of any length without reading the whole view. [] for the other orders, or
        when the article is not in the store."""
        if order not in ("newest", "oldest"):
            return []
        clauses, params = self._filters(feed_ids, unread, starred)
        where = f"{clauses} AND" if clauses else "WHERE"
        key = self.conn.execute("SELECT sort_time, id FROM articles WHERE id = ?", (article_id,)).fetchone()
        if key is None:
            return []
        before, after = (">", "<=") if order == "newest" else ("<", ">=")
        backwards = "oldest" if order == "newest" else "newest"
        sql = "SELECT id FROM articles a {} (a.sort_time, a.id) {} (?, ?) ORDER BY {} LIMIT ?"
        above = [row[0] for row in self.conn.execute(sql.format(where, before, _ORDER_BY[backwards]),
                                                     [*params, *key, count // 2])]
        below = [row[0] for row in self.conn.execute(sql.format(where, after, _ORDER_BY[order]),
                                                     [*params, *key, count - len(above)])]
        return above[::-1] + below

    def next_unread(self, article_id: int, *, forward: bool = True, feed_ids: Sequence[int] | None = None,
                    starred: bool = False, order: str = "newest") -> int | None:
        """The first unread article after `article_id` (before it, with `forward` False) in a
        view sorted by date, read by keyset from the unread index: `n` in a view of any
        length without reading the view. None when there is none (or for other orders)."""
        if order not in ("newest", "oldest"):
            return None
        clauses, params = self._filters(feed_ids, False, starred)
        where = f"{clauses} AND" if clauses else "WHERE"
        key = self.conn.execute("SELECT sort_time, id FROM articles WHERE id = ?", (article_id,)).fetchone()
        if key is None:
            return None
        newer = (order == "newest") != forward  # the way through the view runs to newer articles
        row = self.conn.execute(
            f"SELECT id FROM articles a {where} a.read = 0 AND (a.sort_time, a.id) {'>' if newer else '<'} (?, ?)"
            f" ORDER BY {_ORDER_BY['oldest' if newer else 'newest']} LIMIT 1", [*params, *key]).fetchone()
        return row[0] if row else None

    def order_key(self, order: str, feed_order: Sequence[int] = ()) -> Callable[[int], tuple[object, ...]]:
        """An article's place in one of ORDERS as a Python key: ids listed by article_ids in
        that order are sorted by it, so where an article is (or would be) in a view of any
        length is found by bisection, reading a few rows instead of the view. A missing
        article sorts last."""
        rank = {feed_id: n for n, feed_id in enumerate(feed_order)}
        keys: dict[int, tuple[object, ...]] = {}

        def key(article_id: int) -> tuple[object, ...]:
            found = keys.get(article_id)
            if found is None:
                row = self.conn.execute("SELECT sort_time, title, feed_id FROM articles WHERE id = ?",
                                        (article_id,)).fetchone()
                if row is None:
                    found = (1, )
                else:
                    sort_time, title, feed_id = row
                    found = {
                        "newest": (0, -sort_time, -article_id),
                        "oldest": (0, sort_time, article_id),
                        "title": (0, index.title_key(title), -sort_time, -article_id),
                        "feed": (0, rank.get(feed_id, len(rank)), -sort_time, -article_id),
                    }[order]
                keys[article_id] = found
            return found

        return key

    def sort_ids(self, ids: Sequence[int], order: str, feed_order: Sequence[int] = ()) -> list[int]:
        """Some articles (a search's) in one of ORDERS, as article_ids sorts a view."""
        rows = self.conn.execute(
            "SELECT a.id, a.feed_id FROM json_each(?) j JOIN articles a ON a.id = j.value"
            f" ORDER BY {_ORDER_BY.get(order, _ORDER_BY['newest'])}", (json.dumps(list(ids)),)).fetchall()
        if order == "feed":
            rank = {feed_id: n for n, feed_id in enumerate(feed_order)}
            rows.sort(key=lambda row: rank.get(row[1], len(rank)))  # stable: newest first in each feed
        return [row[0] for row in rows]

    @staticmethod
    def _filters(feed_ids: Sequence[int] | None, unread: bool, starred: bool) -> tuple[str, list[object]]:
        clauses: list[str] = []
        params: list[object] = []
        if feed_ids is not None:
            if len(feed_ids) == 1:
                clauses.append("feed_id = ?")
            else:
                clauses.append(f"feed_id IN ({','.join('?' * len(feed_ids))})")
            params.extend(feed_ids)
        if unread:
            clauses.append("read = 0")
        if starred:
            clauses.append("starred = 1")
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params

    def rows(self, ids: Sequence[int]) -> list[ArticleRow]:
        """List rows for the given ids, in the order given (missing ids are skipped)."""
        found: dict[int, ArticleRow] = {}
        for chunk in _chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(
                "SELECT id, feed_id, title, link, author, published, sort_time, read, starred"
                f" FROM articles WHERE id IN ({marks})", chunk,
            ):
                found[row[0]] = ArticleRow(*row[:7], bool(row[7]), bool(row[8]))
        return [found[i] for i in ids if i in found]

    def leads(self, ids: Sequence[int], length: int = 1500) -> dict[int, str]:
        """The start of the body (HTML, `length` characters) of the untitled articles among
        `ids`: lists show it in place of a title."""
        found: dict[int, str] = {}
        for chunk in _chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            found.update(self.conn.execute(
                "SELECT id, substr(CASE WHEN summary != '' THEN summary ELSE content END, 1, ?)"
                f" FROM articles WHERE id IN ({marks}) AND title = ''", (length, *chunk)).fetchall())
        return found

    def media(self, ids: Sequence[int]) -> dict[int, tuple[list[dict[str, object]], str, str]]:
        """Enclosures, the image the feed named and the body of the given articles, by id
        (for listings that show media without the rest of the article)."""
        found: dict[int, tuple[list[dict[str, object]], str, str]] = {}
        for chunk in _chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            for article_id, enclosures, image, body in self.conn.execute(
                "SELECT id, enclosures, image, CASE WHEN content != '' THEN content ELSE summary END"
                f" FROM articles WHERE id IN ({marks})", chunk
            ):
                found[article_id] = (json.loads(enclosures or "[]"), image, body)
        return found

    def article(self, article_id: int) -> Article | None:
        row = self.conn.execute(
            "SELECT id, feed_id, title, link, author, published, sort_time, read, starred,"
            " guid, summary, content, enclosures, first_seen, updated, image FROM articles WHERE id = ?",
            (article_id,),
        ).fetchone()
        if row is None:
            return None
        return Article(*row[:7], bool(row[7]), bool(row[8]), row[9], row[10], row[11],
                       json.loads(row[12] or "[]"), row[13], row[14], row[15])

    def set_read(self, ids: Sequence[int], read: bool = True,
                 progress: Callable[[int], None] | None = None,
                 stop: Callable[[], bool] | None = None) -> Sequence[int]:
        """Mark these articles read (or unread), MARK_CHUNK per transaction (see
        mark_all_read), told to `progress` as they go; the ids gone through (as id_array
        gives them), all of them unless `stop` said so between two chunks."""
        ids = id_array(ids)
        for start in range(0, len(ids), MARK_CHUNK):
            if start and stop is not None and stop():
                return ids[:start]
            with self.transaction() as conn:
                for chunk in _chunks(ids[start:start + MARK_CHUNK], 500):
                    marks = ",".join("?" * len(chunk))
                    conn.execute(f"UPDATE articles SET read = ? WHERE id IN ({marks}) AND read != ?",
                                 (int(read), *chunk, int(read)))
            if progress is not None:
                progress(min(len(ids), start + MARK_CHUNK))
        return ids

    def set_starred(self, article_id: int, starred: bool) -> None:
        self.set_starred_many([article_id], starred)

    def set_starred_many(self, ids: Sequence[int], starred: bool) -> None:
        with self.transaction() as conn:
            for chunk in _chunks(list(ids), 500):
                marks = ",".join("?" * len(chunk))
                conn.execute(f"UPDATE articles SET starred = ? WHERE id IN ({marks})", (int(starred), *chunk))

    def mark_all_read(self, *, feed_ids: Sequence[int] | None = None, starred: bool = False,
                      progress: Callable[[int], None] | None = None,
                      stop: Callable[[], bool] | None = None, hidden: Collection[int] = ()) -> Sequence[int]:
        """Mark the unread articles of these feeds read but the `hidden` ones (the [[ignore]]
        rules hide them: the user never saw them); the ids it marked, to undo it (as
        id_array gives them).

        MARK_CHUNK articles per transaction, told to `progress` as they go: each article
        marked rewrites its page, so a million of them take a minute, and a transaction
        that long would keep a refresh from writing (it waits BUSY_TIMEOUT_MS at most).
        Articles a refresh stores meanwhile are not marked: nobody has seen them. `stop`
        is asked between two chunks: when it says so, the mark ends there (whole chunks
        only), and the ids marked so far are returned."""
        clauses, params = self._filters(feed_ids, True, starred)
        if hidden:
            clauses += " AND id NOT IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(sorted(hidden)))
        (below,) = self.conn.execute("SELECT coalesce(max(id), 0) + 1 FROM articles").fetchone()
        marked = id_array()
        while True:
            # each chunk below the last one's ids: a scan from the start would read the rows
            # the chunks before marked again, every time
            with self.transaction() as conn:
                chunk = id_array(itertools.chain.from_iterable(conn.execute(
                    f"UPDATE articles SET read = 1 WHERE id IN (SELECT id FROM articles {clauses} AND id < ?"
                    " ORDER BY id DESC LIMIT ?) RETURNING id", (*params, below, MARK_CHUNK))))
            marked += chunk
            if progress is not None:
                progress(len(marked))
            if len(chunk) < MARK_CHUNK or (stop is not None and stop()):
                return marked
            below = min(chunk)

    def count(self, *, feed_ids: Sequence[int] | None = None, unread: bool = False,
              starred: bool = False) -> int:
        clauses, params = self._filters(feed_ids, unread, starred)
        # the starred articles' own index: SQLite would otherwise count through the covering
        # title index, every article (313 ms at 1,000,000 articles, at each mark), not 0.6 ms,
        # or through every article of the feeds asked for (all those subscribed, when the
        # cache keeps a feed unsubscribed from)
        table = "articles INDEXED BY articles_starred" if starred else "articles"
        return int(self.conn.execute(f"SELECT count(*) FROM {table} {clauses}", params).fetchone()[0])

    def unread_by_feed(self, ids: Collection[int]) -> dict[int, int]:
        """Of these articles, how many are unread in each feed (feed id -> count)."""
        counts: dict[int, int] = {}
        for chunk in _chunks(list(ids), 500):
            for feed_id, unread in self.conn.execute(
                    f"SELECT feed_id, count(*) FROM articles WHERE read = 0 AND id IN ({','.join('?' * len(chunk))})"
                    " GROUP BY feed_id", chunk):
                counts[feed_id] = counts.get(feed_id, 0) + unread
        return counts

    # ------------------------------------------------------------ reader mode
    def extract(self, article_id: int) -> ExtractRow | None:
        row = self.conn.execute(
            "SELECT html, text, fetched, error, attempts, retry_after FROM extracts WHERE article_id = ?",
            (article_id,),
        ).fetchone()
        return ExtractRow(*row) if row else None

    def save_extract(self, article_id: int, html: str, text: str, *, author: str = "",
                     published: int | None = None, now: int | None = None) -> None:
        """Keep the extracted article; its metadata fills what the feed left empty."""
        now = int(time.time()) if now is None else now
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO extracts (article_id, html, text, fetched, error, attempts, retry_after)"
                " VALUES (?, ?, ?, ?, '', 0, NULL) ON CONFLICT (article_id) DO UPDATE SET html = excluded.html,"
                " text = excluded.text, fetched = excluded.fetched, error = '', attempts = 0, retry_after = NULL",
                (article_id, html, text, now),
            )
            if author:
                conn.execute("UPDATE articles SET author = ? WHERE id = ? AND author = ''", (author, article_id))
            if published:
                conn.execute("UPDATE articles SET published = ?, sort_time = ? WHERE id = ? AND published IS NULL",
                             (published, published, article_id))

    def save_extract_error(self, article_id: int, error: str, *, now: int | None = None) -> int:
        """Record a failed page fetch or extraction; the next try waits longer each time
        (1 h, 2 h, 4 h ... up to 7 days). A copy fetched before is kept. Returns when the
        next attempt is allowed."""
        now = int(time.time()) if now is None else now
        with self.transaction() as conn:
            row = conn.execute("SELECT attempts FROM extracts WHERE article_id = ?", (article_id,)).fetchone()
            attempts = (row[0] if row else 0) + 1
            retry = now + min(3600 * 2 ** (attempts - 1), 7 * 86400)
            conn.execute(
                "INSERT INTO extracts (article_id, error, attempts, retry_after) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (article_id) DO UPDATE SET error = excluded.error, attempts = excluded.attempts,"
                " retry_after = excluded.retry_after",
                (article_id, error, attempts, retry),
            )
        return retry

    def extract_candidates(self, *, ids: Sequence[int] | None = None, feed_ids: Sequence[int] | None = None,
                           unread_only: bool = False, now: int | None = None) -> list[tuple[int, str]]:
        """(id, link) of articles with a web link and no extract, whose retry time has come;
        with unread_only, only those still to be read (unread or starred)."""
        now = int(time.time()) if now is None else now
        clauses = ["a.link LIKE 'http%'", "(e.article_id IS NULL OR (e.fetched IS NULL AND coalesce(e.retry_after, 0) <= ?))"]
        params: list[object] = [now]
        if ids is not None:
            clauses.append(f"a.id IN ({','.join('?' * len(ids))})")
            params.extend(ids)
        if feed_ids is not None:
            clauses.append(f"a.feed_id IN ({','.join('?' * len(feed_ids))})")
            params.extend(feed_ids)
        if unread_only:
            clauses.append("(a.read = 0 OR a.starred = 1)")
        return self.conn.execute(
            f"SELECT a.id, a.link FROM articles a LEFT JOIN extracts e ON e.article_id = a.id"
            f" WHERE {' AND '.join(clauses)} ORDER BY a.sort_time DESC", params,
        ).fetchall()

    # ---------------------------------------------------------------- accounts
    def account_feeds(self, account: str | None = None) -> list[AccountFeedRow]:
        """The feeds of one account (every account's with None), in the order the server listed them."""
        sql = ("SELECT a.feed_id, a.account, a.stream_id, a.feed_url, a.labels, f.title FROM account_feeds a"
               " JOIN feeds f ON f.id = a.feed_id")
        rows = self.conn.execute(sql + (" WHERE a.account = ?" if account is not None else "") + " ORDER BY f.id",
                                 (account,) if account is not None else ()).fetchall()
        return [AccountFeedRow(r[0], r[1], r[2], r[3], json.loads(r[4] or "[]"), r[5]) for r in rows]

    def save_account_feeds(self, account: str, feeds: Sequence[tuple[str, str, str, str, list[str]]]
                           ) -> tuple[list[str], int]:
        """Mirror the server's subscription list (stream id, title, feed URL, site URL, labels):
        new feeds get rows, titles and labels follow the server, feeds the server no longer
        lists go with their articles. Returns (the stream ids added, how many removed)."""
        with self.transaction() as conn:
            known = dict(conn.execute("SELECT stream_id, feed_id FROM account_feeds WHERE account = ?", (account,)))
            added: list[str] = []
            for stream_id, title, feed_url, site, labels in feeds:
                feed_id = known.pop(stream_id, None)
                if feed_id is None:
                    url = account_feed_key(account, stream_id)
                    conn.execute("INSERT OR IGNORE INTO feeds (url) VALUES (?)", (url,))
                    feed_id = conn.execute("SELECT id FROM feeds WHERE url = ?", (url,)).fetchone()[0]
                    conn.execute("INSERT OR REPLACE INTO account_feeds (feed_id, account, stream_id) VALUES (?, ?, ?)",
                                 (feed_id, account, stream_id))
                    added.append(stream_id)
                conn.execute("UPDATE account_feeds SET feed_url = ?, labels = ? WHERE feed_id = ?",
                             (feed_url, json.dumps(labels, ensure_ascii=False), feed_id))
                conn.execute("UPDATE feeds SET title = ?, site_link = ?, last_status = 'ok', last_error = ''"
                             " WHERE id = ?", (title, site, feed_id))
            for feed_id in known.values():
                conn.execute("DELETE FROM feeds WHERE id = ?", (feed_id,))
        return added, len(known)

    def save_remote_items(self, account: str, feed_id: int,
                          items: Sequence[tuple[int, ParsedArticle, bool, bool]], *,
                          now: int | None = None) -> StoreStats:
        """Merge one feed's items from the server (item id, article, read, starred) in one
        transaction. A new article takes the server's read and starred state; a known
        one keeps its own (the state sync settles it, see apply_remote_state)."""
        now = int(time.time()) if now is None else now
        with self.transaction() as conn:
            conn.execute("UPDATE feeds SET last_fetch = ? WHERE id = ?", (now, feed_id))
            stats = self._merge(conn, feed_id, [article for _, article, _, _ in items], now)
            new = set(stats.new_ids)
            by_guid: dict[str, int] = {}
            guids = [article.guid for _, article, _, _ in items]
            for chunk in _chunks(guids, 500):
                marks = ",".join("?" * len(chunk))
                by_guid.update(conn.execute(
                    f"SELECT guid, id FROM articles WHERE feed_id = ? AND guid IN ({marks})", (feed_id, *chunk)))
            conn.executemany("INSERT OR IGNORE INTO remote_items (account, item, article_id) VALUES (?, ?, ?)",
                             [(account, item, by_guid[a.guid]) for item, a, _, _ in items if a.guid in by_guid])
            conn.execute("INSERT INTO sync_applying VALUES (1)")
            conn.executemany("UPDATE articles SET read = ?, starred = ? WHERE id = ?",
                             [(int(read), int(starred), by_guid[a.guid]) for _, a, read, starred in items
                              if by_guid.get(a.guid) in new])
            conn.execute("DELETE FROM sync_applying")
        return stats

    def pending_marks(self, account: str) -> list[tuple[int, int, str, bool]]:
        """The marks not yet sent to the server: (seq, item id, 'read' or 'starred', value)."""
        return [(seq, item, field, bool(value)) for seq, item, field, value in self.conn.execute(
            "SELECT seq, item, field, value FROM mark_queue WHERE account = ? ORDER BY seq", (account,))]

    def drop_marks(self, seqs: Sequence[int]) -> None:
        """Forget marks the server has taken. A mark made again meanwhile has a new seq and stays."""
        with self.transaction() as conn:
            for chunk in _chunks(list(seqs), 500):
                conn.execute(f"DELETE FROM mark_queue WHERE seq IN ({','.join('?' * len(chunk))})", chunk)

    def apply_remote_state(self, account: str, unread: Iterable[int], starred: Iterable[int]) -> int:
        """Make the account's articles read and starred as the server says, except those with a
        mark still queued (the local one is newer and goes to the server first). Queues
        nothing. Returns how many articles changed."""
        with self.transaction() as conn:
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS remote_unread (item INTEGER PRIMARY KEY)")
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS remote_starred (item INTEGER PRIMARY KEY)")
            conn.execute("DELETE FROM remote_unread")
            conn.execute("DELETE FROM remote_starred")
            conn.executemany("INSERT OR IGNORE INTO remote_unread VALUES (?)", ((i,) for i in unread))
            conn.executemany("INSERT OR IGNORE INTO remote_starred VALUES (?)", ((i,) for i in starred))
            conn.execute("INSERT INTO sync_applying VALUES (1)")
            changed = 0
            for column, table, remote_value in (("read", "remote_unread", "0"), ("starred", "remote_starred", "1")):
                changed += conn.execute(
                    f"UPDATE articles SET {column} = v.value FROM ("
                    f" SELECT r.article_id AS id, CASE WHEN t.item IS NULL THEN 1 - {remote_value} ELSE {remote_value} END AS value"
                    f" FROM remote_items r LEFT JOIN {table} t ON t.item = r.item"
                    f" WHERE r.account = ? AND NOT EXISTS (SELECT 1 FROM mark_queue q WHERE q.account = r.account"
                    f" AND q.item = r.item AND q.field = '{column}')) AS v"
                    f" WHERE articles.id = v.id AND articles.{column} != v.value", (account,)).rowcount
            conn.execute("DELETE FROM sync_applying")
            conn.execute("DELETE FROM remote_unread")
            conn.execute("DELETE FROM remote_starred")
        return changed

    def account_state(self, account: str) -> AccountState:
        row = self.conn.execute("SELECT watermark, last_sync, tried, last_error, auth FROM accounts WHERE name = ?",
                                (account,)).fetchone()
        return AccountState(*row) if row else AccountState()

    def save_account_state(self, account: str, *, watermark: int | None = None, synced: int | None = None,
                           tried: int | None = None, error: str | None = None, auth: str | None = None) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO accounts (name) VALUES (?)", (account,))
            if watermark is not None:
                conn.execute("UPDATE accounts SET watermark = max(coalesce(watermark, 0), ?) WHERE name = ?",
                             (watermark, account))
            for column, value in (("last_sync", synced), ("tried", tried), ("last_error", error), ("auth", auth)):
                if value is not None:
                    conn.execute(f"UPDATE accounts SET {column} = ? WHERE name = ?", (value, account))

    # ---------------------------------------------------------------- ui state
    def get_state(self, key: str, default: str = "") -> str:
        row = self.conn.execute("SELECT value FROM ui_state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_state(self, values: dict[str, str], *, wait: bool = True) -> bool:
        """Keep these UI state values. With `wait` False, give up at once (and return False)
        while another writer holds the cache, rather than wait for it: the reader writes its
        state from the event loop, which must not stop for a refresh's or a mark's writes."""
        if not wait:
            self.conn.execute("PRAGMA busy_timeout = 0")
        try:
            with self.transaction() as conn:
                conn.executemany("INSERT OR REPLACE INTO ui_state (key, value) VALUES (?, ?)", values.items())
        except sqlite3.OperationalError as exc:
            if wait or exc.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                raise
            return False
        finally:
            if not wait:
                self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        return True

    def integrity_ok(self) -> bool:
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def count_inserted(conn: sqlite3.Connection, feed_id: int, total: int, unread: int) -> None:
    """Add articles just inserted into a feed to its counters (`unread` of them were unread
    when inserted), in the transaction that inserted them: no trigger counts an insert
    (migration 11), while deletes and read marks are counted by theirs. The counts add up
    whatever the order: an article inserted and then marked read in the same transaction is
    taken off by the mark's trigger and added here as it was inserted."""
    if total:
        conn.execute("UPDATE feeds SET total = total + ?, unread = unread + ? WHERE id = ?", (total, unread, feed_id))


def _use_wal(conn: sqlite3.Connection) -> None:
    """The cache in WAL mode. Switching to it takes a lock SQLite does not wait for (its busy
    handler is not asked): two processes opening a new cache at the same moment (the reader
    and a timer's refresh) had one fail at once with "database is locked". It waits here
    as long as for any lock, and the other process has usually switched it meanwhile."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _migrate(conn: sqlite3.Connection, version: int) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        # another process may have migrated while this one waited for the lock
        current = conn.execute("PRAGMA user_version").fetchone()[0]
        for number in range(current, SCHEMA_VERSION):
            for statement in _split_sql(_MIGRATIONS[number]):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _split_sql(script: str) -> list[str]:
    """Statements of a migration script (executescript would commit the open transaction)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements


def failure_notice(folder: Path, exc: sqlite3.DatabaseError) -> str:
    """What to tell the user when the cache fails in the middle of a command. Damage that
    opening did not see (a bad page deep in the file) is found by the query that reads it:
    the file is moved aside then, as at opening, so that the next run starts afresh."""
    path = folder / DB_NAME
    if _is_corruption(exc) and path.exists():
        return f"the cache {path} is damaged ({exc}); it was moved to {_set_aside(path)}, the next run starts a new cache"
    return f"the cache {path} failed: {exc}"


def _set_aside(path: Path) -> Path:
    """Move a damaged cache and its -wal/-shm out of the way under a new name; never delete."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{DB_NAME}.corrupt-{stamp}")
    number = 1
    while aside.exists():  # a second damage within the second must not replace the first copy
        number += 1
        aside = path.with_name(f"{DB_NAME}.corrupt-{stamp}-{number}")
    path.rename(aside)
    for suffix in ("-wal", "-shm"):
        extra = path.with_name(DB_NAME + suffix)
        if extra.exists():
            extra.rename(aside.with_name(aside.name + suffix))
    return aside


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text or "corrupt" in text


def id_array(ids: Iterable[int] = ()) -> array[int]:
    """Article ids as 8-byte ints (the same array when they are one already): a mark of a
    million articles keeps its ids until the reader ends, for `u`, and a list or tuple of
    them would take 36 bytes each, not 8."""
    return ids if isinstance(ids, array) else array("q", ids)


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
