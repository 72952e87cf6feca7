"""Search whose cost is set by the page: on a cache where one word is in nearly every
article, each page is the one the exhaustive ordering gives, computed here from every
match at once, for words alone (blocks of search.BLOCK matches, newest stored first, each
ranked by bm25 with ties newest first), for words with filters (newest stored first,
whichever way the matches are walked) and for filters alone (newest first by date)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui.model import FetchResult, ParsedArticle, ParsedFeed
from tui.store import search
from tui.store.cache import Store

WORDS = ("Lãnh đạo Trung ương làm việc với Ban Thường vụ Tỉnh ủy về công tác xây dựng Đảng "
         "the government announced new measures on energy markets and security "
         "правительство объявило новые меры").split()
FEEDS = 6
ROUNDS = 5
PER_ROUND = 100  # 3,000 articles: three blocks


def article(rng: random.Random, feed: int, number: int) -> ParsedArticle:
    if number % 7 == 0:  # identical texts: equal scores, ordered by date
        title, body = "Giá vàng hôm nay", "<p>Giá vàng tăng, thị trường sôi động. Tin tức.</p>"
    else:
        title = " ".join(rng.choices(WORDS, k=rng.randint(4, 9)))
        body = "<p>" + " ".join(rng.choices(WORDS, k=rng.randint(10, 80))) + "</p>"
        if rng.random() < 0.9:
            body += "<p>Tin tức trong ngày.</p>"
    return ParsedArticle(guid=f"{feed}-{number}", link=f"https://example.org/{feed}/{number}", title=title,
                         content=body, published=1_700_000_000 + rng.randrange(365 * 86400))


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    rng = random.Random(16)
    store = Store.open(tmp_path_factory.mktemp("scale"))
    urls = [f"https://feeds.example.org/{n}.xml" for n in range(FEEDS)]
    ids = store.ensure_feeds(urls)
    for r in range(ROUNDS):  # rounds, as refreshes bring them: ids do not follow dates
        for n, url in enumerate(urls):
            articles = [article(rng, n, r * PER_ROUND + i) for i in range(PER_ROUND)]
            store.save_fetch(ids[url], FetchResult("ok", url), ParsedFeed(title=f"Báo số {n}", articles=articles))
    with store.transaction() as conn:
        conn.execute("UPDATE articles SET read = 1 WHERE id % 3 = 0")
        conn.execute("UPDATE articles SET starred = 1 WHERE id % 11 = 0")
    search.catch_up(store.conn)
    yield store
    store.close()


def exhaustive(store: Store, query: str) -> list[int]:
    """Every match of words alone, in search()'s documented order, from one full ranking
    (for a lone phrase, a rank of -1 for its matches in titles, 0 for the others)."""
    parsed = search.parse_query(query)
    compiled = search._compile(store.conn, parsed, None, None)
    assert compiled is not None and compiled.match is not None and not compiled.where
    scores = dict(store.conn.execute(
        f"SELECT rowid, {search._SCORE} FROM {search.FTS_TABLE} WHERE {search.FTS_TABLE} MATCH ?", (compiled.match,)))
    if search._lone_phrase(parsed):
        titled = {i for (i,) in store.conn.execute(
            f"SELECT rowid FROM {search.FTS_TABLE} WHERE {search.FTS_TABLE} MATCH ?", (f"title : {compiled.match}",))}
        scores = {i: -1.0 if i in titled else 0.0 for i in scores}
    times = dict(store.conn.execute("SELECT id, sort_time FROM articles"))
    newest_stored = sorted(scores, reverse=True)
    order: list[int] = []
    for start in range(0, len(newest_stored), search.BLOCK):
        block = newest_stored[start:start + search.BLOCK]
        order += sorted(block, key=lambda i: (scores[i], -times[i], -i))
    return order


def page(store: Store, query: str, offset: int, limit: int) -> list[int]:
    return [hit.article_id for hit in search.search(store.conn, query, offset=offset, limit=limit)]


@pytest.mark.parametrize("query", ["tin tuc", "tuc", "gia vang", "dang -gia", '"tin tuc"', "trung*"])
def test_a_word_in_nearly_every_article_gives_the_exhaustive_pages(big: Store, query: str) -> None:
    order = exhaustive(big, query)
    total = big.conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    if query == "tin tuc":
        assert len(order) > 0.85 * total > 2 * search.BLOCK  # the case early termination is for
    for offset, limit in [(0, 100), (0, 50), (search.BLOCK - 30, 100), (2 * search.BLOCK, 500)]:
        assert page(big, query, offset, limit) == order[offset:offset + limit], (offset, limit)


def test_blocks_go_newest_stored_first_and_are_ranked_inside(big: Store) -> None:
    hits = search.search(big.conn, "tin tuc", limit=search.BLOCK + 50)
    first, second = hits[:search.BLOCK], hits[search.BLOCK:]
    assert second and min(h.article_id for h in first) > max(h.article_id for h in second)
    assert [h.rank for h in first] == sorted(h.rank for h in first)
    assert [h.article_id for h in first] != sorted((h.article_id for h in first), reverse=True)


def newest_stored(store: Store, query: str) -> list[int]:
    """Every match of words with filters, newest stored first: the filters applied to all
    the word matches, as SQL over every article."""
    compiled = search._compile(store.conn, search.parse_query(query), None, 0)
    assert compiled is not None and compiled.match is not None and compiled.where
    sql = (f"SELECT a.id FROM articles a WHERE {' AND '.join(compiled.where)} AND a.id IN"
           f" (SELECT rowid FROM {search.FTS_TABLE} WHERE {search.FTS_TABLE} MATCH ?) ORDER BY a.id DESC")
    return [int(r[0]) for r in store.conn.execute(sql, [*compiled.params, compiled.match])]


@pytest.mark.parametrize("query", ["is:unread tin tuc", "is:starred tuc", "feed:3 tuc", "is:read -feed:2 dang",
                                   "after:2023-06-01 tin", "is:unread feed:1 gia vang"])
@pytest.mark.parametrize("walk", ["matches", "filters"])
def test_words_with_filters_list_the_newest_stored_matches(big: Store, monkeypatch: pytest.MonkeyPatch,
                                                             query: str, walk: str) -> None:
    # either walk, forced: the answer does not depend on the one the estimate picks
    monkeypatch.setattr(search, "_ROW_COST", 0 if walk == "matches" else 10**9)
    order = newest_stored(big, query)
    assert order
    for offset, limit in [(0, 100), (40, 20), (0, 5000)]:
        hits = search.search(big.conn, query, offset=offset, limit=limit, now=0)
        assert [h.article_id for h in hits] == order[offset:offset + limit]
        assert all(h.rank == 0.0 for h in hits)


def test_filters_alone_list_newest_first_by_date(big: Store) -> None:
    for query, where in [("is:unread", "read = 0"), ("is:starred", "starred = 1"), ("feed:4", "feed_id = 5")]:
        expected = [int(r[0]) for r in big.conn.execute(
            f"SELECT id FROM articles WHERE {where} ORDER BY sort_time DESC, id DESC LIMIT 100")]
        assert page(big, query, 0, 100) == expected


def test_the_ui_page_comes_without_snippets_and_the_same_order(big: Store) -> None:
    with_snippets = search.search(big.conn, "tin tuc", limit=200)
    bare = search.search(big.conn, "tin tuc", limit=200, snippets=False)
    assert [h.article_id for h in bare] == [h.article_id for h in with_snippets]
    assert all(h.snippet for h in with_snippets) and not any(h.snippet or h.spans for h in bare)
