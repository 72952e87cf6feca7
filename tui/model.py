"""The plain dataclasses the layers pass to each other.

Times are integer seconds since the epoch (UTC): they sort and compare in SQLite
without parsing, and every layer agrees on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Enclosure:
    url: str
    type: str = ""
    length: int | None = None  # bytes
    duration: int | None = None  # seconds (itunes:duration, Media RSS duration)


@dataclass(slots=True)
class ParsedArticle:
    """One entry as it will be stored: every text field already cleaned (NFC, no controls)."""

    guid: str  # identity within its feed: the entry's id, else its link, else a hash
    link: str = ""
    title: str = ""
    author: str = ""
    published: int | None = None
    updated: int | None = None
    summary: str = ""  # sanitized HTML: the description, "" when it is the only body
    content: str = ""  # sanitized HTML: the full body, else the description
    enclosures: list[Enclosure] = field(default_factory=list)
    image: str = ""  # the lead image's URL: thumbnail, image media, itunes:image, else the body's first <img>
    written_guid: str = ""  # the id as written when guid is that id resolved ("/2024/post"): the cache's key


@dataclass(slots=True)
class ParsedFeed:
    title: str = ""
    link: str = ""  # the site's home page
    format: str = ""  # "rss20", "atom10", "json11", ...
    articles: list[ParsedArticle] = field(default_factory=list)
    warning: str = ""  # a recoverable problem the parser reported (e.g. not well-formed)


class FeedError(Exception):
    """A per-feed failure with a message fit to show the user."""


@dataclass(slots=True)
class FetchResult:
    """What one conditional GET produced. `body` is None unless status == "ok"."""

    status: str  # "ok", "not_modified", "error", "gone", "deferred"
    url: str  # the URL that was asked for
    final_url: str = ""  # after redirects
    http_status: int | None = None
    body: bytes | None = None
    content_encoding: str = ""  # what is still to undo on `body` (fetch's decode=False)
    content_type: str = ""
    etag: str = ""
    last_modified: str = ""
    permanent_url: str = ""  # a 301/308 target to use from now on
    retry_after: int | None = None  # epoch seconds before which the feed must not be asked again
    error: str = ""
