"""The JSON backup and articles brought into the cache from outside (a docbao export,
newsboat's cache): the SQL that writes them, beside the schema it writes to.

An imported article goes through the sanitizer again and keeps the store's rules: the
counters follow through the triggers, the sort time is the published time else when it was
first seen, and read / starred only ever get set by an import, never cleared.
"""

from __future__ import annotations

import codecs
import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, BinaryIO

from tui.config import Config
from tui.store import index
from tui.store.cache import Store, article_digest, count_inserted
from tui.model import Enclosure, ParsedArticle

EXPORT_FORMAT = "docbao-export"
EXPORT_VERSION = 1


@dataclass(slots=True)
class RestoreCounts:
    inserted: int = 0
    merged: int = 0
    kept_out: int = 0  # guids of articles pruned or deleted, which a refresh must not bring back
    read: int = 0
    starred: int = 0
    skipped: int = 0
    reasons: list[str] = field(default_factory=list)

    def skip(self, reason: str) -> None:
        self.skipped += 1
        if reason not in self.reasons:
            self.reasons.append(reason)


@dataclass(slots=True)
class ArticleIn:
    """An article to bring into the cache from outside (an export, newsboat)."""

    guid: str
    link: str = ""
    title: str = ""
    author: str = ""
    published: int | None = None
    updated: int | None = None
    summary: str = ""
    content: str = ""
    enclosures: list[dict[str, Any]] = field(default_factory=list)
    image: str = ""
    read: bool = False
    starred: bool = False
    first_seen: int = 0
    full: tuple[str, str, int] | None = None  # the full article (reader mode): html, text, when fetched
    digest: str = ""  # the store's fingerprint of it; "" when unknown: the next refresh rewrites it
    indexed: tuple[str, str, str] | None = None  # index.indexed_columns(), when computed ahead

    def ready_for_index(self) -> ArticleIn:
        """This article with `indexed` computed: where it is made, in an import's worker processes."""
        self.indexed = index.indexed_columns(self.title, self.author, self.content or self.summary)
        return self


def existing_articles(conn: sqlite3.Connection, feed_id: int) -> dict[str, tuple[int, bool, bool]]:
    """guid -> (id, read, starred) of a feed's cached articles."""
    return {guid: (article_id, bool(read), bool(starred)) for article_id, guid, read, starred in conn.execute(
        "SELECT id, guid, read, starred FROM articles WHERE feed_id = ?", (feed_id,))}


def insert_article(conn: sqlite3.Connection, feed_id: int, article: ArticleIn) -> int:
    """Insert one article; the caller adds it to its feed's counters (count_inserted).

    The store's sort rule is kept: the published time, else when it was first seen."""
    first_seen = article.first_seen or int(time.time())
    cursor = conn.execute(
        "INSERT INTO articles (feed_id, guid, link, title, author, published, updated, summary, content,"
        " enclosures, image, read, starred, first_seen, sort_time, digest)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (feed_id, article.guid, article.link, article.title, article.author, article.published,
         article.updated, article.summary, article.content,
         json.dumps(article.enclosures, ensure_ascii=False), article.image, int(article.read), int(article.starred),
         first_seen, article.published or first_seen, article.digest),
    )
    return int(cursor.lastrowid or 0)


def restore_full(conn: sqlite3.Connection, article_id: int, article: ArticleIn) -> None:
    """The full article a backup kept, unless the cache has one of its own."""
    if article.full is not None:
        conn.execute("INSERT INTO extracts (article_id, html, text, fetched) VALUES (?, ?, ?, ?)"
                     " ON CONFLICT (article_id) DO UPDATE SET html = excluded.html, text = excluded.text,"
                     " fetched = excluded.fetched, error = '', attempts = 0, retry_after = NULL"
                     " WHERE extracts.fetched IS NULL", (article_id, *article.full))


def merge_state(conn: sqlite3.Connection, article_id: int, read: bool, starred: bool) -> None:
    """Set read / starred when the import says so; never clear either."""
    if read:
        conn.execute("UPDATE articles SET read = 1 WHERE id = ? AND read = 0", (article_id,))
    if starred:
        conn.execute("UPDATE articles SET starred = 1 WHERE id = ? AND starred = 0", (article_id,))


def int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def text_or_empty(value: object) -> str:
    return value if isinstance(value, str) else ""


# ----------------------------------------------------------------------------- the JSON backup
class ExportFile:
    """A docbao JSON export read from a file as a stream, so that a backup of a million
    articles (gigabytes of JSON) is never in memory whole. `head` is the document with each
    feed's articles left out, read when the file is opened: every value decoded (so the
    file is known to be well-formed JSON), the format and version checked. `articles()`
    reads the file again for the articles, a batch at a time. Where a key comes twice, the
    last one counts, as for any JSON reader. Raises ValueError with a reason a user can read."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle  # binary, seekable
        self.head: dict[str, Any] = {}
        self.counts: list[int] = []  # each feed's number of articles
        self._feeds_key = -1  # which "feeds" key holds the list (the last), counted from 0
        self._articles_key: list[int] = []  # the same for each feed's "articles"
        cursor = self._start()
        if cursor.peek() != "{":
            raise ValueError(f"a JSON file that is not a docbao export (no \"format\": \"{EXPORT_FORMAT}\")")
        feeds_keys = 0
        for key in _members(cursor):
            if key == "feeds":
                feeds_keys += 1
                if cursor.peek() == "[":
                    self._feeds_key = feeds_keys - 1
                    self.head["feeds"], self.counts, self._articles_key = [], [], []
                    for _ in _elements(cursor):
                        self._feed_head(cursor)
                    continue
            self.head[key] = cursor.value()
        cursor.end()
        _check_export(self.head)

    def _start(self) -> _Cursor:
        self._handle.seek(0)
        return _Cursor(self._handle)

    def _feed_head(self, cursor: _Cursor) -> None:
        count, last = 0, -1
        if cursor.peek() != "{":
            self.head["feeds"].append(cursor.value())  # not an object: reported as such
        else:
            about: dict[str, Any] = {}
            articles_keys = 0
            for key in _members(cursor):
                if key == "articles":
                    articles_keys += 1
                    about.pop("articles", None)
                    count = 0
                    if cursor.peek() == "[":
                        last = articles_keys - 1
                        for _ in _elements(cursor):
                            cursor.value()
                            count += 1
                        continue
                    last = -1
                about[key] = cursor.value()  # (an "articles" that is no list stays, to be reported)
            self.head["feeds"].append(about)
        self.counts.append(count)
        self._articles_key.append(last)

    def articles(self, batch: int = 1000) -> Iterator[tuple[int, list[Any]]]:
        """(the feed's index in head["feeds"], up to `batch` of its articles as decoded), in
        the file's order: the articles of the lists the head counted, once each."""
        cursor = self._start()
        feeds_keys = 0
        for key in _members(cursor):
            if key == "feeds":
                feeds_keys += 1
                if feeds_keys - 1 == self._feeds_key:
                    for number, _ in enumerate(_elements(cursor)):
                        yield from self._feed_articles(cursor, number, batch)
                    continue
            cursor.value()

    def _feed_articles(self, cursor: _Cursor, index: int, batch: int) -> Iterator[tuple[int, list[Any]]]:
        if cursor.peek() != "{" or index >= len(self.counts):
            cursor.value()
            return
        articles_keys = 0
        for key in _members(cursor):
            if key == "articles":
                articles_keys += 1
                if articles_keys - 1 == self._articles_key[index]:
                    taken: list[Any] = []
                    for _ in _elements(cursor):
                        taken.append(cursor.value())
                        if len(taken) == batch:
                            yield index, taken
                            taken = []
                    if taken:
                        yield index, taken
                    continue
            cursor.value()


def _check_export(document: dict[str, Any]) -> None:
    if document.get("format") != EXPORT_FORMAT:
        raise ValueError(f"a JSON file that is not a docbao export (no \"format\": \"{EXPORT_FORMAT}\")")
    version = document.get("version")
    if not isinstance(version, int) or version > EXPORT_VERSION:
        raise ValueError(f"a docbao export of version {version!r}; this docbao reads version "
                         f"{EXPORT_VERSION} and older")
    if not isinstance(document.get("feeds"), list):
        raise ValueError("a docbao export without a list of feeds")


_CHUNK = 1 << 20  # bytes read at a time
_SPACE = re.compile(r"[ \t\r\n]*")
_DECODER = json.JSONDecoder()


class _Cursor:
    """A JSON text read from a binary file a chunk at a time: its structure walked by
    `_members` and `_elements`, the values inside decoded whole (json's own decoder)."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._text = ""
        self._at = 0
        self._ended = False

    def _more(self, size: int) -> None:
        """Read on: `size` bytes more into the text, what is behind the cursor dropped."""
        data = self._handle.read(size)
        self._ended = not data
        try:
            text = self._decoder.decode(data, final=self._ended)
        except UnicodeDecodeError as exc:
            raise ValueError(f"not a docbao export: it is not UTF-8 text ({exc.reason})") from None
        self._text = self._text[self._at:] + text
        self._at = 0

    def peek(self) -> str:
        """The next character but white space; "" at the end of the file."""
        while True:
            self._at = _SPACE.match(self._text, self._at).end()  # type: ignore[union-attr]
            if self._at < len(self._text) or self._ended:
                return self._text[self._at:self._at + 1]
            self._more(_CHUNK)

    def take(self, char: str) -> None:
        found = self.peek()
        if found != char:
            raise ValueError(f"not a docbao export: it is not valid JSON (expected {char!r}, found "
                             f"{found!r} at character {self._at} of a chunk)" if found else
                             "not a docbao export: it is not valid JSON (it ends too soon)")
        self._at += 1

    def value(self) -> Any:
        """The next value, decoded. One cut by the end of the text read so far is read on,
        in ever larger pieces, and decoded again."""
        self.peek()
        size = _CHUNK
        while True:
            try:
                value, end = _DECODER.raw_decode(self._text, self._at)
            except json.JSONDecodeError as exc:
                if self._ended:
                    raise ValueError(f"not a docbao export: it is not valid JSON ({exc.msg})") from None
            except RecursionError:
                raise ValueError("not a docbao export: it is not valid JSON (nested too deep)") from None
            else:
                if end < len(self._text) or self._ended:  # (a number may go on in the next piece)
                    self._at = end
                    return value
            self._more(size)
            size *= 2

    def end(self) -> None:
        if self.peek():
            raise ValueError("not a docbao export: it is not valid JSON (more follows its end)")


def _members(cursor: _Cursor) -> Iterator[str]:
    """The keys of the object at the cursor, each with the cursor on its value, which the
    caller reads (or walks) before asking for the next."""
    cursor.take("{")
    if cursor.peek() == "}":
        cursor.take("}")
        return
    while True:
        key = cursor.value()
        if not isinstance(key, str):
            raise ValueError("not a docbao export: it is not valid JSON (a key that is not a string)")
        cursor.take(":")
        yield key
        if cursor.peek() != ",":
            cursor.take("}")
            return
        cursor.take(",")


def _elements(cursor: _Cursor) -> Iterator[None]:
    """The elements of the array at the cursor: the cursor on each in turn, which the caller reads."""
    cursor.take("[")
    if cursor.peek() == "]":
        cursor.take("]")
        return
    while True:
        yield
        if cursor.peek() != ",":
            cursor.take("]")
            return
        cursor.take(",")


def exported_article(raw: object, now: int) -> ArticleIn | str:
    """An article of a JSON export, cleaned as if it came from a feed, or why it is skipped."""
    from tui.content.sanitize import clean_line, clean_text, is_openable_url, sanitize_html

    if not isinstance(raw, dict):
        return "an article that is not an object"
    guid = clean_line(text_or_empty(raw.get("guid")))
    if not guid:
        return "an article without a guid"
    link = text_or_empty(raw.get("link")).strip()
    enclosures = []
    for enclosure in raw.get("enclosures") or []:
        if isinstance(enclosure, dict) and is_openable_url(text_or_empty(enclosure.get("url"))):
            item = {"url": enclosure["url"], "type": clean_line(text_or_empty(enclosure.get("type"))),
                    "length": int_or_none(enclosure.get("length"))}
            if int_or_none(enclosure.get("duration")) is not None:
                item["duration"] = int_or_none(enclosure.get("duration"))
            enclosures.append(item)
    image = text_or_empty(raw.get("image")).strip()
    full = raw.get("full")
    kept = None  # the full article, when the backup has one (a web page's text: as untrusted as a feed)
    if isinstance(full, dict) and int_or_none(full.get("fetched")) is not None:
        html = sanitize_html(text_or_empty(full.get("html")))
        if html:
            kept = (html, clean_text(text_or_empty(full.get("text"))), int_or_none(full.get("fetched")) or now)
    article = ArticleIn(
        guid=guid,
        link=link if is_openable_url(link) else "",
        title=clean_line(text_or_empty(raw.get("title"))),
        author=clean_line(text_or_empty(raw.get("author"))),
        published=int_or_none(raw.get("published")),
        updated=int_or_none(raw.get("updated")),
        summary=sanitize_html(text_or_empty(raw.get("summary"))),
        content=sanitize_html(text_or_empty(raw.get("content"))),
        enclosures=enclosures,
        image=image if is_openable_url(image) else "",
        read=raw.get("read") is True,
        starred=raw.get("starred") is True,
        first_seen=int_or_none(raw.get("first_seen")) or now,
        full=kept,
    )
    article.digest = _digest_of(article)
    return article.ready_for_index()


def exported_articles(raws: list[Any], now: int) -> list[ArticleIn | str]:
    """exported_article for a batch: what an import's worker processes do."""
    return [exported_article(raw, now) for raw in raws]


def _digest_of(article: ArticleIn) -> str:
    """The store's fingerprint of what the feed said, so that a refresh that finds the
    article unchanged leaves it alone instead of rewriting it."""
    return article_digest(ParsedArticle(
        guid=article.guid, link=article.link, title=article.title, author=article.author,
        published=article.published, updated=article.updated, summary=article.summary,
        content=article.content,
        enclosures=[Enclosure(str(e["url"]), str(e.get("type") or ""), int_or_none(e.get("length")),
                              int_or_none(e.get("duration")))
                    for e in article.enclosures],
        image=article.image,
    ))


def restore_feed(store: Store | None, url: str, articles: list[ArticleIn], counts: RestoreCounts,
                 *, dry_run: bool, own_title: str = "",
                 known: dict[str, tuple[int, bool, bool]] | None = None,
                 write: tuple[Callable[[int], AbstractContextManager[sqlite3.Connection]], int] | None = None,
                 ) -> dict[str, tuple[int, bool, bool]]:
    """Articles of a feed from an export into the cache, in one transaction (or, with `write`
    (a Store.batched(), the feed's row id), in a part of that batch); articles
    already cached keep theirs and gain read/starred, and the feed its own title
    (`own_title`) until a refresh reads it again. A dry run only counts (store None: no
    cache yet). A feed's articles may come in batches: `known` is what the call for its
    previous batch returned (the guids seen so far)."""
    if dry_run:
        if known is None:
            feed_id = store.feed_ids([url]).get(url) if store is not None else None
            known = existing_articles(store.conn, feed_id) if store is not None and feed_id else {}
        for article in articles:
            if article.guid in known:
                counts.merged += 1
            else:
                known[article.guid] = (0, article.read, article.starred)
                counts.inserted += 1
                counts.read += article.read
                counts.starred += article.starred
        return known
    assert store is not None
    if write is None:
        feed_id = store.ensure_feeds([url])[url]
        writing = store.transaction()
    else:
        batch, feed_id = write
        writing = batch(len(articles))
    with writing as conn:
        if own_title:
            conn.execute("UPDATE feeds SET title = ? WHERE id = ? AND title = ''", (own_title, feed_id))
        cached = known if known is not None else existing_articles(conn, feed_id) if articles else {}
        new: list[tuple[int, tuple[str, str, str] | None]] = []  # (id, index columns), but those with an extract
        inserted = unread = 0
        for article in articles:
            found = cached.get(article.guid)
            if found is not None:
                merge_state(conn, found[0], article.read, article.starred)
                restore_full(conn, found[0], article)
                counts.merged += 1
                continue
            article_id = insert_article(conn, feed_id, article)
            if article.full is not None:
                restore_full(conn, article_id, article)  # (its trigger indexes the article)
            else:
                new.append((article_id, article.indexed))
            inserted += 1
            unread += not article.read
            cached[article.guid] = (article_id, article.read, article.starred)
            counts.inserted += 1
            counts.read += article.read
            counts.starred += article.starred
        if inserted:
            count_inserted(conn, feed_id, inserted, unread)
            index.add_new(conn, feed_id, new)
    return cached


def restore_pruned(store: Store | None, url: str, guids: list[str], counts: RestoreCounts, *, dry_run: bool) -> None:
    """A feed's pruned (or deleted) articles, by guid, kept out of the cache as they were:
    a refresh of a feed that still lists them does not bring them back."""
    from tui.content.sanitize import clean_line

    guids = [guid for guid in dict.fromkeys(clean_line(g) for g in guids if isinstance(g, str)) if guid]
    if dry_run or store is None:
        counts.kept_out += len(guids)
        return
    feed_id = store.ensure_feeds([url])[url]
    with store.transaction() as conn:
        before = conn.total_changes
        conn.executemany("INSERT OR IGNORE INTO pruned (feed_id, guid) VALUES (?, ?)", [(feed_id, g) for g in guids])
        counts.kept_out += conn.total_changes - before


def export_json(config: Config, store: Store | None) -> Iterator[bytes]:
    """The JSON backup, produced piece by piece so that a cache of any size streams out,
    read in one transaction so that a refresh running meanwhile cannot tear it."""
    head = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "searches": [{"name": s.name, "query": s.query} for s in config.searches],
        "ignores": [{"query": query} for query in config.ignores],
    }
    yield json.dumps(head, ensure_ascii=False, indent=1)[:-2].encode() + b',\n "feeds": ['
    if store is not None:
        store.conn.execute("BEGIN")
    try:
        ids = store.feed_ids([f.url for f in config.feeds]) if store is not None else {}
        own = {row.url: row.title for row in store.feeds()} if store is not None else {}
        for number, feed in enumerate(config.feeds):
            # the title feeds.toml gives, else the feed's own (what the reader shows), marked
            # as such so that an import does not write it into feeds.toml
            about: dict[str, object] = {"url": feed.url, "title": feed.title, "tags": list(feed.tags)}
            if not feed.title and own.get(feed.url):
                about.update(title=own[feed.url], title_from_feed=True)
            feed_id = ids.get(feed.url)
            if store is not None and feed_id is not None:  # what a refresh must not bring back
                about["pruned"] = [guid for (guid,) in store.conn.execute(
                    "SELECT guid FROM pruned WHERE feed_id = ? ORDER BY guid", (feed_id,))]
            about_text = json.dumps(about, ensure_ascii=False)
            yield (b"," if number else b"") + b"\n  " + about_text[:-1].encode() + b', "articles": ['
            if store is not None and feed_id is not None:
                rows = store.conn.execute(
                    "SELECT a.guid, a.link, a.title, a.author, a.published, a.updated, a.summary, a.content,"
                    " a.enclosures, a.read, a.starred, a.first_seen, a.image, e.html, e.text, e.fetched"
                    " FROM articles a LEFT JOIN extracts e ON e.article_id = a.id AND e.fetched IS NOT NULL"
                    " WHERE a.feed_id = ? ORDER BY a.id", (feed_id,))
                for number, row in enumerate(rows):
                    article = {
                        "guid": row[0], "link": row[1], "title": row[2], "author": row[3],
                        "published": row[4], "updated": row[5], "summary": row[6], "content": row[7],
                        "enclosures": json.loads(row[8] or "[]"), "read": bool(row[9]),
                        "starred": bool(row[10]), "first_seen": row[11], "image": row[12],
                    }
                    if row[15] is not None:  # the full article (reader mode), which may be gone from the web
                        article["full"] = {"html": row[13], "text": row[14], "fetched": row[15]}
                    yield (b"," if number else b"") + b"\n   " + json.dumps(article, ensure_ascii=False).encode()
            yield b"]}"
    finally:
        if store is not None:
            store.conn.execute("COMMIT")
    yield b"\n ]\n}\n"
