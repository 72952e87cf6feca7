"""Full-text search over the cache, insensitive to case and diacritics: the query language
and the queries. The index itself (tables, triggers, folding) is schema and lives in
tui.store.index.

User input never reaches FTS5 as syntax: the parser folds and splits each word into tokens
and the MATCH expression is built from quoted tokens only.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tui.store.index import (
    CJK_CHAR,
    COLUMNS,
    FTS_TABLE,
    SEPARATOR,
    WORD_CHAR,
    build,
    fold,
    fold_mapped,
    html_text,
    index_form,
    needs_build,
    tokens,
)

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from tui.config import Config
    from tui.store.cache import FeedRow


# bm25 weights, in the order of tui.store.index.COLUMNS: a word in the title says more than one
# in the body, and one in the feed's name least (it is in every article of the feed: a search
# for "Đà Nẵng" is not for every article of "Tin Đà Nẵng", nor "báo" for every "Báo ..." feed).
_WEIGHTS = (10.0, 3.0, 0.25, 1.0, 1.0)
_ARTICLE_COLUMNS = "{" + " ".join(column for column in COLUMNS if column != "feed") + "}"
_SNIPPET_WIDTH = 160
_SNIPPET_SCAN = 20_000  # characters of a text searched for a snippet
_MANY_MATCHES = 5000  # beyond this, list matches by walking an index rather than by id
_SCORE = f"bm25({FTS_TABLE}, {', '.join(str(w) for w in _WEIGHTS)})"

_SPACES = re.compile(r"\s+")
_UNTIDY_SPACE = re.compile(r"\s{2,}|[^\S ]")  # what a one-line snippet turns into one space
_NOT_SPACE = re.compile(r"\S")


class QueryError(Exception):
    """A query that cannot be read; the message says what to change."""


def feed_tags(config: Config, rows: Sequence[FeedRow]) -> dict[str, list[int]]:
    """tag -> feed ids, for the tag: filter of search."""
    ids = {row.url: row.id for row in rows}
    tags: dict[str, list[int]] = {}
    for feed in config.feeds:
        for tag in feed.tags:
            if feed.url in ids:
                tags.setdefault(tag, []).append(ids[feed.url])
    return tags


def subscribed_ids(config: Config, rows: Sequence[FeedRow]) -> set[int]:
    """The cache ids of the feeds the config subscribes to (an account's too): a search
    leaves out the articles of the others, which stay in the cache after unsubscribing."""
    urls = {feed.url for feed in config.feeds}
    return {row.id for row in rows if row.url in urls}


# ------------------------------------------------------------------------ queries
@dataclass(frozen=True, slots=True)
class Term:
    """Tokens that must appear in this order; with `prefix`, the last one may go on ("dao*")."""

    tokens: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class When:
    """A date bound: a fixed instant, or an age resolved when the query runs."""

    epoch: int | None = None
    seconds_ago: int | None = None
    days_ago: int | None = None  # local midnight this many days back ("today", "yesterday")

    def resolve(self, now: float) -> int:
        if self.epoch is not None:
            return self.epoch
        if self.seconds_ago is not None:
            return int(now) - self.seconds_ago
        midnight = datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
        return int((midnight - timedelta(days=self.days_ago or 0)).timestamp())


@dataclass(slots=True)
class ParsedQuery:
    """A query as the user meant it; every text is already folded."""

    text: str = ""
    words: list[str] = field(default_factory=list)  # single tokens, all required
    phrases: list[tuple[str, ...]] = field(default_factory=list)  # token runs, all required
    prefixes: list[Term] = field(default_factory=list)  # "dao*", "lanh dao*"
    excluded: list[Term] = field(default_factory=list)  # -word, -"a phrase", -pre*
    feeds: list[str] = field(default_factory=list)  # feed:NAME, folded substrings of title or url
    excluded_feeds: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    excluded_tags: list[str] = field(default_factory=list)
    authors: list[Term] = field(default_factory=list)  # author:NAME, matched in the author field
    excluded_authors: list[Term] = field(default_factory=list)
    titles: list[Term] = field(default_factory=list)  # title:WORD, matched in the title alone
    excluded_titles: list[Term] = field(default_factory=list)
    read: bool | None = None  # is:read / is:unread
    starred: bool | None = None  # is:starred / -is:starred
    before: When | None = None  # sort_time earlier than this
    after: When | None = None  # sort_time at or after this
    marked: list[str] = field(default_factory=list)  # words and phrases typed with their marks ("bão"), as typed

    @property
    def terms(self) -> list[Term]:
        """Everything an article's text must contain, as terms."""
        return ([Term((w,)) for w in self.words] + [Term(p) for p in self.phrases]
                + list(self.prefixes))

    @property
    def shown_terms(self) -> list[Term]:
        """The terms a snippet highlights: each bare word in every form it matches."""
        return ([Term((form,)) for w in self.words for form in word_forms(w)] + [Term(p) for p in self.phrases]
                + list(self.prefixes))

    @property
    def has_filters(self) -> bool:
        return bool(self.feeds or self.excluded_feeds or self.tags or self.excluded_tags
                    or self.authors or self.excluded_authors or self.titles or self.excluded_titles
                    or self.read is not None
                    or self.starred is not None or self.before or self.after)


_FILTER = re.compile(r"(?i)(feed|tag|author|title|is|before|after):(.*)", re.DOTALL)
_QUOTES = {'"': '"', "\u201c": "\u201d", "\u201e": "\u201d", "\u201d": "\u201d"}
_AGE = re.compile(r"(\d{1,5})([hdwmy])")
_AGE_SECONDS = {"h": 3600, "d": 86400, "w": 7 * 86400, "m": 30 * 86400, "y": 365 * 86400}


def _lex(text: str) -> Iterator[tuple[bool, str, str | None, bool]]:
    """(negated, bare text, quoted text or None, prefix) for each item of the query."""
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        negated = text[i] == "-" and i + 1 < n and not text[i + 1].isspace()
        if negated:
            i += 1
        start = i
        while i < n and not text[i].isspace() and text[i] not in _QUOTES:
            i += 1
        bare = text[start:i]
        quoted: str | None = None
        if i < n and text[i] in _QUOTES and (not bare or bare.endswith(":")):
            close = _QUOTES[text[i]]
            end = text.find(close, i + 1)
            if end < 0 and close != '"':
                end = text.find('"', i + 1)
            if end < 0:
                raise QueryError('a quote is not closed: add the closing " or remove the opening one')
            quoted = text[i + 1:end]
            i = end + 1
        prefix = False
        if i < n and text[i] == "*":
            prefix = quoted is not None
            while i < n and text[i] == "*":
                i += 1
        elif quoted is None and bare.endswith("*"):
            prefix = True
        yield negated, bare, quoted, prefix


_NOT_PLURAL = frozenset({"news", "this", "thus", "always", "perhaps", "whereas", "series", "species"})


def word_forms(word: str) -> tuple[str, ...]:
    """A bare word and its English plural or singular: "earthquake" also finds "earthquakes",
    "stories" also "story". Only words of ASCII letters of three or more; a folded
    Vietnamese syllable never ends in s, so its plural form matches nothing and `lanh dao`
    finds what it found before. Quoted, a word matches itself alone."""
    if len(word) < 3 or not (word.isascii() and word.isalpha()):
        return (word,)
    forms = [word]
    if not word.endswith("s"):
        if word.endswith(("x", "z", "ch", "sh")):
            forms.append(word + "es")
        elif word.endswith("y") and word[-2] not in "aeiou":
            forms.append(word[:-1] + "ies")
        else:
            forms.append(word + "s")
    elif len(word) >= 4 and word not in _NOT_PLURAL and not word.endswith(("ss", "us", "is")):
        if word.endswith("ies") and len(word) >= 5:
            forms.append(word[:-3] + "y")
        elif word.endswith(("xes", "zes", "ches", "shes", "sses")):
            forms.append(word[:-2])
        else:
            forms.append(word[:-1])
    elif word.endswith("ss"):
        forms.append(word + "es")
    return tuple(forms)


def _term(text: str, prefix: bool) -> Term | None:
    found = tuple(tokens(index_form(text)))
    if not found:
        return None
    return Term(found, prefix)


def _date(key: str, value: str) -> When:
    lowered = value.strip().lower()
    if lowered == "today":
        return When(days_ago=0)
    if lowered == "yesterday":
        return When(days_ago=1)
    age = _AGE.fullmatch(lowered)
    if age:
        return When(seconds_ago=int(age.group(1)) * _AGE_SECONDS[age.group(2)])
    try:
        day = date.fromisoformat(lowered)
    except ValueError:
        raise QueryError(
            f"{key}: takes a date like 2020-05-23, an age like 7d, 12h, 2w, 3m, 1y,"
            f" or today / yesterday (not {value!r})"
        ) from None
    return When(epoch=int(datetime(day.year, day.month, day.day).timestamp()))


def parse_query(text: str) -> ParsedQuery:
    """Read what the user typed.

    Words must all appear (in any field); "quoted phrases" must appear as typed; a word
    ending in * matches any word it begins; -word, -"phrase" and -filter:X exclude. Filters:
    feed:NAME (feed title or url), tag:NAME, author:NAME, title:WORD (or title:"a phrase",
    title:pre*: in the title alone), is:unread|read|starred, before:DATE and after:DATE (2020-05-23, 7d, 12h, 2w, today, yesterday). Values with
    spaces go in quotes: author:"Thu Hiền". Raises QueryError with a message fit to show.
    """
    if not isinstance(text, str):
        raise QueryError("the query must be text")
    query = ParsedQuery(text=text)
    for negated, bare, quoted, prefix in _lex(text):
        match = _FILTER.fullmatch(bare)
        if match and (quoted is not None or match.group(2)):
            key = match.group(1).lower()
            value = quoted if quoted is not None else match.group(2)
            if prefix and quoted is None:
                value = value.rstrip("*")
            _add_filter(query, key, value, negated, prefix)
            continue
        if match:
            raise QueryError(f"{match.group(1).lower()}: needs a value after the colon,"
                             f" like {_EXAMPLES[match.group(1).lower()]}")
        if quoted is None:
            _add_term(query, bare, negated, prefix, phrase=False)
            continue
        if bare:  # word:"..." where word is no filter: the word, then the phrase
            _add_term(query, bare, negated, False, phrase=False)
        _add_term(query, quoted, negated, prefix, phrase=True)
    if not (query.terms or query.excluded or query.has_filters):
        if text.strip():
            raise QueryError(f"nothing to search for in {text.strip()!r}: type a word")
        raise QueryError("the query is empty: type a word to search for")
    return query


def check_query(text: str, tags: dict[str, list[int]] | None) -> ParsedQuery:
    """Read a query and check what can be checked without the index (the tags it names):
    what a search box says before it closes. Raises QueryError as search() would."""
    parsed = parse_query(text)
    for name in (*parsed.tags, *parsed.excluded_tags):
        _tag_feed_ids(name, tags)
    return parsed


_EXAMPLES = {
    "feed": "feed:vnexpress", "tag": "tag:news", "author": 'author:"Thu Hiền"', "title": "title:bitcoin",
    "is": "is:unread", "before": "before:2020-05-23", "after": "after:7d",
}


def _add_term(query: ParsedQuery, text: str, negated: bool, prefix: bool, *, phrase: bool) -> None:
    term = _term(text, prefix)
    if term is None:
        return
    typed = _as_typed(text)
    if not negated and not term.prefix and fold(typed) != typed:  # the marks tell "bão" (storm) from "báo" (paper)
        query.marked.append(typed)
    if negated:
        query.excluded.append(term)
    elif term.prefix:
        query.prefixes.append(term)
    elif len(term.tokens) == 1 and not phrase:
        query.words.append(term.tokens[0])
    else:
        query.phrases.append(term.tokens)


def _add_filter(query: ParsedQuery, key: str, value: str, negated: bool, prefix: bool = False) -> None:
    if key in ("feed", "tag"):
        name = fold(value).strip()
        if not name:
            raise QueryError(f"{key}: needs a name, like {_EXAMPLES[key]}")
        target = {("feed", False): query.feeds, ("feed", True): query.excluded_feeds,
                  ("tag", False): query.tags, ("tag", True): query.excluded_tags}[key, negated]
        target.append(name)
    elif key == "author":
        term = _term(value, True)
        if term is None:
            raise QueryError(f"author: needs a name, like {_EXAMPLES['author']}")
        (query.excluded_authors if negated else query.authors).append(term)
    elif key == "title":
        term = _term(value, prefix)
        if term is None:
            raise QueryError(f"title: needs a word, like {_EXAMPLES['title']}")
        (query.excluded_titles if negated else query.titles).append(term)
    elif key == "is":
        state = fold(value).strip()
        if state in ("unread", "read"):
            wanted = (state == "read") != negated
            if query.read is not None and query.read != wanted:
                raise QueryError("is:read and is:unread cannot both hold")
            query.read = wanted
        elif state == "starred":
            if query.starred is not None and query.starred == negated:
                raise QueryError("is:starred and -is:starred cannot both hold")
            query.starred = not negated
        else:
            raise QueryError(f"is: takes unread, read or starred (not {value!r})")
    else:
        if negated:
            other = "after" if key == "before" else "before"
            raise QueryError(f"-{key}: cannot be negated; use {other}: instead")
        bound = _date(key, value)
        setattr(query, key, bound)


# --------------------------------------------------------------------- compiling
def _quote(term: Term) -> str:
    text = '"' + " ".join(term.tokens).replace('"', '""') + '"'
    return text + "*" if term.prefix else text


def _forms(word: str) -> str:
    forms = [_quote(Term((form,))) for form in word_forms(word)]
    return forms[0] if len(forms) == 1 else "(" + " OR ".join(forms) + ")"


def _bare_terms(query: ParsedQuery) -> list[str]:
    """The words, phrases and prefixes of `query` (not its filters) as FTS5 expressions."""
    return [_forms(w) for w in query.words] + [_quote(Term(p)) for p in query.phrases] + \
        [_quote(t) for t in query.prefixes]


def _match_expression(query: ParsedQuery) -> tuple[str | None, str | None]:
    """(what must match, what must not) as FTS5 expressions of quoted tokens only."""
    positive = _bare_terms(query)
    positive += [f"author : {_quote(t)}" for t in query.authors]
    positive += [f"title : {_quote(t)}" for t in query.titles]
    negative = [_quote(t) for t in query.excluded]
    negative += [f"author : {_quote(t)}" for t in query.excluded_authors]
    negative += [f"title : {_quote(t)}" for t in query.excluded_titles]
    return (" AND ".join(positive) or None), (" OR ".join(negative) or None)


def _name_pattern(name: str) -> re.Pattern[str]:
    """A folded feed or tag name, found at the start of a word; in a script written without
    spaces (CJK), anywhere."""
    return re.compile(re.escape(name) if _UNSPACED.match(name) else r"(?<!\w)" + re.escape(name))


def _feed_ids(conn: sqlite3.Connection, names: list[str]) -> set[int]:
    """Feeds whose folded title or url holds every name at the start of a word ("tin" is
    "Tin Việt", not "Scripting News"); a name in a script written without spaces (CJK)
    anywhere."""
    patterns = [_name_pattern(name) for name in names]
    found: set[int] = set()
    for feed_id, title, url, redirect in conn.execute(
        "SELECT id, title, url, redirect_url FROM feeds"
    ):
        haystack = f"{fold(title)}\n{fold(url)}\n{fold(redirect)}"
        if all(pattern.search(haystack) for pattern in patterns):
            found.add(int(feed_id))
    return found


_UNSPACED = re.compile("[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\u3040-\u30ff\u0e00-\u0e7f]")


def _tag_feed_ids(name: str, tags: dict[str, list[int]] | None) -> set[int]:
    """The feeds of every tag whose folded name holds `name` at the start of a word, as
    feed: matches ("tin" is "Tin tức" and "Tin Việt Nam", not "Thời tiết"); a name in a
    script written without spaces (CJK) anywhere."""
    if not tags:
        raise QueryError(f"no tag named {name!r}: no tags are defined")
    pattern = _name_pattern(name)
    ids: set[int] = set()
    matched = False
    for tag, feed_ids in tags.items():
        if pattern.search(fold(tag).strip()):
            matched = True
            ids.update(feed_ids)
    if not matched:
        known = ", ".join(sorted(tags))
        raise QueryError(f"no tag named {name!r} (tags: {known})")
    return ids


@dataclass(slots=True)
class _Compiled:
    match: str | None
    where: list[str]
    params: list[object]
    feeds: list[int] | None = None  # the only feeds allowed, when feed: or tag: says so
    refused: list[int] = field(default_factory=list)  # feeds -feed: or -tag: leaves out
    read: bool | None = None
    hidden: list[int] = field(default_factory=list)  # unsubscribed feeds with articles, for words alone
    titled: str | None = None  # what matches when every word, phrase and prefix is in the title
    marked: list[str] = field(default_factory=list)  # ParsedQuery.marked


def _compile(conn: sqlite3.Connection, query: ParsedQuery, tags: dict[str, list[int]] | None,
             now: float | None, feeds: Collection[int] | None = None) -> _Compiled | None:
    """SQL conditions on `articles a`, or None when nothing can match (e.g. no such feed).
    `feeds`: the subscribed feeds (None: every feed in the cache)."""
    match, exclude = _match_expression(query)
    where: list[str] = []
    params: list[object] = []
    allowed: set[int] | None = None
    hidden: set[int] = set()
    if feeds is not None:  # read from the counters: a few hundred rows
        hidden = {int(r[0]) for r in conn.execute("SELECT id FROM feeds WHERE total > 0")} - set(feeds)
    if query.feeds:
        allowed = _feed_ids(conn, query.feeds)
    for name in query.tags:
        ids = _tag_feed_ids(name, tags)
        allowed = ids if allowed is None else allowed & ids
    refused: set[int] = set()
    for name in query.excluded_feeds:
        refused |= _feed_ids(conn, [name])
    for name in query.excluded_tags:
        refused |= _tag_feed_ids(name, tags)
    if allowed is not None:
        allowed -= refused | hidden
        if not allowed:
            return None
        where.append(f"a.feed_id IN ({','.join('?' * len(allowed))})")
        params.extend(sorted(allowed))
    # literal 0/1, not parameters: SQLite then reads the store's partial indexes
    # (WHERE read = 0, WHERE starred = 1) instead of every article row
    if query.read is not None:
        where.append(f"a.read = {int(query.read)}")
    if query.starred is not None:
        where.append(f"a.starred = {int(query.starred)}")
    moment = time.time() if now is None else now
    if query.before is not None:
        where.append("a.sort_time < ?")
        params.append(query.before.resolve(moment))
    if query.after is not None:
        where.append("a.sort_time >= ?")
        params.append(query.after.resolve(moment))
    if exclude is not None:
        if match is not None:
            match = f"({match}) NOT ({exclude})"
        else:
            where.append(f"a.id NOT IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?)")
            params.append(exclude)
    if allowed is None and hidden and (where or refused or match is None):
        refused |= hidden  # a filter already: the unsubscribed feeds are one more
        hidden = set()
    if allowed is None and refused:
        where.append(f"a.feed_id NOT IN ({','.join('?' * len(refused))})")
        params.extend(sorted(refused))
    bare = _bare_terms(query)
    titled = f"title : ({' AND '.join(bare)})" if bare and match is not None else None
    return _Compiled(match, where, params, None if allowed is None else sorted(allowed), sorted(refused), query.read,
                     sorted(hidden) if allowed is None else [], titled, query.marked)


def catch_up(conn: sqlite3.Connection, progress: Callable[[int, int], None] | None = None,
             *, workers: Callable[[int], Executor] | None = None) -> None:
    """Index the articles written since the last query (a refresh does not index them as
    it stores them): a few milliseconds after an ordinary refresh; after a big one, with
    `workers` (index.build), in worker processes."""
    if needs_build(conn):
        build(conn, progress, workers=workers)


def _prepare(conn: sqlite3.Connection, query: str | ParsedQuery, tags: dict[str, list[int]] | None,
             now: float | None, feeds: Collection[int] | None) -> tuple[ParsedQuery, _Compiled | None]:
    parsed = parse_query(query) if isinstance(query, str) else query
    catch_up(conn)
    return parsed, _compile(conn, parsed, tags, now, feeds)


def _run(conn: sqlite3.Connection, sql: str, params: Sequence[object]) -> list[Any]:
    """Execute a compiled query. The MATCH text is built from quoted tokens only, so FTS5
    should never find it unreadable; if it does, the user still gets a QueryError."""
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:
        if "fts5: syntax error" in str(exc):
            raise QueryError(f"this query cannot be searched: {exc}") from exc
        raise


def _where(conn: sqlite3.Connection, compiled: _Compiled, extra: str = "") -> tuple[str, list[object]]:
    """WHERE over `articles a` for a compiled query.

    With few matches SQLite reads each matching article by id; with many it is cheaper to
    walk one of the store's small indexes (by time, unread, starred, feed) and test each
    id against the matches ("+a.id" keeps SQLite from choosing the id lookups), because a
    lookup reads past the article's text to reach sort_time and the flags.
    """
    clauses = list(compiled.where)
    params = list(compiled.params)
    if compiled.match is not None:
        member = "+a.id" if _match_count(conn, compiled.match) > _MANY_MATCHES else "a.id"
        clauses.insert(0, f"{member} IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?)")
        params.insert(0, compiled.match)
    if compiled.hidden:
        clauses.append(f"a.feed_id NOT IN ({','.join(map(str, compiled.hidden))})")
    if extra:
        clauses.append(extra)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


@dataclass(slots=True)
class Hit:
    """One result. `rank` is FTS5's bm25 (lower is better; 0.0 for filter-only queries);
    `spans` are (start, end) offsets of the matched words in `snippet`."""

    article_id: int
    rank: float
    snippet: str
    spans: list[tuple[int, int]]


def search(conn: sqlite3.Connection, query: str | ParsedQuery, *, limit: int = 100,
           tags: dict[str, list[int]] | None = None, offset: int = 0,
           now: float | None = None, snippets: bool = True, feeds: Collection[int] | None = None) -> list[Hit]:
    """A page of matches, in an order whose cost is set by the page, not by how many match.

    - Words alone: the matches in blocks of BLOCK, the most recently stored first (the
      index walks article ids in order and stops after the page's blocks); each block is
      ranked by bm25 (title words weigh most), ties newest first. A query with at most
      BLOCK matches is therefore ranked as a whole.
    - One phrase alone ("lanh dao"): the same blocks, each with the articles that have the
      phrase in their title first, then the others, each newest first.
    - Words with filters (is:unread, feed:, after: ...): the matches most recently stored
      first, like the list of a feed.
    - Filters alone: newest first by date, read from the store's indexes.

    `snippets=False` leaves every snippet empty (a caller that shows only the articles).
    `feeds`: the subscribed feeds; the articles of the others are not listed (None: every
    feed in the cache). Raises QueryError for a query that cannot be read; never another
    exception for any text.
    """
    parsed, compiled = _prepare(conn, query, tags, now, feeds)
    if compiled is None or limit <= 0:
        return []
    offset = max(0, int(offset))
    need = offset + int(limit)
    if compiled.match is None:
        where, params = _where(conn, compiled)
        rows = _run(conn, f"SELECT a.id, 0.0 FROM articles a{where} ORDER BY a.sort_time DESC, a.id DESC"
                    " LIMIT ? OFFSET ?", [*params, int(limit), offset])
    elif compiled.where:
        rows = [(article_id, 0.0) for article_id in _newest_matches(conn, compiled, need)][offset:]
    elif _lone_phrase(parsed):
        rows = _phrase_blocks(conn, compiled.match, need, compiled.hidden, compiled.marked)[offset:need]
    else:
        rows = _ranked_blocks(conn, compiled.match, need, compiled.hidden, compiled.titled,
                              compiled.marked)[offset:need]
    if not rows:
        return []
    found = [int(r[0]) for r in rows]
    texts = _snippets(conn, found, parsed.shown_terms) if snippets else {}
    return [Hit(int(r[0]), float(r[1]), *texts.get(int(r[0]), ("", []))) for r in rows]


def result_order(query: str | ParsedQuery) -> str:
    """How search() orders the matches of `query`: "best" (words alone, ranked), "stored"
    (words with a filter: the most recently stored first) or "newest" (filters alone, by
    date). A query that cannot be read raises QueryError."""
    parsed = parse_query(query) if isinstance(query, str) else query
    if not (parsed.terms or parsed.authors or parsed.titles):
        return "newest"
    filtered = (parsed.feeds or parsed.excluded_feeds or parsed.tags or parsed.excluded_tags
                or parsed.read is not None or parsed.starred is not None or parsed.before or parsed.after)
    return "stored" if filtered else "best"


BLOCK = 1000  # matches ranked together; see search()
_ROW_COST = 20  # reading an article's row costs about 20 times taking its id from an index into a set


def _ranked_blocks(conn: sqlite3.Connection, match: str, need: int, hidden: list[int],
                   titled_match: str | None = None, marked: Sequence[str] = ()) -> list[tuple[int, float]]:
    """The first `need` matches in search()'s order for words alone: walk the index from
    the newest article id down, stop after the blocks that hold the page, rank each block:
    the articles with every word in their title (`titled_match`) first, those whose title
    has the `marked` words with their marks before the others, then by bm25.

    bm25 is computed over a block's id range only (FTS5 reads nothing outside it), which
    holds exactly the block's matches; recency is read only for rows whose scores tie. (By
    bm25 alone a long article with the words in its title came after short ones that had
    them once in their text: FTS5 weighs a row's length as a whole, title and body together.)
    """
    ranked: list[tuple[int, float]] = []
    for block in _blocks(conn, match, need, hidden):
        bounds = (block[-1], block[0])
        rows = _run(conn, f"SELECT rowid, {_SCORE} FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?"
                          " AND rowid >= ? AND rowid <= ?", (match, *bounds))
        if hidden:  # the range holds the unsubscribed feeds' matches too
            kept = set(block)
            rows = [row for row in rows if row[0] in kept]
        titled = _in_range(conn, f"({match}) AND {titled_match}", bounds) if titled_match else set()
        exact = _marked_titles(conn, titled, marked)
        scores = Counter(score for _, score in rows)
        tied = [int(i) for i, score in rows if scores[score] > 1]
        times = _sort_times(conn, tied)
        rows.sort(key=lambda r: (r[0] not in titled, r[0] not in exact, r[1], -times.get(r[0], 0), -r[0]))
        ranked += [(int(i), float(score)) for i, score in rows]
    return ranked


def _blocks(conn: sqlite3.Connection, match: str, need: int, hidden: list[int]) -> Iterator[list[int]]:
    """The matches that hold the first `need`, in blocks of BLOCK, the newest article id
    first: the index walks ids in order and stops there. Without the articles of the
    `hidden` feeds (each match's feed is then read from its row)."""
    blocks = -(-need // BLOCK)
    if hidden:
        sql = (f"SELECT {FTS_TABLE}.rowid FROM {FTS_TABLE} CROSS JOIN articles a ON a.id = {FTS_TABLE}.rowid"
               f" WHERE {FTS_TABLE} MATCH ? AND a.feed_id NOT IN ({','.join(map(str, hidden))})"
               f" ORDER BY {FTS_TABLE}.rowid DESC LIMIT ?")
    else:
        sql = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ? ORDER BY rowid DESC LIMIT ?"
    ids = [int(r[0]) for r in _run(conn, sql, (match, blocks * BLOCK))]
    for start in range(0, len(ids), BLOCK):
        yield ids[start:start + BLOCK]


def _lone_phrase(query: ParsedQuery) -> bool:
    """A query that is one phrase of two words or more and nothing else."""
    return (len(query.phrases) == 1 and len(query.phrases[0]) > 1 and not query.words and not query.prefixes
            and not query.excluded and not query.has_filters)


def _phrase_blocks(conn: sqlite3.Connection, match: str, need: int, hidden: list[int],
                   marked: Sequence[str] = ()) -> list[tuple[int, float]]:
    """_ranked_blocks for a lone phrase, without bm25: to weigh a phrase FTS5 first counts
    the articles that hold it, a pass over every match in the cache (0.1 s for two common
    words at a million articles), where this costs two walks of the block's range and its
    dates. The matches in the title first (rank -1.0; those with the phrase as typed, marks
    and all, before the others), then in the article's other text (0.0), then in the feed's
    name alone (1.0)."""
    ranked: list[tuple[int, float]] = []
    for block in _blocks(conn, match, need, hidden):
        bounds = (block[-1], block[0])
        titled = _in_range(conn, f"title : ({match})", bounds)
        in_text = _in_range(conn, f"{_ARTICLE_COLUMNS} : ({match})", bounds)
        exact = _marked_titles(conn, titled, marked)
        times = _sort_times(conn, block)
        rank = {i: -1.0 if i in titled else 0.0 if i in in_text else 1.0 for i in block}
        block.sort(key=lambda i: (rank[i], i not in exact, -times.get(i, 0), -i))
        ranked += [(i, rank[i]) for i in block]
    return ranked


def _as_typed(text: str) -> str:
    """Text compared with its marks: NFC, lower case, one space between words."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text).lower()).strip()


def _marked_titles(conn: sqlite3.Connection, ids: Collection[int], marked: Sequence[str]) -> set[int]:
    """The articles among `ids` (whose titles hold the words folded) whose titles hold each
    of `marked` as typed, marks and all, case aside: "bão" (storm), not "báo" (newspaper)."""
    if not marked or not ids:
        return set()
    patterns = [re.compile(r"(?<!\w)" + re.escape(words) + r"(?!\w)") for words in marked]
    rows = _run(conn, "SELECT a.id, a.title FROM json_each(?) j JOIN articles a ON a.id = j.value",
                (json.dumps(sorted(ids)),))
    return {int(article_id) for article_id, title in rows
            if all(p.search(_as_typed(title)) for p in patterns)}


def _in_range(conn: sqlite3.Connection, match: str, bounds: tuple[int, int]) -> set[int]:
    """The ids from bounds[0] to bounds[1] that `match` matches."""
    return {int(r[0]) for r in _run(conn, f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?"
                                          " AND rowid >= ? AND rowid <= ?", (match, *bounds))}


def _sort_times(conn: sqlite3.Connection, ids: list[int]) -> dict[int, int]:
    times: dict[int, int] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        times.update(conn.execute(
            f"SELECT id, sort_time FROM articles WHERE id IN ({','.join('?' * len(chunk))})", chunk))
    return times


def _newest_matches(conn: sqlite3.Connection, compiled: _Compiled, need: int) -> list[int]:
    """The `need` matches with the highest ids that pass the filters, by whichever walk
    reads less: the index's matches from the newest down, reading each article's row to
    test the filters (it stops after `need`), or, when few articles pass the filters, their
    ids taken from the store's indexes into a set that the index's walk tests instead. How
    many articles pass is read from the feeds' counters, or counted only as far as the
    point where the choice is made, so choosing never costs more than walking."""
    assert compiled.match is not None
    filters = " AND ".join(compiled.where)
    feeds = "SELECT coalesce(sum(total), 0), coalesce(sum(unread), 0) FROM feeds"
    total = max(1, int(conn.execute(feeds).fetchone()[0]))
    if compiled.feeds is not None:
        feeds += f" WHERE id IN ({','.join(map(str, compiled.feeds))})"
    elif compiled.refused:
        feeds += f" WHERE id NOT IN ({','.join(map(str, compiled.refused))})"
    in_feeds, unread = (int(n) for n in conn.execute(feeds).fetchone())
    bound = {None: in_feeds, False: unread, True: in_feeds - unread}[compiled.read]
    exact = len(compiled.where) == (compiled.feeds is not None or bool(compiled.refused)) + (compiled.read is not None)
    # beyond `cap` articles passing, the set costs more than the rows the walk would read
    cap = math.isqrt(int(_ROW_COST * need * total)) + 1
    # ORDER BY: read through the time-ordered indexes (the partial ones for is:unread and
    # is:starred), never a scan of a wider covering index that SQLite would otherwise pick
    by_date = "ORDER BY a.sort_time DESC, a.id DESC"
    passing = bound if exact or bound < 1 else min(bound, _capped(
        conn, f"SELECT a.id FROM articles a WHERE {filters} {by_date}", compiled.params, cap))
    if passing < cap:
        matches = _capped(conn, f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?", [compiled.match], cap)
        if passing < _ROW_COST * min(matches, need * total / max(passing, 1)):
            rows = _run(conn, f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ? AND +rowid IN"
                              f" (SELECT a.id FROM articles a WHERE {filters} {by_date}) ORDER BY rowid DESC LIMIT ?",
                        [compiled.match, *compiled.params, need])
            return [int(r[0]) for r in rows]
    rows = _run(conn, f"SELECT a.id FROM {FTS_TABLE} CROSS JOIN articles a ON a.id = {FTS_TABLE}.rowid"
                      f" WHERE {FTS_TABLE} MATCH ? AND {filters} ORDER BY {FTS_TABLE}.rowid DESC LIMIT ?",
                [compiled.match, *compiled.params, need])
    return [int(r[0]) for r in rows]


def _capped(conn: sqlite3.Connection, sql: str, params: Sequence[object], cap: int) -> int:
    """How many rows `sql` gives, counting no further than `cap`."""
    return int(_run(conn, f"SELECT count(*) FROM ({sql} LIMIT ?)", [*params, cap])[0][0])


def _match_count(conn: sqlite3.Connection, match: str) -> int:
    """How many articles match: cheap (no ranking, no article read), it picks the plan."""
    return int(_run(conn, f"SELECT count(*) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?", (match,))[0][0])


def matching_ids(conn: sqlite3.Connection, query: str | ParsedQuery, *,
                 tags: dict[str, list[int]] | None = None, now: float | None = None,
                 feeds: Collection[int] | None = None) -> list[int]:
    """Every match, newest first: the article list of a saved search shown as a virtual
    feed (of the subscribed `feeds` only, as search())."""
    _, compiled = _prepare(conn, query, tags, now, feeds)
    if compiled is None:
        return []
    where, params = _where(conn, compiled)
    return [int(r[0]) for r in _run(
        conn, f"SELECT a.id FROM articles a{where} ORDER BY a.sort_time DESC, a.id DESC", params)]


def count_unread(conn: sqlite3.Connection, query: str | ParsedQuery, *,
                 tags: dict[str, list[int]] | None = None, now: float | None = None,
                 feeds: Collection[int] | None = None) -> int:
    """Unread matches: the count shown beside a saved search."""
    _, compiled = _prepare(conn, query, tags, now, feeds)
    if compiled is None:
        return 0
    where, params = _where(conn, compiled, "a.read = 0")
    return int(_run(conn, f"SELECT count(*) FROM articles a{where}", params)[0][0])


def ignored_ids(conn: sqlite3.Connection, queries: Iterable[str | ParsedQuery], *,
                tags: dict[str, list[int]] | None = None, now: float | None = None,
                problems: list[str] | None = None) -> set[int]:
    """Articles matched by any of the killfile's queries (the caller hides them or marks them read).

    With `problems`, a query that cannot be read hides nothing, every other one still
    applies, and a message naming it is added to `problems`. Without, the first such query
    raises QueryError naming it, so a bad killfile line is never silently ignored.
    """
    found: set[int] = set()
    for query in queries:
        try:
            found.update(matching_ids(conn, query, tags=tags, now=now))
        except QueryError as exc:
            text = query if isinstance(query, str) else query.text
            if problems is None:
                raise QueryError(f"ignore query {text!r}: {exc}") from exc
            problems.append(f"ignore query {text!r} not applied: {exc}")
    return found


# ---------------------------------------------------------------------- snippets
def _term_pattern(term: Term) -> str:
    """A regex over folded text for one term, bounded like a token.

    The check that no letter precedes the term follows its first token as a fixed-width
    look-behind, so every alternative starts with a literal and the regex engine can skip
    ahead to candidate characters (three times faster than a leading look-behind).
    """
    parts: list[str] = []
    for index, token in enumerate(term.tokens):
        if index:
            joined_cjk = re.match(CJK_CHAR, token) or re.match(CJK_CHAR, term.tokens[index - 1][-1])
            parts.append(f"{SEPARATOR}*" if joined_cjk else f"{SEPARATOR}+")
        parts.append(re.escape(token))
        if index == 0 and not re.match(CJK_CHAR, token):
            parts.append(f"(?<!{WORD_CHAR}{re.escape(token)})")
    last = term.tokens[-1][-1]
    if not re.match(CJK_CHAR, last):
        parts.append(f"{WORD_CHAR}*" if term.prefix else f"(?!{WORD_CHAR})")
    return "".join(parts)


def _matcher(terms: list[Term]) -> re.Pattern[str] | None:
    if not terms:
        return None
    # longest first, so a phrase wins over a word it contains
    ordered = sorted(enumerate(terms), key=lambda item: -sum(len(t) for t in item[1].tokens))
    return re.compile("|".join(f"(?P<t{i}>{_term_pattern(t)})" for i, t in ordered))


def _to_original(text: str, offsets: list[int] | None, start: int, end: int) -> tuple[int, int]:
    if offsets is None:
        return start, end
    begin = offsets[start]
    stop = offsets[end - 1] + 1 if end > start else begin
    while stop < len(text) and not fold(text[stop]):
        stop += 1  # combining marks of the last letter (NFD text) belong to the match
    return begin, stop


def _snippet(text: str, matcher: re.Pattern[str]) -> tuple[int, str, list[tuple[int, int]]]:
    """(distinct terms found, snippet, spans) for the window of `text` with the most terms."""
    text = text[:_SNIPPET_SCAN]
    folded, offsets = fold_mapped(text)
    found = [(m.start(), m.end(), m.lastgroup) for _, m in zip(range(60), matcher.finditer(folded))]
    if not found:
        return 0, "", []
    best, best_index = 0, 0
    for index, (start, _, _) in enumerate(found):
        groups = set()
        for s, e, group in found[index:]:
            if s >= start + _SNIPPET_WIDTH:
                break
            if e <= start + _SNIPPET_WIDTH:
                groups.add(group)
        if len(groups) > best:
            best, best_index = len(groups), index
    window_end = found[best_index][0] + _SNIPPET_WIDTH
    matches = [_to_original(text, offsets, s, e) for s, e, _ in found[best_index:] if e <= window_end]
    first = matches[0][0]
    begin = max(0, first - _SNIPPET_WIDTH // 4)
    if begin:
        space = _SPACES.search(text, begin, first)
        begin = space.end() if space else begin
    snippet, spans = _one_line(text, begin, begin + _SNIPPET_WIDTH, matches)
    return best, snippet, spans


def _one_line(text: str, begin: int, end: int,
              spans: list[tuple[int, int]]) -> tuple[str, list[tuple[int, int]]]:
    """text[begin:end] cut at a space, on one line with single spaces, "…" where text was
    cut off, and `spans` (offsets in `text`) moved to match."""
    if end < len(text):
        low = spans[0][1] if spans else begin
        space = max(text.rfind(" ", low, end), text.rfind("\n", low, end))
        end = space if space > begin else end
    else:
        end = len(text)
    window = text[begin:end]
    pieces: list[str] = []
    runs: list[tuple[int, int]] = []  # (window offset after untidy whitespace, characters dropped so far)
    last = dropped = 0
    for run in _UNTIDY_SPACE.finditer(window):
        start, stop = run.span()
        pieces += (window[last:start], " ")
        dropped += stop - start - 1
        runs.append((stop, dropped))
        last = stop
    pieces.append(window[last:])
    line = "".join(pieces)
    stripped = line.strip()
    shift = len(line) - len(line.lstrip())
    lead = "…" if _NOT_SPACE.search(text, 0, begin) else ""
    tail = "…" if _NOT_SPACE.search(text, end) else ""

    def place(offset: int) -> int:
        removed = 0
        for after, total in runs:
            if after > offset:
                break
            removed = total
        return min(max(offset - removed - shift, 0), len(stripped)) + len(lead)

    moved = [(place(s - begin), place(min(e, end) - begin)) for s, e in spans if s < end]
    return lead + stripped + tail, [(s, e) for s, e in moved if e > s]


def _snippets(conn: sqlite3.Connection, ids: list[int], terms: list[Term]) -> dict[int, tuple[str, list[tuple[int, int]]]]:
    """A one-line excerpt per article, in its original spelling, with the matched words marked."""
    matcher = _matcher(terms)
    result: dict[int, tuple[str, list[tuple[int, int]]]] = {}
    rows = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows += conn.execute(
            "SELECT a.id, a.title, a.content, a.summary, e.text FROM articles a LEFT JOIN extracts e"
            f" ON e.article_id = a.id WHERE a.id IN ({','.join('?' * len(chunk))})", chunk).fetchall()
    for article_id, title, content, summary, extract in rows:
        sources = [html_text(content or summary or ""), extract or "", title or ""]
        chosen: tuple[str, list[tuple[int, int]]] | None = None
        if matcher is not None:
            best = 0
            for source in sources:
                count, snippet, spans = _snippet(source, matcher)
                if count > best:
                    best, chosen = count, (snippet, spans)
                if best == len(terms):
                    break
        if chosen is None:
            lead = next((s for s in sources if s.strip()), "")
            start = len(lead) - len(lead.lstrip())
            chosen = _one_line(lead, start, start + _SNIPPET_WIDTH, [])
        result[int(article_id)] = chosen
    return result
