from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server import LocalServer

DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer() as srv:
        yield srv


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or a skip when that folder is not beside the checkout."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path
