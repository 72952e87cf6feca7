"""The core never imports Textual: refresh and the headless verbs start fast and stay
testable without a terminal. The UI modules are the only ones allowed to."""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import tui

UI_MODULES = {"tui.ui"}  # the reader, wherever its modules sit inside it


def core_modules() -> list[str]:
    names = [m.name for m in pkgutil.walk_packages(tui.__path__, "tui.")]
    return sorted(n for n in names if not any(n == ui or n.startswith(ui + ".") for ui in UI_MODULES)
                  and n != "tui.__main__")


def test_core_modules_do_not_import_textual() -> None:
    modules = core_modules()
    assert {"tui.store.cache", "tui.feeds.refresh", "tui.cli.main", "tui.content.render"} <= set(modules)
    code = (f"import sys\nfor name in {modules!r}:\n    __import__(name)\n"
            "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


def test_headless_start_imports_nothing_heavy() -> None:
    """`docbao feeds` must not pay for the network stack, the parsers or the UI (nor for
    asyncio, the feeds layer, backups or newsboat's cache, which only some verbs use)."""
    code = ("import sys\nfrom tui.cli import main as cli\ncli.build_parser()\n"
            "heavy = ('textual', 'httpx', 'feedparser', 'fastfeedparser', 'trafilatura', 'lxml', 'asyncio')\n"
            "later = ('tui.feeds', 'tui.store.backup', 'tui.store.newsboat')\n"
            "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m.startswith(later))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


def test_downloading_does_not_load_the_article_renderer() -> None:
    """`docbao download` and the reader's download messages print sizes, not articles."""
    code = ("import sys\nimport tui.feeds.downloads\n"
            "print('tui.content.render' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# What the reader loads of docbao before its first frame: the command line, the config, the
# cache, and the reading screen with its parts and widgets. The network and parsing layer
# (tui.feeds), the article renderer, search, backups and the other screens load when first
# used; a module added to this set must be one the first frame cannot do without.
FIRST_FRAME = {
    "tui", "tui.cli", "tui.cli.main", "tui.cli.subscribe", "tui.cli.words", "tui.config", "tui.model",
    "tui.content", "tui.content.cells", "tui.content.escapes", "tui.content.readable", "tui.content.sanitize",
    "tui.content.tokens",
    "tui.store", "tui.store.cache", "tui.store.downloads", "tui.store.index",
    "tui.ui", "tui.ui.app", "tui.ui.typeahead", "tui.ui.undo", "tui.ui.views",
    "tui.ui.screens", "tui.ui.screens.base", "tui.ui.screens.commands", "tui.ui.screens.downloading",
    "tui.ui.screens.link_prompt", "tui.ui.screens.links", "tui.ui.screens.main", "tui.ui.screens.notifying",
    "tui.ui.screens.prompts", "tui.ui.screens.reading", "tui.ui.screens.refreshing", "tui.ui.screens.searching",
    "tui.ui.screens.subscribing", "tui.ui.screens.ui_state",
    "tui.ui.widgets", "tui.ui.widgets.article_list", "tui.ui.widgets.article_view", "tui.ui.widgets.feed_list",
    "tui.ui.widgets.images", "tui.ui.widgets.keys", "tui.ui.widgets.status_bar", "tui.ui.widgets.text",
    "tui.ui.widgets.virtual_list",
}
# Installed packages the first frame uses (textual-image only for the cell size, asked before
# Textual has the terminal); anything else (httpx, feedparser, lxml, trafilatura, Pillow...) waits.
FIRST_FRAME_PACKAGES = {"tui", "textual", "rich", "nh3", "platformdirs", "typing_extensions", "textual_image"}
FIRST_FRAME_IMAGE_MODULES = {"textual_image", "textual_image._terminal", "textual_image._posix"}

# Runs `docbao` as its console script does (tui.cli.main.main, arguments from the command
# line); when the entry imports the app, its first frame is made to write what is loaded
# (beyond what Python itself loaded) and whether the collector runs, then to quit.
AT_FIRST_FRAME = '''
import gc, importlib.abc, importlib.util, json, sys
at_start = set(sys.modules)
report = sys.argv.pop(1)

class FirstFrame(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "tui.ui.app":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        load = spec.loader.exec_module

        def exec_module(module):
            load(module)
            ready = module.DocbaoApp.on_ready

            def on_ready(app):
                ready(app)

                def write():  # after what the app itself does once its first frame is out
                    with open(report, "w") as out:
                        json.dump({"loaded": sorted(set(sys.modules) - at_start), "gc": gc.isenabled()}, out)
                    app.exit(0)

                app.call_after_refresh(write)

            module.DocbaoApp.on_ready = on_ready

        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, FirstFrame())
from tui.cli.main import main
sys.exit(main())
'''


def test_the_readers_first_frame_loads_only_what_it_draws(tmp_path: Path) -> None:
    """The real entry in a terminal (a pseudo-terminal, as in tmux: pictures would be drawn
    as half-blocks): at its first frame nothing the feed list does not need is loaded, so
    the start does not pay for it; and the collector, paused while the reader starts, runs
    again once the frame is out."""
    pexpect = pytest.importorskip("pexpect")
    from tests.pilot import build_ui_cache

    cache = build_ui_cache(tmp_path / "cache")
    config = tmp_path / "feeds.toml"
    config.write_text("".join(f'[[feed]]\nurl = "{feed.url}"\n\n' for feed in cache.config.feeds), encoding="utf-8")
    report = tmp_path / "report.json"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "LANG": "C.UTF-8",
           "TERM": "tmux-256color", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    child = pexpect.spawn(sys.executable, ["-c", AT_FIRST_FRAME, str(report), "--config", str(config),
                                           "--cache", str(cache.folder)],
                          env=env, cwd=str(tmp_path), dimensions=(40, 120), timeout=60)
    try:
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0 and report.exists(), child.before[-2000:]
    result = json.loads(report.read_text())
    loaded = set(result["loaded"])
    assert "tui.ui.widgets.feed_list" in loaded  # it is the reader that wrote this
    assert sorted(m for m in loaded if m.split(".")[0] == "tui" and m not in FIRST_FRAME) == []
    packages = {m.split(".")[0] for m in loaded} - set(sys.stdlib_module_names)
    assert sorted(packages - FIRST_FRAME_PACKAGES) == []
    assert sorted(m for m in loaded if m.startswith("textual_image") and m not in FIRST_FRAME_IMAGE_MODULES) == []
    assert result["gc"] is True
