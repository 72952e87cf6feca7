"""Hostile HTTP through `docbao refresh`, against a cache that already holds the feeds.

First a good refresh stores three articles per feed and the reader marks some read and
starred. Then every URL answers badly (redirect loops, redirects to file: and
javascript:, errors, 410, 429/503 with Retry-After, a reset mid-body, a short body,
broken chunking, an empty document, an HTML page): each feed records its
own error, and no article, read or starred mark or count is lost. A third refresh shows
what was remembered: permanent moves followed, temporary ones not, gone feeds and
deferred feeds not asked again."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.server import LocalServer, abort
from tests.hostile import Run, cache_db, docbao, query, rss, simple_items, write_config
from tui.store.cache import Store


Handler = Callable[[BaseHTTPRequestHandler], None]


def head(handler: BaseHTTPRequestHandler, status: str = "200 OK", **headers: str) -> None:
    lines = [f"HTTP/1.1 {status}", "Content-Type: application/rss+xml"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    handler.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


def feed_of(name: str) -> bytes:
    return rss(simple_items(3, name), title=f"Báo {name}")


def reset_mid_body(name: str) -> Handler:
    def send(handler: BaseHTTPRequestHandler) -> None:
        body = feed_of(name)
        head(handler, Content_Length=str(len(body) * 4))
        handler.wfile.write(body[: len(body) // 2])
        handler.wfile.flush()
        time.sleep(0.2)
        abort(handler.connection)
        handler.close_connection = True
    return send


def short_body(name: str) -> Handler:
    def send(handler: BaseHTTPRequestHandler) -> None:
        body = feed_of(name)
        head(handler, Content_Length=str(len(body) + 500))
        handler.wfile.write(body)
        handler.close_connection = True
    return send


def broken_chunks(name: str) -> Handler:
    def send(handler: BaseHTTPRequestHandler) -> None:
        body = feed_of(name)[:200]
        head(handler, Transfer_Encoding="chunked")
        handler.wfile.write(b"%x\r\n%b\r\nZZ\r\nnot hex\r\n0\r\n\r\n" % (len(body), body))
        handler.close_connection = True
    return send


# name -> (what the URL answers in the hostile round, last_status, words of last_error)
HOSTILE: dict[str, tuple[dict[str, object], str, str]] = {
    "redirect-loop": ({"status": 302, "headers": {"Location": "/redirect-loop-2"}}, "error", "too many redirects (10)"),
    "redirect-file": ({"status": 302, "headers": {"Location": "file:///etc/passwd"}}, "error",
                      "redirect to a non-http(s) URL refused"),
    "redirect-javascript": ({"status": 301, "headers": {"Location": "javascript:alert(document.cookie)"}},
                            "error", "redirect to a non-http(s) URL refused"),
    "redirect-data": ({"status": 307, "headers": {"Location": "data:text/xml,<rss/>"}}, "error",
                      "redirect to a non-http(s) URL refused"),
    "http-404": ({"status": 404, "body": b"gone fishing"}, "error", "HTTP 404 Not Found"),
    "http-500": ({"status": 500, "body": b"<html>oops</html>"}, "error", "HTTP 500 Internal Server Error"),
    "http-401": ({"status": 401, "headers": {"WWW-Authenticate": "Basic realm=x"}}, "error", "HTTP 401 Unauthorized"),
    "http-410": ({"status": 410}, "gone", "HTTP 410 Gone"),
    "http-429": ({"status": 429, "headers": {"Retry-After": "3600"}}, "deferred", "retry after 60 min"),
    "http-503": ({"status": 503, "headers": {"Retry-After": formatdate(time.time() + 7200, usegmt=True)}},
                 "deferred", "HTTP 503 Service Unavailable; retry after"),
    "reset-mid-body": ({"raw": "reset"}, "error", "connection reset mid-body"),
    "short-body": ({"raw": "short"}, "error", "response cut short (fewer bytes than Content-Length)"),
    "broken-chunks": ({"raw": "chunks"}, "error", "broken chunked encoding"),
    "empty-200": ({"body": b""}, "error", "empty document"),
    "html-page": ({"body": b"<!DOCTYPE html><html><body><h1>Wi-Fi login</h1></body></html>",
                   "content_type": "text/html"}, "error", "not a feed (HTML page)"),
    "no-items": ({"body": rss([], title="Báo no-items")}, "ok", ""),
}
MOVES = {"moved-301": 301, "moved-308": 308, "moved-302": 302}
NAMES = [*HOSTILE, *MOVES]


def serve_hostile(srv: LocalServer, name: str) -> None:
    if name in MOVES:
        srv.route(f"/{name}-new.xml", feed_of(name))
        srv.route(f"/{name}.xml", status=MOVES[name], headers={"Location": f"/{name}-new.xml"})
        return
    answer = dict(HOSTILE[name][0])
    raw = answer.pop("raw", None)
    if raw:
        srv.route(f"/{name}.xml", raw={"reset": reset_mid_body, "short": short_body, "chunks": broken_chunks}[raw](name))
    else:
        srv.route(f"/{name}.xml", answer.pop("body", b""), **answer)
    if name == "redirect-loop":
        srv.route("/redirect-loop-2", status=302, headers={"Location": f"/{name}.xml"})


@dataclass
class World:
    folder: Path
    srv: LocalServer
    before: dict[str, list[tuple]]
    counts_before: dict[str, tuple[int, int]]
    hostile: Run
    after: dict[str, list[tuple]]
    hits_after_hostile: dict[str, int]

    @property
    def db(self) -> Path:
        return cache_db(self.folder)

    def url(self, name: str) -> str:
        return self.srv.url(f"/{name}.xml")


def snapshot(db: Path) -> dict[str, list[tuple]]:
    """Per feed URL: every article as (guid, id, title, read, starred), in guid order."""
    rows = query(db, "SELECT f.url, a.guid, a.id, a.title, a.read, a.starred FROM articles a"
                     " JOIN feeds f ON f.id = a.feed_id ORDER BY f.url, a.guid")
    out: dict[str, list[tuple]] = {}
    for url, *rest in rows:
        out.setdefault(url, []).append(tuple(rest))
    return out


def counts(db: Path) -> dict[str, tuple[int, int]]:
    return {url: (unread, total) for url, unread, total in query(db, "SELECT url, unread, total FROM feeds")}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("http")
    with LocalServer() as srv:
        for name in NAMES:
            srv.route(f"/{name}.xml", feed_of(name))
        config = write_config(folder, [srv.url(f"/{name}.xml") for name in NAMES], timeout=5)
        first = docbao("refresh", "--config", str(config), cwd=folder)
        assert first.returncode == 0, first.out + first.err
        store = Store.open(folder / "cache")
        for ids in (store.article_ids(feed_ids=[row.id]) for row in store.feeds()):
            store.set_read(ids[:2])  # the reader read two of three
            store.set_starred(ids[1], True)  # and starred one of them
        store.close()
        db = cache_db(folder)
        before, counts_before = snapshot(db), counts(db)
        for name in NAMES:
            serve_hostile(srv, name)
        srv.requests.clear()
        hostile = docbao("refresh", "--config", str(config), cwd=folder)
        after = snapshot(db)
        hits = {name: len(srv.hits(f"/{name}.xml")) for name in NAMES}
        yield World(folder, srv, before, counts_before, hostile, after, hits)


def test_the_hostile_refresh_reports_failures_and_exits_1(world: World) -> None:
    assert world.hostile.returncode == 1
    assert "Traceback" not in world.hostile.err
    assert "ERROR" in world.hostile.out and "GONE" in world.hostile.out


@pytest.mark.parametrize("name", list(HOSTILE))
def test_each_feed_records_what_happened(world: World, name: str) -> None:
    _answer, status, words = HOSTILE[name]
    ((last_status, last_error),) = query(world.db, "SELECT last_status, last_error FROM feeds WHERE url = ?",
                                         (world.url(name),))
    assert last_status == status
    assert words in last_error if words else last_error == ""


@pytest.mark.parametrize("name", NAMES)
def test_no_article_mark_or_count_is_lost(world: World, name: str) -> None:
    url = world.url(name)
    assert world.after[url] == world.before[url]
    # the two newest were read, the middle one starred (listed here oldest first)
    assert [(read, starred) for *_rest, read, starred in world.after[url]] == [(0, 0), (1, 1), (1, 0)]
    assert counts(world.db)[url] == world.counts_before[url] == (1, 3)


def test_no_partial_document_was_stored(world: World) -> None:
    """The feeds cut short kept their three articles and got no fourth from half a body."""
    for name in ("reset-mid-body", "short-body", "broken-chunks"):
        assert len(world.after[world.url(name)]) == 3


@pytest.mark.parametrize(("name", "recorded"), [("moved-301", True), ("moved-308", True), ("moved-302", False)])
def test_only_permanent_moves_are_recorded(world: World, name: str, recorded: bool) -> None:
    ((last_status, redirect),) = query(world.db, "SELECT last_status, redirect_url FROM feeds WHERE url = ?",
                                       (world.url(name),))
    assert last_status == "ok"
    assert redirect == (world.srv.url(f"/{name}-new.xml") if recorded else "")


def test_the_next_refresh_remembers_moves_gone_and_deferred(world: World) -> None:
    world.srv.requests.clear()
    again = docbao("refresh", "--config", str(world.folder / "feeds.toml"), cwd=world.folder)
    assert again.returncode == 1
    hits = {name: len(world.srv.hits(f"/{name}.xml")) for name in NAMES}
    assert hits["moved-301"] == hits["moved-308"] == 0  # straight to the new address
    assert len(world.srv.hits("/moved-301-new.xml")) == 1
    assert hits["moved-302"] == 1  # a temporary move is asked again at the old address
    assert hits["http-410"] == 0  # gone: never asked again
    assert hits["http-429"] == hits["http-503"] == 0  # not before Retry-After
    assert hits["http-404"] == 1 and hits["reset-mid-body"] == 1  # plain errors are retried
    ((status,),) = query(world.db, "SELECT last_status FROM feeds WHERE url = ?", (world.url("http-410"),))
    assert status == "gone"
    assert snapshot(world.db) == world.before  # and still nothing lost


# ------------------------------------------------------------------ a truncated document
def truncated_refresh(tmp_path: Path, server: LocalServer, cut: int) -> tuple[dict[str, list[tuple]], dict[str, list[tuple]], Run]:
    """A good refresh of three items, then the same document cut after `cut` bytes of its
    second item, served whole (a correct Content-Length: the server's file was cut)."""
    body = feed_of("cut")
    url = server.route("/cut.xml", body)
    config = write_config(tmp_path, [url])
    assert docbao("refresh", "--config", str(config), cwd=tmp_path).returncode == 0
    before = snapshot(cache_db(tmp_path))
    server.route("/cut.xml", body[: body.index(b"<item>", body.index(b"</item>")) + cut])
    run = docbao("refresh", "--config", str(config), cwd=tmp_path)
    return before, snapshot(cache_db(tmp_path)), run


@pytest.mark.parametrize("cut", [0, 6, 20])
def test_a_truncated_document_deletes_nothing(tmp_path: Path, server: LocalServer, cut: int) -> None:
    before, after, run = truncated_refresh(tmp_path, server, cut)
    assert "Traceback" not in run.err
    (url,) = before
    assert set(before[url]) <= set(after[url])


def test_an_item_cut_off_by_the_end_of_the_document_is_not_stored(tmp_path: Path, server: LocalServer) -> None:
    """The cut item (no </item>, its title ending in half a UTF-8 character) used to be
    stored under a sha1 guid as "Tin cut s\ufffd", beside the real one once it was back."""
    before, after, run = truncated_refresh(tmp_path, server, 23)  # inside "ố", a three-byte character
    assert after == before, [row[2] for row in after[next(iter(after))]]
