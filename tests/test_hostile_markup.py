"""Rich/Textual markup in feed text is legal text: stored and printed exactly as written.

`[RFC]`, `a[b]c` or `[/]` are ordinary in titles; `[link=file:///etc/passwd]` and
`[@click=app.quit]` are attacks only if something parses them. Nothing may strip, escape
or interpret them on the way from the feed to the cache and to `docbao`'s output."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.server import LocalServer
from tests.hostile import Run, cache_db, docbao, query, rss, write_config

MARKUP = [
    "[/]",
    "[RFC] Một đề xuất về giao thông",
    "a[b]c",
    "[link=file:///etc/passwd]mật khẩu[/link]",
    "[@click=app.quit]Thoát[/]",
    "[bold red]Đỏ[/bold red] [/bold]",
    "\\[escaped] and [[double]]",
    "[on red]nền đỏ",
    "[/link][/@click][/]",
]
FEED_TITLE = "[RFC] [b]Báo[/b] [@click=app.quit]"
CONFIG_TITLE = "[bold]Cấu hình[/] [link=file:///etc/shadow]"
AUTHOR = "[@click=app.bell]Phóng viên[/]"
BYLINE = f"{AUTHOR} (pv@e.example)"  # the RSS feeds' "pv@e.example (AUTHOR)", name first
BODY_MARK = "[link=file:///etc/passwd]đường dẫn[/link] a[b]c [/]"


def feed(prefix: str) -> bytes:
    items = [
        {
            "title": html.escape(text, quote=False),
            "guid": f"{prefix}-{n}",
            "link": f"https://e.example/{prefix}/{n}",
            "author": html.escape(f"pv@e.example ({AUTHOR})", quote=False),
            "pubDate": f"Sat, 23 May 2020 {10 + n:02d}:00:00 +0700",
            "description": html.escape(f"<p>{BODY_MARK} {text}</p>", quote=False),
        }
        for n, text in enumerate(MARKUP)
    ]
    return rss(items, title=html.escape(FEED_TITLE, quote=False))


def json_feed() -> bytes:
    return json.dumps({
        "version": "https://jsonfeed.org/version/1.1", "title": FEED_TITLE,
        "items": [{"id": f"j-{n}", "url": f"https://e.example/j/{n}", "title": text,
                   "authors": [{"name": AUTHOR}], "content_text": f"{BODY_MARK}\n{text}",
                   "date_published": f"2020-05-23T{10 + n:02d}:00:00+07:00"}
                  for n, text in enumerate(MARKUP)],
    }, ensure_ascii=False).encode("utf-8")


@dataclass
class World:
    folder: Path
    config: Path
    refresh: Run
    urls: dict[str, str]

    def cli(self, *args: str) -> Run:
        run = docbao(*args, "--config", str(self.config), cwd=self.folder)
        assert run.returncode == 0, run.err
        return run


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("markup")
    with LocalServer() as srv:
        urls = {"rss": srv.route("/rss.xml", feed("r")), "named": srv.route("/named.xml", feed("n")),
                "json": srv.route("/feed.json", json_feed(), content_type="application/feed+json")}
        config = write_config(folder, [urls["rss"], {"url": urls["named"], "title": CONFIG_TITLE}, urls["json"]])
        run = docbao("refresh", "--config", str(config), cwd=folder)
        yield World(folder, config, run, urls)


def test_markup_is_stored_exactly(world: World) -> None:
    assert world.refresh.returncode == 0, world.refresh.out
    db = cache_db(world.folder)
    for kind, url in world.urls.items():
        rows = query(db, "SELECT a.title, a.author, a.content FROM articles a JOIN feeds f ON f.id = a.feed_id"
                         " WHERE f.url = ? ORDER BY a.published", (url,))
        assert [r[0] for r in rows] == MARKUP
        assert {r[1] for r in rows} == {AUTHOR if kind == "json" else BYLINE}
        for (_, _, content), text in zip(rows, MARKUP):
            assert html.unescape(content).count(BODY_MARK) == 1 and text in html.unescape(content)
    assert {r[0] for r in query(db, "SELECT title FROM feeds")} == {FEED_TITLE}


def test_refresh_prints_the_titles_literally(world: World) -> None:
    assert FEED_TITLE in world.refresh.out and CONFIG_TITLE in world.refresh.out


def test_articles_lists_every_title_literally(world: World) -> None:
    out = world.cli("articles").out
    for text in MARKUP:
        assert out.count(f"  {text}\n") == 3, text
    rows = [json.loads(line) for line in world.cli("articles", "--json").out.splitlines()]
    assert sorted(r["title"] for r in rows) == sorted(MARKUP * 3)
    assert {r["author"] for r in rows} == {AUTHOR, BYLINE}
    assert {r["feed_title"] for r in rows} == {FEED_TITLE, CONFIG_TITLE}


def test_feeds_lists_the_names_literally(world: World) -> None:
    out = world.cli("feeds").out
    assert out.count(FEED_TITLE) == 2 and out.count(CONFIG_TITLE) == 1
    names = {json.loads(line)["title"] for line in world.cli("feeds", "--json").out.splitlines()}
    assert names == {FEED_TITLE, CONFIG_TITLE}


def test_read_prints_title_author_and_body_literally(world: World) -> None:
    db = cache_db(world.folder)
    for article_id, title in query(db, "SELECT a.id, a.title FROM articles a JOIN feeds f ON f.id = a.feed_id"
                                       " WHERE f.url = ?", (world.urls["named"],)):
        out = world.cli("read", str(article_id), "--width", "200").out
        lines = out.splitlines()
        assert lines[0] == title
        assert lines[1].startswith(f"{CONFIG_TITLE} · {BYLINE} · ")
        assert BODY_MARK in out
