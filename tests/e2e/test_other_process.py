"""The installed reader and other docbao processes on the same cache: what a shell
`docbao refresh` or `docbao add` stores shows in the open reader, as after its own refresh.

Every assertion is about what is on the screen."""

from __future__ import annotations

import re
from pathlib import Path

from tests.e2e.harness import Reader, pane_text, pane_title, rss, synthetic_feeds, write_config
from tests.server import LocalServer


def test_a_shell_refresh_and_add_show_in_the_open_reader(reader: Reader, feed_server: LocalServer,
                                                         tmp_path: Path) -> None:
    urls = synthetic_feeds(feed_server, 150)
    config = write_config(tmp_path / "feeds.toml", urls)
    cache = tmp_path / "cache"
    where = ["--config", str(config), "--cache", str(cache)]
    reader.start(config, cache)
    rows = reader.wait_for("Press R to fetch the feeds.")
    assert "nothing fetched yet: R fetches every feed" in rows[-1]

    done = reader.cli(*where, "refresh", "--quiet")
    assert done.returncode == 0, done.stderr
    # one frame with all of it (the status line, the feed list and the article list are drawn in turn)
    rows = reader.wait_for(lambda rows: re.search(r"450 unread · 450 articles", rows[-1]) is not None
                           and re.search(r"All\s+450", "\n".join(rows)) is not None
                           and "Story 3 of feed" in "\n".join(rows), timeout=20)  # the article list shows them
    assert re.search(r"refreshed \d\d:\d\d elsewhere: 450 new", rows[-1]), rows[-1]
    assert "Press R" not in "\n".join(rows) and "press R" not in rows[-1]

    other = feed_server.route("/orchard.xml", rss("Orchard Gazette", [dict(
        title="Quince harvest begins", link=feed_server.url("/orchard/1.html"), guid="orchard-1",
        date="Tue, 02 Jan 2024 08:00:00 GMT", body="The quince harvest began today.")]),
        content_type="application/rss+xml")
    done = reader.cli(*where, "add", other)
    assert done.returncode == 0, done.stderr
    reader.wait_for(lambda rows: re.search(r"451 unread · 451 articles", rows[-1]) is not None, timeout=20)
    reader.keys("G")  # the last line of the feed list: the new feed, by its own title (and its view)
    reader.wait_for(lambda rows: re.search(r"Orchard Gazette\s+1\b", "\n".join(rows)) is not None)

    reader.keys("/")
    reader.wait_for("Search the articles")
    reader.keys(["quince", "Enter"])
    rows = reader.wait_for(lambda rows: pane_title(rows) == "Search: quince" and "Quince" in pane_text(rows, 1))
    hit = pane_text(rows, 1)
    assert re.search(r"Orchard G\S* Quince", hit), hit  # the hit names its feed (whatever the date reads)

    # `docbao remove` writes feeds.toml alone, nothing in the cache: the reader notices all the same
    done = reader.cli(*where, "remove", other, "--yes")
    assert done.returncode == 0, done.stderr
    reader.wait_for(lambda rows: re.search(r"450 unread · 450 articles", rows[-1]) is not None, timeout=20)
    reader.keys(["Escape", "/"])
    reader.wait_for("Search the articles")
    reader.keys(["quince", "Enter"])  # its articles stay in the cache, out of every list and search
    rows = reader.wait_for(lambda rows: pane_title(rows) == "Search: quince" and "Nothing matches" in pane_text(rows, 1))
    assert "Orchard Gazette" not in "\n".join(rows)
    assert reader.quit("Q") == 0
