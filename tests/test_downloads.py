"""Downloading enclosures against a loopback server: the queue a refresh fills, `docbao
download`, resuming with Range after a kill, a server without Range, a lying
Content-Length, 416, a full disk and hostile file names."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.server import LocalServer
from tui.cli.main import main
from tui.config import ConfigError, load_config
from tui.feeds.downloads import default_download_dir, file_name, run_queue, safe_name
from tui.store import downloads
from tui.store.cache import Store

HOSTILE = "..%2F..%2Fevil%1B%5D0%3Bpwned%07%E2%80%AEpm3.mp3"
LONG = "episode-" + "x" * 400 + ".mp3"


def _media(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


def _podcast(server: LocalServer, enclosures: list[tuple[str, str]], episodes: int = 1) -> str:
    """A podcast feed of `episodes` items: the newest (Episode 0) has these enclosures, each
    older one an enclosure of its own (/old/N.mp3)."""

    def item(n: int) -> str:
        files = enclosures if n == 0 else [(f"/old/{n}.mp3", "audio/mpeg")]
        tags = "".join(f'<enclosure url="{server.url(path)}" type="{kind}" length="999"/>' for path, kind in files)
        return (f"<item><guid>ep-{n}</guid><title>Episode {n}: a/b\\c &lt;x&gt;</title>"
                f"<pubDate>{25 - n} May 2020 10:00:00 GMT</pubDate>{tags}</item>")

    items = "".join(item(n) for n in range(episodes))
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Pod</title>{items}</channel></rss>'
    return server.route("/pod.rss", feed, content_type="application/rss+xml")


def _config(tmp_path: Path, url: str, download: bool = True) -> Path:
    config = tmp_path / "feeds.toml"
    config.write_text(f'[settings]\ndownload_dir = "media"\ncache_dir = "cache"\n\n'
                      f'[[feed]]\nurl = "{url}"\ntitle = "../Pod: one"\ndownload = {str(download).lower()}\n',
                      encoding="utf-8")
    return config


def _json_articles(config: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    capsys.readouterr()
    assert main(["articles", "--config", str(config), "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def _download(config: Path) -> int:
    return main(["download", "--config", str(config)])


def _queue_one(tmp_path: Path, server: LocalServer, body: bytes, **route: object) -> tuple[Path, Path]:
    """A feed with one enclosure served with `route`'s options, refreshed (so queued)."""
    server.route("/ep.mp3", body, content_type="audio/mpeg", gzip=False, **route)
    config = _config(tmp_path, _podcast(server, [("/ep.mp3", "audio/mpeg")]))
    assert main(["refresh", "--config", str(config), "-q"]) == 0
    return config, tmp_path / "media" / "_Pod_ one" / "ep.mp3"


def test_refresh_queues_and_download_fetches_with_safe_names(
        server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bodies = {"/a/ep1.mp3": _media(300_000, 1), f"/a/{HOSTILE}": _media(1000, 2), f"/a/{LONG}": _media(10, 3),
              "/a/noext": _media(20, 4)}
    for path, body in bodies.items():
        server.route(path, body, content_type="audio/mpeg", gzip=False)
    config = _config(tmp_path, _podcast(server, [(p, "audio/mpeg") for p in bodies]))
    folder = tmp_path / "media" / "_Pod_ one"  # the feed's title made safe: no "..", no "/"
    folder.mkdir(parents=True)
    (folder / "ep1.mp3").write_bytes(b"the user's own file")  # never clobbered

    assert main(["refresh", "--config", str(config)]) == 0
    assert "4 enclosures queued: 'docbao download' fetches them" in capsys.readouterr().out
    states = [e["download"]["state"] for a in _json_articles(config, capsys) for e in a["enclosures"]]
    assert states == ["queued"] * 4

    assert _download(config) == 0
    out = capsys.readouterr().out
    assert "4 downloads done, 0 failed" in out
    files = sorted(p.name for p in folder.iterdir())
    assert (folder / "ep1.mp3").read_bytes() == b"the user's own file"
    assert (folder / "ep1 (2).mp3").read_bytes() == bodies["/a/ep1.mp3"]
    hostile = [name for name in files if "evil" in name]
    assert hostile == ["_.._evil]0;pwnedpm3.mp3"]  # no separator, no escape, no bidi override
    assert (folder / hostile[0]).read_bytes() == bodies[f"/a/{HOSTILE}"]
    long = [name for name in files if name.startswith("episode-")]
    assert len(long) == 1 and long[0].endswith(".mp3") and len(long[0].encode()) <= 200
    assert (folder / "noext.mp3").read_bytes() == bodies["/a/noext"]  # its type gives the extension
    assert not list(tmp_path.rglob("*.part"))
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()
                  and "cache" not in p.parts) == sorted([f"media/_Pod_ one/{name}" for name in files] + ["feeds.toml"])

    shown = {e["url"]: e["download"] for a in _json_articles(config, capsys) for e in a["enclosures"]}
    done = shown[server.url("/a/ep1.mp3")]
    assert done == {"state": "done", "path": str(folder / "ep1 (2).mp3"), "received": 300_000,
                    "total": 300_000, "error": ""}
    assert _download(config) == 0  # nothing left: nothing fetched again
    assert "nothing to download" in capsys.readouterr().out
    assert len(server.hits("/a/ep1.mp3")) == 1
    assert main(["download", "--list", "--feed", "../Pod: one", "--config", str(config)]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 4 and all(" done " in line for line in listed)
    assert "293.0 kB of 293.0 kB" in listed[0] and str(folder / "ep1 (2).mp3") in listed[0]
    assert main(["download", "--feed", "no such feed", "--config", str(config)]) == 2


def test_a_feed_without_download_queues_nothing(server: LocalServer, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    server.route("/ep.mp3", b"x", content_type="audio/mpeg")
    config = _config(tmp_path, _podcast(server, [("/ep.mp3", "audio/mpeg")]), download=False)
    assert main(["refresh", "--config", str(config), "-q"]) == 0
    [article] = _json_articles(config, capsys)
    assert article["enclosures"][0]["download"] is None
    assert _download(config) == 0
    assert server.hits("/ep.mp3") == []


def test_a_server_without_range_support_starts_over(server: LocalServer, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    body = _media(500_000)
    config, target = _queue_one(tmp_path, server, body)
    # an earlier run left a partial copy whose bytes are not the file's
    store = Store.open(tmp_path / "cache")
    [row] = downloads.rows(store)
    target.parent.mkdir(parents=True)
    downloads.update(store, row.id, path=str(target))
    store.close()
    target.with_name("ep.mp3.part").write_bytes(b"\x00" * 100_000)
    assert _download(config) == 0
    assert server.hits("/ep.mp3")[-1].headers["range"] == "bytes=100000-"  # it asked for the rest
    assert target.read_bytes() == body  # got all of it, and started over


def test_a_lying_content_length_fails_then_resumes_and_416_means_whole(
        server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = _media(400_000)
    config, target = _queue_one(tmp_path, server, body, length=len(body) + 50_000, ranges=True)
    assert _download(config) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "cut short" in out, out
    assert not target.exists()
    assert target.with_name("ep.mp3.part").read_bytes() == body  # kept for a resume
    [article] = _json_articles(config, capsys)
    assert article["enclosures"][0]["download"]["state"] == "failed"

    assert _download(config) == 0  # failed ones wait for --retry
    assert "nothing to download" in capsys.readouterr().out

    server.routes["/ep.mp3"].length = None
    assert main(["download", "--retry", "--config", str(config)]) == 0
    assert server.hits("/ep.mp3")[-1].headers["range"] == f"bytes={len(body)}-"
    assert target.read_bytes() == body  # the server said 416 (nothing left): the part was whole


def test_416_for_a_part_longer_than_the_file_starts_over(server: LocalServer, tmp_path: Path) -> None:
    body = _media(200_000)
    config, target = _queue_one(tmp_path, server, body, ranges=True)
    store = Store.open(tmp_path / "cache")
    [row] = downloads.rows(store)
    target.parent.mkdir(parents=True)
    downloads.update(store, row.id, path=str(target))
    store.close()
    target.with_name("ep.mp3.part").write_bytes(b"\x01" * 300_000)  # the file on the server got shorter
    assert _download(config) == 0
    assert [h.headers.get("range") for h in server.hits("/ep.mp3")] == ["bytes=300000-", None]
    assert target.read_bytes() == body


def test_a_changed_file_is_not_resumed_onto_its_old_part(server: LocalServer, tmp_path: Path) -> None:
    old, new = _media(300_000, 1), _media(300_000, 2)
    config, target = _queue_one(tmp_path, server, old, ranges=True, etag='"v1"', length=len(old) + 1)
    assert _download(config) == 1  # cut short: the part is kept with its ETag
    server.route("/ep.mp3", new, content_type="audio/mpeg", gzip=False, ranges=True, etag='"v2"')
    assert main(["download", "--retry", "--config", str(config)]) == 0
    assert server.hits("/ep.mp3")[-1].headers["if-range"] == '"v1"'
    assert target.read_bytes() == new


def _installed() -> str:
    command = Path(sys.executable).parent / "docbao"
    if not command.exists():
        pytest.skip("the docbao command is not installed")
    return str(command)


def test_a_full_disk_fails_clearly_and_the_part_resumes(server: LocalServer, tmp_path: Path) -> None:
    body = _media(3_000_000)
    server.route("/ep.mp3", body, content_type="audio/mpeg", gzip=False, ranges=True)
    server.route("/next.mp3", b"next", content_type="audio/mpeg", gzip=False)
    config = _config(tmp_path, _podcast(server, [("/ep.mp3", "audio/mpeg"), ("/next.mp3", "audio/mpeg")]))
    assert main(["refresh", "--config", str(config), "-q"]) == 0
    target = tmp_path / "media" / "_Pod_ one" / "ep.mp3"
    limit = 1_000_000

    def small_disk() -> None:  # a file may not grow past `limit` bytes: EFBIG, as ENOSPC would be
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    run = subprocess.run([_installed(), "download", "--config", str(config)], capture_output=True, text=True,
                         preexec_fn=small_disk, timeout=120, stdin=subprocess.DEVNULL)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "disk full" in run.stdout and "resumes from there" in run.stdout, run.stdout
    assert "stopped: the disk is full; the rest stays queued" in run.stdout
    part = target.with_name("ep.mp3.part")
    assert 0 < part.stat().st_size <= limit and part.read_bytes() == body[:part.stat().st_size]
    assert not target.exists()
    assert server.hits("/next.mp3") == []  # not tried on a full disk

    run = subprocess.run([_installed(), "download", "--retry", "--config", str(config)], capture_output=True,
                         text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stdout + run.stderr
    assert server.hits("/ep.mp3")[-1].headers["range"] == f"bytes={limit}-"
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(body).digest()
    assert (target.parent / "next.mp3").read_bytes() == b"next"


def test_resume_after_the_download_process_is_killed(server: LocalServer, tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    body = _media(6 * 1024 * 1024)
    config, target = _queue_one(tmp_path, server, body, ranges=True, pace=0.02)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "TERM": "xterm-256color",
           "LANG": "C.UTF-8", "TZ": "UTC"}
    child = pexpect.spawn(_installed(), ["download", "--config", str(config)], env=env, dimensions=(24, 100),
                          timeout=60)
    child.expect("1/1 Episode 0")  # the progress bar names the episode on the terminal
    part = target.with_name("ep.mp3.part")
    deadline = time.monotonic() + 60
    while not (part.exists() and part.stat().st_size > 1024 * 1024):
        assert time.monotonic() < deadline and child.isalive()
        time.sleep(0.05)
    child.kill(9)
    child.wait()
    assert not target.exists() and part.stat().st_size < len(body)
    listed = subprocess.run([_installed(), "articles", "--json", "--config", str(config)], capture_output=True,
                            text=True, timeout=60, env=env)
    [state] = [e["download"] for e in json.loads(listed.stdout)["enclosures"]]
    assert state["state"] == "queued" and state["received"] == part.stat().st_size  # interrupted, resumable

    server.routes["/ep.mp3"].pace = 0.0
    child = pexpect.spawn(_installed(), ["download", "--config", str(config)], env=env, dimensions=(24, 100),
                          timeout=60)
    child.expect("1 download done, 0 failed")
    child.expect(pexpect.EOF)
    child.wait()
    assert child.exitstatus == 0
    resumed = server.hits("/ep.mp3")[-1].headers["range"]
    assert resumed.startswith("bytes=") and int(resumed[6:-1]) > 1024 * 1024
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(body).digest()
    assert not part.exists()


def test_file_names_are_made_safe() -> None:
    assert safe_name("../../etc/passwd") == "_.._etc_passwd"
    assert safe_name("..") == "download"
    assert safe_name(".hidden") == "hidden"
    assert safe_name("a\x1b[31mb\x00c\u202e\u2028d.mp3") == "a[31mbc d.mp3"
    assert safe_name("e" * 300 + ".mp3").endswith(".mp3") and len(safe_name("e" * 300 + ".mp3")) == 200
    assert len(safe_name("ễ" * 300).encode()) <= 200
    assert file_name("https://x.example/feed/", "Tập 1: Hà Nội/Huế", "audio/mpeg") == "Tập 1_ Hà Nội_Huế.mp3"
    assert file_name("https://x.example/a/b.m4a?token=1", "", "audio/mp4") == "b.m4a"


def test_the_xdg_download_folder_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(tmp_path / "Tải về"))
    assert default_download_dir() == tmp_path / "Tải về"
    monkeypatch.delenv("XDG_DOWNLOAD_DIR")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))  # no xdg-user-dir
    assert default_download_dir() == tmp_path / "Downloads"
    (tmp_path / "bin").mkdir()
    tool = tmp_path / "bin" / "xdg-user-dir"
    tool.write_text(f'#!/bin/sh\n[ "$1" = DOWNLOAD ] && echo "{tmp_path}/Hent"\n')
    tool.chmod(0o755)
    assert default_download_dir() == tmp_path / "Hent"


def test_player_and_download_keys_are_validated(tmp_path: Path) -> None:
    config = tmp_path / "feeds.toml"
    config.write_text('[settings]\nplayer = ["mpv", "--no-video", "%f"]\ndownload_dir = "~/Pods"\n\n'
                      '[[feed]]\nurl = "https://pod.example/rss"\ndownload = true\n', encoding="utf-8")
    loaded = load_config(config)
    assert loaded.settings.player == ["mpv", "--no-video", "%f"] and loaded.feeds[0].download
    for bad, message in (('player = "mpv %f"', "'player' must be a command as a list of strings"),
                         ('player = []', "'player' must be a command as a list of strings"),
                         ('download_dir = ""', "'download_dir' must name a folder")):
        config.write_text(f"[settings]\n{bad}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=message):
            load_config(config)
    config.write_text('[[feed]]\nurl = "https://pod.example/rss"\ndownload = "yes"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="'download' must be true or false"):
        load_config(config)


def test_a_download_another_live_process_holds_is_left_to_it(server: LocalServer, tmp_path: Path) -> None:
    config, target = _queue_one(tmp_path, server, b"abc")
    store = Store.open(tmp_path / "cache")
    [row] = downloads.rows(store)
    parent = os.getppid()  # alive, and not this process
    downloads.update(store, row.id, state="downloading", owner=parent)
    store.close()
    ended = asyncio.run(run_queue(load_config(config), tmp_path / "cache"))
    assert ended == [] and server.hits("/ep.mp3") == []


def test_a_public_feed_cannot_send_a_download_into_the_local_network(server: LocalServer, tmp_path: Path) -> None:
    from tui.model import Enclosure, FetchResult, ParsedArticle, ParsedFeed

    server.route("/admin", b"router page")
    public = "http://93.184.216.34/podcast.rss"
    config = tmp_path / "feeds.toml"
    config.write_text(f'[settings]\ndownload_dir = "media"\n\n[[feed]]\nurl = "{public}"\ndownload = true\n')
    store = Store.open(tmp_path / "cache")
    ids = store.ensure_feeds([public])
    episode = ParsedArticle(guid="e", title="Episode", enclosures=[Enclosure(server.url("/admin"), "audio/mpeg")])
    stats = store.save_fetch(ids[public], FetchResult("ok", public), ParsedFeed(articles=[episode]))
    assert downloads.queue_enclosures(store, stats.new_ids) == 1
    store.close()
    [row] = asyncio.run(run_queue(load_config(config), tmp_path / "cache"))
    assert row.state == "failed" and row.error == "an enclosure of a public feed on a private network address refused"
    assert server.hits("/admin") == []


def test_a_failed_download_without_a_part_goes_to_the_folder_of_now(server: LocalServer, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    config, target = _queue_one(tmp_path, server, b"audio", status=404)
    capsys.readouterr()
    assert main(["download", "-q", "--config", str(config)]) == 1  # cron hears of failures only
    out = capsys.readouterr().out
    assert out.startswith("FAILED") and "HTTP 404 Not Found" in out and out.endswith("0 downloads done, 1 failed\n")
    assert not target.parent.exists()  # nothing left behind, not even an empty folder for the feed
    config.write_text(config.read_text().replace('download_dir = "media"', 'download_dir = "Podcasts"'))
    server.route("/ep.mp3", b"audio", content_type="audio/mpeg", gzip=False)
    assert main(["download", "--retry", "-q", "--config", str(config)]) == 0
    assert capsys.readouterr().out == ""
    assert (tmp_path / "Podcasts" / "_Pod_ one" / "ep.mp3").read_bytes() == b"audio"


def test_downloads_follow_the_refresh_rules_for_redirects_and_stalls(server: LocalServer, tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    def stall(handler) -> None:  # type: ignore[no-untyped-def]
        handler.send_response(200)
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        handler.wfile.write(b"x" * 1000)
        handler.wfile.flush()
        time.sleep(5)

    server.route("/file.mp3", status=302, headers={"Location": "file:///etc/passwd"})
    server.route("/loop.mp3", status=302, headers={"Location": "/loop.mp3"})
    server.route("/stall.mp3", raw=stall)
    config = _config(tmp_path, _podcast(server, [(p, "audio/mpeg") for p in ("/file.mp3", "/loop.mp3", "/stall.mp3")]))
    config.write_text(config.read_text().replace("[settings]\n", "[settings]\ntimeout = 1\n"))
    assert main(["refresh", "--config", str(config), "-q"]) == 0
    assert _download(config) == 1
    out = capsys.readouterr().out
    assert "redirect to a non-http(s) URL refused" in out
    assert "too many redirects (10)" in out
    assert "stalled: nothing received for 1 s" in out
    assert "0 downloads done, 3 failed" in out
    assert not (tmp_path / "media" / "_Pod_ one" / "stall.mp3").exists()


def test_a_new_subscription_queues_its_newest_episode_and_then_every_new_one(
        server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, _podcast(server, [("/new.mp3", "audio/mpeg")], episodes=5))
    assert main(["refresh", "--config", str(config)]) == 0
    assert "1 enclosure queued" in capsys.readouterr().out  # not the back catalogue
    queued = {e["url"] for a in _json_articles(config, capsys) for e in a["enclosures"] if e["download"]}
    assert queued == {server.url("/new.mp3")}

    feed = server.routes["/pod.rss"].body.decode()
    newer = ("<item><guid>ep-new</guid><title>Newer</title><pubDate>26 May 2020 10:00:00 GMT</pubDate>"
             f'<enclosure url="{server.url("/newer.mp3")}" type="audio/mpeg"/></item>')
    server.route("/pod.rss", feed.replace("<item>", newer + "<item>", 1), content_type="application/rss+xml")
    assert main(["refresh", "--config", str(config)]) == 0
    assert "1 enclosure queued" in capsys.readouterr().out
    queued = {e["url"] for a in _json_articles(config, capsys) for e in a["enclosures"] if e["download"]}
    assert queued == {server.url("/new.mp3"), server.url("/newer.mp3")}


def test_an_enclosure_added_to_a_stored_episode_is_queued(server: LocalServer, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """A feed that publishes an episode's entry first and its file later: the file is queued
    when it appears. An older episode whose text changes is not queued again, and the file
    of an episode from before the subscription stays unqueued."""

    def publish(files: dict[int, list[str]], note: str = "") -> None:
        items = "".join(
            f"<item><guid>ep-{n}</guid><title>Episode {n}</title><description>Notes{note}</description>"
            f"<pubDate>{20 + n} May 2020 10:00:00 GMT</pubDate>"
            + "".join(f'<enclosure url="{server.url(path)}" type="audio/mpeg" length="9"/>' for path in paths)
            + "</item>" for n, paths in files.items())
        server.route("/late.rss", f'<?xml version="1.0"?><rss version="2.0"><channel><title>Late</title>{items}'
                     "</channel></rss>", content_type="application/rss+xml")

    publish({1: ["/f/1.mp3"], 2: ["/f/2.mp3"]})
    config = _config(tmp_path, server.url("/late.rss"))
    assert main(["refresh", "--config", str(config), "-q"]) == 0  # first refresh: the newest episode only
    queued = {e["url"] for a in _json_articles(config, capsys) for e in a["enclosures"] if e["download"]}
    assert queued == {server.url("/f/2.mp3")}

    publish({1: ["/f/1.mp3"], 2: ["/f/2.mp3"], 3: []})  # episode 3's entry, no file yet
    assert main(["refresh", "--config", str(config)]) == 0
    assert "queued" not in capsys.readouterr().out
    publish({1: ["/f/1.mp3"], 2: ["/f/2.mp3"], 3: ["/f/3.mp3"]}, note=" (edited)")  # its file, and every note edited
    assert main(["refresh", "--config", str(config)]) == 0
    assert "1 enclosure queued" in capsys.readouterr().out
    shown = {e["url"]: (e["download"] or {}).get("state") for a in _json_articles(config, capsys)
             for e in a["enclosures"]}
    assert shown == {server.url("/f/1.mp3"): None, server.url("/f/2.mp3"): "queued",
                     server.url("/f/3.mp3"): "queued"}
