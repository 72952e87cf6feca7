"""docbao add / remove / import / export / import-newsboat-cache end to end: a real HTTP
server on 127.0.0.1, real feed, page and OPML files, real caches, and a cache written by
newsboat itself.

Run `python -m tests.test_subscribe` to rebuild tests/data/newsboat/cache.db with the
installed newsboat (see tests/data/newsboat/README.md).
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.helpers import DATA, SHARED, shared_path
from tests.server import LocalServer
from tui.cli.main import main
from tui.config import default_config_path, load_config
from tui.feeds.discover import discover_feeds
from tui.feeds.opml import normalise_url, read_opml
from tui.feeds.parse import parse_feed
from tui.feeds.refresh import refresh
from tui.content.sanitize import clean_line
from tui.store import index, search
from tui.store.cache import Store

NEWSBOAT = DATA / "newsboat"
OPML = DATA / "opml"
# The feeds newsboat read for the cache fixture, in the order of its urls file.
NEWSBOAT_FEEDS = ["thoi-su.xml", "blogger-rss.xml", "hacker-news.xml", "feedbin-atom.xml"]
REPO = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- helpers
def serve_feeds(server: LocalServer) -> list[str]:
    return [server.route_file("/" + name, NEWSBOAT / name, content_type="application/rss+xml")
            for name in NEWSBOAT_FEEDS]


def write_config(path: Path, feeds: list[tuple[str, str, list[str]]], extra: str = "") -> Path:
    lines = ["# my subscriptions", ""]
    for url, title, tags in feeds:
        lines.append("[[feed]]")
        lines.append(f"url = {json.dumps(url)}")
        if title:
            lines.append(f"title = {json.dumps(title, ensure_ascii=False)}")
        if tags:
            lines.append(f"tags = {json.dumps(tags, ensure_ascii=False)}")
        lines.append("")
    path.write_text("\n".join(lines) + extra, encoding="utf-8")
    return path


def subscriptions(path: Path) -> dict[str, tuple[str, frozenset[str]]]:
    """The config's feeds as a user sees them: URL -> (title, tags)."""
    return {f.url: (f.title, frozenset(f.tags)) for f in load_config(path).feeds}


def cached(cache: Path, url: str) -> list[dict[str, object]]:
    """Every stored field of a feed's cached articles, by guid order."""
    store = Store.open(cache)
    try:
        feed_id = store.feed_ids([url]).get(url)
        if feed_id is None:
            return []
        rows = store.conn.execute(
            "SELECT guid, link, title, author, published, updated, summary, content, enclosures,"
            " read, starred, first_seen FROM articles WHERE feed_id = ? ORDER BY guid", (feed_id,)).fetchall()
    finally:
        store.close()
    keys = ["guid", "link", "title", "author", "published", "updated", "summary", "content",
            "enclosures", "read", "starred", "first_seen"]
    return [dict(zip(keys, row)) for row in rows]


def default_cache() -> Path:
    """Where the cache is with no config, and stays once a first subscription made one."""
    return Path(os.environ["XDG_CACHE_HOME"]) / "docbao"


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ----------------------------------------------------------------------------- add
def test_a_first_subscription_keeps_the_cache_in_use_before_any_config(
        server: LocalServer, capsys: pytest.CaptureFixture[str]) -> None:
    # The reader was opened with no config: its cache (with where it was) is in the XDG cache
    # folder. The first `add` creates the config in the XDG config folder; the cache stays.
    store = Store.open(default_cache())
    store.set_state({"feed": "all"})
    store.close()
    url = server.route_file("/thoi-su.xml", NEWSBOAT / "thoi-su.xml", content_type="application/rss+xml")
    assert main(["add", url]) == 0
    capsys.readouterr()
    assert default_config_path().exists() and not (default_config_path().parent / "cache").exists()
    store = Store.open(default_cache())
    try:
        assert store.get_state("feed") == "all" and store.count() == 7
    finally:
        store.close()
    assert main(["feeds"]) == 0
    assert "7/7" in capsys.readouterr().out


def test_a_cache_already_beside_the_default_config_is_still_used(
        server: LocalServer, capsys: pytest.CaptureFixture[str]) -> None:
    url = server.route_file("/thoi-su.xml", NEWSBOAT / "thoi-su.xml", content_type="application/rss+xml")
    beside = default_config_path().parent / "cache"
    beside.mkdir(parents=True)  # made by an older docbao, which kept the cache beside the config
    write_config(default_config_path(), [(url, "", [])])
    assert main(["refresh", "-q"]) == 0
    capsys.readouterr()
    assert main(["articles"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 7
    assert (beside / "docbao.db").exists() and not default_cache().exists()


def test_add_a_feed_url_subscribes_creates_the_config_and_refreshes(server: LocalServer,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    url = server.route_file("/thoi-su.xml", NEWSBOAT / "thoi-su.xml", content_type="application/rss+xml")
    assert not default_config_path().exists()
    assert main(["add", url, "--title", "Thời sự TN", "--tag", "Tin tỉnh", "--tag", "Việt Nam"]) == 0
    out = capsys.readouterr().out
    assert f"Subscribed to {url}" in out and "7 new articles" in out
    assert subscriptions(default_config_path()) == {url: ("Thời sự TN", frozenset({"Tin tỉnh", "Việt Nam"}))}
    titles = {a["title"] for a in cached(default_cache(), url)}
    assert "Lãnh đạo tỉnh làm việc với huyện Đại Từ" in titles and len(titles) == 7
    assert main(["feeds"]) == 0
    listing = capsys.readouterr().out
    assert "7/7" in listing and "Thời sự TN" in listing


def test_add_keeps_the_comments_of_an_existing_config(server: LocalServer, tmp_path: Path) -> None:
    first, second = serve_feeds(server)[:2]
    config = write_config(tmp_path / "feeds.toml", [(first, "Thời sự", ["tin"])],
                          extra="# a comment at the end stays\n")
    assert main(["add", second, "--config", str(config)]) == 0
    text = config.read_text(encoding="utf-8")
    assert "# my subscriptions" in text and "# a comment at the end stays" in text
    assert list(subscriptions(config)) == [first, second]
    assert len(cached(tmp_path / "cache", second)) == 8


def test_add_and_import_create_a_config_named_with_config_that_does_not_exist_yet(
        server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A fresh profile: --config names a file (in a folder) that does not exist yet, as the
    # default one does not before the first subscription. The cache goes beside it.
    first, second, third = serve_feeds(server)[:3]
    profile = tmp_path / "new-profile" / "feeds.toml"
    assert main(["--config", str(profile), "add", first]) == 0
    assert "7 new articles" in capsys.readouterr().out
    assert list(subscriptions(profile)) == [first]
    assert len(cached(tmp_path / "new-profile" / "cache", first)) == 7
    urls = tmp_path / "urls"
    urls.write_text(f'{second} news "~Blog"\n', encoding="utf-8")
    other = tmp_path / "other" / "feeds.toml"
    status, dry = import_report(capsys, ["import", str(urls), "--config", str(other), "--dry-run"])
    assert status == 0 and "1 feed would be added" in dry and not other.parent.exists()
    status, report = import_report(capsys, ["import", str(urls), "--config", str(other)])
    assert status == 0 and f"1 feed added to {other}" in report
    assert subscriptions(other) == {second: ("Blog", frozenset({"news"}))}
    # Only the verbs that subscribe create it: the others still refuse a file that is not there.
    missing = tmp_path / "missing" / "feeds.toml"
    for argv in (["refresh"], ["feeds"], ["remove", third, "--yes"], ["import-newsboat-cache", str(urls)]):
        assert main(["--config", str(missing), *argv]) == 2
        assert "no such config file" in capsys.readouterr().err
    assert not missing.parent.exists()


def test_add_refuses_a_feed_already_subscribed_in_any_spelling(server: LocalServer,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    url = server.route_file("/thoi-su.xml", NEWSBOAT / "thoi-su.xml", content_type="application/rss+xml")
    assert main(["add", url]) == 0
    before = default_config_path().read_bytes()
    capsys.readouterr()
    for spelling in (url, url.replace("http://", "HTTP://"), url + "#top", "feed:" + url):
        assert main(["add", spelling]) == 1
        assert "already subscribed" in capsys.readouterr().err
    assert default_config_path().read_bytes() == before


def test_add_refuses_the_new_address_of_a_feed_that_moved(server: LocalServer,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    new = server.route_file("/new.xml", NEWSBOAT / "thoi-su.xml", content_type="application/rss+xml")
    old = server.route("/old.xml", status=301, headers={"Location": new})
    assert main(["add", old]) == 0  # the refresh records the permanent redirect
    capsys.readouterr()
    assert main(["add", new]) == 1
    assert f"already subscribed as {old}" in capsys.readouterr().err
    assert list(subscriptions(default_config_path())) == [old]


def test_add_a_page_that_names_one_feed(server: LocalServer, capsys: pytest.CaptureFixture[str]) -> None:
    server.route_file("/feeds/thoi-su.rss", NEWSBOAT / "thoi-su.xml", content_type="text/xml")
    page = server.route("/tin-tuc/index.html", (
        '<!doctype html><html><head><meta charset="utf-8"><title>Báo Thái Nguyên</title>'
        '<link rel="stylesheet" href="/style.css">'
        '<link rel="alternate" type="application/rss+xml" title="Thời sự" href="../feeds/thoi-su.rss">'
        "</head><body><p>Trang chủ</p></body></html>"), content_type="text/html; charset=utf-8")
    assert main(["add", page, "--tag", "tin"]) == 0
    out = capsys.readouterr().out
    assert "1. Thời sự" in out and "7 new articles" in out
    assert subscriptions(default_config_path()) == {server.url("/feeds/thoi-su.rss"): ("", frozenset({"tin"}))}


def test_add_a_page_with_several_feeds_lists_them_and_needs_pick(server: LocalServer,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    server.route_file("/rss.xml", NEWSBOAT / "thoi-su.xml", content_type="application/rss+xml")
    server.route_file("/atom.xml", NEWSBOAT / "feedbin-atom.xml", content_type="application/atom+xml")
    page = server.route("/", (
        '<html><head><link rel="alternate" type="application/rss+xml" title="Tin RSS" href="/rss.xml">'
        '<link rel="alternate home" type="application/atom+xml" title="Feedbin Atom" href="atom.xml">'
        '<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">'
        "</head></html>"), content_type="text/html")
    assert main(["add", page]) == 2
    captured = capsys.readouterr()
    assert "1. Tin RSS  " + server.url("/rss.xml") in captured.out
    assert "2. Feedbin Atom  " + server.url("/atom.xml") in captured.out
    assert "javascript" not in captured.out
    assert "--pick" in captured.err
    assert not default_config_path().exists()
    assert main(["add", page, "--pick", "3"]) == 2
    assert main(["add", page, "--pick", "2"]) == 0
    assert list(subscriptions(default_config_path())) == [server.url("/atom.xml")]
    assert len(cached(default_cache(), server.url("/atom.xml"))) == 5
    capsys.readouterr()
    assert main(["add", page, "--pick", "2"]) == 1  # the same feed again
    assert "already subscribed" in capsys.readouterr().err


def test_add_a_page_that_names_no_feed_probes_the_usual_paths(server: LocalServer,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    page = server.route("/blog/", "<html><head><title>Blog</title></head><body>hi</body></html>",
                        content_type="text/html")
    server.route_file("/feed.xml", NEWSBOAT / "blogger-rss.xml", content_type="text/xml")
    server.route_file("/rss", NEWSBOAT / "blogger-rss.xml", content_type="text/xml")  # the same feed twice
    server.route("/feed", "<html>not a feed</html>", content_type="text/html")
    assert main(["add", page]) == 0
    out = capsys.readouterr().out
    assert "1 feed answers at the usual paths" in out
    assert list(subscriptions(default_config_path())) in ([server.url("/rss")], [server.url("/feed.xml")])


def test_add_a_page_without_any_feed_fails_and_writes_nothing(server: LocalServer,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    page = server.route("/", "<html><body>no feed here</body></html>", content_type="text/html")
    assert main(["add", page]) == 1
    assert "names no feed" in capsys.readouterr().err
    assert main(["add", server.url("/missing.xml")]) == 1
    assert "404" in capsys.readouterr().err
    assert not default_config_path().exists()


@pytest.mark.parametrize("url", ["javascript:alert(1)", "file:///etc/passwd", "|rm -rf ~",
                                 "exec:~/bin/feed.sh", "ftp://example.org/feed.xml", "http://"])
def test_add_refuses_urls_that_are_not_http_feeds(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["add", url]) == 2
    assert "cannot subscribe" in capsys.readouterr().err
    assert not default_config_path().exists()


@pytest.mark.parametrize(("typed", "said"), [
    ("127.0.0.1:8080/later.xml", "no scheme: write http://127.0.0.1:8080/later.xml or https://127.0.0.1:8080/later.xml"),
    ("example.org/feed", "no scheme: write http://example.org/feed or https://example.org/feed"),
    ("/home/me/feeds/local.xml", "a local file: write its path as a feed's url in feeds.toml"),
])
def test_add_says_what_is_missing_from_an_address_it_cannot_use(
        typed: str, said: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["add", typed]) == 2
    assert said in capsys.readouterr().err  # not "malformed URL"
    assert not default_config_path().exists()


# Real site home pages; the feeds they name are served from feed files of the corpus: the
# site's own feed where the corpus has it, else a feed of docbao's test data.
DISCOVERY_FEEDS = {
    "feedreader-cs__heise.html": "atom/rss-parser__heise.atom",
    "feedreader-cs__theverge.html": "atom/feedreader-cs__AtomTheVerge.xml",
    "feedreader-cs__japantimes.html": "rss2/feedreader-cs__Rss20JapanTimes.xml",
    "rsparser__DaringFireball.html": "atom/rsparser__DaringFireball.atom",
    "rsparser__inessential.html": "jsonfeed/rsparser__inessential.json",
    "rsparser__YouTubeTheVolvoRocks.html": "podcast-media/feedjira__youtube_atom.xml",
}
DISCOVERY_PAGES = sorted(p.name for p in (SHARED / "corpus" / "html-feed-discovery").glob("*.html")) or [
    "(corpus absent)"]


def corpus_feed(page: str) -> Path:
    own = DISCOVERY_FEEDS.get(page)
    return shared_path("corpus", own) if own else NEWSBOAT / "thoi-su.xml"


@pytest.mark.parametrize("page", DISCOVERY_PAGES)
def test_add_real_site_pages_finds_their_feeds(page: str, server: LocalServer,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    html = shared_path("corpus", "html-feed-discovery", page).read_bytes()
    # Point every feed the page names at this server: absolute links by their host,
    # relative ones resolve against the page's new address by themselves.
    hosts = {urlsplit(f.url).netloc for f in discover_feeds(html, "https://site.invalid/home/")} - {"site.invalid"}
    for host in hosts:
        html = re.sub(rb"https?://" + re.escape(host.encode()), server.url("").encode(), html)
    page_url = server.route("/home/", html, content_type="text/html")
    expected = discover_feeds(html, page_url)
    assert expected, "every page of the corpus names at least one feed"
    for feed in expected:
        server.route_file(urlsplit(feed.url).path, corpus_feed(page), content_type="application/xml")
    argv = ["add", page_url]
    if len(expected) > 1:
        assert main(argv) == 2
        out = capsys.readouterr().out
        for number, feed in enumerate(expected, 1):
            assert f"{number}. " in out and feed.url in out
        argv += ["--pick", str(len(expected))]
    assert main(argv) == 0
    chosen = expected[-1].url
    assert list(subscriptions(default_config_path())) == [chosen]
    assert len(cached(default_cache(), chosen)) > 0


# ----------------------------------------------------------------------------- moved feeds
def test_a_permanent_move_is_shown_and_written_into_feeds_toml(
        server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = server.route_file("/new/thoi-su.xml", NEWSBOAT / "thoi-su.xml", content_type="application/rss+xml")
    old = server.route("/thoi-su.rss", status=301, headers={"Location": new})
    config = write_config(tmp_path / "feeds.toml", [(old, "Thời sự", ["tin"]), ("https://never.example/", "", [])],
                          extra="# keep this comment\n")
    assert main(["refresh", "--config", str(config), "--feed", "Thời sự", "-q"]) == 0
    capsys.readouterr()
    assert main(["feeds", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"Thời sự\n{'':26}moved permanently to {new}\n" in out
    assert "1 feed moved permanently: 'docbao feeds --apply-moves' writes its new address into" in out
    assert main(["feeds", "--config", str(config), "--json"]) == 0
    assert [json.loads(line)["moved_to"] for line in capsys.readouterr().out.splitlines()] == [new, None]

    assert main(["feeds", "--config", str(config), "--apply-moves"]) == 0
    assert f"Thời sự: {old} -> {new}" in capsys.readouterr().out
    text = config.read_text(encoding="utf-8")
    assert "# my subscriptions" in text and "# keep this comment" in text and old not in text
    assert subscriptions(config)[new] == ("Thời sự", frozenset({"tin"}))
    assert main(["feeds", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "7/7" in out and "moved" not in out  # the articles came along, read and starred kept
    assert main(["refresh", "--config", str(config), "--feed", new, "-q"]) == 0
    assert len(server.hits("/thoi-su.rss")) == 1 and len(server.hits("/new/thoi-su.xml")) == 2
    assert main(["feeds", "--config", str(config), "--apply-moves"]) == 0
    assert capsys.readouterr().out.endswith("no feed has moved\n")


# ----------------------------------------------------------------------------- remove
@pytest.fixture
def two_feeds(server: LocalServer, tmp_path: Path) -> tuple[Path, list[str]]:
    urls = serve_feeds(server)[:2]
    config = write_config(tmp_path / "feeds.toml", [(urls[0], "Thời sự TN", ["tin"]), (urls[1], "", [])])
    assert main(["refresh", "--config", str(config), "-q"]) == 0
    return config, urls


def test_remove_with_yes_keeps_the_articles_and_purge_deletes_them(
        two_feeds: tuple[Path, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config, (first, second) = two_feeds
    cache = tmp_path / "cache"
    assert main(["remove", "thời sự tn", "--yes", "--config", str(config)]) == 0  # by title, any case
    assert "7 cached articles stay" in capsys.readouterr().out
    assert list(subscriptions(config)) == [second]
    assert "# my subscriptions" in config.read_text(encoding="utf-8")
    assert len(cached(cache, first)) == 7
    # By the feed's own title (the one `docbao feeds` shows), purging its articles.
    assert main(["remove", "Mi Blog", "--yes", "--purge", "--config", str(config)]) == 1
    own_title = Store.open(cache).feeds()[1].title
    assert main(["remove", own_title, "--yes", "--purge", "--config", str(config)]) == 0
    assert "deleted its 8 cached articles" in capsys.readouterr().out
    assert subscriptions(config) == {}
    assert cached(cache, second) == []
    assert main(["articles", "--config", str(config)]) == 0


def test_remove_without_a_terminal_and_without_yes_refuses(
        two_feeds: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    config, (first, second) = two_feeds
    before = config.read_bytes()
    assert main(["remove", first, "--config", str(config)]) == 2
    assert "--yes" in capsys.readouterr().err
    assert config.read_bytes() == before
    assert main(["remove", "http://127.0.0.1:1/not-subscribed.xml", "--yes", "--config", str(config)]) == 1


@pytest.mark.parametrize(("answer", "status", "left"), [("y", 0, 1), ("n", 1, 2)])
def test_remove_asks_on_a_terminal(two_feeds: tuple[Path, list[str]], answer: str, status: int,
                                   left: int) -> None:
    pexpect = pytest.importorskip("pexpect")
    config, (first, second) = two_feeds
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = pexpect.spawn(sys.executable, ["-m", "tui", "remove", first, "--config", str(config)],
                          env=env, encoding="utf-8", timeout=60)
    child.expect(r"Remove Thời sự TN \(.*\)\? \[y/N\] ")
    child.sendline(answer)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == status
    assert len(load_config(config).feeds) == left


# ----------------------------------------------------------------------------- import
def import_report(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str]:
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def assert_imported_without_loss(data: bytes, config: Path, report: str) -> None:
    """Every feed URL in the file is either subscribed with its title and tags, or named in
    the report as skipped; nothing else was subscribed."""
    result = read_opml(data)
    subscribed = subscriptions(config) if config.exists() else {}
    assert {normalise_url(u) for u in subscribed} == {normalise_url(s.url) for s in result.subscriptions}
    for sub in result.subscriptions:
        assert subscribed[sub.url] == (sub.title, frozenset(sub.tags))
    for what, why in result.skipped:
        assert f"- {what}: {why}" in report


OPML_FILES = sorted(p.name for p in OPML.glob("*.opml"))
REFUSED = {"billion-laughs.opml", "external-entity.opml"}


@pytest.mark.parametrize("name", OPML_FILES)
def test_import_opml_files(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = (OPML / name).read_bytes()
    status, report = import_report(capsys, ["import", str(OPML / name)])
    config = default_config_path()
    if name in REFUSED:
        assert status == 1
        assert "refused" in report and "nothing was imported" in report
        assert not config.exists()
        return
    assert status == 0
    assert_imported_without_loss(data, config, report)
    status, again = import_report(capsys, ["import", str(OPML / name)])
    assert status == 0 and "0 feeds added" in again


def corpus_opml_rows() -> list[str]:
    manifest = SHARED / "corpus" / "MANIFEST.tsv"
    if not manifest.exists():
        return ["(corpus absent)"]
    with manifest.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    found = [r["path"] for r in rows if "opml" in (r["path"] + r["format"]).lower()]
    return found or ["(no OPML in the corpus)"]


@pytest.mark.parametrize("path", corpus_opml_rows())
def test_import_the_corpus_opml_files(path: str, capsys: pytest.CaptureFixture[str]) -> None:
    if path.startswith("("):
        pytest.skip(f"{path}: the shared corpus holds no OPML file")
    file = shared_path("corpus", path)
    status, report = import_report(capsys, ["import", str(file)])
    assert status == 0
    assert_imported_without_loss(file.read_bytes(), default_config_path(), report)


def test_import_hostile_opml_subscribes_only_the_safe_feeds(capsys: pytest.CaptureFixture[str]) -> None:
    status, report = import_report(capsys, ["import", str(OPML / "hostile-urls.opml")])
    assert status == 0
    urls = list(subscriptions(default_config_path()))
    assert urls == ["https://good.example.org/feed.xml", "https://titles.example.org/feed"]
    text = default_config_path().read_text(encoding="utf-8")
    for bad in ("javascript:", "JaVaScRiPt", "file:", "data:", "|curl", "exec:", "filter:", "ftp:", "\x9b"):
        assert bad not in text
    assert "docbao never runs commands" in report
    assert "javascript: URLs are not fetched" in report
    assert "the same feed as https://good.example.org/feed.xml" in report
    assert "\x1b" not in report and "\x9b" not in report


def test_import_newsboat_urls_with_queries_and_commands_that_never_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    marker = tmp_path / "ran"
    urls = (OPML / "newsboat-source.urls").read_text(encoding="utf-8") + (
        f'exec:touch {marker}\n"filter:touch {marker}:https://example.org/x.xml"\n|touch {marker}\n'
        '"query:Old or new:age > 30 or unread = \\"yes\\""\n')
    file = tmp_path / "urls"
    file.write_text(urls, encoding="utf-8")
    status, report = import_report(capsys, ["import", str(file)])
    assert status == 0
    config = load_config(default_config_path())
    assert [(f.url, f.title, f.tags) for f in config.feeds] == [
        ("https://example.org/feed.xml", "", ["news", "tech & science"]),
        ("https://blog.example.net/atom.xml", "Example Blog <Đọc báo>", ["tech"]),
        ("http://example.com/rss?id=1&lang=vi", "Tin tức", ["vietnam", "news"]),
        ("https://hidden.example.org/feed", "Hidden feed", ["misc"]),
        ("https://untagged.example.org/rss.xml", "", []),
        ("https://quotes.example.org/feed", 'say "hi"', []),
    ]
    assert [(s.name, s.query) for s in config.searches] == [("Unread news", "is:unread tag:news")]
    assert report.count("docbao never runs commands") == 3
    assert "`or` has no docbao equivalent" in report
    assert "hidden in the file" in report
    assert not marker.exists()


def test_import_newsboat_hidden_tags_and_garbled_titles_are_reported_as_changed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    urls = tmp_path / "urls"
    urls.write_text('http://jt.example/Rss20JapanTimes.xml "~Japan Times" !hidden\n'
                    "https://plain.example/feed news\n", encoding="utf-8")
    status, report = import_report(capsys, ["import", str(urls)])
    assert status == 0
    assert subscriptions(default_config_path()) == {
        "http://jt.example/Rss20JapanTimes.xml": ("Japan Times", frozenset({"hidden"})),
        "https://plain.example/feed": ("", frozenset({"news"}))}
    assert "!hidden" not in default_config_path().read_text(encoding="utf-8")
    assert ('1 changed on the way in:\n  ~ http://jt.example/Rss20JapanTimes.xml: line 1: the tag "!hidden" became '
            '"hidden": newsboat hides a feed with a tag that starts with "!"') in report
    # newsboat's OPML export (newsboat -e) writes each feed's title as newsboat holds it,
    # double-encoded where the feed's was: docbao repairs the feed's own, so it is not pinned.
    opml = tmp_path / "nb.opml"
    opml.write_text('<?xml version="1.0"?><opml version="1.0"><head><title>Newsboat - Exported Feeds</title></head>'
                    '<body><outline type="rss" xmlUrl="https://cat.example/rss" htmlUrl="https://cat.example/"'
                    ' title="CataluÃ±a"/><outline type="rss" xmlUrl="https://mine.example/rss" title="Tin của tôi"/>'
                    "</body></opml>", encoding="utf-8")
    status, report = import_report(capsys, ["import", str(opml)])
    assert status == 0
    added = subscriptions(default_config_path())
    assert added["https://cat.example/rss"] == ("", frozenset()) and added["https://mine.example/rss"][0] == "Tin của tôi"
    assert "Ã" not in default_config_path().read_text(encoding="utf-8")
    assert '~ https://cat.example/rss: the title "CataluÃ±a" was left out: it is double-encoded text' in report


def test_import_dry_run_reports_the_same_and_writes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    file = str(OPML / "nested-folders.opml")
    status, dry = import_report(capsys, ["import", file, "--dry-run"])
    assert status == 0 and "dry run: nothing was written" in dry
    assert not default_config_path().exists()
    status, real = import_report(capsys, ["import", file])
    assert status == 0

    def planned(report: str) -> list[str]:
        return [line for line in report.splitlines() if line.startswith(("  +", "  =", "  -"))]

    assert planned(dry) == planned(real) and planned(real)


def test_import_refuses_files_it_cannot_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other.json"
    other.write_text('{"feeds": []}')
    assert main(["import", str(other)]) == 1
    assert "not a docbao export" in capsys.readouterr().err
    binary = tmp_path / "cache.db"
    binary.write_bytes(b"SQLite format 3\x00" + bytes(100))
    assert main(["import", str(binary)]) == 1
    assert main(["import", str(tmp_path / "missing.opml")]) == 1
    assert not default_config_path().exists()


# ----------------------------------------------------------------------------- export
def test_opml_export_then_import_gives_the_same_subscriptions(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    source = write_config(tmp_path / "feeds.toml", [
        ("https://vnexpress.net/rss/tin-moi-nhat.rss", "VnExpress", ["Tin Việt Nam", "Thời sự"]),
        ("https://baothainguyen.vn/rss/thoi-su.rss", 'Báo "Thái Nguyên" <TN>', ["Tin Việt Nam"]),
        ("http://example.com/rss?id=1&lang=vi", "", ["tech & science"]),
        ("https://untagged.example.org/rss.xml", "", []),
    ])
    out = tmp_path / "subs.opml"
    assert main(["export", "--config", str(source), "-o", str(out)]) == 0
    assert not list(tmp_path.glob(".subs.opml.*"))  # no temporary file left behind
    assert main(["export", "--config", str(source)]) == 0
    assert capsys.readouterr().out.encode() == out.read_bytes()
    target = tmp_path / "other" / "feeds.toml"
    target.parent.mkdir()
    target.write_text("")
    assert main(["import", str(out), "--config", str(target)]) == 0
    assert subscriptions(target) == subscriptions(source)


def read_and_star(cache: Path, urls: list[str]) -> None:
    """Read and star a few articles the way the reader would."""
    store = Store.open(cache)
    try:
        ids = store.feed_ids(urls)
        first = store.article_ids(feed_ids=[ids[urls[0]]], oldest_first=True)
        second = store.article_ids(feed_ids=[ids[urls[1]]], oldest_first=True)
        store.set_read(first[:3] + second[:5])
        store.set_starred(first[1], True)
        store.set_starred(first[4], True)
        store.set_starred(second[7], True)
    finally:
        store.close()


def assert_indexed_as_imported(cache: Path) -> None:
    """Every imported article is in the search index already (the import indexed them as
    it wrote them): the first search has nothing to index and finds each by its title."""
    sqlite = sqlite3.connect(cache / "docbao.db")
    try:
        assert sqlite.execute("SELECT count(*) FROM article_fts_docsize").fetchone()[0] == \
            sqlite.execute("SELECT count(*) FROM articles").fetchone()[0] > 0
    finally:
        sqlite.close()
    store = Store.open(cache)
    try:
        assert not index.needs_build(store.conn)
        titles = store.conn.execute("SELECT id, title FROM articles WHERE title != '' ORDER BY id").fetchall()
        for article_id, title in titles[:: max(1, len(titles) // 8)]:
            words = re.findall(r"\w+", title)[:3]
            if words:
                found = [hit.article_id for hit in search.search(store.conn, f'title:"{" ".join(words)}"',
                                                                 limit=1000, snippets=False)]
                assert article_id in found, title
    finally:
        store.close()


def test_json_export_then_import_restores_feeds_articles_and_state(
        server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    urls = serve_feeds(server)
    (tmp_path / "a").mkdir()
    feeds = [(urls[0], "Thời sự TN", ["Tin tỉnh", "Việt Nam"]), (urls[1], "", ["blog"]),
             (urls[2], "HN", []), (urls[3], "", ["blog", "tech"])]
    source = write_config(tmp_path / "a" / "feeds.toml", feeds,
                          extra='[[search]]\nname = "Chưa đọc"\nquery = "is:unread"\n\n'
                                '[[ignore]]\nquery = "title:\\"quảng cáo\\""\n')
    assert main(["refresh", "--config", str(source), "-q"]) == 0
    read_and_star(tmp_path / "a" / "cache", urls)
    store = Store.open(tmp_path / "a" / "cache")
    try:  # read articles beyond each feed's newest 3 go: the backup keeps them out too
        assert store.prune(keep_articles=3) > 0
        gone = set(store.conn.execute("SELECT f.url, p.guid FROM pruned p JOIN feeds f ON f.id = p.feed_id"))
    finally:
        store.close()
    backup = tmp_path / "backup.json"
    assert main(["export", "--format", "json", "--config", str(source), "-o", str(backup)]) == 0
    document = json.loads(backup.read_text(encoding="utf-8"))
    assert document["format"] == "docbao-export" and len(document["feeds"]) == 4
    # every feed is named as the reader names it, the feed's own title marked as such
    assert [(f["title"] != "", f.get("title_from_feed", False)) for f in document["feeds"]] == [
        (True, False), (True, True), (True, False), (True, True)]

    target = tmp_path / "b" / "feeds.toml"
    target.parent.mkdir()
    target.write_text("")
    status, report = import_report(capsys, ["import", str(backup), "--config", str(target)])
    assert status == 0
    kept = sum(1 for a in json.loads(backup.read_text(encoding="utf-8"))["feeds"] for _ in a["articles"])
    assert f"{kept} articles restored" in report and f"{len(gone)} pruned or deleted kept out" in report
    assert_indexed_as_imported(tmp_path / "b" / "cache")
    assert subscriptions(target) == subscriptions(source)
    assert [(s.name, s.query) for s in load_config(target).searches] == [("Chưa đọc", "is:unread")]
    assert load_config(target).ignores == load_config(source).ignores == ['title:"quảng cáo"']
    store = Store.open(tmp_path / "b" / "cache")
    try:
        assert set(store.conn.execute("SELECT f.url, p.guid FROM pruned p JOIN feeds f ON f.id = p.feed_id")) == gone
    finally:
        store.close()
    for url in urls:
        assert cached(tmp_path / "b" / "cache", url) == cached(tmp_path / "a" / "cache", url)

    # A refresh of the restored cache finds every article unchanged, and keeps the state.
    report_after = asyncio.run(refresh(load_config(target), tmp_path / "b" / "cache"))
    assert [(o.status, o.new, o.updated) for o in report_after.outcomes] == [("ok", 0, 0)] * 4
    for url in urls:
        assert cached(tmp_path / "b" / "cache", url) == cached(tmp_path / "a" / "cache", url)
    # Importing the same backup again changes nothing.
    status, again = import_report(capsys, ["import", str(backup), "--config", str(target)])
    assert "0 feeds added" in again and "0 articles restored" in again and f"{kept} already in the cache" in again
    assert "ignore rules: 0 added, 1 already present" in again


def test_exports_name_a_feed_by_its_own_title_when_feeds_toml_gives_none(
        server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = server.route_file("/thoi-su.xml", NEWSBOAT / "thoi-su.xml", content_type="application/rss+xml")
    config = write_config(tmp_path / "feeds.toml", [(url, "", ["tin"]), ("https://never.example/rss", "", [])])
    assert main(["refresh", "--config", str(config), "-q"]) == 1  # the second feed cannot be fetched
    assert main(["feeds", "--config", str(config)]) == 0
    own = next(line for line in capsys.readouterr().out.splitlines() if "7/7" in line).split(maxsplit=2)[2]
    assert main(["export", "--config", str(config), "-o", str(tmp_path / "subs.opml")]) == 0
    exported = (tmp_path / "subs.opml").read_text(encoding="utf-8")
    assert f'text="{own}" title="{own}" xmlUrl="{url}" docbao:titleFromFeed="true"' in exported and own != url
    # Imported again, the feed's own title is not pinned in feeds.toml: the feed keeps naming itself.
    again = tmp_path / "again" / "feeds.toml"
    assert main(["import", str(tmp_path / "subs.opml"), "--config", str(again)]) == 0
    assert subscriptions(again)[url] == ("", frozenset({"tin"}))
    capsys.readouterr()
    assert main(["export", "--format", "json", "--config", str(config)]) == 0
    feeds = json.loads(capsys.readouterr().out)["feeds"]
    assert (feeds[0]["title"], feeds[0]["title_from_feed"]) == (own, True)
    assert feeds[1]["title"] == "" and "title_from_feed" not in feeds[1]  # never fetched: no title to give


def test_json_backup_keeps_local_file_feeds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    local = tmp_path / "tin-dia-phuong.xml"
    shutil.copy(NEWSBOAT / "thoi-su.xml", local)
    (tmp_path / "a").mkdir()
    source = write_config(tmp_path / "a" / "feeds.toml", [(str(local), "Tin địa phương", ["tỉnh"]),
                                                          (local.as_uri(), "", [])])
    assert main(["refresh", "--config", str(source), "-q"]) == 0
    backup = tmp_path / "backup.json"
    assert main(["export", "--format", "json", "--config", str(source), "-o", str(backup)]) == 0
    target = tmp_path / "b" / "feeds.toml"
    target.parent.mkdir()
    target.write_text("")
    status, report = import_report(capsys, ["import", str(backup), "--config", str(target)])
    assert status == 0 and "malformed" not in report and "0 skipped" in report
    assert "14 articles restored" in report
    assert subscriptions(target) == subscriptions(source)
    assert main(["feeds", "--config", str(source)]) == 0
    before = [line.split(maxsplit=2)[2] for line in capsys.readouterr().out.splitlines()[:2]]
    assert main(["feeds", "--config", str(target)]) == 0  # named as before, though not refreshed yet
    after = [line.split(maxsplit=3)[3] for line in capsys.readouterr().out.splitlines()[:2]]
    assert before[1] != local.as_uri() and after == before
    assert cached(tmp_path / "b" / "cache", str(local)) == cached(tmp_path / "a" / "cache", str(local))


def test_json_import_merges_state_and_never_unreads_or_unstars(
        server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = serve_feeds(server)[0]
    config = write_config(tmp_path / "feeds.toml", [(url, "", [])])
    assert main(["refresh", "--config", str(config), "-q"]) == 0
    backup = tmp_path / "backup.json"
    assert main(["export", "--format", "json", "--config", str(config), "-o", str(backup)]) == 0
    document = json.loads(backup.read_text(encoding="utf-8"))
    articles = document["feeds"][0]["articles"]
    articles[0]["read"] = True
    articles[1]["starred"] = True
    backup.write_text(json.dumps(document), encoding="utf-8")
    store = Store.open(tmp_path / "cache")
    by_guid = {a["guid"]: a for a in cached(tmp_path / "cache", url)}
    ids = dict(store.conn.execute("SELECT guid, id FROM articles").fetchall())
    store.set_read([ids[articles[2]["guid"]]])
    store.set_starred(ids[articles[3]["guid"]], True)
    store.close()
    assert main(["import", str(backup), "--config", str(config)]) == 0
    after = {a["guid"]: a for a in cached(tmp_path / "cache", url)}
    assert len(after) == len(by_guid) == 7
    assert after[articles[0]["guid"]]["read"] == 1 and after[articles[1]["guid"]]["starred"] == 1
    assert after[articles[2]["guid"]]["read"] == 1 and after[articles[3]["guid"]]["starred"] == 1


def test_json_import_of_a_hostile_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hostile = {
        "format": "docbao-export", "version": 1,
        "searches": [{"name": "x", "query": "is:unread"}],
        "feeds": [
            {"url": "javascript:alert(1)", "title": "js", "tags": [], "articles": [{"guid": "j"}]},
            {"url": "|touch ~/pwned", "articles": []},
            {"url": "https://ok.example.org/feed", "title": "OK\x1b[31m [@click=app.quit]", "tags": ["a", 3],
             "articles": [
                 {"guid": "a1", "title": "Hello\x1b]0;owned\x07", "link": "javascript:alert(1)",
                  "content": "<p>kept</p><script>alert(1)</script><img src=x onerror=alert(1)>",
                  "enclosures": [{"url": "file:///etc/passwd"}, {"url": "https://ok.example.org/a.mp3"}],
                  "read": "yes", "starred": True, "published": "soon", "first_seen": 1590000000},
                 {"title": "no guid"},
                 "not an object",
             ]},
        ],
    }
    file = tmp_path / "hostile.json"
    file.write_text(json.dumps(hostile), encoding="utf-8")
    status, report = import_report(capsys, ["import", str(file)])
    assert status == 0
    # Escape sequences and control characters go; the rest of a title is kept as plain text.
    assert subscriptions(default_config_path()) == {"https://ok.example.org/feed": ("OK [@click=app.quit]",
                                                                                    frozenset({"a"}))}
    assert "docbao never runs commands" in report and "javascript: URLs are not fetched" in report
    [article] = cached(default_cache(), "https://ok.example.org/feed")
    assert article["title"] == "Hello" and article["link"] == ""
    assert "<script" not in str(article["content"]) and "onerror" not in str(article["content"])
    assert "kept" in str(article["content"])
    assert json.loads(str(article["enclosures"])) == [{"url": "https://ok.example.org/a.mp3", "type": "",
                                                      "length": None}]
    assert (article["read"], article["starred"], article["published"]) == (0, 1, None)
    assert "1 article restored" in report and "an article without a guid" in report


# ----------------------------------------------------------------------------- newsboat's cache
def build_newsboat_cache(folder: Path, server: LocalServer) -> Path:
    """Have newsboat itself fetch the test feeds into a cache and mark articles in its UI.

    `newsboat -x reload` fills the cache; newsboat is then driven through a terminal
    (pexpect) with its own keys: N toggles read (and moves down), Ctrl-E edits flags,
    A marks a feed read, D deletes an article. Articles are sorted by title so that the
    keys land on the same articles every time."""
    import pexpect

    urls = serve_feeds(server)
    (folder / "urls").write_text("\n".join(urls) + "\n", encoding="utf-8")
    (folder / "config").write_text("download-retries 1\narticle-sort-order title-asc\nbind-key j down\n",
                                   encoding="utf-8")
    (folder / "home").mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(folder / "home"), "TERM": "xterm", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    args = ["-u", str(folder / "urls"), "-c", str(folder / "cache.db"), "-C", str(folder / "config")]
    subprocess.run(["newsboat", *args, "-x", "reload"], env=env, check=True, timeout=120,
                   stdout=subprocess.DEVNULL)
    child = pexpect.spawn("newsboat", args, env=env, dimensions=(40, 150), encoding="utf-8", timeout=30)
    try:
        def open_feed(downs: int) -> None:
            child.send("j" * downs + "\r")
            child.expect("Articles in feed")

        def back() -> None:
            child.send("q")
            child.expect("Your feeds")

        def flag(letters: str) -> None:
            child.send("\x05")
            child.expect("Flags:")
            child.send(letters + "\r")
            child.expect("updated")

        child.expect("Your feeds")
        # Thời sự, by title: Bản tin, Giá chè, Hội chợ, Lãnh đạo, Lịch cắt điện, Thông báo, Đường.
        open_feed(0)
        child.send("N")  # Bản tin read
        flag("s")  # Giá chè flagged, unread
        child.send("jN")  # Hội chợ read
        flag("x")  # Lãnh đạo flagged ...
        child.send("N")  # ... and read
        child.send("jN")  # Thông báo (no link, no guid) read
        back()
        open_feed(1)
        child.send("AN")  # the blog: all read, then the first unread again
        back()
        open_feed(1)
        child.send("NNN")  # Hacker News: three read
        back()
        open_feed(1)
        child.send("D")  # Feedbin: the first article deleted
        back()
        child.send("q")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    return folder / "cache.db"


# Read and flagged in the cache newsboat wrote for these feeds (latin1-cache.db), by link
# (newsboat lost the Latin-1 titles' accents to U+FFFD) or by title.
LATIN1_FEEDS = ["thoi-su.xml", "latin1.xml"]
LATIN1_READ = ["http://example.org/cercle/lp-2.html", "http://example.org/cercle/lp-3.html",
               "Bản tin phát thanh tối 22/5"]
LATIN1_FLAGGED = ["http://example.org/cercle/lp-1.html", "Giá chè búp tươi tăng"]


def build_latin1_newsboat_cache(folder: Path, server: LocalServer) -> Path:
    """newsboat's cache of a feed in Latin-1 with no declaration (which newsboat stores as raw
    Latin-1 bytes, not UTF-8) beside a UTF-8 one; `newsboat -x reload` fills it, and the read
    and flagged state is set in newsboat's own columns (unread, flags)."""
    urls = [server.route_file("/" + name, NEWSBOAT / name, content_type="application/rss+xml")
            for name in LATIN1_FEEDS]
    (folder / "urls").write_text("\n".join(urls) + "\n", encoding="utf-8")
    (folder / "config").write_text("download-retries 1\n", encoding="utf-8")
    (folder / "home").mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(folder / "home"), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    subprocess.run(["newsboat", "-u", str(folder / "urls"), "-c", str(folder / "cache.db"), "-C",
                    str(folder / "config"), "-x", "reload"], env=env, check=True, timeout=120,
                   stdout=subprocess.DEVNULL)
    conn = sqlite3.connect(folder / "cache.db")
    conn.text_factory = bytes
    with conn:
        for names, change in ((LATIN1_READ, "unread = 0"), (LATIN1_FLAGGED, "flags = 's'")):
            for name in names:
                done = conn.execute(f"UPDATE rss_item SET {change} WHERE url = ?1 OR title = ?1", (name,))
                assert done.rowcount == 1, name
    conn.close()
    return folder / "cache.db"


def newsboat_fixture(tmp_path: Path, server: LocalServer, name: str = "cache.db",
                     feeds: list[str] = NEWSBOAT_FEEDS) -> Path:
    """A copy of the committed cache, its feed URLs pointed at this test's server (the
    fixture names the port of the server newsboat read the feeds from)."""
    copy = tmp_path / "newsboat" / "cache.db"
    copy.parent.mkdir()
    shutil.copyfile(NEWSBOAT / name, copy)
    conn = sqlite3.connect(copy)
    with conn:
        [old] = {urlsplit(u).netloc for (u,) in conn.execute("SELECT rssurl FROM rss_feed")}
        new = urlsplit(server.url("/")).netloc
        conn.execute("UPDATE rss_feed SET rssurl = replace(rssurl, ?, ?)", (old, new))
        conn.execute("UPDATE rss_item SET feedurl = replace(feedurl, ?, ?)", (old, new))
    conn.close()
    for feed in feeds:
        server.route_file("/" + feed, NEWSBOAT / feed, content_type="application/rss+xml")
    return copy


def newsboat_items(path: Path) -> list[tuple[str, str, str, bool, str, bool]]:
    """(feed URL, title, link, read, flags, deleted) of every item newsboat holds."""
    conn = sqlite3.connect(path)
    try:
        return [(feed, title, link, not unread, flags or "", bool(deleted)) for feed, title, link, unread, flags, deleted
                in conn.execute("SELECT feedurl, title, url, unread, flags, deleted FROM rss_item")]
    finally:
        conn.close()


def assert_state_carried_over(newsboat: Path, cache: Path, star_flags: str = "") -> None:
    """Article by article: each of newsboat's articles is in docbao once, read exactly when
    it was read in newsboat and starred exactly when flagged; deleted ones are not there.

    Articles are paired by feed and title (unique in these feeds), not by link: newsboat
    resolves a relative link against the channel's <link>, docbao against the feed's URL."""
    items = newsboat_items(newsboat)
    assert len({(i[0], i[1]) for i in items}) == len(items)
    assert any(i[3] for i in items) and any(not i[3] for i in items) and any(i[4] for i in items)
    docbao: dict[tuple[str, str], list[dict[str, object]]] = {}
    for url in {i[0] for i in items}:
        for article in cached(cache, url):
            docbao.setdefault((url, str(article["title"])), []).append(article)
    for feed, title, link, read, flags, deleted in items:
        found = docbao.get((feed, clean_line(title)), [])
        if deleted:
            assert found == [], f"{title}: deleted in newsboat"
            continue
        assert len(found) == 1, f"{title}: {len(found)} copies"
        starred = bool(flags) if not star_flags else any(f in star_flags for f in flags)
        assert (bool(found[0]["read"]), bool(found[0]["starred"])) == (read, starred), title


def parsed_counts() -> dict[str, int]:
    return {name: len(parse_feed((NEWSBOAT / name).read_bytes()).articles) for name in NEWSBOAT_FEEDS}


def test_newsboat_cache_fixture_is_what_newsboat_wrote() -> None:
    items = newsboat_items(NEWSBOAT / "cache.db")
    assert len(items) == sum(parsed_counts().values()) == 50
    thoi_su = {title: (read, flags) for feed, title, link, read, flags, deleted in items
               if feed.endswith("/thoi-su.xml")}
    assert thoi_su["Giá chè búp tươi tăng"] == (False, "s")
    assert thoi_su["Lãnh đạo tỉnh làm việc với huyện Đại Từ"] == (True, "x")
    assert sum(1 for i in items if i[5]) == 1


def test_import_newsboat_cache_refreshes_then_carries_read_and_flags_over(
        server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    newsboat = newsboat_fixture(tmp_path, server)
    before = file_digest(newsboat)
    config = write_config(tmp_path / "feeds.toml", [(server.url("/" + n), "", []) for n in NEWSBOAT_FEEDS])
    status, report = import_report(capsys, ["import-newsboat-cache", str(newsboat), "--config", str(config)])
    assert status == 0, report
    assert "49 matched" in report and "1 deleted in newsboat" in report
    assert_state_carried_over(newsboat, tmp_path / "cache")
    # newsboat's file was only read, and no journal was left beside it.
    assert file_digest(newsboat) == before
    assert sorted(p.name for p in newsboat.parent.iterdir()) == ["cache.db"]
    # Later refreshes bring nothing back twice, and no deleted article back at all.
    assert main(["refresh", "--config", str(config), "-q"]) == 0
    assert_state_carried_over(newsboat, tmp_path / "cache")
    counts = parsed_counts()
    assert [len(cached(tmp_path / "cache", server.url("/" + n))) for n in NEWSBOAT_FEEDS] == [
        counts["thoi-su.xml"], counts["blogger-rss.xml"], counts["hacker-news.xml"], counts["feedbin-atom.xml"] - 1]


def test_a_feed_failing_the_refresh_first_does_not_fail_the_import(
        server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    newsboat = newsboat_fixture(tmp_path, server)
    config = write_config(tmp_path / "feeds.toml", [(server.url("/" + n), "", []) for n in NEWSBOAT_FEEDS])
    server.route("/hacker-news.xml", b"", status=500)
    status, report = import_report(capsys, ["import-newsboat-cache", str(newsboat), "--config", str(config)])
    assert status == 0, report
    out, err = report.split("docbao: ", 1)
    assert "1 failed (below)" in out and "Hacker News: 30 articles added" in out  # newsboat's copies
    assert err.startswith("1 feed could not be refreshed first") and err.rstrip().endswith(": Hacker News")
    assert_state_carried_over(newsboat, tmp_path / "cache")


def test_import_newsboat_cache_offline_uses_docbaos_guids(
        server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without the refresh first, each article gets the guid docbao's parser will give it
    (newsboat's guid; the link as written where newsboat appended the date to it; docbao's
    hash for a title-only item), so that the first refresh afterwards adds nothing twice."""
    newsboat = newsboat_fixture(tmp_path, server)
    config = write_config(tmp_path / "feeds.toml", [(server.url("/" + n), "", []) for n in NEWSBOAT_FEEDS])
    status, report = import_report(capsys, ["import-newsboat-cache", str(newsboat), "--no-refresh",
                                            "--config", str(config)])
    assert status == 0, report
    assert "49 articles added, 0 matched" in report
    assert_state_carried_over(newsboat, tmp_path / "cache")
    assert_indexed_as_imported(tmp_path / "cache")
    assert main(["refresh", "--config", str(config), "-q"]) == 0
    counts = parsed_counts()
    sizes = [len(cached(tmp_path / "cache", server.url("/" + n))) for n in NEWSBOAT_FEEDS]
    assert sizes == [counts["thoi-su.xml"], counts["blogger-rss.xml"], counts["hacker-news.xml"],
                     counts["feedbin-atom.xml"] - 1]
    assert_state_carried_over(newsboat, tmp_path / "cache")


def test_import_newsboat_cache_star_flags_and_dry_run(
        server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    newsboat = newsboat_fixture(tmp_path, server)
    config = write_config(tmp_path / "feeds.toml", [(server.url("/" + n), "", []) for n in NEWSBOAT_FEEDS])
    status, dry = import_report(capsys, ["import-newsboat-cache", str(newsboat), "-n", "--config", str(config)])
    assert status == 0 and "dry run: nothing was written" in dry and "49 articles would be added" in dry
    assert "the feeds were not refreshed first, as the import does, so more may match then" in dry
    assert not (tmp_path / "cache").exists()
    assert main(["import-newsboat-cache", str(newsboat), "--star-flags", "s", "--config", str(config)]) == 0
    assert_state_carried_over(newsboat, tmp_path / "cache", star_flags="s")


def test_an_article_deleted_in_newsboat_but_starred_in_docbao_stays(
        server: LocalServer, tmp_path: Path) -> None:
    newsboat = newsboat_fixture(tmp_path, server)
    url = server.url("/feedbin-atom.xml")
    config = write_config(tmp_path / "feeds.toml", [(url, "", [])])
    assert main(["refresh", "--config", str(config), "-q"]) == 0
    deleted = "Feedbin Notifier for iPhone, iPad and Apple Watch"
    store = Store.open(tmp_path / "cache")
    [article_id] = [row[0] for row in store.conn.execute("SELECT id FROM articles WHERE title = ?", (deleted,))]
    store.set_starred(article_id, True)
    store.close()
    assert main(["import-newsboat-cache", str(newsboat), "--config", str(config)]) == 0
    assert [a["title"] for a in cached(tmp_path / "cache", url) if a["starred"]] == [deleted]
    assert len(cached(tmp_path / "cache", url)) == 5


def test_import_newsboat_cache_only_for_subscribed_feeds(
        server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    newsboat = newsboat_fixture(tmp_path, server)
    # Subscribed in docbao under another spelling of the same URL.
    spelled = server.url("/thoi-su.xml#tin")
    config = write_config(tmp_path / "feeds.toml", [(spelled, "", [])])
    status, report = import_report(capsys, ["import-newsboat-cache", str(newsboat), "--config", str(config)])
    assert status == 0, report
    assert "not subscribed in docbao; its 30 articles were left out" in report
    assert len(cached(tmp_path / "cache", spelled)) == 7
    empty = write_config(tmp_path / "none.toml", [])
    assert main(["import-newsboat-cache", str(newsboat), "--config", str(empty)]) == 1
    assert "import newsboat's urls file first" in capsys.readouterr().err
    not_newsboat = tmp_path / "x.db"
    sqlite3.connect(not_newsboat).execute("CREATE TABLE t (x)").connection.commit()
    assert main(["import-newsboat-cache", str(not_newsboat), "--config", str(config)]) == 1
    assert "not a newsboat cache" in capsys.readouterr().err


@pytest.mark.parametrize("refresh_first", [True, False])
def test_a_feed_newsboat_stored_as_latin1_bytes_imports_with_everything_else(
        refresh_first: bool, server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # newsboat stored the undeclared Latin-1 feed's text as raw Latin-1 bytes, which are not
    # UTF-8: the whole import used to stop there ("cannot read newsboat's cache").
    newsboat = newsboat_fixture(tmp_path, server, "latin1-cache.db", LATIN1_FEEDS)
    thoi_su, latin1 = (server.url("/" + name) for name in LATIN1_FEEDS)
    config = write_config(tmp_path / "feeds.toml", [(thoi_su, "", []), (latin1, "", [])])
    argv = ["import-newsboat-cache", str(newsboat), "--config", str(config)]
    status, report = import_report(capsys, argv if refresh_first else [*argv, "--no-refresh"])
    assert status == 0, report
    assert "cannot read" not in report
    assert "5 articles of newsboat's were not UTF-8 and were read as windows-1252" in report
    articles = {a["link"]: a for a in cached(tmp_path / "cache", latin1)}
    assert len(articles) == 5
    state = {link: (a["read"], a["starred"]) for link, a in articles.items()}
    assert state == {"http://example.org/cercle/lp-1.html": (0, 1), "http://example.org/cercle/lp-2.html": (1, 0),
                     "http://example.org/cercle/lp-3.html": (1, 0), "http://example.org/cercle/lp-4.html": (0, 0),
                     "http://example.org/cercle/lp-5.html": (0, 0)}
    body = str(articles["http://example.org/cercle/lp-1.html"]["content"]) + str(
        articles["http://example.org/cercle/lp-1.html"]["summary"])
    assert "le psychologue viendra à toi" in body and "\ufffd" not in body
    others = {str(a["title"]): (a["read"], a["starred"]) for a in cached(tmp_path / "cache", thoi_su)}
    assert len(others) == 7 and sum(read for read, _ in others.values()) == 1
    assert others["Bản tin phát thanh tối 22/5"] == (1, 0) and others["Giá chè búp tươi tăng"] == (0, 1)


@pytest.mark.skipif(shutil.which("newsboat") is None, reason="newsboat is not installed")
def test_a_cache_newsboat_builds_now_imports_with_its_state(
        server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pexpect")
    folder = tmp_path / "newsboat"
    folder.mkdir()
    newsboat = build_newsboat_cache(folder, server)
    items = newsboat_items(newsboat)
    assert sum(1 for i in items if i[3]) == 15 and sum(1 for i in items if i[4]) == 2
    config = write_config(tmp_path / "feeds.toml", [(server.url("/" + n), "", []) for n in NEWSBOAT_FEEDS])
    assert main(["import-newsboat-cache", str(newsboat), "--config", str(config)]) == 0
    assert_state_carried_over(newsboat, tmp_path / "cache")
    assert main(["refresh", "--config", str(config), "-q"]) == 0
    assert_state_carried_over(newsboat, tmp_path / "cache")


if __name__ == "__main__":
    # Rebuild tests/data/newsboat/cache.db and latin1-cache.db with the installed newsboat.
    for build, name in ((build_newsboat_cache, "cache.db"), (build_latin1_newsboat_cache, "latin1-cache.db")):
        with LocalServer() as srv, tempfile.TemporaryDirectory() as temp:
            built = build(Path(temp), srv)
            shutil.copyfile(built, NEWSBOAT / name)
            print(f"wrote {NEWSBOAT / name} ({(NEWSBOAT / name).stat().st_size} bytes)")
