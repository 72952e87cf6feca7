"""Finding out what a URL is before subscribing to it: a feed, a page that names feeds, or
neither; and which subscribed feed a URL already is. Used by `docbao add` and by the reader."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from tui.config import Config, FeedConfig, url_problem
from tui.store.cache import DB_NAME, Store, account_feed_key

if TYPE_CHECKING:
    from tui.model import FetchResult

_PROBE_DEADLINE = 15.0  # seconds for each guessed feed path: most answer 404 at once


def feed_key(url: str) -> str:
    """The form duplicates are compared in."""
    from tui.feeds.opml import normalise_url

    try:
        return normalise_url(url)
    except ValueError:
        return url.strip()


def known_feeds(config: Config, cache: Path) -> dict[str, FeedConfig]:
    """Normalised URL -> subscribed feed, for each configured URL and for the redirect
    target the cache recorded for it (a feed that moved is still the same feed)."""
    known: dict[str, FeedConfig] = {}
    for feed in config.feeds:
        known.setdefault(feed_key(feed.url), feed)
    if (cache / DB_NAME).exists() and config.feeds:
        store = Store.open(cache)
        try:
            redirects = {row.url: row.redirect_url for row in store.feeds() if row.redirect_url}
        finally:
            store.close()
        for feed in config.feeds:
            target = redirects.get(feed.url)
            if target:
                known.setdefault(feed_key(target), feed)
    return known


class UnknownFeed(ValueError):
    """A name given on the command line that is no subscribed feed."""


def own_titles(cache: Path) -> dict[str, str]:
    """URL -> the feed's own title as the cache holds it (empty without a cache)."""
    if not (cache / DB_NAME).exists():
        return {}
    store = Store.open(cache)
    try:
        return {row.url: row.title for row in store.feeds() if row.title}
    finally:
        store.close()


def named_feeds(config: Config, cache: Path, names: list[str] | None) -> list[FeedConfig]:
    """The subscribed feeds that `names` name, in the order named; every feed when none are.

    A name is a feed's URL (compared normalised; an account's feed's own URL too), the title written in feeds.toml or the
    feed's own title as the cache holds it (what `docbao feeds` shows), without regard to
    case; a title several feeds share names them all. Raises UnknownFeed."""
    if not names:
        return list(config.feeds)
    own: dict[str, str] | None = None  # read only when a name is no URL or configured title
    chosen: list[FeedConfig] = []
    for name in names:
        wanted = name.strip().casefold()
        key = feed_key(name.strip())
        matches = [f for f in config.feeds if f.url.casefold() == wanted or feed_key(f.url) == key
                   or (f.source and feed_key(f.source) == key) or f.title.casefold() == wanted]
        if wanted and not matches:
            own = own_titles(cache) if own is None else own
            matches = [f for f in config.feeds if own.get(f.url, "").casefold() == wanted]
        if not wanted or not matches:
            raise UnknownFeed(f"no subscribed feed has the URL or title '{name}'")
        chosen.extend(m for m in matches if m not in chosen)
    return chosen


@dataclass(slots=True)
class Candidate:
    url: str
    title: str = ""
    verified: bool = False  # fetched and seen to be a feed


@dataclass(slots=True)
class Lookup:
    """What fetching the URL given to `add` found."""

    kind: str  # "feed", "page" or "error"
    final_url: str = ""
    candidates: list[Candidate] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    error: str = ""
    probed: bool = False  # the page named no feed and the usual paths were tried


async def look_up(url: str, *, deadline: float, max_bytes: int, user_agent: str = "") -> Lookup:
    """Fetch `url`; a feed is itself the candidate, a page gives the feeds it announces,
    else the COMMON_PATHS of its site that answer with a feed."""
    from tui.feeds.discover import COMMON_PATHS, discover_feeds, looks_like_feed
    from tui.feeds.fetch import fetch, host_is_private, make_client
    from tui.feeds.opml import check_feed_url

    async with make_client(len(COMMON_PATHS), user_agent) as client:
        first = await fetch(client, url, deadline=deadline, max_bytes=max_bytes)
        if first.status != "ok" or first.body is None:
            return Lookup("error", error=first.error or f"the server answered {first.status}")
        final = first.final_url or url
        if looks_like_feed(first.body, first.content_type):
            return Lookup("feed", final, [Candidate(url, verified=True)])
        lookup = Lookup("page", final)
        page_private = await host_is_private(urlsplit(final).hostname or "")
        for found in discover_feeds(first.body, final):
            checked, reason = check_feed_url(found.url)
            if not reason and url_problem(checked):
                reason = url_problem(checked)
            if not reason and not page_private and await host_is_private(urlsplit(checked).hostname or ""):
                reason = "a public page naming a feed on a private network address; not followed"
            if reason:
                lookup.skipped.append((found.url, reason))
            else:
                lookup.candidates.append(Candidate(checked, found.title))
        if lookup.candidates or lookup.skipped:
            return lookup
        lookup.probed = True
        parts = urlsplit(final)
        origin = f"{parts.scheme}://{parts.netloc}"
        guesses = [urljoin(origin, path) for path in COMMON_PATHS]
        results = await asyncio.gather(*(
            fetch(client, guess, deadline=min(deadline, _PROBE_DEADLINE), max_bytes=max_bytes)
            for guess in guesses
        ))
        bodies: set[bytes] = set()
        for guess, result in zip(guesses, results):
            if result.status != "ok" or result.body is None:
                continue
            if not looks_like_feed(result.body, result.content_type):
                continue
            digest = hashlib.sha1(result.body).digest()
            if digest in bodies:  # one feed served at two paths (/feed and /rss)
                continue
            bodies.add(digest)
            lookup.candidates.append(Candidate(guess, verified=True))
        return lookup


async def check_is_feed(url: str, *, deadline: float, max_bytes: int, user_agent: str = "") -> FetchResult | str:
    """The fetch of a feed, or why `url` is not one."""
    from tui.feeds.discover import looks_like_feed
    from tui.feeds.fetch import fetch, make_client

    async with make_client(1, user_agent) as client:
        result = await fetch(client, url, deadline=deadline, max_bytes=max_bytes)
    if result.status != "ok" or result.body is None:
        return result.error or f"the server answered {result.status}"
    if not looks_like_feed(result.body, result.content_type):
        return "it does not answer with a feed (RSS, Atom or JSON Feed)"
    return result


# ------------------------------------------------------------------ accounts' feeds
def account_feeds(config: Config, store: Store) -> list[FeedConfig]:
    """The configured accounts' feeds as the cache last mirrored them, as feed entries: the
    account's name and the server's labels are their tags."""
    names = {a.name for a in config.accounts}
    if not names:
        return []
    return [FeedConfig(url=account_feed_key(row.account, row.stream_id), title=row.title,
                       tags=[row.account, *row.labels], account=row.account, source=row.feed_url)
            for row in store.account_feeds() if row.account in names]


def with_accounts(config: Config, cache_dir: Path) -> Config:
    """`config` with its accounts' feeds added after the [[feed]] entries (in place)."""
    if not config.accounts or not (cache_dir / DB_NAME).exists():
        return config
    config.feeds = [f for f in config.feeds if not f.account]
    store = Store.open(cache_dir)
    try:
        config.feeds.extend(account_feeds(config, store))
    finally:
        store.close()
    return config
