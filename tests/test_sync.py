"""Sync with a real FreshRSS on 127.0.0.1 (Google Reader API): two caches against one
server are two machines; marks made with the server down reach it when it is back; a kill
during a sync loses no mark; the server's subscriptions are mirrored."""

from __future__ import annotations

import asyncio
import base64
import io
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.freshrss import User
from tests.helpers import DATA, PAGES, shared_path
from tests.server import LocalServer
from tui.cli.main import main
from tui.config import load_config
from tui.feeds.subscriptions import with_accounts
from tui.feeds.sync import sync
from tui.store.cache import Store

EMARLEY = DATA / "feeds" / "rsparser__EMarley.rss"


def machine(folder: Path, user: User, *, name: str = "home") -> Path:
    """A docbao of its own (feeds.toml + cache) with the user's account."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "feeds.toml"
    config.write_text(
        f'[[account]]\nname = "{name}"\ntype = "greader"\nurl = "{user.api_url}"\nuser = "{user.name}"\n'
        f'password_command = ["echo", "{user.api_password}"]\n', encoding="utf-8")
    return config


def run(config: Path, *args: str) -> int:
    return main([*args, "--config", str(config), "--cache", str(config.parent / "cache")])


def store_of(config: Path) -> Store:
    return Store.open(config.parent / "cache")


def article_id(config: Path, title: str) -> int:
    store = store_of(config)
    try:
        return int(store.conn.execute("SELECT id FROM articles WHERE title = ?", (title,)).fetchone()[0])
    finally:
        store.close()


def states(config: Path) -> dict[str, tuple[bool, bool]]:
    store = store_of(config)
    try:
        return {title: (bool(read), bool(starred)) for title, read, starred in
                store.conn.execute("SELECT title, read, starred FROM articles")}
    finally:
        store.close()


def installed(tmp_path: Path, *args: str):  # type: ignore[no-untyped-def]
    """The installed docbao with `args` in a pseudo-terminal of 30 × 160."""
    pexpect = pytest.importorskip("pexpect")
    command = shutil.which("docbao", path=str(Path(sys.executable).parent))
    if command is None:
        pytest.skip("the docbao command is not installed (pip install -e .)")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "TERM": "xterm-256color",
           "LANG": "C.UTF-8", "TZ": "UTC", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    child = pexpect.spawn(command, list(args), env=env, dimensions=(30, 160), timeout=60)
    child.logfile_read = io.BytesIO()
    return child


@pytest.fixture
def feeds_server() -> LocalServer:
    with LocalServer() as srv:
        srv.route("/emarley.rss", body=EMARLEY.read_bytes(), content_type="application/rss+xml")
        srv.route("/rsc.atom", body=shared_path("corpus", "large", "rsparser__russcox.atom").read_bytes(),
                  content_type="application/atom+xml")
        yield srv


def test_account_feeds_and_items_arrive_with_labels(freshrss_user: User, feeds_server: LocalServer,
                                                    tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    api = freshrss_user.client()
    api.subscribe(feeds_server.url("/emarley.rss"), label="Tech")
    config = machine(tmp_path / "a", freshrss_user)

    assert run(config, "sync") == 0
    out = capsys.readouterr().out
    assert "account home: 10 new" in out

    loaded = with_accounts(load_config(config), config.parent / "cache")
    [feed] = loaded.feeds
    assert feed.account == "home" and feed.tags == ["home", "Tech"]
    assert run(config, "feeds") == 0
    assert "10" in capsys.readouterr().out
    # stored like any article: searchable
    assert run(config, "search", "title:Emarley", "--json") in (0, 1)
    titles = {item["title"] for item in api.items()}
    assert set(states(config)) == titles


def test_a_star_on_one_machine_shows_on_the_other(freshrss_user: User, feeds_server: LocalServer,
                                                  tmp_path: Path) -> None:
    api = freshrss_user.client()
    api.subscribe(feeds_server.url("/emarley.rss"))
    api.subscribe(feeds_server.url("/rsc.atom"))
    laptop, desktop = machine(tmp_path / "laptop", freshrss_user), machine(tmp_path / "desktop", freshrss_user)
    assert run(laptop, "sync") == 0
    assert run(desktop, "sync") == 0
    titles = sorted(states(laptop))
    assert len(titles) == 29 and states(desktop) == states(laptop)
    starred_title, read_title = titles[0], titles[1]

    store = store_of(laptop)
    store.set_starred(article_id(laptop, starred_title), True)
    store.set_read([article_id(laptop, read_title)])
    store.close()
    assert run(laptop, "sync") == 0
    assert starred_title in api.starred_titles()

    assert states(desktop)[starred_title] == (False, False)
    assert run(desktop, "sync") == 0
    assert states(desktop)[starred_title] == (False, True)
    assert states(desktop)[read_title] == (True, False)

    # and back: the desktop marks everything read and unstars; the laptop follows
    store = store_of(desktop)
    store.mark_all_read()
    store.set_starred(article_id(desktop, starred_title), False)
    store.close()
    assert run(desktop, "sync") == 0
    assert run(laptop, "sync") == 0
    assert set(states(laptop).values()) == {(True, False)}
    assert api.starred_titles() == set()


def test_marks_made_while_the_server_is_down_reach_it_later(freshrss_user: User, feeds_server: LocalServer,
                                                            tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    api = freshrss_user.client()
    api.subscribe(feeds_server.url("/emarley.rss"))
    config = machine(tmp_path / "a", freshrss_user)
    assert run(config, "sync") == 0
    titles = sorted(states(config))

    freshrss_user.server.stop()
    try:
        store = store_of(config)
        store.set_starred(article_id(config, titles[0]), True)
        store.set_read([article_id(config, t) for t in titles[:4]])
        store.close()
        capsys.readouterr()
        assert run(config, "sync") == 1
        assert "account home: not synced" in capsys.readouterr().err
        # the reader's cache still has everything, marks included
        assert states(config)[titles[0]] == (True, True)
        assert run(config, "articles", "--starred") == 0
        assert titles[0] in capsys.readouterr().out
        assert run(config, "feeds") == 0
        assert "account home: last synced" in (out := capsys.readouterr().out)
        assert "5 marks waiting to be sent" in out and "connection refused" in out
    finally:
        freshrss_user.server.start()

    assert run(config, "sync") == 0
    api = freshrss_user.client()
    assert api.starred_titles() == {titles[0]}
    unread = {item["title"] for item in api.items() if "user/-/state/com.google/read" not in item["categories"]}
    assert unread == set(titles[4:])
    assert states(config)[titles[0]] == (True, True)  # the server's state did not undo the marks


def test_a_kill_during_a_sync_loses_no_mark(freshrss_user: User, tmp_path: Path) -> None:
    big = shared_path("corpus", "large", "rss-parser__giantbomb-podcast.rss")
    with LocalServer() as srv:
        srv.route("/giant.rss", body=big.read_bytes(), content_type="application/rss+xml")
        api = freshrss_user.client()
        api.subscribe(srv.url("/giant.rss"))
    config = machine(tmp_path / "a", freshrss_user)
    assert run(config, "sync") == 0
    store = store_of(config)
    marked = store.mark_all_read()
    assert len(marked) > 500
    store.close()

    log = freshrss_user.server.data / "server.log"
    seen = log.stat().st_size
    process = subprocess.Popen([sys.executable, "-m", "tui", "sync", "--config", str(config),
                                "--cache", str(config.parent / "cache")],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        with log.open("rb") as handle:
            handle.seek(seen)
            if b"edit-tag" in handle.read():
                os.kill(process.pid, signal.SIGKILL)  # between two batches of marks
                break
        time.sleep(0.005)
    process.wait()

    store = store_of(config)
    left = len(store.pending_marks("home"))
    store.close()
    server_read = api.ids("user/-/state/com.google/reading-list", it="user/-/state/com.google/read")
    assert left + len(server_read) >= len(marked)  # every mark is on the server or still queued
    assert run(config, "sync") == 0
    assert len(api.ids("user/-/state/com.google/reading-list", it="user/-/state/com.google/read")) == len(marked)
    assert set(states(config).values()) == {(True, False)}


def test_feeds_added_renamed_and_removed_on_the_server_are_mirrored(
        freshrss_user: User, feeds_server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    api = freshrss_user.client()
    first = api.subscribe(feeds_server.url("/emarley.rss"))
    config = machine(tmp_path / "a", freshrss_user)
    assert run(config, "sync") == 0

    second = api.subscribe(feeds_server.url("/rsc.atom"), label="Go")
    api.post("subscription/edit", [("ac", "edit"), ("s", first), ("t", "Renamed on the server")])
    capsys.readouterr()
    assert run(config, "sync") == 0
    assert "feeds +1 -0" in capsys.readouterr().out
    loaded = with_accounts(load_config(config), config.parent / "cache")
    assert {(f.title, tuple(f.tags)) for f in loaded.feeds} == {
        ("Renamed on the server", ("home", "Uncategorized")), (next(s["title"] for s in api.get("subscription/list")["subscriptions"]
                                               if s["id"] == second), ("home", "Go"))}
    assert len(states(config)) == 29

    api.post("subscription/edit", [("ac", "unsubscribe"), ("s", first)])
    assert run(config, "sync") == 0
    loaded = with_accounts(load_config(config), config.parent / "cache")
    assert [f.tags for f in loaded.feeds] == [["home", "Go"]]
    assert len(states(config)) == 19


def test_refresh_syncs_the_account_beside_plain_feeds(freshrss_user: User, feeds_server: LocalServer,
                                                      tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    freshrss_user.client().subscribe(feeds_server.url("/emarley.rss"))
    config = machine(tmp_path / "a", freshrss_user)
    with config.open("a", encoding="utf-8") as handle:
        handle.write(f'\n[[feed]]\nurl = "{feeds_server.url("/rsc.atom")}"\n')
    assert run(config, "refresh") == 0
    out = capsys.readouterr().out
    assert "account home: 10 new" in out and "1 feed: 19 new" in out
    assert len(states(config)) == 29
    # the account's feed is fetched by the server, never by docbao
    assert sum(1 for r in feeds_server.requests if r.path == "/emarley.rss") == 1


def test_no_password_is_reported_and_nothing_is_lost(freshrss_user: User, feeds_server: LocalServer,
                                                     tmp_path: Path) -> None:
    freshrss_user.client().subscribe(feeds_server.url("/emarley.rss"))
    config = machine(tmp_path / "a", freshrss_user)
    config.write_text(config.read_text().replace("password_command = [\"echo\"", "password_command = [\"false\""))
    loaded = load_config(config)
    report = asyncio.run(sync(loaded, config.parent / "cache"))
    [outcome] = report.accounts
    assert not outcome.ok and "password_command exited with status 1" in outcome.error


def test_account_config_is_checked_and_a_password_in_a_shared_file_is_warned(tmp_path: Path) -> None:
    from tui.config import ConfigError

    path = tmp_path / "feeds.toml"
    path.write_text('[[account]]\nname = "home"\nurl = "https://rss.example.org/api/greader.php"\n'
                    'user = "alice"\npassword = "secret"\n', encoding="utf-8")
    path.chmod(0o644)
    config = load_config(path)
    assert [a.name for a in config.accounts] == ["home"]
    assert any("chmod 600" in w and ":5:" in w for w in config.warnings)
    path.chmod(0o600)
    assert load_config(path).warnings == []

    path.write_text('[[account]]\nname = "home"\nurl = "ftp://x/y"\npassword_command = "pass show x"\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert ":3: [[account]] #1 key 'url' must be the server's http(s) API address" in message
    assert "needs a 'user' string" in message and "'password_command' must be a command as a list" in message


def test_the_installed_reader_works_with_the_server_down_and_its_marks_reach_it(
        freshrss_user: User, feeds_server: LocalServer, tmp_path: Path) -> None:
    """As a user: `docbao sync` in a terminal, then the reader with the server unreachable
    (a wrong address): the account's feed is there, an article is read, R says the account
    was not synced; back on the right address, `docbao sync` takes the mark to the server."""
    pexpect = pytest.importorskip("pexpect")

    api = freshrss_user.client()
    api.subscribe(feeds_server.url("/emarley.rss"))
    config = machine(tmp_path / "a", freshrss_user)
    args = ["--config", str(config), "--cache", str(config.parent / "cache")]

    child = installed(tmp_path, "sync", *args)
    child.expect(b"account home: 10 new")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    right = config.read_text()
    config.write_text(right.replace(freshrss_user.server.base, "http://127.0.0.1:9"))
    child = installed(tmp_path, *args)
    try:
        child.expect(b"Liz Ma")
        child.send("R")
        child.expect(b"not synced")
        # the account's feed (under its folder "home"), its newest article opened: read
        child.send("jjjj\r")
        child.send("\r")
        deadline = time.monotonic() + 30
        while not store_pending(config) and time.monotonic() < deadline:
            child.expect([pexpect.TIMEOUT, b"\x1b"], timeout=0.5)
        child.send("Q")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.logfile_read.getvalue()[-3000:]
    [(_, item, kind, value)] = store_pending(config)
    assert (kind, value) == ("read", True)
    child = installed(tmp_path, "sync", *args)  # still unreachable: the mark is kept, and that is said
    child.expect(rb"account home: not synced: [^\r\n]*; 1 mark waits to be sent at the next sync")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1

    config.write_text(right)
    assert run(config, "sync") == 0
    assert api.ids("user/-/state/com.google/reading-list", it="user/-/state/com.google/read") == {item}


def store_pending(config: Path) -> list[tuple[int, int, str, bool]]:
    store = store_of(config)
    try:
        return store.pending_marks("home")
    finally:
        store.close()


def test_the_client_logs_in_again_on_401(freshrss_user: User, feeds_server: LocalServer) -> None:
    from tui.feeds.greader import Client

    freshrss_user.client().subscribe(feeds_server.url("/emarley.rss"))

    async def go() -> tuple[list[str], str]:
        async with Client(freshrss_user.api_url, freshrss_user.name, freshrss_user.api_password,
                          auth=f"{freshrss_user.name}/0000000000000000000000000000000000000000") as client:
            subs = await client.subscriptions()  # the stale token gets a 401, then a new login
            return [s.title for s in subs], client.auth

    titles, auth = asyncio.run(go())
    assert titles == ["Stories by Liz Marley on Medium"] and not auth.endswith("0000")


def test_the_client_waits_as_a_busy_server_asks(server: LocalServer) -> None:
    from tui.feeds.greader import Client, SyncError

    answers = iter([(429, {"Retry-After": "1"}), (503, {}), (200, {})])

    def busy(handler) -> None:  # type: ignore[no-untyped-def]
        status, headers = next(answers, (200, {}))
        body = b'{"subscriptions": [{"id": "feed/7", "title": "Seven", "url": "http://x/"}]}' if status == 200 else b""
        handler.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    server.route("/api/reader/api/0/subscription/list", raw=busy)

    async def go(deadline: float) -> list[str]:
        async with Client(server.url("/api"), "u", "p", auth="u/token", deadline=deadline) as client:
            return [s.title for s in await client.subscriptions()]

    assert asyncio.run(go(30)) == ["Seven"]
    assert len(server.hits("/api/reader/api/0/subscription/list")) == 3  # 429, 503, then the answer

    server.route("/api/reader/api/0/subscription/list", status=503, headers={"Retry-After": "120"})
    with pytest.raises(SyncError, match="asks to wait 120 s, longer than the deadline"):
        asyncio.run(go(2))  # a wait longer than the deadline ends in an error at once, not a hang


def test_add_and_remove_an_account_feed_go_through_the_server(
        freshrss_user: User, feeds_server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = machine(tmp_path / "a", freshrss_user)
    assert run(config, "add", feeds_server.url("/emarley.rss"), "--account", "home", "--tag", "Tech") == 0
    out = capsys.readouterr().out
    assert "on the account home (feed/" in out and "account home: 10 new" in out
    api = freshrss_user.client()
    [sub] = api.get("subscription/list")["subscriptions"]
    assert [c["label"] for c in sub["categories"]] == ["Tech"]
    assert "[[feed]]" not in config.read_text()  # the server holds the subscription, not feeds.toml

    assert run(config, "remove", "Stories by Liz Marley on Medium", "--yes") == 0
    assert "Removed" in capsys.readouterr().out
    assert api.get("subscription/list")["subscriptions"] == []
    assert states(config) == {}
    assert with_accounts(load_config(config), config.parent / "cache").feeds == []

    assert run(config, "add", feeds_server.url("/emarley.rss"), "--account", "work") == 2


def test_an_opml_file_is_imported_into_the_account(
        freshrss_user: User, feeds_server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = machine(tmp_path / "a", freshrss_user)
    opml = tmp_path / "subs.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>mine</title></head><body>'
        f'<outline text="Go" title="Go"><outline type="rss" text="rsc" xmlUrl="{feeds_server.url("/rsc.atom")}"/></outline>'
        f'<outline type="rss" text="Liz" xmlUrl="{feeds_server.url("/emarley.rss")}"/>'
        f'<outline type="rss" text="gone" xmlUrl="{feeds_server.url("/missing.xml")}"/>'
        '</body></opml>', encoding="utf-8")
    assert run(config, "import", str(opml), "--account", "home") == 1  # one feed could not be had
    captured = capsys.readouterr()
    assert "2 feeds subscribed on the account home" in captured.out
    assert "account home: 29 new" in captured.out
    assert "not subscribed: " + feeds_server.url("/missing.xml") in captured.err
    labels = {s["url"]: [c["label"] for c in s["categories"]]
              for s in freshrss_user.client().get("subscription/list")["subscriptions"]}
    assert labels[feeds_server.url("/rsc.atom")] == ["Go"]
    assert "[[feed]]" not in config.read_text()


def test_a_hostile_server_item_is_stored_as_inert_text() -> None:
    """What the server sends is feed text: no escape sequence, markup or script survives."""
    from tui.feeds.sync import _article

    number, article, read, starred = _article({
        "id": "tag:google.com,2005:reader/item/000000000000002a",
        "title": "\x1b]52;c;SGFja2Vk\x07[@click=app.quit]Click me[/] <b>bold</b>",
        "author": "\x9b31mEve\u202e",
        "canonical": [{"href": "javascript:alert(1)"}], "alternate": [{"href": "https://ok.example/a"}],
        "summary": {"content": '<p onclick="x()">Body</p><script>alert(1)</script><img src="https://i.example/p.png">'},
        "enclosure": [{"href": "file:///etc/passwd", "type": "audio/mpeg"}],
        "categories": ["user/-/state/com.google/reading-list", "user/1005/state/com.google/starred"],
    }) or (0, None, False, False)
    assert number == 42 and article is not None and not read and starred
    assert "\x1b" not in article.title and "\x07" not in article.title
    assert "[@click=app.quit]Click me[/]" in article.title and "<b>" not in article.title
    assert article.author == "Eve"  # the C1 CSI (the whole sequence) and the bidi override are gone
    assert article.link == "https://ok.example/a"
    assert "script" not in article.content and "onclick" not in article.content and "Body" in article.content
    assert article.enclosures == []


def test_marks_on_plain_feeds_queue_nothing(feeds_server: LocalServer, tmp_path: Path) -> None:
    config = tmp_path / "feeds.toml"
    config.write_text(f'[[feed]]\nurl = "{feeds_server.url("/emarley.rss")}"\n', encoding="utf-8")
    assert run(config, "refresh") == 0
    store = store_of(config)
    try:
        store.mark_all_read()
        store.set_starred(store.article_ids()[0], True)
        assert store.conn.execute("SELECT count(*) FROM mark_queue").fetchone()[0] == 0
    finally:
        store.close()


def test_reader_mode_prefetch_covers_the_accounts_feeds(freshrss_user: User, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    with LocalServer() as srv:
        srv.route("/bai-viet-0.html", (PAGES / "seed-page.html").read_bytes(), content_type="text/html; charset=utf-8")
        feed = srv.route("/rss", (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Báo Thái Nguyên</title>'
            f'<item><title>Lãnh đạo Trung ương làm việc</title><link>{srv.url("/bai-viet-0.html")}</link>'
            '<guid>tn-0</guid><description>Ngày 23/5, đồng chí Phạm Minh Chính đã làm việc.</description></item>'
            '</channel></rss>').encode(), content_type="application/rss+xml")
        freshrss_user.client().subscribe(feed)
        config = machine(tmp_path / "a", freshrss_user)
        assert run(config, "refresh", "--full-text") == 0
        assert "full articles: 1 fetched, 0 failed" in capsys.readouterr().out
    assert run(config, "read", str(article_id(config, "Lãnh đạo Trung ương làm việc")), "--full") == 0
    assert "Thu Hiền" in capsys.readouterr().out  # the page's byline: read from the cache, offline


@contextmanager
def reader_on_account(user: User, feeds_server: LocalServer, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The installed reader on a synced cache of the account (one feed), quit with Q at the end."""
    pexpect = pytest.importorskip("pexpect")
    api = user.client()
    api.subscribe(feeds_server.url("/emarley.rss"))
    config = machine(tmp_path / "a", user)
    assert run(config, "sync") == 0
    child = installed(tmp_path, "--config", str(config), "--cache", str(config.parent / "cache"))
    try:
        child.expect(b"Liz Ma")
        yield api, config, child
        child.send("Q")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.logfile_read.getvalue()[-3000:]


def test_a_feed_added_on_the_server_appears_in_the_open_reader_after_R(
        freshrss_user: User, feeds_server: LocalServer, tmp_path: Path) -> None:
    with reader_on_account(freshrss_user, feeds_server, tmp_path) as (api, config, child):
        api.subscribe(feeds_server.url("/rsc.atom"), label="Golang")
        child.send("R")
        child.expect(b"Golang")  # the server's label, a folder of the feed list
        child.expect(b"refreshed")
    assert len(states(config)) == 29


def test_export_names_an_account_feed_by_its_own_address(freshrss_user: User, feeds_server: LocalServer,
                                                         tmp_path: Path) -> None:
    """The OPML is for other readers: an account's feed goes in by the address the server
    fetches, with the server's labels as folders; the JSON backup keeps it, and an import
    elsewhere says what to do for it."""
    api = freshrss_user.client()
    api.subscribe(feeds_server.url("/emarley.rss"), label="Blogs")
    config = machine(tmp_path / "a", freshrss_user)
    assert run(config, "sync") == 0
    opml = tmp_path / "subs.opml"
    assert run(config, "export", "-o", str(opml)) == 0
    text = opml.read_text(encoding="utf-8")
    assert f'xmlUrl="{feeds_server.url("/emarley.rss")}"' in text and "greader:" not in text
    assert 'text="Blogs"' in text
    backup = tmp_path / "backup.json"
    assert run(config, "export", "-o", str(backup)) == 0  # .json: the backup
    assert backup.read_text(encoding="utf-8").startswith("{")
    elsewhere = tmp_path / "b" / "feeds.toml"
    elsewhere.parent.mkdir()
    elsewhere.write_text("", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "tui", "--config", str(elsewhere), "import", str(backup)],
                            capture_output=True, text=True)
    assert "an account's feed: its server subscribes it" in result.stdout + result.stderr


def test_a_feed_a_sync_in_another_process_brings_appears_in_the_open_reader(
        freshrss_user: User, feeds_server: LocalServer, tmp_path: Path) -> None:
    """A cron or shell `docbao sync` stores a feed the server gained: the open reader shows
    it in the feed list with no key pressed, as it shows what a `docbao refresh` stores."""
    with reader_on_account(freshrss_user, feeds_server, tmp_path) as (api, config, child):
        api.subscribe(feeds_server.url("/rsc.atom"), label="Golang")
        assert run(config, "sync") == 0
        child.expect(b"Golang", timeout=20)  # the server's label, a folder of the feed list
    assert len(states(config)) == 29


def test_a_in_the_accounts_folder_subscribes_on_its_server(
        freshrss_user: User, feeds_server: LocalServer, tmp_path: Path) -> None:
    with reader_on_account(freshrss_user, feeds_server, tmp_path) as (api, config, child):
        child.send("jjj")  # All, Unread, Starred, then the account's folder "home"
        child.send("a")
        child.expect(b"Subscribe the account home to")
        child.send(feeds_server.url("/rsc.atom") + "\r")
        child.expect(b"Subscribed to")
    assert feeds_server.url("/rsc.atom") in {s["url"] for s in api.get("subscription/list")["subscriptions"]}
    assert "[[feed]]" not in config.read_text()
    assert len(states(config)) == 29



def test_a_new_account_has_its_folder_before_its_first_sync(
        freshrss_user: User, feeds_server: LocalServer, tmp_path: Path) -> None:
    """An account just written into feeds.toml, never synced, no feed anywhere: its folder
    is in the feed list at once, and `a` there subscribes on its server."""
    pexpect = pytest.importorskip("pexpect")
    config = machine(tmp_path / "a", freshrss_user)
    child = installed(tmp_path, "--config", str(config), "--cache", str(config.parent / "cache"))
    try:
        child.expect(b"home")  # the account's folder, on the first screen
        child.expect(b"press R to sync")  # and what to press
        child.send("jjj")  # All, Unread, Starred, then the account's folder
        child.send("a")
        child.expect(b"Subscribe the account home to")
        child.send(feeds_server.url("/rsc.atom") + "\r")
        child.expect(b"Subscribed to")
        child.send("Q")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.logfile_read.getvalue()[-3000:]
    assert feeds_server.url("/rsc.atom") in {s["url"] for s in freshrss_user.client().get("subscription/list")["subscriptions"]}
    assert "[[feed]]" not in config.read_text()

def test_marks_from_two_machines_meet_and_the_later_one_wins(freshrss_user: User, feeds_server: LocalServer,
                                                             tmp_path: Path) -> None:
    """The documented rule: the mark that reaches the server last wins; a star made on one
    machine survives the other machine's marks on the same article."""
    freshrss_user.client().subscribe(feeds_server.url("/emarley.rss"))
    laptop, desktop = machine(tmp_path / "laptop", freshrss_user), machine(tmp_path / "desktop", freshrss_user)
    assert run(laptop, "sync") == 0 and run(desktop, "sync") == 0
    first, second = sorted(states(laptop))[:2]

    store = store_of(laptop)
    store.set_starred(article_id(laptop, first), True)  # not synced yet
    store.set_read([article_id(laptop, second)])
    store.close()
    store = store_of(desktop)
    store.set_read([article_id(desktop, first)])
    store.set_read([article_id(desktop, second)], False)  # unread again: no change, nothing queued
    store.set_read([article_id(desktop, second)])
    store.set_read([article_id(desktop, second)], False)  # read then unread: the last one is queued
    store.close()
    assert run(desktop, "sync") == 0
    assert run(laptop, "sync") == 0  # the laptop's marks reach the server last
    assert run(desktop, "sync") == 0
    for machine_ in (laptop, desktop):
        assert states(machine_)[first] == (True, True)  # desktop's read and laptop's star, both kept
        assert states(machine_)[second] == (True, False)  # laptop's read came last: it wins


async def test_a_new_account_is_synced_by_the_first_automatic_refresh(
        freshrss_user: User, feeds_server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An account never synced (no feed of it in the cache yet) is due at the reader's first
    automatic look, even with no auto_refresh_minutes (the reader looks because a local feed
    has its own refresh_minutes, not due yet)."""
    import tui.ui.screens.refreshing
    from tui.ui.app import DocbaoApp

    monkeypatch.setattr(tui.ui.screens.refreshing, "LOOK_EVERY", 0.05)
    freshrss_user.client().subscribe(feeds_server.url("/emarley.rss"))
    config_path = machine(tmp_path / "a", freshrss_user)
    with config_path.open("a", encoding="utf-8") as handle:
        handle.write(f'\n[[feed]]\nurl = "{feeds_server.url("/rsc.atom")}"\nrefresh_minutes = 30\n')
    cache_dir = config_path.parent / "cache"
    assert await asyncio.to_thread(run, config_path, "refresh", "--feed", feeds_server.url("/rsc.atom")) == 0
    assert len(states(config_path)) == 19
    config = with_accounts(load_config(config_path), cache_dir)
    app = DocbaoApp(config, cache_dir)
    async with app.run_test(size=(120, 36)) as pilot:
        for _ in range(400):
            await pilot.pause(0.05)
            if len(await asyncio.to_thread(states, config_path)) == 29:
                break
        await app.workers.wait_for_complete()
    assert len(states(config_path)) == 29
    assert sum(1 for r in feeds_server.requests if r.path == "/rsc.atom") == 1  # the local feed was not due


def test_the_login_is_kept_between_syncs_until_the_server_refuses_it(
        freshrss_user: User, feeds_server: LocalServer, tmp_path: Path) -> None:
    """One ClientLogin for many syncs: the Auth token is kept in the cache; a token the
    server refuses (401) gets a new login, kept in its place. With a kept login, a sync
    needs no password at all."""
    freshrss_user.client().subscribe(feeds_server.url("/emarley.rss"))
    config = machine(tmp_path / "a", freshrss_user)
    log = freshrss_user.server.data / "server.log"

    def logins_since(seen: int) -> int:
        with log.open("rb") as handle:
            handle.seek(seen)
            return sum(1 for line in handle if b"accounts/ClientLogin" in line and b"]: POST" in line)

    seen = log.stat().st_size
    assert run(config, "sync") == 0 and run(config, "sync") == 0
    assert logins_since(seen) == 1 and len(states(config)) == 10
    store = store_of(config)
    kept = store.account_state("home").auth
    store.close()
    assert kept.startswith(freshrss_user.name + "/")

    # the password command now fails: the kept login is enough
    config.write_text(config.read_text().replace('password_command = ["echo"', 'password_command = ["false"'))
    seen = log.stat().st_size
    assert run(config, "sync") == 0 and logins_since(seen) == 0
    config.write_text(config.read_text().replace('password_command = ["false"', 'password_command = ["echo"'))

    store = store_of(config)
    store.save_account_state("home", auth=f"{freshrss_user.name}/{'0' * 40}")  # refused by the server
    store.close()
    seen = log.stat().st_size
    assert run(config, "sync") == 0 and run(config, "sync") == 0
    assert logins_since(seen) == 1
    store = store_of(config)
    assert store.account_state("home").auth == kept
    store.close()


def test_an_account_feed_shows_its_own_address_and_its_account(
        freshrss_user: User, feeds_server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`docbao feeds --json` and `articles --json` give an account's feed the address its
    server subscribed to (never the cache's key) and name the account in `account`; that
    address names the feed in --feed."""
    import json

    emarley = feeds_server.url("/emarley.rss")
    freshrss_user.client().subscribe(emarley)
    config = machine(tmp_path / "a", freshrss_user)
    with config.open("a", encoding="utf-8") as handle:
        handle.write(f'\n[[feed]]\nurl = "{feeds_server.url("/rsc.atom")}"\n')
    assert run(config, "refresh") == 0
    capsys.readouterr()

    assert run(config, "feeds", "--json") == 0
    feeds = {f["url"]: f["account"] for f in map(json.loads, capsys.readouterr().out.splitlines())}
    assert feeds == {feeds_server.url("/rsc.atom"): None, emarley: "home"}

    assert run(config, "articles", "--json", "--feed", emarley) == 0
    articles = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(articles) == 10 and {(a["feed_url"], a["account"]) for a in articles} == {(emarley, "home")}
    assert run(config, "search", "Liz", "--json") == 0
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert hits and all(h["feed_url"] == emarley and h["account"] == "home" for h in hits)
    assert "greader:" not in json.dumps([feeds, articles, hits])


async def test_R_counts_only_the_feeds_fetched_over_http_and_names_the_account_it_syncs(
        freshrss_user: User, feeds_server: LocalServer, tmp_path: Path) -> None:
    """The account's feeds are not fetched by docbao: R's status line says "syncing home…"
    while the account syncs, then counts the one [[feed]] (never 2)."""
    from tests.pilot import status
    from tui.ui.app import DocbaoApp

    api = freshrss_user.client()
    api.subscribe(feeds_server.url("/emarley.rss"))
    config_path = machine(tmp_path / "a", freshrss_user)
    slow = feeds_server.route("/slow.atom", body=shared_path("corpus", "large", "rsparser__russcox.atom").read_bytes(),
                              content_type="application/atom+xml", delay=1.5)
    with config_path.open("a", encoding="utf-8") as handle:
        handle.write(f'\n[[feed]]\nurl = "{slow}"\n')
    assert await asyncio.to_thread(run, config_path, "refresh") == 0  # the account's feed is in the cache
    # a password asked for slowly, so that the account's sync lasts long enough to be seen
    config_path.write_text(config_path.read_text().replace(
        f'password_command = ["echo", "{freshrss_user.api_password}"]',
        f'password_command = ["sh", "-c", "sleep 1.5; echo {freshrss_user.api_password}"]'))
    store = store_of(config_path)
    store.save_account_state("home", auth="")  # a login is needed, and so the password
    store.close()
    api.subscribe(feeds_server.url("/rsc.atom"))
    config = with_accounts(load_config(config_path), config_path.parent / "cache")
    assert len(config.feeds) == 2
    app = DocbaoApp(config, config_path.parent / "cache")
    seen: list[str] = []
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("R")
        while app.screen.refreshing:  # type: ignore[attr-defined]
            text = status(app)
            if not seen or seen[-1] != text:
                seen.append(text)
            await pilot.pause(0.05)
        await app.workers.wait_for_complete()
        await pilot.pause()
        seen.append(status(app))
    shown = " | ".join(seen)
    assert "syncing home…" in shown and "refreshing 0/1 feeds…" in shown and "/2" not in shown, shown
    assert shown.index("syncing home…") < shown.index("refreshing 0/1 feeds…")
    assert "refreshed" in seen[-1] and "19 new" in seen[-1]  # the feed the server added meanwhile


async def test_T_on_an_account_feed_changes_its_labels_on_the_server(
        freshrss_user: User, feeds_server: LocalServer, tmp_path: Path) -> None:
    """T on an account's feed offers the server's labels; what is typed goes to the server
    (subscription/edit a=/r=), and the sync that follows mirrors it: the feed moves folder."""
    from textual.widgets import Input

    from tests.pilot import go_to_feed, lines, panes
    from tui.ui.app import DocbaoApp
    from tui.ui.screens.prompts import TextPrompt

    api = freshrss_user.client()
    stream = api.subscribe(feeds_server.url("/emarley.rss"), label="Tech")
    config_path = machine(tmp_path / "a", freshrss_user)
    assert await asyncio.to_thread(run, config_path, "sync") == 0
    cache_dir = config_path.parent / "cache"
    config = with_accounts(load_config(config_path), cache_dir)
    [feed] = config.feeds
    store = store_of(config_path)
    feed_id = store.feed_ids([feed.url])[feed.url]
    store.close()
    app = DocbaoApp(config, cache_dir)
    async with app.run_test(size=(120, 36)) as pilot:
        await go_to_feed(pilot, app, f"tag:Tech/feed:{feed_id}")
        await pilot.press("T")
        await pilot.pause()
        assert isinstance(app.screen, TextPrompt)
        assert app.screen.query_one(Input).value == "Tech"  # the server's labels, not the account's folder
        app.screen.query_one(Input).value = "Reading"
        await pilot.press("enter")
        for _ in range(200):
            await app.workers.wait_for_complete()
            await pilot.pause(0.05)
            if any("Labels on the server" in n.message for n in app._notifications):
                break
        assert any(n.message == "Labels on the server: Reading" for n in app._notifications)
        shown = " | ".join(lines(panes(app)[0]))
        assert "Reading" in shown and "Tech" not in shown, shown
    [sub] = api.get("subscription/list")["subscriptions"]
    assert sub["id"] == stream and [c["label"] for c in sub["categories"]] == ["Reading"]
    assert [f.tags for f in with_accounts(load_config(config_path), cache_dir).feeds] == [["home", "Reading"]]


def test_an_account_feed_is_renamed_and_relabelled_through_its_server(
        freshrss_user: User, feeds_server: LocalServer, tmp_path: Path) -> None:
    from tui.feeds.sync import edit_feed

    api = freshrss_user.client()
    api.subscribe(feeds_server.url("/emarley.rss"), label="Tech")
    config_path = machine(tmp_path / "a", freshrss_user)
    assert run(config_path, "sync") == 0
    cache_dir = config_path.parent / "cache"
    config = with_accounts(load_config(config_path), cache_dir)
    outcome = asyncio.run(edit_feed(config, cache_dir, config.feeds[0], title="Liz's notes", labels=[]))
    assert outcome.ok
    [sub] = api.get("subscription/list")["subscriptions"]
    assert sub["title"] == "Liz's notes"
    [feed] = with_accounts(load_config(config_path), cache_dir).feeds
    assert feed.title == "Liz's notes" and feed.tags == ["home", sub["categories"][0]["label"]] != ["home", "Tech"]


def test_the_password_comes_from_the_keyring(freshrss_user: User, feeds_server: LocalServer, tmp_path: Path) -> None:
    """An account without password_command or password: the installed docbao finds the
    password in the system keyring (here keyrings.alt's plaintext file backend, chosen in the
    user's keyringrc.cfg as a user would), under service 'docbao', user 'NAME:USER'."""
    pexpect = pytest.importorskip("pexpect")
    pytest.importorskip("keyrings.alt")
    freshrss_user.client().subscribe(feeds_server.url("/emarley.rss"))
    config = machine(tmp_path / "a", freshrss_user)
    config.write_text("\n".join(line for line in config.read_text().splitlines()
                                if not line.startswith("password_command")) + "\n")
    (tmp_path / "config" / "python_keyring").mkdir(parents=True)
    (tmp_path / "config" / "python_keyring" / "keyringrc.cfg").write_text(
        "[backend]\ndefault-keyring=keyrings.alt.file.PlaintextKeyring\n")
    args = ["sync", "--config", str(config), "--cache", str(config.parent / "cache")]

    child = installed(tmp_path, *args)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert b"no password (set password_command, or store it in the keyring as service 'docbao'" in \
        child.logfile_read.getvalue()

    setter = subprocess.run(
        [sys.executable, "-c", "import keyring, sys; keyring.set_password('docbao', sys.argv[1], sys.argv[2])",
         f"home:{freshrss_user.name}", freshrss_user.api_password],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
             "XDG_CONFIG_HOME": str(tmp_path / "config")}, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    assert setter.returncode == 0, setter.stderr
    assert base64.b64encode(freshrss_user.api_password.encode()) in b"".join(
        path.read_bytes() for path in tmp_path.rglob("keyring_pass.cfg"))  # the file backend holds it

    child = installed(tmp_path, *args)
    child.expect(b"account home: 10 new")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


async def test_the_status_line_says_which_account_was_not_synced(tmp_path: Path) -> None:
    """With the server unreachable, R's result in the status line names the account (the
    toast goes; the status line stays)."""
    from tests.pilot import status
    from tui.ui.app import DocbaoApp

    config_path = tmp_path / "feeds.toml"
    config_path.write_text('[[account]]\nname = "home"\nurl = "http://127.0.0.1:9/api/greader.php"\n'
                           'user = "alice"\npassword_command = ["echo", "secret"]\n', encoding="utf-8")
    app = DocbaoApp(load_config(config_path), tmp_path / "cache")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("R")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "refreshed" in status(app) and "0 new, home not synced" in status(app), status(app)


async def test_d_on_an_account_feed_unsubscribes_it_on_the_server(
        freshrss_user: User, feeds_server: LocalServer, tmp_path: Path) -> None:
    from tests.pilot import go_to_feed, lines, panes
    from tui.ui.app import DocbaoApp
    from tui.ui.screens.prompts import Confirm

    api = freshrss_user.client()
    api.subscribe(feeds_server.url("/emarley.rss"), label="Tech")
    config_path = machine(tmp_path / "a", freshrss_user)
    with config_path.open("a", encoding="utf-8") as handle:
        handle.write(f'\n[[feed]]\nurl = "{feeds_server.url("/rsc.atom")}"\n')
    assert await asyncio.to_thread(run, config_path, "refresh") == 0
    cache_dir = config_path.parent / "cache"
    config = with_accounts(load_config(config_path), cache_dir)
    account_feed = next(f for f in config.feeds if f.account)
    store = store_of(config_path)
    feed_id = store.feed_ids([account_feed.url])[account_feed.url]
    store.close()
    app = DocbaoApp(config, cache_dir)
    async with app.run_test(size=(120, 36)) as pilot:
        await go_to_feed(pilot, app, f"tag:Tech/feed:{feed_id}")
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, Confirm)
        await pilot.press("y")
        for _ in range(200):
            await app.workers.wait_for_complete()
            await pilot.pause(0.05)
            if any("Unsubscribed from" in n.message for n in app._notifications):
                break
        assert any(n.message == "Unsubscribed from Stories by Liz Marley on Medium on the server"
                   for n in app._notifications)
        shown = " | ".join(lines(panes(app)[0]))
        assert "Liz" not in shown and "Tech" not in shown and "19" in shown, shown
    assert api.get("subscription/list")["subscriptions"] == []
    assert len(states(config_path)) == 19  # the local feed's articles stay, the account's went
    assert f'url = "{feeds_server.url("/rsc.atom")}"' in config_path.read_text()
