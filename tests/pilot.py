"""What the reader's tests share (Pilot, snapshots, pty): a small fixed cache, and helpers
that look at the reader the way a person does (the lines a pane draws, the status line) or
act as one (walking the feed list with j/k, waiting for an article to be laid out).

Everything in the cache is fixed: titles, dates (UTC epoch seconds), read states and
errors, so the snapshots and the assertions never depend on the day or the machine. The
fixtures built on it (`cache`, `browser`) are in conftest.py.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path

from tui.config import Config, FeedConfig
from tui.model import FetchResult, ParsedArticle, ParsedFeed
from tui.store.cache import Store
from tui.ui.app import DocbaoApp
from tui.ui.screens.main import MainScreen
from tui.ui.widgets.article_list import ArticleList
from tui.ui.widgets.article_view import ArticleView
from tui.ui.widgets.feed_list import FeedList
from tui.ui.widgets.status_bar import StatusBar

UI_DATA = Path(__file__).parent / "data" / "ui"
T0 = 1_590_243_720  # 2020-05-23 14:22 UTC, when the seed article was published (21:22 in Hanoi)
HOUR = 3600
DAY = 86_400

VN = "http://127.0.0.1:9/vn.xml"
TECH = "http://127.0.0.1:9/tech.xml"
EVIL = "http://127.0.0.1:9/evil.xml"
PLAIN = "http://127.0.0.1:9/plain.xml"
BROKEN = "http://127.0.0.1:9/broken.xml"
NEVER = "http://127.0.0.1:9/never-fetched.xml"

SEED_TITLE = "Lãnh đạo Trung ương làm việc với Ban Thường vụ Tỉnh ủy Thái Nguyên"
# Rich/Textual markup, an action link, a file link, OSC 52 (clipboard) and OSC 0 (window
# title) escape sequences, a C1 CSI and a bidi override: the markup must show as inert
# text, the sequences and the override not at all (no "]0;pwned" left of them either).
HOSTILE_FEED = ("[bold]Evil[/] \x1b]52;c;SGFja2Vk\x07\x1b]0;pwned\x07\x9b31m\u202e [RFC] "
                "[@click=app.quit]x[/] [link=file:///etc/passwd]pw[/link]")
SHOWN_FEED = "[bold]Evil[/] [RFC] [@click=app.quit]x[/] [link=file:///etc/passwd]pw[/link]"
HOSTILE_ARTICLE = "[@click=app.quit]Quit now[/] [b]not bold[/b] [WIP] \x1b[31mred"
HOSTILE_AUTHOR = "[link=file:///etc/passwd]Mallory[/link]"
HOSTILE_BODY = ("<p>[@click=app.quit]Click me[/] and [bold]this[/bold] stays text.</p>"
                "<p>An escape \x1b]0;pwned\x07 and a [link=file:///etc/passwd]link[/link].</p>")
BROKEN_ERROR = "HTTP 500 [b]Internal[/b] Server Error \x1b]0;pwned\x07"


@dataclass
class UICache:
    folder: Path
    config: Config
    feed_ids: dict[str, int]  # url -> feed id
    articles: dict[str, list[int]]  # url -> article ids, newest first


def _article(guid: str, title: str, hours_ago: float, *, body: str = "", author: str = "",
             link: str = "") -> ParsedArticle:
    return ParsedArticle(guid=guid, link=link or f"https://example.com/{guid}", title=title, author=author,
                         published=int(T0 - hours_ago * HOUR), summary=body or f"<p>{title}.</p>")


def build_ui_cache(folder: Path, *, keys: dict[str, str] | None = None) -> UICache:
    """Six feeds: a Vietnamese one in two folders, two in a "Tech" folder (one with a hostile
    title), an untagged one, one whose last fetch failed and one never fetched."""
    seed_html = (UI_DATA / "thai-nguyen.html").read_text(encoding="utf-8")
    feeds = {
        VN: ParsedFeed(title="Báo Thái Nguyên điện tử", articles=[
            _article("vn-1", SEED_TITLE, 0, body=seed_html, author="Thu Hiền"),
            _article("vn-2", "Thái Nguyên: đón nhận Huân chương Lao động hạng Nhất", 26),
            _article("vn-3", "Đảng bộ tỉnh chuẩn bị Đại hội lần thứ XX", 50),
        ]),
        TECH: ParsedFeed(title="Tech Weekly", articles=[
            _article("t-1", "A faster SQLite for everyone", 2),
            _article("t-2", "Terminal UIs are back", 30),
            _article("t-3", "Reading feeds offline", 54),
            _article("t-4", "Why RSS still matters", 78),
        ]),
        EVIL: ParsedFeed(title=HOSTILE_FEED, articles=[
            _article("e-1", HOSTILE_ARTICLE, 5, body=HOSTILE_BODY, author=HOSTILE_AUTHOR),
            _article("e-2", "[/] closing tag first", 29),
        ]),
        PLAIN: ParsedFeed(title="plain.example", articles=[
            _article("p-1", "Plain news one", 10, link="https://example.com/plain/1?a=1&b=$(id)"),
            _article("p-2", "Plain news two", 34),
        ]),
    }
    config = Config(path=None, keys=dict(keys or {}))
    config.feeds = [
        FeedConfig(url=VN, title="Báo Thái Nguyên", tags=["Việt Nam", "Tin tức"]),
        FeedConfig(url=TECH, tags=["Tech"]),
        FeedConfig(url=EVIL, tags=["Tech"]),
        FeedConfig(url=PLAIN, title="Plain Feed"),
        FeedConfig(url=BROKEN, title="Broken Feed"),
        FeedConfig(url=NEVER),
    ]
    store = Store.open(folder)
    try:
        ids = store.ensure_feeds([f.url for f in config.feeds])
        for url, parsed in feeds.items():
            store.save_fetch(ids[url], FetchResult("ok", url), parsed, now=T0)
        store.save_fetch(ids[BROKEN], FetchResult("error", BROKEN, error=BROKEN_ERROR), None, now=T0)
        articles = {url: store.article_ids(feed_ids=[ids[url]]) for url in feeds}
        store.set_read(articles[TECH][2:])  # the two oldest Tech articles are read
        store.set_starred(articles[PLAIN][1], True)
    finally:
        store.close()
    return UICache(folder, config, ids, articles)


SIZE = (120, 36)


def panes(app: DocbaoApp) -> tuple[FeedList, ArticleList, ArticleView]:
    screen = app.screen
    assert isinstance(screen, MainScreen)
    return screen.query_one(FeedList), screen.query_one(ArticleList), screen.query_one(ArticleView)


def lines(widget: FeedList | ArticleList | ArticleView) -> list[str]:
    """The text of the widget's lines as drawn on screen."""
    return [widget.render_line(y).text.rstrip() for y in range(widget.scrollable_content_region.height)]


def screen_lines(app: DocbaoApp) -> list[str]:
    """Every line of the terminal as the app would draw it now."""
    update = app.screen._compositor.render_full_update()
    return ["".join(strip.text for strip in row) for row in update.strips]


def flat(text: str) -> str:
    """Text with its wrapping undone, to look for a sentence in it."""
    return " ".join(text.split())


def plain(visual: object) -> str:
    """What a Content / Text / str shows, without markup escapes."""
    return str(getattr(visual, "plain", visual))


def status(app: DocbaoApp) -> str:
    return plain(app.screen.query_one(StatusBar).render())


def feed_key(cache: UICache, url: str, folder: str = "") -> str:
    key = f"feed:{cache.feed_ids[url]}"
    return f"tag:{folder}/{key}" if folder else key


async def go_to_feed(pilot, app: DocbaoApp, key: str) -> None:  # type: ignore[no-untyped-def]
    """Walk the feed list with j/k, as a reader would, to the entry `key`."""
    await pilot.pause()
    feeds, _, _ = panes(app)
    feeds.focus()
    await pilot.pause()
    target = next(i for i, e in enumerate(feeds.shown) if e.key == key)
    while feeds.cursor != target:
        await pilot.press("j" if feeds.cursor < target else "k")
    await pilot.pause()


async def laid_out(pilot) -> None:  # type: ignore[no-untyped-def]
    """Wait for the article asked for: it is laid out in a thread and shown when it arrives."""
    app = pilot.app
    rendering = [w for w in app.workers if w.group == "render"]
    if rendering:  # an empty list would wait for every worker (images loading, a refresh)
        await app.workers.wait_for_complete(rendering)
    await pilot.pause()


def read_state(cache: UICache, article_id: int) -> tuple[bool, bool]:
    store = Store.open(cache.folder)
    try:
        row = store.rows([article_id])[0]
        return row.read, row.starred
    finally:
        store.close()


async def browser_args(out: Path) -> list[str]:
    for _ in range(200):
        if out.exists():
            arguments = out.read_text().splitlines()
            out.unlink()
            return arguments
        await asyncio.sleep(0.025)
    raise AssertionError("the browser was not started")


def rss(items: list[tuple[str, str, str]]) -> str:
    """An RSS 2.0 document with items (guid, title, RFC 822 date)."""
    body = "".join(f"<item><guid>{g}</guid><title>{t}</title><link>https://example.com/{g}</link>"
                   f"<pubDate>{d}</pubDate><description>{t} body</description></item>" for g, t, d in items)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Local</title>{body}</channel></rss>'


OLD_ITEMS = [("a2", "Second story", "Sat, 23 May 2020 10:00:00 GMT"),
             ("a1", "First story", "Fri, 22 May 2020 10:00:00 GMT")]


NEW_ITEMS = [("a4", "Fourth story", "Mon, 25 May 2020 10:00:00 GMT"),
             ("a3", "Third story", "Sun, 24 May 2020 10:00:00 GMT")]


def fetched_ago(folder: Path, seconds: int, url: str | None = None) -> None:
    """Move the last fetch of the cache's feeds (or of the one at `url`) `seconds` back in time."""
    import sqlite3

    from tui.store.cache import DB_NAME

    with contextlib.closing(sqlite3.connect(folder / DB_NAME)) as conn, conn:
        conn.execute("UPDATE feeds SET last_fetch = last_fetch - ? WHERE ? IS NULL OR url = ?", (seconds, url, url))


def served_cache(folder: Path, url: str) -> UICache:
    """A cache holding the first two items of a feed served on 127.0.0.1."""
    from tui.config import Config, FeedConfig
    from tui.model import FetchResult, ParsedArticle, ParsedFeed

    config = Config(path=None, feeds=[FeedConfig(url=url, title="Local feed")])
    store = Store.open(folder)
    ids = store.ensure_feeds([url])
    articles = [ParsedArticle(guid=g, title=t, link=f"https://example.com/{g}", summary=f"<p>{t} body</p>",
                              published=1_590_228_000 - i * 86_400) for i, (g, t, _) in enumerate(OLD_ITEMS)]
    store.save_fetch(ids[url], FetchResult("ok", url), ParsedFeed(title="Local", articles=articles))
    stored = store.article_ids()
    store.close()
    return UICache(folder, config, ids, {url: stored})


LONG_FEED = "http://127.0.0.1:9/long.xml"


def long_feed_cache(folder: Path, count: int) -> tuple[Config, int]:
    """A cache of one feed, "Long", of `count` articles a minute apart (enough to mark many at
    once); its config and the feed's id."""
    from tui.model import FetchResult, ParsedArticle, ParsedFeed

    store = Store.open(folder)
    try:
        feed_id = store.ensure_feeds([LONG_FEED])[LONG_FEED]
        store.save_fetch(feed_id, FetchResult("ok", LONG_FEED), ParsedFeed(title="Long", articles=[
            ParsedArticle(guid=f"g{n}", title=f"Item {n}", link=f"https://example.com/{n}",
                          published=1_590_000_000 - n * 60, summary="<p>x</p>") for n in range(count)]))
    finally:
        store.close()
    return Config(path=None, feeds=[FeedConfig(url=LONG_FEED, title="Long")]), feed_id
