"""Notifications after an automatic refresh: notify-send gets the count and the feeds as
arguments (a fake notify-send on PATH records them), only for feeds with notify, only for an
automatic refresh; without a working notify-send the installed reader writes OSC 9 to its
terminal (pty), its text cleaned of control characters."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.pilot import NEW_ITEMS, OLD_ITEMS, SIZE, fetched_ago, rss, served_cache
from tests.server import LocalServer
from tests.test_pty import docbao_command, pty_env, spawn
from tui.ui.app import DocbaoApp
from tui.ui.screens.main import MainScreen
from tui.ui.screens.notifying import terminal_sequence

pexpect = pytest.importorskip("pexpect")


def fake_notify_send(folder: Path, status: int = 0) -> Path:
    """A notify-send that appends its arguments (one JSON list a line) to a file."""
    folder.mkdir(exist_ok=True)
    out = folder / "calls"
    script = folder / "notify-send"
    script.write_text(f"#!/bin/sh\nprintf '%s\\0' \"$@\" >> '{out}'\nprintf '\\n' >> '{out}'\nexit {status}\n")
    script.chmod(0o755)
    return out


def calls(out: Path) -> list[list[str]]:
    if not out.exists():
        return []
    return [line.rstrip("\0").split("\0") for line in out.read_text().split("\n") if line]


async def run_reader(tmp_path: Path, server: LocalServer, *, notify: bool, feed_notify: bool | None = None,
                     key: str = "") -> None:
    """A cache of two stories fetched an hour ago; the feed now has two more. The automatic
    refresh looks once (or `key` is pressed instead)."""
    url = server.route("/feed.xml", rss(NEW_ITEMS + OLD_ITEMS), content_type="application/rss+xml")
    cache = served_cache(tmp_path / "cache", url)
    fetched_ago(cache.folder, 3600)
    cache.config.settings.auto_refresh_minutes = 30
    cache.config.settings.notify = notify
    cache.config.feeds[0].notify = feed_notify
    cache.config.feeds[0].title = "Local; feed [b]x[/b]"
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        if key:
            await pilot.press(key)
        else:
            screen.refresh_due()
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert len(server.hits("/feed.xml")) == 1


async def test_notify_send_gets_the_new_unread_articles(tmp_path: Path, server: LocalServer,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    out = fake_notify_send(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    await run_reader(tmp_path, server, notify=True)
    assert calls(out) == [["--app-name=docbao", "docbao: 2 new articles", "Local, feed [b]x[/b] 2"]]


@pytest.mark.parametrize("notify, feed_notify, key", [
    (False, None, ""),  # off by default
    (True, False, ""),  # on, but not for this feed
    (True, None, "R"),  # a refresh asked for with a key says nothing
])
async def test_no_notification(tmp_path: Path, server: LocalServer, monkeypatch: pytest.MonkeyPatch,
                               notify: bool, feed_notify: bool | None, key: str) -> None:
    out = fake_notify_send(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    await run_reader(tmp_path, server, notify=notify, feed_notify=feed_notify, key=key)
    assert calls(out) == []


async def test_a_feed_can_ask_for_notifications_alone(tmp_path: Path, server: LocalServer,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    out = fake_notify_send(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    await run_reader(tmp_path, server, notify=False, feed_notify=True)
    assert len(calls(out)) == 1


def test_the_terminal_sequence_cannot_be_broken_out_of() -> None:
    hostile = "Feed \x07\x1b]0;pwned\x1b\\\x9c; done \u202e" + "x" * 300
    osc9 = terminal_sequence("docbao: 1 new article", hostile, {"TERM": "xterm-256color"})
    assert osc9.startswith("\x1b]9;docbao: 1 new article: Feed , done x") and osc9.endswith("…\x07")
    assert sum(ch < " " or "\x7f" <= ch <= "\x9f" or ch == "\u202e" for ch in osc9) == 2  # ESC ] ... BEL
    assert len(osc9) < 300
    osc777 = terminal_sequence("docbao: 1 new article", "A; B", {"TERM": "foot"})
    assert osc777 == "\x1b]777;notify;docbao: 1 new article;A, B\x1b\\"
    wrapped = terminal_sequence("t", "b", {"TERM": "tmux-256color", "TMUX": "/tmp/s,1,0"})
    assert wrapped == "\x1bPtmux;\x1b\x1b]9;t: b\x07\x1b\\"


def test_the_installed_reader_writes_osc_9_when_notify_send_cannot(tmp_path: Path, server: LocalServer) -> None:
    url = server.route("/feed.xml", rss(OLD_ITEMS), content_type="application/rss+xml")
    config = tmp_path / "feeds.toml"
    config.write_text(f'[settings]\ncache_dir = "cache"\nnotify = true\n\n[[feed]]\nurl = "{url}"\n'
                      'title = "Harbour \\u001b]0;pwned\\u0007 news"\nrefresh_minutes = 1\n', encoding="utf-8")
    done = subprocess.run([docbao_command(), "--config", str(config), "refresh"], env=pty_env(tmp_path),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    fetched_ago(tmp_path / "cache", 3600)
    server.route("/feed.xml", rss(NEW_ITEMS + OLD_ITEMS), content_type="application/rss+xml")
    out = fake_notify_send(tmp_path / "bin", status=1)  # no notification daemon: it fails
    child = spawn(tmp_path, "--config", str(config), PATH=f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    try:
        child.expect(b"Harbour")
        child.expect(b"\x1b]9;docbao: 2 new articles: Harbour news 2\x07", timeout=60)
        child.send("Q")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    assert calls(out) == [["--app-name=docbao", "docbao: 2 new articles", "Harbour news 2"]]
    assert b"\x1b]0;pwned" not in child.logfile_read.getvalue()


def test_refresh_due_from_a_timer_notifies_through_notify_send_alone(tmp_path: Path, server: LocalServer) -> None:
    """What cron runs: the installed command, no terminal. It says what it brought, as the
    reader's own automatic refresh does; a refresh asked for by hand says nothing."""
    url = server.route("/feed.xml", rss(OLD_ITEMS), content_type="application/rss+xml")
    config = tmp_path / "feeds.toml"
    config.write_text(f'[settings]\ncache_dir = "cache"\nnotify = true\n\n[[feed]]\nurl = "{url}"\n'
                      'title = "Harbour \\u001b]0;pwned\\u0007 news"\nrefresh_minutes = 1\n', encoding="utf-8")
    out = fake_notify_send(tmp_path / "bin")
    env = pty_env(tmp_path, PATH=f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")

    def refresh(*flags: str) -> str:
        done = subprocess.run([docbao_command(), "--config", str(config), "refresh", *flags], env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "\x1b" not in done.stdout + done.stderr  # nothing for a terminal: there is none
        return done.stdout

    refresh()  # by hand: the first fetch, no notification
    assert calls(out) == []
    fetched_ago(tmp_path / "cache", 3600)
    server.route("/feed.xml", rss(NEW_ITEMS + OLD_ITEMS), content_type="application/rss+xml")
    refresh("--due", "-q")
    assert calls(out) == [["--app-name=docbao", "docbao: 2 new articles", "Harbour news 2"]]
    refresh("--due")  # due again only in a minute: nothing fetched, nothing said
    assert len(calls(out)) == 1
    config.write_text(config.read_text(encoding="utf-8").replace("notify = true", "notify = false"), encoding="utf-8")
    fetched_ago(tmp_path / "cache", 3600)
    server.route("/feed.xml", rss([("a9", "Ninth story", "Tue, 26 May 2020 10:00:00 GMT"), *NEW_ITEMS, *OLD_ITEMS]),
                 content_type="application/rss+xml")
    assert "1 new" in refresh("--due")
    assert len(calls(out)) == 1  # notify is off
