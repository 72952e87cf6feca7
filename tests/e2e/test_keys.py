"""Keys typed the way people type them, in the installed reader: whole commands in one burst,
no pause between the keys. Each burst must do what the same keys typed slowly do. A text-mode
browser gets the terminal and gives it back; Ctrl+Z and `fg` work as in any terminal program."""

from __future__ import annotations

import json
import re
import shlex
import sqlite3
import stat
from pathlib import Path

from tests.e2e.harness import (
    SHELL_PROMPT,
    Reader,
    number,
    pane_text,
    pane_title,
    rss,
    synthetic_feeds,
    write_config,
)
from tests.pilot import LONG_FEED, long_feed_cache
from tests.server import LocalServer
from tui.model import FetchResult, ParsedArticle, ParsedFeed
from tui.store.cache import Store


def links_feed(server: LocalServer) -> str:
    """One feed, one article with twelve numbered links."""
    body = "".join(f'<p>Link <a href="{server.url(f"/target/{n}")}">number {n}</a>.</p>' for n in range(1, 13))
    item = dict(title="Twelve links", link=server.url("/twelve.html"), guid="twelve-1",
                date="Mon, 01 Jan 2024 08:00:00 GMT", body=body.replace("<", "&lt;").replace(">", "&gt;"))
    return server.route("/links.xml", rss("Links daily", [item]), content_type="application/rss+xml")


def test_f_12_enter_in_one_burst_opens_link_12(reader: Reader, feed_server: LocalServer, tmp_path: Path) -> None:
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser"
    browser.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> {opened}\n', encoding="utf-8")
    browser.chmod(browser.stat().st_mode | stat.S_IXUSR)
    config = write_config(tmp_path / "feeds.toml", [links_feed(feed_server)])
    reader.start(config, tmp_path / "cache", env={"BROWSER": str(browser)})
    reader.keys("R")
    reader.wait_for_status(r"1 unread · 1 article")
    reader.wait_for_status(r"refreshed \d\d:\d\d")  # the refresh has ended (its last merge redraws the lists)
    reader.keys(["G", "l", "l"])  # the feed, its list, its article: typed fast
    reader.wait_for(lambda rows: "Twelve links" in pane_title(rows, 2) or "number 12" in pane_text(rows))
    reader.keys(["f", "12", "Enter"])
    reader.wait_for(lambda rows: opened.exists() and opened.read_text().strip() != "", timeout=30)
    assert opened.read_text().split() == [feed_server.url("/target/12")]
    assert reader.quit() == 0


def test_ctrl_z_suspends_and_fg_comes_back_as_it_was(reader: Reader, feed_server: LocalServer,
                                                     tmp_path: Path) -> None:
    urls = synthetic_feeds(feed_server, 3, items=2)
    config = write_config(tmp_path / "feeds.toml", urls)
    reader.start(config, tmp_path / "cache", shell=True)
    reader.keys("R")
    reader.wait_for_status(r"6 unread · 6 articles")
    reader.keys("jjjj")  # the cursor on the second feed
    before = reader.wait_for(lambda rows: pane_title(rows) == "Synthetic feed 0002")
    reader.keys("C-z")
    rows = reader.wait_for("Stopped")
    assert SHELL_PROMPT in rows[-1] or any(row.startswith(SHELL_PROMPT) for row in rows)
    reader.keys(["fg", "Enter"])
    reader.wait_for(lambda rows: pane_title(rows) == "Synthetic feed 0002" and "6 unread" in rows[-1], timeout=15)
    assert reader.screen()[:3] == before[:3]
    assert reader.quit() == 0


FEED = "http://127.0.0.1:9/links.xml"
LINKS = [f"https://example.com/link-{n}" for n in range(1, 13)]


def cached_links(folder: Path) -> None:
    """One feed, one article with twelve numbered links (cached: no network needed)."""
    body = "".join(f'<p>Item <a href="{link}">number {n}</a>.</p>' for n, link in enumerate(LINKS, 1))
    store = Store.open(folder)
    try:
        feed_id = store.ensure_feeds([FEED])[FEED]
        store.save_fetch(feed_id, FetchResult("ok", FEED), ParsedFeed(title="Twelve links", articles=[
            ParsedArticle(guid="a", title="An article with twelve links", link="https://example.com/a",
                          published=1_590_000_000, summary=body),
            ParsedArticle(guid="b", title="An older article", link="https://example.com/b",
                          published=1_589_000_000, summary="<p>Older.</p>"),
        ]))
    finally:
        store.close()


def recording_browser(folder: Path, name: str = "browser") -> tuple[Path, Path]:
    """A text-mode browser stand-in: writes its arguments and whether stdin, stdout and
    stderr are the terminal,
    shows the link, waits for a line typed on the terminal, then exits."""
    out = folder / f"{name}-args"
    script = folder / name
    script.write_text(
        "#!/bin/sh\n"
        'if [ -t 0 ] && [ -t 1 ] && [ -t 2 ]; then on=terminal; else on=not-a-terminal; fi\n'
        f'printf "%s\\n" "$#" "$@" "$on" > {shlex.quote(str(out))}.part\n'
        f'mv {shlex.quote(str(out))}.part {shlex.quote(str(out))}\n'
        'echo "TEXT BROWSER ON $1"\n'
        "read line\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, out


def wait_file(path: Path, reader: Reader) -> list[str]:
    reader.wait_for(lambda rows: path.exists(), timeout=30)
    return path.read_text(encoding="utf-8").splitlines()


def test_l_l_f_12_enter_in_one_burst_open_link_12_in_a_text_browser(reader: Reader, tmp_path: Path) -> None:
    cached_links(tmp_path / "cache")
    browser, out = recording_browser(tmp_path)
    config = write_config(tmp_path / "feeds.toml", [FEED], settings={"browser": [str(browser), "%u"]})
    reader.start(config, tmp_path / "cache")
    reader.keys(["l", "l", "f", "12", "Enter"])  # one burst, as fast typing sends it
    reader.wait_for("TEXT BROWSER ON https://example.com/link-12")
    args = wait_file(out, reader)
    assert args == ["1", LINKS[11], "terminal"]  # the link as one argument (no shell), on the terminal
    assert "Feeds" not in reader.text()  # the reader stepped aside
    reader.keys(["Enter"])
    # the article back, redrawn whole (the screen comes back in pieces: wait for its last line too)
    rows = reader.wait_for(lambda rows: "An article with twelve links" in "\n".join(rows) and "quit" in rows[-1])
    assert "Twelve links" in rows[0] and "TEXT BROWSER" not in "\n".join(rows)
    reader.keys(["q", "j", "Enter"])  # the keys work again: back to the list, the older article
    reader.wait_for("Older.")
    assert reader.quit() == 0


def test_q_goes_back_and_quits_only_from_the_feed_list(reader: Reader, tmp_path: Path) -> None:
    cached_links(tmp_path / "cache")
    config = write_config(tmp_path / "feeds.toml", [FEED])
    reader.start(config, tmp_path / "cache")
    reader.keys(["l", "l"])
    reader.wait_for("number 12")
    reader.keys("qq")  # article -> list -> feeds, in one burst
    reader.wait_for(lambda rows: "q back" in rows[-1])
    assert reader.dead() is None
    reader.keys("llQ")  # into an article and out of the program from there
    assert reader.wait_exit() == 0



def test_quitting_during_a_mark_in_the_background_finishes_it_on_screen(reader: Reader, tmp_path: Path) -> None:
    """Q while "mark all read" is written in the background: the screen stays and says it
    is finishing (the process used to sit blank, waiting for the thread), then the program
    ends with every article marked."""
    from tui.ui.screens.reading import MARK_ON_THE_LOOP

    many = MARK_ON_THE_LOOP + 1000
    cache = tmp_path / "cache"
    long_feed_cache(cache, many)
    config = write_config(tmp_path / "feeds.toml", [LONG_FEED])
    reader.start(config, cache)
    reader.wait_for_status(rf"{number(many)} unread")
    reader.keys("A")  # All, from the feed list
    reader.wait_for(lambda rows: re.search(rf"Mark {number(many)} articles", "\n".join(rows)) is not None)
    writer = sqlite3.connect(cache / "docbao.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process writing: the mark waits at its first chunk
    try:
        reader.keys("y")
        reader.wait_for_status(rf"marking {number(many)} articles read…")
        reader.keys("Q")
        rows = reader.wait_for(lambda rows: "finishing: marking" in rows[-1])
        assert "Feeds" in rows[0] and reader.dead() is None
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert reader.wait_exit() == 0
    feeds = reader.cli("--config", str(config), "--cache", str(cache), "feeds", "--json")
    assert [json.loads(line)["unread"] for line in feeds.stdout.splitlines()] == [0], feeds.stdout


def test_escape_and_a_key_in_one_burst_are_two_keys(reader: Reader, tmp_path: Path) -> None:
    """Escape and the next key typed quickly reach the terminal as one sequence (read as Alt
    and the key); docbao binds no Alt key, so they are what was typed: Escape, then the key."""
    cached_links(tmp_path / "cache")
    config = write_config(tmp_path / "feeds.toml", [FEED])
    reader.start(config, tmp_path / "cache")
    reader.keys(["l", "l"])
    reader.wait_for("number 12")
    reader.keys(["Escape", "j", "Enter"])  # back to the list, down it, open the older article
    reader.wait_for("Older.")
    assert reader.dead() is None
    reader.keys(["/", "Escape", "Q"])  # a prompt opened and closed, then quit: one burst
    assert reader.wait_exit() == 0

def test_after_fg_a_text_browser_from_browser_env_gets_the_terminal(reader: Reader, tmp_path: Path) -> None:
    cached_links(tmp_path / "cache")
    browser, out = recording_browser(tmp_path, "w3m")  # $BROWSER names a text-mode browser
    config = write_config(tmp_path / "feeds.toml", [FEED])
    reader.start(config, tmp_path / "cache", shell=True, env={"BROWSER": str(browser)})
    reader.keys(["l", "l"])
    reader.wait_for("number 12")
    reader.keys(["C-z"])
    reader.wait_for("Stopped")
    reader.keys(["echo still-here", "Enter"])
    reader.wait_for("still-here")
    reader.keys(["fg", "Enter"])
    rows = reader.wait_for(lambda rows: "Twelve links" in rows[0] and "q back" in rows[-1])  # the article, alone
    assert "number 12" in "\n".join(rows) and "still-here" not in "\n".join(rows)  # as it was, redrawn
    reader.keys("o")  # run in the terminal, not detached
    reader.wait_for("TEXT BROWSER ON https://example.com/a")
    assert wait_file(out, reader) == ["1", "https://example.com/a", "terminal"]
    reader.keys(["Enter"])
    reader.wait_for(lambda rows: "Twelve links" in rows[0] and "number 12" in "\n".join(rows))
    assert reader.quit("Q") == 0
