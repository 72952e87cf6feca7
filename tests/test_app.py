"""Pilot tests of the reading UI: what a reader does, on a fixed cache, and what they see."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from textual.containers import VerticalScroll
from textual.widgets import Static

from tests.pilot import (
    BROKEN,
    EVIL,
    NEVER,
    NEW_ITEMS,
    OLD_ITEMS,
    PLAIN,
    SEED_TITLE,
    SHOWN_FEED,
    SIZE,
    TECH,
    VN,
    UICache,
    browser_args,
    build_ui_cache,
    feed_key,
    fetched_ago,
    flat,
    go_to_feed,
    laid_out,
    lines,
    panes,
    plain,
    read_state,
    rss,
    screen_lines,
    served_cache,
    status,
)
from tui.ui.app import DocbaoApp
from tui.ui.screens.help import HelpScreen
from tui.ui.screens.main import MainScreen
from tui.store.cache import Store
from tui.ui.widgets.article_list import ArticleList
from tui.ui.widgets.article_view import ArticleView
from tui.ui.widgets.feed_list import FeedList


async def test_opens_on_the_cache_with_feeds_folders_and_counts(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        feeds, articles, reader = panes(app)
        shown = lines(feeds)
        assert shown[0].split() == ["All", "9"]
        assert shown[1].split() == ["Unread", "9"]
        assert shown[2].split() == ["Starred", "1"]
        assert shown[3].split() == ["▾", "Việt", "Nam", "3"]
        assert shown[4].split() == ["Báo", "Thái", "Nguyên", "3"]
        assert shown[7].split() == ["▾", "Tech", "4"]
        assert shown[8].split() == ["Tech", "Weekly", "2"]
        assert shown[10].split() == ["Plain", "Feed", "2"]
        assert shown[11].split() == ["!", "Broken", "Feed"]
        assert shown[12].strip() == "127.0.0.1:9/never-fetched.xml"
        assert app.focused is feeds and feeds.current is not None and feeds.current.key == "all"
        assert len(articles.ids) == 11
        assert reader.article_id is None
        assert "9 unread · 11 articles" in status(app)


async def test_reading_an_article_marks_it_read_and_updates_counts(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, VN, "Việt Nam"))
        feeds, articles, reader = panes(app)
        assert articles.ids == cache.articles[VN]
        assert "Lãnh đạo Trung ương" in lines(articles)[0]
        assert "2020-05-23" in lines(articles)[0]  # beside the feeds alone the list has room for the whole date
        await pilot.press("enter")
        assert app.focused is articles
        await pilot.press("enter")
        assert app.focused is reader
        await laid_out(pilot)
        assert reader.article_id == cache.articles[VN][0]
        assert SEED_TITLE in flat(reader.text) and "Thu Hiền" in reader.text
        assert "Đảng bộ tỉnh lần thứ XIX" in flat(reader.text)  # the body, diacritics intact
        assert "2020-05-23 14:22" in flat(reader.text)  # local time (UTC here)
        assert read_state(cache, cache.articles[VN][0]) == (True, False)
        await pilot.press("escape")  # back to the feeds and the list, which stepped aside
        await pilot.pause()
        assert lines(feeds)[4].split()[-1] == "2"
        assert lines(feeds)[0].split() == ["All", "8"]
        assert "8 unread" in status(app)
        assert "●" not in lines(articles)[0] and "●" in lines(articles)[1]


async def test_long_lines_wrap_to_the_pane_and_space_pages(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, VN, "Việt Nam"))
        await pilot.press("enter", "enter")
        await laid_out(pilot)
        _, _, reader = panes(app)
        width = reader.scrollable_content_region.width
        drawn = lines(reader)
        assert all(len(line) <= width for line in drawn)
        assert sum(1 for line in drawn if line) > 20  # the lead paragraph wrapped over many lines
        await pilot.press("space")
        assert reader.line == reader.scrollable_content_region.height - 1
        await pilot.press("b")
        assert reader.line == 0
        await pilot.press("j", "j")
        assert reader.line == 2
        await pilot.press("G")
        assert reader.line == reader.max_scroll_y > 0


async def test_toggle_read_and_star(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, TECH, "Tech"))
        feeds, articles, _ = panes(app)
        await pilot.press("enter", "j", "j")  # the third Tech article, already read
        article = cache.articles[TECH][2]
        assert articles.current_id == article
        await pilot.press("m")
        assert read_state(cache, article) == (False, False)
        assert lines(feeds)[8].split()[-1] == "3"
        assert "●" in lines(articles)[2]
        await pilot.press("s")
        assert read_state(cache, article) == (False, True)
        assert "★" in lines(articles)[2]
        assert "Starred ★." in status(app)  # said where it is seen from the article too
        assert lines(feeds)[2].split() == ["Starred", "2"]
        await pilot.press("m", "s")
        assert read_state(cache, article) == (True, False)
        assert "Star removed." in status(app) and "Starred" not in status(app)
        assert lines(feeds)[2].split() == ["Starred", "1"]


async def test_next_unread_crosses_feeds_and_previous_goes_back(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, TECH, "Tech"))
        feeds, articles, reader = panes(app)
        opened = []
        for _ in range(5):
            await pilot.press("n")
            await laid_out(pilot)
            opened.append((feeds.current.key if feeds.current else "", reader.article_id))
        assert opened == [
            (feed_key(cache, TECH, "Tech"), cache.articles[TECH][0]),
            (feed_key(cache, TECH, "Tech"), cache.articles[TECH][1]),
            (feed_key(cache, EVIL, "Tech"), cache.articles[EVIL][0]),  # the next feed with unread articles
            (feed_key(cache, EVIL, "Tech"), cache.articles[EVIL][1]),
            (feed_key(cache, PLAIN), cache.articles[PLAIN][0]),  # out of the folder, to untagged feeds
        ]
        assert all(read_state(cache, article) == (True, False) for _, article in opened[:4])
        await pilot.press("p")  # nothing unread before it in this feed: round from its end (as newsboat)
        await laid_out(pilot)
        assert feeds.current is not None and feeds.current.key == feed_key(cache, PLAIN)
        assert reader.article_id == cache.articles[PLAIN][1]
        await pilot.press("p")  # nothing unread here now, nor in Tech: back to the Vietnamese feed
        await laid_out(pilot)
        assert feeds.current is not None and feeds.current.key == feed_key(cache, VN, "Tin tức")
        assert reader.article_id == cache.articles[VN][-1]
        assert articles.current_id == cache.articles[VN][-1]


async def test_next_unread_goes_round_and_says_so_when_there_is_none(cache: UICache) -> None:
    """From the last feed, `n` goes round to the feed list's top (newsboat goes round a
    feed's list too); with nothing unread anywhere it says so."""
    store = Store.open(cache.folder)
    try:
        every = [i for ids in cache.articles.values() for i in ids]
        store.set_read([i for i in every if i not in (*cache.articles[PLAIN], cache.articles[VN][-1])], True)
    finally:
        store.close()
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, PLAIN))
        feeds, articles, reader = panes(app)
        await pilot.press("n", "n", "n")
        await laid_out(pilot)
        assert feeds.current is not None and feeds.current.key == feed_key(cache, VN, "Việt Nam")  # its first line
        assert reader.article_id == cache.articles[VN][-1]
        await pilot.press("n")
        await laid_out(pilot)
        assert reader.article_id == cache.articles[VN][-1]
        assert "No unread articles left." in status(app)
        await go_to_feed(pilot, app, feed_key(cache, PLAIN))
        await pilot.press("enter", "m", "j")  # the first article unread again; the cursor on the second
        await laid_out(pilot)
        await pilot.press("n")  # round this feed's list to it: the note goes at once
        await laid_out(pilot)
        assert reader.article_id == cache.articles[PLAIN][0]
        assert "No unread articles" not in status(app)


async def test_mark_all_read_in_a_feed_then_in_a_view(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, TECH, "Tech"))
        feeds, articles, _ = panes(app)
        await pilot.press("A")
        assert all(read_state(cache, a)[0] for a in cache.articles[TECH])
        assert not read_state(cache, cache.articles[EVIL][0])[0]
        assert lines(feeds)[8].split() == ["Tech", "Weekly"]
        assert lines(feeds)[0].split() == ["All", "7"]
        assert all("●" not in line for line in lines(articles))
        await go_to_feed(pilot, app, "all")
        await pilot.press("A")
        assert lines(feeds)[0].split() == ["All"]
        assert "0 unread · 11 articles" in status(app)
        assert "Marked 7 articles read" in status(app)


async def test_sort_toggle_keeps_the_selected_article(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, "all")
        _, articles, _ = panes(app)
        newest_first = list(articles.ids)
        await pilot.press("enter", "j", "j")
        chosen = articles.current_id
        await pilot.press("O")
        assert articles.ids == newest_first[::-1]
        assert articles.current_id == chosen
        pane = app.screen.query_one("#articles-pane")
        assert pane.border_subtitle == "oldest first"
        await pilot.press("O", "O", "O")  # by title, by feed, then newest first again
        assert articles.ids == newest_first and articles.current_id == chosen


async def test_oldest_first_setting(cache: UICache) -> None:
    cache.config.settings.oldest_first = True
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, TECH, "Tech"))
        _, articles, _ = panes(app)
        assert articles.ids == cache.articles[TECH][::-1]


async def test_restart_restores_feed_article_and_scroll_position(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, VN, "Tin tức"))
        await pilot.press("enter", "enter", "j", "j", "j", "j", "j")  # typed before the article is laid out
        await laid_out(pilot)
        _, _, reader = panes(app)
        assert reader.line == 5
        await pilot.press("h", "j", "enter")  # another article, scrolled to its top
        await pilot.press("Q")
    assert app.return_code == 0

    again = DocbaoApp(cache.config, cache.folder)
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await laid_out(pilot)
        feeds, articles, reader = panes(again)
        assert feeds.current is not None and feeds.current.key == feed_key(cache, VN, "Tin tức")
        assert articles.current_id == cache.articles[VN][1]
        assert reader.article_id == cache.articles[VN][1]
        assert again.focused is reader
        await pilot.press("h", "k", "enter")
        await laid_out(pilot)
        assert reader.article_id == cache.articles[VN][0]
        assert reader.line == 5  # where the reader left the seed article


async def test_hostile_titles_and_bodies_show_as_text(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=(200, 40)) as pilot:  # room for the whole titles
        await go_to_feed(pilot, app, feed_key(cache, EVIL, "Tech"))
        feeds, articles, reader = panes(app)
        assert lines(feeds)[9].strip().startswith("[bold]Evil[/] [RFC]")
        top = screen_lines(app)[0]  # the pane titles are drawn in the top border
        assert "─ [bold]Evil[/] [RFC] [@click=app.quit]" in top
        assert "[@click=app.quit]Quit now[/] [b]not bold[/b] [WIP] red" in lines(articles)[0]
        await pilot.press("enter", "enter")
        await laid_out(pilot)
        assert "─ [bold]Evil[/] [RFC]" in screen_lines(app)[0]  # the reader's title
        text = flat(reader.text)
        assert "[@click=app.quit]Quit now[/] [b]not bold[/b] [WIP] red" in text
        assert "[@click=app.quit]Click me[/] and [bold]this[/bold] stays text." in text
        assert "An escape and a [link=file:///etc/passwd]link[/link]." in text
        assert "[link=file:///etc/passwd]Mallory[/link]" in text
        for y in range(8):  # clicking the "links" runs nothing
            await pilot.click(ArticleView, offset=(4, y))
            await pilot.click(ArticleList, offset=(30, 0))
            await pilot.click(FeedList, offset=(5, 9))
        assert app.is_running
        drawn = "".join(lines(feeds) + lines(articles) + lines(reader) + screen_lines(app))
        assert not any(ch in drawn for ch in "\x1b\x07\x9b\u202e")
        for tail in ("[31m", "]52;", "]0;", "pwned", "SGFja2Vk", "31m"):  # nothing of the sequences either
            assert tail not in drawn, tail
        for widget in (feeds, articles, reader):
            for y in range(widget.size.height):
                assert all(not segment.style or not segment.style.link for segment in widget.render_line(y))
                assert all(not segment.style or not segment.style.meta.get("@click")
                           for segment in widget.render_line(y))


async def test_hostile_text_in_notifications_and_banners(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, BROKEN))
        banner = app.screen.query_one("#banner", Static)
        assert banner.display
        assert plain(banner.render()) == "! HTTP 500 [b]Internal[/b] Server Error"
        await go_to_feed(pilot, app, feed_key(cache, EVIL, "Tech"))
        await pilot.press("r")  # 127.0.0.1:9 refuses: the failure names the hostile feed
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.pause()
        failures = [n for n in app._notifications if n.title == "Feed not refreshed"]
        assert failures and failures[0].markup is False
        assert failures[0].message.startswith(SHOWN_FEED)
        assert "\x1b" not in failures[0].message
        toasts = [plain(toast.render()) for toast in app.screen.query("Toast")]
        assert any("[@click=app.quit]x[/] [link=file:///etc/passwd]pw[/link]" in text for text in toasts)
        assert app.is_running


async def test_keys_remapped_from_the_config(cache: UICache) -> None:
    cache.config.keys = {"down": "x", "star": "S,asterisk", "no_such_action": "q"}
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        feeds, articles, _ = panes(app)
        assert any("unknown action 'no_such_action'" in n.message for n in app._notifications)
        await pilot.press("j")
        assert feeds.cursor == 0
        await pilot.press("x", "x")
        assert feeds.cursor == 2
        await pilot.press("k", "k", "enter")
        article = articles.current_id
        assert article is not None
        await pilot.press("s")
        assert read_state(cache, article)[1] is False
        await pilot.press("S")
        assert read_state(cache, article)[1] is True
        await pilot.press("asterisk")
        assert read_state(cache, article)[1] is False
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        help_text = plain(app.screen.query_one(Static).render())
        assert "x                 Move down" in help_text
        assert "S, *              Star or unstar the article" in help_text
        scroll = app.screen.query_one(VerticalScroll)
        await pilot.press("x", "x", "x")  # the user's own down key moves the help too
        await pilot.pause()
        assert scroll.scroll_y > 0
        await pilot.press("G")  # last, as everywhere
        await pilot.pause()
        assert scroll.scroll_y == scroll.max_scroll_y


def test_keymap_checks_report_unknown_actions_and_clashes() -> None:
    from tui.ui.widgets.keys import check_keymap

    assert check_keymap({}) == ({}, [])  # the defaults never clash
    applied, warnings = check_keymap({"star": "j", "help": "?,F1", "bogus": "x", "quit": " ",
                                      "toggle_read": "not a key", "sort": "ctrl+frob,o"})
    assert applied == {"star": "j", "help": "question_mark,f1"}  # F1 as Textual names it: it works
    assert "[keys] unknown action 'bogus' ignored" in warnings
    assert "[keys] 'j' is given to both 'down' and 'star'" in warnings
    assert "[keys] 'quit' has an empty key; ignored" in warnings
    assert ("[keys] 'toggle_read': 'not a key' is not a key name (e.g. j, ctrl+n, f1, question_mark); "
            "the default kept") in warnings  # m still marks
    assert any(w.startswith("[keys] 'sort': 'ctrl+frob' is not a key name") for w in warnings)


async def test_f1_written_as_the_docs_write_it_opens_the_help(cache: UICache) -> None:
    cache.config.keys = {"help": "F1,question_mark"}
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)


@pytest.mark.parametrize("pane", ["feeds", "articles", "reader"])
async def test_a_focused_pane_does_not_swallow_screen_keys(cache: UICache, pane: str) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, VN, "Việt Nam"))
        feeds, articles, reader = panes(app)
        await pilot.press("enter", "enter")  # the seed article is open
        await laid_out(pilot)
        widget = {"feeds": feeds, "articles": articles, "reader": reader}[pane]
        widget.focus()
        await pilot.pause()
        assert app.focused is widget
        await pilot.press("s")  # star: a screen key
        assert read_state(cache, cache.articles[VN][0]) == (True, True)
        await pilot.press("space")  # page the article: a screen key
        assert reader.line > 0
        await pilot.press("O")  # sort: a screen key
        assert articles.ids == cache.articles[VN][::-1]
        await pilot.press("tab")  # next pane: a screen key
        following = {"feeds": articles, "articles": reader, "reader": feeds}[pane]
        assert app.focused is following


async def test_help_screen_lists_every_key(cache: UICache) -> None:
    from tui.ui.widgets.keys import KEYS

    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.pause()
        text = plain(app.screen.query_one(Static).render())
        flat = " ".join(text.split())
        for spec in KEYS:
            if not spec.id.startswith("link_"):
                assert spec.description in flat
        assert "1-9" in text and "Open link 1-9 of the article" in text
        # a description too long for its line goes on under itself, not under the keys
        rows = text.split("\n")
        wrapped = [row for row, before in zip(rows[1:], rows) if before.startswith("  ") and row.startswith(" " * 20)]
        assert wrapped and all(row[20] != " " for row in wrapped)
        assert " " * 20 + "(newsboat's N)" in rows  # "N  Mark read or unread, then go down the list"
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_command_palette_runs_every_key_action(cache: UICache) -> None:
    from textual.command import CommandPalette

    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, TECH, "Tech"))
        await pilot.press("enter")
        _, articles, _ = panes(app)
        first = articles.current_id
        assert first is not None
        await pilot.press("colon")  # (ctrl+p is newsboat's previous feed)
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"star or unstar")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert isinstance(app.screen, MainScreen)
        assert read_state(cache, first) == (False, True)
        commands = {command.title: command.help for command in app.get_system_commands(app.screen)}
        assert commands["Star or unstar the article"] == "key: s"
        assert commands["Next unread article (crosses feeds)"] == "key: n"


async def test_o_opens_the_link_as_one_argument_without_a_shell(cache: UICache, browser: Path) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, PLAIN))
        await pilot.press("enter", "o")
        assert await browser_args(browser) == ["1", "https://example.com/plain/1?a=1&b=$(id)"]


# An Atom entry may have an id and no link at all: nothing to open, nothing to copy.
ATOM_WITHOUT_LINK = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom without links</title><id>urn:f</id>
<entry><id>urn:e2</id><title>An entry with an id only</title><updated>2020-05-23T10:00:00Z</updated>
<summary>Nothing here to open in a browser.</summary></entry></feed>"""


async def test_o_on_an_article_without_a_link_says_it_has_none(tmp_path: Path, browser: Path) -> None:
    """It said "This link cannot be opened in a browser (only http and https links are).",
    as if there were a link of another scheme."""
    from tui.config import Config, FeedConfig
    from tui.feeds.parse import parse_feed
    from tui.model import FetchResult

    url = "http://127.0.0.1:9/atom.xml"
    store = Store.open(tmp_path / "cache")
    feed_id = store.ensure_feeds([url])[url]
    store.save_fetch(feed_id, FetchResult("ok", url), parse_feed(ATOM_WITHOUT_LINK, url=url))
    store.close()
    app = DocbaoApp(Config(path=None, feeds=[FeedConfig(url=url)]), tmp_path / "cache")
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, f"feed:{feed_id}")
        await pilot.press("enter", "o")
        await pilot.pause()
        said = [n.message for n in app._notifications]
        assert said == ["This article has no link."]
        await pilot.press("enter")  # and from the article itself, where `y` says the same
        await laid_out(pilot)
        await pilot.press("o", "y")
        await pilot.pause()
        assert [n.message for n in app._notifications][1:] == ["This article has no link."] * 2
        assert app.clipboard == ""
    assert not browser.exists()


async def test_link_numbers_open_links_of_the_article(cache: UICache, browser: Path) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, VN, "Việt Nam"))
        await pilot.press("enter", "enter")
        await laid_out(pilot)
        _, _, reader = panes(app)
        assert reader.links == ["https://example.com/chinh-tri", "https://example.com/rss"]
        assert "Chính trị[1]" in flat(reader.text)
        await pilot.press("1")
        assert await browser_args(browser) == ["1", "https://example.com/chinh-tri"]
        await pilot.press("f", "2", "enter")
        assert await browser_args(browser) == ["1", "https://example.com/rss"]
        await pilot.press("9")
        assert any("no link 9" in n.message for n in app._notifications)


async def test_y_copies_the_link(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, PLAIN))
        await pilot.press("enter", "y")
        assert app.clipboard == "https://example.com/plain/1?a=1&b=$(id)"


async def test_narrow_terminal_shows_one_pane_at_a_time(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        feeds, articles, reader = panes(app)
        pane = app.screen.query_one("#articles-pane")

        def visible() -> list[str]:
            return [name for name, widget in (("feeds", feeds), ("articles", pane), ("reader", reader))
                    if widget.region.width > 0]

        assert visible() == ["feeds"] and feeds.region.width == 80
        await pilot.press("j", "j", "j", "j", "enter")
        assert visible() == ["articles"] and app.focused is articles
        await pilot.press("enter")
        await laid_out(pilot)
        assert visible() == ["reader"] and reader.article_id == cache.articles[VN][0]
        assert all(len(line) <= reader.scrollable_content_region.width for line in lines(reader))
        await pilot.press("h")
        assert visible() == ["articles"]
        await pilot.press("escape")
        assert visible() == ["feeds"]
        await pilot.press("tab", "tab")
        assert visible() == ["reader"]


async def test_folders_fold_and_unfold(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, "tag:Tech")
        feeds, articles, _ = panes(app)
        assert sorted(articles.ids) == sorted(cache.articles[TECH] + cache.articles[EVIL])
        await pilot.press("z")
        assert lines(feeds)[7].split() == ["▸", "Tech", "4"]
        assert lines(feeds)[8].split() == ["Plain", "Feed", "2"]
        await pilot.press("z")
        assert lines(feeds)[8].split() == ["Tech", "Weekly", "2"]


async def test_feeds_named_by_their_url_keep_the_end_that_tells_them_apart(tmp_path: Path) -> None:
    """Before the first fetch an untitled feed is named by its URL. Cut at its end, every
    row of one site read "127.0.0.1:9/…/feed-rs__a…"; cut from the left of the path, each
    keeps its file name."""
    from tui.config import Config, FeedConfig

    names = [f"feed-rs__atom_example_{n}.xml" for n in (1, 2, 5, 10)]
    config = Config(path=None, feeds=[FeedConfig(url=f"http://127.0.0.1:9/tests/data/feeds/{name}") for name in names]
                    + [FeedConfig(url="http://127.0.0.1:9/named.xml", title="A feed with a name much too long to be shown whole")])
    app = DocbaoApp(config, tmp_path / "cache")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        feeds, _, _ = panes(app)
        rows = [line.strip() for line in lines(feeds)[3:8]]
        assert feeds.outer_size.width < len("127.0.0.1:9/…/feed-rs__atom_example_10.xml")  # too narrow for them
        for name, row in zip(names, rows):
            host, end = row.split("/…", 1)
            assert host == "127.0.0.1:9" and name.endswith(end) and len(end) >= 12, row
        assert len(set(rows[:4])) == 4
        assert rows[4].startswith("A feed with a name") and rows[4].endswith("…")  # a name is cut at its end
        await pilot.resize_terminal(180, 40)
        await pilot.pause()
        assert lines(feeds)[5].strip() == "127.0.0.1:9/…/feed-rs__atom_example_5.xml"  # room: the whole of it


async def test_never_fetched_feed_and_empty_views(cache: UICache) -> None:
    """Keys that act on an article do nothing on a view that has none: nothing opens,
    nothing is marked, the list keeps saying why it is empty."""
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, NEVER))
        feeds, articles, reader = panes(app)
        assert articles.ids == [] and lines(articles)[0].strip() == "No articles here."
        counts = lines(feeds)
        await pilot.press("enter", "enter", "m", "s", "o", "y")
        await pilot.pause()
        assert lines(articles)[0].strip() == "No articles here."
        assert reader.article_id is None and app.focused is articles  # nothing opened
        assert lines(feeds) == counts  # nothing was marked read or starred
        assert "9 unread · 11 articles" in status(app)
        assert [n.message for n in app._notifications] == ["Select an article first."] * 2
        await pilot.press("n")  # the next unread article is in another feed: there it goes
        await laid_out(pilot)
        assert reader.article_id is not None and feeds.current is not None and feeds.current.key != feed_key(cache, NEVER)


async def test_refresh_while_reading_merges_without_moving_the_selection(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    url = server.route("/feed.xml", rss(NEW_ITEMS + OLD_ITEMS), content_type="application/rss+xml")
    cache = served_cache(tmp_path / "cache", url)
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, url))
        feeds, articles, reader = panes(app)
        await pilot.press("enter", "j", "enter")  # reading the older article
        await laid_out(pilot)
        reading = cache.articles[url][1]
        assert reader.article_id == reading
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert len(server.hits("/feed.xml")) == 1
        assert len(articles.ids) == 4
        assert articles.current_id == reading and reader.article_id == reading
        await pilot.press("escape")  # back to the list and the feeds, as they are now
        await pilot.pause()
        assert "First story" in lines(articles)[3] and "Fourth story" in lines(articles)[0]
        assert lines(feeds)[3].split() == ["Local", "feed", "3"]
        assert "refreshed" in status(app) and "2 new" in status(app)


async def test_a_refresh_that_stops_part_way_shows_what_it_stored_then_says_why(
        tmp_path: Path, server, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """The feed is stored, then the reader-mode prefetch cannot start its workers (as when
    a process pool could not be started): the new articles are listed and counted, the
    ignore list covers them, and the failure is told."""
    import tui.feeds.fulltext

    def no_pool(pages: int) -> object:
        raise OSError("bad value(s) in fds_to_keep")

    monkeypatch.setattr(tui.feeds.fulltext, "extraction_pool", no_pool)
    url = server.route("/feed.xml", rss(NEW_ITEMS + OLD_ITEMS), content_type="application/rss+xml")
    cache = served_cache(tmp_path / "cache", url)
    cache.config.feeds[0].full_text = True
    cache.config.ignores = ["third"]
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, url))
        feeds, articles, _ = panes(app)
        await pilot.press("r")
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        assert [n.message for n in app._notifications if n.message.startswith("Refresh failed")] == [
            "Refresh failed: bad value(s) in fds_to_keep"]
        assert "refresh failed" in status(app)
        assert lines(feeds)[0].split() == ["All", "3"]  # the new articles are counted (not the one ignored)...
        assert "Fourth story" in lines(articles)[0]  # ...and listed
        assert not any("Third story" in line for line in lines(articles))  # the ignore list ran on them
        assert lines(feeds)[3].split() == ["Ignored", "1"]


async def test_saved_searches_are_counted_after_a_refresh_not_during_it(
        tmp_path: Path, server, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Counting catches the index up, which writes: never while the refresh writes."""
    from tui.config import SavedSearch

    urls = [server.route(f"/feed{n}.xml", rss([(f"n{n}", f"Story {n}", "Mon, 25 May 2020 10:00:00 GMT")]),
                         content_type="application/rss+xml", delay=0.2 * n) for n in range(4)]
    cache = served_cache(tmp_path / "cache", urls[0])
    from tui.config import FeedConfig

    cache.config.feeds = [FeedConfig(url=u, title=f"Feed {n}") for n, u in enumerate(urls)]
    cache.config.searches = [SavedSearch("Stories", "story")]
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        feeds, articles, _ = panes(app)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        assert lines(feeds)[3].split() == ["Stories", "2"]  # the two stored stories
        await go_to_feed(pilot, app, "search:Stories")  # the saved search's view is shown
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert len(articles.ids) == 2
        started: list[tuple[str, bool]] = []  # each worker's group, and whether a refresh ran as it started
        add_worker = app.workers.add_worker

        def noting(worker, start: bool = True, exclusive: bool = True) -> None:  # type: ignore[no-untyped-def]
            started.append((worker.group, screen.refreshing))
            add_worker(worker, start=start, exclusive=exclusive)

        monkeypatch.setattr(app.workers, "add_worker", noting)
        await pilot.press("R")
        while screen.refreshing:
            await pilot.pause(0.05)
        during = {group for group, refreshing in started if refreshing}
        assert "refresh" in during and not [g for g in during if g.startswith("search")], started
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        assert lines(feeds)[3].split() == ["Stories", "6"]  # counted once the refresh ended
        assert len(articles.ids) == 6  # and the view searched again


async def test_keys_answer_while_a_refresh_runs(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    url = server.route("/feed.xml", rss(NEW_ITEMS + OLD_ITEMS), content_type="application/rss+xml", delay=2.0)
    cache = served_cache(tmp_path / "cache", url)
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        feeds, _, _ = panes(app)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        await pilot.press("R")
        assert screen.refreshing and "refreshing 0/1" in status(app)
        await pilot.press("j", "j", "j")
        assert feeds.cursor == 3 and screen.refreshing
        await pilot.press("R")
        assert any("already running" in n.message for n in app._notifications)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not screen.refreshing
        assert lines(feeds)[0].split() == ["All", "4"]


async def test_auto_refresh(tmp_path: Path, server, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import tui.ui.screens.refreshing

    monkeypatch.setattr(tui.ui.screens.refreshing, "LOOK_EVERY", 0.05)
    url = server.route("/feed.xml", rss(NEW_ITEMS + OLD_ITEMS), content_type="application/rss+xml")
    cache = served_cache(tmp_path / "cache", url)
    fetched_ago(cache.folder, 3600)
    cache.config.settings.auto_refresh_minutes = 1
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        feeds, _, _ = panes(app)
        for _ in range(200):
            await pilot.pause(0.05)
            if lines(feeds)[0].split() == ["All", "4"]:
                break
        assert lines(feeds)[0].split() == ["All", "4"]
        assert server.hits("/feed.xml")


async def test_a_theme_change_redraws_the_lists(cache: UICache) -> None:
    """Drawn lines are cached across focus changes; a new theme must still reach them."""
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, "all")
        feeds, articles, _ = panes(app)

        def backgrounds() -> set[object]:
            return {segment.style.bgcolor for widget in (feeds, articles) for y in (1, 2)
                    for segment in widget.render_line(y) if segment.style}

        await pilot.press("tab", "shift+tab")  # focus changes keep the drawn lines
        before = backgrounds()
        app.theme = "textual-light" if app.theme != "textual-light" else "textual-dark"
        await pilot.pause()
        after = backgrounds()
        assert before and after and before.isdisjoint(after)


async def test_a_feed_added_to_the_config_appears_before_any_refresh(cache: UICache) -> None:
    from tui.config import FeedConfig

    cache.config.feeds.append(FeedConfig(url="http://127.0.0.1:9/added.xml", title="Added later"))
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        feeds, _, _ = panes(app)
        assert "Added later" in [line.strip() for line in lines(feeds)]


async def test_unread_view_keeps_what_was_read_when_a_refresh_merges(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    url = server.route("/feed.xml", rss(NEW_ITEMS + OLD_ITEMS), content_type="application/rss+xml")
    cache = served_cache(tmp_path / "cache", url)
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, "unread")
        feeds, articles, reader = panes(app)
        await pilot.press("enter", "enter")  # reading the newest: now read, still listed
        await laid_out(pilot)
        reading = cache.articles[url][0]
        assert reader.article_id == reading and read_state(cache, reading) == (True, False)
        await pilot.press("R")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert len(articles.ids) == 4  # two new unread articles, and the one being read
        assert reading in articles.ids and articles.current_id == reading
        await pilot.press("escape")
        await pilot.pause()
        assert lines(feeds)[1].split() == ["Unread", "3"]


@pytest.mark.parametrize("moved", [False, True])
async def test_a_refresh_shows_what_it_adds_above_a_list_seen_from_its_top(
        tmp_path: Path, server, moved: bool) -> None:  # type: ignore[no-untyped-def]
    """The newer articles a refresh brings come into view above the cursor: on the first line,
    the cursor stays on the first line (the newest); further down, on its article, with the
    list still shown from its top (a first `R` on an empty cache used to leave its newest
    articles above the pane, out of sight)."""
    from datetime import datetime, timedelta, timezone
    from email.utils import format_datetime

    from tui.config import Config, FeedConfig
    from tui.feeds.refresh import refresh

    newest = datetime(2020, 5, 25, 10, tzinfo=timezone.utc)
    items = [(f"s{n}", f"Story {n:02d}", format_datetime(newest - timedelta(hours=n), usegmt=True)) for n in range(44)]
    url = server.route("/feed.xml", rss(items[4:]), content_type="application/rss+xml")  # 40, longer than the pane
    config = Config(path=None, feeds=[FeedConfig(url=url, title="Local feed")])
    await refresh(config, tmp_path)
    server.route("/feed.xml", rss(items), content_type="application/rss+xml")  # and 4 newer
    app = DocbaoApp(config, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, "all")
        _, articles, _ = panes(app)
        await pilot.press("enter", *(["j"] if moved else []))  # into the list; nothing opened
        await pilot.pause()
        assert len(articles.ids) == 40 and articles.line_count > articles.scrollable_content_region.height
        chosen = articles.current_id
        await pilot.press("R")
        await app.workers.wait_for_complete()
        await pilot.pause()
        shown = lines(articles)
        assert len(articles.ids) == 44 and "Story 00" in shown[0]  # the list from its top: the newest first
        if moved:  # "Story 05", four lines further down
            assert articles.current_id == chosen and articles.cursor == 5 and "Story 05" in shown[5]
        else:
            assert articles.cursor == 0 and articles.current_id != chosen  # on "Story 00"


def test_run_refuses_a_cache_from_a_newer_docbao(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import sqlite3

    from tui.ui.app import run
    from tui.config import Config

    conn = sqlite3.connect(tmp_path / "docbao.db")
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    assert run(Config(path=None), tmp_path) == 1
    assert "written by a newer docbao" in capsys.readouterr().err


async def test_resizing_rewraps_the_article_and_keeps_the_place(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=(80, 24)) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, VN, "Việt Nam"))
        await pilot.press("enter", "enter", "space")
        await laid_out(pilot)
        _, _, reader = panes(app)
        narrow_lines = reader.virtual_size.height
        place = reader.line / narrow_lines
        first = lines(reader)[0]
        await pilot.resize_terminal(*SIZE)  # wider: the article's measure grows
        await pilot.pause()
        assert reader.measure > 80
        assert reader.virtual_size.height < narrow_lines
        assert all(len(line) <= reader.scrollable_content_region.width for line in lines(reader))
        assert abs(reader.line / reader.virtual_size.height - place) < 0.1
        assert first.split()[0] in " ".join(lines(reader)[:4])  # the same passage is in view


async def test_an_article_opened_again_shows_its_own_text(cache: UICache) -> None:
    """An article laid out before opens at once, while its pane is still hidden behind the
    list: the pane then draws that article under its feed's name, not the text of the
    article read before it (two articles of as many lines, as in a long feed)."""
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, "all")

        def shown() -> tuple[str, str]:
            top, *rest = screen_lines(app)
            return top, flat(" ".join(rest))

        await pilot.press("enter", "j", "enter")  # into the list, its second article
        await laid_out(pilot)
        top, text = shown()
        assert "─ Tech Weekly ─" in top and "A faster SQLite for everyone." in text
        await pilot.press("h", "j", "j", "enter")
        await laid_out(pilot)
        top, text = shown()
        assert "─ Plain Feed ─" in top and "Plain news one." in text
        await pilot.press("h", "k", "k", "enter")  # the first one again: laid out already
        await laid_out(pilot)
        top, text = shown()
        assert "─ Tech Weekly ─" in top
        assert "A faster SQLite for everyone." in text and "Plain news one" not in text


async def test_the_feeds_pane_fits_its_names_up_to_30_percent(cache: UICache) -> None:
    """Up to 30 % of the width; from 200 columns, where the article shares it, 20 %."""
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        feeds, _, _ = panes(app)
        assert feeds.outer_size.width == 36  # capped: the hostile title is very long
        assert lines(feeds)[9].strip().endswith("2") and "…" in lines(feeds)[9]  # the hostile title, cut
        await pilot.resize_terminal(180, 40)
        await pilot.pause()
        assert feeds.outer_size.width == 54 and SHOWN_FEED[:44] in lines(feeds)[9]  # room now for more of it
        await pilot.resize_terminal(200, 40)
        await pilot.pause()
        assert feeds.outer_size.width == 40
    short = build_ui_cache(cache.folder.parent / "short")
    short.config.feeds = [f for f in short.config.feeds if f.url in (VN, TECH)]
    app = DocbaoApp(short.config, short.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        feeds, _, _ = panes(app)
        assert feeds.outer_size.width == 24  # "  Báo Thái Nguyên 3" with a scrollbar and borders
        assert lines(feeds)[4].split() == ["Báo", "Thái", "Nguyên", "3"]


@pytest.mark.parametrize("feeds", [1, 24, 60])
async def test_refresh_from_the_reader_at_real_subscription_sizes(tmp_path: Path, server, feeds: int) -> None:  # type: ignore[no-untyped-def]
    """From 24 feeds on, parsing runs in worker processes, started from inside the running
    app where sys.stderr is Textual's and has no file descriptor. The refresh must still
    fetch every feed, and say so in the status line."""
    from tui.config import Config, FeedConfig

    urls = [server.route(f"/f{n}.xml", rss([(f"g{n}-{i}", f"Story {i} of feed {n}", "Mon, 25 May 2020 10:00:00 GMT")
                                           for i in range(3)]), content_type="application/rss+xml")
            for n in range(feeds)]
    config = Config(path=None, feeds=[FeedConfig(url=u, title=f"Feed {n}") for n, u in enumerate(urls)])
    app = DocbaoApp(config, tmp_path / "cache")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("R")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "refresh failed" not in status(app)
        assert f"{3 * feeds} new" in status(app), status(app)
        assert lines(panes(app)[0])[0].split() == ["All", str(3 * feeds)]
        assert not [n for n in app._notifications if n.severity == "error"]


async def test_reader_mode_prefetch_of_many_pages_from_the_reader(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    """A full_text feed with 8 unread articles or more extracts its pages in worker processes."""
    from tui.config import Config, FeedConfig

    page = (Path(__file__).parent / "data" / "pages" / "seed-page.html").read_bytes()
    items = []
    for i in range(10):
        link = server.route(f"/page{i}.html", page, content_type="text/html; charset=utf-8")
        items.append(f"<item><guid>p{i}</guid><title>Page {i}</title><link>{link}</link>"
                     f"<description>lead {i}</description></item>")
    url = server.route("/full.xml", '<?xml version="1.0"?><rss version="2.0"><channel><title>Full</title>'
                       + "".join(items) + "</channel></rss>", content_type="application/rss+xml")
    config = Config(path=None, feeds=[FeedConfig(url=url, title="Full", full_text=True)])
    app = DocbaoApp(config, tmp_path / "cache")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("R")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "refresh failed" not in status(app), status(app)
        assert len(server.hits("/page9.html")) == 1
    store = Store.open(tmp_path / "cache")
    try:
        extracted = store.conn.execute("SELECT count(*) FROM extracts WHERE text != ''").fetchone()[0]
    finally:
        store.close()
    assert extracted == 10


async def run_docbao(*args: str) -> subprocess.CompletedProcess[str]:
    """Another docbao process (a shell or cron `docbao ...`), run while the reader is open."""
    return await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "tui", *args], capture_output=True,
                                   text=True, timeout=120)


async def until(pilot, check, seconds: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    """Let the reader run until `check()` holds (it notices other processes on a timer)."""
    for _ in range(int(seconds / 0.1)):
        if check():
            return
        await pilot.pause(0.1)
    assert check()


async def test_what_another_docbao_stores_shows_in_the_open_reader(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    """A `docbao refresh` and a `docbao add` from a shell while the reader is open: counts,
    the new feed and its articles appear, and a search finds them under the feed's title."""
    from tui.config import load_config

    first = server.route("/feed.xml", rss(NEW_ITEMS + OLD_ITEMS), content_type="application/rss+xml")
    second = server.route("/other.xml", rss([("o1", "Orchard news", "Tue, 26 May 2020 10:00:00 GMT")]).replace(
        "<title>Local</title>", "<title>Other Site</title>"), content_type="application/rss+xml")
    config_path = tmp_path / "feeds.toml"
    config_path.write_text(f'[[feed]]\nurl = "{first}"\ntitle = "First"\n', encoding="utf-8")
    cache = tmp_path / "cache"
    where = ["--config", str(config_path), "--cache", str(cache)]
    app = DocbaoApp(load_config(config_path), cache)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        feeds, articles, _ = panes(app)
        assert lines(feeds)[0].split() == ["All"]
        done = await run_docbao(*where, "refresh")
        assert done.returncode == 0, done.stderr
        await until(pilot, lambda: lines(feeds)[0].split() == ["All", "4"])
        assert "4 unread · 4 articles" in status(app)
        assert "Fourth story" in lines(articles)[0]  # the view shown is read again
        done = await run_docbao(*where, "add", second)
        assert done.returncode == 0, done.stderr
        await until(pilot, lambda: any(line.split() == ["Other", "Site", "1"] for line in lines(feeds)))
        assert lines(feeds)[0].split() == ["All", "5"]
        await pilot.press("slash")
        await pilot.pause()
        app.screen.query_one("Input").value = "orchard"  # type: ignore[attr-defined]
        await pilot.press("enter")
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        assert len(articles.ids) == 1
        assert "Other Site" in lines(articles)[0] and "Orchard news" in lines(articles)[0]


async def test_first_start_on_an_empty_cache_says_how_to_fetch(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    from tui.config import Config, FeedConfig

    url = server.route("/feed.xml", rss(NEW_ITEMS), content_type="application/rss+xml")
    app = DocbaoApp(Config(path=None, feeds=[FeedConfig(url=url, title="Local")]), tmp_path / "cache")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        _, articles, _ = panes(app)
        assert lines(articles)[0].strip() == "Press R to fetch the feeds."
        assert "nothing fetched yet: R fetches every feed" in status(app)
        await pilot.press("R")
        assert "press R" not in status(app)
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        assert "Fourth story" in lines(articles)[0]
        assert "press R" not in status(app) and "2 unread · 2 articles" in status(app)
    app = DocbaoApp(Config(path=None), tmp_path / "empty")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        _, articles, _ = panes(app)
        assert lines(articles)[0].strip() == "Press a to subscribe to a feed."
        assert "no feeds yet: press a to subscribe to one" in status(app)


async def test_refresh_on_start_fetches_as_the_reader_opens(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    from tui.config import ConfigError, load_config

    url = server.route("/feed.xml", rss(NEW_ITEMS), content_type="application/rss+xml")
    config_path = tmp_path / "feeds.toml"
    config_path.write_text(f'[settings]\nrefresh_on_start = "yes"\n\n[[feed]]\nurl = "{url}"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="refresh_on_start"):
        load_config(config_path)
    config_path.write_text(config_path.read_text(encoding="utf-8").replace('"yes"', "true"), encoding="utf-8")
    app = DocbaoApp(load_config(config_path), tmp_path / "cache")
    async with app.run_test(size=SIZE) as pilot:
        feeds, articles, _ = panes(app)
        await until(pilot, lambda: lines(feeds)[0].split() == ["All", "2"])
        assert len(server.hits("/feed.xml")) == 1
        assert "refreshed" in status(app)
    config_path.write_text(config_path.read_text(encoding="utf-8").replace("true", "false"), encoding="utf-8")
    app = DocbaoApp(load_config(config_path), tmp_path / "cache")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert len(server.hits("/feed.xml")) == 1  # off: the cache is shown as it is


async def test_an_article_without_a_date_is_listed_at_when_it_was_seen_with_a_tilde(tmp_path: Path) -> None:
    """A feed's item without a date sorts and shows at the time it was first stored, which
    reads like a date of its own: the list marks it "~" (the article's header says "seen")."""
    import time

    from tui.config import Config, FeedConfig
    from tui.model import FetchResult, ParsedArticle, ParsedFeed
    from tui.store.cache import Store
    from tui.ui.app import DocbaoApp

    url = "http://127.0.0.1:9/undated.xml"
    store = Store.open(tmp_path / "cache")
    feed_id = store.ensure_feeds([url])[url]
    store.save_fetch(feed_id, FetchResult("ok", url), ParsedFeed(title="Japan", articles=[
        ParsedArticle(guid="a", title="Dated story", published=1_484_000_000),
        ParsedArticle(guid="b", title="Undated story", published=None)]))
    store.close()
    app = DocbaoApp(Config(path=None, feeds=[FeedConfig(url=url)]), tmp_path / "cache")
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, f"feed:{feed_id}")
        shown = lines(panes(app)[1])
    today = time.strftime("%Y-%m-%d")
    dated = time.strftime("%Y-%m-%d", time.localtime(1_484_000_000))
    assert any(f"~{today}  Undated story" in line for line in shown), shown
    assert any(f" {dated}  Dated story" in line and "~" not in line for line in shown), shown
