from __future__ import annotations

import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.server import LocalServer

if TYPE_CHECKING:
    from tests.freshrss import FreshRSS, User
    from tests.pilot import UICache


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test may find the user's or the repository's feeds.toml (and so the network):
    each runs in an empty folder with its own XDG folders. Dates are shown in local time;
    tests (and snapshots) read them in UTC whatever the machine's zone."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.chdir(home)
    monkeypatch.delenv("DOCBAO_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer() as srv:
        yield srv


@pytest.fixture
def cache(tmp_path: Path) -> UICache:
    """The reader's fixed test cache (tests/pilot.py), in a folder of its own."""
    from tests.pilot import build_ui_cache  # imports Textual: only for the tests that ask

    return build_ui_cache(tmp_path / "cache")


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$BROWSER: a script that writes how many arguments it got, then each one."""
    out = tmp_path / "browser-args"
    script = tmp_path / "fake-browser"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$#" "$@" > "{out}.part" && mv "{out}.part" "{out}"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("BROWSER", str(script))
    return out


@pytest.fixture(scope="session")
def freshrss(tmp_path_factory: pytest.TempPathFactory) -> Iterator["FreshRSS"]:
    """A real FreshRSS on 127.0.0.1 for the session (PHP is installed when missing)."""
    from tests.freshrss import FreshRSS, Unavailable

    server = FreshRSS(tmp_path_factory.mktemp("freshrss"))
    try:
        server.start()
    except Unavailable as exc:
        pytest.skip(f"no FreshRSS sync server: {exc}")
    yield server
    server.stop()


@pytest.fixture
def freshrss_user(freshrss: "FreshRSS") -> "User":
    """A user of its own on the session's FreshRSS, with no feeds."""
    if not freshrss.base:
        freshrss.start()
    return freshrss.new_user()
