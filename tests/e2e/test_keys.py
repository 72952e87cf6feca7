"""Keys typed the way people type them, in the installed reader: whole commands in one burst,
no pause between the keys. Each burst must do what the same keys typed slowly do."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.e2e.harness import SHELL_PROMPT, Reader, pane_text, pane_title, rss, synthetic_feeds, write_config
from tests.server import LocalServer


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
    reader.keys(["G", "l", "l"])  # the feed, its list, its article: typed fast
    reader.wait_for(lambda rows: "Twelve links" in pane_title(rows, 2) or "number 12" in pane_text(rows))
    reader.keys(["f", "12", "Enter"])
    reader.wait_for(lambda rows: opened.exists() and opened.read_text().strip() != "", timeout=30)
    assert opened.read_text().split() == [feed_server.url("/target/12")]
    assert reader.quit() == 0


@pytest.mark.xfail(strict=True, reason="after Ctrl+Z and fg the reader's screen stays blank until it is redrawn "
                   "for another reason: Textual 8.2.8's action_suspend_process repaints nothing on resume "
                   "(App._resume_signal only publishes app_resume_signal); issue 10")
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
