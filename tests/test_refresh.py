"""Refresh end to end: a real HTTP server on 127.0.0.1, real feed files, a real cache."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.helpers import ctrl_c_as_at_a_terminal, shared_path
from tests.server import LocalServer
from tui.cli.main import main
from tui.config import Config, FeedConfig, Settings
from tui.feeds.refresh import refresh
from tui.feeds.workers import process_count
from tui.store.cache import Store



def rss(items: list[tuple[str, str]], title: str = "Báo Thái Nguyên") -> bytes:
    entries = "".join(
        f"<item><title>{t}</title><link>https://baothainguyen.example/{g}.html</link><guid>{g}</guid>"
        f"<pubDate>Sat, 23 May 2020 21:{i:02d}:00 +0700</pubDate><description>&lt;p&gt;Lead {g}&lt;/p&gt;</description></item>"
        for i, (g, t) in enumerate(items)
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>https://baothainguyen.example/</link>{entries}</channel></rss>").encode()


def config_for(*urls: str, **settings: object) -> Config:
    return Config(path=None, settings=Settings(**settings), feeds=[FeedConfig(url=u) for u in urls])  # type: ignore[arg-type]


def run(config: Config, cache: Path, **kw: object):  # type: ignore[no-untyped-def]
    return asyncio.run(refresh(config, cache, **kw))  # type: ignore[arg-type]


def test_refresh_stores_articles_then_gets_304s(server: LocalServer, tmp_path: Path) -> None:
    url = server.route("/tn.rss", rss([("a1", "Lãnh đạo Trung ương làm việc"), ("a2", "Đảng bộ tỉnh")]),
                       etag='"v1"', last_modified="Sat, 23 May 2020 14:30:00 GMT")
    config = config_for(url)
    first = run(config, tmp_path)
    assert [(o.status, o.new) for o in first.outcomes] == [("ok", 2)]
    store = Store.open(tmp_path)
    titles = sorted(a.title for a in store.rows(store.article_ids()))
    assert titles == ["Lãnh đạo Trung ương làm việc", "Đảng bộ tỉnh"]
    ids = store.article_ids()
    store.set_read(ids[:1])
    second = run(config, tmp_path)
    assert [(o.status, o.new) for o in second.outcomes] == [("not_modified", 0)]
    last = server.hits("/tn.rss")[-1]
    assert last.headers.get("if-none-match") == '"v1"'
    assert "gzip" in last.headers.get("accept-encoding", "")
    assert "docbao/" in last.headers.get("user-agent", "")
    assert store.article_ids() == ids and store.rows(ids[:1])[0].read
    store.close()


def test_new_and_changed_items_merge_without_duplicates(server: LocalServer, tmp_path: Path) -> None:
    server.route("/f", rss([("a", "One"), ("b", "Two")]))
    config = config_for(server.url("/f"))
    run(config, tmp_path)
    server.route("/f", rss([("c", "Three"), ("b", "Two, corrected")]))
    report = run(config, tmp_path)
    outcome = report.outcomes[0]
    assert (outcome.new, outcome.updated, outcome.unchanged) == (1, 1, 0)
    store = Store.open(tmp_path)
    assert sorted(a.title for a in store.rows(store.article_ids())) == ["One", "Three", "Two, corrected"]
    store.close()


def test_one_bad_feed_never_stops_the_others(server: LocalServer, tmp_path: Path) -> None:
    good = server.route("/good", rss([("g", "Good")]))
    html = server.route("/html", b"<html><body>not a feed</body></html>", content_type="text/html")
    missing = server.url("/missing")
    broken = server.route("/broken", b"<rss><channel><title>x</title><item><title>a", content_type="application/rss+xml")
    report = run(config_for(html, missing, good, broken), tmp_path)
    status = {o.url: o for o in report.outcomes}
    assert status[good].status == "ok" and status[good].new == 1
    assert status[missing].status == "error" and "404" in status[missing].error
    assert status[html].status == "error" and status[html].error
    assert report.failed and good not in [o.url for o in report.failed]


def test_a_big_refresh_stores_each_feed_from_its_worker_and_a_bad_one_alone(server: LocalServer,
                                                                              tmp_path: Path) -> None:
    """Enough feeds for the parse workers to store what they parse: each good feed whole, its
    articles counted and its validators kept; a feed that is not one recorded as an error
    beside them; the next refresh asks with the stored validators and gets 304s."""
    goods = [server.route(f"/g{n}", rss([(f"{n}-{i}", f"Tin {n} số {i}") for i in range(5)], title=f"Báo {n}"),
                          etag=f'"e{n}"') for n in range(30)]
    html = server.route("/html", b"<html><body>not a feed</body></html>", content_type="text/html")
    broken = server.route("/broken", b"<rss><channel><title>x</title><item><title>a", content_type="application/rss+xml")
    config = config_for(*goods[:15], html, *goods[15:], broken)
    report = run(config, tmp_path)
    status = {o.url: o for o in report.outcomes}
    assert [status[u].status for u in goods] == ["ok"] * 30
    assert [status[u].new for u in goods] == [5] * 30
    assert all(len(status[u].new_ids) == 5 for u in goods)
    assert [status[u].title for u in goods[:2]] == ["Báo 0", "Báo 1"]
    assert status[html].status == "error" and status[html].error
    assert status[broken].status == "error" and "not well-formed" in status[broken].error
    store = Store.open(tmp_path)
    rows = {row.url: row for row in store.feeds()}
    assert rows[html].last_status == "error" and rows[html].last_error == status[html].error
    assert rows[html].total == 0 and rows[broken].last_status == "error"
    assert [(rows[u].total, rows[u].unread, rows[u].etag) for u in goods[:2]] == [(5, 5, '"e0"'), (5, 5, '"e1"')]
    assert store.count() == 150
    assert store.integrity_ok()
    store.close()
    again = run(config, tmp_path)
    assert {o.status for o in again.outcomes if o.url in goods} == {"not_modified"}
    assert server.hits("/g7")[-1].headers.get("if-none-match") == '"e7"'


def test_failed_fetch_keeps_cached_articles(server: LocalServer, tmp_path: Path) -> None:
    url = server.route("/f", rss([("a", "Kept")]))
    config = config_for(url)
    run(config, tmp_path)
    server.route("/f", b"oops", status=500, content_type="text/plain")
    report = run(config, tmp_path)
    assert report.outcomes[0].status == "error"
    server.route("/f", b"<rss><channel><item><title>", content_type="application/rss+xml")
    run(config, tmp_path)
    store = Store.open(tmp_path)
    assert [a.title for a in store.rows(store.article_ids())] == ["Kept"]
    assert store.feeds()[0].last_status == "error"
    store.close()


def test_permanent_redirect_is_followed_next_time(server: LocalServer, tmp_path: Path) -> None:
    new = server.route("/new", rss([("a", "Moved")]))
    server.route("/old", status=301, headers={"Location": new})
    config = config_for(server.url("/old"))
    assert run(config, tmp_path).outcomes[0].new == 1
    run(config, tmp_path)
    assert len(server.hits("/old")) == 1 and len(server.hits("/new")) == 2


def test_gone_feed_is_not_fetched_again(server: LocalServer, tmp_path: Path) -> None:
    url = server.route("/gone", b"gone", status=410, content_type="text/plain")
    config = config_for(url)
    assert run(config, tmp_path).outcomes[0].status == "gone"
    again = run(config, tmp_path).outcomes[0]
    assert again.status == "skipped" and "410" in again.error
    assert len(server.hits("/gone")) == 1


def test_retry_after_is_honoured(server: LocalServer, tmp_path: Path) -> None:
    url = server.route("/busy", b"slow down", status=429, headers={"Retry-After": "3600"}, content_type="text/plain")
    config = config_for(url)
    assert run(config, tmp_path).outcomes[0].status == "deferred"
    assert run(config, tmp_path).outcomes[0].status == "deferred"
    assert len(server.hits("/busy")) == 1


def test_local_file_feed(tmp_path: Path) -> None:
    feed = tmp_path / "local.rss"
    feed.write_bytes(rss([("l", "Tin địa phương")]))
    report = run(config_for(str(feed)), tmp_path / "cache")
    assert report.outcomes[0].new == 1


def test_cli_refresh_summary_and_exit_status(server: LocalServer, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    good = server.route("/good", rss([("g", "Good news")]))
    config = tmp_path / "feeds.toml"
    config.write_text(f'[[feed]]\nurl = "{good}"\ntitle = "Tin tốt"\n', encoding="utf-8")
    assert main(["refresh", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "Tin tốt" in out and "1 new" in out and "0 failed" in out
    config.write_text(config.read_text() + f'\n[[feed]]\nurl = "{server.url("/nope")}"\n', encoding="utf-8")
    assert main(["--config", str(config), "refresh"]) == 1
    out = capsys.readouterr().out
    assert "ERROR" in out and "404" in out and "1 failed" in out
    assert main(["refresh", "--config", str(config), "--feed", "no such feed"]) == 2


def test_cli_feeds_and_articles_json(server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = server.route("/f", rss([("a", "Một"), ("b", "Hai")]))
    config = tmp_path / "feeds.toml"
    config.write_text(f'[[feed]]\nurl = "{url}"\n', encoding="utf-8")
    main(["refresh", "--config", str(config), "-q"])
    capsys.readouterr()
    assert main(["articles", "--config", str(config), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [a["title"] for a in lines] == ["Hai", "Một"]  # newest first
    assert lines[0]["feed_title"] == "Báo Thái Nguyên" and lines[0]["feed_url"] == url
    assert lines[0]["published"] == "2020-05-23T14:01:00+00:00"
    assert set(lines[0]) >= {"id", "link", "author", "read", "starred"}
    assert main(["feeds", "--config", str(config), "--json"]) == 0
    (feed,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (feed["articles"], feed["unread"], feed["status"]) == (2, 2, "ok")
    assert main(["articles", "--config", str(config), "--unread", "--limit", "1"]) == 0
    assert capsys.readouterr().out.count("\n") == 1


def test_a_failing_feed_says_when_it_last_worked(server: LocalServer, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Offline, every feed fails: `docbao feeds` says since when each one has not worked."""
    url = server.route("/f", rss([("a", "Một")]))
    config = tmp_path / "feeds.toml"
    config.write_text(f'[[feed]]\nurl = "{url}"\n', encoding="utf-8")
    assert main(["refresh", "--config", str(config), "-q"]) == 0
    capsys.readouterr()
    assert main(["feeds", "--config", str(config), "--json"]) == 0
    (feed,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    worked = feed["last_ok"]
    assert worked is not None and feed["status"] == "ok"
    server.route("/f", b"broken", status=500)
    assert main(["refresh", "--config", str(config), "-q"]) == 1
    capsys.readouterr()
    assert main(["feeds", "--config", str(config)]) == 0
    shown = datetime.fromisoformat(worked).astimezone().strftime("%Y-%m-%d %H:%M")
    assert f"500 Internal Server Error (last worked {shown})" in capsys.readouterr().out
    assert main(["feeds", "--config", str(config), "--json"]) == 0
    (feed,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert feed["status"] == "error" and feed["last_ok"] == worked


FEED_CATEGORIES = {"rss2", "atom", "rss1-rdf", "rss09x", "podcast-media", "non-latin-scripts", "large"}


def test_whole_corpus_through_one_refresh(tmp_path: Path) -> None:
    """Every corpus file is served and refreshed at once: feeds yield entries, the rest a
    recorded per-feed error, and nothing raises."""
    corpus = shared_path("corpus")
    with open(corpus / "MANIFEST.tsv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    with LocalServer() as srv:
        urls = {row["path"]: srv.route_file("/" + row["path"], corpus / row["path"], gzip=False)
                for row in rows}
        report = run(config_for(*urls.values(), concurrency=32), tmp_path)
    by_url = {o.url: o for o in report.outcomes}
    assert len(by_url) == len(rows)
    for row in rows:
        outcome = by_url[urls[row["path"]]]
        assert outcome.status in ("ok", "error"), row["path"]
        if row["path"].split("/")[0] in FEED_CATEGORIES:
            assert outcome.status == "ok" and outcome.new > 0, (row["path"], outcome.error)
        if outcome.status == "error":
            assert outcome.error, row["path"]
    store = Store.open(tmp_path)
    assert store.integrity_ok()
    store.close()


def test_kill_during_refresh_leaves_a_sound_cache(tmp_path: Path) -> None:
    """kill -9 in the middle of a refresh: integrity_check passes and every feed committed
    before the kill is complete."""
    with LocalServer() as srv:
        # The last ten feeds keep the refresh going (and its workers up) while the test
        # looks: the others, stored in under a second, could otherwise end it first.
        urls = [srv.route(f"/f{n}", rss([(f"{n}-{i}", f"Tin {n} số {i}") for i in range(40)]),
                          delay=5.0 if n >= 50 else 0.05 * (n % 7)) for n in range(60)]
        config = tmp_path / "feeds.toml"
        config.write_text("".join(f'[[feed]]\nurl = "{u}"\n\n' for u in urls), encoding="utf-8")
        proc = subprocess.Popen([sys.executable, "-m", "tui", "refresh", "--config", str(config), "-q"],
                                cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        db = tmp_path / "cache" / "docbao.db"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if db.exists():
                try:
                    probe = Store.open(tmp_path / "cache")
                    done = probe.count()
                    probe.close()
                except Exception:
                    done = 0
                if done >= 400:
                    break
            time.sleep(0.02)
        workers = subprocess.run(["ps", "-o", "pid=", "--ppid", str(proc.pid)], capture_output=True,
                                 text=True).stdout.split()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert workers  # 60 feeds: parsed in worker processes
    deadline = time.monotonic() + 20
    while (left := [pid for pid in workers if _running(int(pid))]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert left == []  # the workers (and the pool's helper) end with the refresh, never left waiting
    store = Store.open(tmp_path / "cache")
    assert store.integrity_ok()
    counts = [row.total for row in store.feeds()]
    assert sum(counts) >= 400
    assert all(c in (0, 40) for c in counts)  # a feed is there whole or not at all
    assert store.totals() == (sum(counts), sum(counts))
    store.close()


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: a refresh parses in a thread")
def test_a_first_refresh_starts_its_parse_workers_before_any_feed_answers_an_unchanged_one_none(
        tmp_path: Path) -> None:
    """A first refresh of many feeds has its parse workers started (the parsers imported)
    while its requests are out, so that they are ready when the bodies come; a refresh that
    can ask every feed whether it changed starts none, since "not modified" is all it gets.
    Every answer is held until the test lets it go."""
    answering = threading.Event()

    def held(body: bytes, etag: str) -> Callable[[BaseHTTPRequestHandler], None]:
        def answer(handler: BaseHTTPRequestHandler) -> None:
            answering.wait(60)
            unchanged = handler.headers.get("If-None-Match") == etag
            handler.send_response(304 if unchanged else 200)
            handler.send_header("ETag", etag)
            if unchanged:
                handler.end_headers()
                return
            handler.send_header("Content-Type", "application/rss+xml")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        return answer

    def workers(pid: int) -> list[str]:
        children = subprocess.run(["ps", "-ww", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True,
                                  text=True).stdout.splitlines()
        return [line for line in children if "spawn_main" in line]

    def start(config: Path) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "tui", "refresh", "--config", str(config), "-q"],
                                cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    with LocalServer() as srv:
        urls = [srv.route(f"/f{n}", raw=held(rss([(f"{n}-{i}", f"Tin {n} số {i}") for i in range(5)]), f'"e{n}"'))
                for n in range(30)]
        config = tmp_path / "feeds.toml"
        config.write_text("".join(f'[[feed]]\nurl = "{u}"\n\n' for u in urls), encoding="utf-8")
        first = start(config)
        deadline = time.monotonic() + 60
        while len(workers(first.pid)) < process_count() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        up = workers(first.pid)
        answering.set()
        status = first.wait(60)
        assert len(up) == process_count()
        assert status == 0

        answering.clear()
        again = start(config)
        deadline = time.monotonic() + 60
        while len(srv.requests) < 60 and time.monotonic() < deadline:
            time.sleep(0.05)
        waiting = len(srv.requests)
        none_up = workers(again.pid)
        answering.set()
        assert again.wait(60) == 0
    assert waiting == 60  # every feed asked (with its ETag), none answered yet
    assert none_up == []
    store = Store.open(tmp_path / "cache")
    assert store.count() == 150 and {row.last_status for row in store.feeds()} == {"not_modified"}
    store.close()


def test_ctrl_c_while_the_config_is_read_stops_cleanly(tmp_path: Path) -> None:
    """Ctrl-C before any feed is fetched (here while a config of 100,000 feeds is read)
    ends the command as it does later, without a Python traceback."""
    config = tmp_path / "feeds.toml"
    config.write_text("".join(f'[[feed]]\nurl = "http://127.0.0.1:9/f{n}.xml"\ntags = ["news", "vn"]\n\n'
                              for n in range(100_000)), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "tui", "refresh", "--config", str(config)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=ctrl_c_as_at_a_terminal)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "docbao: interrupted" in err
    assert not (tmp_path / "cache").exists()  # nothing was begun


def _running(pid: int) -> bool:
    """The process exists and has not ended (a zombie nobody reaped has)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_ctrl_c_stops_cleanly(tmp_path: Path) -> None:
    with LocalServer() as srv:
        urls = [srv.route(f"/f{n}", rss([(f"{n}", "x")]), delay=2) for n in range(20)]
        config = tmp_path / "feeds.toml"
        config.write_text("".join(f'[[feed]]\nurl = "{u}"\n\n' for u in urls), encoding="utf-8")
        proc = subprocess.Popen([sys.executable, "-m", "tui", "refresh", "--config", str(config)],
                                cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=ctrl_c_as_at_a_terminal)
        time.sleep(1.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert "Traceback" not in err and "interrupted" in err
    store = Store.open(tmp_path / "cache")
    assert store.integrity_ok()
    store.close()
