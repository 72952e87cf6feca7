"""Managing subscriptions from the command line: add, remove, import, export, and
bringing a newsboat cache's history over.

Every verb writes feeds.toml through tui.config's atomic tomlkit edits, so comments and
layout survive, and reaches the cache only through the store (tui.store.backup for the
JSON backup, tui.store.newsboat for newsboat's cache): this module handles arguments and
prints. Whatever comes
from outside (a web page, an OPML file, a JSON backup, a newsboat cache) is hostile until
checked: only http(s) feed URLs are subscribed, commands are never run, titles are cleaned
and stored HTML goes through the sanitizer again. Nothing a user has read or starred is
ever lost to an import: read and starred only ever get set, never cleared.

Heavy modules (httpx, the parsers, the OPML reader) are imported by the handlers that
need them, since cli.build_parser imports this module on every start.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import sqlite3
import sys
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

from tui.config import (
    Config,
    ConfigError,
    FeedConfig,
    SavedSearch,
    add_feeds,
    add_ignores,
    add_searches,
    default_config_path,
    load_config,
    remove_feed,
    resolve_cache_dir,
    url_problem,
    write_atomic,
)
from tui.cli.words import count
from tui.store.cache import DB_NAME, Store, say_upgrading

if TYPE_CHECKING:
    from concurrent.futures import Future

    from tui.feeds.subscriptions import Candidate, Lookup
    from tui.store.backup import ArticleIn, ExportFile, RestoreCounts
    from tui.store.newsboat import NewsboatItem
    from tui.feeds.sync import AccountOutcome
    from tui.feeds.opml import ImportResult, Subscription
    from tui.feeds.refresh import RefreshReport


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
    add.add_argument("--account", metavar="NAME",
                     help="subscribe the [[account]] NAME on its server (which finds and fetches the feed); "
                          "--tag becomes a label there")
    add.set_defaults(handler=cmd_add, creates_config=True)

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
    imp.add_argument("--account", metavar="NAME",
                     help="subscribe the [[account]] NAME to the file's feeds on its server (tags become "
                          "labels) instead of adding [[feed]]s")
    imp.set_defaults(handler=cmd_import, creates_config=True)

    exp = verbs.add_parser(
        "export", parents=[common], help="write subscriptions as OPML, or a full JSON backup",
        description="OPML 2.0 (tags as folders) for other readers, or with --format json every "
                    "subscription and every cached article with its read and starred state, which "
                    "'docbao import' restores.")
    exp.add_argument("--format", choices=("opml", "json"),
                     help="default: json for an --output FILE ending in .json, else opml")
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
    store = Store.open(cache, upgrading=say_upgrading)
    if store.notice:
        print(f"docbao: warning: {store.notice}", file=sys.stderr)
    return store


def _config_target(config: Config) -> Path:
    """The file to edit: the config in use, else the default place (created on write)."""
    return config.path or default_config_path()


def _cache_after_write(path: Path, args: argparse.Namespace) -> tuple[Config, Path]:
    """The config as written and the cache it points at (a config just created at the
    default place goes on with the XDG cache folder in use before it existed)."""
    config = load_config(path)
    return config, resolve_cache_dir(config, getattr(args, "cache", None))


def _label(feed: FeedConfig, titles: dict[str, str] | None = None) -> str:
    own = (titles or {}).get(feed.url, "")
    return feed.title or own or feed.url


def _print_refresh(report: RefreshReport) -> bool:
    """One line per refreshed feed; True when every feed was read."""
    ok = True
    for outcome in report.outcomes:
        if outcome.status in ("ok", "not_modified"):
            print(f"  {outcome.title}: {count(outcome.new, 'new article')}")
        else:
            ok = False
            print(f"  {outcome.title}: {outcome.status}: {outcome.error}")
    return ok


# ----------------------------------------------------------------------------- add
def cmd_add(args: argparse.Namespace, config: Config, cache: Path) -> int:
    import asyncio

    from tui.feeds.opml import check_feed_url
    from tui.feeds.refresh import refresh
    from tui.feeds.subscriptions import check_is_feed, feed_key, known_feeds, look_up
    from tui.content.sanitize import clean_line

    url, reason = check_feed_url(args.url)
    if reason:
        return _usage(f"cannot subscribe to {clean_line(args.url)!r}: {reason}")
    if args.pick is not None and args.pick < 1:
        return _usage("--pick counts from 1")
    title = clean_line(args.title or "")
    tags = list(dict.fromkeys(t for t in (clean_line(tag) for tag in args.tag) if t))
    if args.account:
        return _add_to_account(config, cache, args.account, url, title, tags)
    known = known_feeds(config, cache)
    if feed_key(url) in known:
        return _already(url, known[feed_key(url)])

    settings = config.settings
    max_bytes = int(settings.max_feed_mb * 1024 * 1024)
    lookup = asyncio.run(look_up(url, deadline=settings.timeout, max_bytes=max_bytes, user_agent=settings.user_agent))
    if lookup.kind == "error":
        print(f"docbao: cannot fetch {url}: {lookup.error}", file=sys.stderr)
        return 1
    if lookup.final_url and feed_key(lookup.final_url) in known and lookup.kind == "feed":
        return _already(url, known[feed_key(lookup.final_url)])
    chosen = _choose(lookup, url, args.pick, known)
    if isinstance(chosen, int):
        return chosen
    if not chosen.verified:
        checked = asyncio.run(check_is_feed(chosen.url, deadline=settings.timeout, max_bytes=max_bytes,
                                            user_agent=settings.user_agent))
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


def _add_to_account(config: Config, cache: Path, name: str, url: str, title: str, tags: list[str]) -> int:
    from tui.feeds.greader import SyncError
    from tui.feeds.sync import subscribe

    if name not in {a.name for a in config.accounts}:
        return _usage(f"no [[account]] is named '{name}'")
    _open_store(cache).close()

    async def change() -> tuple[str, AccountOutcome]:
        [(_, stream_id, error)], outcome = await subscribe(config, cache, name, [(url, title, tags)])
        if error:
            raise SyncError(error)
        return f"Subscribed to {url} on the account {name} ({stream_id})", outcome

    return _on_server(change(), "not subscribed")


def _on_server(change: Coroutine[Any, Any, tuple[str, AccountOutcome]], failed: str) -> int:
    """Run a change of an account's subscriptions on its server and report it with the sync
    that follows it."""
    import asyncio

    from tui.feeds.greader import SyncError
    from tui.feeds.sync import describe

    try:
        done, outcome = asyncio.run(change)
    except SyncError as exc:
        print(f"docbao: {failed}: {exc}", file=sys.stderr)
        return 1
    print(done)
    print(describe(outcome), file=sys.stdout if outcome.ok else sys.stderr)
    return 0 if outcome.ok else 1


def _already(url: str, feed: FeedConfig) -> int:
    same = "" if feed.url == url else f" as {feed.url}"
    print(f"docbao: already subscribed{same}: {_label(feed)}", file=sys.stderr)
    return 1


def _choose(lookup: Lookup, url: str, pick: int | None, known: dict[str, FeedConfig]) -> Candidate | int:
    """The candidate to subscribe, or the exit status after saying why there is none."""
    from tui.feeds.subscriptions import feed_key

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
    print(f"{count(len(found), 'feed')} {how} {lookup.final_url}:")
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
    from tui.feeds.subscriptions import feed_key

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
        if feed.account:
            return _remove_from_account(config, cache, feed, label)
        try:
            remove_feed(config.path, feed.url)
        except ConfigError as exc:
            print(f"docbao: {exc}", file=sys.stderr)
            return 2
        print(f"Removed {label} ({feed.url}) from {config.path}")
        feed_id = rows.get(feed.url)
        if store is not None and feed_id is not None:
            cached = store.count(feed_ids=[feed_id])
            if args.purge:
                store.forget_feed(feed_id)
                print(f"  deleted its {count(cached, 'cached article')}")
            elif cached:
                print(f"  its {count(cached, 'cached article')} {'stays' if cached == 1 else 'stay'} in the cache "
                      "(they come back if it is added again; --purge deletes them)")
        return 0
    finally:
        if store is not None:
            store.close()


def _remove_from_account(config: Config, cache: Path, feed: FeedConfig, label: str) -> int:
    from tui.feeds.sync import unsubscribe

    async def change() -> tuple[str, AccountOutcome]:
        outcome = await unsubscribe(config, cache, feed)
        return f"Removed {label} from the account {feed.account} on its server", outcome

    return _on_server(change(), "not removed")


# ----------------------------------------------------------------------------- import
@dataclass(slots=True)
class ImportPlan:
    kind: str  # "OPML", "newsboat urls", "docbao export"
    add: list[Subscription] = field(default_factory=list)
    present: list[tuple[Subscription, FeedConfig]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    changed: list[tuple[str, str]] = field(default_factory=list)  # (feed URL, what changed and why)
    searches: list[SavedSearch] = field(default_factory=list)
    searches_present: list[SavedSearch] = field(default_factory=list)
    ignores: list[str] = field(default_factory=list)  # [[ignore]] queries to add
    ignores_present: int = 0
    notes: list[str] = field(default_factory=list)


def read_import(handle: BinaryIO) -> tuple[str, ImportResult, ExportFile | None]:
    """(kind, subscriptions, JSON export) of an import file (binary, seekable), told apart by
    its content. A JSON export is read as a stream (it may hold a million articles); the
    others are read whole.

    Raises ValueError with a reason a user can read when it is none of them."""
    from tui.feeds.opml import read_newsboat_urls, read_opml
    from tui.store.backup import ExportFile

    data = handle.read(1 << 16)
    start = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not start:
        data += handle.read()
        start = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if start.startswith(b"{"):
        export = ExportFile(handle)
        return "docbao export", _export_subscriptions(export.head), export
    data += handle.read()
    if start.startswith(b"<") or data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "OPML", read_opml(data), None
    if b"\x00" in data[:4096]:
        raise ValueError("not OPML, a newsboat urls file or a docbao export (binary data)")
    return "newsboat urls", read_newsboat_urls(data.decode("utf-8-sig", errors="replace")), None


def _export_subscriptions(document: dict[str, Any]) -> ImportResult:
    """The feeds and searches of a JSON export, through the same URL checks as OPML's;
    tags keep their order, which OPML folders cannot carry."""
    from tui.feeds.opml import ImportResult, Subscription, check_feed_url
    from tui.feeds.subscriptions import feed_key
    from tui.content.sanitize import clean_line
    from tui.store.backup import text_or_empty as _str

    result = ImportResult()
    by_key: dict[str, Subscription] = {}
    for number, entry in enumerate(document["feeds"], 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            result.skipped.append((f"feed #{number}", "not an object with a url string"))
            continue
        url, reason = check_feed_url(entry["url"])
        if entry["url"].startswith("greader:"):
            reason = "an account's feed: its server subscribes it (sync the account, then import again for its articles)"
        if reason and _local_feed(entry["url"]):
            url, reason = entry["url"].strip(), ""  # a backup keeps the local files feeds.toml allows
        if reason:
            result.skipped.append((clean_line(entry["url"])[:200] or f"feed #{number}", reason))
            continue
        raw_tags = entry.get("tags") if isinstance(entry.get("tags"), list) else []
        tags = [t for t in (clean_line(_str(tag)) for tag in raw_tags) if t]
        known = by_key.get(feed_key(url))
        if known is None:
            # a title the export took from the feed itself stays the feed's, not feeds.toml's
            title = "" if entry.get("title_from_feed") is True else clean_line(_str(entry.get("title")))
            sub = Subscription(url=url, title=title, tags=list(dict.fromkeys(tags)))
            by_key[feed_key(url)] = sub
            result.subscriptions.append(sub)
        else:
            result.skipped.append((url, f"the same feed as {known.url}; merged into it"))
            known.tags.extend(t for t in tags if t not in known.tags)
    for search in document.get("searches") or []:
        if isinstance(search, dict) and isinstance(search.get("name"), str) and isinstance(search.get("query"), str):
            result.searches.append((search["name"], search["query"]))
    for rule in document.get("ignores") or []:
        if isinstance(rule, dict) and isinstance(rule.get("query"), str):
            result.ignores.append(rule["query"])
    return result


def _local_feed(url: str) -> bool:
    """A local file path (or file: URL) that feeds.toml accepts as a feed."""
    url = url.strip()
    return bool(url) and not url.lower().startswith(("http:", "https:")) and not url_problem(url)


def plan_import(config: Config, cache: Path, kind: str, result: ImportResult) -> ImportPlan:
    """Split what a file holds into new, already subscribed and skipped."""
    from tui.content.sanitize import clean_line
    from tui.feeds.subscriptions import feed_key, known_feeds

    plan = ImportPlan(kind=kind, skipped=list(result.skipped))
    known = known_feeds(config, cache)
    for sub in result.subscriptions:
        present = known.get(feed_key(sub.url))
        if present is not None:
            plan.present.append((sub, present))
            continue
        plan.add.append(sub)
        known[feed_key(sub.url)] = FeedConfig(url=sub.url)
        changes = [(url, why) for url, why in result.changed if url == sub.url]
        plan.changed.extend(changes)
        if sub.hidden and not changes:
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
    ignored = set(config.ignores)
    for query in result.ignores:
        query = clean_line(query)
        if not query:
            continue
        if query in ignored:
            plan.ignores_present += 1
            continue
        ignored.add(query)
        plan.ignores.append(query)
    return plan


def cmd_import(args: argparse.Namespace, config: Config, cache: Path) -> int:
    source = "stdin" if args.file == "-" else args.file
    try:
        handle = _import_file(args.file)
    except OSError as exc:
        print(f"docbao: cannot read {source}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    with handle:
        return _import(args, config, cache, source, handle)


def _import_file(name: str) -> BinaryIO:
    """The file to import, opened for reading (twice, for a JSON export): stdin is kept in
    a temporary file as it comes."""
    if name != "-":
        return Path(name).expanduser().open("rb")
    import shutil
    import tempfile

    spool = tempfile.TemporaryFile()
    shutil.copyfileobj(sys.stdin.buffer, spool, 1 << 20)
    return spool  # type: ignore[return-value]


def _import(args: argparse.Namespace, config: Config, cache: Path, source: str, handle: BinaryIO) -> int:
    try:
        kind, result, export = read_import(handle)
    except OSError as exc:
        print(f"docbao: cannot read {source}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"docbao: {source}: {exc}", file=sys.stderr)
        print("nothing was imported")
        return 1
    plan = plan_import(config, cache, kind, result)
    if args.account:
        return _import_to_account(config, cache, args.account, plan, source, dry_run=args.dry_run)
    restored: RestoreCounts | None = None
    path = _config_target(config)
    if not args.dry_run:
        try:
            if plan.add:
                add_feeds(path, [FeedConfig(url=s.url, title=s.title, tags=list(s.tags)) for s in plan.add])
            if plan.searches:
                add_searches(path, plan.searches)
            if plan.ignores:
                add_ignores(path, plan.ignores)
            if plan.add or plan.searches or plan.ignores:
                config, cache = _cache_after_write(path, args)
        except ConfigError as exc:
            print(f"docbao: {exc}", file=sys.stderr)
            return 2
    if export is not None:
        try:
            restored = restore_articles(config, cache, export, dry_run=args.dry_run, plan=plan)
        except (OSError, ValueError) as exc:  # the file changed or went away since it was read
            print(f"docbao: {source}: {exc}; the articles stored before this stay", file=sys.stderr)
            return 1
    print_import_report(plan, source, path, restored, dry_run=args.dry_run)
    return 0


def _import_to_account(config: Config, cache: Path, name: str, plan: ImportPlan, source: str, *,
                       dry_run: bool) -> int:
    from tui.feeds.sync import subscribe

    if name not in {a.name for a in config.accounts}:
        return _usage(f"no [[account]] is named '{name}'")
    print(f"{source}: {plan.kind}")
    if dry_run:
        print(f"{count(len(plan.add), 'feed')} would be subscribed on the account {name}")
        for sub in plan.add:
            print(f"  {sub.url}")
        return 0
    _open_store(cache).close()
    failures: list[tuple[str, str]] = []

    async def change() -> tuple[str, AccountOutcome]:
        results, outcome = await subscribe(config, cache, name, [(s.url, s.title, s.tags) for s in plan.add])
        failures.extend((url, error) for url, _, error in results if error)
        done = len(results) - len(failures)
        return f"{count(done, 'feed')} subscribed on the account {name}", outcome

    status = _on_server(change(), "nothing was imported")
    for url, error in failures:
        print(f"  not subscribed: {url}: {error}", file=sys.stderr)
    return 1 if failures else status


def print_import_report(plan: ImportPlan, source: str, path: Path, restored: RestoreCounts | None,
                        *, dry_run: bool) -> None:
    """What was (or would be) added, what was already there and what was left out, and why."""
    would = "would be " if dry_run else ""
    print(f"{source}: {plan.kind}")
    print(f"{count(len(plan.add), 'feed')} {would}added" + (f" to {path}" if plan.add else "")
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
    if plan.changed:
        print(f"{len(plan.changed)} changed on the way in:")
        for url, why in plan.changed:
            print(f"  ~ {url}: {why}")
    if plan.searches or plan.searches_present:
        print(f"saved searches: {len(plan.searches)} {would}added, "
              f"{len(plan.searches_present)} already present")
        for search in plan.searches:
            print(f"  + {search.name}: {search.query}")
    if plan.ignores or plan.ignores_present:
        print(f"ignore rules: {len(plan.ignores)} {would}added, {plan.ignores_present} already present")
        for query in plan.ignores:
            print(f"  + {query}")
    for note in plan.notes:
        print(f"note: {note}")
    if restored is not None:
        print(f"{count(restored.inserted, 'article')} {would}restored ({restored.read} read, {restored.starred} "
              f"starred), {restored.merged} already in the cache (read/starred kept or added)"
              + (f", {restored.skipped} skipped ({'; '.join(restored.reasons)})" if restored.skipped else "")
              + (f"; {restored.kept_out} pruned or deleted kept out" if restored.kept_out else ""))
    if dry_run:
        print("dry run: nothing was written")


# ----------------------------------------------------------------------------- articles of a backup
class ImportProgress:
    """"importing articles: done/total" on one line of a terminal's stderr, redrawn at most
    ten times a second; nothing when stderr is not a terminal. Articles are indexed for
    search as they are written, so the count says how far both are."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.shown = total, 0, 0.0
        self.tty = sys.stderr.isatty() and total > 0

    def add(self, number: int) -> None:
        self.done += number
        if self.tty and (time.monotonic() - self.shown > 0.1 or self.done >= self.total):
            self.shown = time.monotonic()
            print(f"\rimporting and indexing articles: {self.done}/{self.total}", end="", file=sys.stderr, flush=True)

    def end(self) -> None:
        if self.tty and self.shown:
            print(file=sys.stderr)


def restore_articles(config: Config, cache: Path, export: ExportFile, *, dry_run: bool,
                     plan: ImportPlan) -> RestoreCounts:
    """Put an export's articles into the cache for the feeds now subscribed, read from the
    file 250 at a time (_BATCH) and stored in transactions of a few thousand (Store.batched);
    articles already cached keep theirs and gain read/starred."""
    from tui.feeds.subscriptions import feed_key, known_feeds
    from tui.store.backup import RestoreCounts, exported_articles, restore_feed, restore_pruned

    counts = RestoreCounts()
    known = known_feeds(config, cache)
    if dry_run:
        for sub in plan.add:
            known.setdefault(feed_key(sub.url), FeedConfig(url=sub.url))
    now = int(time.time())
    store: Store | None = None
    if not dry_run or (cache / DB_NAME).exists():
        store = _open_store(cache)
    entries = export.head["feeds"]
    feeds: list[FeedConfig | None] = []
    for entry, number in zip(entries, export.counts):
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            feeds.append(None)
        elif "articles" in entry:  # (what is left there is no list)
            counts.skip("a feed whose articles are not a list")
            feeds.append(None)
        else:
            feeds.append(known.get(feed_key(entry["url"])))
            if feeds[-1] is None:
                for _ in range(number):
                    counts.skip("their feed was not imported")
    progress = ImportProgress(0 if dry_run else sum(n for feed, n in zip(feeds, export.counts) if feed))
    # the guids of the feed being read (its articles come together, batch after batch):
    # only that feed's, so that memory does not grow with the backup
    last, guids = -1, None
    try:
        for index, feed in enumerate(feeds):
            if feed is not None and isinstance(entries[index].get("pruned"), list):
                restore_pruned(store, feed.url, entries[index]["pruned"], counts, dry_run=dry_run)
        ids = {} if store is None or dry_run else store.ensure_feeds([feed.url for feed in feeds if feed])
        wanted = ((index, raws) for index, raws in export.articles(batch=_BATCH) if feeds[index] is not None)
        with store.batched() if store is not None and not dry_run else contextlib.nullcontext() as write:
            # the feeds' own titles before any article: a title set indexes its feed's articles
            # again (the triggers), which also writes out the search index's pending rows
            for index, feed in enumerate(feeds):
                if feed is not None and ids and (title := _own_title(entries[index])):
                    restore_feed(store, feed.url, [], counts, dry_run=False, own_title=title, write=(write, ids[feed.url]))
            for index, _, cleaned in _cleaned(wanted, sum(n for feed, n in zip(feeds, export.counts) if feed),
                                              exported_articles, now):
                articles: list[ArticleIn] = []
                for article in cleaned:
                    if isinstance(article, str):
                        counts.skip(article)
                    else:
                        articles.append(article)
                url = feeds[index].url
                guids = restore_feed(store, url, articles, counts, dry_run=dry_run, known=guids if index == last else None,
                                     write=(write, ids[url]) if ids else None)
                last = index
                progress.add(len(cleaned))
    finally:
        progress.end()
        if store is not None:
            store.close()
    return counts


K = TypeVar("K")
T = TypeVar("T")


def _cleaned(batches: Iterable[tuple[K, list[Any]]], articles: int, clean: Callable[..., list[T]], *args: Any,
             ) -> Iterator[tuple[K, list[Any], list[T]]]:
    """(key, batch, `clean(batch, *args)`) for each (key, batch) of articles an import
    brings, in their order. A big import cleans them (sanitizes, fingerprints, folds for
    the index) in worker processes while this one reads and stores: _AHEAD articles ahead
    at most (and one batch, however big), so that memory does not grow with the import."""
    from tui.feeds.workers import worker_pool

    pool = worker_pool(articles, processes_from=_CLEANED_IN_PROCESSES_FROM, threads=1, name="import")
    ahead: collections.deque[tuple[K, list[Any], Future[list[T]]]] = collections.deque()
    waiting = 0  # articles in `ahead`
    try:
        for key, batch in batches:
            ahead.append((key, batch, pool.submit(clean, batch, *args)))
            waiting += len(batch)
            while len(ahead) > 1 and waiting > _AHEAD:
                key, batch, cleaning = ahead.popleft()
                waiting -= len(batch)
                yield key, batch, cleaning.result()
        while ahead:
            key, batch, cleaning = ahead.popleft()
            yield key, batch, cleaning.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


_CLEANED_IN_PROCESSES_FROM = 2000  # articles; fewer are cleaned sooner than processes start
_AHEAD = 1000  # articles being cleaned or cleaned and not yet stored: enough to keep two workers busy
_BATCH = 250  # articles of an export cleaned at a time


def _own_title(entry: dict[str, Any]) -> str:
    """The feed's own title an export gives (not feeds.toml's), else ""."""
    from tui.content.sanitize import clean_line
    from tui.store.backup import text_or_empty

    return clean_line(text_or_empty(entry.get("title"))) if entry.get("title_from_feed") is True else ""


# ----------------------------------------------------------------------------- export
def cmd_export(args: argparse.Namespace, config: Config, cache: Path) -> int:
    store: Store | None = None
    json_file = bool(args.output) and args.output.lower().endswith(".json")
    if (args.format or ("json" if json_file else "opml")) == "opml":
        from tui.feeds.opml import Subscription, write_opml
        from tui.feeds.subscriptions import own_titles

        own = own_titles(cache)  # a feed with no title in feeds.toml is named as the reader names it
        subs: list[Subscription] = []
        for f in config.feeds:
            if f.account:  # for other readers: the feed's own address, the server's labels as folders
                if f.source and all(sub.url != f.source for sub in subs):
                    subs.append(Subscription(url=f.source, title=f.title, tags=[t for t in f.tags if t != f.account]))
            else:
                subs.append(Subscription(url=f.url, title=f.title or own.get(f.url, ""), tags=list(f.tags),
                                         title_from_feed=not f.title))
        chunks: Iterable[bytes] = [write_opml(subs)]
        exported = len(subs)
    else:
        from tui.store.backup import export_json

        store = _open_store(cache) if (cache / DB_NAME).exists() else None
        chunks = export_json(config, store)
        exported = len(config.feeds)
    try:
        if args.output:
            write_atomic(Path(args.output), chunks)
            print(f"exported {count(exported, 'feed')} to {args.output}", file=sys.stderr)
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


class _NewsboatUnreadable(Exception):
    """newsboat's cache failed as it was read (docbao's own cache fails otherwise)."""


def cmd_import_newsboat_cache(args: argparse.Namespace, config: Config, cache: Path) -> int:
    from tui.store.newsboat import open_newsboat_cache

    try:
        nb = open_newsboat_cache(Path(args.path))
    except ValueError as exc:
        print(f"docbao: {exc}", file=sys.stderr)
        return 1
    try:
        return _import_newsboat_cache(args, config, cache, nb)
    except _NewsboatUnreadable as exc:
        print(f"docbao: {args.path}: cannot read newsboat's cache ({exc.__cause__})", file=sys.stderr)
        return 1
    finally:
        nb.close()


def _import_newsboat_cache(args: argparse.Namespace, config: Config, cache: Path, nb: sqlite3.Connection) -> int:
    """newsboat's items are read a feed at a time (its cache may hold a million) and stored
    in transactions of a few thousand (Store.batched)."""
    import asyncio

    from tui.feeds.refresh import refresh
    from tui.feeds.subscriptions import feed_key, known_feeds
    from tui.content.sanitize import clean_line
    from tui.feeds.parse import repair_mojibake
    from tui.store.newsboat import (NewsboatFeedCounts, import_newsboat_items, newsboat_articles,
                                    newsboat_feed_titles, newsboat_item_counts, no_articles, read_newsboat_items)

    def items_of(urls: list[str]) -> list[NewsboatItem]:
        try:
            return list(read_newsboat_items(nb, urls))
        except sqlite3.DatabaseError as exc:
            raise _NewsboatUnreadable from exc

    star_flags = "".join(ch for ch in args.star_flags if ch.isascii() and ch.isalpha())
    try:
        sizes = newsboat_item_counts(nb)
        nb_titles = newsboat_feed_titles(nb)
    except sqlite3.DatabaseError as exc:
        raise _NewsboatUnreadable from exc
    known = known_feeds(config, cache)
    matched: dict[str, tuple[FeedConfig, list[str]]] = {}  # docbao's feed -> newsboat's URLs for it
    unmatched: list[tuple[str, int]] = []
    for url in {**sizes, **dict.fromkeys(nb_titles, 0)}:
        feed = known.get(feed_key(url))
        if feed is None:
            if not url.lower().startswith("query:"):
                unmatched.append((url, sizes.get(url, 0)))
            continue
        matched.setdefault(feed.url, (feed, []))[1].append(url)
    if not matched:
        print(f"docbao: none of the feeds in {args.path} ({count(len(unmatched), 'feed')}) is subscribed in docbao; "
              "import newsboat's urls file first (docbao import ~/.newsboat/urls)", file=sys.stderr)
        return 1

    unrefreshed: set[str] = set()  # feeds whose refresh failed: matched against the cache as it was
    if not args.no_refresh and not args.dry_run:
        print(f"refreshing {count(len(matched), 'feed')} first, so that articles match what docbao reads: ",
              end="", flush=True)
        report = asyncio.run(refresh(config, cache, only=list(matched)))
        unrefreshed = {o.url for o in report.outcomes if o.status not in ("ok", "not_modified")}
        print(count(report.new, "new article") + (f", {len(unrefreshed)} failed (below)" if unrefreshed else ""))

    # A dry run on a cache that does not exist yet matches against an empty one.
    store = _open_store(cache) if not args.dry_run or (cache / DB_NAME).exists() else None
    conn = store.conn if store is not None else no_articles()
    own = {row.url: row.title for row in store.feeds() if row.title} if store is not None else {}
    results: list[NewsboatFeedCounts] = []
    total = sum(sizes.get(u, 0) for _, urls in matched.values() for u in urls)
    progress = ImportProgress(0 if args.dry_run else total)
    ids = store.ensure_feeds(matched) if store is not None and not args.dry_run else {}
    feeds_items = ((url, items_of(nb_urls)) for url, (_, nb_urls) in matched.items())
    try:
        with store.batched() if store is not None and not args.dry_run else contextlib.nullcontext() as write:
            for url, feed_items, articles in _cleaned(feeds_items, total, newsboat_articles, star_flags,
                                                      int(time.time())):
                feed, nb_urls = matched[url]
                # named as docbao names it: feeds.toml's title, else its own as docbao stored it, else
                # the one newsboat stored (repaired as docbao repairs a feed's title)
                nb_title = next((nb_titles[u] for u in nb_urls if nb_titles.get(u)), "")
                name = feed.title or own.get(url) or clean_line(repair_mojibake(nb_title))
                counts = NewsboatFeedCounts(title=name or url, url=url)
                results.append(counts)
                if args.dry_run:
                    feed_id = store.feed_ids([url]).get(url, 0) if store is not None else 0
                    import_newsboat_items(conn, feed_id, feed_items, counts, star_flags, write=False,
                                          articles=articles)
                    continue
                with write(len(feed_items)) as writer:
                    import_newsboat_items(writer, ids[url], feed_items, counts, star_flags, write=True,
                                          articles=articles)
                progress.add(len(feed_items))
    finally:
        progress.end()
        conn.close()

    would = "would be " if args.dry_run else ""
    print(f"{args.path}: newsboat cache")
    idle = 0  # feeds that had nothing to import: a line each would bury the others
    for counts in results:
        if not (counts.inserted or counts.read or counts.starred or counts.deleted):
            idle += 1
            continue
        line = (f"  {clean_line(counts.title)}: {count(counts.inserted, 'article')} {would}added, {counts.matched} "
                f"matched in the cache; {counts.read} read, {counts.starred} starred")
        if counts.deleted:
            line += f"; {counts.deleted} deleted in newsboat, kept out"
        print(line)
    if idle:
        print(f"{count(idle, 'feed')} had nothing to import (every article already in the cache, "
              "none read, flagged or deleted in newsboat)")
    for url, number in unmatched:
        print(f"  - {clean_line(url)}: not subscribed in docbao; its {count(number, 'article')} {'was' if number == 1 else 'were'} left out")
    legacy = sum(c.legacy for c in results)
    if legacy:
        print(f"{count(legacy, 'article')} of newsboat's {'was' if legacy == 1 else 'were'} not UTF-8 and "
              f"{'was' if legacy == 1 else 'were'} read as windows-1252 (Latin-1)")
    total = sum(c.inserted for c in results)
    print(f"{count(total, 'article')} {would}added, {sum(c.matched for c in results)} matched, "
          f"{sum(c.read for c in results)} read, {sum(c.starred for c in results)} starred")
    if args.dry_run:
        print("dry run: nothing was written" + ("" if args.no_refresh else
              "; the feeds were not refreshed first, as the import does, so more may match then"))
    if unrefreshed:  # the import itself went well: a warning, not a failure
        names = [clean_line(c.title) for c in results if c.url in unrefreshed]
        print(f"docbao: {count(len(names), 'feed')} could not be refreshed first, so {'its' if len(names) == 1 else 'their'} "
              f"articles were matched against the cache as it was ('docbao feeds' says why): {', '.join(names)}",
              file=sys.stderr)
    return 0
