"""The core never imports Textual: refresh and the headless verbs start fast and stay
testable without a terminal. The UI modules are the only ones allowed to."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

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
    """`docbao feeds` must not pay for the network stack, the parsers or the UI."""
    code = ("import sys\nfrom tui.cli import main as cli\ncli.build_parser()\n"
            "heavy = ('textual', 'httpx', 'feedparser', 'fastfeedparser', 'trafilatura', 'lxml')\n"
            "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


def test_downloading_does_not_load_the_article_renderer() -> None:
    """`docbao download` and the reader's download messages print sizes, not articles."""
    code = ("import sys\nimport tui.feeds.downloads\n"
            "print('tui.content.render' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
