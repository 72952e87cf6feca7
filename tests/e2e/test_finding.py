"""Finding a feed and hiding what is read, with the installed docbao on the corpus's feeds:
`F` goes to a feed typed without its diacritics, `H` leaves out the feeds and articles with
nothing unread, and the choice is still there the next day."""

from __future__ import annotations

import re
from pathlib import Path

from tests.e2e.harness import CorpusSite, Reader, pane_text, pane_title

VI_FEED = "Báo Thái Nguyên"


def test_find_a_feed_read_it_hide_what_is_read_and_find_it_again(
        reader: Reader, corpus_site: CorpusSite, tmp_path: Path) -> None:
    config = corpus_site.config(tmp_path / "feeds.toml")
    cache = tmp_path / "cache"
    fetched = reader.cli("--config", str(config), "--cache", str(cache), "refresh", "--quiet")
    assert fetched.returncode in (0, 1), fetched.stderr  # 1: the corpus's broken feeds failed
    reader.start(config, cache)
    reader.wait_for_status(r"[\d,]+ unread")

    reader.keys(["F", "thai ng"])  # no diacritics typed
    # one of the corpus's 240 feeds and their tags
    reader.wait_for(lambda s: f"{VI_FEED}  2 unread" in "\n".join(s) and re.search(r"\b1 of \d{3}\b", "\n".join(s)))
    reader.keys(["Enter"])
    # the pane's title and the status line's count (one capture may catch a frame half drawn)
    reader.wait_for(lambda s: pane_title(s, 1) == VI_FEED and "2 in view" in s[-1])

    reader.keys(["Enter", "A"])  # the list, then every article read
    reader.wait_for_status(r"Marked 2 articles read")
    reader.keys(["h", "g", "H"])  # back to the feeds, up to All, read ones hidden
    # (H's note stands between the counts and the view, or leaves no room for the view, until it goes)
    counts = r"([\d,]+) unread · [\d,]+ articles\s+.*?([\d,]+) in view"
    rows = reader.wait_for(lambda s: "read hidden" in s[-1] and VI_FEED not in pane_text(s, 0)
                           and re.search(counts, s[-1]))
    shown = re.search(counts, rows[-1])
    assert shown is not None and shown.group(1) == shown.group(2), rows[-1]  # All: only the unread

    reader.keys(["F", "thai", "Enter"])  # the finder still goes to a feed read to the end
    reader.wait_for(lambda s: pane_title(s, 1) == VI_FEED
                    and "No unread articles here (H shows the read ones too)." in pane_text(s, 1))
    assert reader.quit() == 0

    reader.start(config, cache)  # the next day: still hidden
    rows = reader.wait_for_status(r"read hidden") and reader.screen()
    assert pane_title(rows, 1) == VI_FEED  # back where it was: the feed under the cursor stays listed
    assert "No unread articles here" in pane_text(rows, 1)
    reader.keys("H")
    reader.wait_for(lambda s: "read hidden" not in s[-1] and VI_FEED in pane_text(s, 0))
    assert reader.quit() == 0
