"""The cache under stress, through `docbao` processes: two refreshes at once, kill -9 in the
middle of a big write, Ctrl-C, a damaged file (found at opening or only by a later
query), a cache from a newer docbao, and a full disk. Whatever happens: integrity_check
passes, what was stored and marked before is still there, no message is a traceback,
and the next run works."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.server import LocalServer
from tests.hostile import (
    articles_of,
    cache_db,
    docbao,
    finish,
    integrity,
    query,
    rss,
    simple_items,
    start,
    write_config,
)
from tui.store.cache import SCHEMA_VERSION, Store


def counters_match(db: Path) -> bool:
    """The per-feed unread/total counters agree with the articles (kept by their writers and triggers)."""
    kept = query(db, "SELECT id, unread, total FROM feeds ORDER BY id")
    counted = query(db, "SELECT f.id, count(a.id) FILTER (WHERE a.read = 0), count(a.id) FROM feeds f"
                        " LEFT JOIN articles a ON a.feed_id = f.id GROUP BY f.id ORDER BY f.id")
    return kept == counted


def mark_some(folder: Path) -> dict[str, tuple]:
    """Read two articles and star one in every feed, as a reader would; returns the state."""
    store = Store.open(folder / "cache")
    for row in store.feeds():
        ids = store.article_ids(feed_ids=[row.id])
        store.set_read(ids[:2])
        if ids:
            store.set_starred(ids[-1], True)
    store.close()
    return articles_of(cache_db(folder))


def still_there(before: dict[str, tuple], after: dict[str, tuple]) -> bool:
    return all(after.get(guid) == row for guid, row in before.items())


# ------------------------------------------------------------------ two refreshes at once
def test_two_refreshes_at_once_share_the_cache(tmp_path: Path, server: LocalServer) -> None:
    urls = [server.route(f"/f{n}.xml", rss(simple_items(40, f"f{n}")), delay=0.01 * (n % 4)) for n in range(30)]
    config = write_config(tmp_path, urls)
    first, second = (start("refresh", "--config", str(config), cwd=tmp_path, measured=True) for _ in range(2))
    reading = [docbao("feeds", "--config", str(config), cwd=tmp_path) for _ in range(3)]  # a third reader
    runs = [finish(first), finish(second)]
    for run in runs + reading:
        assert run.returncode == 0, run.err
        assert "locked" not in run.err and "Traceback" not in run.err
    db = cache_db(tmp_path)
    assert integrity(db) == "ok" and counters_match(db)
    assert query(db, "SELECT count(*), count(DISTINCT feed_id || ' ' || guid) FROM articles") == [(1200, 1200)]
    assert sum(int(run.out.splitlines()[-1].split()[2]) for run in runs) == 1200  # "30 feeds: N new"


# ------------------------------------------------------------------ kill -9 and Ctrl-C
BIG = 6000


@pytest.fixture
def populated(tmp_path: Path, server: LocalServer) -> Iterator[tuple[Path, list[str], dict[str, tuple]]]:
    """A cache with five feeds refreshed and partly read, and the URLs to configure next:
    the five and a big feed (6,000 items, 3 MB) that the next refresh spends its time on."""
    small = [server.route(f"/s{n}.xml", rss(simple_items(10, f"s{n}"))) for n in range(5)]
    config = write_config(tmp_path, small)
    assert docbao("refresh", "--config", str(config), cwd=tmp_path).returncode == 0
    state = mark_some(tmp_path)
    big = server.route("/big.xml", rss([dict(item, description="Nội dung dài. " * 25)
                                        for item in simple_items(BIG, "big")]))
    yield tmp_path, [*small, big], state


def wait_for(condition: Callable[[], bool], limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "the refresh never got there"
        time.sleep(0.02)


@pytest.mark.parametrize("after", [0.0, 0.4])
def test_kill_9_in_the_middle_of_a_big_write(populated: tuple[Path, list[str], dict[str, tuple]],
                                             server: LocalServer, after: float) -> None:
    """Killed while the big feed is parsed or written, at two moments."""
    folder, urls, before = populated
    config = write_config(folder, urls)
    proc = start("refresh", "--config", str(config), cwd=folder)
    try:
        wait_for(lambda: bool(server.hits("/big.xml")))
        time.sleep(after)
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # docbao itself, started unmeasured, by its pid
        finish(proc)
    db = cache_db(folder)
    assert integrity(db) == "ok" and counters_match(db)
    after = articles_of(db)
    assert still_there(before, after)
    big = [guid for guid in after if guid.startswith("big-")]
    assert len(big) in (0, BIG)  # all of the feed's transaction or none of it
    again = docbao("refresh", "--config", str(config), cwd=folder)
    assert again.returncode == 0, again.err
    assert len([g for g in articles_of(db) if g.startswith("big-")]) == BIG
    assert still_there(before, articles_of(db))


def test_ctrl_c_stops_cleanly_and_keeps_everything(populated: tuple[Path, list[str], dict[str, tuple]],
                                                   server: LocalServer) -> None:
    folder, urls, before = populated
    slow = [server.route(f"/slow{n}.xml", rss(simple_items(3, f"slow{n}")), delay=6) for n in range(4)]
    config = write_config(folder, [*urls, *slow])
    proc = start("refresh", "--config", str(config), cwd=folder)
    wait_for(lambda: any(g.startswith("big-") for g in articles_of(cache_db(folder)))
             if (folder / "cache" / "docbao.db").exists() else False)
    proc.send_signal(signal.SIGINT)  # the slow feeds are still waiting for their answers
    run = finish(proc)
    assert run.returncode == 130
    assert "interrupted" in run.err and "Traceback" not in run.err
    db = cache_db(folder)
    assert integrity(db) == "ok" and counters_match(db)
    assert still_there(before, articles_of(db))
    for n in range(4):
        server.route(f"/slow{n}.xml", rss(simple_items(3, f"slow{n}")))  # no longer slow
    again = docbao("refresh", "--config", str(config), cwd=folder)
    assert again.returncode == 0, again.err
    assert {g.split("-")[0] for g in articles_of(db)} >= {"slow0", "slow3", "big"}


# ------------------------------------------------------------------ a damaged cache
def refreshed(folder: Path, server: LocalServer, items: int = 200) -> Path:
    url = server.route("/f.xml", rss([dict(item, description="Nội dung. " * 300) for item in simple_items(items)]))
    config = write_config(folder, [url])
    assert docbao("refresh", "--config", str(config), cwd=folder).returncode == 0
    return config


@pytest.mark.parametrize("damage", ["garbage", "zeros", "header", "truncated", "one-page"])
def test_a_damaged_cache_is_moved_aside_and_refresh_starts_anew(tmp_path: Path, server: LocalServer,
                                                                 damage: str) -> None:
    config = refreshed(tmp_path, server)
    db = cache_db(tmp_path)
    good = db.read_bytes()
    page = int.from_bytes(good[16:18], "big")  # the cache's page size, from its header
    (leaf,) = query(db, "SELECT pageno - 1 FROM dbstat WHERE name = 'articles' AND pagetype = 'leaf'"
                        " ORDER BY pageno LIMIT 1")[0]  # (counted from 0)
    damaged = {
        "garbage": b"this is not a database " * 400,
        "zeros": bytes(len(good)),
        "header": bytes(100) + good[100:],
        "truncated": good[: len(good) // 2],
        # one leaf page of the articles: opening does not see it, the refresh's query does
        "one-page": good[: leaf * page] + os.urandom(page) + good[(leaf + 1) * page:],
    }[damage]
    db.write_bytes(damaged)
    first = docbao("refresh", "--config", str(config), cwd=tmp_path)
    assert "Traceback" not in first.err
    assert "damaged" in first.err and "moved to" in first.err
    (aside,) = [p for p in db.parent.iterdir() if p.name.startswith("docbao.db.corrupt-") and not p.name.endswith(("-wal", "-shm"))]
    assert aside.read_bytes() == damaged  # moved, never rewritten or deleted
    if first.returncode != 0:  # the damage was found mid-refresh: the next run starts anew
        assert first.returncode == 1
        first = docbao("refresh", "--config", str(config), cwd=tmp_path)
    assert first.returncode == 0, first.err
    assert integrity(db) == "ok" and query(db, "SELECT count(*) FROM articles") == [(200,)]
    assert docbao("articles", "--config", str(config), cwd=tmp_path).returncode == 0


@pytest.mark.parametrize("verb", [("articles",), ("read", "1"), ("feeds",)])
def test_damage_found_by_a_listing_is_reported_not_a_traceback(tmp_path: Path, server: LocalServer,
                                                              verb: tuple[str, ...]) -> None:
    config = refreshed(tmp_path, server)
    db = cache_db(tmp_path)
    good = bytearray(db.read_bytes())
    size = int.from_bytes(good[16:18], "big")  # the cache's page size, from its header
    for page in range(2, len(good) // size):  # every page but the schema's
        good[page * size:(page + 1) * size] = os.urandom(size)
    db.write_bytes(bytes(good))
    run = docbao(*verb, "--config", str(config), cwd=tmp_path)
    assert "Traceback" not in run.err
    assert run.returncode in (0, 1)
    if run.returncode == 1:
        assert "damaged" in run.err or "no article" in run.err


# ------------------------------------------------------------------ a newer docbao's cache
def test_a_cache_from_a_newer_docbao_is_refused_untouched(tmp_path: Path, server: LocalServer) -> None:
    config = refreshed(tmp_path, server, items=5)
    db = cache_db(tmp_path)
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    files = {p.name: p.read_bytes() for p in db.parent.iterdir()}
    for verb in (("refresh",), ("feeds",), ("articles",), ("read", "1")):
        run = docbao(*verb, "--config", str(config), cwd=tmp_path)
        assert run.returncode == 1, verb
        assert "newer docbao" in run.err and "Traceback" not in run.err
    assert {p.name: p.read_bytes() for p in db.parent.iterdir()} == files


# ------------------------------------------------------------------ a full disk
@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB filesystem for the cache (root may mount one); skipped where mounting is not allowed."""
    folder = tmp_path / "cache"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", str(folder)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_full_disk_fails_the_refresh_cleanly(tmp_path: Path, tiny_disk: Path, server: LocalServer) -> None:
    small = server.route("/small.xml", rss(simple_items(5, "small")))
    config = write_config(tmp_path, [small])
    assert docbao("refresh", "--config", str(config), cwd=tmp_path).returncode == 0
    before = mark_some(tmp_path)
    big = server.route("/big.xml", rss([dict(item, description="x" * 2000) for item in simple_items(3000, "big")]))
    write_config(tmp_path, [small, big])
    run = docbao("refresh", "--config", str(config), cwd=tmp_path)
    assert run.returncode == 1
    assert "Traceback" not in run.err and "database or disk is full" in run.err
    assert str(tiny_disk / "docbao.db") in run.err
    db = tiny_disk / "docbao.db"
    assert integrity(db) == "ok" and counters_match(db)
    assert articles_of(db) == before  # the big feed's transaction left nothing half-written
    listing = docbao("articles", "--config", str(config), cwd=tmp_path)
    assert listing.returncode == 0 and listing.out.count("\n") == 5
