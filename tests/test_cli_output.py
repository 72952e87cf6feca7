"""What the installed `docbao` prints for a day's worth of feeds (240, served on
127.0.0.1): the feed column of `docbao articles` and `docbao search` is cut with "…" by
terminal cells."""

from __future__ import annotations

import html
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.cells import cell_len

from tests.server import LocalServer
from tests.test_pty import docbao_command, pty_env

FEEDS = 240
# The first feeds have the names users saw cut badly; the others, names like a day's list.
NAMES = ["Báo Thái Nguyên – Tin tức", "人民日报 – 国际新闻频道首页", "Tuổi Trẻ",
         "USGS Magnitude 2.5+ Earthquakes, Past Hour", "Top stories - Google News"]
PROVINCES = ["Hà Nội", "Đà Nẵng", "Cần Thơ", "Huế", "Hải Phòng", "Đắk Lắk", "Nghệ An", "Quảng Ninh"]
NAMES += [f"Tin {PROVINCES[n % len(PROVINCES)]} số {n}" for n in range(len(NAMES), FEEDS)]


def rss(name: str, number: int) -> str:
    items = "".join(
        f"<item><guid>f{number}-{i}</guid><title>Lãnh đạo tỉnh làm việc, bản tin {i} của {html.escape(name)}</title>"
        f"<link>https://news.example/{number}/{i}</link><pubDate>Sat, 23 May 2020 1{i}:00:00 GMT</pubDate>"
        f"<description>Đảng bộ tỉnh, tin số {i}.</description></item>" for i in range(3))
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{html.escape(name)}</title>{items}</channel></rss>'


@dataclass
class Day:
    folder: Path
    config: Path
    server: LocalServer


def run(day: Day, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([docbao_command(), *args, "--config", str(day.config)], env=pty_env(day.folder),
                          cwd=day.folder, capture_output=True, text=True, timeout=120)


def first_day(folder: Path, server: LocalServer) -> Day:
    """240 feeds subscribed and fetched once, as a day's reading starts."""
    urls = [server.route(f"/{n}.xml", rss(name, n)) for n, name in enumerate(NAMES)]
    config = folder / "feeds.toml"
    config.write_text('[settings]\ncache_dir = "cache"\n\n'
                      + "".join(f'[[feed]]\nurl = "{url}"\n\n' for url in urls), encoding="utf-8")
    today = Day(folder, config, server)
    first = run(today, "refresh")
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr
    return today


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Day]:
    with LocalServer() as server:
        yield first_day(tmp_path_factory.mktemp("day"), server)


def test_the_feed_column_is_cut_with_an_ellipsis_by_cells(day: Day) -> None:
    for args in (["articles", "--limit", "1000"], ["search", "--limit", "1000", "lanh dao"]):
        done = run(day, *args)
        assert done.returncode == 0, done.stderr
        lines = [line for line in done.stdout.splitlines() if line[:7].strip().isdigit()]
        assert len(lines) == 3 * FEEDS
        columns = {line[29:].split("  Lãnh đạo")[0] for line in lines}  # after id, marks and date
        assert "Báo Thái Nguyên – Tin t…" in columns  # not "Tin tứ": another word
        assert "人民日报 – 国际新闻频道…" in columns  # 23 cells, a CJK character two of them, and "…"
        assert "Tuổi Trẻ" + " " * 16 in columns
        assert "USGS Magnitude 2.5+ Ear…" in columns
        assert {cell_len(column) for column in columns} == {24}
        # so every title starts in the same terminal column
        assert {cell_len(line.split("Lãnh đạo")[0]) for line in lines} == {29 + 24 + 2}
