"""Imports at a real size, through the installed command in a pseudo-terminal: a JSON backup
of 30,000 articles (about 90 MB of JSON) and a newsboat cache of as many, each into an empty
cache with their read and starred state, indexed for search as they are written, the
progress shown, in memory that does not grow with what is imported (a backup of a million
articles is gigabytes of JSON: it was read into memory whole, five times its size; so was
every item of newsboat's cache)."""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pexpect

from tests.e2e.harness import Installed
from tests.helpers import DATA
from tui.store import index
from tui.store.cache import Store

# The import run by a Python that then says the peak memory of its child.
PEAK = ("import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
        "print('peak', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, 'KiB'); sys.exit(code)")
WORDS = ("lãnh đạo trung ương tỉnh ủy thái nguyên đồng chí bộ chính trị hội nghị kinh tế xã hội "
         "harbour ferry timetable winter storm island residents committee letters autumn").split()


def write_backup(path: Path, feeds: int, per_feed: int) -> None:
    """A backup as `docbao export` writes it, bodies of about 3 KB; every third article read,
    every hundredth starred, every tenth with its full article (reader mode); the last
    article of all holds a word of its own, and its full article another."""
    rng = random.Random(7)
    with path.open("w", encoding="utf-8") as out:
        out.write('{"format": "docbao-export", "version": 1, "exported": "2026-01-01T00:00:00+00:00",\n'
                  ' "searches": [], "feeds": [')
        for f in range(feeds):
            out.write(("," if f else "") + f'\n  {{"url": "http://127.0.0.1:9/backup/{f}.xml", "title": "Feed {f}",'
                      ' "tags": [], "articles": [')
            for a in range(per_feed):
                n = f * per_feed + a
                words = " ".join(rng.choice(WORDS) for _ in range(420))
                if f == feeds - 1 and a == per_feed - 1:
                    words += " quincunx"
                article = {"guid": f"g{n}", "link": f"https://example.org/{n}", "title": f"Bài {n}",
                           "author": "", "published": 1_700_000_000 - n, "updated": None, "summary": "",
                           "content": f"<p>{words}</p>", "enclosures": [], "read": n % 3 == 0,
                           "starred": n % 100 == 0, "first_seen": 1_700_000_000, "image": ""}
                if n % 10 == 9:
                    full = f"The full article {n}" + (" with a palimpsest" if article["content"].endswith(" quincunx</p>")
                                                      else "")
                    article["full"] = {"html": f"<p>{full}.</p>", "text": f"{full}.", "fetched": 1_700_000_500}
                out.write(("," if a else "") + "\n   " + json.dumps(article, ensure_ascii=False))
            out.write("]}")
        out.write("\n ]\n}\n")


def import_in_a_pty(installed: Installed, home: Path, *verb: str, config: str = "") -> int:
    """`docbao VERB...` (an import) into an empty cache in `home`, with `config` as its
    feeds.toml; its peak memory in KiB."""
    (home / "feeds.toml").write_text(config, encoding="utf-8")
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_CACHE_HOME": str(home / ".cache"), "TERM": "xterm-256color"}
    child = pexpect.spawn(str(installed.bin / "python"), ["-c", PEAK, str(installed.docbao), *verb,
                                                          "--config", str(home / "feeds.toml"), "--cache",
                                                          str(home / "cache")],
                          env=env, cwd=str(home), dimensions=(24, 100), timeout=600)
    try:
        child.expect(rb"importing and indexing articles: (\d+)/\1\r\n")
        child.expect(rb"peak (\d+) KiB")
        peak = int(child.match.group(1))
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    return peak


def test_a_backup_of_30000_articles_restores_in_memory_that_does_not_grow_with_it(
        installed: Installed, tmp_path: Path) -> None:
    small, big = tmp_path / "small", tmp_path / "big"
    small.mkdir()
    big.mkdir()
    write_backup(small / "backup.json", 1, 10)
    write_backup(big / "backup.json", 30, 1000)
    size = (big / "backup.json").stat().st_size
    assert size > 80_000_000

    baseline = import_in_a_pty(installed, small, "import", str(small / "backup.json"))
    peak = import_in_a_pty(installed, big, "import", str(big / "backup.json"))
    # less than the backup's own size (KiB): read whole, it took five times that
    assert peak - baseline < size // 1024, (peak, baseline, size)

    with sqlite3.connect(big / "cache" / "docbao.db") as conn:
        assert conn.execute("SELECT count(*), sum(read), sum(starred) FROM articles").fetchone() == (30000, 10000, 300)
    store = Store.open(big / "cache")
    try:
        assert not index.needs_build(store.conn)  # indexed as written: nothing left for the first search
    finally:
        store.close()
    found = subprocess.run([str(installed.docbao), "--config", str(big / "feeds.toml"), "--cache",
                            str(big / "cache"), "search", "quincunx"], capture_output=True, text=True,
                           env={**os.environ, "HOME": str(big)}, timeout=120)
    assert found.returncode == 0 and "Bài 29999" in found.stdout, found.stdout + found.stderr
    # the full articles came back: searched, and read offline (the example.org pages are not fetched)
    with sqlite3.connect(big / "cache" / "docbao.db") as conn:
        assert conn.execute("SELECT count(*) FROM extracts WHERE fetched IS NOT NULL").fetchone() == (3000,)
        [last] = conn.execute("SELECT id FROM articles WHERE guid = 'g29999'").fetchone()
    found = subprocess.run([str(installed.docbao), "--config", str(big / "feeds.toml"), "--cache",
                            str(big / "cache"), "search", "palimpsest"], capture_output=True, text=True,
                           env={**os.environ, "HOME": str(big)}, timeout=120)
    assert found.returncode == 0 and "Bài 29999" in found.stdout, found.stdout + found.stderr
    read = subprocess.run([str(installed.docbao), "--config", str(big / "feeds.toml"), "--cache",
                           str(big / "cache"), "read", str(last), "--full"], capture_output=True, text=True,
                          env={**os.environ, "HOME": str(big)}, timeout=120)
    assert read.returncode == 0 and "The full article 29999 with a palimpsest." in read.stdout, read.stdout + read.stderr


def write_newsboat_cache(path: Path, feeds: int, per_feed: int) -> str:
    """newsboat's cache.db (its own schema, from a cache newsboat wrote) holding `feeds` feeds
    of `per_feed` items like write_backup's; the feeds.toml that subscribes them."""
    shutil.copyfile(DATA / "newsboat" / "cache.db", path)
    rng = random.Random(7)
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM rss_item")
        conn.execute("DELETE FROM rss_feed")
        for f in range(feeds):
            url = f"http://127.0.0.1:9/newsboat/{f}.xml"
            conn.execute("INSERT INTO rss_feed (rssurl, url, title) VALUES (?, ?, ?)", (url, url, f"Feed {f}"))
            conn.executemany(
                "INSERT INTO rss_item (guid, title, author, url, feedurl, pubDate, content, unread, flags)"
                " VALUES (?, ?, '', ?, ?, ?, ?, ?, ?)",
                [(f"g{n}", f"Bài {n}", f"https://example.org/{n}", url, 1_700_000_000 - n,
                  "<p>" + " ".join(rng.choice(WORDS) for _ in range(420)) + (" quincunx" if n == feeds * per_feed - 1
                                                                             else "") + "</p>",
                  int(n % 3 != 0), "s" if n % 100 == 0 else "")
                 for n in range(f * per_feed, (f + 1) * per_feed)])
    return "".join(f'[[feed]]\nurl = "http://127.0.0.1:9/newsboat/{f}.xml"\n\n' for f in range(feeds))


def test_a_newsboat_cache_of_30000_articles_imports_in_memory_that_does_not_grow_with_it(
        installed: Installed, tmp_path: Path) -> None:
    small, big = tmp_path / "small", tmp_path / "big"
    small.mkdir()
    big.mkdir()
    small_config = write_newsboat_cache(small / "cache.db", 1, 10)
    big_config = write_newsboat_cache(big / "cache.db", 30, 1000)
    size = (big / "cache.db").stat().st_size
    assert size > 80_000_000

    verb = ("import-newsboat-cache", "--no-refresh")  # (the feeds are not served: nothing to pair with)
    baseline = import_in_a_pty(installed, small, *verb, str(small / "cache.db"), config=small_config)
    peak = import_in_a_pty(installed, big, *verb, str(big / "cache.db"), config=big_config)
    assert peak - baseline < size // 1024, (peak, baseline, size)  # (KiB) read whole, it took more than that

    with sqlite3.connect(big / "cache" / "docbao.db") as conn:
        assert conn.execute("SELECT count(*), sum(read), sum(starred) FROM articles").fetchone() == (30000, 10000, 300)
    found = subprocess.run([str(installed.docbao), "--config", str(big / "feeds.toml"), "--cache",
                            str(big / "cache"), "search", "quincunx"], capture_output=True, text=True,
                           env={**os.environ, "HOME": str(big)}, timeout=120)
    assert found.returncode == 0 and "Bài 29999" in found.stdout, found.stdout + found.stderr
