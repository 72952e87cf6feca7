"""Long views with the installed docbao: 30,000 articles in 15 feeds, views switched and
sorted in bursts of keys as fast typing sends them. Each view shows its first page at once
and reads the rest in a thread; what the user sees is always the view last chosen, and the
keys typed meanwhile act on all of it (G is its last article, not its first page's)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.e2e.harness import Reader, number, pane_text, pane_title, write_config
from tui.model import FetchResult, ParsedArticle, ParsedFeed
from tui.store.cache import Store

FEEDS = 15
ITEMS = 2000  # per feed: 30,000 articles, every view of several feeds longer than a page
T0 = 1_700_000_000
URLS = [f"http://127.0.0.1:9/feed-{n:02d}.xml" for n in range(FEEDS)]


def long_cache(folder: Path) -> dict[str, int]:
    """The cache, written by the store as refreshes would have (no network needed); one
    article in three read. Returns the counts the status line shows."""
    store = Store.open(folder)
    try:
        ids = store.ensure_feeds(URLS)
        for n, url in enumerate(URLS):
            name = f"Feed {n:02d}"
            articles = [ParsedArticle(guid=f"{n}-{i}", link=f"https://example.com/{n}/{i}",
                                      title=f"{name} story {i:04d}", published=T0 - (i * FEEDS + n) * 60,
                                      summary=f"<p>The text of {name} story {i:04d}.</p>") for i in range(ITEMS)]
            store.save_fetch(ids[url], FetchResult("ok", url), ParsedFeed(title=name, articles=articles), now=T0)
        every = store.article_ids()
        store.set_read(every[::-1][::3])  # the oldest article among them
        return {"all": len(every), "unread": store.count(unread=True)}
    finally:
        store.close()


def titles(store_folder: Path, count: int = 1, **query: object) -> list[str]:
    """The titles of the first `count` articles of a view."""
    store = Store.open(store_folder)
    try:
        return [row.title for row in store.rows(store.article_ids(limit=count, **query))]  # type: ignore[arg-type]
    finally:
        store.close()


def list_rows(rows: list[str]) -> str:
    return "\n".join(rows[1:-1])


def opened(reader: Reader, title: str) -> None:
    """Enter opened the article `title`: the reader shows its feed above its text, and back
    in the list its line is read (no ● before it)."""
    reader.wait_for(lambda s: pane_title(s, 0) == title.split(" story")[0] and "Feeds" not in s[0]
                    and f"The text of {title}." in pane_text(s, 2))
    reader.keys(["h"])
    reader.wait_for(lambda s: any(title in row and "●" not in row for row in s[1:-1]))


def test_views_and_orders_switched_in_bursts_show_the_last_chosen_whole(reader: Reader, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    counts = long_cache(cache)
    [oldest], [first_by_title], [newest_unread] = titles(cache, order="oldest"), titles(cache, order="title"), \
        titles(cache, unread=True)
    oldest_unread, next_oldest_unread = titles(cache, 2, unread=True, order="oldest")
    assert oldest != oldest_unread
    config = write_config(tmp_path / "feeds.toml", URLS)
    reader.start(config, cache)
    reader.wait_for_status(number(counts["all"]) + " in view")  # All, read in a thread at start

    # feeds: down to Unread and Starred, back up to All, down to Unread, into its list, to its end
    reader.keys(["j", "j", "k", "k", "j", "Enter", "G"])
    rows = reader.wait_for(lambda s: oldest_unread in list_rows(s))
    assert pane_title(rows, 1) == "Unread"
    reader.wait_for_status(number(counts["unread"]) + r" in view · newest first")
    reader.keys(["Enter"])  # the article under the cursor is the view's last one
    opened(reader, oldest_unread)
    reader.keys(["g"])  # the list's top (the article just read stays in the list)
    rows = reader.wait_for(lambda s: newest_unread in list_rows(s))
    assert oldest_unread not in list_rows(rows)

    # the feeds again: All, into it, and to its end in one burst
    reader.keys(["h", "k", "Enter", "G"])
    rows = reader.wait_for(lambda s: oldest in list_rows(s))
    assert pane_title(rows, 1) == "All"
    reader.wait_for_status(number(counts["all"]) + r" in view · newest first")

    # orders in a burst: oldest first, by title, by feed, newest first, and on to by title
    reader.keys(["O", "O", "O", "O", "O", "O", "g"])
    rows = reader.wait_for(lambda s: re.search(number(counts["all"]) + r" in view · by title", s[-1]))
    rows = reader.wait_for(lambda s: first_by_title in list_rows(s))
    reader.keys(["Enter"])
    opened(reader, first_by_title)
    reader.keys(["O", "O", "G"])  # by feed, then newest first; its last: the oldest article
    rows = reader.wait_for(lambda s: oldest in list_rows(s))
    reader.wait_for_status(number(counts["all"]) + r" in view · newest first")

    # read hidden, then to the end: the oldest article still unread (the oldest unread was read above)
    reader.keys(["H", "g", "G", "Enter"])
    opened(reader, next_oldest_unread)
    reader.wait_for_status(r"in view · newest first · read hidden")
    assert reader.quit("Q") == 0


WORDS = ["Ấn Độ", "Bão", "Đà Nẵng", "Ước mơ", "Xe buýt"]  # by code point: B, X, Đ, Ư, Ấ


def test_a_vietnamese_cache_of_an_older_docbao_sorts_titles_by_their_letters(reader: Reader, tmp_path: Path) -> None:
    # 5,000 articles written as by a docbao whose list by title was sorted by code point,
    # which put every title that starts with a marked letter after Z
    cache = tmp_path / "cache"
    store = Store.open(cache)
    try:
        ids = store.ensure_feeds(URLS[:5])
        for n, (url, word) in enumerate(zip(URLS, WORDS)):
            articles = [ParsedArticle(guid=f"{n}-{i}", link=f"https://example.com/{n}/{i}", title=f"{word} {i:04d}",
                                      published=T0 - (i * 5 + n) * 60) for i in range(1000)]
            store.save_fetch(ids[url], FetchResult("ok", url), ParsedFeed(title=f"Tin {n}", articles=articles), now=T0)
        store.conn.executescript("DROP INDEX articles_by_title; CREATE INDEX articles_by_title ON articles"
                                 " (title COLLATE NOCASE, sort_time DESC, id DESC, feed_id, read, starred);"
                                 " ALTER TABLE feeds DROP COLUMN last_ok; PRAGMA user_version = 8;")
    finally:
        store.close()
    reader.start(write_config(tmp_path / "feeds.toml", URLS[:5]), cache)
    reader.wait_for_status(number(5000) + " in view · newest first")
    reader.keys(["l", "O", "O", "g"])  # into All, by title, its top
    reader.wait_for_status(number(5000) + " in view · by title")
    rows = reader.wait_for(lambda s: "Ấn Độ 0000" in list_rows(s) and "Ấn Độ 0001" in list_rows(s))
    assert "Bão" not in list_rows(rows)
    reader.keys(["G"])  # the end: the last word, not a marked one
    rows = reader.wait_for(lambda s: "Xe buýt 0999" in list_rows(s))
    assert "Ước mơ" not in list_rows(rows) and "Ấn Độ" not in list_rows(rows)
    reader.keys(["g"] + ["PageDown"] * 35)  # past the 1,000 Ấn Độ, and the B's come before the Đ's
    rows = reader.wait_for(lambda s: "Bão" in list_rows(s))
    assert "Đà Nẵng" not in list_rows(rows)
    assert reader.quit("Q") == 0
