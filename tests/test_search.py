"""Search: folding, the query language, ranking, snippets, and an index that stays right
through refreshes, edits, extracts, prunes, forgotten feeds, rollbacks and a second process.

Every test works on a real cache file written through Store.save_fetch, as a refresh
writes it. `assert_index_exact` compares every (term, article, column, position) the
index holds with what a fresh index of the current articles would hold, so a stale or
ghost posting anywhere fails the test, not only the few words a test searches for.
"""

from __future__ import annotations

import itertools
import re
import sqlite3
import subprocess
import sys
import textwrap
import time
import unicodedata
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tui.store import index, search
from tui.model import FetchResult, ParsedArticle, ParsedFeed
from tui.store.search import QueryError
from tui.store.cache import Store, count_inserted

DATA = Path(__file__).parent / "data" / "search"
ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------- helpers
def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def epoch(day: str, hour: int = 12) -> int:
    """Local time, as before:/after: read dates."""
    return int(datetime.fromisoformat(day).replace(hour=hour).timestamp())


def seed_article() -> ParsedArticle:
    """The seed article as a feed would carry it: headline, author, HTML paragraphs."""
    title, _time, *body, author = DATA.joinpath("article-thai-nguyen.txt").read_text("utf-8").strip().split("\n\n")
    return ParsedArticle(guid="thai-nguyen-2020-05-23", link="https://baothainguyen.vn/tin/1", title=title,
                         author=author, published=epoch("2020-05-23", 21),
                         content="".join(f"<p>{paragraph}</p>" for paragraph in body))


def open_store(folder: Path) -> Store:
    store = Store.open(folder)
    index.install(store.conn)
    return store


def save(store: Store, url: str, articles: list[ParsedArticle], *, title: str = "",
         now: int | None = None) -> dict[str, int]:
    """Save one fetch of a feed, as a refresh does; returns {guid: article id}."""
    feed_id = store.ensure_feeds([url])[url]
    store.save_fetch(feed_id, FetchResult(status="ok", url=url), ParsedFeed(title=title, articles=articles),
                     now=now)
    return dict(store.conn.execute("SELECT guid, id FROM articles WHERE feed_id = ?", (feed_id,)).fetchall())


def ids(store: Store, query: str | search.ParsedQuery, **kwargs: Any) -> list[int]:
    return [hit.article_id for hit in search.search(store.conn, query, **kwargs)]


def assert_index_exact(conn: sqlite3.Connection) -> None:
    """The index holds exactly what indexing the current articles afresh would hold."""
    live_sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (index.FTS_TABLE,)).fetchone()[0]
    fresh_sql = live_sql.replace(f"CREATE VIRTUAL TABLE {index.FTS_TABLE}", "CREATE VIRTUAL TABLE temp.fresh_fts")
    fresh_sql = fresh_sql.replace(" content='',", "").replace(", content=''", "")
    assert "content=''" not in fresh_sql
    conn.execute("DROP TABLE IF EXISTS temp.fresh_fts")
    conn.execute("DROP TABLE IF EXISTS temp.fresh_vocab")
    conn.execute("DROP TABLE IF EXISTS temp.live_vocab")
    conn.execute(fresh_sql)
    conn.execute("INSERT INTO temp.fresh_fts (rowid, title, author, feed, body, extract)"
                 " SELECT id, title, author, feed, body, extract FROM article_fts_source")
    conn.execute(f"CREATE VIRTUAL TABLE temp.live_vocab USING fts5vocab(main, {index.FTS_TABLE}, instance)")
    conn.execute("CREATE VIRTUAL TABLE temp.fresh_vocab USING fts5vocab(temp, fresh_fts, instance)")
    live = Counter(conn.execute("SELECT term, doc, col, offset FROM temp.live_vocab").fetchall())
    fresh = Counter(conn.execute("SELECT term, doc, col, offset FROM temp.fresh_vocab").fetchall())
    assert live - fresh == Counter(), "stale or ghost postings in the index"
    assert fresh - live == Counter(), "postings missing from the index"
    indexed = conn.execute(f"SELECT count(*) FROM {index.FTS_TABLE}_docsize").fetchone()[0]
    assert indexed == conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    for name in ("fresh_fts", "fresh_vocab", "live_vocab"):
        conn.execute(f"DROP TABLE temp.{name}")


def strip_search(conn: sqlite3.Connection) -> None:
    """Make the cache look like one written before search existed."""
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'article_fts%'"
                                ).fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("DROP VIEW IF EXISTS article_fts_source")
    conn.execute(f"DROP TABLE IF EXISTS {index.FTS_TABLE}")
    conn.execute("DROP TABLE IF EXISTS search_meta")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(tmp_path)
    yield store
    store.close()


@pytest.fixture
def seeded(store: Store) -> tuple[Store, int, int]:
    """The seed article, and an English article that none of the Vietnamese queries may find."""
    found = save(store, "https://baothainguyen.vn/rss", [seed_article()], title="Provincial news")
    other = save(store, "https://example.org/feed.xml", [ParsedArticle(
        guid="x1", title="Rice prices rise in Hanoi markets", author="Jane Doe",
        summary="<p>Traders said the harvest was late and demand strong.</p>", published=epoch("2020-05-20"))],
        title="World desk")
    return store, found["thai-nguyen-2020-05-23"], other["x1"]


# ----------------------------------------------------------------------- folding
@pytest.mark.parametrize(("text", "folded"), [
    ("Lãnh đạo Trung ương", "lanh dao trung uong"),
    ("Đảng bộ", "dang bo"),
    ("ĐẢNG", "dang"),
    ("Thái Nguyên", "thai nguyen"),
    (nfd("Thái Nguyên"), "thai nguyen"),
    ("café", "cafe"),
    (nfd("café"), "cafe"),
    ("Nghị quyết TW4", "nghi quyet tw4"),
    ("ﬁnance ＡＢＣ ½", "finance abc 1⁄2"),
    ("Straße", "strasse"),
    ("Łódź Øresund", "lodz oresund"),
    ("Ελληνικά άλφα", "ελληνικα αλφα"),
])
def test_fold_removes_case_and_diacritics(text: str, folded: str) -> None:
    assert index.fold(text) == folded


@given(st.text())
def test_fold_is_the_same_for_nfc_and_nfd_and_is_stable(text: str) -> None:
    assert index.fold(unicodedata.normalize("NFC", text)) == index.fold(unicodedata.normalize("NFD", text))
    assert index.fold(index.fold(text)) == index.fold(text)


@given(st.text())
def test_fold_works_character_by_character(text: str) -> None:
    """Snippets map folded offsets back to the text by folding one character at a time."""
    assert index.fold(text) == "".join(index.fold(ch) for ch in text)


def _separators() -> list[str]:
    return [chr(code) for code in range(0x110000)
            if re.fullmatch(index._SEPARATORS, chr(code)) and unicodedata.normalize("NFKD", chr(code)) == chr(code)]


def test_what_the_index_form_writes_as_a_space_fts5_reads_as_a_separator() -> None:
    separators = _separators()
    assert {"\u201c", "\u2019", "\u2013", "\u2014", "\u00ab", "\u20ac", "\u2192", "\u00a9"} <= set(separators)
    assert all(unicodedata.category(ch)[0] in "PS" and not ch.isalnum() for ch in separators)
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(body, tokenize='unicode61 remove_diacritics 0')")
    conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'row')")
    conn.executemany("INSERT INTO t (body) VALUES (?)", [(f"ab{ch}cd",) for ch in separators])
    assert [row[0] for row in conn.execute("SELECT term FROM v ORDER BY term")] == ["ab", "cd"]


@given(st.lists(st.sampled_from(["Lãnh đạo", "ĐẢNG", "\u201cquoted\u201d", "rock\u2019n\u2019roll", "a\u2013b",
                                 "€5", "→", "«Paris»", "Straße", "ﬁ", "年", "Ελλάδα", "½", "…", " ", "\n"]))
       .map("".join) | st.text())
def test_the_index_form_gives_the_tokens_of_the_fold_character_by_character(text: str) -> None:
    assert index.tokens(index.index_form(text)) == index.tokens(text.translate(index._INDEX_FOLD))


# ------------------------------------------------------------------- acceptance
@pytest.mark.parametrize("query", ["lanh dao trung uong", "dang bo", "ĐẢNG", "thai nguyen",
                                   "Lãnh đạo", nfd("Thái Nguyên"), "LANH DAO", "thu hien"])
def test_seed_article_is_found_without_diacritics(seeded: tuple[Store, int, int], query: str) -> None:
    store, seed, _other = seeded
    assert ids(store, query) == [seed]


def test_snippet_quotes_the_original_text_and_marks_the_matches(seeded: tuple[Store, int, int]) -> None:
    store, seed, _other = seeded
    for query, wanted in [("dang bo", {"dang", "bo"}), ("lanh dao", {"lanh", "dao"}), ('"tinh uy"', {"tinh uy"})]:
        [hit] = search.search(store.conn, query)
        assert hit.article_id == seed and hit.spans
        assert "\n" not in hit.snippet and len(hit.snippet) <= 170
        marked = [hit.snippet[start:end] for start, end in hit.spans]
        assert {index.fold(word) for word in marked} == wanted
        assert all(word != index.fold(word) for word in marked)  # the diacritics are still there
        assert hit.spans == sorted(hit.spans)


def test_snippet_of_an_nfd_title_covers_the_combining_marks(store: Store) -> None:
    title = nfd("Mùa lúa chín ở Thái Nguyên")
    [article_id] = save(store, "https://a.example/rss", [ParsedArticle(guid="1", title=title)]).values()
    [hit] = search.search(store.conn, "thai nguyen")
    assert hit.article_id == article_id and hit.snippet == title
    assert [hit.snippet[s:e] for s, e in hit.spans] == [nfd("Thái"), nfd("Nguyên")]


def test_nfd_and_nfc_find_each_other(store: Store) -> None:
    found = save(store, "https://a.example/rss", [
        ParsedArticle(guid="nfd", title=nfd("Thái Nguyên đón mùa mưa")),
        ParsedArticle(guid="nfc", title="Cà phê sáng ở Hà Nội"),
        ParsedArticle(guid="cafe", title="A new café opens", summary="<p>Coffee and cake.</p>"),
        ParsedArticle(guid="plain", title="The cafe at the corner"),
        ParsedArticle(guid="lower", title="Lễ kết nạp đảng viên mới"),
    ])
    assert ids(store, "ĐẢNG") == [found["lower"]]
    assert ids(store, "Thái Nguyên") == [found["nfd"]]
    assert ids(store, nfd("cà phê")) == [found["nfc"]]
    assert sorted(ids(store, "café")) == sorted([found["cafe"], found["plain"]])
    assert sorted(ids(store, "cafe")) == sorted([found["cafe"], found["plain"]])


# ------------------------------------------------------------- query language
@pytest.fixture
def news(store: Store) -> tuple[Store, dict[str, int], dict[str, list[int]]]:
    """Two feeds with articles of known words, authors and dates."""
    now = epoch("2024-06-01")
    vn = save(store, "https://vnexpress.net/rss/thoi-su.rss", [
        ParsedArticle(guid="a", title="Open source release of the national archive", author="Nguyễn Văn An",
                      summary="<p>Developers published the source code today.</p>", published=epoch("2024-05-30")),
        ParsedArticle(guid="b", title="Source open days at the museum", author="Trần Thị Bích Ngọc",
                      summary="<p>Visitors can see the archive for free.</p>", published=epoch("2023-01-10")),
        ParsedArticle(guid="c", title="Mưa lớn ở miền Trung", author="Nguyễn Thị Hà",
                      content="<p>Người dân Quảng Nam chuẩn bị ứng phó với lũ.</p>", published=epoch("2024-04-01")),
    ], title="VnExpress Thời sự", now=now)
    tt = save(store, "https://tuoitre.vn/rss/tin-moi.rss", [
        ParsedArticle(guid="d", title="Nguyên tắc mới cho giao thông", author="Lê Văn Nguyên",
                      summary="<p>Quy định về đường bộ và xe máy.</p>", published=epoch("2024-05-31")),
        ParsedArticle(guid="e", title="Release notes for the metro", author="Jane Doe",
                      summary="<p>The release adds two stations.</p>", published=epoch("2022-03-03")),
    ], title="Tuổi Trẻ Online", now=now)
    found = {**vn, **tt}
    tags = {"Tin Việt": [store.feed_ids(["https://vnexpress.net/rss/thoi-su.rss"])["https://vnexpress.net/rss/thoi-su.rss"]],
            "tech": [store.feed_ids(["https://tuoitre.vn/rss/tin-moi.rss"])["https://tuoitre.vn/rss/tin-moi.rss"]]}
    return store, found, tags


def test_all_words_must_match_in_any_field(news: tuple[Store, dict[str, int], dict[str, list[int]]]) -> None:
    store, a, _tags = news
    assert sorted(ids(store, "open source")) == sorted([a["a"], a["b"]])
    assert ids(store, "open source archive developers") == [a["a"]]
    assert ids(store, "open source metro") == []
    assert sorted(ids(store, "vnexpress thoi su mua")) == [a["c"]]  # feed title words count too


def test_phrases_keep_word_order(news: tuple[Store, dict[str, int], dict[str, list[int]]]) -> None:
    store, a, _tags = news
    assert ids(store, '"open source"') == [a["a"]]
    assert ids(store, '"source open"') == [a["b"]]
    assert ids(store, '"mien trung"') == [a["c"]]
    assert ids(store, '"trung mien"') == []


def test_prefix_matches_word_beginnings(news: tuple[Store, dict[str, int], dict[str, list[int]]]) -> None:
    store, a, _tags = news
    assert ids(store, "relea") == []
    assert sorted(ids(store, "relea*")) == sorted([a["a"], a["e"]])
    assert sorted(ids(store, "nguy*")) == sorted([a["a"], a["c"], a["d"]])
    assert ids(store, '"giao thon"*') == [a["d"]]


def test_a_bare_word_finds_its_plural_and_singular(store: Store) -> None:
    found = save(store, "https://example.org/world.rss", [
        ParsedArticle(guid="quakes", title="Earthquakes shake the coast", summary="<p>Two stories from Japan.</p>"),
        ParsedArticle(guid="quake", title="An earthquake in Chile", summary="<p>One story, two boxes of aid.</p>"),
        ParsedArticle(guid="new", title="A new bridge", summary="<p>Open to buses.</p>"),
        ParsedArticle(guid="vn", title="Lãnh đạo Trung ương làm việc", summary="<p>Đoàn công tác.</p>"),
    ])
    both = sorted([found["quakes"], found["quake"]])
    assert sorted(ids(store, "earthquake")) == both
    assert sorted(ids(store, "EARTHQUAKES")) == both
    assert sorted(ids(store, "story")) == sorted(ids(store, "stories")) == both
    assert ids(store, "box") == [found["quake"]]
    assert ids(store, '"earthquake"') == [found["quake"]]  # quoted: that word alone
    assert ids(store, "news") == []  # not the plural of "new"
    assert ids(store, "lanh dao") == ids(store, "Lãnh đạo") == [found["vn"]]
    (hit,) = search.search(store.conn, "earthquake chile")
    assert hit.article_id == found["quake"]
    (hit,) = search.search(store.conn, "earthquake coast")
    start, end = hit.spans[0]
    assert hit.snippet[start:end] == "Earthquakes"  # the form found is the one highlighted


def test_exclusion(news: tuple[Store, dict[str, int], dict[str, list[int]]]) -> None:
    store, a, _tags = news
    assert ids(store, "source -archive") == []
    assert ids(store, "release -metro") == [a["a"]]
    assert ids(store, 'source -"open source"') == [a["b"]]
    assert ids(store, "open -sour*") == []
    assert sorted(ids(store, "-release -source")) == sorted([a["c"], a["d"]])


def test_filters(news: tuple[Store, dict[str, int], dict[str, list[int]]]) -> None:
    store, a, tags = news
    assert sorted(ids(store, "feed:vnexpress")) == sorted([a["a"], a["b"], a["c"]])
    assert ids(store, 'feed:"tuoi tre" release') == [a["e"]]
    assert sorted(ids(store, "-feed:vnexpress")) == sorted([a["d"], a["e"]])
    assert ids(store, "feed:nowhere release") == []
    assert sorted(ids(store, 'tag:"tin viet"', tags=tags)) == sorted([a["a"], a["b"], a["c"]])
    assert ids(store, "tag:TECH release", tags=tags) == [a["e"]]
    assert sorted(ids(store, "-tag:tech source", tags=tags)) == sorted([a["a"], a["b"]])
    assert sorted(ids(store, "author:nguyen")) == sorted([a["a"], a["c"], a["d"]])
    assert ids(store, 'author:"tran thi"') == [a["b"]]
    assert ids(store, "author:nguy -author:\"le van\" mua") == [a["c"]]
    assert sorted(ids(store, "after:2024-05-01")) == sorted([a["a"], a["d"]])
    assert sorted(ids(store, "before:2023-01-10")) == [a["e"]]
    assert ids(store, "after:2023-01-10 before:2023-01-11") == [a["b"]]


def test_feed_names_match_at_the_start_of_a_word(store: Store) -> None:
    """feed:tin is "Tin Việt", not "Scripting News" or "Testing Blog"; CJK names anywhere."""
    tin = save(store, "https://tin.example/rss", [ParsedArticle(guid="t", title="Tin nhanh")], title="Tin Việt Thử")
    other = save(store, "https://scripting.example/rss", [ParsedArticle(guid="s", title="Scripting")],
                 title="Scripting News")
    other |= save(store, "https://testing.example/rss", [ParsedArticle(guid="b", title="Testing")], title="Testing Blog")
    cjk = save(store, "https://cn.example/rss", [ParsedArticle(guid="c", title="新闻")], title="人民新闻网")
    assert ids(store, "feed:tin") == [tin["t"]]
    assert ids(store, 'feed:"tin viet"') == [tin["t"]]
    assert sorted(ids(store, "-feed:tin")) == sorted([*other.values(), cjk["c"]])
    assert ids(store, "feed:新闻") == [cjk["c"]]
    assert len(ids(store, "feed:example")) == 4  # the URL's words too
    assert ids(store, "feed:xample") == []


def test_tag_names_match_at_the_start_of_a_word_as_feed_names_do(store: Store) -> None:
    """tag:tin is "Tin tức" and "Tin Việt Nam" (it said "no tag named 'tin'"), not "Thời tiết"."""
    found: dict[str, int] = {}
    tags: dict[str, list[int]] = {}
    for name, title in [("tt", "Tin tức"), ("vn", "Tin Việt Nam"), ("weather", "Thời tiết"), ("cn", "科技新闻")]:
        url = f"https://{name}.example/rss"
        found[name] = save(store, url, [ParsedArticle(guid=name, title=f"{title} hôm nay")], title=title)[name]
        tags[title] = [store.feed_ids([url])[url]]  # one tag a feed, named as the feed
    assert sorted(ids(store, "tag:tin", tags=tags)) == sorted([found["tt"], found["vn"]])
    assert ids(store, "tag:TIN tuc", tags=tags) == [found["tt"]]
    assert ids(store, 'tag:"tin viet"', tags=tags) == [found["vn"]]
    assert ids(store, "tag:tiet", tags=tags) == [found["weather"]]  # a later word of the name
    assert ids(store, "tag:新闻", tags=tags) == [found["cn"]]
    assert sorted(ids(store, "-tag:tin hom", tags=tags)) == sorted([found["weather"], found["cn"]])
    search.check_query("tag:tin", tags)  # the search box takes it too
    with pytest.raises(QueryError, match="no tag named 'in'"):
        search.search(store.conn, "tag:in", tags=tags)  # inside a word is no match


def test_the_articles_of_an_unsubscribed_feed_are_not_found(
        news: tuple[Store, dict[str, int], dict[str, list[int]]]) -> None:
    """Unsubscribing keeps a feed's articles for undo; search, saved searches and their
    counts leave them out like every list does, whatever the query's kind."""
    store, a, tags = news
    vn = store.feed_ids(["https://vnexpress.net/rss/thoi-su.rss"])["https://vnexpress.net/rss/thoi-su.rss"]
    left = {store.feed_ids(["https://tuoitre.vn/rss/tin-moi.rss"])["https://tuoitre.vn/rss/tin-moi.rss"]}
    assert sorted(ids(store, "release")) == sorted([a["a"], a["e"]])
    for query in ("release", "relea*", '"release notes"', "release is:unread", "release -metro", "is:unread",
                  "feed:vnexpress", "-feed:tuoi release", "author:nguyen", "after:2020-01-01", "-stations"):
        found = ids(store, query, tags=tags, feeds=left)
        assert not {a["a"], a["b"], a["c"]} & set(found), query
        assert set(search.matching_ids(store.conn, query, tags=tags, feeds=left)) == set(found), query
    assert ids(store, "release", feeds=left) == [a["e"]]
    assert ids(store, "nguy*", feeds=left) == [a["d"]]
    assert ids(store, "feed:vnexpress", feeds=left) == []
    assert search.count_unread(store.conn, "nguyen", feeds=left) == 1
    assert search.count_unread(store.conn, "nguyen", feeds=left | {vn}) == 3


def test_relative_dates(store: Store) -> None:
    now = int(time.time())
    found = save(store, "https://a.example/rss", [
        ParsedArticle(guid="new", title="Storm news", published=now - 86400),
        ParsedArticle(guid="old", title="Storm history", published=now - 30 * 86400),
    ])
    assert ids(store, "storm after:7d") == [found["new"]]
    assert ids(store, "storm before:1w") == [found["old"]]
    assert ids(store, "storm after:2m") != []
    assert ids(store, "after:yesterday") == [found["new"]]
    assert ids(store, "storm after:today", now=now + 3 * 86400) == []


def test_read_and_starred_filters(news: tuple[Store, dict[str, int], dict[str, list[int]]]) -> None:
    store, a, _tags = news
    store.set_read([a["a"], a["e"]])
    store.set_starred(a["e"], True)
    assert sorted(ids(store, "release is:unread")) == []
    assert sorted(ids(store, "release is:read")) == sorted([a["a"], a["e"]])
    assert ids(store, "is:starred") == [a["e"]]
    assert ids(store, "release -is:starred") == [a["a"]]
    assert ids(store, "release -is:unread -is:starred") == [a["a"]]
    assert search.count_unread(store.conn, "source") == 1
    assert search.count_unread(store.conn, "is:unread") == 3


def test_filter_only_queries_list_newest_first(news: tuple[Store, dict[str, int], dict[str, list[int]]]) -> None:
    store, a, _tags = news
    hits = search.search(store.conn, "feed:vnexpress")
    assert [h.article_id for h in hits] == [a["a"], a["c"], a["b"]]
    assert all(h.rank == 0.0 and h.snippet and h.spans == [] for h in hits)


def test_parsed_query_holds_what_was_typed() -> None:
    parsed = search.parse_query('Lãnh "Trung Ương" đạo* -Cafe -"x y" feed:VnExpress -tag:Tech author:"Thu Hiền"'
                                " is:unread -is:starred after:2024-01-02 before:7d e-mail")
    assert parsed.words == ["lanh"]
    assert parsed.phrases == [("trung", "uong"), ("e", "mail")]
    assert parsed.prefixes == [search.Term(("dao",), True)]
    assert parsed.excluded == [search.Term(("cafe",)), search.Term(("x", "y"))]
    assert parsed.feeds == ["vnexpress"] and parsed.excluded_tags == ["tech"]
    assert parsed.authors == [search.Term(("thu", "hien"), True)]
    assert parsed.read is False and parsed.starred is False
    assert parsed.after == search.When(epoch=epoch("2024-01-02", 0)) and parsed.before == search.When(seconds_ago=7 * 86400)


def test_a_parsed_query_can_be_searched_again(news: tuple[Store, dict[str, int], dict[str, list[int]]]) -> None:
    store, a, _tags = news
    parsed = search.parse_query("release")
    assert sorted(ids(store, parsed)) == sorted(ids(store, "release")) == sorted([a["a"], a["e"]])


@pytest.mark.parametrize(("query", "says"), [
    ("", "empty"),
    ("   ", "empty"),
    ("***", "nothing to search"),
    ('lanh "dao', "quote"),
    ("is:maybe", "is:"),
    ("before:soon", "before:"),
    ("after:2024-13-45", "after:"),
    ("feed:", "feed:"),
    ('author:""', "author:"),
    ("-before:2024-01-01", "after:"),
    ("is:read is:unread", "cannot both"),
    ("tag:nope", "tag"),
])
def test_unreadable_queries_say_why(news: tuple[Store, dict[str, int], dict[str, list[int]]], query: str,
                                    says: str) -> None:
    store, _a, tags = news
    with pytest.raises(QueryError) as error:
        search.search(store.conn, query, tags=tags)
    assert says in str(error.value)
    with pytest.raises(QueryError) as checked:  # what the reader's search box says before it closes
        search.check_query(query, tags)
    assert str(checked.value) == str(error.value)


def test_tags_without_a_mapping_are_a_query_error(news: tuple[Store, dict[str, int], dict[str, list[int]]]) -> None:
    store, _a, _tags = news
    with pytest.raises(QueryError, match="no tags"):
        search.matching_ids(store.conn, "tag:tech")


HOSTILE = [
    '"', '""', '"""', "*", "**", "lanh*dao", ":", "::", "(", ")", "()", "(lanh", "NEAR", "NEAR(lanh dao)",
    "lanh NEAR dao", "NEAR/2", "-", "--", "- -", "-lanh", "^", "^lanh", "lanh^", "+", "+lanh", "AND", "OR",
    "NOT", "lanh OR dao", "lanh AND NOT dao", "title:lanh", "{title}: lanh", "{title body}:(lanh)",
    "'; DROP TABLE articles; --", '"; DROP TABLE articles; --', "lanh' OR '1'='1", "%", "_", "\\", "\x00",
    "\u200b", "‘’“”", "“lanh dao”", "lanh“", "🇻🇳 lanh", "ﷺ", "a" * 5000, "feed:\"", "author:(", "is:", "tag:",
    "before:", "after:-1d", "feed:*", "feed:%", "author:-", "-feed:", "x:y", "http://example.org/a?b=c",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_give_results_or_a_query_error(seeded: tuple[Store, int, int], query: str) -> None:
    store, seed, _other = seeded
    for call in (search.search, search.matching_ids, search.count_unread):
        try:
            result = call(store.conn, query)
        except QueryError as error:
            assert str(error)
        else:
            assert isinstance(result, (list, int))
    assert store.conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 2
    assert ids(store, "lanh dao") == [seed]


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = open_store(tmp_path_factory.mktemp("hypothesis"))
    save(store, "https://baothainguyen.vn/rss", [seed_article()], title="Báo Thái Nguyên")
    yield store
    store.close()


MARKERS = itertools.count()
TRICKY = ["ﬁnance", "…", nfd("Đảng"), "Ǆem", "bộ", "x\u0302y", "Straße", "½", "Ĳssel", "Ω", "ＡＢ", "한국",
          "東京", "e\u0301\u0323", "—", "\n", "  ", "\t"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TRICKY), max_size=12), st.lists(st.sampled_from(TRICKY), max_size=12),
       st.sampled_from(["Lãnh", nfd("Lãnh"), "LANH", "lanh"]))
@example(["…"], ["e\u0301\u0323"], "Lãnh")  # two characters more, then two fewer: the same length
def test_spans_mark_the_matched_word_in_any_spelling(shared_store: Store, before: list[str], after: list[str],
                                                    word: str) -> None:
    marker = f"zq{next(MARKERS)}"
    title = " ".join([*before, word, marker, *after])
    save(shared_store, "https://tricky.example/rss", [ParsedArticle(guid=title, title=title)])
    [hit] = search.search(shared_store.conn, f"lanh {marker}", limit=1000)
    marked = [hit.snippet[s:e] for s, e in hit.spans]
    assert [index.fold(m) for m in marked] == ["lanh", marker]
    assert word in hit.snippet


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(), st.text(alphabet='"*:()-^+{}\' NEARORANDNOTlanhđạo_%\\\n\t:', max_size=30)))
def test_any_text_gives_results_or_a_query_error(shared_store: Store, query: str) -> None:
    try:
        hits = search.search(shared_store.conn, query, tags={"news": [1]})
    except QueryError as error:
        assert str(error)
        with pytest.raises(QueryError):  # the search box refuses it before it closes
            search.check_query(query, {"news": [1]})
    else:
        assert all(0 <= s < e <= len(h.snippet) for h in hits for s, e in h.spans)


# --------------------------------------------------------------------- ranking
def test_title_matches_rank_first_and_ties_go_to_the_newest(store: Store) -> None:
    body = "<p>" + "Tin tức trong ngày về giao thông và thời tiết. " * 5 + "</p>"
    found = save(store, "https://a.example/rss", [
        ParsedArticle(guid="body", title="Bản tin sáng", content=body.replace("thời tiết", "bão số 3"),
                      published=epoch("2024-05-03")),
        ParsedArticle(guid="title", title="Bão số 3 đổ bộ", content=body, published=epoch("2024-05-01")),
        ParsedArticle(guid="old", title="Giá vàng", content=body, published=epoch("2024-01-01")),
        ParsedArticle(guid="new", title="Giá vàng", content=body, published=epoch("2024-02-01")),
        ParsedArticle(guid="newer", title="Giá vàng", content=body, published=epoch("2024-03-01")),
    ])
    assert ids(store, "bao") == [found["title"], found["body"]]
    assert ids(store, "gia vang") == [found["newer"], found["new"], found["old"]]
    assert ids(store, "gia vang", limit=1) == [found["newer"]]
    assert ids(store, "gia vang", limit=1, offset=1) == [found["new"]]
    assert ids(store, "gia vang", limit=2, offset=2) == [found["old"]]


def test_a_long_article_with_the_words_in_its_title_comes_before_short_ones_that_mention_them(
        seeded: tuple[Store, int, int]) -> None:
    """FTS5's bm25 weighs a row's length as a whole, title and body together: by it alone,
    short articles that name "lãnh đạo" once in their text came before the long seed
    article whose title it is. Every word in the title comes first; then bm25."""
    store, seed, _other = seeded
    save(store, "https://other.example/rss", [  # a cache of mostly short items, as most feeds send
        ParsedArticle(guid=f"o{n}", title=f"Giá vàng {n}", content="<p>Giá vàng tăng nhẹ.</p>") for n in range(50)])
    short = save(store, "https://tin.example/rss", [
        ParsedArticle(guid=f"s{n}", title=f"Tin ngắn {n}", content=f"<p>Lãnh đạo xã thăm hỏi bà con {n}.</p>",
                      published=epoch("2024-05-01") + n) for n in range(5)], title="Tin địa phương")
    assert ids(store, "lanh dao")[0] == seed
    assert sorted(ids(store, "lanh dao")[1:]) == sorted(short.values())
    assert ids(store, "lanh dao trung uong") == [seed]


def test_words_in_the_feed_name_alone_come_after_the_articles_that_hold_them(store: Store) -> None:
    """A feed's name is in every one of its articles: "Đà Nẵng" lists what is about Đà Nẵng
    before every article of "Tin Đà Nẵng", and a phrase too."""
    local = save(store, "https://dn.example/rss", [
        ParsedArticle(guid=f"d{n}", title=f"Giao thông sáng nay {n}", content="<p>Đường thông thoáng.</p>",
                      published=epoch("2024-05-10") + n) for n in range(6)], title="Tin Đà Nẵng")
    about = save(store, "https://vn.example/rss", [
        ParsedArticle(guid="title", title="Đà Nẵng mưa lớn", content="<p>Mưa kéo dài.</p>", published=epoch("2024-05-01")),
        ParsedArticle(guid="body", title="Thời tiết miền Trung", content="<p>Mưa ở Huế và Đà Nẵng.</p>",
                      published=epoch("2024-05-02")),
    ], title="Tin Việt")
    for query in ("da nang", '"Đà Nẵng"'):
        found = ids(store, query)
        assert found[:2] == [about["title"], about["body"]], query
        assert sorted(found[2:]) == sorted(local.values()), query  # still found: the feed's name counts
    assert [hit.rank for hit in search.search(store.conn, '"da nang"')][:3] == [-1.0, 0.0, 1.0]


def test_words_typed_with_their_marks_list_the_titles_with_those_marks_first(store: Store) -> None:
    """Without marks, "bao" finds bão (storm), báo (newspaper), bảo, bạo alike; typed with
    them, "bão" still finds them all (diacritics do not matter), but the titles that say
    "bão" come first."""
    found = save(store, "https://vn.example/rss", [
        ParsedArticle(guid="paper", title="Báo chí đưa tin", published=epoch("2024-05-05")),
        ParsedArticle(guid="guard", title="Bảo vệ rừng", published=epoch("2024-05-04")),
        ParsedArticle(guid="storm", title="Cơn bão số 9 đổ bộ", published=epoch("2024-05-01")),
        ParsedArticle(guid="forecast", title="Dự báo thời tiết", content="<p>Bão đã tan.</p>",
                      published=epoch("2024-05-03")),
        ParsedArticle(guid="city", title="Đà Nẵng mưa lớn", published=epoch("2024-04-01")),
        ParsedArticle(guid="multi", title="Đa năng và tiện lợi", published=epoch("2024-05-06")),
    ], title="Tin")
    assert ids(store, "bão")[0] == found["storm"]
    assert set(ids(store, "bão")) == set(ids(store, "bao")) == {found[g] for g in ("paper", "guard", "storm", "forecast")}
    assert ids(store, "bao")[0] != found["storm"]  # no marks typed: nothing to prefer
    assert ids(store, "BÃO")[0] == found["storm"]  # case aside
    assert ids(store, "Đà Nẵng")[0] == found["city"] and ids(store, "đa năng")[0] == found["multi"]
    assert ids(store, '"đà nẵng"')[0] == found["city"] and ids(store, '"Đa năng"')[0] == found["multi"]


def test_a_lone_phrase_lists_its_title_matches_first_then_the_newest(store: Store) -> None:
    """A quoted phrase alone is not weighed by bm25, which for a phrase reads every match in
    the cache first: the articles with it in their title, then the others, newest first (a
    body that repeats it does not come first)."""
    found = save(store, "https://a.example/rss", [
        ParsedArticle(guid="title", title="Bão số 3 đổ bộ miền Trung", content="<p>Gió mạnh, mưa to.</p>",
                      published=epoch("2024-05-01")),
        ParsedArticle(guid="often", title="Bản tin", content="<p>" + "Bão số 3 gây mưa lớn. " * 4 + "</p>",
                      published=epoch("2024-05-02")),
        ParsedArticle(guid="once", title="Bản tin chiều", published=epoch("2024-05-03"),
                      content="<p>Giao thông ổn định sau khi bão số 3 tan; giá vàng, chứng khoán, thời tiết.</p>"),
        ParsedArticle(guid="apart", title="Số liệu", content="<p>Bão qua, còn 3 tỉnh mất điện.</p>"),
        ParsedArticle(guid="older", title="Tin cũ", content="<p>Bão số 3 năm trước.</p>", published=epoch("2023-09-01")),
    ])
    assert ids(store, '"bao so 3"') == [found["title"], found["once"], found["often"], found["older"]]
    assert ids(store, '"Bão số 3"', limit=1, offset=1) == [found["once"]]
    assert [hit.rank for hit in search.search(store.conn, '"bao so 3"')] == [-1.0, 0.0, 0.0, 0.0]
    assert ids(store, "bao so 3")[:2] == [found["title"], found["often"]]  # words: bm25 weighs them
    assert sorted(ids(store, '"bao so 3" -mua')) == sorted([found["once"], found["older"]])  # not alone: bm25


def test_both_query_plans_agree(news: tuple[Store, dict[str, int], dict[str, list[int]]],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Few matches are read by id, many through the store's indexes: same answers."""
    store, a, tags = news
    store.set_read([a["a"], a["d"]])
    store.set_starred(a["b"], True)
    queries = ["source", "release is:unread", "nguy* -is:read", "source is:starred", "after:2023-01-01 source",
               "feed:vnexpress open", "tag:tech release", "-release", '"open source" before:2025-01-01']

    def answers() -> list[object]:
        return [(ids(store, q, tags=tags), search.matching_ids(store.conn, q, tags=tags),
                 search.count_unread(store.conn, q, tags=tags)) for q in queries]

    few = answers()
    monkeypatch.setattr(search, "_MANY_MATCHES", 0)
    assert answers() == few
    assert few[0][0] and few[4][1]


def test_title_filter_matches_the_title_alone(news: tuple[Store, dict[str, int], dict[str, list[int]]]) -> None:
    store, a, _tags = news
    assert sorted(ids(store, "archive")) == sorted([a["a"], a["b"]])  # a's title, b's body
    assert ids(store, "title:archive") == [a["a"]]
    assert ids(store, "title:ARCHIVE source") == [a["a"]]
    assert ids(store, "source -title:archive") == [a["b"]]
    assert ids(store, 'title:"open source"') == [a["a"]]
    assert sorted(ids(store, "title:relea*")) == sorted([a["a"], a["e"]])
    assert ids(store, "title:relea") == []
    assert ids(store, "title:mien") == [a["c"]]  # folded like every word
    assert ids(store, "title:nguyen") == [a["d"]]  # not a and c, whose authors are Nguyễn
    with pytest.raises(QueryError, match="title: needs a value after the colon, like title:bitcoin"):
        search.parse_query("title:")
    with pytest.raises(QueryError, match="title: needs a word"):
        search.parse_query('title:"…"')


def test_matching_ids_newest_first_and_killfile(news: tuple[Store, dict[str, int], dict[str, list[int]]]) -> None:
    store, a, tags = news
    assert search.matching_ids(store.conn, "release") == [a["a"], a["e"]]
    assert search.matching_ids(store.conn, "source OR nothing") == []
    assert search.ignored_ids(store.conn, ["metro", 'author:"tran thi"', "tag:tech -metro"], tags=tags) == {
        a["e"], a["b"], a["d"]}
    with pytest.raises(QueryError, match="is:never"):
        search.ignored_ids(store.conn, ["metro", "is:never"])
    problems: list[str] = []
    assert search.ignored_ids(store.conn, ["metro", "is:never", "title:archive"], problems=problems) == {
        a["e"], a["a"]}  # the unreadable rule hides nothing; the others still apply
    assert len(problems) == 1 and "'is:never' not applied: is: takes unread, read or starred" in problems[0]


# ------------------------------------------------------------ keeping it right
def test_an_edited_article_is_found_by_its_new_words_only(store: Store) -> None:
    url = "https://a.example/rss"
    first = save(store, url, [ParsedArticle(guid="1", title="Giá lúa gạo tăng", summary="<p>Nông dân vui.</p>")])
    save(store, url, [ParsedArticle(guid="1", title="Giá cà phê giảm", summary="<p>Thương lái lo.</p>")])
    assert ids(store, "lua gao") == [] and ids(store, "nong dan") == []
    assert ids(store, "ca phe") == [first["1"]] and ids(store, "thuong lai") == [first["1"]]
    assert_index_exact(store.conn)


def test_prune_and_forget_leave_no_ghosts(store: Store) -> None:
    url = "https://a.example/rss"
    found = save(store, url, [ParsedArticle(guid=str(n), title=f"Bão số {n} vào đất liền", published=epoch("2024-01-01") + n)
                              for n in range(1, 6)], title="Thời tiết biển")
    store.save_extract(found["1"], "<p>x</p>", "Sạt lở ở Quảng Trị")
    store.set_read(list(found.values()))
    assert store.prune(keep_articles=2) == 3
    assert sorted(ids(store, "bao")) == sorted([found["4"], found["5"]])
    assert ids(store, "sat lo") == []
    assert_index_exact(store.conn)
    other = save(store, "https://b.example/rss", [ParsedArticle(guid="x", title="Bão tan")], title="Khí tượng")
    store.forget_feed(store.feed_ids([url])[url])
    assert ids(store, "bao") == [other["x"]]
    assert ids(store, "vao dat lien") == [] and ids(store, "thoi tiet bien") == []
    assert_index_exact(store.conn)


def test_a_new_feed_title_reindexes_its_articles(store: Store) -> None:
    url = "https://a.example/rss"
    found = save(store, url, [ParsedArticle(guid="1", title="Tin sáng")], title="Alpha News")
    assert ids(store, "alpha") == [found["1"]]
    save(store, url, [], title="Báo Đà Nẵng")
    assert ids(store, "alpha") == [] and ids(store, "da nang") == [found["1"]]
    assert_index_exact(store.conn)


def test_extracts_are_searched_and_kept_current(store: Store) -> None:
    found = save(store, "https://a.example/rss", [ParsedArticle(guid="1", title="Headline only", link="https://a.example/1")])
    article = found["1"]
    store.save_extract(article, "<p>...</p>", "Toàn văn: hội nghị Ban Chấp hành")
    assert ids(store, "ban chap hanh") == [article]
    [hit] = search.search(store.conn, "hoi nghi")
    assert [hit.snippet[s:e] for s, e in hit.spans] == ["hội", "nghị"]
    store.save_extract(article, "<p>...</p>", "Toàn văn: hội nghị Ban Chấp hành")  # the same again
    store.save_extract_error(article, "timed out")  # a failed refetch keeps the text
    assert ids(store, "ban chap hanh") == [article]
    assert_index_exact(store.conn)
    store.save_extract(article, "<p>...</p>", "Bản sửa: kỳ họp Quốc hội", author="Thu Hiền")
    assert ids(store, "chap hanh") == [] and ids(store, "quoc hoi") == [article]
    assert ids(store, "author:\"thu hien\"") == [article]
    assert_index_exact(store.conn)
    with store.transaction() as conn:
        conn.execute("INSERT OR REPLACE INTO extracts (article_id, text) VALUES (?, 'Lần ba: cơn bão')", (article,))
    assert ids(store, "quoc hoi") == [] and ids(store, "con bao") == [article]
    assert_index_exact(store.conn)
    with store.transaction() as conn:
        conn.execute("DELETE FROM extracts WHERE article_id = ?", (article,))
    assert ids(store, "con bao") == [] and ids(store, "headline") == [article]
    assert_index_exact(store.conn)


def test_a_rolled_back_refresh_leaves_the_index_as_it_was(store: Store) -> None:
    url = "https://a.example/rss"
    found = save(store, url, [ParsedArticle(guid="1", title="Ngày hội đọc sách")])
    feed_id = store.feed_ids([url])[url]
    with pytest.raises(RuntimeError):
        with store.transaction() as conn:
            conn.execute("INSERT INTO articles (feed_id, guid, title, first_seen, sort_time)"
                         " VALUES (?, '2', 'Ngày hội âm nhạc', 0, 0)", (feed_id,))
            count_inserted(conn, feed_id, 1, 1)  # (as the store's writers do)
            conn.execute("UPDATE articles SET title = 'Sách mới' WHERE id = ?", (found["1"],))
            assert ids(store, "am nhac") != []  # visible inside the transaction
            raise RuntimeError("the feed was cut off")
    assert ids(store, "am nhac") == [] and ids(store, "doc sach") == [found["1"]]
    assert_index_exact(store.conn)


def test_a_second_process_writes_while_this_one_holds_the_lock(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    save(store, "https://a.example/rss", [ParsedArticle(guid="1", title="Bài thứ nhất")])
    writer = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from tui.store import index, search
        from tui.model import FetchResult, ParsedArticle, ParsedFeed
        from tui.store.cache import Store
        store = Store.open(Path({str(tmp_path)!r}))
        index.install(store.conn)
        feed_id = store.ensure_feeds(["https://b.example/rss"])["https://b.example/rss"]
        store.save_fetch(feed_id, FetchResult(status="ok", url="https://b.example/rss"),
                         ParsedFeed(title="Báo Điện tử", articles=[ParsedArticle(guid="2", title="Đường sắt cao tốc")]))
        print(len(search.matching_ids(store.conn, "duong sat")))
    """)
    store.conn.execute("BEGIN IMMEDIATE")
    process = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    time.sleep(0.5)  # the writer waits for the lock meanwhile
    store.conn.execute("UPDATE articles SET title = 'Bài thứ hai'")
    store.conn.execute("COMMIT")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert out.strip() == "1"
    assert len(ids(store, "duong sat cao toc")) == 1 and len(ids(store, "bai thu hai")) == 1
    assert_index_exact(store.conn)
    store.close()


# ------------------------------------------------------------------ building
def test_a_cache_from_before_search_is_indexed_by_build(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    strip_search(store.conn)
    old = save(store, "https://baothainguyen.vn/rss", [seed_article()] + [
        ParsedArticle(guid=str(n), title=f"Tin số {n}", summary="<p>Đảng bộ tỉnh họp.</p>") for n in range(30)])
    index.install(store.conn)
    assert index.needs_build(store.conn)
    new = save(store, "https://b.example/rss", [ParsedArticle(guid="n", title="Đảng bộ huyện")])
    steps: list[tuple[int, int]] = []
    index.build(store.conn, lambda done, total: steps.append((done, total)), batch=8)
    assert steps[0] == (0, 32) and steps[-1] == (32, 32) and len(steps) == 5
    assert not index.needs_build(store.conn)
    assert ids(store, "dang bo huyen") == [new["n"]]
    assert len(ids(store, "dang bo")) == 32
    assert ids(store, "lanh dao trung uong") == [old["thai-nguyen-2020-05-23"]]
    assert_index_exact(store.conn)
    store.close()


def test_new_articles_are_found_by_the_next_query(tmp_path: Path) -> None:
    """A refresh stores without indexing; the next query indexes what is new first."""
    store = Store.open(tmp_path)
    save(store, "https://a.example/rss", [ParsedArticle(guid="1", title="Mưa đá ở Thái Nguyên")])
    assert index.needs_build(store.conn)
    assert len(ids(store, "mua da")) == 1
    assert not index.needs_build(store.conn)
    save(store, "https://a.example/rss", [ParsedArticle(guid="2", title="Mưa đá lần hai")])
    assert len(ids(store, "mua da")) == 2
    assert search.count_unread(store.conn, "thai nguyen") == 1
    assert_index_exact(store.conn)
    store.close()


def test_an_index_keeps_a_transactions_postings_in_memory_and_an_older_one_is_given_the_setting(
        tmp_path: Path) -> None:
    """FTS5 writes a transaction's postings out as one segment when they fit in its memory
    for them (4 MiB here, 1 MiB by default); a new index has the setting, an index made
    before it gets it with the next build, whose segments it then writes, and keeps every
    article findable."""
    def setting(store: Store) -> int | None:
        row = store.conn.execute("SELECT v FROM article_fts_config WHERE k = 'hashsize'").fetchone()
        return None if row is None else int(row[0])

    store = Store.open(tmp_path)
    assert setting(store) == 4 * 1024 * 1024
    with store.transaction() as conn:
        conn.execute("DELETE FROM article_fts_config WHERE k = 'hashsize'")
    store.close()
    store = Store.open(tmp_path)
    assert setting(store) is None  # (opening the cache does not write it: a start never waits for the lock)
    save(store, "https://a.example/rss", [ParsedArticle(guid=str(n), title=f"Sông Hồng số {n}") for n in range(50)])
    index.build(store.conn, batch=20)
    assert setting(store) == 4 * 1024 * 1024
    assert len(ids(store, "song hong")) == 50
    assert_index_exact(store.conn)
    store.close()


def test_build_inside_an_open_transaction(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    strip_search(store.conn)
    save(store, "https://a.example/rss", [ParsedArticle(guid="1", title="Mưa đá")])
    index.install(store.conn)
    with store.transaction() as conn:
        index.build(conn, batch=1)
        assert conn.in_transaction
    assert len(ids(store, "mua da")) == 1
    store.close()


def test_a_new_index_version_rebuilds(store: Store) -> None:
    save(store, "https://a.example/rss", [ParsedArticle(guid="1", title="Sông Hồng")])
    with store.transaction() as conn:
        conn.execute("UPDATE search_meta SET value = 'older' WHERE key = 'version'")
    index.install(store.conn)
    assert index.needs_build(store.conn)
    assert store.conn.execute("SELECT count(*) FROM article_fts_docsize").fetchone()[0] == 0
    assert len(ids(store, "song hong")) == 1  # the query rebuilt the index first
    assert not index.needs_build(store.conn)
    assert_index_exact(store.conn)


def test_install_twice_and_from_a_second_connection_changes_nothing(store: Store, tmp_path: Path) -> None:
    save(store, "https://a.example/rss", [ParsedArticle(guid="1", title="Hồ Gươm")])
    schema = store.conn.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()
    index.install(store.conn)
    other = Store.open(tmp_path)
    index.install(other.conn)
    assert other.conn.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall() == schema
    assert len(ids(other, "ho guom")) == 1 and not index.needs_build(other.conn)
    other.close()
