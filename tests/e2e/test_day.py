"""A day with docbao, as a user spends it: the installed command in a 120x36 terminal, the
corpus's 200-odd real feeds served on 127.0.0.1, keys sent in bursts with no pause.

Every assertion is about what is on the screen (or the exit status)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.e2e.harness import (
    BBC_TITLE,
    VI_TITLE,
    CorpusSite,
    Installed,
    Reader,
    number,
    panes,
    pane_text,
    pane_title,
    rss,
    serve_corpus,
)

REFRESHED = r"refreshed \d\d:\d\d: (?P<new>[\d,  ]+) new(?:, (?P<failed>[\d,  ]+) failed)?"


def as_int(text: str | None) -> int:
    return int(re.sub(r"\D", "", text or "0") or 0)


def row_with(rows: list[str], text: str) -> str:
    return next((row for row in rows if text in row), "")


@pytest.fixture(scope="session")
def expected(installed: Installed, corpus_site: CorpusSite, tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    """What a refresh of the corpus gives, by the headless `docbao refresh` (the command the
    reader's own refresh must agree with): articles stored and feeds failed."""
    import subprocess

    from tests.e2e.harness import user_env

    home = tmp_path_factory.mktemp("reference")
    config = corpus_site.config(home / "feeds.toml")
    env = user_env(installed, home)
    run = [str(installed.docbao), "--config", str(config), "--cache", str(home / "cache")]
    subprocess.run(run + ["refresh", "--quiet"], env=env, capture_output=True, timeout=300)
    feeds = [json.loads(line) for line in subprocess.run(run + ["feeds", "--json"], env=env, capture_output=True,
                                                         text=True, check=True, timeout=60).stdout.splitlines()]
    return {"feeds": len(feeds), "articles": sum(f["articles"] for f in feeds),
            "failed": sum(1 for f in feeds if f["status"] not in ("ok", ""))}


@pytest.fixture
def slow_site(tmp_path: Path) -> CorpusSite:
    """The corpus served with 700 ms before every answer, as from a far-away network: a refresh
    of all of it takes seconds, long enough to use the reader while it runs."""
    site = serve_corpus(tmp_path / "site", latency_ms=700)
    yield site
    site.kill()


def test_first_start_on_an_empty_cache_shows_the_feeds_and_no_article(
        reader: Reader, corpus_site: CorpusSite, tmp_path: Path) -> None:
    assert len(corpus_site.feeds) >= 150
    reader.start(corpus_site.config(tmp_path / "feeds.toml"), tmp_path / "cache")
    # the empty article list, the status line and the folders (the feeds' tags, listed before
    # any fetch), in one frame
    reader.wait_for(lambda rows: "Press R to fetch the feeds." in "\n".join(rows)
                    and re.match(r"\s*0 unread · 0 articles", rows[-1]) is not None
                    and "nothing fetched yet: R fetches every feed" in rows[-1] and "atom" in "\n".join(rows)
                    and rows[-1].endswith("? keys q back Q quit"))  # the key hint, where it is most needed
    assert reader.quit() == 0


def test_a_day_refresh_read_reader_mode_search_star_add_quit_and_come_back(
        reader: Reader, slow_site: CorpusSite, expected: dict[str, int], tmp_path: Path) -> None:
    config = slow_site.config(tmp_path / "feeds.toml")
    cache = tmp_path / "cache"
    reader.start(config, cache)
    reader.wait_for("Press R to fetch the feeds.")

    # R: every feed is fetched, the status line counts them, the keys answer meanwhile
    reader.keys("R")
    total = len(slow_site.feeds)
    reader.wait_for_status(rf"refreshing \d+/{total}")
    before = pane_title(reader.screen())
    reader.keys("jjjjj")
    rows = reader.wait_for(lambda rows: pane_title(rows) != before, timeout=20)
    assert "refreshing" in rows[-1], "the cursor moved only after the refresh ended:\n" + "\n".join(rows)
    done = reader.wait_for_status(REFRESHED, timeout=120)
    assert as_int(done["new"]) == expected["articles"]
    assert as_int(done["failed"]) == expected["failed"]
    status = reader.status()
    assert re.search(rf"{number(expected['articles'])} unread · {number(expected['articles'])} articles", status), status
    reader.wait_for(lambda rows: bool(re.search(r"All\s+" + number(expected["articles"]), "\n".join(rows))))

    # read: the last feed (the Vietnamese one), n opens its first unread, n the next, space pages
    reader.keys("G")
    rows = reader.wait_for(lambda rows: pane_title(rows) == "Báo Thái Nguyên")
    reader.keys("n")
    rows = reader.wait_for(lambda rows: pane_title(rows, 2).startswith("Lãnh đạo") or VI_TITLE[:30] in "\n".join(rows))
    reader.wait_for_status(rf"{number(expected['articles'] - 1)} unread")
    reader.keys("n")
    reader.wait_for(BBC_TITLE[:30])
    reader.wait_for_status(rf"{number(expected['articles'] - 2)} unread")

    # reader mode: the article's page is fetched from the server and its text shown
    reader.keys("t")
    rows = reader.wait_for(lambda rows: "common sense gun safety laws" in pane_text(rows), timeout=60)
    reader.keys(" ")  # space pages the article: its first lines scroll away
    reader.wait_for(lambda rows: "common sense gun safety laws" not in pane_text(rows)
                    and "Mr Obama" in pane_text(rows))

    # star it, and back to the list (the article had the screen): its row shows the star
    reader.keys("s")
    reader.keys("q")
    reader.wait_for(lambda rows: "★" in row_with(rows, BBC_TITLE[:20]))

    # search without diacritics finds the Vietnamese article
    reader.keys(["/", "lanh dao trung uong", "Enter"])
    rows = reader.wait_for(lambda rows: pane_title(rows).startswith("Search"))
    rows = reader.wait_for(lambda rows: "Lãnh đạo" in pane_text(rows, 1))
    reader.keys("Escape")  # back to the view the search replaced
    reader.wait_for(lambda rows: pane_title(rows) == "Báo Thái Nguyên")

    # a: subscribe to a new feed, the URL typed in one burst with the key and Enter
    (slow_site.root / "extra").mkdir(exist_ok=True)
    (slow_site.root / "extra" / "new.xml").write_text(rss("A feed added today", [dict(
        title="Added today, read today", link=f"{slow_site.base}/extra/1.html", guid="extra-1",
        date="Sun, 06 Dec 2026 08:00:00 GMT", body="The first article of a new subscription.")]), encoding="utf-8")
    new_url = f"{slow_site.base}/extra/new.xml"
    reader.keys(["a", new_url, "Enter"])
    reader.wait_for("A feed added today", timeout=60)
    assert new_url in config.read_text(encoding="utf-8")

    # quit, come back: the reader opens where it was left
    reader.keys("G")
    reader.wait_for(lambda rows: pane_title(rows) == "A feed added today" or "Added today" in "\n".join(rows))
    assert reader.quit() == 0
    reader.start(config, cache)
    reader.wait_for(lambda rows: pane_title(rows) == "A feed added today")
    reader.keys("g")  # the top of the feed list: the Starred view counts the starred article
    reader.wait_for(lambda rows: re.search(r"Starred\s+1\b", "\n".join(rows)) is not None)
    reader.keys(["/", "Up", "Enter"])  # yesterday's search, from the search box's history
    reader.wait_for(lambda rows: pane_title(rows) == "Search: lanh dao trung uong" and "Lãnh đạo" in pane_text(rows, 1))
    assert reader.quit() == 0


def test_the_server_goes_away_mid_refresh(reader: Reader, slow_site: CorpusSite, expected: dict[str, int],
                                          tmp_path: Path) -> None:
    """Every feed gets its own error, nothing crashes, and what was stored stays readable."""
    config = slow_site.config(tmp_path / "feeds.toml")
    reader.start(config, tmp_path / "cache")
    reader.keys("R")
    reader.wait_for_status(rf"{number(expected['articles'])} unread · {number(expected['articles'])} articles",
                           timeout=120)
    reader.wait_for_status(REFRESHED, timeout=60)

    slow_site.kill()
    slow_site.start(latency_ms=3000)  # same address; every answer now takes 3 s
    reader.keys("R")
    progress = reader.wait_for_status(r"refreshing (\d+)/(\d+)")
    slow_site.kill()  # gone before the first answer
    assert progress[1] == "0"
    done = reader.wait_for_status(REFRESHED, timeout=120)
    assert as_int(done["new"]) == 0
    assert as_int(done["failed"]) == len(slow_site.feeds)
    reader.wait_for("Feeds not refreshed")  # one toast for them all

    def failed_marks(screen: list[str]) -> list[str]:
        return [row[1:panes(screen)[0][1]] for row in screen[1:-2] if row[1:4] == "   "]

    # every feed in view is marked as failed (waited for: a capture may catch a frame half drawn)
    reader.wait_for(lambda rows: bool(failed_marks(rows))
                    and all(row.lstrip().startswith("!") for row in failed_marks(rows)))
    assert re.search(rf"{number(expected['articles'])} unread · {number(expected['articles'])} articles",
                     reader.status())

    # the stored articles read as before (the list starts with the feed's error line)
    reader.keys(["G", "n"])
    rows = reader.wait_for(lambda rows: "Ngày 23/5, đồng chí Phạm Minh Chính" in pane_text(rows))
    assert VI_TITLE[:20] in pane_text(rows) or VI_TITLE[:20] in pane_title(rows, 2)
    assert reader.quit() == 0


def test_docbao_refresh_from_another_process_while_the_reader_is_open(
        new_reader, corpus_site: CorpusSite, expected: dict[str, int], tmp_path: Path) -> None:
    """A shell or cron `docbao refresh` on the cache the reader has open: both work, the
    reader shows what the other process stored, and its own next refresh finds nothing new."""
    config = corpus_site.config(tmp_path / "feeds.toml")
    cache = tmp_path / "cache"
    reader = new_reader()
    reader.start(config, cache)
    reader.wait_for_status(r"0 unread · 0 articles")
    reader.keys("j")  # the reader is in use meanwhile

    other = reader.cli("--config", str(config), "--cache", str(cache), "refresh", "--quiet")
    assert other.returncode in (0, 1), other.stderr  # 1: the corpus's broken feeds failed
    assert "locked" not in other.stdout + other.stderr
    # the open reader notices, with no key pressed
    reader.wait_for_status(rf"{number(expected['articles'])} unread · {number(expected['articles'])} articles",
                           timeout=30)
    reader.wait_for(lambda rows: bool(re.search(r"All\s+" + number(expected["articles"]), "\n".join(rows))))

    reader.keys("R")
    reader.wait_for_status(rf"{number(expected['articles'])} unread · {number(expected['articles'])} articles",
                           timeout=120)
    done = reader.wait_for_status(REFRESHED, timeout=60)
    assert as_int(done["new"]) == 0  # all of it was stored by the other process
    assert reader.quit() == 0


def test_refresh_on_start_fetches_every_feed_as_the_reader_opens(
        reader: Reader, corpus_site: CorpusSite, expected: dict[str, int], tmp_path: Path) -> None:
    config = corpus_site.config(tmp_path / "feeds.toml", settings={"refresh_on_start": True})
    reader.start(config, tmp_path / "cache")
    reader.wait_for_status(rf"{number(expected['articles'])} unread · {number(expected['articles'])} articles",
                           timeout=120)
    done = reader.wait_for_status(REFRESHED, timeout=60)
    assert as_int(done["new"]) == expected["articles"]
    assert as_int(done["failed"]) == expected["failed"]
    assert reader.quit() == 0
