"""Commands of the user's own (pipe_command, bookmark_command): argv lists from [settings]
only; nothing a feed, a [[feed]] table, an OPML file or an import carries becomes a command;
the bookmark command's failure is said with its exit status. The pty test of the installed
command is tests/test_commands_pty.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.pilot import PLAIN, SIZE, UICache, feed_key, go_to_feed
from tui.cli.main import main
from tui.config import ConfigError, load_config
from tui.ui.app import DocbaoApp
from tui.ui.screens.commands import fill_argv


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_commands_are_argv_lists(tmp_path: Path) -> None:
    config = load_config(config_file(tmp_path, '[settings]\npipe_command = ["wc", "-w"]\n'
                                               'bookmark_command = ["buku", "-a", "%u", "--title", "%t"]\n'))
    assert config.settings.pipe_command == ["wc", "-w"]
    assert config.settings.bookmark_command == ["buku", "-a", "%u", "--title", "%t"]


@pytest.mark.parametrize("value", ['"buku -a %u"', "[]", '["buku", 3]', '[""]', "true"])
def test_a_command_that_is_not_a_list_of_strings_is_an_error(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match=r"feeds.toml:2: \[settings\] key 'bookmark_command' must be a command "
                                          r"as a list of strings \(no shell\)"):
        load_config(config_file(tmp_path, f"[settings]\nbookmark_command = {value}\n"))


def test_a_feed_table_cannot_name_a_command(tmp_path: Path) -> None:
    config = load_config(config_file(tmp_path, '[[feed]]\nurl = "https://example.com/rss"\n'
                                               'bookmark_command = ["touch", "x"]\npipe_command = ["sh"]\n'
                                               'browser = ["sh"]\n'))
    assert config.settings.bookmark_command == config.settings.pipe_command == config.settings.browser == []
    assert [w.split(": ", 1)[1] for w in config.warnings] == [
        f"[[feed]] #1 key '{key}' ignored: commands are read only from [settings]"
        for key in ("bookmark_command", "pipe_command", "browser")]


def test_imports_bring_no_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    opml = tmp_path / "evil.opml"
    opml.write_text('<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>'
                    '<outline text="Evil" type="rss" xmlUrl="https://evil.example/rss" '
                    'bookmark_command="touch pwned" pipe_command="sh" browser="sh"/></body></opml>', encoding="utf-8")
    source = config_file(tmp_path, '[[feed]]\nurl = "https://one.example/rss"\n')
    backup = tmp_path / "backup.json"
    assert main(["export", "--format", "json", "--config", str(source), "-o", str(backup)]) == 0
    document = json.loads(backup.read_text(encoding="utf-8"))
    document["settings"] = {"bookmark_command": ["touch", "pwned"], "pipe_command": ["sh"]}
    document["feeds"][0].update(bookmark_command=["touch", "pwned"], browser=["sh"])
    backup.write_text(json.dumps(document), encoding="utf-8")

    (tmp_path / "user").mkdir()
    target = config_file(tmp_path / "user", "[settings]\nconcurrency = 4\n")
    assert main(["import", str(opml), "--config", str(target)]) == 0
    assert main(["import", str(backup), "--config", str(target)]) == 0
    capsys.readouterr()
    config = load_config(target)
    assert [f.url for f in config.feeds] == ["https://evil.example/rss", "https://one.example/rss"]
    assert config.settings.bookmark_command == config.settings.pipe_command == config.settings.browser == []
    assert config.warnings == []
    text = target.read_text(encoding="utf-8")
    assert "command" not in text and "browser" not in text and "pwned" not in text


def test_placeholders_are_filled_in_one_pass() -> None:
    assert fill_argv(["notes"], "https://e.example/a", "A title") == ["notes", "https://e.example/a", "A title"]
    assert fill_argv(["b", "--url=%u", "%t", "100%%"], "https://e.example/%t", "about %u and %%") == [
        "b", "--url=https://e.example/%t", "about %u and %%", "100%"]


async def test_a_failed_bookmark_says_its_exit_status(cache: UICache, tmp_path: Path) -> None:
    tool = tmp_path / "bookmark-tool"
    tool.write_text("#!/bin/sh\necho 'first line' >&2\nprintf 'server said [b]no[/b] \\033[31m\\n' >&2\nexit 7\n")
    tool.chmod(0o755)
    cache.config.settings.bookmark_command = [str(tool), "%u"]
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, PLAIN))
        await pilot.press("enter", "B")
        await app.workers.wait_for_complete([w for w in app.workers if w.group == "bookmark"])
        await pilot.pause()
        shown = [str(n.message) for n in app._notifications]
        assert shown[-1] == "bookmark-tool ended with status 7: server said [b]no[/b]"


async def test_the_text_a_command_gets_fits_the_terminal(cache: UICache) -> None:
    """`v` and `|` get the article wrapped to the reading width, but never wider than the
    terminal: at 60 columns a pager showed lines of 100, broken mid-word."""
    from tui.ui.screens.main import MainScreen

    cache.config.settings.reading_width = 100
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=(60, 20)) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, PLAIN))
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, MainScreen)
        article = screen.article_text()
        assert article is not None and article.text.strip()
        assert max(len(line) for line in article.text.splitlines()) <= 60
