"""Reading newsboat's cache (read-only, never changed) and carrying its articles and their
read / flagged state into docbao's cache: `docbao import-newsboat-cache`."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import quote

from tui.store import index
from tui.store.backup import ArticleIn, insert_article, merge_state
from tui.store.cache import count_inserted
from tui.store.backup import text_or_empty as _str


@dataclass(slots=True)
class NewsboatItem:
    guid: str
    title: str
    author: str
    url: str
    feedurl: str
    pub_date: int
    content: str
    unread: bool
    flags: str
    deleted: bool
    enclosure_url: str
    enclosure_type: str
    text_only: bool = False
    legacy: bool = False  # some of its text was not UTF-8 (read as windows-1252)


@dataclass(slots=True)
class NewsboatFeedCounts:
    title: str
    url: str
    matched: int = 0
    inserted: int = 0
    read: int = 0
    starred: int = 0
    deleted: int = 0
    legacy: int = 0  # newsboat's items of it whose text was not UTF-8


class LegacyText:
    """newsboat's text columns as str, whatever bytes it stored: UTF-8, else windows-1252
    (else Latin-1, which reads any byte). newsboat stores the text of an undeclared Latin-1
    feed as it came, and one such row must not stop an import. `count` says how many
    values were not UTF-8."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, raw: bytes) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.count += 1
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError:  # the five bytes windows-1252 leaves undefined
            return raw.decode("latin-1")


def open_newsboat_cache(path: Path) -> sqlite3.Connection:
    """newsboat's cache opened read-only and immutable, so that nothing of it can change
    (not even a journal replay), with its tables checked; its text is read through
    LegacyText (the connection's text_factory). Raises ValueError."""
    resolved = path.expanduser().resolve()
    if not resolved.is_file():
        raise ValueError(f"{path}: no such file")
    uri = f"file:{quote(str(resolved), safe='/')}?mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(uri, uri=True)
        conn.text_factory = LegacyText()
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise ValueError(f"{path}: not an SQLite database ({exc})") from None
    if not {"rss_feed", "rss_item"} <= tables:
        conn.close()
        raise ValueError(f"{path}: not a newsboat cache (no rss_feed and rss_item tables)")
    return conn


def newsboat_item_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Feed URL -> how many items newsboat's cache holds for it."""
    return {_str(url): count for url, count in conn.execute("SELECT feedurl, count(*) FROM rss_item GROUP BY feedurl")}


def read_newsboat_items(conn: sqlite3.Connection, feedurls: Sequence[str] | None = None) -> Iterator[NewsboatItem]:
    """newsboat's items (of the feeds at `feedurls`, else all), in the order it stored them."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(rss_item)")}
    mime = "content_mime_type" if "content_mime_type" in columns else "''"
    flags = "flags" if "flags" in columns else "''"
    deleted = "deleted" if "deleted" in columns else "0"
    where = f" WHERE feedurl IN ({','.join('?' * len(feedurls))})" if feedurls is not None else ""
    text = conn.text_factory
    legacy = text.count if isinstance(text, LegacyText) else 0
    for row in conn.execute(
        "SELECT guid, title, author, url, feedurl, pubDate, content, unread,"
        f" {flags}, {deleted}, enclosure_url, enclosure_type, {mime} FROM rss_item{where} ORDER BY id",
        tuple(feedurls or ()),
    ):
        yield NewsboatItem(
            guid=_str(row[0]), title=_str(row[1]), author=_str(row[2]), url=_str(row[3]),
            feedurl=_str(row[4]), pub_date=row[5] if isinstance(row[5], int) else 0,
            content=_str(row[6]), unread=bool(row[7]), flags=_str(row[8]), deleted=bool(row[9]),
            enclosure_url=_str(row[10]), enclosure_type=_str(row[11]),
            text_only=_str(row[12]) == "text/plain",
            legacy=isinstance(text, LegacyText) and text.count > legacy,
        )
        if isinstance(text, LegacyText):
            legacy = text.count


def newsboat_feed_titles(conn: sqlite3.Connection) -> dict[str, str]:
    """Feed URL -> the title newsboat knew it by."""
    return {_str(url): _str(title) for url, title in conn.execute("SELECT rssurl, title FROM rss_feed")}


def _date_epoch(text: str) -> int | None:
    """A date as newsboat reads one (RFC 822, else W3C/ISO 8601), in epoch seconds."""
    text = text.strip()
    if not text or not text[0].isalnum():
        return None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp())


def docbao_guids(item: NewsboatItem) -> list[str]:
    """The guid docbao's parser gives this item, best guess first.

    newsboat's identity is the item's guid, else its link with the pubDate text appended,
    else its link, else its title; docbao's is the id, else the link as written, else a
    SHA-1 of title and date (tui.feeds.parse). So a newsboat guid that is a link followed by a
    date which parses to the item's own pubDate loses the date; a title-only item gets
    docbao's hash (with the date, and without it, since newsboat stamps an undated item
    with the time it first saw it)."""
    from tui.content.sanitize import clean_line

    guid = clean_line(item.guid)
    title = clean_line(item.title)
    if item.url and guid and guid != item.url:
        for cut in range(1, len(guid)):
            prefix = guid[:cut]
            if not (item.url.endswith(prefix) or prefix == item.url.rstrip("/")):
                continue
            if item.pub_date and _date_epoch(guid[cut:]) == item.pub_date:
                return [prefix]
    if not guid or (not item.url and guid == title):
        dated = "sha1:" + hashlib.sha1(f"{title}\n{item.pub_date or ''}".encode("utf-8", "replace")).hexdigest()
        undated = "sha1:" + hashlib.sha1(f"{title}\n".encode("utf-8", "replace")).hexdigest()
        return [dated, undated]
    return [guid]


def _newsboat_article(item: NewsboatItem, star_flags: str, now: int) -> ArticleIn:
    import html

    from tui.content.sanitize import clean_line, is_openable_url, sanitize_html

    content = item.content
    if item.text_only:
        content = "<p>" + html.escape(content).replace("\n\n", "</p><p>").replace("\n", "<br>") + "</p>"
    enclosures = []
    if is_openable_url(item.enclosure_url.strip()):
        enclosures.append({"url": item.enclosure_url.strip(), "type": clean_line(item.enclosure_type),
                           "length": None})
    return ArticleIn(
        guid=docbao_guids(item)[0],
        link=item.url if is_openable_url(item.url) else "",
        title=clean_line(item.title),
        author=clean_line(item.author),
        published=item.pub_date if item.pub_date > 0 else None,
        content=sanitize_html(content),
        enclosures=enclosures,
        read=not item.unread,
        starred=_flagged(item.flags, star_flags),
        first_seen=now,
    )


def newsboat_articles(items: list[NewsboatItem], star_flags: str, now: int) -> list[ArticleIn]:
    """Each item as the article it becomes if the cache lacks it, ready for the index: what
    an import's worker processes do (import_newsboat_items takes the list)."""
    return [_newsboat_article(item, star_flags, now).ready_for_index() for item in items]


def _flagged(flags: str, star_flags: str) -> bool:
    """newsboat marks an article with any flag as flagged ("!" in its list)."""
    flags = flags.strip()
    if not star_flags:
        return bool(flags)
    return any(flag in star_flags for flag in flags)


def import_newsboat_items(conn: sqlite3.Connection, feed_id: int, items: Sequence[NewsboatItem],
                          counts: NewsboatFeedCounts, star_flags: str, *, write: bool,
                          articles: Sequence[ArticleIn] | None = None) -> None:
    """Match newsboat's items of one feed to the cached articles (by docbao's guid, then
    newsboat's, then link, then title for link-less items) and carry their state over;
    the ones the cache lacks are inserted (`articles`: newsboat_articles(items), else they
    are made here).

    An article deleted in newsboat is kept out the way docbao keeps out pruned ones: its
    guid goes into the pruned list, so a feed that still lists it does not bring it back,
    and the copy a refresh just fetched goes, unless it is starred in docbao."""
    from tui.content.sanitize import clean_line

    by_guid: dict[str, int] = {}
    guid_of: dict[int, str] = {}
    starred_ids: set[int] = set()
    by_link: dict[str, list[int]] = {}
    by_title: dict[str, list[int]] = {}
    for article_id, guid, link, title, starred_now in conn.execute(
            "SELECT id, guid, link, title, starred FROM articles WHERE feed_id = ?", (feed_id,)):
        by_guid[guid] = article_id
        guid_of[article_id] = guid
        if starred_now:
            starred_ids.add(article_id)
        if link:
            by_link.setdefault(link, []).append(article_id)
        else:
            by_title.setdefault(title, []).append(article_id)
    now = int(time.time())
    new: list[tuple[int, tuple[str, str, str] | None]] = []  # (id, index columns)
    unread = 0
    for number, item in enumerate(items):
        counts.legacy += item.legacy
        guids = docbao_guids(item)
        match = next((by_guid[g] for g in [*guids, clean_line(item.guid)] if g in by_guid), None)
        if match is None and item.url and len(by_link.get(item.url, [])) == 1:
            match = by_link[item.url][0]
        if match is None and not item.url and len(by_title.get(clean_line(item.title), [])) == 1:
            match = by_title[clean_line(item.title)][0]
        if item.deleted:
            if match is not None and match in starred_ids:
                continue  # starred in docbao: the user's own decision wins
            counts.deleted += 1
            if write:
                guid = guid_of.get(match, guids[0]) if match is not None else guids[0]
                conn.execute("INSERT OR IGNORE INTO pruned (feed_id, guid) VALUES (?, ?)", (feed_id, guid))
                if match is not None:
                    conn.execute("DELETE FROM articles WHERE id = ? AND starred = 0", (match,))
            continue
        read, starred = not item.unread, _flagged(item.flags, star_flags)
        counts.read += read
        counts.starred += starred
        if match is not None:
            counts.matched += 1
            if write:
                merge_state(conn, match, read, starred)
            continue
        article = articles[number] if articles is not None else _newsboat_article(item, star_flags, now)
        counts.inserted += 1
        article_id = insert_article(conn, feed_id, article) if write else -1
        new.append((article_id, article.indexed))
        unread += not read
        by_guid[article.guid] = article_id
        guid_of[article_id] = article.guid
        if article.link:
            by_link.setdefault(article.link, []).append(article_id)
    if write and new:
        count_inserted(conn, feed_id, len(new), unread)
        index.add_new(conn, feed_id, new)  # indexed as imported: the first search finds them


def no_articles() -> sqlite3.Connection:
    """An empty articles table, for a dry run on a cache that does not exist yet."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE articles (id INTEGER PRIMARY KEY, feed_id INTEGER, guid TEXT, link TEXT,"
                 " title TEXT, starred INTEGER)")
    return conn
