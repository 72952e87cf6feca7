"""newsboat's moving keys in the installed reader, typed in bursts over a cache of thousands
of articles: `N N N` marks a run of articles, `J`/`K` open the next and previous article,
Ctrl+N/Ctrl+P open the next and previous feed with unread articles, and Ctrl+P never opens
the command palette (whose key is `:`)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.harness import Reader, number, pane_text, pane_title, write_config
from tui.model import FetchResult, ParsedArticle, ParsedFeed
from tui.store.cache import Store

T0 = 1_700_000_000
# (name, articles, read): a feed read to the end sits between two with unread articles
FEEDS = [("Feed A", 1500, False), ("Feed B", 1200, True), ("Feed C", 2000, False), ("Feed D", 900, False)]
URLS = [f"http://127.0.0.1:9/feed-{n}.xml" for n in range(len(FEEDS))]


def newsboat_cache(folder: Path) -> int:
    """The cache as refreshes would have written it (no network needed); its unread count."""
    store = Store.open(folder)
    try:
        ids = store.ensure_feeds(URLS)
        for (name, count, read), url in zip(FEEDS, URLS):
            articles = [ParsedArticle(guid=f"{name}-{i}", link=f"https://example.com/{name}/{i}",
                                      title=f"{name} story {i:04d}", published=T0 - i * 60,
                                      summary=f"<p>The text of {name} story {i:04d}.</p>") for i in range(count)]
            store.save_fetch(ids[url], FetchResult("ok", url), ParsedFeed(title=name, articles=articles), now=T0)
            if read:
                store.set_read(store.article_ids(feed_ids=[ids[url]]))
        return store.count(unread=True)
    finally:
        store.close()


def read_flags(reader: Reader, config: Path, cache: Path, feed: str, count: int) -> list[bool]:
    """Whether each of the feed's newest `count` articles is read, as `docbao articles` says."""
    done = reader.cli("--config", str(config), "--cache", str(cache), "articles", "--feed", feed, "--limit",
                      str(count), "--json")
    assert done.returncode == 0, done.stderr
    return [json.loads(line)["read"] for line in done.stdout.splitlines()]


def reading(title: str) -> object:
    return lambda rows: f"The text of {title}." in pane_text(rows, 2)


def test_newsboat_moving_keys_typed_in_bursts(reader: Reader, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    unread = newsboat_cache(cache)
    config = write_config(tmp_path / "feeds.toml", URLS)
    reader.start(config, cache)
    reader.wait_for_status(rf"{number(unread)} unread · {number(5600)} articles")
    reader.keys(["jjjl", "NNN"])  # Feed A's list, and three articles marked as newsboat marks them
    reader.wait_for_status(rf"{number(unread - 3)} unread")
    assert read_flags(reader, config, cache, "Feed A", 5) == [True, True, True, False, False]

    reader.keys(["Enter", "JJ"])  # the cursor's article (the fourth), then two further on
    reader.wait_for(reading("Feed A story 0005"))
    reader.keys(["K"])
    reader.wait_for(reading("Feed A story 0004"))
    assert read_flags(reader, config, cache, "Feed A", 7) == [True] * 6 + [False]

    reader.keys(["C-n"])  # Feed B has nothing unread: Feed C's list
    rows = reader.wait_for(lambda rows: pane_title(rows) == "Feed C")
    assert "Feed C story 0000" in "\n".join(rows)
    reader.keys(["C-n", "C-n"])  # Feed D, then round to Feed A, on its first unread article
    reader.wait_for(lambda rows: pane_title(rows) == "Feed A")
    reader.keys(["Enter"])
    reader.wait_for(reading("Feed A story 0006"))
    reader.keys(["C-p", "j", "Enter"])  # Feed D's list (no palette in the way), its second article
    reader.wait_for(reading("Feed D story 0001"))
    assert pane_title(reader.screen(), 2) == "Feed D"
    reader.keys(["h", "C-p", "C-p"])  # back past Feed B to Feed A
    rows = reader.wait_for(lambda rows: pane_title(rows) == "Feed A")
    assert "No matches found" not in "\n".join(rows)  # (what the palette said to typed keys)
    reader.keys([":"])  # the palette has a key of its own
    reader.wait_for(lambda rows: "Next feed with unread articles" in "\n".join(rows)
                    or "Search for commands" in "\n".join(rows))
    reader.keys(["Escape"])
    reader.wait_for(lambda rows: pane_title(rows) == "Feed A")
    assert reader.quit() == 0
