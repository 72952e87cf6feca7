"""The SQLite cache: identity, merging, counters, retention, and safety under faults."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from tui.model import Enclosure, FetchResult, ParsedArticle, ParsedFeed
from tui.store.cache import DB_NAME, PAGE_SIZE, SCHEMA_VERSION, Store, StoreError

OK = FetchResult("ok", "https://a.example/feed")


def feed_of(*articles: ParsedArticle, title: str = "Feed") -> ParsedFeed:
    return ParsedFeed(title=title, link="https://a.example/", articles=list(articles))


def art(guid: str, title: str = "", published: int | None = 1_700_000_000, **extra: object) -> ParsedArticle:
    return ParsedArticle(guid=guid, title=title or f"Title {guid}", link=f"https://a.example/{guid}",
                         published=published, **extra)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(tmp_path)
    yield s
    s.close()


def test_schema_is_versioned_and_wal(store: Store) -> None:
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_new_cache_has_pages_of_16_kib_and_an_older_one_keeps_its_own(tmp_path: Path) -> None:
    """Articles of a few KB fit in a 16 KiB page; a cache made with SQLite's 4 KiB pages
    (as earlier versions made them) is read and written as it is, never rewritten."""
    fresh = Store.open(tmp_path / "new")
    assert fresh.conn.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE == 16384
    fresh.close()
    (tmp_path / "old").mkdir()
    older = sqlite3.connect(tmp_path / "old" / DB_NAME)
    older.execute("PRAGMA page_size = 4096")
    older.execute("VACUUM")  # the file now exists, with its page size
    older.close()
    store = Store.open(tmp_path / "old")
    fid = store.ensure_feeds(["https://a.example/feed"])["https://a.example/feed"]
    body = "<p>" + "Lãnh đạo thăm triển lãm. " * 200 + "</p>"  # 5 KB: more than a page of 4 KiB
    assert store.save_fetch(fid, OK, feed_of(art("1", content=body), art("2"))).new == 2
    store.close()
    store = Store.open(tmp_path / "old")
    assert store.conn.execute("PRAGMA page_size").fetchone()[0] == 4096
    assert sorted(store.article(i).content for i in store.article_ids(feed_ids=[fid])) == ["", body]
    assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store.close()


def test_refresh_twice_no_duplicates_and_state_kept(store: Store) -> None:
    fid = store.ensure_feeds(["https://a.example/feed"])["https://a.example/feed"]
    first = store.save_fetch(fid, OK, feed_of(art("1"), art("2"), art("3")))
    assert (first.new, first.updated) == (3, 0)
    ids = store.article_ids(feed_ids=[fid])
    store.set_read([ids[0]])
    store.set_starred(ids[1], True)
    again = store.save_fetch(fid, OK, feed_of(art("1"), art("2"), art("3")))
    assert (again.new, again.updated, again.unchanged) == (0, 0, 3)
    assert store.article_ids(feed_ids=[fid]) == ids
    rows = {r.id: r for r in store.rows(ids)}
    assert rows[ids[0]].read and rows[ids[1]].starred


def test_changed_article_updated_in_place_keeping_state(store: Store) -> None:
    fid = store.ensure_feeds(["u"])["u"]
    store.save_fetch(fid, OK, feed_of(art("1", "Old title")))
    (article_id,) = store.article_ids()
    store.set_read([article_id])
    store.set_starred(article_id, True)
    stats = store.save_fetch(fid, OK, feed_of(art("1", "New title", content="<p>more</p>")))
    assert (stats.new, stats.updated) == (0, 1)
    article = store.article(article_id)
    assert article is not None
    assert (article.title, article.content, article.read, article.starred) == ("New title", "<p>more</p>", True, True)


def test_an_id_that_is_a_path_keeps_its_article_wherever_the_feed_is_read_from(store: Store) -> None:
    """The parser resolves "/2024/one" against the document (as feedparser does); the cache
    knows the article by the id as written, so a feed that moves to another address (or an
    older cache, which stored it so) keeps its articles, read and starred, with no copy."""
    fid = store.ensure_feeds(["u"])["u"]
    store.save_fetch(fid, OK, feed_of(art("/2024/one"), art("/2024/two")))  # as an older docbao kept them
    one, two = store.article_ids()
    store.set_read([one])
    store.set_starred(two, True)
    for site in ("https://a.example", "https://b.example"):  # resolved here, then after a move
        resolved = [replace(art(f"/2024/{n}"), guid=f"{site}/2024/{n}", written_guid=f"/2024/{n}")
                    for n in ("one", "two")]
        stats = store.save_fetch(fid, OK, feed_of(*resolved))
        assert (stats.new, stats.updated, stats.unchanged) == (0, 0, 2)
    rows = {r.id: r for r in store.rows([one, two])}
    assert rows[one].read and rows[two].starred and store.article_ids() == [one, two]


def test_the_fingerprint_of_an_article_is_the_one_earlier_versions_stored() -> None:
    # A cache keeps each article's digest; one computed differently would make every
    # article of every feed look edited at the first refresh after an upgrade.
    from tui.store.cache import article_digest

    podcast = ParsedArticle(guid="g", link="https://example.org/a", title="Lãnh đạo", author="An",
                            published=1_700_000_000, content="<p>Xin chào</p>", image="https://example.org/i.png",
                            enclosures=[Enclosure("https://example.org/a.mp3", "audio/mpeg", 123, 60)])
    plain = ParsedArticle(guid="g", link="https://example.org/b", title="T", published=None,
                          summary="<p>s</p>", content="<p>c \ud800</p>")
    assert article_digest(podcast) == "bb395dd6c130a4179f54c402"
    assert article_digest(plain) == "813b0a178b313e6427a238ba"


def test_duplicate_guids_in_one_document_give_one_row(store: Store) -> None:
    fid = store.ensure_feeds(["u"])["u"]
    stats = store.save_fetch(fid, OK, feed_of(art("same", "first"), art("same", "second")))
    assert stats.new == 1 and store.count() == 1


def test_same_guid_in_two_feeds_is_two_articles(store: Store) -> None:
    ids = store.ensure_feeds(["u1", "u2"])
    store.save_fetch(ids["u1"], OK, feed_of(art("g")))
    store.save_fetch(ids["u2"], OK, feed_of(art("g")))
    assert store.count() == 2


def test_article_missing_from_feed_stays(store: Store) -> None:
    fid = store.ensure_feeds(["u"])["u"]
    store.save_fetch(fid, OK, feed_of(art("1"), art("2")))
    store.save_fetch(fid, OK, feed_of(art("2")))  # a truncated feed
    assert store.count(feed_ids=[fid]) == 2


def test_error_keeps_articles_and_validators(store: Store) -> None:
    fid = store.ensure_feeds(["u"])["u"]
    store.save_fetch(fid, FetchResult("ok", "u", etag='"v1"', last_modified="Mon"), feed_of(art("1")))
    store.save_fetch(fid, FetchResult("error", "u", error="HTTP 500 Internal Server Error"), None)
    row = store.feeds()[0]
    assert (row.last_status, row.last_error, row.etag, row.last_modified) == ("error", "HTTP 500 Internal Server Error", '"v1"', "Mon")
    assert store.count() == 1


def test_gone_redirect_and_retry_after_recorded(store: Store) -> None:
    fid = store.ensure_feeds(["u"])["u"]
    store.save_fetch(fid, FetchResult("ok", "u", permanent_url="https://new.example/feed"), feed_of())
    store.save_fetch(fid, FetchResult("deferred", "u", retry_after=2_000_000_000, error="HTTP 429"), None)
    row = store.feeds()[0]
    assert row.redirect_url == "https://new.example/feed" and row.retry_after == 2_000_000_000
    store.save_fetch(fid, FetchResult("gone", "u", error="HTTP 410 Gone"), None)
    assert store.feeds()[0].gone


def test_a_moved_feed_keeps_its_articles_and_state_at_its_new_address(store: Store) -> None:
    ids = store.ensure_feeds(["https://old.example/rss", "https://other.example/rss"])
    store.save_fetch(ids["https://old.example/rss"], FetchResult("ok", "https://old.example/rss",
                                                                 permanent_url="https://new.example/rss"),
                     feed_of(art("a"), art("b")))
    store.set_starred(store.article_ids()[0], True)
    assert store.move_feed("https://old.example/rss", "https://new.example/rss")
    (moved,) = [row for row in store.feeds() if row.url == "https://new.example/rss"]
    assert (moved.id, moved.total, moved.redirect_url) == (ids["https://old.example/rss"], 2, "")
    assert store.count(starred=True) == 1
    store.save_fetch(ids["https://other.example/rss"], FetchResult("ok", "https://other.example/rss"),
                     feed_of(art("c")))
    assert not store.move_feed("https://new.example/rss", "https://other.example/rss")  # both hold articles
    assert {row.url: row.total for row in store.feeds()} == {"https://new.example/rss": 2,
                                                             "https://other.example/rss": 1}


def test_several_feeds_stored_in_one_transaction_and_a_failing_one_alone(store: Store) -> None:
    ids = store.ensure_feeds(["u1", "u2"])
    saved = store.save_fetches([
        (ids["u1"], OK, feed_of(art("a"), art("b"))),
        (999, OK, feed_of(art("x"))),  # no such feed: its articles cannot be stored
        (ids["u2"], replace(OK, etag='"v2"'), feed_of(art("c"), title="Second")),
    ])
    assert isinstance(saved[1], sqlite3.IntegrityError)
    first, third = saved[0], saved[2]
    assert not isinstance(first, Exception) and not isinstance(third, Exception)
    assert (first.new, third.new) == (2, 1)
    assert sorted(first.new_ids + third.new_ids) == sorted(store.article_ids())
    assert {r.url: (r.title, r.unread, r.total, r.etag) for r in store.feeds()} == {
        "u1": ("Feed", 2, 2, ""), "u2": ("Second", 1, 1, '"v2"')}
    assert store.totals() == (3, 3) and store.count() == 3
    again = store.save_fetches([(ids["u1"], OK, feed_of(art("a"), art("b", "Edited")))])
    assert [(s.new, s.updated, s.unchanged) for s in again] == [(0, 1, 1)]  # type: ignore[union-attr]
    assert store.integrity_ok()



def test_batched_writes_commit_every_few_thousand_articles_and_a_failing_part_with_its_transaction(
        store: Store, tmp_path: Path) -> None:
    """What another process (the reader) sees of a bulk import: nothing of a transaction
    until it has its articles or the import ends; a part that fails takes its transaction's
    earlier parts with it, and what was committed before stays."""
    ids = store.ensure_feeds([f"u{n}" for n in range(5)])
    other = sqlite3.connect(tmp_path / DB_NAME)

    def seen() -> int:
        return int(other.execute("SELECT count(*) FROM articles").fetchone()[0])

    def insert(conn: sqlite3.Connection, feed: int, count: int) -> None:
        conn.executemany("INSERT INTO articles (feed_id, guid, first_seen, sort_time) VALUES (?, ?, 0, 0)",
                         [(ids[f"u{feed}"], f"g{n}") for n in range(count)])

    with pytest.raises(sqlite3.IntegrityError), store.batched(size=10) as write:
        with write(6) as conn:
            insert(conn, 0, 6)
        assert seen() == 0  # 6 of 10: not committed yet
        with write(6) as conn:
            insert(conn, 1, 6)
        assert seen() == 12  # 12 >= 10: committed
        with write(3) as conn:
            insert(conn, 2, 3)
        with write(3) as conn:
            insert(conn, 3, 3)
            insert(conn, 3, 1)  # the same guid again: the part fails
    assert seen() == 12  # feeds 2 and 3, in the failed transaction, rolled back
    with store.batched(size=10) as write:
        with write(4) as conn:
            insert(conn, 4, 4)
    assert seen() == 16  # the end commits what is left
    assert not store.conn.in_transaction
    other.close()

def test_counters_follow_every_change(store: Store) -> None:
    ids = store.ensure_feeds(["u1", "u2"])
    store.save_fetch(ids["u1"], OK, feed_of(*(art(str(i)) for i in range(5))))
    store.save_fetch(ids["u2"], OK, feed_of(art("x"), art("y")))
    assert store.totals() == (7, 7)
    some = store.article_ids(feed_ids=[ids["u1"]])[:2]
    store.set_read(some)
    store.set_read(some)  # idempotent
    assert store.totals() == (5, 7)
    store.set_read(some[:1], False)
    assert store.totals() == (6, 7)
    assert len(store.mark_all_read(feed_ids=[ids["u2"]])) == 2
    counts = {r.url: (r.unread, r.total) for r in store.feeds()}
    assert counts == {"u1": (4, 5), "u2": (0, 2)}
    assert counts["u1"][0] == store.count(feed_ids=[ids["u1"]], unread=True)


def test_inserts_are_counted_by_their_writers_and_the_counts_add_up(store: Store) -> None:
    """No trigger counts an insert (it doubled the cost of every article a refresh stores):
    a refresh and an import each add what they inserted to the feed's counters, once; the
    triggers of marks and deletes in the same transaction still add up with them."""
    from tui.store.backup import ArticleIn, RestoreCounts, restore_feed

    def counted() -> dict[int, tuple[int, int]]:
        return {row[0]: (row[1], row[2]) for row in store.conn.execute(
            "SELECT f.id, count(a.id) FILTER (WHERE a.read = 0), count(a.id) FROM feeds f"
            " LEFT JOIN articles a ON a.feed_id = f.id GROUP BY f.id")}

    def kept() -> dict[int, tuple[int, int]]:
        return {row.id: (row.unread, row.total) for row in store.feeds()}

    assert store.conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
                              " AND tbl_name = 'articles' AND sql LIKE '%AFTER INSERT%'").fetchone()[0] == 0
    ids = store.ensure_feeds(["u1", "u2"])
    store.save_fetches([(ids["u1"], OK, feed_of(*(art(str(i)) for i in range(40)))),
                        (ids["u2"], OK, feed_of(art("x"), art("y")))])
    assert kept() == counted() == {ids["u1"]: (40, 40), ids["u2"]: (2, 2)}
    store.save_fetch(ids["u1"], OK, feed_of(*(art(str(i)) for i in range(35, 45))))  # 5 old, 5 new
    assert kept() == counted() and kept()[ids["u1"]] == (45, 45)
    # an import: read and unread articles, one already cached, one twice (read the second time)
    articles = [ArticleIn(guid="i1", title="Một", read=True), ArticleIn(guid="i2", title="Hai"),
                ArticleIn(guid="x", title="Đã có", read=True), ArticleIn(guid="i3", title="Ba"),
                ArticleIn(guid="i3", title="Ba", read=True, starred=True)]
    counts = RestoreCounts()
    restore_feed(store, "u2", articles, counts, dry_run=False)
    assert (counts.inserted, counts.merged) == (3, 2)
    assert kept() == counted() and kept()[ids["u2"]] == (2, 5)  # y, i2 unread
    with store.transaction() as conn:  # deleting some, as a prune does
        conn.execute("DELETE FROM articles WHERE feed_id = ? AND guid IN ('0', '1')", (ids["u1"],))
    assert kept() == counted() and kept()[ids["u1"]] == (43, 43)


def test_marks_of_many_go_in_chunks_with_their_progress(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """mark_all_read and set_read write MARK_CHUNK articles per transaction (a refresh can
    write between two) and tell how far they are; the counts stay right."""
    from tui.store import cache

    monkeypatch.setattr(cache, "MARK_CHUNK", 4)
    fid = store.ensure_feeds(["u"])["u"]
    store.save_fetch(fid, OK, feed_of(*(art(str(i)) for i in range(10))))
    before = store.article_ids()
    seen: list[int] = []

    def progress(done: int) -> None:
        seen.append(done)
        if len(seen) == 1:  # a refresh stores an article between two chunks: nobody saw it
            store.save_fetch(fid, OK, feed_of(art("late")))

    marked = store.mark_all_read(progress=progress)
    assert sorted(marked) == sorted(before) and seen == [4, 8, 10]
    assert store.totals() == (1, 11)
    seen.clear()
    store.set_read(marked, False, progress=seen.append)
    assert seen == [4, 8, 10] and store.totals() == (11, 11)


def test_a_mark_of_many_stops_between_two_chunks_when_asked(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """`stop` ends a mark after the chunk it is writing: whole chunks marked, the others not,
    and the ids it went through returned (what an undo gives back)."""
    from tui.store import cache

    monkeypatch.setattr(cache, "MARK_CHUNK", 4)
    fid = store.ensure_feeds(["u"])["u"]
    store.save_fetch(fid, OK, feed_of(*(art(str(i)) for i in range(10))))
    seen: list[int] = []
    marked = store.mark_all_read(progress=seen.append, stop=lambda: bool(seen))
    assert len(marked) == 4 and seen == [4] and store.totals() == (6, 10)
    assert all(row.read for row in store.rows(marked))
    seen.clear()
    given_back = store.set_read(marked, False, progress=seen.append, stop=lambda: True)
    assert given_back == marked and store.totals() == (10, 10)  # four: one chunk, no stop before it
    ids = store.article_ids()
    assert list(store.set_read(ids, True, stop=lambda: True)) == ids[:4] and store.totals() == (6, 10)


def test_a_mark_of_many_and_its_undo_keep_eight_bytes_an_article(store: Store) -> None:
    """The ids a mark of every article went through stay in the undo log until the reader
    ends: 8 bytes each (8 MB at a million articles, where Python ints took 36 bytes each and
    left the reader at 177 MB after marking and undoing), and writing them back copies none."""
    import tracemalloc

    from tui.ui.undo import UndoLog

    many = 30_000
    fid = store.ensure_feeds(["u"])["u"]
    store.save_fetch(fid, OK, feed_of(*(art(str(i)) for i in range(many))))
    log = UndoLog()
    tracemalloc.start()
    try:
        log.read(store.mark_all_read(), True)
        kept, marking = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        change = log.take()
        assert change is not None
        change.undo(store)
        _, undoing = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert store.totals() == (many, many)  # every one unread again
    assert kept < 10 * many, kept  # about 8: the ids, in one array
    assert marking < 16 * many and undoing - kept < 4 * many, (marking, undoing)  # a chunk at a time


def test_ui_state_gives_way_to_another_writer(store: Store, tmp_path: Path) -> None:
    """The reader writes its state from its event loop: while another process holds the
    cache it gives up at once and says so, instead of waiting for the lock."""
    writer = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        assert store.set_state({"ui.open": "7"}, wait=False) is False
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert store.set_state({"ui.open": "7"}, wait=False) is True
    assert store.get_state("ui.open") == "7"


def test_views_order_and_filters(store: Store) -> None:
    fid = store.ensure_feeds(["u"])["u"]
    store.save_fetch(fid, OK, feed_of(art("old", published=100), art("new", published=300), art("mid", published=200)))
    newest = store.article_ids()
    assert [a.title for a in store.rows(newest)] == ["Title new", "Title mid", "Title old"]
    assert store.article_ids(oldest_first=True) == newest[::-1]
    store.set_starred(newest[1], True)
    store.set_read([newest[0]])
    assert store.article_ids(starred=True) == [newest[1]]
    assert store.article_ids(unread=True) == newest[1:]
    assert list(store.article_ids(compact=True)) == newest
    assert list(store.article_ids(order="feed", feed_order=[fid], compact=True, limit=2)) == newest[:2]


def test_a_place_in_a_view_is_read_around_an_article_in_the_views_order(store: Store) -> None:
    fids = store.ensure_feeds(["a", "b"])
    for url in ("a", "b"):  # same dates in both feeds: the id breaks the ties
        store.save_fetch(fids[url], OK, feed_of(*(art(f"{url}{n}", published=1000 + n) for n in range(20))))
    store.set_read(store.article_ids()[::3])
    for unread in (False, True):
        for order in ("newest", "oldest"):
            every = store.article_ids(unread=unread, order=order)
            for index in (0, 7, len(every) - 1):
                around = store.ids_around(every[index], 6, unread=unread, order=order)
                start = max(0, index - 3)
                assert around == every[start:start + 6]  # three before it where there are, then it and after
            one_feed = store.article_ids(feed_ids=[fids["b"]], unread=unread, order=order)
            assert store.ids_around(one_feed[5], 4, feed_ids=[fids["b"]], unread=unread, order=order) == one_feed[3:7]
    assert store.ids_around(store.article_ids()[0], 6, order="title") == []
    every, unread = store.article_ids(), store.article_ids(unread=True)
    read = next(i for i in every[6:] if i not in unread)  # not in the view: the lines around its place
    place = len([i for i in every[:every.index(read)] if i in unread])
    assert store.ids_around(read, 6, unread=True) == unread[place - 3:place + 3]


def test_enclosures_round_trip(store: Store) -> None:
    fid = store.ensure_feeds(["u"])["u"]
    store.save_fetch(fid, OK, feed_of(art("1", enclosures=[Enclosure("https://a.example/e.mp3", "audio/mpeg", 1234)])))
    article = store.article(store.article_ids()[0])
    assert article is not None and article.enclosures == [{"url": "https://a.example/e.mp3", "type": "audio/mpeg", "length": 1234}]


def test_retention_prunes_only_read_unstarred_and_never_resurrects(store: Store) -> None:
    fid = store.ensure_feeds(["u"])["u"]
    now = 1_800_000_000
    articles = [art(str(i), published=now - i * 86400) for i in range(10)]
    store.save_fetch(fid, OK, feed_of(*articles), now=now)
    ids = store.article_ids()  # newest first: "0" .. "9"
    store.set_read(ids[:8])  # 8 and 9 stay unread
    store.set_starred(ids[7], True)
    removed = store.prune(keep_articles=3, now=now)
    left = {a.title for a in store.rows(store.article_ids())}
    assert removed == 4  # 3, 4, 5, 6: read, beyond the newest 3, not starred
    assert left == {"Title 0", "Title 1", "Title 2", "Title 7", "Title 8", "Title 9"}
    stats = store.save_fetch(fid, OK, feed_of(*articles), now=now)
    assert stats.new == 0 and store.count() == 6
    assert store.prune(keep_days=1, now=now) == 1  # "2" is read and older than a day; "1" is a day old
    assert store.totals() == (2, 5)


@pytest.mark.parametrize("seed", range(6))
def test_retention_prunes_what_the_rule_says_feed_by_feed(store: Store, seed: int) -> None:
    # The rule, as one query over every article (what prune ran before it read feed by feed
    # from the indexes): read, unstarred, and older than keep_days or beyond the newest
    # keep_articles of its feed (dates tie: the larger id is the newer).
    import random

    rng = random.Random(seed)
    now = 1_800_000_000
    urls = [f"https://f{n}.example/feed" for n in range(12)]
    ids = store.ensure_feeds(urls)
    for url in urls:
        count = rng.choice([0, 1, 5, 30, 80])
        dates = [now - rng.choice([0, 1, 2, 40, 400]) * 86400 - rng.choice([0, 0, 7]) for _ in range(count)]
        store.save_fetch(ids[url], OK, feed_of(*(art(f"{url}#{i}", published=d) for i, d in enumerate(dates))), now=now)
    every = store.article_ids()
    store.set_read([i for i in every if rng.random() < 0.6])
    for article_id in every:
        if rng.random() < 0.1:
            store.set_starred(article_id, True)
    keep_articles, keep_days = rng.choice([(0, 30), (10, 0), (3, 1), (25, 100), (1, 0)])
    clauses, params = [], []
    if keep_days:
        clauses.append("a.sort_time < ?")
        params.append(now - keep_days * 86400)
    if keep_articles:
        clauses.append("(SELECT count(*) FROM articles b WHERE b.feed_id = a.feed_id AND"
                       " (b.sort_time > a.sort_time OR (b.sort_time = a.sort_time AND b.id > a.id))) >= ?")
        params.append(keep_articles)
    expected = {row[0] for row in store.conn.execute(
        f"SELECT id FROM articles a WHERE a.read = 1 AND a.starred = 0 AND ({' OR '.join(clauses)})", params)}
    assert expected  # (every seed prunes something)
    assert store.prune(keep_articles=keep_articles, keep_days=keep_days, now=now) == len(expected)
    assert set(store.article_ids()) == set(every) - expected
    pruned = {row[0] for row in store.conn.execute("SELECT guid FROM pruned")}
    assert len(pruned) == len(expected)
    assert store.prune(keep_articles=keep_articles, keep_days=keep_days, now=now) == 0


def test_ui_state(store: Store) -> None:
    store.set_state({"feed": "3", "article": "42"})
    store.set_state({"feed": "4"})
    assert (store.get_state("feed"), store.get_state("article"), store.get_state("none", "-")) == ("4", "42", "-")


def test_newer_schema_refused_untouched(tmp_path: Path) -> None:
    Store.open(tmp_path).close()
    db = tmp_path / DB_NAME
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    before = db.read_bytes()
    with pytest.raises(StoreError, match="newer docbao"):
        Store.open(tmp_path)
    assert db.read_bytes() == before


def test_corrupt_cache_moved_aside_and_fresh_one_started(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_bytes(b"this is not sqlite" * 500)
    store = Store.open(tmp_path)
    assert "moved to" in store.notice
    aside = [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert aside and aside[0].read_bytes().startswith(b"this is not sqlite")
    assert store.count() == 0 and store.integrity_ok()
    store.close()


def _writer(folder: str, feed: str, rounds: int) -> None:
    store = Store.open(Path(folder))
    fid = store.ensure_feeds([feed])[feed]
    for n in range(rounds):
        store.save_fetch(fid, FetchResult("ok", feed), feed_of(*(art(f"{n}-{i}") for i in range(20))))
        store.set_read(store.article_ids(feed_ids=[fid], limit=5))
    store.close()


def _untitled_first(folder: str) -> None:
    store = Store.open(Path(folder))
    fid = store.ensure_feeds(["u"])["u"]
    store.save_fetch(fid, OK, feed_of(replace(art("1", "x", 100), title=""), art("2", "Zalo", 200), art("3", "Ăn sáng", 300)))
    store.set_read(store.article_ids())
    store.close()


def test_an_untitled_article_stored_first_in_a_process_still_sorts_last(tmp_path: Path) -> None:
    """The title index's key function remembers its last answer (a mark asks for the same
    title twice): in a new process, whose first title is the empty one, the untitled
    article keeps its own key, last in title order, and the index stays whole."""
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=_untitled_first, args=(str(tmp_path),))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0
    store = Store.open(tmp_path)
    assert [row.title for row in store.rows(store.article_ids(order="title"))] == ["Ăn sáng", "Zalo", ""]
    assert store.integrity_ok()


ROUNDS_OF_NEW_CACHES = 25


def _open_new_caches(root: str, barrier: object, failures: object) -> None:
    for n in range(ROUNDS_OF_NEW_CACHES):
        barrier.wait()  # type: ignore[attr-defined]  # both processes open the same new cache at once
        try:
            Store.open(Path(root) / str(n)).close()
        except StoreError as exc:
            failures.put(str(exc))  # type: ignore[attr-defined]


def test_two_processes_opening_a_new_cache_at_once_both_open_it(tmp_path: Path) -> None:
    """The reader and a timer's refresh started together on a cache that does not exist yet:
    neither fails with "database is locked" (the switch to WAL mode did not wait)."""
    ctx = multiprocessing.get_context("spawn")
    barrier, failures = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_open_new_caches, args=(str(tmp_path), barrier, failures)) for _ in range(2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    assert [proc.exitcode for proc in procs] == [0, 0]
    found = []
    while not failures.empty():
        found.append(failures.get())
    assert found == []
    for n in range(ROUNDS_OF_NEW_CACHES):
        store = Store.open(tmp_path / str(n))
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal" and store.integrity_ok()
        store.close()


def test_two_processes_write_one_cache(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), f"feed-{p}", 15)) for p in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    store = Store.open(tmp_path)
    assert store.count() == 3 * 15 * 20 and store.integrity_ok()
    unread, total = store.totals()
    assert total == 900 and unread == store.count(unread=True)


KILL_SCRIPT = """
import sys, time
from pathlib import Path
from tui.model import FetchResult, ParsedArticle, ParsedFeed
from tui.store.cache import Store
store = Store.open(Path(sys.argv[1]))
fid = store.ensure_feeds(["u"])["u"]
n = 0
while True:
    store.save_fetch(fid, FetchResult("ok", "u"), ParsedFeed(articles=[
        ParsedArticle(guid=f"{n}-{i}", title="x" * 200, content="<p>" + "y" * 4000 + "</p>") for i in range(50)]))
    n += 1
    print(n, flush=True)
"""


def test_kill_during_writes_leaves_a_sound_cache(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                            cwd=tmp_path)
    committed = 0
    assert proc.stdout is not None
    for line in proc.stdout:
        committed = int(line)
        if committed >= 8:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = Store.open(tmp_path)
    assert store.integrity_ok()
    assert store.count() >= committed * 50  # every batch reported committed is there
    assert store.count() % 50 == 0  # and no batch is there in part
    unread, total = store.totals()
    assert total == store.count() == unread
    store.close()


def test_a_fetch_stores_its_articles_oldest_first_and_undated_ones_in_the_feeds_order(store: Store) -> None:
    # a feed lists its newest first; its undated items have the fetch time as their date
    ids = store.ensure_feeds(["a"])
    written = [art("new", "new", 300), art("undated 1", "undated 1", None), art("mid", "mid", 200),
               art("undated 2", "undated 2", None), art("old", "old", 100)]
    store.save_fetch(ids["a"], OK, feed_of(*written), now=1_000)
    by_id = dict(store.conn.execute("SELECT title, id FROM articles"))
    assert by_id["old"] < by_id["mid"] < by_id["new"] < by_id["undated 2"] < by_id["undated 1"]
    assert [row.title for row in store.rows(store.article_ids())] == ["undated 1", "undated 2", "new", "mid", "old"]


def test_titles_sort_in_the_order_of_the_vietnamese_alphabet_case_and_tones_aside(store: Store) -> None:
    # a ă â b c d đ e ê ... o ô ơ ... u ư: each letter of its own after its base letter, the
    # tones (à á ả ã ạ) and the marks of other languages folded away; untitled last
    written = ["Zalo ra mắt", "Đà Nẵng mưa lớn", "Ấn Độ phóng vệ tinh", "bão số 3", "Ông Tạ", "Dân số", "Danh sách",
               "ước mơ", "Ủy ban", "Éclair", "Apple", "Ăn gì", "Ơn nghĩa", "Ô nhiễm", "Ярмарка", "арбуз", "Ωmega",
               "alpha", "Δelta", "日本", ""]
    ids = store.ensure_feeds(["vn"])
    store.save_fetch(ids["vn"], OK, feed_of(*(replace(art(str(n), "x", 100 + n), title=title)
                                              for n, title in enumerate(written))))
    listed = [row.title for row in store.rows(store.article_ids(order="title"))]
    assert listed == ["alpha", "Apple", "Ăn gì", "Ấn Độ phóng vệ tinh", "bão số 3", "Danh sách", "Dân số",
                      "Đà Nẵng mưa lớn", "Éclair", "Ô nhiễm", "Ông Tạ", "Ơn nghĩa", "Ủy ban", "ước mơ", "Zalo ra mắt",
                      "Δelta", "Ωmega", "арбуз", "Ярмарка", "日本", ""]
    assert store.sort_ids(list(reversed(store.article_ids())), "title") == store.article_ids(order="title")
    key = store.order_key("title")  # the reader's bisection agrees with the index
    assert sorted(store.article_ids(), key=key) == store.article_ids(order="title")


def test_a_cache_sorted_by_code_point_is_sorted_by_letters_once_migrated(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    ids = store.ensure_feeds(["vn"])
    store.save_fetch(ids["vn"], OK, feed_of(art("1", "Đà Nẵng", 100), art("2", "Zalo", 200), art("3", "Cần Thơ", 300)))
    store.conn.executescript("DROP INDEX articles_by_title; CREATE INDEX articles_by_title ON articles"
                             " (title COLLATE NOCASE, sort_time DESC, id DESC, feed_id, read, starred);"
                             " ALTER TABLE feeds DROP COLUMN last_ok; PRAGMA user_version = 8;")
    store.close()
    said: list[str] = []
    store = Store.open(tmp_path, upgrading=lambda: said.append("upgrading"))
    assert said == ["upgrading"]  # (the commands say so: at a million articles it takes seconds)
    assert [row.title for row in store.rows(store.article_ids(order="title"))] == ["Cần Thơ", "Đà Nẵng", "Zalo"]
    assert store.integrity_ok()
    store.close()
    Store.open(tmp_path, upgrading=lambda: said.append("again")).close()
    Store.open(tmp_path / "new", upgrading=lambda: said.append("new")).close()
    assert said == ["upgrading"]


def test_titles_sort_past_their_leading_quotes_and_numbers_by_their_value(store: Store) -> None:
    written = ["Zebra", "‘Four Things’", '"En häst"', "#10: Dirty Little Secret", "#1: You're Beautiful", "Tập 10",
               "Tập 2", "Tập 1: Lãnh đạo xã", "« Đà Nẵng »", "2024 in review", "007 Bond", "…", "Apple"]
    ids = store.ensure_feeds(["t"])
    store.save_fetch(ids["t"], OK, feed_of(*(replace(art(str(n), "x", 100 + n), title=title)
                                             for n, title in enumerate(written))))
    listed = [row.title for row in store.rows(store.article_ids(order="title"))]
    assert listed == ["#1: You're Beautiful", "007 Bond", "#10: Dirty Little Secret", "2024 in review", "Apple",
                      "« Đà Nẵng »", '"En häst"', "‘Four Things’", "Tập 1: Lãnh đạo xã", "Tập 2", "Tập 10", "Zebra",
                      "…"]
    key = store.order_key("title")
    assert sorted(store.article_ids(), key=key) == store.article_ids(order="title")


def test_a_cache_at_schema_9_has_its_title_index_computed_again(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    ids = store.ensure_feeds(["t"])
    store.save_fetch(ids["t"], OK, feed_of(art("1", "Tập 10", 100), art("2", "‘Bão’", 200), art("3", "Tập 2", 300)))
    store.close()
    conn = sqlite3.connect(tmp_path / "docbao.db")  # the index as schema 9 computed it
    conn.create_function("docbao_title_key", 1, lambda title: (title or "\U0010ffff").lower(), deterministic=True)
    conn.executescript("REINDEX articles_by_title; PRAGMA user_version = 9;")
    conn.close()
    said: list[str] = []
    store = Store.open(tmp_path, upgrading=lambda: said.append("upgrading"))
    assert said == ["upgrading"]
    assert [row.title for row in store.rows(store.article_ids(order="title"))] == ["‘Bão’", "Tập 2", "Tập 10"]
    assert store.integrity_ok()
    store.close()


def test_lists_sort_by_date_title_or_feed_with_filters_and_from_indexes(store: Store) -> None:
    ids = store.ensure_feeds(["a", "b"])
    store.save_fetch(ids["a"], OK, feed_of(art("1", "banana", 100), art("2", "Apple", 300), art("3", "cherry", 200)))
    store.save_fetch(ids["b"], OK, feed_of(art("4", "apricot", 400), art("5", "Blueberry", 50)))
    title = {store.rows([i])[0].title: i for i in store.article_ids()}
    assert [store.rows([i])[0].title for i in store.article_ids(order="title")] == \
        ["Apple", "apricot", "banana", "Blueberry", "cherry"]
    assert store.article_ids(order="oldest") == store.article_ids()[::-1]
    store.set_read([title["apricot"], title["cherry"]])
    assert store.article_ids(order="title", unread=True) == [title["Apple"], title["banana"], title["Blueberry"]]
    # by feed: the feeds in the order given, each newest first
    assert store.article_ids(order="feed", feed_order=[ids["b"], ids["a"]]) == \
        [title["apricot"], title["Blueberry"], title["Apple"], title["cherry"], title["banana"]]
    assert store.article_ids(order="feed", feed_order=[ids["b"], ids["a"]], feed_ids=[ids["a"]], unread=True) == \
        [title["Apple"], title["banana"]]
    some = [title["cherry"], title["Blueberry"], title["Apple"]]
    assert store.sort_ids(some, "title") == [title["Apple"], title["Blueberry"], title["cherry"]]
    assert store.sort_ids(some, "feed", [ids["b"], ids["a"]]) == [title["Blueberry"], title["Apple"], title["cherry"]]
    assert store.sort_ids(some, "oldest") == [title["Blueberry"], title["cherry"], title["Apple"]]
    # none of the list queries sorts the whole cache: each reads an index in order
    by_title = "ORDER BY docbao_title_key(a.title), a.sort_time DESC, a.id DESC"
    for sql in (f"SELECT id FROM articles a {by_title}", f"SELECT id FROM articles a WHERE read = 0 {by_title}",
                "SELECT id FROM articles a WHERE feed_id = 1 AND read = 0 ORDER BY a.sort_time DESC, a.id DESC"):
        plan = " ".join(row[3] for row in store.conn.execute("EXPLAIN QUERY PLAN " + sql))
        assert "INDEX" in plan and "TEMP B-TREE" not in plan, plan
