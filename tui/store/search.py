"""Full-text search over the cache, insensitive to case and diacritics.

Readers type Vietnamese without its marks ("lanh dao" for "Lãnh đạo"), so both the index
and the query are folded the same way: case folded, Unicode compatibility forms decomposed
(NFKD), every combining mark dropped and the letters that carry no combining mark (đ, ø,
ł ...) mapped to their base letter. The index is an FTS5 table kept by SQL triggers that
call folding functions registered on the connection, so every write the store makes (a
refresh, an edit, a prune, a forgotten feed) updates the index in the same transaction and
the store needs to know nothing about search beyond calling `install()`.

The index is contentless (it keeps only the postings, not a second copy of the text). A
contentless FTS5 table on SQLite 3.40 can only forget a row when given the values it was
indexed with, so the triggers recompute them from the rows as they are just before a
change (BEFORE triggers) and index the new state after it (AFTER triggers); each side acts
only when the row is, or is not, in the index (its `_docsize` entry), which keeps a row
from being removed or added twice and lets `build()` index a cache that predates search.

User input never reaches FTS5 as syntax: the parser folds and splits each word into tokens
and the MATCH expression is built from quoted tokens only.
"""

from __future__ import annotations

import html
import re
import sqlite3
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui.config import Config
    from tui.store.cache import FeedRow

# Bump when folding, tokenizing or the index's columns change: install() then drops and
# recreates the index and needs_build() reports that build() must run.
INDEX_VERSION = "2"

FTS_TABLE = "article_fts"
_SOURCE_VIEW = "article_fts_source"
_META_TABLE = "search_meta"
_COLUMNS = ("title", "author", "feed", "body", "extract")
# bm25 weights, in _COLUMNS order: a word in the title says more than one in the body.
_WEIGHTS = (10.0, 3.0, 2.0, 1.0, 1.0)
_SNIPPET_WIDTH = 160
_SNIPPET_SCAN = 20_000  # characters of a text searched for a snippet
_BUILD_BATCH = 2000
_OPTIMIZE_FROM = 20_000  # articles indexed in one build() before the index is merged whole
_MANY_MATCHES = 5000  # beyond this, list matches by walking an index rather than by id
_SCORE = f"bm25({FTS_TABLE}, {', '.join(str(w) for w in _WEIGHTS)})"

# Letters that have no decomposition but that people type without their stroke or slash.
_BASE_LETTERS = {
    "đ": "d", "ð": "d", "ø": "o", "ł": "l", "ħ": "h", "ŧ": "t", "ı": "i", "ŀ": "l",
    "æ": "ae", "œ": "oe", "þ": "th", "ƀ": "b", "ɨ": "i", "ʉ": "u", "ƶ": "z",
}

# Han ideographs and kana are written without spaces: each is indexed as a token of its
# own, and a query word in them becomes a phrase of those characters.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# These three take 9 ms to compile: they are left to re's cache, compiled on first use,
# so that opening the cache does not pay for them.
_CJK_CHAR = f"[{_CJK}]"
_CJK_SPACED = f"([{_CJK}])"
_WORD_CHAR = f"[^\\W_{_CJK}]"  # a letter or digit that is not CJK
_TOKEN = f"[{_CJK}]|{_WORD_CHAR}+"
_SEPARATOR = "[\\W_]"
_SPACES = re.compile(r"\s+")
_UNTIDY_SPACE = re.compile(r"\s{2,}|[^\S ]")  # what a one-line snippet turns into one space
_NOT_SPACE = re.compile(r"\S")


class QueryError(Exception):
    """A query that cannot be read; the message says what to change."""


# ------------------------------------------------------------------------- folding
class _FoldTable(dict[int, str]):
    """str.translate table that folds each character, filled on first sight.

    Folding character by character gives the same result as folding the whole string
    (NFKD, case folding and mark removal never look at neighbours once marks are dropped),
    and it lets a snippet map folded offsets back to the original text.
    """

    def __missing__(self, codepoint: int) -> str:
        text = unicodedata.normalize("NFKD", chr(codepoint))
        text = unicodedata.normalize("NFKD", text.casefold())
        folded = "".join(
            _BASE_LETTERS.get(ch, ch) for ch in text if not unicodedata.category(ch).startswith("M")
        )
        self[codepoint] = folded
        return folded


_FOLD = _FoldTable()


class _IndexFoldTable(dict[int, str]):
    """Like _FOLD, with CJK characters spaced apart into tokens of their own: one
    str.translate pass instead of a regex substitution per character."""

    def __missing__(self, codepoint: int) -> str:
        spaced = re.sub(_CJK_SPACED, r" \1 ", _FOLD[codepoint])
        self[codepoint] = spaced
        return spaced


_INDEX_FOLD = _IndexFoldTable()
_FOLDS_TO_ONE: set[str] = {chr(code) for code in range(128)}  # grows with the characters seen
_NOT_LATIN = re.compile("[^\x00-\x7f\u0300-\u036f]")
_COMBINING = re.compile("[\u0300-\u036f]")


def fold(text: str) -> str:
    """The form search compares: lower case, no diacritics, đ -> d, NFKD compatibility forms.

    "Lãnh Đạo", "LÃNH ĐẠO" and "lanh dao" all fold to "lanh dao", whether the input is
    NFC or NFD.
    """
    if text.isascii():
        return text.lower()
    latin = _fold_latin(text)
    return latin if latin is not None else text.translate(_FOLD)


def _fold_latin(text: str) -> str | None:
    """fold(text) for text in Latin letters (Vietnamese included), else None.

    Such text decomposes to ASCII and combining marks only, and then dropping the marks is
    all that is left to do, at half the cost of the table.
    """
    decomposed = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    if _NOT_LATIN.search(decomposed) is not None:
        return None
    return decomposed.encode("ascii", "ignore").decode("ascii").lower()


def _fold_mapped(text: str) -> tuple[str, list[int] | None]:
    """fold(text), with the offsets that map it back to `text` when they are not one to one.

    Latin text keeps one folded character per character unless it has combining marks of
    its own (NFD) or expands (ligatures, "…"), and either shows in the length.
    """
    if text.isascii():
        return text.lower(), None
    latin = _fold_latin(text)
    if latin is not None and len(latin) == len(text) and _COMBINING.search(text) is None:
        return latin, None
    return (latin if latin is not None else text.translate(_FOLD)), _folded_offsets(text)


def _folded_offsets(text: str) -> list[int] | None:
    """For each character of fold(text), the offset in `text` of the character it came from;
    None when every character folds to exactly one (the usual case: offsets are equal)."""
    unknown = set(text) - _FOLDS_TO_ONE
    odd = False
    for ch in unknown:
        if len(_FOLD[ord(ch)]) == 1:
            _FOLDS_TO_ONE.add(ch)
        else:
            odd = True
    if not odd:
        return None
    offsets: list[int] = []
    for index, ch in enumerate(text):
        offsets.extend([index] * len(_FOLD[ord(ch)]))
    offsets.append(len(text))
    return offsets


def _index_form(text: str) -> str:
    """Folded text as the index sees it: CJK characters spaced apart into tokens."""
    if text.isascii():
        return text.lower()
    latin = _fold_latin(text)
    return latin if latin is not None else text.translate(_INDEX_FOLD)


def _tokens(text: str) -> list[str]:
    """The tokens FTS5 (unicode61 over the index form) finds in already folded text."""
    return re.findall(_TOKEN, text)


# Stored HTML comes out of the sanitizer, which writes tag names in lower case.
_INLINE_TAGS = re.compile(
    r"</?(?:a|abbr|acronym|b|bdi|big|cite|code|del|dfn|em|font|i|ins|kbd|mark|q|s|samp|small"
    r"|span|strike|strong|sub|sup|time|tt|u|var)(?=[\s/>])[^>]*>"
)
_HIDDEN = re.compile(r"<(script|style|template)\b.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL)
_ANY_TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def _html_text(fragment: str) -> str:
    """Stored HTML as plain text: what is indexed and what a snippet quotes.

    Inline tags vanish ("wo<b>rd</b>" is one word) while block tags separate words
    ("<p>a</p><p>b</p>" is two). Whitespace is left as it comes: the tokenizer skips it
    and a snippet tidies only its own few characters, which keeps this cheap enough to
    run for every article a refresh writes.
    """
    if not fragment:
        return ""
    if "<" in fragment:
        if "<!--" in fragment or "<script" in fragment or "<style" in fragment or "<template" in fragment:
            fragment = _HIDDEN.sub(" ", fragment)
        fragment = _INLINE_TAGS.sub("", fragment)
        fragment = _ANY_TAG.sub(" ", fragment)
    if "&" in fragment:
        fragment = html.unescape(fragment)
    return fragment


def _sql_fold(value: object) -> str:
    if value is None:
        return ""
    return _index_form(value if isinstance(value, str) else str(value))


def _sql_html_text(value: object) -> str:
    if value is None:
        return ""
    return _html_text(value if isinstance(value, str) else str(value))


# ------------------------------------------------------------------------ the index
def _remove(where: str) -> str:
    """SQL that takes the matching rows out of the index, with the values they were indexed with."""
    return (
        f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, {', '.join(_COLUMNS)})"
        f" SELECT 'delete', s.id, {', '.join('s.' + c for c in _COLUMNS)} FROM {_SOURCE_VIEW} s"
        f" WHERE {where} AND EXISTS (SELECT 1 FROM {FTS_TABLE}_docsize d WHERE d.id = s.id)"
    )


def _add(where: str) -> str:
    """SQL that indexes the matching rows as they are now (rows already indexed are left)."""
    return (
        f"INSERT INTO {FTS_TABLE} (rowid, {', '.join(_COLUMNS)})"
        f" SELECT s.id, {', '.join('s.' + c for c in _COLUMNS)} FROM {_SOURCE_VIEW} s"
        f" WHERE {where} AND NOT EXISTS (SELECT 1 FROM {FTS_TABLE}_docsize d WHERE d.id = s.id)"
    )


_ARTICLE_CHANGED = (
    "OLD.title IS NOT NEW.title OR OLD.author IS NOT NEW.author OR OLD.content IS NOT NEW.content"
    " OR OLD.summary IS NOT NEW.summary OR OLD.feed_id IS NOT NEW.feed_id OR OLD.id IS NOT NEW.id"
)
_ARTICLE_COLUMNS = "title, author, content, summary, feed_id, id"
_EXTRACT_CHANGED = "OLD.text IS NOT NEW.text OR OLD.article_id IS NOT NEW.article_id"
_EXTRACT_IDS = "s.id IN (OLD.article_id, NEW.article_id)"

# name -> (when it fires, what it does); the BEFORE side removes the old state, the AFTER
# side adds the new one. Deleting an article removes it BEFORE the delete, while its extract and its
# feed are still there (the cascade that deletes them runs after the row is gone); deleting
# a feed removes its articles before the cascade for the same reason.
_TRIGGERS: dict[str, tuple[str, str]] = {
    # New articles are not indexed as they are inserted: a refresh writing 25,000 of them
    # would spend more time indexing than everything else. catch_up() indexes them in
    # batches before any query reads the index.
    "article_fts_article_update_old": (f"BEFORE UPDATE OF {_ARTICLE_COLUMNS} ON articles WHEN {_ARTICLE_CHANGED}",
                                       _remove("s.id = OLD.id")),
    "article_fts_article_update_new": (f"AFTER UPDATE OF {_ARTICLE_COLUMNS} ON articles WHEN {_ARTICLE_CHANGED}",
                                       _add("s.id = NEW.id")),
    "article_fts_article_delete": ("BEFORE DELETE ON articles", _remove("s.id = OLD.id")),
    # BEFORE INSERT fires for every INSERT, also one that ends as an upsert's UPDATE or
    # replaces a row (INSERT OR REPLACE runs no delete trigger): it removes whatever extract
    # was indexed, and the AFTER side of whichever happened adds the article back. The
    # AFTER UPDATE side therefore runs for any update, not only one that changes the text.
    "article_fts_extract_insert_old": ("BEFORE INSERT ON extracts", _remove("s.id = NEW.article_id")),
    "article_fts_extract_insert_new": ("AFTER INSERT ON extracts", _add("s.id = NEW.article_id")),
    "article_fts_extract_update_old": (f"BEFORE UPDATE OF text, article_id ON extracts WHEN {_EXTRACT_CHANGED}",
                                       _remove(_EXTRACT_IDS)),
    "article_fts_extract_update_new": ("AFTER UPDATE ON extracts", _add(_EXTRACT_IDS)),
    "article_fts_extract_delete_old": ("BEFORE DELETE ON extracts", _remove("s.id = OLD.article_id")),
    "article_fts_extract_delete_new": ("AFTER DELETE ON extracts", _add("s.id = OLD.article_id")),
    "article_fts_feed_title_old": ("BEFORE UPDATE OF title ON feeds WHEN OLD.title IS NOT NEW.title",
                                   _remove("s.feed_id = OLD.id")),
    "article_fts_feed_title_new": ("AFTER UPDATE OF title ON feeds WHEN OLD.title IS NOT NEW.title",
                                   _add("s.feed_id = NEW.id")),
    "article_fts_feed_delete": ("BEFORE DELETE ON feeds", _remove("s.feed_id = OLD.id")),
}

_SCHEMA: list[str] = [
    f"CREATE TABLE IF NOT EXISTS {_META_TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5({', '.join(_COLUMNS)},"
    " content='', tokenize='unicode61 remove_diacritics 0')",
    # merge segments 16 at a time rather than 4: a refresh writes one small segment per
    # feed, and merging them less eagerly cut indexing time by a fifth in the benchmark
    # with no measurable cost to queries (100,000 articles)
    f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rank) VALUES ('automerge', 16)",
    f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rank) VALUES ('crisismerge', 64)",
    # what the index holds for each article, computed from the rows as they are
    f"""CREATE VIEW {_SOURCE_VIEW} AS SELECT a.id AS id, a.feed_id AS feed_id,
        docbao_fold(a.title) AS title, docbao_fold(a.author) AS author,
        docbao_fold(f.title) AS feed,
        docbao_fold(docbao_html_text(CASE WHEN a.content != '' THEN a.content ELSE a.summary END)) AS body,
        docbao_fold(e.text) AS extract
        FROM articles a LEFT JOIN feeds f ON f.id = a.feed_id LEFT JOIN extracts e ON e.article_id = a.id""",
    *(f"CREATE TRIGGER {name} {when} BEGIN {action}; END" for name, (when, action) in _TRIGGERS.items()),
    f"INSERT OR REPLACE INTO {_META_TABLE} (key, value) VALUES ('version', '{INDEX_VERSION}')",
]


def _register(conn: sqlite3.Connection) -> None:
    conn.create_function("docbao_fold", 1, _sql_fold, deterministic=True)
    conn.create_function("docbao_html_text", 1, _sql_html_text, deterministic=True)


def _installed(conn: sqlite3.Connection) -> bool:
    names = {row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE name IN (?, ?, ?" + ", ?" * len(_TRIGGERS) + ")",
        (FTS_TABLE, _SOURCE_VIEW, _META_TABLE, *_TRIGGERS),
    )}
    if len(names) != 3 + len(_TRIGGERS):
        return False
    row = conn.execute(f"SELECT value FROM {_META_TABLE} WHERE key = 'version'").fetchone()
    return row is not None and row[0] == INDEX_VERSION


@contextmanager
def _write(conn: sqlite3.Connection) -> Iterator[None]:
    """A write inside the caller's transaction when one is open, else its own BEGIN IMMEDIATE."""
    if conn.in_transaction:
        conn.execute("SAVEPOINT docbao_search")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK TO docbao_search")
            conn.execute("RELEASE docbao_search")
            raise
        conn.execute("RELEASE docbao_search")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def install(conn: sqlite3.Connection) -> None:
    """Register the folding functions on `conn` and create the index and its triggers if missing.

    Call it on every connection that writes articles, feeds or extracts: the triggers call
    the functions, and a connection without them cannot write those tables. When anything
    is missing or was made by another INDEX_VERSION, everything is recreated with an empty
    index; needs_build() then says build() must fill it. The triggers assume SQLite's
    default recursive_triggers = OFF.
    """
    _register(conn)
    if _installed(conn):
        return
    with _write(conn):
        if _installed(conn):  # another process did it while this one waited for the lock
            return
        for name in _TRIGGERS:
            conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        conn.execute(f"DROP VIEW IF EXISTS {_SOURCE_VIEW}")
        conn.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
        for statement in _SCHEMA:
            conn.execute(statement)


def _unindexed(conn: sqlite3.Connection) -> int:
    articles = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    indexed = conn.execute(f"SELECT count(*) FROM {FTS_TABLE}_docsize").fetchone()[0]
    return int(articles) - int(indexed)


def needs_build(conn: sqlite3.Connection) -> bool:
    """True when some articles are not in the index (a cache from before search, or a new INDEX_VERSION)."""
    if not _installed(conn):
        return True
    return _unindexed(conn) > 0


def build(conn: sqlite3.Connection, progress: Callable[[int, int], None] | None = None,
          *, batch: int = _BUILD_BATCH) -> None:
    """Index every article that is not yet in the index, in batches of `batch` rows.

    Each batch is its own transaction (or a savepoint in the caller's), so other processes
    can write between batches and an interrupted build resumes where it stopped. Articles
    inserted meanwhile wait for the next call. `progress(done, total)` follows each batch.
    """
    install(conn)
    total = max(_unindexed(conn), 0)
    done = 0
    last_id = 0
    if progress is not None:
        progress(0, total)
    while True:
        with _write(conn):
            ids = [row[0] for row in conn.execute(
                f"SELECT a.id FROM articles a WHERE a.id > ? AND NOT EXISTS"
                f" (SELECT 1 FROM {FTS_TABLE}_docsize d WHERE d.id = a.id) ORDER BY a.id LIMIT ?",
                (last_id, batch),
            )]
            if ids:
                conn.execute(_add("s.id >= ? AND s.id <= ?"), (ids[0], ids[-1]))
        if not ids:
            break
        last_id = ids[-1]
        done += len(ids)
        if progress is not None:
            progress(done, max(total, done))
    if done >= _OPTIMIZE_FROM:
        with _write(conn):
            # one segment instead of one per batch: smaller and faster to query (about
            # 1.5 s for 100,000 articles, so not after the catch-up of an ordinary refresh,
            # whose few segments FTS5's automerge folds in)
            conn.execute(f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}) VALUES ('optimize')")


def feed_tags(config: Config, rows: Sequence[FeedRow]) -> dict[str, list[int]]:
    """tag -> feed ids, for the tag: filter of search."""
    ids = {row.url: row.id for row in rows}
    tags: dict[str, list[int]] = {}
    for feed in config.feeds:
        for tag in feed.tags:
            if feed.url in ids:
                tags.setdefault(tag, []).append(ids[feed.url])
    return tags


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
    read: bool | None = None  # is:read / is:unread
    starred: bool | None = None  # is:starred / -is:starred
    before: When | None = None  # sort_time earlier than this
    after: When | None = None  # sort_time at or after this

    @property
    def terms(self) -> list[Term]:
        """Everything an article's text must contain, as terms."""
        return ([Term((w,)) for w in self.words] + [Term(p) for p in self.phrases]
                + list(self.prefixes))

    @property
    def has_filters(self) -> bool:
        return bool(self.feeds or self.excluded_feeds or self.tags or self.excluded_tags
                    or self.authors or self.excluded_authors or self.read is not None
                    or self.starred is not None or self.before or self.after)


_FILTER = re.compile(r"(?i)(feed|tag|author|is|before|after):(.*)", re.DOTALL)
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


def _term(text: str, prefix: bool) -> Term | None:
    tokens = tuple(_tokens(_index_form(text)))
    if not tokens:
        return None
    return Term(tokens, prefix)


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
    feed:NAME (feed title or url), tag:NAME, author:NAME, is:unread|read|starred,
    before:DATE and after:DATE (2020-05-23, 7d, 12h, 2w, today, yesterday). Values with
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
            _add_filter(query, key, value, negated)
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


_EXAMPLES = {
    "feed": "feed:vnexpress", "tag": "tag:news", "author": 'author:"Thu Hiền"',
    "is": "is:unread", "before": "before:2020-05-23", "after": "after:7d",
}


def _add_term(query: ParsedQuery, text: str, negated: bool, prefix: bool, *, phrase: bool) -> None:
    term = _term(text, prefix)
    if term is None:
        return
    if negated:
        query.excluded.append(term)
    elif term.prefix:
        query.prefixes.append(term)
    elif len(term.tokens) == 1 and not phrase:
        query.words.append(term.tokens[0])
    else:
        query.phrases.append(term.tokens)


def _add_filter(query: ParsedQuery, key: str, value: str, negated: bool) -> None:
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


def _match_expression(query: ParsedQuery) -> tuple[str | None, str | None]:
    """(what must match, what must not) as FTS5 expressions of quoted tokens only."""
    positive = [_quote(t) for t in query.terms]
    positive += [f"author : {_quote(t)}" for t in query.authors]
    negative = [_quote(t) for t in query.excluded]
    negative += [f"author : {_quote(t)}" for t in query.excluded_authors]
    return (" AND ".join(positive) or None), (" OR ".join(negative) or None)


def _feed_ids(conn: sqlite3.Connection, names: list[str]) -> set[int]:
    """Feeds whose folded title or url contains every name."""
    found: set[int] = set()
    for feed_id, title, url, redirect in conn.execute(
        "SELECT id, title, url, redirect_url FROM feeds"
    ):
        haystack = f"{fold(title)}\n{fold(url)}\n{fold(redirect)}"
        if all(name in haystack for name in names):
            found.add(int(feed_id))
    return found


def _tag_feed_ids(name: str, tags: dict[str, list[int]] | None) -> set[int]:
    if not tags:
        raise QueryError(f"no tag named {name!r}: no tags are defined")
    ids: set[int] = set()
    matched = False
    for tag, feed_ids in tags.items():
        if fold(tag).strip() == name:
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


def _compile(conn: sqlite3.Connection, query: ParsedQuery, tags: dict[str, list[int]] | None,
             now: float | None) -> _Compiled | None:
    """SQL conditions on `articles a`, or None when nothing can match (e.g. no such feed)."""
    match, exclude = _match_expression(query)
    where: list[str] = []
    params: list[object] = []
    allowed: set[int] | None = None
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
        allowed -= refused
        if not allowed:
            return None
        where.append(f"a.feed_id IN ({','.join('?' * len(allowed))})")
        params.extend(sorted(allowed))
    elif refused:
        where.append(f"a.feed_id NOT IN ({','.join('?' * len(refused))})")
        params.extend(sorted(refused))
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
    return _Compiled(match, where, params)


def catch_up(conn: sqlite3.Connection, progress: Callable[[int, int], None] | None = None) -> None:
    """Index the articles written since the last query (a refresh does not index them as
    it stores them): a few milliseconds after an ordinary refresh."""
    if needs_build(conn):
        build(conn, progress)


def _prepare(conn: sqlite3.Connection, query: str | ParsedQuery, tags: dict[str, list[int]] | None,
             now: float | None) -> tuple[ParsedQuery, _Compiled | None]:
    parsed = parse_query(query) if isinstance(query, str) else query
    catch_up(conn)
    return parsed, _compile(conn, parsed, tags, now)


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
           now: float | None = None) -> list[Hit]:
    """The best matches first (bm25 with title words weighing most, then newest), with snippets.

    A query with only filters (is:unread feed:x) lists its articles newest first. Raises
    QueryError for a query that cannot be read; never another exception for any text.
    """
    parsed, compiled = _prepare(conn, query, tags, now)
    if compiled is None or limit <= 0:
        return []
    offset = max(0, int(offset))
    if compiled.match is None:
        where, params = _where(conn, compiled)
        rows = _run(conn, f"SELECT a.id, 0.0 FROM articles a{where} ORDER BY a.sort_time DESC, a.id DESC"
                    " LIMIT ? OFFSET ?", [*params, int(limit), offset])
    elif compiled.where and _match_count(conn, compiled.match) <= _MANY_MATCHES:
        filters = "".join(f" AND {clause}" for clause in compiled.where)
        rows = _run(conn, (
            f"SELECT a.id, {_SCORE} AS score FROM {FTS_TABLE} JOIN articles a ON a.id = {FTS_TABLE}.rowid"
            f" WHERE {FTS_TABLE} MATCH ?{filters} ORDER BY score, a.sort_time DESC, a.id DESC LIMIT ? OFFSET ?"
        ), [compiled.match, *compiled.params, int(limit), offset])
    else:
        rows = _best(conn, compiled.match, compiled.where, compiled.params, offset + int(limit))[offset:]
    if not rows:
        return []
    snippets = _snippets(conn, [int(r[0]) for r in rows], parsed.terms)
    return [Hit(int(r[0]), float(r[1]), *snippets[int(r[0])]) for r in rows]


def _match_count(conn: sqlite3.Connection, match: str) -> int:
    """How many articles match: cheap (no ranking, no article read), it picks the plan."""
    return int(_run(conn, f"SELECT count(*) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?", (match,))[0][0])


def _best(conn: sqlite3.Connection, match: str, where: list[str], params: list[object],
          count: int) -> list[tuple[int, float]]:
    """The `count` best matches by bm25, ties newest first, ranked inside the index.

    Joining articles to every match costs more than the ranking itself (sort_time and the
    flags lie past the article's text), so filters become a set of ids read from the
    store's indexes, bm25 is computed only for matches in that set, and recency is read
    only for the rows kept and for every row that ties with the last one kept.
    """
    restrict = f" AND +rowid IN (SELECT a.id FROM articles a WHERE {' AND '.join(where)})" if where else ""
    base = f"FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?{restrict}"
    params = [match, *params]
    rows = _run(conn, f"SELECT rowid, {_SCORE} AS score {base} ORDER BY score LIMIT ?", [*params, count + 1])
    if len(rows) > count and rows[count][1] == rows[count - 1][1]:
        cut = rows[count][1]
        rows = [r for r in rows if r[1] != cut] + _run(
            conn, f"SELECT rowid, {_SCORE} {base} AND {_SCORE} = ?", [*params, cut])
    times: dict[int, int] = {}
    ids = [int(r[0]) for r in rows]
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        times.update(conn.execute(
            f"SELECT id, sort_time FROM articles WHERE id IN ({','.join('?' * len(chunk))})", chunk))
    ranked = [(int(r[0]), float(r[1])) for r in rows if r[0] in times]
    ranked.sort(key=lambda r: (r[1], -times[r[0]], -r[0]))
    return ranked[:count]


def matching_ids(conn: sqlite3.Connection, query: str | ParsedQuery, *,
                 tags: dict[str, list[int]] | None = None, now: float | None = None) -> list[int]:
    """Every match, newest first: the article list of a saved search shown as a virtual feed."""
    _, compiled = _prepare(conn, query, tags, now)
    if compiled is None:
        return []
    where, params = _where(conn, compiled)
    return [int(r[0]) for r in _run(
        conn, f"SELECT a.id FROM articles a{where} ORDER BY a.sort_time DESC, a.id DESC", params)]


def count_unread(conn: sqlite3.Connection, query: str | ParsedQuery, *,
                 tags: dict[str, list[int]] | None = None, now: float | None = None) -> int:
    """Unread matches: the count shown beside a saved search."""
    _, compiled = _prepare(conn, query, tags, now)
    if compiled is None:
        return 0
    where, params = _where(conn, compiled, "a.read = 0")
    return int(_run(conn, f"SELECT count(*) FROM articles a{where}", params)[0][0])


def ignored_ids(conn: sqlite3.Connection, queries: Iterable[str | ParsedQuery], *,
                tags: dict[str, list[int]] | None = None, now: float | None = None) -> set[int]:
    """Articles matched by any of the killfile's queries (the caller hides them or marks them read).

    A query that cannot be read raises QueryError naming it, so a bad killfile line is
    reported rather than silently hiding nothing.
    """
    found: set[int] = set()
    for query in queries:
        try:
            found.update(matching_ids(conn, query, tags=tags, now=now))
        except QueryError as exc:
            text = query if isinstance(query, str) else query.text
            raise QueryError(f"ignore query {text!r}: {exc}") from exc
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
            joined_cjk = re.match(_CJK_CHAR, token) or re.match(_CJK_CHAR, term.tokens[index - 1][-1])
            parts.append(f"{_SEPARATOR}*" if joined_cjk else f"{_SEPARATOR}+")
        parts.append(re.escape(token))
        if index == 0 and not re.match(_CJK_CHAR, token):
            parts.append(f"(?<!{_WORD_CHAR}{re.escape(token)})")
    last = term.tokens[-1][-1]
    if not re.match(_CJK_CHAR, last):
        parts.append(f"{_WORD_CHAR}*" if term.prefix else f"(?!{_WORD_CHAR})")
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
    folded, offsets = _fold_mapped(text)
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
        sources = [_html_text(content or summary or ""), extract or "", title or ""]
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
