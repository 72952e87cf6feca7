"""What the installed `docbao` prints for a day's worth of feeds: a refresh while offline
(240 feeds refused by a stopped server on 127.0.0.1) says so in a few lines, not 480, with
the per-feed lines under --verbose and the exit status kept; and the feed column of
`docbao articles` and `docbao search` is cut with "…" by terminal cells."""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.cells import cell_len

from tests.server import LocalServer

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
    """The installed command, as a cron job or a script runs it: output to a pipe."""
    command = shutil.which("docbao", path=str(Path(sys.executable).parent)) or shutil.which("docbao")
    if command is None:
        pytest.skip("the docbao command is not installed (pip install -e .)")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(day.folder), "LANG": "C.UTF-8", "TZ": "UTC",
           "XDG_CONFIG_HOME": str(day.folder / "config"), "XDG_CACHE_HOME": str(day.folder / "xdg-cache")}
    return subprocess.run([command, *args, "--config", str(day.config)], env=env, cwd=day.folder,
                          capture_output=True, text=True, timeout=120)


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


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Day:
    """The same, then the network gone: the server stopped, its port refusing."""
    with LocalServer() as server:
        today = first_day(tmp_path_factory.mktemp("offline"), server)
    return today


def test_feeds_failing_with_one_error_share_a_line_and_the_few_others_keep_theirs(day: Day) -> None:
    for n in (10, 11):
        day.server.route(f"/{n}.xml", b"gone away", status=404)
    for n in (20, 21, 22):
        day.server.route(f"/{n}.xml", b"oops", status=500)
    try:
        done = run(day, "refresh", "--quiet")
    finally:
        for n in (10, 11, 20, 21, 22):
            day.server.route(f"/{n}.xml", rss(NAMES[n], n))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    # two feeds with their own error: a line each, as before; three with one error: one group
    assert [line for line in lines if line.startswith("ERROR")] == [
        f"ERROR         0 new    0 updated    0 unchanged  {NAMES[10]}",
        f"ERROR         0 new    0 updated    0 unchanged  {NAMES[11]}",
        "ERROR      3 feeds: HTTP 500 Internal Server Error",
    ], lines
    assert lines[lines.index("ERROR      3 feeds: HTTP 500 Internal Server Error") + 1] == " " * 11 + " · ".join(NAMES[20:23])
    assert lines[-1].startswith("240 feeds: 0 new, 0 updated, 5 failed")


def test_a_quiet_refresh_where_nothing_failed_prints_nothing(day: Day) -> None:
    """`--quiet` is for cron, which mails whatever a job prints."""
    for args in (["refresh", "--quiet"], ["refresh", "--quiet", "--due"], ["refresh", "-q", "--feed", NAMES[3]]):
        done = run(day, *args)
        assert (done.returncode, done.stdout, done.stderr) == (0, "", ""), args
    done = run(day, "refresh")
    assert done.stdout.splitlines()[-1].startswith("240 feeds: 0 new, 0 updated, 0 failed in ")


def test_offline_the_refresh_says_it_once_and_names_the_feeds_compactly(offline: Day) -> None:
    for args in (["refresh"], ["refresh", "--quiet"]):
        done = run(offline, *args)
        assert done.returncode == 1  # for cron: the failure is in the exit status too
        lines = done.stdout.splitlines()
        assert lines[0] == "ERROR      240 feeds: connection refused", lines[:5]
        assert lines[-1].startswith("240 feeds: 0 new, 0 updated, 240 failed in ")
        names = lines[1:-1]
        assert 1 <= len(names) <= 3 and all(line.startswith(" " * 11) for line in names)
        assert all(cell_len(line) <= 80 for line in names), names
        listed = " · ".join(line.strip() for line in names)
        assert listed.startswith(" · ".join(NAMES[:3]))
        shown, _, more = listed.rpartition(" · and ")
        assert more.endswith(" more (--verbose names each)")
        assert len(shown.split(" · ")) + int(more.split()[0]) == FEEDS
    # every feed on a line of its own, the error under it, when asked for
    verbose = run(offline, "refresh", "--verbose")
    assert verbose.returncode == 1
    lines = verbose.stdout.splitlines()
    assert len(lines) == 2 * FEEDS + 1
    assert lines[:2] == [f"ERROR         0 new    0 updated    0 unchanged  {NAMES[0]}", " " * 11 + "connection refused"]


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


def test_docbao_read_prints_each_link_whole_on_a_line_of_its_own(tmp_path: Path) -> None:
    """Piped (80 columns), the article's link, its media lines and the link list keep
    every URL on one line, however long: folded, each would be two broken links."""
    long = "https://news.example/2017/06/" + "a-very-long-slug-of-an-article-" * 4 + "1.html"
    image = "http://static1.squarespace.com/static/513abd71e4b0fe58c655c105/t/52c45a37e4b0a77a5034aa84/1388599863990/x.png"
    with LocalServer() as server:
        server.route("/long.xml", f'<?xml version="1.0"?><rss version="2.0"><channel><title>Long</title><item>'
                     f'<guid>1</guid><title>Long links</title><link>{long}</link>'
                     f'<enclosure url="{image}" type="image/png" length="1000"/>'
                     f'<description>{html.escape(f"<p>Read <a href={chr(34)}{long}?ref=feed{chr(34)}>it</a>.</p>")}'
                     f'</description></item></channel></rss>', content_type="application/rss+xml")
        config = tmp_path / "feeds.toml"
        config.write_text(f'[settings]\ncache_dir = "cache"\n\n[[feed]]\nurl = "{server.url("/long.xml")}"\n',
                          encoding="utf-8")
        day = Day(tmp_path, config, server)
        assert run(day, "refresh", "--quiet").returncode == 0
    listed = run(day, "articles").stdout
    article_id = next(line.split()[0] for line in listed.splitlines() if "Long links" in line)
    lines = run(day, "read", article_id).stdout.splitlines()
    assert long in lines
    assert f"Image · 1000 B · {image}" in lines
    assert f"[1] {long}?ref=feed" in lines
