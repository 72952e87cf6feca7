"""The full-text index as part of the cache's schema: its tables, the triggers that keep
it, and the folding functions those triggers call, registered on every connection.

Readers type Vietnamese without its marks ("lanh dao" for "Lãnh đạo"), so both the index
and the query are folded the same way: case folded, Unicode compatibility forms decomposed
(NFKD), every combining mark dropped and the letters that carry no combining mark (đ, ø,
ł ...) mapped to their base letter. The index is an FTS5 table kept by SQL triggers that
call folding functions registered on the connection, so every write the store makes (a
refresh, an edit, a prune, a forgotten feed) updates the index in the same transaction.
The store opens every connection through `install()`; the query language
(tui.store.search) reads the index and imports this module, never the other way round.

The index is contentless (it keeps only the postings, not a second copy of the text). A
contentless FTS5 table on SQLite 3.40 can only forget a row when given the values it was
indexed with, so the triggers recompute them from the rows as they are just before a
change (BEFORE triggers) and index the new state after it (AFTER triggers); each side acts
only when the row is, or is not, in the index (its `_docsize` entry), which keeps a row
from being removed or added twice and lets `build()` index a cache that predates search.
"""

from __future__ import annotations

import atexit
import functools
import html
import re
import sqlite3
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from concurrent.futures import Executor

# Bump when folding, tokenizing or the index's columns change: install() then drops and
# recreates the index and needs_build() reports that build() must run.
INDEX_VERSION = "3"

FTS_TABLE = "article_fts"
_SOURCE_VIEW = "article_fts_source"
_META_TABLE = "search_meta"
COLUMNS = ("title", "author", "feed", "body", "extract")
_BUILD_BATCH = 2000
_OPTIMIZE_FROM = 20_000  # articles indexed in one build() before the index is merged whole
# FTS5 keeps the postings of a transaction in memory up to this many bytes before it writes
# them out as a segment (its default is 1 MiB): a transaction of 2,000 articles, an import's
# or a build's, is then one segment instead of several, which automerge must merge again.
_PENDING_BYTES = 4 * 1024 * 1024
_SET_PENDING_BYTES = f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rank) VALUES ('hashsize', {_PENDING_BYTES})"

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
CJK_CHAR = f"[{_CJK}]"
_CJK_SPACED = f"([{_CJK}])"
WORD_CHAR = f"[^\\W_{_CJK}]"  # a letter or digit that is not CJK
_TOKEN = f"[{_CJK}]|{WORD_CHAR}+"
SEPARATOR = "[\\W_]"


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


# Vietnamese letters that are letters of their own in its alphabet (a ă â b c d đ e ê ... o ô
# ơ ... u ư ...), by the mark that makes them: they sort after their base letter, each
# written as it followed by as many DEL characters (after every other ASCII character; DEL
# is never in a title, see tui.content.sanitize) as its place after that letter.
_OWN_LETTERS = {("a", "\u0306"): 1, ("a", "\u0302"): 2, ("e", "\u0302"): 1, ("o", "\u0302"): 1,
                ("o", "\u031b"): 2, ("u", "\u031b"): 1}
_UNTITLED = "\U0010ffff"  # after every title


class _TitleKeyTable(dict[int, str]):
    """str.translate table of title_key, filled on first sight."""

    def __missing__(self, codepoint: int) -> str:
        char = chr(codepoint)
        if not (codepoint < 0x0530 or 0x1E00 <= codepoint <= 0x1EFF):
            key = char
        elif char in "đĐ":
            key = "d\x7f"
        else:
            base, *marks = unicodedata.normalize("NFD", char.lower()) or " "
            places = max((_OWN_LETTERS.get((base, mark), 0) for mark in marks), default=0)
            key = _FOLD[codepoint] + "\x7f" * places
        self[codepoint] = key
        return key


_TITLE_KEY = _TitleKeyTable()


# What a title's order skips at its start: quotes, brackets, dashes, "#", "…" (anything
# but a letter or a digit), as a dictionary does; and a number in it (ASCII digits), which
# sorts by its value: its digits, without leading zeros, after their count.
_LEADING_MARKS = re.compile(r"[\W_]+")
_NUMBER = re.compile(r"[0-9]+")
_LONGEST_NUMBER = 40  # digits a count can stand for (more sort as that many)


def _number_key(match: re.Match[str]) -> str:
    digits = match.group().lstrip("0") or "0"
    return chr(0x30 + min(len(digits), _LONGEST_NUMBER)) + digits


def title_key(text: str) -> str:
    """The form lists sort titles by: case and tone marks aside, in the order of the
    Vietnamese alphabet (a ă â b c d đ e ê ... o ô ơ ... u ư), so that "Ăn" comes after
    "Apple" and before "Bão", "Đà Nẵng" after every D, and "Ủy" before "Ước"; other marks
    fold as search folds them ("Éclair" among the E's). What comes before the first letter
    or digit does not count (‘Four Things’ is among the F's), and numbers sort by their
    value ("Tập 2" before "Tập 10"). Untitled articles come last.

    An index of the cache holds these keys, so a key may never change for a title once
    written: only the letters of blocks whose case and decompositions Unicode no longer
    changes are folded (Latin, Latin Extended Additional, where Vietnamese is, Greek and
    Cyrillic); other characters sort as themselves. A change here needs a migration that
    rebuilds articles_by_title (REINDEX).
    """
    if not text.strip():
        return _UNTITLED
    lead = _LEADING_MARKS.match(text)
    if lead is not None and lead.end() < len(text):
        text = text[lead.end():]
    key = text.lower() if text.isascii() else text.translate(_TITLE_KEY)
    return _NUMBER.sub(_number_key, key)


def fold_mapped(text: str) -> tuple[str, list[int] | None]:
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


def index_form(text: str) -> str:
    """Folded text as the index sees it: CJK characters spaced apart into tokens.

    Latin text with punctuation that NFKD leaves as it is (curly quotes, dashes, «», €)
    keeps the fast path: the index form has a space where that punctuation was, which both
    tokenizers (FTS5's unicode61 and tokens()) read as the separator it was."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    other = _NOT_LATIN.search(decomposed)
    if other is not None and re.match(_SEPARATORS, other.group()):
        decomposed = re.sub(_SEPARATORS, " ", decomposed)
        other = _NOT_LATIN.search(decomposed, other.start())
    if other is None:
        return decomposed.encode("ascii", "ignore").decode("ascii").lower()
    return text.translate(_INDEX_FOLD)


# Punctuation and symbols (Unicode P* and S*) of Latin-1 and of the general punctuation and
# currency blocks and arrows, as NFKD leaves them, that FTS5 knows (its tables are
# Unicode 6.1: a newer character is a letter to it). Left to re's cache, as the CJK patterns.
_SEPARATORS = ("[\u00a1-\u00a7\u00a9\u00ab\u00ac\u00ae\u00b0\u00b1\u00b6\u00b7\u00bb\u00bf\u00d7\u00f7"
               "\u2010-\u2027\u2030-\u205e\u20a0-\u20b9\u2190-\u21ff]")


def tokens(text: str) -> list[str]:
    """The tokens FTS5 (unicode61 over the index form) finds in already folded text."""
    return re.findall(_TOKEN, text)


# Stored HTML comes out of the sanitizer, which writes tag names in lower case.
_INLINE_TAGS = re.compile(
    r"</?(?:a|abbr|acronym|b|bdi|big|cite|code|del|dfn|em|font|i|ins|kbd|mark|q|s|samp|small"
    r"|span|strike|strong|sub|sup|time|tt|u|var)(?=[\s/>])[^>]*>"
)
_HIDDEN = re.compile(r"<(script|style|template)\b.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL)
_ANY_TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def html_text(fragment: str) -> str:
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
    return index_form(value if isinstance(value, str) else str(value))


def _sql_title_key(value: object) -> str:
    """title_key for the index of titles."""
    if value is None:
        return ""
    return _title_key_again(value if isinstance(value, str) else str(value))


@functools.lru_cache(maxsize=1)
def _title_key_again(text: str) -> str:
    """title_key, answering from its last answer: a read mark rewrites an article's entry in
    the index of titles, and SQLite asks for the key of the entry it removes and of the one
    it writes, the same title twice in a row."""
    return title_key(text)


def _sql_html_text(value: object) -> str:
    if value is None:
        return ""
    return html_text(value if isinstance(value, str) else str(value))


# ------------------------------------------------------------------------ the index
def _remove(where: str) -> str:
    """SQL that takes the matching rows out of the index, with the values they were indexed with."""
    return (
        f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, {', '.join(COLUMNS)})"
        f" SELECT 'delete', s.id, {', '.join('s.' + c for c in COLUMNS)} FROM {_SOURCE_VIEW} s"
        f" WHERE {where} AND EXISTS (SELECT 1 FROM {FTS_TABLE}_docsize d WHERE d.id = s.id)"
    )


def _add(where: str) -> str:
    """SQL that indexes the matching rows as they are now (rows already indexed are left)."""
    return (
        f"INSERT INTO {FTS_TABLE} (rowid, {', '.join(COLUMNS)})"
        f" SELECT s.id, {', '.join('s.' + c for c in COLUMNS)} FROM {_SOURCE_VIEW} s"
        f" WHERE {where} AND NOT EXISTS (SELECT 1 FROM {FTS_TABLE}_docsize d WHERE d.id = s.id)"
    )


_ARTICLE_CHANGED = (
    "OLD.title IS NOT NEW.title OR OLD.author IS NOT NEW.author OR OLD.content IS NOT NEW.content"
    " OR OLD.summary IS NOT NEW.summary OR OLD.feed_id IS NOT NEW.feed_id OR OLD.id IS NOT NEW.id"
)
_ARTICLECOLUMNS = "title, author, content, summary, feed_id, id"
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
    "article_fts_article_update_old": (f"BEFORE UPDATE OF {_ARTICLECOLUMNS} ON articles WHEN {_ARTICLE_CHANGED}",
                                       _remove("s.id = OLD.id")),
    "article_fts_article_update_new": (f"AFTER UPDATE OF {_ARTICLECOLUMNS} ON articles WHEN {_ARTICLE_CHANGED}",
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
    # prefix='2': the two-letter prefixes have their own postings, so `ha*` reads one list
    # instead of merging those of every word it begins (110 ms -> 8 ms at 100,000 articles,
    # up to 1.2 s at 1,000,000); the index grows by half and building it takes a quarter
    # more CPU. Longer prefixes begin few enough words to merge as they are.
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5({', '.join(COLUMNS)},"
    " content='', tokenize='unicode61 remove_diacritics 0', prefix='2')",
    # merge segments 16 at a time rather than 4: a refresh writes one small segment per
    # feed, and merging them less eagerly cut indexing time by a fifth in the benchmark
    # with no measurable cost to queries (100,000 articles)
    f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rank) VALUES ('automerge', 16)",
    f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rank) VALUES ('crisismerge', 64)",
    _SET_PENDING_BYTES,
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


def register(conn: sqlite3.Connection) -> None:
    """The folding functions on `conn`: the index's triggers and the cache's index of titles
    call them, so every connection that writes articles needs them, before it migrates."""
    conn.create_function("docbao_fold", 1, _sql_fold, deterministic=True)
    conn.create_function("docbao_html_text", 1, _sql_html_text, deterministic=True)
    conn.create_function("docbao_title_key", 1, _sql_title_key, deterministic=True)


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


def prepare_bulk(conn: sqlite3.Connection) -> None:
    """Before many articles are indexed (a build, an import): an index made before
    _PENDING_BYTES was set gets it. Here rather than in install(), which every start runs:
    the setting is a write, which must not make a start wait for another process's lock."""
    row = conn.execute(f"SELECT v FROM {FTS_TABLE}_config WHERE k = 'hashsize'").fetchone()
    if row is None or row[0] != _PENDING_BYTES:
        with _write(conn):
            conn.execute(_SET_PENDING_BYTES)


def install(conn: sqlite3.Connection) -> None:
    """Register the folding functions on `conn` and create the index and its triggers if missing.

    Call it on every connection that writes articles, feeds or extracts: the triggers call
    the functions, and a connection without them cannot write those tables. When anything
    is missing or was made by another INDEX_VERSION, everything is recreated with an empty
    index; needs_build() then says build() must fill it. The triggers assume SQLite's
    default recursive_triggers = OFF.
    """
    register(conn)
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


def add_range(conn: sqlite3.Connection, first: int, last: int) -> None:
    """Index the articles with ids `first` to `last` that are not in the index yet, in the
    caller's transaction: an import indexes what it writes as it goes, so that the first
    search after it has nothing left to index."""
    conn.execute(_add("s.id >= ? AND s.id <= ?"), (first, last))


def indexed_columns(title: str, author: str, body_html: str) -> tuple[str, str, str]:
    """An article's title, author and body as the index holds them (body_html: its content,
    else its summary), computed where the article is made ready (an import's worker
    processes) so that the writer only stores them: add_new()."""
    return index_form(title), index_form(author), index_form(html_text(body_html))


def add_new(conn: sqlite3.Connection, feed_id: int, articles: list[tuple[int, tuple[str, str, str] | None]]) -> None:
    """Index new articles of feed `feed_id`, none of them in the index yet and none with an
    extract: (id, its indexed_columns() or None). Columns computed ahead are stored as they
    are (they are the values the triggers would compute, which they give again to take an
    article out); the articles without go through the triggers' view."""
    ready = [(article_id, *columns) for article_id, columns in articles if columns is not None]
    others = [article_id for article_id, columns in articles if columns is None]
    if ready:
        feed = index_form(conn.execute("SELECT title FROM feeds WHERE id = ?", (feed_id,)).fetchone()[0])
        conn.executemany(f"INSERT INTO {FTS_TABLE} (rowid, {', '.join(COLUMNS)}) VALUES (?, ?, ?, ?, ?, '')",
                         [(article_id, title, author, feed, body) for article_id, title, author, body in ready])
    if others:
        add_range(conn, min(others), max(others))


def _indexed(conn: sqlite3.Connection) -> int:
    """Articles in the index, read from the row count FTS5 keeps at the start of its
    "averages" record (block 1 of its data table, a varint), so that asking costs the same
    at any size of the cache instead of a count of every row."""
    row = conn.execute(f"SELECT block FROM {FTS_TABLE}_data WHERE id = 1").fetchone()
    if row is None or not row[0]:
        return 0
    value = 0
    for n, byte in enumerate(bytes(row[0])[:9]):
        if n == 8:
            return (value << 8) | byte
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            break
    return value


def _unindexed(conn: sqlite3.Connection) -> int:
    """Articles not in the index: every feed's article count (kept by the store's
    triggers) less the index's row count, both read without counting rows."""
    articles = conn.execute("SELECT coalesce(sum(total), 0) FROM feeds").fetchone()[0]
    return int(articles) - _indexed(conn)


def needs_build(conn: sqlite3.Connection) -> bool:
    """True when some articles are not in the index (a cache from before search, or a new INDEX_VERSION)."""
    if not _installed(conn):
        return True
    return _unindexed(conn) > 0


def build(conn: sqlite3.Connection, progress: Callable[[int, int], None] | None = None,
          *, batch: int = _BUILD_BATCH, workers: Callable[[int], Executor] | None = None) -> None:
    """Index every article that is not yet in the index, in batches of `batch` rows.

    Each batch is its own transaction (or a savepoint in the caller's), so other processes
    can write between batches and an interrupted build resumes where it stopped. Articles
    inserted meanwhile wait for the next call. `progress(done, total)` follows each batch.
    With `workers` (a pool for that many articles, made only for a backlog of at least
    PARALLEL_FROM), worker processes compute the index's values and this connection writes
    them (_build_with).
    """
    install(conn)
    total = max(_unindexed(conn), 0)
    if total:
        prepare_bulk(conn)
    if progress is not None:
        progress(0, total)
    # The articles not yet indexed are the newest (a refresh's, an old cache's all): walk
    # the ids down from the top until that many are found, not up through every article.
    ids: list[int] = []
    if total:
        cursor = conn.execute(f"SELECT a.id FROM articles a WHERE NOT EXISTS"
                              f" (SELECT 1 FROM {FTS_TABLE}_docsize d WHERE d.id = a.id) ORDER BY a.id DESC")
        for (article_id,) in cursor:
            ids.append(int(article_id))
            if len(ids) >= total:
                break
        cursor.close()
        ids.reverse()
    chunks = [ids[start:start + batch] for start in range(0, len(ids), batch)]
    path = conn.execute("PRAGMA database_list").fetchone()[2] if workers is not None else ""
    if workers is not None and path and len(ids) >= PARALLEL_FROM and not conn.in_transaction:
        done = _build_with(workers(len(ids)), conn, path, chunks, total, progress)
    else:  # (also a cache in memory, which the workers cannot open)
        done = 0
        for chunk in chunks:
            with _write(conn):
                add_range(conn, chunk[0], chunk[-1])
            done += len(chunk)
            if progress is not None:
                progress(done, max(total, done))
    if done >= _OPTIMIZE_FROM:
        with _write(conn):
            # one segment instead of one per batch: smaller and faster to query (about
            # 1.5 s for 100,000 articles, so not after the catch-up of an ordinary refresh,
            # whose few segments FTS5's automerge folds in)
            conn.execute(f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}) VALUES ('optimize')")


PARALLEL_FROM = 5000  # articles to index; fewer are indexed sooner than processes start
_WINDOW = 4  # batches of the pool's per transaction


def _build_with(pool: Executor, conn: sqlite3.Connection, path: str, chunks: list[list[int]], total: int,
                progress: Callable[[int, int], None] | None) -> int:
    """build()'s batches with the index's values computed in `pool` (source_values()) and
    written here; returns how many articles were indexed. The values are read while this
    connection holds the write lock, a transaction of _WINDOW batches: no other writer can
    change an article between their reading and their writing, so they are the values the
    triggers would compute now, which they give again to take the article out, and an
    article not in the index when they were read is still not in it when they are written."""
    done = 0
    try:
        for start in range(0, len(chunks), _WINDOW):
            with _write(conn):
                reading = [pool.submit(source_values, path, chunk[0], chunk[-1])
                           for chunk in chunks[start:start + _WINDOW]]
                for chunk, values in zip(chunks[start:start + _WINDOW], reading):
                    conn.executemany(
                        f"INSERT INTO {FTS_TABLE} (rowid, {', '.join(COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)",
                        values.result())
                    done += len(chunk)
                    if progress is not None:
                        progress(done, max(total, done))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return done


_readers: dict[str, sqlite3.Connection] = {}  # in a worker process: its connection to each cache


def source_values(path: str, first: int, last: int) -> list[tuple[int, str, str, str, str, str]]:
    """In a worker process: (id, and the index's columns) of the articles with ids `first`
    to `last` that are not in the index, from the triggers' own view, on a connection of
    the worker's own that only reads."""
    reader = _readers.get(path)
    if reader is None:
        reader = _readers[path] = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        atexit.register(reader.close)  # (before the worker's quick exit: workers.py)
        reader.execute("PRAGMA query_only = ON")
        register(reader)
    return reader.execute(
        f"SELECT s.id, {', '.join('s.' + c for c in COLUMNS)} FROM {_SOURCE_VIEW} s WHERE s.id >= ? AND s.id <= ?"
        f" AND NOT EXISTS (SELECT 1 FROM {FTS_TABLE}_docsize d WHERE d.id = s.id)", (first, last)).fetchall()
