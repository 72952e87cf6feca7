"""End-to-end tests: the INSTALLED `docbao` in a real terminal, as a user gets it and uses it.

The fixtures (the Reader and the helpers are in tests/e2e/harness.py)
-----------------------------------------------------------------------
`installed` (session)  docbao built as a wheel from this tree (`pip wheel --no-deps`, from a
                       clean copy so a stale build/ folder cannot hide a packaging mistake),
                       installed with its dependencies into a fresh virtual environment,
                       once per test run. `installed.docbao` is the console script.
`reader`               a `Reader` on that install, with its own empty HOME and XDG folders;
                       closed (its terminal killed) after the test.
`new_reader`           a factory for more readers in the same test (two processes on one cache).
`feed_server`          a `LocalServer` (tests/server.py) on 127.0.0.1 for synthetic feeds:
                       `synthetic_feeds(feed_server, 200)` serves 200 small RSS feeds.
`corpus_site` (session) the real feeds of ../shared/corpus served on 127.0.0.1 by
                       ../shared/bench/serve.py, plus a Vietnamese feed whose article pages are
                       served too (skips with the reason when ../shared is absent).

The Reader
----------
A `Reader` runs `docbao` in a tmux pane of a private tmux server (its own socket, killed at
the end), 120x36 unless told otherwise. tmux is a real terminal emulator: `screen()` is what
a person would see, character for character.

    reader.start(config=None, cache=None, size=(120, 36), args=(), env={"BROWSER": ...})
                                            # waits for the first frame; env adds to the user's
    reader.start(config, cache, shell=True)  # typed into an interactive bash (Ctrl+Z, fg work)
    reader.keys("nn ")                      # a str is typed literally, all at once
    reader.keys(["f", "12", "Enter"])       # a list mixes tmux key names (Enter, Escape, Space,
                                            # Up, Down, PageDown, BSpace, C-z ...) and literal
                                            # text; the whole list leaves in one burst, no pause
    reader.wait_for("refreshed")            # text on screen, or a predicate on screen();
    reader.wait_for(lambda s: ..., timeout=30)  # returns the screen, fails with it shown
    reader.wait_for_status(r"refreshed \\d\\d:\\d\\d")  # a regex on the status line (last row)
    reader.screen() -> list[str]            # the rows, right-stripped
    reader.status() -> str                  # the status line
    reader.quit() -> int                    # sends `q`, waits for the exit, returns its status
    reader.cli("refresh", "--config", ...)  # the same install, same HOME, as another process

Helpers on rows: `pane_title(rows, 1)` (the title in a pane's top border: 0 feeds,
1 articles, 2 the article, alone on the screen while it is read), `pane_text(rows, 2)` (a
pane's text with its lines joined, so a wrapped sentence is found whole), `number(n)` (a
regex for a count, however it is grouped).

A reader that dies (a traceback) fails the next `wait_for` at once, with the screen, which
then shows the traceback: the pane stays open after the process exits.

Keys are never paced: a burst reaches the program the way fast typing or a paste does. One
terminal rule applies to every program: Escape followed at once by a key reads as Alt+key, so
after an Escape wait for its effect on the screen before the next burst.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import CorpusSite, Installed, Reader, install_from_tree, serve_corpus
from tests.server import LocalServer


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: drives the installed docbao in a terminal (tests/e2e)")


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """docbao as `pip install .` gives it, in a virtual environment that never saw the tree."""
    return install_from_tree(tmp_path_factory.mktemp("install"))


def _require_tmux() -> None:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (`make test` installs it)")


@pytest.fixture
def new_reader(installed: Installed, tmp_path: Path) -> Iterator[Callable[[], Reader]]:
    _require_tmux()
    made: list[Reader] = []

    def make(home: Path | None = None) -> Reader:
        reader = Reader(installed, home or tmp_path / "home")
        made.append(reader)
        return reader

    yield make
    for reader in made:
        reader.close()


@pytest.fixture
def reader(new_reader: Callable[[], Reader]) -> Reader:
    return new_reader()


@pytest.fixture
def feed_server() -> Iterator[LocalServer]:
    with LocalServer() as srv:
        yield srv


@pytest.fixture(scope="session")
def corpus_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorpusSite]:
    site = serve_corpus(tmp_path_factory.mktemp("corpus"))
    yield site
    site.kill()
