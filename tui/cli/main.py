"""The `docbao` command: with no verb it opens the reader, the verbs run headless.

Exit status: 0 success, 1 when something failed (a feed, an unknown id), 2 for usage or
configuration errors. Heavy modules (Textual, httpx, the parsers) are imported only by
the verbs that need them, so `docbao feeds` answers at once on any cache.
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from tui import __version__
from tui.cli.words import count
from tui.config import Config, ConfigError, find_config, load_config, resolve_cache_dir
from tui.content.cells import fit
from tui.store.cache import FeedRow, Store, StoreError, failure_notice, say_upgrading

if TYPE_CHECKING:
    from tui.feeds.refresh import FeedOutcome

Handler = Callable[[argparse.Namespace, Config, Path], int]


class UsageError(Exception):
    """A verb was used wrongly; exit status 2."""


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("docbao: interrupted", file=sys.stderr)
        return 130


def _unreadable_queries(config: Config) -> list[str]:
    """The saved searches and [[ignore]] rules of feeds.toml whose query cannot be read
    (they match nothing), each with why."""
    if not config.searches and not config.ignores:
        return []
    from tui.content.sanitize import clean_line
    from tui.store.search import QueryError, parse_query

    found: list[str] = []
    for kind, name, query in [*(("[[search]]", f"'{s.name}'", s.query) for s in config.searches),
                              *(("[[ignore]]", f"query = '{q}'", q) for q in config.ignores)]:
        try:
            parse_query(query)
        except QueryError as exc:
            found.append(clean_line(f"{config.path}: {kind} {name} matches nothing: {exc}"))
    return found


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        path = find_config(getattr(args, "config", None), may_create=getattr(args, "creates_config", False))
        # a config named for a verb that creates it, not there yet: the defaults until written
        config = load_config(path) if path is None or path.exists() else Config(path=path)
    except ConfigError as exc:
        print(f"docbao: {exc}", file=sys.stderr)
        return 2
    for warning in config.warnings:
        print(f"docbao: warning: {warning}", file=sys.stderr)
    cache = resolve_cache_dir(config, getattr(args, "cache", None))
    handler: Handler = getattr(args, "handler", None) or run_reader
    if handler is not run_reader:  # (the reader says it where the search or the rule shows)
        for warning in _unreadable_queries(config):
            print(f"docbao: warning: {warning}", file=sys.stderr)
    try:
        if config.accounts:  # the accounts' feeds, as the last sync mirrored them
            from tui.feeds.subscriptions import with_accounts

            with_accounts(config, cache)
        return handler(args, config, cache)
    except UsageError as exc:
        print(f"docbao: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"docbao: {exc}", file=sys.stderr)
        return 1
    except sqlite3.DatabaseError as exc:  # a full disk, a damaged page found mid-command
        print(f"docbao: {failure_notice(cache, exc)}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `docbao articles | head`
        sys.stderr.close()
        return 0


def build_parser() -> argparse.ArgumentParser:
    # --config/--cache work before or after the verb: the verbs' copies default to
    # SUPPRESS so they never overwrite a value given before the verb.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                        help="feeds.toml to use (default: $DOCBAO_CONFIG, ./feeds.toml, "
                             "then $XDG_CONFIG_HOME/docbao/feeds.toml)")
    common.add_argument("--cache", metavar="DIR", default=argparse.SUPPRESS,
                        help="cache folder (default: [settings] cache_dir, else cache/ beside the config)")

    parser = argparse.ArgumentParser(
        prog="docbao", parents=[common],
        description="đọc báo: a terminal feed reader. With no command, opens the reader.",
    )
    parser.add_argument("--version", action="version", version=f"docbao {__version__}")
    verbs = parser.add_subparsers(title="commands", metavar="COMMAND")

    refresh = verbs.add_parser("refresh", parents=[common], help="fetch feeds into the cache",
                               description="Fetch every feed (or the ones named) and store new articles.")
    refresh.add_argument("--feed", action="append", metavar="URL_OR_TITLE",
                         help="refresh only this feed (repeatable)")
    refresh.add_argument("--quiet", "-q", action="store_true", help="print only failures")
    refresh.add_argument("--verbose", "-v", action="store_true",
                         help="a line for every feed that failed (without it, feeds failing with "
                              "one error share a line: 238 feeds: connection refused)")
    refresh.add_argument("--full-text", action="store_true",
                         help="also fetch the full article of every unread article that lacks one, "
                              "for every feed (reader mode, readable offline)")
    refresh.add_argument("--due", action="store_true",
                         help="only the feeds whose interval (refresh_minutes, else [settings] "
                              "auto_refresh_minutes) has passed since their last fetch; for a timer or cron")
    refresh.set_defaults(handler=cmd_refresh)

    sync = verbs.add_parser("sync", parents=[common], help="sync the [[account]]s with their servers",
                            description="Send the marks made here to each account's server, mirror its "
                                        "subscriptions, fetch its new items and take its read and starred "
                                        "state. `docbao refresh` does this too, before the feeds.")
    sync.add_argument("--account", metavar="NAME", help="only this account")
    sync.set_defaults(handler=cmd_sync)

    feeds = verbs.add_parser("feeds", parents=[common], help="list subscriptions with counts and status",
                             description="Each feed with its article and unread counts and its last fetch status.")
    feeds.add_argument("--json", action="store_true", help="one JSON object per line")
    feeds.add_argument("--apply-moves", action="store_true",
                       help="write the new address of every feed that moved permanently (HTTP 301/308) "
                            "into feeds.toml, comments kept")
    feeds.set_defaults(handler=cmd_feeds)

    articles = verbs.add_parser("articles", parents=[common], help="list cached articles, newest first",
                                description="List cached articles, newest first.")
    articles.add_argument("--feed", action="append", metavar="URL_OR_TITLE", help="only this feed (repeatable)")
    articles.add_argument("--unread", action="store_true", help="only unread articles")
    articles.add_argument("--starred", action="store_true", help="only starred articles")
    articles.add_argument("--limit", type=int, metavar="N", help="at most N articles")
    articles.add_argument("--json", action="store_true", help="one JSON object per line")
    articles.set_defaults(handler=cmd_articles)

    read = verbs.add_parser("read", parents=[common], help="print an article as plain text",
                            description="Print an article rendered as plain text (links numbered, "
                                        "listed at the end), for a pager or a script.")
    read.add_argument("id", type=int, metavar="ID", help="the article's id (see `docbao articles`)")
    read.add_argument("--full", action="store_true",
                      help="the full article from its web page (cached copy, else fetched now)")
    read.add_argument("--width", type=int, metavar="N", help="wrap to N columns (default: the terminal's, or 80)")
    read.set_defaults(handler=cmd_read)

    mark = verbs.add_parser("mark", parents=[common], help="mark articles read, unread, starred or unstarred",
                            description="Mark articles by id (as `docbao articles --json` prints them). "
                                        "An unknown id marks nothing and exits 1.")
    mark.add_argument("ids", type=int, nargs="+", metavar="ID", help="article ids")
    how = mark.add_mutually_exclusive_group(required=True)
    for flag, meaning in (("read", "read"), ("unread", "unread"), ("star", "starred"), ("unstar", "not starred")):
        how.add_argument(f"--{flag}", dest="how", action="store_const", const=flag, help=f"mark them {meaning}")
    mark.set_defaults(handler=cmd_mark)

    find = verbs.add_parser(
        "search", parents=[common], help="full-text search of the cache",
        description="Search titles, authors, feed names, bodies and full articles; diacritics and "
                    "case do not matter (\"lanh dao\" finds \"Lãnh đạo\"). Words must all match; "
                    "\"quoted phrases\", prefix*, -exclusion, and the filters feed:NAME tag:NAME "
                    "author:NAME title:WORD is:unread is:read is:starred before:DATE after:DATE "
                    "(2020-05-23, 7d). Articles an [[ignore]] query matches are not listed.")
    find.add_argument("query", nargs="+", metavar="QUERY", help="the query (several words are joined)")
    find.add_argument("--limit", type=int, default=50, metavar="N", help="at most N results (default 50)")
    find.add_argument("--json", action="store_true", help="one JSON object per line")
    find.set_defaults(handler=cmd_search)

    download = verbs.add_parser(
        "download", parents=[common], help="download the queued enclosures (podcasts, videos)",
        description="Download every queued enclosure into [settings] download_dir (the XDG download "
                    "folder by default), one folder per feed. Interrupted downloads resume where they "
                    "stopped. Enclosures are queued from the reader, and by a refresh of a feed with "
                    "download = true. Exit status 1 when some download failed.")
    download.add_argument("--feed", action="append", metavar="URL_OR_TITLE", help="only this feed's (repeatable)")
    download.add_argument("--retry", action="store_true", help="also try the failed downloads again")
    download.add_argument("--list", action="store_true", help="list the downloads and their state; download nothing")
    download.add_argument("--quiet", "-q", action="store_true", help="print only failures (for cron)")
    download.set_defaults(handler=cmd_download)

    from tui.cli import subscribe
    subscribe.add_parsers(verbs, common)
    return parser


# ----------------------------------------------------------------------------- helpers
def feed_titles(config: Config, rows: Sequence[FeedRow]) -> dict[int, str]:
    """The name to show for each feed: the config's title, the feed's own, else its URL."""
    configured = {f.url: f.title for f in config.feeds}
    return {row.id: configured.get(row.url) or row.title or row.url for row in rows}


def shown_urls(config: Config, rows: Sequence[FeedRow]) -> dict[int, tuple[str, str | None]]:
    """(the URL to show, the account or None) for each feed: an account's feed shows its own
    address, not the key the cache files it under."""
    by_url = {f.url: f for f in config.feeds}
    return {row.id: (by_url[row.url].shown_url, by_url[row.url].account or None) if row.url in by_url
            else (row.url, None) for row in rows}


def subscribed_rows(config: Config, store: Store) -> list[FeedRow]:
    """Cache rows of the feeds in the config, in config order (removed feeds are hidden)."""
    by_url = {row.url: row for row in store.feeds()}
    return [by_url[f.url] for f in config.feeds if f.url in by_url]


def open_store(cache: Path) -> Store:
    store = Store.open(cache, upgrading=say_upgrading)
    if store.notice:
        print(f"docbao: warning: {store.notice}", file=sys.stderr)
    return store


def ignored(config: Config, store: Store, rows: Sequence[FeedRow]) -> set[int]:
    """The articles the [[ignore]] queries hide from every list and search. A query that
    cannot be read hides nothing and is reported; the others still apply."""
    if not config.ignores:
        return set()
    from tui.store import search

    problems: list[str] = []
    found = search.ignored_ids(store.conn, config.ignores, tags=search.feed_tags(config, rows), problems=problems)
    for problem in problems:
        print(f"docbao: warning: {problem}", file=sys.stderr)
    return found


def iso(timestamp: int | None) -> str | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, timezone.utc).isoformat()


def local_time(timestamp: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp)) if timestamp else " " * 16


# ----------------------------------------------------------------------------- verbs
def run_reader(args: argparse.Namespace, config: Config, cache: Path) -> int:
    # Until the first frame is out the collector would only walk, several times over, what
    # importing Textual and building the screen make (all of it lives as long as the app):
    # 30-50 ms of the start. The app switches it on again after its first frame.
    gc.disable()
    try:
        from tui.ui.app import run  # Textual is imported only for the reader

        return run(config, cache)
    finally:
        gc.enable()


def cmd_refresh(args: argparse.Namespace, config: Config, cache: Path) -> int:
    import asyncio

    from tui.feeds.refresh import refresh
    from tui.feeds.subscriptions import UnknownFeed, named_feeds

    try:
        chosen = named_feeds(config, cache, args.feed)
    except UnknownFeed as exc:
        raise UsageError(str(exc)) from exc
    total = len([feed for feed in chosen if not feed.account])
    if not total and not config.accounts:
        print("docbao: no feeds to refresh: add [[feed]] entries to the config", file=sys.stderr)
        return 0
    open_store(cache).close()  # reports a damaged cache (moved aside) before any work
    progress_bar = None
    callback = None
    if sys.stderr.isatty() and not args.quiet:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        progress_bar = Progress(TextColumn("refreshing"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), console=Console(stderr=True), transient=True)
        task = progress_bar.add_task("refresh", total=total)
        callback = lambda outcome, done, count: progress_bar.update(task, completed=done, total=count)  # noqa: E731
        progress_bar.start()
    try:
        only = [feed.url for feed in chosen] if args.feed else None
        report = asyncio.run(refresh(config, cache, only=only, progress=callback, full_text=args.full_text,
                                     due=args.due))
    finally:
        if progress_bar is not None:
            progress_bar.stop()
    if args.due and not report.outcomes and not report.accounts:
        if not args.quiet:
            print("no feed is due: each was fetched less than its refresh_minutes (or auto_refresh_minutes) ago")
        return 0
    if args.due:
        notify_new(config, cache, report.outcomes)
    print_summary(report, sys.stdout, quiet=args.quiet, verbose=args.verbose)
    return 1 if report.failed or any(not a.ok for a in report.accounts) else 0


def notify_new(config: Config, cache: Path, outcomes: Sequence[FeedOutcome]) -> None:
    """`refresh --due` is the refresh of a timer, so like the reader's automatic one it
    tells the desktop what it brought to the feeds that want it (`notify`), through
    notify-send alone: a timer has no terminal to write to."""
    from tui.feeds.notify import desktop_notify, new_unread, notification_text

    if not any(outcome.new_ids for outcome in outcomes):
        return
    store = open_store(cache)
    try:
        rows = store.feeds()
        counts = new_unread(config, store, outcomes, feed_titles(config, rows), ignored(config, store, rows))
    finally:
        store.close()
    if counts:
        desktop_notify(*notification_text(counts))


def cmd_sync(args: argparse.Namespace, config: Config, cache: Path) -> int:
    import asyncio

    from tui.feeds.sync import describe, sync

    if not config.accounts:
        print("docbao: no accounts to sync: add an [[account]] to the config", file=sys.stderr)
        return 0
    if args.account and args.account not in {a.name for a in config.accounts}:
        raise UsageError(f"no [[account]] is named '{args.account}'")
    open_store(cache).close()
    report = asyncio.run(sync(config, cache, only=args.account))
    for outcome in report.accounts:
        print(describe(outcome), file=sys.stdout if outcome.ok else sys.stderr)
    return 1 if report.failed else 0


GROUP_AT = 3  # feeds failing with one error from this many on are told in one group
GROUP_NAME_LINES = 3  # lines of feed names under a group; the rest are counted
_INDENT = " " * 11  # under the counts' column, as an error under its feed


def print_summary(report: object, out: TextIO, *, quiet: bool = False, verbose: bool = False) -> None:
    """A line per feed (with `quiet`, per failure), then the totals (with `quiet`, only when
    something failed). Feeds failing with the same error (all of them, offline) share one
    line naming them, unless `verbose`."""
    from tui.content.sanitize import clean_line
    from tui.feeds.refresh import FeedOutcome, RefreshReport

    assert isinstance(report, RefreshReport)
    from tui.feeds.sync import describe

    for account in report.accounts:
        if not (quiet and account.ok):
            print(describe(account), file=out)
    labels = {"ok": "ok", "not_modified": "unchanged", "error": "ERROR", "gone": "GONE",
              "deferred": "deferred", "skipped": "skipped"}

    def feed_line(outcome: FeedOutcome) -> str:
        counts = f"{outcome.new:4d} new {outcome.updated:4d} updated {outcome.unchanged:4d} unchanged"
        line = f"{labels.get(outcome.status, outcome.status):9}  {counts}  {outcome.title}"
        if outcome.error:
            line += f"\n{_INDENT}{outcome.error}"
        return line

    failures: dict[tuple[str, str], list[FeedOutcome]] = {}
    for outcome in report.outcomes:
        if outcome.status in ("error", "gone") and not verbose:
            failures.setdefault((outcome.status, outcome.error), []).append(outcome)
        elif not quiet or outcome.status in ("error", "gone"):
            print(feed_line(outcome), file=out)
    room = max(40, (shutil.get_terminal_size().columns if out.isatty() else 80) - len(_INDENT))
    for (status, error), group in failures.items():
        if len(group) < GROUP_AT:
            for outcome in group:
                print(feed_line(outcome), file=out)
            continue
        print(f"{labels[status]:9}  {count(len(group), 'feed')}: {clean_line(error) or 'failed'}", file=out)
        for line in _name_lines([clean_line(outcome.title) for outcome in group], room):
            print(_INDENT + line, file=out)
    bad = [p for p in report.pages if not p.ok]
    failed = len(report.failed)
    if quiet and not (failed or bad or any(not account.ok for account in report.accounts)):
        return  # nothing went wrong: a cron job stays silent
    if report.pages:
        print(f"full articles: {len(report.pages) - len(bad)} fetched, {len(bad)} failed", file=out)
    if report.queued and not quiet:
        print(f"{count(report.queued, 'enclosure')} queued: 'docbao download' fetches them", file=out)
    print(f"{count(len(report.outcomes), 'feed')}: {report.new} new, {report.updated} updated, "
          f"{failed} failed{f', {report.pruned} pruned' if report.pruned else ''} "
          f"in {report.elapsed:.1f} s", file=out)


def _name_lines(names: list[str], room: int) -> list[str]:
    """Feed names one after another, " · " between them, in lines of `room` cells (a name
    wider than that cut with "…"); past GROUP_NAME_LINES lines the rest are counted:
    "and 230 more (--verbose names each)"."""
    from rich.cells import cell_len

    lines: list[list[str]] = [[]]
    for name in names:
        name = fit(name, room).rstrip() if cell_len(name) > room else name
        if lines[-1] and cell_len(" · ".join([*lines[-1], name])) > room:
            lines.append([])
        lines[-1].append(name)
    if len(lines) > GROUP_NAME_LINES:
        lines = lines[:GROUP_NAME_LINES]
        last = lines[-1]
        while True:
            more = len(names) - sum(len(line) for line in lines)
            tail = f"and {more} more (--verbose names each)"
            if not last or cell_len(" · ".join([*last, tail])) <= room:
                last.append(tail)
                break
            last.pop()
    return [" · ".join(line) for line in lines]


def cmd_feeds(args: argparse.Namespace, config: Config, cache: Path) -> int:
    if args.apply_moves:
        return apply_moves(config, cache)
    store = open_store(cache)
    try:
        rows = subscribed_rows(config, store)
        titles = feed_titles(config, rows)
        tags = {f.url: f.tags for f in config.feeds}
        shown = shown_urls(config, rows)
        unfetched = [f for f in config.feeds if f.url not in {r.url for r in rows}]
        for row in rows:
            if args.json:
                print(json.dumps({
                    "id": row.id, "url": shown[row.id][0], "title": titles[row.id], "tags": tags.get(row.url, []),
                    "articles": row.total, "unread": row.unread, "status": row.last_status or "never",
                    "error": row.last_error, "last_fetch": iso(row.last_fetch), "last_ok": iso(row.last_ok),
                    "gone": row.gone,
                    "moved_to": moved(row), "account": shown[row.id][1],
                }, ensure_ascii=False))
            else:
                status = row.last_status or "never fetched"
                line = f"{row.unread:6d}/{row.total:<6d} {status:12} {titles[row.id]}"
                if row.last_error:
                    line += f"\n{'':26}{row.last_error}"
                    if row.last_status not in ("ok", "not_modified") and row.last_ok:  # offline: since when
                        line += f" (last worked {local_time(row.last_ok)})"
                if moved(row):
                    line += f"\n{'':26}moved permanently to {moved(row)}"
                print(line)
        for feed in unfetched:
            if args.json:
                print(json.dumps({"id": None, "url": feed.shown_url, "title": feed.title or feed.shown_url,
                                  "tags": feed.tags, "articles": 0, "unread": 0, "status": "never",
                                  "error": "", "last_fetch": None, "last_ok": None, "gone": False, "moved_to": None,
                                  "account": feed.account or None},
                                 ensure_ascii=False))
            else:
                print(f"{0:6d}/{0:<6d} {'never fetched':12} {feed.title or feed.url}")
        if not args.json:
            unread = sum(r.unread for r in rows)
            total = sum(r.total for r in rows)
            print(f"{count(len(config.feeds), 'feed')}, {unread} unread of {count(total, 'article')}")
            for account in config.accounts:
                state = store.account_state(account.name)
                synced, error = state.synced, state.error
                waiting = len(store.pending_marks(account.name))
                print(f"account {account.name}: " + (f"last synced {local_time(synced)}" if synced else "never synced")
                      + (f", {count(waiting, 'mark')} waiting to be sent" if waiting else "")
                      + (f"\n{'':26}{error}" if error else ""))
            moves = sum(1 for row in rows if moved(row))
            if moves:
                print(f"{count(moves, 'feed')} moved permanently: 'docbao feeds --apply-moves' writes "
                      f"{'its' if moves == 1 else 'their'} new address into {config.path}")
    finally:
        store.close()
    return 0


def moved(row: FeedRow) -> str | None:
    """Where a feed moved permanently (HTTP 301/308), if it did."""
    return row.redirect_url if row.redirect_url and row.redirect_url != row.url else None


def apply_moves(config: Config, cache: Path) -> int:
    """Write the new address of every feed that moved permanently into feeds.toml
    (comments kept), and carry its cached articles over to that address."""
    from tui.config import set_feed_url, url_problem
    from tui.content.sanitize import clean_line

    store = open_store(cache)
    try:
        rows = subscribed_rows(config, store)
        titles = feed_titles(config, rows)
        configured = {f.url for f in config.feeds}
        done = 0
        for row in rows:
            target = moved(row)
            if target is None:
                continue
            label = clean_line(titles[row.id])
            if target in configured:
                print(f"  {label}: not moved, {target} is subscribed already")
                continue
            if url_problem(target):
                print(f"  {label}: not moved, {clean_line(target)} {url_problem(target)}")
                continue
            if config.path is None:
                raise UsageError("no feeds.toml to write the new addresses into")
            try:
                set_feed_url(config.path, row.url, target)
            except ConfigError as exc:
                print(f"docbao: {exc}", file=sys.stderr)
                return 2
            configured.add(target)
            kept = store.move_feed(row.url, target)
            print(f"  {label}: {row.url} -> {target}"
                  + ("" if kept else f" (the cache already had {target}; the old articles stay under the old address)"))
            done += 1
        print(f"{count(done, 'feed')} moved in {config.path}" if done else "no feed has moved")
    finally:
        store.close()
    return 0


FEED_COLUMN = 24  # cells of the feed's name in the lines of `articles` and `search`


def cmd_articles(args: argparse.Namespace, config: Config, cache: Path) -> int:
    from tui.content.sanitize import clean_line

    store = open_store(cache)
    try:
        rows = subscribed_rows(config, store) if config.feeds else store.feeds()
        titles = feed_titles(config, rows)
        urls = shown_urls(config, rows)
        feed_ids: list[int] | None = list(urls)
        if args.feed:
            from tui.feeds.subscriptions import UnknownFeed, named_feeds

            try:
                wanted = {f.url for f in named_feeds(config, cache, args.feed)}
            except UnknownFeed as exc:
                raise UsageError(str(exc)) from exc
            feed_ids = [row.id for row in rows if row.url in wanted]
        if args.limit is not None and args.limit < 1:
            raise UsageError("--limit must be at least 1")
        hidden = ignored(config, store, rows)
        limit = None if args.limit is None else args.limit + len(hidden)
        ids = [i for i in store.article_ids(feed_ids=feed_ids or [-1], unread=args.unread, starred=args.starred,
                                            limit=limit) if i not in hidden][:args.limit]
        if args.json:
            from tui.content.render import lead_image
            from tui.feeds.downloads import received
            from tui.store import downloads
        for start in range(0, len(ids), 1000):
            media = store.media(ids[start:start + 1000]) if args.json else {}
            fetched = downloads.of_articles(store, ids[start:start + 1000]) if args.json else {}
            for article in store.rows(ids[start:start + 1000]):
                if args.json:
                    enclosures, image, body = media.get(article.id, ([], "", ""))
                    image = lead_image(image, body)
                    for enclosure in enclosures:
                        got = fetched.get((article.id, str(enclosure.get("url"))))
                        enclosure["download"] = got.as_json(received(got)) if got else None
                    print(json.dumps({
                        "id": article.id, "feed_url": urls[article.feed_id][0],
                        "account": urls[article.feed_id][1], "feed_title": titles[article.feed_id], "title": article.title,
                        "link": article.link, "author": article.author,
                        "published": iso(article.published), "read": article.read,
                        "starred": article.starred, "enclosures": enclosures, "image": image,
                    }, ensure_ascii=False))
                else:
                    mark = ("N" if not article.read else " ") + ("*" if article.starred else " ")
                    print(f"{article.id:7d} {mark} {local_time(article.sort_time)}  "
                          f"{fit(clean_line(titles[article.feed_id]), FEED_COLUMN)}  {article.title}")
    finally:
        store.close()
    return 0


def cmd_download(args: argparse.Namespace, config: Config, cache: Path) -> int:
    import asyncio

    from tui.content.readable import file_size as size
    from tui.content.sanitize import clean_line
    from tui.feeds.downloads import DISK_FULL, download_dir, received, run_queue
    from tui.store import downloads

    feed_ids: list[int] | None = None
    store = open_store(cache)
    try:
        if args.feed:
            from tui.feeds.subscriptions import UnknownFeed, named_feeds

            try:
                wanted = {f.url for f in named_feeds(config, cache, args.feed)}
            except UnknownFeed as exc:
                raise UsageError(str(exc)) from exc
            feed_ids = [row.id for row in store.feeds() if row.url in wanted]
        if args.list:
            for row in downloads.rows(store, feed_ids=feed_ids):
                state = "queued" if row.stale else row.state
                done = size(received(row)) + (f" of {size(row.total)}" if row.total else "")
                print(f"{row.id:6d} {state:11} {done:20} {clean_line(row.path or row.url)}")
                if row.error:
                    print(f"{'':19}{row.error}")
            return 0
        waiting = len(downloads.rows(store, states=("queued", "failed") if args.retry else ("queued",),
                                     feed_ids=feed_ids))
    finally:
        store.close()
    bar = None
    progress = started = None
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn,
                                   TransferSpeedColumn)

        bar = Progress(TextColumn("{task.description}", markup=False), BarColumn(), DownloadColumn(),
                       TransferSpeedColumn(), TimeRemainingColumn(), console=Console(stderr=True), transient=True)
        task = bar.add_task("", total=None)

        begun = 0

        def started(row: object) -> None:
            nonlocal begun
            assert isinstance(row, downloads.DownloadRow)
            begun += 1
            place = f"{begun}/{max(waiting, begun)} "
            bar.update(task, description=place + clean_line(row.title or row.url)[:40], completed=0, total=None)

        def progress(row: object, received: int, total: int | None) -> None:
            bar.update(task, completed=received, total=total)

        bar.start()
    try:
        ended = asyncio.run(run_queue(config, cache, feed_ids=feed_ids, retry=args.retry,
                                      progress=progress, started=started))
    finally:
        if bar is not None:
            bar.stop()
    failed = [row for row in ended if row.state == "failed"]
    for row in ended:
        if row.state == "done" and not args.quiet:
            print(f"done    {size(row.received):>10}  {clean_line(row.path)}")
        elif row.state == "failed":
            print(f"FAILED  {size(row.received):>10}  {clean_line(row.url)}\n        {row.error}")
    if any(row.error.startswith(DISK_FULL) for row in failed):
        print("stopped: the disk is full; the rest stays queued for the next run")
    if failed or not args.quiet:
        print(f"{count(len(ended) - len(failed), 'download')} done, {len(failed)} failed" if ended
              else f"nothing to download (files go to {download_dir(config)})")
    return 1 if failed else 0


def cmd_read(args: argparse.Namespace, config: Config, cache: Path) -> int:
    import shutil

    from tui.content.render import media_lines, render_article, to_plain

    if args.width is not None and args.width < 20:
        raise UsageError("--width must be at least 20")
    store = open_store(cache)
    try:
        article = store.article(args.id)
        if article is None:
            print(f"docbao: no article has the id {args.id}", file=sys.stderr)
            return 1
        feed = store.feed(article.feed_id)
        title = feed_titles(config, [feed])[feed.id] if feed else ""
        html = article.content or article.summary
        if args.full:
            extract = store.extract(article.id)
            if extract is None or extract.fetched is None:
                import asyncio

                from tui.feeds.fulltext import fetch_one

                outcome = asyncio.run(fetch_one(config, cache, article.id))
                if not outcome.ok:
                    print(f"docbao: the full article is not available ({outcome.error}); "
                          "showing the feed's text", file=sys.stderr)
                extract = store.extract(article.id)
            if extract is not None and extract.fetched is not None:
                html = extract.html
                article = store.article(article.id) or article  # the extract may have filled author/date
    finally:
        store.close()
    width = args.width or (shutil.get_terminal_size((80, 24)).columns if sys.stdout.isatty() else 80)
    rendered = render_article(title=article.title, feed=title, author=article.author,
                              published=article.published, link=article.link, html=html,
                              media=media_lines(article.enclosures, article.image,
                                                article.content or article.summary),
                              date_format=config.settings.date_format, seen=article.first_seen)
    print(to_plain(rendered, width))
    return 0


def cmd_mark(args: argparse.Namespace, config: Config, cache: Path) -> int:
    ids = list(dict.fromkeys(args.ids))
    store = open_store(cache)
    try:
        found = {row.id for row in store.rows(ids)}
        unknown = [str(i) for i in ids if i not in found]
        if unknown:
            print(f"docbao: no article has the id {', '.join(unknown)}; nothing was marked", file=sys.stderr)
            return 1
        if args.how in ("read", "unread"):
            store.set_read(ids, args.how == "read")
        else:
            store.set_starred_many(ids, args.how == "star")
    finally:
        store.close()
    return 0


def cmd_search(args: argparse.Namespace, config: Config, cache: Path) -> int:
    from tui.content.sanitize import clean_line
    from tui.feeds.workers import index_workers
    from tui.store import index, search

    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    query = " ".join(args.query)
    store = open_store(cache)
    try:
        rows = store.feeds()
        titles = feed_titles(config, rows)
        urls = shown_urls(config, rows)
        if index.needs_build(store.conn):
            tty = sys.stderr.isatty()

            def progress(done: int, total: int) -> None:
                if tty and total:
                    print(f"\rindexing for search: {done}/{total}", end="", file=sys.stderr, flush=True)

            search.catch_up(store.conn, progress, workers=index_workers)
            if tty:
                print(file=sys.stderr)
        hidden = ignored(config, store, rows)
        try:
            hits = search.search(store.conn, query, limit=args.limit + 1 + len(hidden),
                                 tags=search.feed_tags(config, rows),
                                 feeds=search.subscribed_ids(config, rows))
        except search.QueryError as exc:
            print(f"docbao: {exc}", file=sys.stderr)
            return 2
        hits = [hit for hit in hits if hit.article_id not in hidden]
        more, hits = len(hits) > args.limit, hits[:args.limit]
        articles = {a.id: a for a in store.rows([hit.article_id for hit in hits])}
    finally:
        store.close()
    for hit in hits:
        article = articles.get(hit.article_id)
        if article is None:
            continue
        if args.json:
            print(json.dumps({
                "id": article.id, "feed_url": urls.get(article.feed_id, ("", None))[0],
                "account": urls.get(article.feed_id, ("", None))[1],
                "feed_title": titles.get(article.feed_id, ""), "title": article.title, "link": article.link,
                "author": article.author, "published": iso(article.published), "read": article.read,
                "starred": article.starred, "rank": hit.rank, "snippet": hit.snippet,
                "highlights": hit.spans,
            }, ensure_ascii=False))
        else:
            mark = ("N" if not article.read else " ") + ("*" if article.starred else " ")
            print(f"{article.id:7d} {mark} {local_time(article.sort_time)}  "
                  f"{fit(clean_line(titles.get(article.feed_id, '')), FEED_COLUMN)}  {article.title}")
            if hit.snippet:
                print(f"{'':11}{hit.snippet}")
    if not hits and not args.json:
        print("no articles match", file=sys.stderr)
    elif more:
        print(f"more articles match: the best {args.limit} are listed (--limit N for more)", file=sys.stderr)
    return 0
