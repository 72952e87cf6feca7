"""Managing subscriptions from the command line: add, remove, import, export, and
bringing a newsboat cache's history over.

Every verb writes feeds.toml through tui.config's atomic tomlkit edits, so comments and
layout survive, and reads the cache only through small SQL helpers here. Whatever comes
from outside (a web page, an OPML file, a JSON backup, a newsboat cache) is hostile until
checked: only http(s) feed URLs are subscribed, commands are never run, titles are cleaned
and stored HTML goes through the sanitizer again. Nothing a user has read or starred is
ever lost to an import: read and starred only ever get set, never cleared.

Heavy modules (httpx, the parsers, the OPML reader) are imported by the handlers that
need them, since cli.build_parser imports this module on every start.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sqlite3
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from tui.config import (
    Config,
    ConfigError,
    FeedConfig,
    SavedSearch,
    add_feeds,
    add_searches,
    default_config_path,
    load_config,
    remove_feed,
    resolve_cache_dir,
    write_atomic,
)
from tui.feeds.subscriptions import Candidate, Lookup, check_is_feed, feed_key, known_feeds, look_up
from tui.store.cache import DB_NAME, Store

if TYPE_CHECKING:
    from tui.feeds.opml import ImportResult, Subscription
    from tui.feeds.refresh import RefreshReport

EXPORT_FORMAT = "docbao-export"
EXPORT_VERSION = 1


def add_parsers(verbs: Any, common: argparse.ArgumentParser) -> None:
    """Add the subscription verbs (add, remove, import, export, import-newsboat-cache)."""
    add = verbs.add_parser(
        "add", parents=[common], help="subscribe to a feed, or to the feed a web page names",
        description="Subscribe to URL. A feed is subscribed as it is; for a web page, the feeds it "
                    "announces (or that answer at the usual paths) are listed and the only one, or "
                    "the one chosen with --pick, is subscribed. The new feed is refreshed once.")
    add.add_argument("url", metavar="URL", help="a feed URL or a web page that names its feeds")
    add.add_argument("--title", metavar="T", help="the name to show instead of the feed's own title")
    add.add_argument("--tag", action="append", metavar="X", default=[], help="a tag (repeatable)")
    add.add_argument("--pick", type=int, metavar="N", help="which of the feeds a page names (1, 2, ...)")
    add.set_defaults(handler=cmd_add)

    remove = verbs.add_parser(
        "remove", parents=[common], help="unsubscribe from a feed",
        description="Remove a feed from feeds.toml. Its articles stay in the cache (and come back "
                    "if it is added again) unless --purge.")
    remove.add_argument("feed", metavar="URL_OR_TITLE", help="the feed's URL or title")
    remove.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    remove.add_argument("--purge", action="store_true", help="also delete its articles from the cache")
    remove.set_defaults(handler=cmd_remove)

    imp = verbs.add_parser(
        "import", parents=[common], help="add subscriptions from OPML, newsboat or a docbao export",
        description="Add the subscriptions in FILE that are not already subscribed: OPML 1.0/2.0, "
                    "a newsboat urls file or a docbao JSON export (told apart by content; - reads "
                    "stdin). newsboat query: lines become saved searches; exec: and filter: lines "
                    "are reported, never run. A JSON export also restores its articles with their "
                    "read and starred state.")
    imp.add_argument("file", metavar="FILE", help="the file to import (- for stdin)")
    imp.add_argument("--dry-run", "-n", action="store_true", help="report what would change, write nothing")
    imp.set_defaults(handler=cmd_import)

    exp = verbs.add_parser(
        "export", parents=[common], help="write subscriptions as OPML, or a full JSON backup",
        description="OPML 2.0 (tags as folders) for other readers, or with --format json every "
                    "subscription and every cached article with its read and starred state, which "
                    "'docbao import' restores.")
    exp.add_argument("--format", choices=("opml", "json"), default="opml", help="default: opml")
    exp.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically) instead of stdout")
    exp.set_defaults(handler=cmd_export)

    nb = verbs.add_parser(
        "import-newsboat-cache", parents=[common],
        help="bring newsboat's articles and read/flagged state into the cache",
        description="Read newsboat's cache.db (read-only) and copy the articles of the feeds "
                    "subscribed in docbao, with their read state; flagged articles become starred. "
                    "The feeds are refreshed first so that articles match the ones docbao reads "
                    "from the feed.")
    nb.add_argument("path", metavar="PATH", help="newsboat's cache.db (e.g. ~/.newsboat/cache.db)")
    nb.add_argument("--star-flags", metavar="LETTERS", default="",
                    help="star only articles with one of these newsboat flags (default: any flag)")
    nb.add_argument("--no-refresh", action="store_true",
                    help="do not refresh the feeds first (match against what the cache holds)")
    nb.add_argument("--dry-run", "-n", action="store_true", help="report what would change, write nothing")
    nb.set_defaults(handler=cmd_import_newsboat_cache)


# ----------------------------------------------------------------------------- helpers
# This module does not import tui.cli.main (which imports the UI for the reader): a usage error
# is reported here and answered with cli's exit status for it, 2.
def _usage(message: str) -> int:
    print(f"docbao: {message}", file=sys.stderr)
    return 2


def _open_store(cache: Path) -> Store:
    store = Store.open(cache)
    if store.notice:
        print(f"docbao: warning: {store.notice}", file=sys.stderr)
    return store


def _config_target(config: Config) -> Path:
    """The file to edit: the config in use, else the default place (created on write)."""
    return config.path or default_config_path()


def _cache_after_write(path: Path, args: argparse.Namespace) -> tuple[Config, Path]:
    """The config as written and the cache it points at: a config just created at the
    default place moves the default cache beside it, and later runs will look there."""
    config = load_config(path)
    return config, resolve_cache_dir(config, getattr(args, "cache", None))


def _count(number: int, word: str) -> str:
    """ "1 feed", "2 feeds"."""
    return f"{number} {word}{'' if number == 1 else 's'}"


def _label(feed: FeedConfig, titles: dict[str, str] | None = None) -> str:
    own = (titles or {}).get(feed.url, "")
    return feed.title or own or feed.url


def _print_refresh(report: RefreshReport) -> bool:
    """One line per refreshed feed; True when every feed was read."""
    ok = True
    for outcome in report.outcomes:
        if outcome.status in ("ok", "not_modified"):
            print(f"  {outcome.title}: {outcome.new} new articles")
        else:
            ok = False
            print(f"  {outcome.title}: {outcome.status}: {outcome.error}")
    return ok


# ----------------------------------------------------------------------------- add
def cmd_add(args: argparse.Namespace, config: Config, cache: Path) -> int:
    from tui.feeds.opml import check_feed_url
    from tui.feeds.refresh import refresh
    from tui.content.sanitize import clean_line

    url, reason = check_feed_url(args.url)
    if reason:
        return _usage(f"cannot subscribe to {clean_line(args.url)!r}: {reason}")
    if args.pick is not None and args.pick < 1:
        return _usage("--pick counts from 1")
    title = clean_line(args.title or "")
    tags = list(dict.fromkeys(t for t in (clean_line(tag) for tag in args.tag) if t))
    known = known_feeds(config, cache)
    if feed_key(url) in known:
        return _already(url, known[feed_key(url)])

    settings = config.settings
    max_bytes = int(settings.max_feed_mb * 1024 * 1024)
    lookup = asyncio.run(look_up(url, deadline=settings.timeout, max_bytes=max_bytes))
    if lookup.kind == "error":
        print(f"docbao: cannot fetch {url}: {lookup.error}", file=sys.stderr)
        return 1
    if lookup.final_url and feed_key(lookup.final_url) in known and lookup.kind == "feed":
        return _already(url, known[feed_key(lookup.final_url)])
    chosen = _choose(lookup, url, args.pick, known)
    if isinstance(chosen, int):
        return chosen
    if not chosen.verified:
        checked = asyncio.run(check_is_feed(chosen.url, deadline=settings.timeout, max_bytes=max_bytes))
        if isinstance(checked, str):
            print(f"docbao: not subscribed: {chosen.url}: {checked}", file=sys.stderr)
            return 1
        if checked.final_url and feed_key(checked.final_url) in known:
            return _already(chosen.url, known[feed_key(checked.final_url)])

    path = _config_target(config)
    try:
        add_feeds(path, [FeedConfig(url=chosen.url, title=title, tags=tags)])
        config, cache = _cache_after_write(path, args)
    except ConfigError as exc:
        print(f"docbao: {exc}", file=sys.stderr)
        return 2
    print(f"Subscribed to {chosen.url}")
    print(f"  in {path}" + (f", tagged {', '.join(tags)}" if tags else ""))
    report = asyncio.run(refresh(config, cache, only=[chosen.url]))
    if not _print_refresh(report):
        print("docbao: subscribed, but the first refresh failed; 'docbao refresh' tries again",
              file=sys.stderr)
        return 1
    return 0


def _already(url: str, feed: FeedConfig) -> int:
    same = "" if feed.url == url else f" as {feed.url}"
    print(f"docbao: already subscribed{same}: {_label(feed)}", file=sys.stderr)
    return 1


def _choose(lookup: Lookup, url: str, pick: int | None, known: dict[str, FeedConfig]) -> Candidate | int:
    """The candidate to subscribe, or the exit status after saying why there is none."""
    found = lookup.candidates
    if lookup.kind == "feed":
        return found[0]
    for what, why in lookup.skipped:
        print(f"  skipped {what}: {why}", file=sys.stderr)
    if not found:
        where = " (nor at the usual feed paths of the site)" if lookup.probed else ""
        print(f"docbao: {url} is a web page that names no feed{where}", file=sys.stderr)
        return 1
    one = len(found) == 1
    if lookup.probed:
        how = "answers at the usual paths of" if one else "answer at the usual paths of"
    else:
        how = "is named by" if one else "are named by"
    print(f"{_count(len(found), 'feed')} {how} {lookup.final_url}:")
    for number, candidate in enumerate(found, 1):
        mark = ""
        if feed_key(candidate.url) in known:
            mark = "  (already subscribed)"
        print(f"  {number}. {candidate.title or '(untitled)'}  {candidate.url}{mark}")
    if pick is None and len(found) > 1:
        print(f"docbao: {url} names {len(found)} feeds: choose one with --pick N", file=sys.stderr)
        return 2
    number = pick or 1
    if number > len(found):
        return _usage(f"--pick {number}: the page names only {len(found)} feed(s)")
    chosen = found[number - 1]
    if feed_key(chosen.url) in known:
        return _already(chosen.url, known[feed_key(chosen.url)])
    return chosen


# ----------------------------------------------------------------------------- remove
def cmd_remove(args: argparse.Namespace, config: Config, cache: Path) -> int:
    from tui.content.sanitize import clean_line

    wanted = args.feed.strip()
    titles: dict[str, str] = {}
    rows: dict[str, int] = {}
    store: Store | None = None
    if (cache / DB_NAME).exists():
        store = _open_store(cache)
        for row in store.feeds():
            titles[row.url] = row.title
            rows[row.url] = row.id
    try:
        key = feed_key(wanted)
        folded = wanted.casefold()
        matches = [f for f in config.feeds if feed_key(f.url) == key]
        if not matches:
            matches = [f for f in config.feeds
                       if folded in (f.title.casefold(), titles.get(f.url, "").casefold())]
        if not matches:
            print(f"docbao: no subscribed feed has the URL or title '{clean_line(wanted)}'",
                  file=sys.stderr)
            return 1
        if len(matches) > 1:
            listing = "; ".join(m.url for m in matches)
            return _usage(f"'{clean_line(wanted)}' names {len(matches)} feeds ({listing}): name one by URL")
        feed = matches[0]
        assert config.path is not None  # a configured feed came from a file
        label = _label(feed, titles)
        if not args.yes:
            if not sys.stdin.isatty():
                return _usage(f"not removing {feed.url} without confirmation: "
                              "run it on a terminal, or pass --yes")
            try:
                answer = input(f"Remove {label} ({feed.url})"
                               f"{' and delete its articles' if args.purge else ''}? [y/N] ")
            except EOFError:
                answer = ""
            if answer.strip().casefold() not in ("y", "yes"):
                print("Not removed.")
                return 1
        try:
            remove_feed(config.path, feed.url)
        except ConfigError as exc:
            print(f"docbao: {exc}", file=sys.stderr)
            return 2
        print(f"Removed {label} ({feed.url}) from {config.path}")
        feed_id = rows.get(feed.url)
        if store is not None and feed_id is not None:
            count = store.count(feed_ids=[feed_id])
            if args.purge:
                store.forget_feed(feed_id)
                print(f"  deleted its {count} cached articles")
            elif count:
                print(f"  its {count} cached articles stay in the cache "
                      "(they come back if it is added again; --purge deletes them)")
        return 0
    finally:
        if store is not None:
            store.close()


# ----------------------------------------------------------------------------- import
@dataclass(slots=True)
class ImportPlan:
    kind: str  # "OPML", "newsboat urls", "docbao export"
    add: list[Subscription] = field(default_factory=list)
    present: list[tuple[Subscription, FeedConfig]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    searches: list[SavedSearch] = field(default_factory=list)
    searches_present: list[SavedSearch] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_import(data: bytes) -> tuple[str, ImportResult, dict[str, Any] | None]:
    """(kind, subscriptions, JSON export) of an import file, told apart by its content.

    Raises ValueError with a reason a user can read when it is none of them."""
    from tui.feeds.opml import read_newsboat_urls, read_opml

    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        document = _load_export(data)
        return "docbao export", _export_subscriptions(document), document
    if head.startswith(b"<") or data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "OPML", read_opml(data), None
    if b"\x00" in data[:4096]:
        raise ValueError("not OPML, a newsboat urls file or a docbao export (binary data)")
    return "newsboat urls", read_newsboat_urls(data.decode("utf-8-sig", errors="replace")), None


def _load_export(data: bytes) -> dict[str, Any]:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ValueError(f"not a docbao export: it is not valid JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise ValueError(f"a JSON file that is not a docbao export (no \"format\": \"{EXPORT_FORMAT}\")")
    version = document.get("version")
    if not isinstance(version, int) or version > EXPORT_VERSION:
        raise ValueError(f"a docbao export of version {version!r}; this docbao reads version "
                         f"{EXPORT_VERSION} and older")
    if not isinstance(document.get("feeds"), list):
        raise ValueError("a docbao export without a list of feeds")
    return document


def _export_subscriptions(document: dict[str, Any]) -> ImportResult:
    """The feeds and searches of a JSON export, through the same URL checks as OPML's;
    tags keep their order, which OPML folders cannot carry."""
    from tui.feeds.opml import ImportResult, Subscription, check_feed_url
    from tui.content.sanitize import clean_line

    result = ImportResult()
    by_key: dict[str, Subscription] = {}
    for number, entry in enumerate(document["feeds"], 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            result.skipped.append((f"feed #{number}", "not an object with a url string"))
            continue
        url, reason = check_feed_url(entry["url"])
        if reason:
            result.skipped.append((clean_line(entry["url"])[:200] or f"feed #{number}", reason))
            continue
        raw_tags = entry.get("tags") if isinstance(entry.get("tags"), list) else []
        tags = [t for t in (clean_line(_str(tag)) for tag in raw_tags) if t]
        known = by_key.get(feed_key(url))
        if known is None:
            sub = Subscription(url=url, title=clean_line(_str(entry.get("title"))),
                               tags=list(dict.fromkeys(tags)))
            by_key[feed_key(url)] = sub
            result.subscriptions.append(sub)
        else:
            result.skipped.append((url, f"the same feed as {known.url}; merged into it"))
            known.tags.extend(t for t in tags if t not in known.tags)
    for search in document.get("searches") or []:
        if isinstance(search, dict) and isinstance(search.get("name"), str) and isinstance(search.get("query"), str):
            result.searches.append((search["name"], search["query"]))
    return result


def plan_import(config: Config, cache: Path, kind: str, result: ImportResult) -> ImportPlan:
    """Split what a file holds into new, already subscribed and skipped."""
    from tui.content.sanitize import clean_line

    plan = ImportPlan(kind=kind, skipped=list(result.skipped))
    known = known_feeds(config, cache)
    for sub in result.subscriptions:
        present = known.get(feed_key(sub.url))
        if present is not None:
            plan.present.append((sub, present))
            continue
        plan.add.append(sub)
        known[feed_key(sub.url)] = FeedConfig(url=sub.url)
        if sub.hidden:
            plan.notes.append(f"{sub.url} was hidden in the file; docbao shows every feed")
    names = {s.name.casefold() for s in config.searches}
    queries = {s.query for s in config.searches}
    for name, query in result.searches:
        search = SavedSearch(clean_line(name), clean_line(query))
        if not search.name or not search.query:
            continue
        if search.name.casefold() in names or search.query in queries:
            plan.searches_present.append(search)
            continue
        names.add(search.name.casefold())
        queries.add(search.query)
        plan.searches.append(search)
    return plan


def cmd_import(args: argparse.Namespace, config: Config, cache: Path) -> int:
    source = "stdin" if args.file == "-" else args.file
    try:
        data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).expanduser().read_bytes()
    except OSError as exc:
        print(f"docbao: cannot read {source}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    try:
        kind, result, export = read_import(data)
    except ValueError as exc:
        print(f"docbao: {source}: {exc}", file=sys.stderr)
        print("nothing was imported")
        return 1
    plan = plan_import(config, cache, kind, result)
    restored: RestoreCounts | None = None
    path = _config_target(config)
    if not args.dry_run:
        try:
            if plan.add:
                add_feeds(path, [FeedConfig(url=s.url, title=s.title, tags=list(s.tags)) for s in plan.add])
            if plan.searches:
                add_searches(path, plan.searches)
            if plan.add or plan.searches:
                config, cache = _cache_after_write(path, args)
        except ConfigError as exc:
            print(f"docbao: {exc}", file=sys.stderr)
            return 2
    if export is not None:
        restored = restore_articles(config, cache, export, dry_run=args.dry_run, plan=plan)
    print_import_report(plan, source, path, restored, dry_run=args.dry_run)
    return 0


def print_import_report(plan: ImportPlan, source: str, path: Path, restored: RestoreCounts | None,
                        *, dry_run: bool) -> None:
    """What was (or would be) added, what was already there and what was left out, and why."""
    would = "would be " if dry_run else ""
    print(f"{source}: {plan.kind}")
    print(f"{_count(len(plan.add), 'feed')} {would}added" + (f" to {path}" if plan.add else "")
          + (":" if plan.add else ""))
    for sub in plan.add:
        extra = f"  [{', '.join(sub.tags)}]" if sub.tags else ""
        print(f"  + {sub.title + '  ' if sub.title else ''}{sub.url}{extra}")
    print(f"{len(plan.present)} already subscribed" + (":" if plan.present else ""))
    for sub, feed in plan.present:
        print(f"  = {sub.url}" + (f"  (as {feed.url})" if feed.url != sub.url else ""))
    print(f"{len(plan.skipped)} skipped" + (":" if plan.skipped else ""))
    for what, why in plan.skipped:
        print(f"  - {what}: {why}")
    if plan.searches or plan.searches_present:
        print(f"saved searches: {len(plan.searches)} {would}added, "
              f"{len(plan.searches_present)} already present")
        for search in plan.searches:
            print(f"  + {search.name}: {search.query}")
    for note in plan.notes:
        print(f"note: {note}")
    if restored is not None:
        print(f"{_count(restored.inserted, 'article')} {would}restored ({restored.read} read, {restored.starred} "
              f"starred), {restored.merged} already in the cache (read/starred kept or added)"
              + (f", {restored.skipped} skipped ({'; '.join(restored.reasons)})" if restored.skipped else ""))
    if dry_run:
        print("dry run: nothing was written")


# ----------------------------------------------------------------------------- articles in the cache
@dataclass(slots=True)
class RestoreCounts:
    inserted: int = 0
    merged: int = 0
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
    read: bool = False
    starred: bool = False
    first_seen: int = 0


def existing_articles(conn: sqlite3.Connection, feed_id: int) -> dict[str, tuple[int, bool, bool]]:
    """guid -> (id, read, starred) of a feed's cached articles."""
    return {guid: (article_id, bool(read), bool(starred)) for article_id, guid, read, starred in conn.execute(
        "SELECT id, guid, read, starred FROM articles WHERE feed_id = ?", (feed_id,))}


def insert_article(conn: sqlite3.Connection, feed_id: int, article: ArticleIn, digest: str = "") -> int:
    """Insert one article; the counters follow through the store's triggers.

    The store's sort rule is kept: the published time, else when it was first seen."""
    first_seen = article.first_seen or int(time.time())
    cursor = conn.execute(
        "INSERT INTO articles (feed_id, guid, link, title, author, published, updated, summary, content,"
        " enclosures, read, starred, first_seen, sort_time, digest) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (feed_id, article.guid, article.link, article.title, article.author, article.published,
         article.updated, article.summary, article.content,
         json.dumps(article.enclosures, ensure_ascii=False), int(article.read), int(article.starred),
         first_seen, article.published or first_seen, digest),
    )
    return int(cursor.lastrowid or 0)


def merge_state(conn: sqlite3.Connection, article_id: int, read: bool, starred: bool) -> None:
    """Set read / starred when the import says so; never clear either."""
    if read:
        conn.execute("UPDATE articles SET read = 1 WHERE id = ? AND read = 0", (article_id,))
    if starred:
        conn.execute("UPDATE articles SET starred = 1 WHERE id = ? AND starred = 0", (article_id,))


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _exported_article(raw: object, now: int) -> ArticleIn | str:
    """An article of a JSON export, cleaned as if it came from a feed, or why it is skipped."""
    from tui.content.sanitize import clean_line, is_openable_url, sanitize_html

    if not isinstance(raw, dict):
        return "an article that is not an object"
    guid = clean_line(_str(raw.get("guid")))
    if not guid:
        return "an article without a guid"
    link = _str(raw.get("link")).strip()
    enclosures = []
    for enclosure in raw.get("enclosures") or []:
        if isinstance(enclosure, dict) and is_openable_url(_str(enclosure.get("url"))):
            enclosures.append({"url": enclosure["url"], "type": clean_line(_str(enclosure.get("type"))),
                               "length": _int_or_none(enclosure.get("length"))})
    return ArticleIn(
        guid=guid,
        link=link if is_openable_url(link) else "",
        title=clean_line(_str(raw.get("title"))),
        author=clean_line(_str(raw.get("author"))),
        published=_int_or_none(raw.get("published")),
        updated=_int_or_none(raw.get("updated")),
        summary=sanitize_html(_str(raw.get("summary"))),
        content=sanitize_html(_str(raw.get("content"))),
        enclosures=enclosures,
        read=raw.get("read") is True,
        starred=raw.get("starred") is True,
        first_seen=_int_or_none(raw.get("first_seen")) or now,
    )


def _digest_of(article: ArticleIn) -> str:
    """The store's fingerprint of what the feed said, so that a refresh that finds the
    article unchanged leaves it alone instead of rewriting it."""
    from tui.model import Enclosure, ParsedArticle
    from tui.store.cache import article_digest

    return article_digest(ParsedArticle(
        guid=article.guid, link=article.link, title=article.title, author=article.author,
        published=article.published, updated=article.updated, summary=article.summary,
        content=article.content,
        enclosures=[Enclosure(str(e["url"]), str(e.get("type") or ""), _int_or_none(e.get("length")))
                    for e in article.enclosures],
    ))


def restore_articles(config: Config, cache: Path, export: dict[str, Any], *, dry_run: bool,
                     plan: ImportPlan) -> RestoreCounts:
    """Put an export's articles into the cache for the feeds now subscribed, one
    transaction per feed; articles already cached keep theirs and gain read/starred."""
    counts = RestoreCounts()
    known = known_feeds(config, cache)
    if dry_run:
        for sub in plan.add:
            known.setdefault(feed_key(sub.url), FeedConfig(url=sub.url))
    now = int(time.time())
    store: Store | None = None
    if not dry_run or (cache / DB_NAME).exists():
        store = _open_store(cache)
    try:
        for entry in export["feeds"]:
            if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
                continue
            raw_articles = entry.get("articles") or []
            if not isinstance(raw_articles, list):
                counts.skip("a feed whose articles are not a list")
                continue
            feed = known.get(feed_key(entry["url"]))
            if feed is None:
                for _ in raw_articles:
                    counts.skip("their feed was not imported")
                continue
            articles: list[ArticleIn] = []
            for raw in raw_articles:
                article = _exported_article(raw, now)
                if isinstance(article, str):
                    counts.skip(article)
                else:
                    articles.append(article)
            _restore_feed(store, feed.url, articles, counts, dry_run=dry_run)
    finally:
        if store is not None:
            store.close()
    return counts


def _restore_feed(store: Store | None, url: str, articles: list[ArticleIn], counts: RestoreCounts,
                  *, dry_run: bool) -> None:
    if dry_run:
        feed_id = store.feed_ids([url]).get(url) if store is not None else None
        cached = existing_articles(store.conn, feed_id) if store is not None and feed_id else {}
        seen: set[str] = set()
        for article in articles:
            if article.guid in cached or article.guid in seen:
                counts.merged += 1
            else:
                seen.add(article.guid)
                counts.inserted += 1
                counts.read += article.read
                counts.starred += article.starred
        return
    assert store is not None
    feed_id = store.ensure_feeds([url])[url]
    with store.transaction() as conn:
        cached = existing_articles(conn, feed_id)
        for article in articles:
            known = cached.get(article.guid)
            if known is not None:
                merge_state(conn, known[0], article.read, article.starred)
                counts.merged += 1
                continue
            article_id = insert_article(conn, feed_id, article, _digest_of(article))
            cached[article.guid] = (article_id, article.read, article.starred)
            counts.inserted += 1
            counts.read += article.read
            counts.starred += article.starred


# ----------------------------------------------------------------------------- export
def cmd_export(args: argparse.Namespace, config: Config, cache: Path) -> int:
    store: Store | None = None
    if args.format == "opml":
        from tui.feeds.opml import Subscription, write_opml

        subs = [Subscription(url=f.url, title=f.title, tags=list(f.tags)) for f in config.feeds]
        chunks: Iterable[bytes] = [write_opml(subs)]
    else:
        store = _open_store(cache) if (cache / DB_NAME).exists() else None
        chunks = export_json(config, store)
    try:
        if args.output:
            write_atomic(Path(args.output), chunks)
            print(f"exported {_count(len(config.feeds), 'feed')} to {args.output}", file=sys.stderr)
        else:
            out = sys.stdout.buffer
            for chunk in chunks:
                out.write(chunk)
            out.flush()
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        print(f"docbao: cannot write {args.output or 'stdout'}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    finally:
        if store is not None:
            store.close()
    return 0


def export_json(config: Config, store: Store | None) -> Iterator[bytes]:
    """The JSON backup, produced piece by piece so that a cache of any size streams out,
    read in one transaction so that a refresh running meanwhile cannot tear it."""
    head = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "searches": [{"name": s.name, "query": s.query} for s in config.searches],
    }
    yield json.dumps(head, ensure_ascii=False, indent=1)[:-2].encode() + b',\n "feeds": ['
    if store is not None:
        store.conn.execute("BEGIN")
    try:
        ids = store.feed_ids([f.url for f in config.feeds]) if store is not None else {}
        for index, feed in enumerate(config.feeds):
            about = json.dumps({"url": feed.url, "title": feed.title, "tags": list(feed.tags)},
                               ensure_ascii=False)
            yield (b"," if index else b"") + b"\n  " + about[:-1].encode() + b', "articles": ['
            feed_id = ids.get(feed.url)
            if store is not None and feed_id is not None:
                rows = store.conn.execute(
                    "SELECT guid, link, title, author, published, updated, summary, content, enclosures,"
                    " read, starred, first_seen FROM articles WHERE feed_id = ? ORDER BY id", (feed_id,))
                for number, row in enumerate(rows):
                    article = {
                        "guid": row[0], "link": row[1], "title": row[2], "author": row[3],
                        "published": row[4], "updated": row[5], "summary": row[6], "content": row[7],
                        "enclosures": json.loads(row[8] or "[]"), "read": bool(row[9]),
                        "starred": bool(row[10]), "first_seen": row[11],
                    }
                    yield (b"," if number else b"") + b"\n   " + json.dumps(article, ensure_ascii=False).encode()
            yield b"]}"
    finally:
        if store is not None:
            store.conn.execute("COMMIT")
    yield b"\n ]\n}\n"


# ----------------------------------------------------------------------------- newsboat's cache
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


@dataclass(slots=True)
class NewsboatFeedCounts:
    title: str
    url: str
    matched: int = 0
    inserted: int = 0
    read: int = 0
    starred: int = 0
    deleted: int = 0


def open_newsboat_cache(path: Path) -> sqlite3.Connection:
    """newsboat's cache opened read-only and immutable, so that nothing of it can change
    (not even a journal replay), with its tables checked. Raises ValueError."""
    resolved = path.expanduser().resolve()
    if not resolved.is_file():
        raise ValueError(f"{path}: no such file")
    uri = f"file:{quote(str(resolved), safe='/')}?mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(uri, uri=True)
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise ValueError(f"{path}: not an SQLite database ({exc})") from None
    if not {"rss_feed", "rss_item"} <= tables:
        conn.close()
        raise ValueError(f"{path}: not a newsboat cache (no rss_feed and rss_item tables)")
    return conn


def read_newsboat_items(conn: sqlite3.Connection) -> Iterator[NewsboatItem]:
    columns = {row[1] for row in conn.execute("PRAGMA table_info(rss_item)")}
    mime = "content_mime_type" if "content_mime_type" in columns else "''"
    flags = "flags" if "flags" in columns else "''"
    deleted = "deleted" if "deleted" in columns else "0"
    for row in conn.execute(
        "SELECT guid, title, author, url, feedurl, pubDate, content, unread,"
        f" {flags}, {deleted}, enclosure_url, enclosure_type, {mime} FROM rss_item ORDER BY id"
    ):
        yield NewsboatItem(
            guid=_str(row[0]), title=_str(row[1]), author=_str(row[2]), url=_str(row[3]),
            feedurl=_str(row[4]), pub_date=row[5] if isinstance(row[5], int) else 0,
            content=_str(row[6]), unread=bool(row[7]), flags=_str(row[8]), deleted=bool(row[9]),
            enclosure_url=_str(row[10]), enclosure_type=_str(row[11]),
            text_only=_str(row[12]) == "text/plain",
        )


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


def _flagged(flags: str, star_flags: str) -> bool:
    """newsboat marks an article with any flag as flagged ("!" in its list)."""
    flags = flags.strip()
    if not star_flags:
        return bool(flags)
    return any(flag in star_flags for flag in flags)


def import_newsboat_items(conn: sqlite3.Connection, feed_id: int, items: Sequence[NewsboatItem],
                          counts: NewsboatFeedCounts, star_flags: str, *, write: bool) -> None:
    """Match newsboat's items of one feed to the cached articles (by docbao's guid, then
    newsboat's, then link, then title for link-less items) and carry their state over;
    the ones the cache lacks are inserted.

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
    for item in items:
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
        article = _newsboat_article(item, star_flags, now)
        counts.inserted += 1
        article_id = insert_article(conn, feed_id, article) if write else -1
        by_guid[article.guid] = article_id
        guid_of[article_id] = article.guid
        if article.link:
            by_link.setdefault(article.link, []).append(article_id)


def cmd_import_newsboat_cache(args: argparse.Namespace, config: Config, cache: Path) -> int:
    from tui.feeds.refresh import refresh
    from tui.content.sanitize import clean_line

    try:
        nb = open_newsboat_cache(Path(args.path))
    except ValueError as exc:
        print(f"docbao: {exc}", file=sys.stderr)
        return 1
    star_flags = "".join(ch for ch in args.star_flags if ch.isascii() and ch.isalpha())
    try:
        items = list(read_newsboat_items(nb))
        nb_titles = dict(nb.execute("SELECT rssurl, title FROM rss_feed").fetchall())
    except sqlite3.DatabaseError as exc:
        print(f"docbao: {args.path}: cannot read newsboat's cache ({exc})", file=sys.stderr)
        return 1
    finally:
        nb.close()
    known = known_feeds(config, cache)
    by_feed: dict[str, list[NewsboatItem]] = {}
    for item in items:
        by_feed.setdefault(item.feedurl, []).append(item)
    for url in nb_titles:
        by_feed.setdefault(url, [])
    matched: dict[str, tuple[FeedConfig, list[NewsboatItem]]] = {}
    unmatched: list[tuple[str, int]] = []
    for url, feed_items in by_feed.items():
        feed = known.get(feed_key(url))
        if feed is None:
            if not url.lower().startswith("query:"):
                unmatched.append((url, len(feed_items)))
            continue
        entry = matched.setdefault(feed.url, (feed, []))
        entry[1].extend(feed_items)
    if not matched:
        print(f"docbao: none of the {len(unmatched)} feeds in {args.path} is subscribed in docbao; "
              "import newsboat's urls file first (docbao import ~/.newsboat/urls)", file=sys.stderr)
        return 1

    failed = False
    if not args.no_refresh and not args.dry_run:
        print(f"refreshing {_count(len(matched), 'feed')} first, so that articles match what docbao reads:")
        report = asyncio.run(refresh(config, cache, only=list(matched)))
        failed = not _print_refresh(report)

    # A dry run on a cache that does not exist yet matches against an empty one.
    store = _open_store(cache) if not args.dry_run or (cache / DB_NAME).exists() else None
    conn = store.conn if store is not None else _no_articles()
    results: list[NewsboatFeedCounts] = []
    try:
        for url, (feed, feed_items) in matched.items():
            own_title = next((nb_titles[i.feedurl] for i in feed_items if nb_titles.get(i.feedurl)), "")
            counts = NewsboatFeedCounts(title=feed.title or own_title or url, url=url)
            results.append(counts)
            if args.dry_run:
                feed_id = store.feed_ids([url]).get(url, 0) if store is not None else 0
                import_newsboat_items(conn, feed_id, feed_items, counts, star_flags, write=False)
                continue
            assert store is not None
            feed_id = store.ensure_feeds([url])[url]
            with store.transaction() as writer:
                import_newsboat_items(writer, feed_id, feed_items, counts, star_flags, write=True)
    finally:
        conn.close()

    would = "would be " if args.dry_run else ""
    print(f"{args.path}: newsboat cache")
    for counts in results:
        line = (f"  {clean_line(counts.title)}: {_count(counts.inserted, 'article')} {would}added, {counts.matched} "
                f"matched in the cache; {counts.read} read, {counts.starred} starred")
        if counts.deleted:
            line += f"; {counts.deleted} deleted in newsboat, kept out"
        print(line)
    for url, count in unmatched:
        print(f"  - {clean_line(url)}: not subscribed in docbao; its {count} articles were left out")
    total = sum(c.inserted for c in results)
    print(f"{_count(total, 'article')} {would}added, {sum(c.matched for c in results)} matched, "
          f"{sum(c.read for c in results)} read, {sum(c.starred for c in results)} starred")
    if args.dry_run:
        print("dry run: nothing was written")
    return 1 if failed else 0


def _no_articles() -> sqlite3.Connection:
    """An empty articles table, for a dry run on a cache that does not exist yet."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE articles (id INTEGER PRIMARY KEY, feed_id INTEGER, guid TEXT, link TEXT,"
                 " title TEXT, starred INTEGER)")
    return conn
