"""The installed `docbao` command in a real pseudo-terminal: it starts on a small cache, draws
the feed list, quits on `q` (from the feed list) or `Q` with status 0, and never lets a hostile feed's escape sequences
(OSC 52 clipboard, OSC 0 window title, C1 CSI, bidi override) reach the terminal."""

from __future__ import annotations

import io
import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.pilot import HOSTILE_FEED, build_ui_cache
from tui.store.cache import Store

pexpect = pytest.importorskip("pexpect")

# What the hostile feed's title and bodies would make a terminal do, if written raw.
FORBIDDEN = {
    "OSC 52 (set the clipboard)": b"\x1b]52;c;SGFja2Vk",
    "OSC 0 (set the window title)": b"\x1b]0;pwned",
    "C1 CSI": "\x9b".encode(),
    "right-to-left override": "\u202e".encode(),
}


def docbao_command() -> str:
    found = shutil.which("docbao", path=str(Path(sys.executable).parent)) or shutil.which("docbao")
    if found is None:
        pytest.skip("the docbao command is not installed (pip install -e .)")
    return found


def write_config(path: Path) -> Path:
    """feeds.toml for the UI test cache, as a user would write it."""
    cache = build_ui_cache(path.parent / "cache")
    lines = []
    for feed in cache.config.feeds:
        lines.append("[[feed]]")
        lines.append(f'url = "{feed.url}"')
        if feed.title:
            lines.append(f'title = "{feed.title}"')
        if feed.tags:
            lines.append("tags = [" + ", ".join(f'"{tag}"' for tag in feed.tags) + "]")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def pty_env(home: Path, **extra: str) -> dict[str, str]:
    """A user's environment with `home` as HOME and XDG folders, and `extra` added."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "xdg-cache"),
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        **extra,
    }


def spawn(tmp_path: Path, *args: str, columns: int = 80, **extra: str):  # type: ignore[no-untyped-def]
    """The installed docbao on a pty of 24 lines, run in `tmp_path` with `extra` in its environment."""
    child = pexpect.spawn(docbao_command(), list(args), env=pty_env(tmp_path, **extra), cwd=str(tmp_path),
                          dimensions=(24, columns), timeout=30)
    child.logfile_read = io.BytesIO()
    return child


def test_docbao_starts_shows_the_feeds_and_quits_on_q(tmp_path: Path) -> None:
    config = write_config(tmp_path / "feeds.toml")
    child = spawn(tmp_path, "--config", str(config), "--cache", str(tmp_path / "cache"))
    try:
        child.expect("Báo Thái Nguyên".encode())
        child.expect(b"Plain Feed")
        child.send("q")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.logfile_read.getvalue()[-2000:]


def test_hostile_feed_sends_no_control_sequence_to_the_terminal(tmp_path: Path) -> None:
    config = write_config(tmp_path / "feeds.toml")
    child = spawn(tmp_path, "--config", str(config), "--cache", str(tmp_path / "cache"))
    try:
        child.expect(b"Plain Feed")
        child.send("j" * 9)  # down to the hostile feed (80 columns: one pane at a time)
        child.send("\r")  # its articles
        child.expect(b"closing tag first")
        child.send("\r")  # the hostile article, with the feed's full title in its header
        child.expect(b"Click me")
        child.send("Q")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    written = child.logfile_read.getvalue()
    store = Store.open(tmp_path / "cache")
    try:  # the cache holds the sequences as they came: the reader is what kept them off the screen
        assert HOSTILE_FEED in {row.title for row in store.feeds()}
    finally:
        store.close()
    for name, sequence in FORBIDDEN.items():
        assert sequence not in written, f"{name} reached the terminal"
    assert b"[bold]Evil[/] [RFC]" in written  # the title was drawn, as inert text
    assert b"]52;c;SGFja2Vk" not in written and b"]0;pwned" not in written  # and nothing of its sequences


def test_importing_a_backup_shows_its_progress_and_indexes_as_it_goes(tmp_path: Path) -> None:
    from tui.cli.main import main
    from tui.store import index

    config = write_config(tmp_path / "feeds.toml")
    backup = tmp_path / "backup.json"
    assert main(["export", "--format", "json", "--config", str(config), "--cache", str(tmp_path / "cache"),
                 "-o", str(backup)]) == 0
    (tmp_path / "b").mkdir()
    target = tmp_path / "b" / "feeds.toml"
    target.write_text("")
    child = spawn(tmp_path, "import", str(backup), "--config", str(target), "--cache", str(tmp_path / "b" / "cache"))
    try:
        child.expect(rb"importing and indexing articles: (\d+)/\1\r\n")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.logfile_read.getvalue()[-2000:]
    store = Store.open(tmp_path / "b" / "cache")
    try:
        total = store.conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        assert total > 0 and not index.needs_build(store.conn)
    finally:
        store.close()


IMPORT_WORDS = ("Lãnh đạo Trung ương làm việc với Ban Thường vụ “Tỉnh ủy” — công tác xây dựng Đảng; "
                "the government’s new measures on energy → markets, «sécurité» €5 … "
                "北京 政府 発表 правительство объявило 서울 시장").split()


def _exported_feeds(count: int) -> list[dict[str, object]]:
    """`count` feeds of 50 articles as a JSON export holds them, in Vietnamese, English,
    French, Chinese, Japanese, Russian and Korean with curly quotes, dashes and arrows,
    every tenth with a full article."""
    import random

    rng = random.Random(7)
    feeds = []
    for f in range(count):
        articles = []
        for n in range(50):
            article = {"guid": f"g{f}-{n}", "title": " ".join(rng.choices(IMPORT_WORDS, k=rng.randint(3, 9))),
                       "author": rng.choice(["Nguyễn Văn Đức", "Jane O’Neil", "", "佐藤"]),
                       "published": 1_700_000_000 + f * 1000 + n, "read": n % 3 == 0,
                       "content": "<p>" + " ".join(rng.choices(IMPORT_WORDS, k=rng.randint(20, 200))) + "</p>",
                       "summary": "<p>Tóm tắt &amp; “quoted”</p>" if n % 4 == 0 else ""}
            if n % 10 == 0:
                article["full"] = {"html": "<p>Toàn văn: chuyển đổi số</p>", "text": "Toàn văn: chuyển đổi số",
                                   "fetched": 1_700_000_500}
            articles.append(article)
        feeds.append({"url": f"https://news.example/{f}.xml", "title": f"Báo “{f}”", "title_from_feed": True,
                      "articles": articles})
    return feeds


def _index_words(store: Store) -> list[tuple[str, int, int]]:
    """The index as its words: (word, articles, occurrences), after a merge of its segments."""
    from tui.store import index

    conn = store.conn
    conn.execute(f"INSERT INTO {index.FTS_TABLE} ({index.FTS_TABLE}) VALUES ('optimize')")
    conn.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.words USING fts5vocab(main, {index.FTS_TABLE}, 'row')")
    return conn.execute("SELECT term, doc, cnt FROM words ORDER BY term").fetchall()


def test_a_big_backup_is_cleaned_in_parallel_and_indexed_as_the_triggers_would(tmp_path: Path) -> None:
    """8,000 articles in 160 feeds: the import cleans them in worker processes and writes
    their index rows as computed there. Those rows must be the ones the triggers compute,
    which they give again to take an article out: after every article is deleted, the
    index holds no word at all."""
    import json

    from tui.store import index, search

    feeds = _exported_feeds(160)
    backup = tmp_path / "backup.json"
    backup.write_text(json.dumps({"format": "docbao-export", "version": 1, "feeds": feeds}, ensure_ascii=False),
                      encoding="utf-8")
    target = tmp_path / "feeds.toml"
    target.write_text("")
    child = spawn(tmp_path, "import", str(backup), "--config", str(target), "--cache", str(tmp_path / "cache"))
    try:
        child.expect(rb"importing and indexing articles: 8000/8000\r\n", timeout=120)
        child.expect(b"8000 articles restored")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.logfile_read.getvalue()[-2000:]

    store = Store.open(tmp_path / "cache")
    try:
        conn = store.conn
        assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 8000
        assert {row.title for row in store.feeds()} == {f"Báo “{f}”" for f in range(160)}  # their own titles
        assert not index.needs_build(conn)
        for word, query in (("Lãnh", "lanh"), ("北京", "北京"), ("объявило", "объявило"), ("markets,", "markets"),
                            ("“Tỉnh", "tinh"), ("Toàn", "toan")):
            expected = sum(1 for feed in feeds for a in feed["articles"]  # (the summary is not indexed
                           if word in a["title"] + a["content"] + a.get("full", {}).get("text", ""))  # beside content)
            assert len(search.matching_ids(conn, query)) == expected > 0, query
        conn.execute("DELETE FROM feeds")  # every article out of the index, as the triggers compute it
        assert _index_words(store) == [] and index._indexed(conn) == 0
    finally:
        store.close()


def test_the_first_search_after_a_big_refresh_indexes_in_worker_processes_what_the_triggers_would(
        tmp_path: Path) -> None:
    """A refresh stores its articles unindexed; the first search indexes them, a big backlog
    (6,000 here) with worker processes computing the values. The index must be word for word
    the one the same articles get indexed one batch at a time in this process."""
    import json

    from tui.store import index

    feeds = _exported_feeds(120)
    for feed in feeds:
        for article in feed["articles"]:  # type: ignore[union-attr]
            article.pop("full", None)  # (an extract is indexed as it is stored)
    backup = tmp_path / "backup.json"
    backup.write_text(json.dumps({"format": "docbao-export", "version": 1, "feeds": feeds}, ensure_ascii=False),
                      encoding="utf-8")
    (tmp_path / "feeds.toml").write_text("")
    assert __import__("tui.cli.main").cli.main.main(
        ["import", str(backup), "--config", str(tmp_path / "feeds.toml"), "--cache", str(tmp_path / "cache")]) == 0
    store = Store.open(tmp_path / "cache")
    try:  # as a refresh leaves them: stored, not indexed
        store.conn.execute(f"INSERT INTO {index.FTS_TABLE} ({index.FTS_TABLE}) VALUES ('delete-all')")
        assert index.needs_build(store.conn)
    finally:
        store.close()
    shutil.copytree(tmp_path / "cache", tmp_path / "serial")

    child = spawn(tmp_path, "search", "lanh dao", "--config", str(tmp_path / "feeds.toml"),
                  "--cache", str(tmp_path / "cache"))
    try:
        child.expect(rb"indexing for search: 6000/6000", timeout=120)
        child.expect("Lãnh đạo".encode())
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.logfile_read.getvalue()[-2000:]

    parallel, serial = Store.open(tmp_path / "cache"), Store.open(tmp_path / "serial")
    try:
        index.build(serial.conn)
        words = _index_words(parallel)
        assert len(words) > 40 and words == _index_words(serial)
        parallel.conn.execute("DELETE FROM feeds")
        assert _index_words(parallel) == [] and index._indexed(parallel.conn) == 0
    finally:
        parallel.close()
        serial.close()


@pytest.mark.parametrize("mouse", [True, False])
def test_mouse_false_leaves_the_mouse_to_the_terminal(tmp_path: Path, mouse: bool) -> None:
    config = write_config(tmp_path / "feeds.toml")
    config.write_text(f"[settings]\nmouse = {str(mouse).lower()}\n\n" + config.read_text(encoding="utf-8"),
                      encoding="utf-8")
    child = spawn(tmp_path, "--config", str(config), "--cache", str(tmp_path / "cache"))
    try:
        child.expect(b"Plain Feed")
        child.send("Q")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    written = child.logfile_read.getvalue()
    # mouse tracking: button events (1000), any motion (1003), SGR coordinates (1006)
    asked = [mode for mode in (b"\x1b[?1000h", b"\x1b[?1003h", b"\x1b[?1006h") if mode in written]
    assert asked if mouse else not asked, asked
