"""A small fixed cache for the reading-UI tests (Pilot, snapshots, pty), and tests of how
the feeds pane is built from it.

Everything is fixed: titles, dates (UTC epoch seconds), read states and errors, so the
snapshots and the assertions never depend on the day or the machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tui.config import Config, FeedConfig
from tui.model import FetchResult, ParsedArticle, ParsedFeed
from tui.store.cache import Store
from tui.ui.widgets.feed_list import build_entries

DATA = Path(__file__).parent / "data" / "ui"
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
# title) escape sequences, a C1 CSI and a bidi override: all must show as inert text.
HOSTILE_FEED = ("[bold]Evil[/] \x1b]52;c;SGFja2Vk\x07\x1b]0;pwned\x07\x9b31m\u202e [RFC] "
                "[@click=app.quit]x[/] [link=file:///etc/passwd]pw[/link]")
SHOWN_FEED = "[bold]Evil[/] ]52;c;SGFja2Vk]0;pwned31m [RFC] [@click=app.quit]x[/] [link=file:///etc/passwd]pw[/link]"
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
    seed_html = (DATA / "thai-nguyen.html").read_text(encoding="utf-8")
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


def test_feeds_pane_order_folders_then_untagged(tmp_path: Path) -> None:
    cache = build_ui_cache(tmp_path)
    store = Store.open(tmp_path)
    entries = build_entries(cache.config, store.feeds(), store.count(starred=True))
    store.close()
    shown = [(e.kind, e.label, e.folder) for e in entries]
    assert shown[:3] == [("view", "All", ""), ("view", "Unread", ""), ("view", "Starred", "")]
    assert shown[3:] == [
        ("folder", "Việt Nam", "Việt Nam"), ("feed", "Báo Thái Nguyên", "Việt Nam"),
        ("folder", "Tin tức", "Tin tức"), ("feed", "Báo Thái Nguyên", "Tin tức"),
        ("folder", "Tech", "Tech"), ("feed", "Tech Weekly", "Tech"),
        ("feed", entries[9].label, "Tech"),
        ("feed", "Plain Feed", ""), ("feed", "Broken Feed", ""), ("feed", NEVER, ""),
    ]


def test_feeds_pane_counts_come_from_the_counters(tmp_path: Path) -> None:
    cache = build_ui_cache(tmp_path)
    store = Store.open(tmp_path)
    entries = {e.key: e for e in build_entries(cache.config, store.feeds(), store.count(starred=True))}
    store.close()
    assert entries["all"].count == entries["unread"].count == 3 + 2 + 2 + 2
    assert entries["starred"].count == 1
    assert entries["tag:Tech"].count == 4 and entries["tag:Tech"].feed_ids == (
        cache.feed_ids[TECH], cache.feed_ids[EVIL])
    assert entries[f"tag:Tech/feed:{cache.feed_ids[TECH]}"].count == 2


def test_feed_labels_fall_back_and_lose_control_characters(tmp_path: Path) -> None:
    cache = build_ui_cache(tmp_path)
    store = Store.open(tmp_path)
    entries = {e.key: e for e in build_entries(cache.config, store.feeds(), 0)}
    store.close()
    evil = entries[f"tag:Tech/feed:{cache.feed_ids[EVIL]}"]
    assert evil.label == SHOWN_FEED
    assert not any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F or ch == "\u202e" for ch in evil.label)
    broken = entries[f"feed:{cache.feed_ids[BROKEN]}"]
    assert broken.error.startswith("HTTP 500 [b]Internal[/b] Server Error")
    assert "\x1b" not in broken.error
    assert entries[f"feed:{cache.feed_ids[NEVER]}"].label == NEVER
