"""The reader's own refresh in the installed command, for 1, 24, 200 and 1,000 feeds served
on 127.0.0.1: `R`, `r` on All, `r` on a folder, the automatic refresh, and the reader-mode
pages of a `full_text = true` feed fetched by the refresh. Each ends with the right counts
in the status line. (Inside the running app, the parse workers once got a terminal whose
stderr had no file descriptor, and every refresh of 24 feeds or more failed.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.harness import Reader, number, pane_text, pane_title, rss, synthetic_feeds, write_config
from tests.server import LocalServer

REFRESHED = r"refreshed \d\d:\d\d: {new} new(?!, \d+ failed)"


def refreshed(reader: Reader, new: int, total: int, unread: int | None = None, timeout: float = 120) -> None:
    """Wait for the end of a refresh that stored `new` articles, with no feed failed, and for
    the counts to read `unread` unread of `total`."""
    unread = total if unread is None else unread
    # the counts first: the words of the previous refresh's end may still be on the line
    reader.wait_for_status(rf"{number(unread)} unread · {number(total)} articles", timeout=timeout)
    reader.wait_for_status(REFRESHED.format(new=number(new)), timeout=timeout)


def add_one_article(server: LocalServer, urls: list[str], round_: int) -> None:
    """Every feed publishes one more article (the server answers the new version)."""
    for i, url in enumerate(urls, start=1):
        path = url.split(str(server.port), 1)[1]
        items = [dict(title=f"Story {j} of feed {i:04d}", link=server.url(f"/synthetic/{i:04d}/{j}.html"),
                      guid=f"synthetic-{i:04d}-{j}", date=f"Tue, {1 + j % 28:02d} Jan 2024 {j % 24:02d}:00:00 GMT",
                      body=f"Body of story {j} of feed {i:04d}.") for j in range(1, 4 + round_)]
        server.route(path, rss(f"Synthetic feed {i:04d}", items), content_type="application/rss+xml",
                     etag=f'"s{i}-r{round_}"')


@pytest.mark.parametrize("count", [1, 24, 200, 1000])
def test_R_then_r_on_all_then_r_on_a_folder(count: int, reader: Reader, feed_server: LocalServer,
                                            tmp_path: Path) -> None:
    """With 1,000 feeds, `auto_refresh_minutes = 1` too: a minute after each feed's last fetch
    (the other refreshes are done by then), the reader fetches it again by itself."""
    urls = synthetic_feeds(feed_server, count, items=3)
    settings = {"auto_refresh_minutes": 1} if count == 1000 else None
    config = write_config(tmp_path / "feeds.toml", urls, settings=settings, tags={url: "bulk" for url in urls})
    reader.start(config, tmp_path / "cache")
    reader.wait_for_status(r"0 unread · 0 articles")

    reader.keys("R")
    refreshed(reader, 3 * count, 3 * count)
    # the feed list's count too (a capture of the screen may catch a frame half drawn)
    reader.wait_for(lambda rows: bool(re.search(r"All\s+" + number(3 * count), "\n".join(rows))))

    # r with the cursor on All: every feed again, one new article in each
    add_one_article(feed_server, urls, 1)
    reader.keys(["g", "r"])
    refreshed(reader, count, 4 * count)

    # r on the folder: its feeds, once more one new article in each
    add_one_article(feed_server, urls, 2)
    reader.keys("jjj")
    reader.wait_for(lambda rows: pane_title(rows) == "bulk")
    reader.keys("r")
    refreshed(reader, count, 5 * count)

    if settings:  # no key: the timer, which fetches each feed as its minute passes (in a few rounds)
        add_one_article(feed_server, urls, 3)
        reader.wait_for_status(rf"{number(6 * count)} unread · {number(6 * count)} articles", timeout=150)
        reader.wait_for_status(REFRESHED.format(new=r"\d[\d, ]*"), timeout=150)
    assert reader.quit() == 0


def test_an_unchanged_refresh_of_300_feeds_keeps_its_connections(reader: Reader, feed_server: LocalServer,
                                                                 tmp_path: Path) -> None:
    """Every feed answers 304 to `r`: the refresh reuses its connections (at most the 64 it
    fetches at once) instead of opening one per feed, which over https is a TLS handshake
    per unchanged feed."""
    urls = synthetic_feeds(feed_server, 300, items=3)
    reader.start(write_config(tmp_path / "feeds.toml", urls), tmp_path / "cache")
    reader.wait_for_status(r"0 unread · 0 articles")
    reader.keys("R")
    refreshed(reader, 900, 900)
    before = feed_server.connections
    reader.keys(["g", "r"])
    reader.wait_for_status(REFRESHED.format(new=0), timeout=120)
    assert len(feed_server.requests) == 600
    assert [r.headers.get("if-none-match") for r in feed_server.requests[300:]].count(None) == 0
    assert feed_server.connections - before <= 64
    assert reader.quit() == 0


def test_a_refresh_prunes_read_articles_beyond_keep_articles_and_keeps_the_starred(
        reader: Reader, feed_server: LocalServer, tmp_path: Path) -> None:
    """`keep_articles = 5` with 200 feeds of 12: nothing goes while it is unread; once read,
    the next refresh keeps each feed's newest 5 and an old article starred."""
    import json

    urls = synthetic_feeds(feed_server, 200, items=12)
    config = write_config(tmp_path / "feeds.toml", urls, settings={"keep_articles": 5})
    cache = tmp_path / "cache"
    where = ["--config", str(config), "--cache", str(cache)]
    reader.start(config, cache)
    reader.wait_for_status(r"0 unread · 0 articles")
    reader.keys("R")
    refreshed(reader, 2400, 2400)  # unread: all kept

    first = [json.loads(line) for line in reader.cli(*where, "articles", "--json", "--feed", urls[0]).stdout.splitlines()]
    oldest = next(a for a in first if a["title"] == "Story 1 of feed 0001")
    assert reader.cli(*where, "mark", "--star", str(oldest["id"])).returncode == 0
    reader.keys(["g", "A"])  # All read (asked first: the view is longer than the list shows)
    reader.wait_for("Mark 2,400 articles")
    reader.keys("y")
    reader.wait_for_status(rf"0 unread · {number(2400)} articles")

    reader.keys("R")
    refreshed(reader, 0, 1001, unread=0)  # 200 × 5, and the starred one
    assert reader.quit() == 0
    left = [json.loads(line) for line in reader.cli(*where, "articles", "--json", "--feed", urls[0]).stdout.splitlines()]
    assert [a["title"] for a in left] == [f"Story {j} of feed 0001" for j in (12, 11, 10, 9, 8, 1)]
    assert reader.cli(*where, "refresh", "--quiet").returncode == 0  # the feeds still list them: they stay out
    assert len(reader.cli(*where, "articles", "--json").stdout.splitlines()) == 1001


ARTICLE_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head><body>
<nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
<article><h1>{title}</h1>
<p>{lead}</p>
<p>The harbour committee met on Tuesday morning to discuss the winter timetable of the ferries, which
has been the subject of many letters from residents of the outer islands since the autumn storms.</p>
<p>Officials said the new timetable would add two crossings on weekdays and keep the Sunday service,
and that the changes would be reviewed in the spring after a survey of passengers and crews.</p>
<p>Residents who spoke at the meeting welcomed the extra crossings but asked for earlier departures
so that children could reach the schools on the mainland before the first bell.</p>
</article><footer>Copyright the harbour gazette. All rights reserved.</footer></body></html>"""


def test_a_full_text_feed_of_8_unread_articles_gets_its_pages_with_the_refresh(
        reader: Reader, feed_server: LocalServer, tmp_path: Path) -> None:
    items = []
    for j in range(1, 9):
        page = f"/pages/{j}.html"
        lead = f"Full text of harbour story number {j}, fetched by the refresh."
        feed_server.route(page, ARTICLE_PAGE.format(title=f"Harbour story {j}", lead=lead),
                          content_type="text/html; charset=utf-8")
        items.append(dict(title=f"Harbour story {j}", link=feed_server.url(page), guid=f"harbour-{j}",
                          date=f"Mon, {j:02d} Jan 2024 08:00:00 GMT", body="A short summary."))
    url = feed_server.route("/harbour.xml", rss("Harbour gazette", items), content_type="application/rss+xml")
    config = write_config(tmp_path / "feeds.toml", [url], feed_options={url: {"full_text": True}})
    reader.start(config, tmp_path / "cache")
    reader.wait_for_status(r"0 unread · 0 articles")
    reader.keys("R")
    refreshed(reader, 8, 8)
    assert len({r.path for r in feed_server.requests if r.path.startswith("/pages/")}) == 8
    # the newest article opens on its full text, read from the cache
    reader.keys(["G", "l", "l"])  # typed fast: the last feed, its list, its first article
    reader.wait_for(lambda rows: "Harbour story 8" in pane_title(rows, 2) or "Harbour story 8" in pane_text(rows))
    reader.wait_for(lambda rows: "harbour story number 8, fetched by the refresh" in pane_text(rows))
    assert reader.quit() == 0


def test_a_big_feed_and_an_undated_one_are_listed_and_searched_newest_first(
        reader: Reader, feed_server: LocalServer, tmp_path: Path) -> None:
    """A feed of 3,000 items, newest first as feeds write them, and one without dates. A
    search with more than a thousand matches lists the newest (its blocks are the most
    recently stored, so a fetch stores its articles oldest first), and the undated feed is
    listed in its own order (its articles' ties are broken by id)."""
    items = [dict(title=f"Harbour report {j:04d}", link=feed_server.url(f"/big/{j}.html"), guid=f"big-{j}",
                  date=f"{['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'][(6 - j // 144) % 7]}, "
                       f"{30 - j // 144:02d} Dec 2024 {23 - j % 144 // 6:02d}:{59 - j % 6 * 10:02d}:00 GMT",
                  body=f"The harbour report number {j:04d}.") for j in range(3000)]
    big = feed_server.route("/big.xml", rss("Harbour", items), content_type="application/rss+xml")
    undated = feed_server.route("/undated.xml", rss("Changelog", [
        dict(title=f"Release {9 - j}", link=feed_server.url(f"/rel/{j}"), guid=f"rel-{j}", date="",
             body=f"Release {9 - j}.") for j in range(10)]).replace("<pubDate></pubDate>", ""),
        content_type="application/rss+xml")
    reader.start(write_config(tmp_path / "feeds.toml", [big, undated]), tmp_path / "cache")
    reader.keys("R")
    refreshed(reader, 3010, 3010)
    reader.keys(["j", "j", "j", "j", "Enter"])  # All, Unread, Starred, Harbour, Changelog
    rows = reader.wait_for(lambda s: pane_title(s) == "Changelog" and "Release 9" in s[1])
    assert [row.split("Release ")[1][0] for row in rows[1:11]] == list("9876543210")
    reader.keys(["/"])
    reader.keys(list("harbour report") + ["Enter"])
    rows = reader.wait_for(lambda s: "best 500 listed" in s[-1] and "Harbour report" in "\n".join(s))
    assert "Harbour report 0000" in "\n".join(rows[1:4])  # the newest, not the oldest block
    reader.keys("O")  # the same 500 by date: the newest on top
    rows = reader.wait_for(lambda s: "Sorted newest first" in s[-1] and "Harbour report 0000" in s[1])
    reader.keys(["O", "g"])  # (the cursor stays on the article it was on, now the last)
    rows = reader.wait_for(lambda s: "oldest first" in s[-1] and "Harbour report 0499" in s[1])
    assert "Harbour report 0498" in rows[2]
    assert reader.quit("Q") == 0
