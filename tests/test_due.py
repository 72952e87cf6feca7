"""Refreshing on a schedule: per-feed refresh_minutes, `docbao refresh --due` and the reader's
automatic refresh fetch only the feeds whose interval has passed (requests counted on a
loopback server); the user_agent setting; `docbao mark` for scripts."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.pilot import NEW_ITEMS, OLD_ITEMS, SIZE, fetched_ago, rss
from tests.server import LocalServer
from tui import USER_AGENT
from tui.cli.main import main
from tui.config import ConfigError, load_config
from tui.store.cache import Store


def feeds_toml(tmp_path: Path, server: LocalServer, settings: str = "") -> Path:
    """Three served feeds: hourly, every 5 minutes, and one with no interval of its own."""
    for name in ("hourly", "often", "plain"):
        server.route(f"/{name}.xml", rss(NEW_ITEMS + OLD_ITEMS), content_type="application/rss+xml")
    path = tmp_path / "feeds.toml"
    path.write_text(f'[settings]\ncache_dir = "cache"\n{settings}\n'
                    f'[[feed]]\nurl = "{server.url("/hourly.xml")}"\nrefresh_minutes = 60\n\n'
                    f'[[feed]]\nurl = "{server.url("/often.xml")}"\nrefresh_minutes = 5\n\n'
                    f'[[feed]]\nurl = "{server.url("/plain.xml")}"\n', encoding="utf-8")
    return path


def hits(server: LocalServer) -> dict[str, int]:
    return {name: len(server.hits(f"/{name}.xml")) for name in ("hourly", "often", "plain")}


def test_refresh_due_fetches_only_the_feeds_whose_interval_passed(
        tmp_path: Path, server: LocalServer, capsys: pytest.CaptureFixture[str]) -> None:
    config = feeds_toml(tmp_path, server)
    assert main(["refresh", "--due", "--config", str(config)]) == 0  # never fetched: all due
    assert hits(server) == {"hourly": 1, "often": 1, "plain": 1}
    fetched_ago(tmp_path / "cache", 10 * 60)
    assert main(["refresh", "--due", "--config", str(config)]) == 0
    assert hits(server) == {"hourly": 1, "often": 2, "plain": 2}  # no interval: due every time
    assert main(["refresh", "--due", "--config", str(config)]) == 0  # the 5-minute feed was just fetched
    assert hits(server) == {"hourly": 1, "often": 2, "plain": 3}
    assert main(["refresh", "--config", str(config)]) == 0  # without --due: every feed
    assert hits(server) == {"hourly": 2, "often": 3, "plain": 4}
    out = capsys.readouterr().out
    assert "1 feed: 0 new" in out
    config.write_text(config.read_text().replace("[settings]\n", "[settings]\nauto_refresh_minutes = 30\n"))
    assert main(["refresh", "--due", "--config", str(config)]) == 0  # every feed fetched just now
    assert capsys.readouterr().out.startswith("no feed is due")
    assert hits(server) == {"hourly": 2, "often": 3, "plain": 4}


def test_auto_refresh_minutes_is_the_interval_of_feeds_without_their_own(tmp_path: Path, server: LocalServer) -> None:
    config = feeds_toml(tmp_path, server, "auto_refresh_minutes = 30")
    assert main(["refresh", "--config", str(config), "-q"]) == 0
    fetched_ago(tmp_path / "cache", 10 * 60)
    assert main(["refresh", "--due", "--config", str(config), "-q"]) == 0
    assert hits(server) == {"hourly": 1, "often": 2, "plain": 1}
    fetched_ago(tmp_path / "cache", 25 * 60, server.url("/plain.xml"))  # 35 minutes ago now
    assert main(["refresh", "--due", "--config", str(config), "-q"]) == 0
    assert hits(server) == {"hourly": 1, "often": 2, "plain": 2}


def test_user_agent(tmp_path: Path, server: LocalServer) -> None:
    config = feeds_toml(tmp_path, server)
    assert main(["refresh", "--config", str(config), "-q", "--feed", server.url("/plain.xml")]) == 0
    config.write_text(config.read_text().replace("[settings]\n", '[settings]\nuser_agent = "my-reader/2.0"\n'))
    assert main(["refresh", "--config", str(config), "-q", "--feed", server.url("/plain.xml")]) == 0
    assert [r.headers["user-agent"] for r in server.hits("/plain.xml")] == [USER_AGENT, "my-reader/2.0"]


@pytest.mark.parametrize("text, message", [
    ('[settings]\nuser_agent = "two\\nlines"\n', "key 'user_agent' must be one line of text"),
    ('[settings]\nuser_agent = ""\n', "key 'user_agent' must be one line of text"),
    ('[[feed]]\nurl = "https://e.example/rss"\nrefresh_minutes = 0\n', "key 'refresh_minutes' must be a positive"),
    ('[[feed]]\nurl = "https://e.example/rss"\nrefresh_minutes = "60"\n', "key 'refresh_minutes' must be a positive"),
])
def test_bad_schedule_settings_are_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(path)


async def test_the_readers_automatic_refresh_fetches_only_due_feeds(tmp_path: Path, server: LocalServer) -> None:
    from tui.ui.app import DocbaoApp
    from tui.ui.screens.main import MainScreen

    config_path = feeds_toml(tmp_path, server)
    assert await asyncio.to_thread(main, ["refresh", "--config", str(config_path), "-q"]) == 0
    fetched_ago(tmp_path / "cache", 10 * 60)
    config = load_config(config_path)
    app = DocbaoApp(config, tmp_path / "cache")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        screen.refresh_due()  # what the timer does once a minute
        await app.workers.wait_for_complete()
        await pilot.pause()
        # the 5-minute feed only: the hourly one is not due, and the reader leaves a feed
        # with no interval (and auto_refresh_minutes = 0) to the keys
        assert hits(server) == {"hourly": 1, "often": 2, "plain": 1}
        screen.refresh_due()
        await app.workers.wait_for_complete()
        assert hits(server) == {"hourly": 1, "often": 2, "plain": 1}


def test_mark_from_a_script(tmp_path: Path, server: LocalServer, capsys: pytest.CaptureFixture[str]) -> None:
    config = feeds_toml(tmp_path, server)
    assert main(["refresh", "--config", str(config), "-q", "--feed", server.url("/plain.xml")]) == 0
    capsys.readouterr()
    assert main(["articles", "--json", "--config", str(config)]) == 0
    ids = [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()]
    first, second = ids[:2]

    def state() -> dict[int, tuple[bool, bool]]:
        store = Store.open(tmp_path / "cache")
        try:
            return {row.id: (row.read, row.starred) for row in store.rows(ids)}
        finally:
            store.close()

    assert main(["mark", str(first), str(second), "--read", "--config", str(config)]) == 0
    assert main(["mark", str(second), "--star", "--config", str(config)]) == 0
    assert state()[first] == (True, False) and state()[second] == (True, True)
    assert main(["mark", str(second), "--unread", "--config", str(config)]) == 0
    assert main(["mark", str(second), "--unstar", "--config", str(config)]) == 0
    assert state()[second] == (False, False)
    assert main(["articles", "--unread", "--config", str(config)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(ids) - 1

    before = state()
    assert main(["mark", str(second), "999999", "--read", "--config", str(config)]) == 1
    assert "no article has the id 999999; nothing was marked" in capsys.readouterr().err
    assert state() == before
    with pytest.raises(SystemExit) as exited:
        main(["mark", str(first), "--config", str(config)])  # no mark named
    assert exited.value.code == 2


def test_accounts_are_due_every_auto_refresh_minutes_and_never_every_look(tmp_path: Path) -> None:
    """An account's feeds have no last fetch of their own: the account's last sync is what
    counts, so the reader (looking every few seconds) does not sync it at every look."""
    from tui.feeds.refresh import Schedule

    path = tmp_path / "feeds.toml"
    path.write_text('[settings]\nauto_refresh_minutes = 10\n\n[[account]]\nname = "Home"\ntype = "greader"\n'
                    'url = "https://rss.example.org/api/greader.php"\nuser = "alice"\npassword = "x"\n\n'
                    '[[feed]]\nurl = "https://a.example/rss"\n\n'
                    '[[feed]]\nurl = "https://b.example/rss"\nrefresh_minutes = 60\n', encoding="utf-8")
    config = load_config(path)
    now = 1_700_000_000
    fetched = {"https://a.example/rss": now - 300, "https://b.example/rss": now - 300}

    def due(last_sync: int | None, **options: object) -> tuple[list[str], list[str]]:
        feeds, accounts = Schedule(fetched, {"Home": last_sync}).due(config, config.feeds, now=now, **options)
        return [f.url for f in feeds], accounts

    assert due(now - 60, slack=15, untimed=False) == ([], [])
    assert due(None, slack=15, untimed=False) == ([], ["Home"])  # never synced
    assert due(now - 600, slack=15, untimed=False) == ([], ["Home"])
    fetched["https://a.example/rss"] = now - 590
    assert due(now - 60, slack=15, untimed=False) == (["https://a.example/rss"], [])
    config.settings.auto_refresh_minutes = 0  # the reader: nothing automatic; --due: every run
    assert due(now - 60, slack=15, untimed=False) == ([], [])
    assert due(now - 60) == (["https://a.example/rss"], ["Home"])


async def test_an_automatic_refresh_toasts_only_new_failures(tmp_path: Path, server: LocalServer) -> None:
    from tui.ui.app import DocbaoApp
    from tui.ui.screens.main import MainScreen

    config_path = feeds_toml(tmp_path, server, "auto_refresh_minutes = 5")
    server.route("/hourly.xml", b"oops", status=500)  # failing since before the reader started
    assert await asyncio.to_thread(main, ["refresh", "--config", str(config_path), "-q"]) == 1
    app = DocbaoApp(load_config(config_path), tmp_path / "cache")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        fetched_ago(tmp_path / "cache", 3600)
        screen.refresh_due()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert hits(server) == {"hourly": 2, "often": 2, "plain": 2}
        assert not [n for n in app._notifications if n.title == "Feed not refreshed"]
        server.route("/often.xml", b"oops", status=500)  # a new failure
        fetched_ago(tmp_path / "cache", 3600)
        screen.refresh_due()
        await app.workers.wait_for_complete()
        await pilot.pause()
        toasts = [n.message for n in app._notifications if n.title == "Feed not refreshed"]
        assert toasts == ["Local: HTTP 500 Internal Server Error"]  # the one new failure, not the old one too


def test_the_slack_is_at_most_a_quarter_of_the_interval(tmp_path: Path) -> None:
    """`refresh --due` from a cron line running every minute keeps a 2-minute interval."""
    from tui.feeds.refresh import Schedule

    path = tmp_path / "feeds.toml"
    path.write_text('[[feed]]\nurl = "https://a.example/rss"\nrefresh_minutes = 2\n', encoding="utf-8")
    config = load_config(path)
    now = 1_700_000_000
    due = [len(Schedule({"https://a.example/rss": now - ago}, {}).due(config, config.feeds, now=now)[0])
           for ago in (58, 89, 91, 118)]
    assert due == [0, 0, 1, 1]
