"""What more than one test module needs: where the test data lives, and the seed article
of reader mode. Fixtures are in conftest.py; the reader's test cache and Pilot helpers in
pilot.py (it imports Textual); the adversarial suite's tools in hostile.py. No test module
imports from another test module."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).resolve().parents[2] / "shared"
PAGES = DATA / "pages"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or a skip when that folder is not beside the checkout."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path


def body_paragraphs() -> list[str]:
    """The seed article's body paragraphs (tests/data/pages): the long lines after the
    headline and time, as reader mode must show them."""
    text = (PAGES / "article-thai-nguyen.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if len(line.strip()) > 120]


def ctrl_c_as_at_a_terminal() -> None:
    """For Popen's preexec_fn: Ctrl-C (SIGINT) acts as it does for a program started at a
    terminal. A test run started in the background of a script (`make test &`) hands its
    children SIGINT ignored, and Python then never turns it into KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
