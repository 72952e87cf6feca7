"""Finding and filtering in the reader: the feed finder (`F`), hiding what is read, sorting
per view, the date format and the mouse."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import OptionList

from tests.pilot import PLAIN, SHOWN_FEED, SIZE, VN, UICache, feed_key, go_to_feed, lines, panes
from tests.test_ui_daily import many_feeds
from tui.store.index import title_key
from tui.ui.app import DocbaoApp
from tui.ui.screens.finder import FeedFinder


def offered(app: DocbaoApp) -> list[str]:
    """The finder's lines as shown."""
    options = app.screen.query_one(OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def test_f_finds_a_feed_by_part_of_its_name_without_diacritics(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("F")
        assert isinstance(app.screen, FeedFinder)
        await pilot.press(*"thai ng")
        assert offered(app) == ["Báo Thái Nguyên  3 unread · in Việt Nam"]
        await pilot.press("enter")
        feeds, articles, _ = panes(app)
        assert app.focused is feeds
        assert feeds.current is not None and feeds.current.key == feed_key(cache, VN, "Việt Nam")
        assert sorted(articles.ids) == sorted(cache.articles[VN])
        assert any("Báo Thái Nguyên" in line for line in lines(feeds))


async def test_the_finder_lists_tags_and_puts_names_that_start_with_the_text_first(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("F", *"TIN")
        assert offered(app) == ["Tin tức  3 unread · tag"]
        await pilot.press("backspace", "backspace", "backspace", *"te")
        # "Tech" (a tag, then the feed named by its own title) before "Broken Feed" ... "te" inside
        assert offered(app)[:2] == ["Tech  4 unread · tag", "Tech Weekly  2 unread · in Tech"]
        assert not any(line.startswith(SHOWN_FEED) for line in offered(app))
        await pilot.press("enter")
        feeds, _, _ = panes(app)
        assert feeds.current is not None and feeds.current.key == "tag:Tech"


def test_the_finder_lists_the_name_typed_in_full_first() -> None:
    from tui.ui.screens.finder import Place, matches
    from tui.store.index import fold

    every = [Place(f"k{n}", label, where, fold(label), 0) for n, (label, where) in enumerate(
        [("Test feed", ""), ("Test Blog", ""), ("A test", ""), ("test atom", ""), ("Tests", "tag"), ("Test", "tag")])]
    assert [p.label for p in matches(every, "test")] == ["Test", "Test feed", "Test Blog", "test atom", "Tests",
                                                         "A test"]
    assert [p.label for p in matches(every, "  TEST  feed ")] == ["Test feed"]


async def test_the_finder_goes_to_a_view(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, PLAIN))
        await pilot.press("F", *"starr")
        assert offered(app) == ["Starred  1 unread · view"]
        await pilot.press("enter")
        feeds, _, _ = panes(app)
        assert feeds.current is not None and feeds.current.key == "starred"


async def test_the_finder_shows_hostile_names_as_text_and_esc_changes_nothing(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        feeds, _, _ = panes(app)
        await pilot.pause()
        before = feeds.current
        await pilot.press("F", *"rfc")
        assert offered(app) == [SHOWN_FEED + "  2 unread · in Tech"]
        await pilot.press("escape")
        assert not isinstance(app.screen, FeedFinder)
        assert feeds.current == before


async def test_the_finder_goes_to_a_feed_far_down_240_feeds_and_into_a_folded_folder(tmp_path: Path) -> None:
    config, ids = many_feeds(tmp_path / "cache", 240)
    for feed in config.feeds[200:]:
        feed.tags = ["Later"]
    target = f"tag:Later/feed:{ids[config.feeds[235].url]}"
    app = DocbaoApp(config, tmp_path / "cache")
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, "tag:Later")
        await pilot.press("z")  # folded: its 40 feeds are out of the list
        feeds, _, _ = panes(app)
        assert all(not e.key.startswith("tag:Later/") for e in feeds.shown)
        await pilot.press("F")
        assert offered(app)[0].startswith("All  ") and offered(app)[2].startswith("Starred")  # the views first
        assert offered(app)[3] == "Later  tag" and len(offered(app)) == 244  # nothing unread in Later
        await pilot.press(*"feed-23")
        assert len(offered(app)) == 11  # feed-230 ... feed-239 (in Later, listed first), feed-23
        await pilot.press("down", "down", "down", "down", "down")
        await pilot.press("enter")
        assert feeds.current is not None and feeds.current.key == target
        top, height = round(feeds.scroll_y), feeds.scrollable_content_region.height
        assert top <= feeds.cursor < top + height
        assert any(line.endswith("-235/atom.xml") for line in lines(feeds)), lines(feeds)  # (URLs keep their end)


# ------------------------------------------------------------------ hiding what is read
async def test_h_hides_read_feeds_and_articles_and_says_so(cache: UICache) -> None:
    from tests.pilot import BROKEN, NEVER, TECH, status

    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        feeds, articles, _ = panes(app)
        assert len(articles.ids) == 11 and "read hidden" not in status(app)
        await pilot.press("H")
        assert "9 in view · newest first · read hidden" in status(app)
        assert set(cache.articles[TECH][2:]).isdisjoint(articles.ids)
        shown = [line.strip() for line in lines(feeds)]
        assert not any("Broken Feed" in line or "never-fetched" in line for line in shown)
        assert feed_key(cache, BROKEN) not in [e.key for e in feeds.shown]
        assert feed_key(cache, NEVER) not in [e.key for e in feeds.shown]
        await go_to_feed(pilot, app, feed_key(cache, TECH, "Tech"))
        assert articles.ids == cache.articles[TECH][:2]
        await pilot.press("H")
        assert "read hidden" not in status(app)
        assert articles.ids == cache.articles[TECH]
        assert feed_key(cache, BROKEN) in [e.key for e in feeds.shown]


async def test_a_feed_read_to_the_end_stays_under_the_cursor_then_goes(cache: UICache) -> None:
    from tests.pilot import BROKEN, PLAIN

    cache.config.settings.hide_read = True
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, PLAIN))
        feeds, articles, _ = panes(app)
        await pilot.press("enter", "A")  # both articles read
        assert articles.ids == cache.articles[PLAIN]  # still listed while the feed is shown
        await pilot.press("h")
        assert feeds.current is not None and feeds.current.key == feed_key(cache, PLAIN)
        await pilot.press("k")  # away from it: the next time the list is read, it has gone
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert feed_key(cache, PLAIN) not in [e.key for e in feeds.shown]
        await pilot.press("F", *"plain", "enter")  # the finder still goes there
        assert feeds.current is not None and feeds.current.key == feed_key(cache, PLAIN)
        assert articles.ids == [] and "H shows the read ones" in lines(articles)[0]
        await pilot.press("F", *"broken", "enter")  # no article at all, read or not: H would show none
        assert feeds.current is not None and feeds.current.key == feed_key(cache, BROKEN)
        assert app.screen.entry is not None and app.screen.entry.key == feed_key(cache, BROKEN)  # (its very line)
        assert articles.ids == [] and lines(articles)[0].strip() == "No articles here."


async def test_hiding_read_is_remembered_until_the_setting_changes(cache: UICache) -> None:
    from tests.pilot import status

    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("H", "Q")
    again = DocbaoApp(cache.config, cache.folder)
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "read hidden" in status(again)
        assert len(panes(again)[1].ids) == 9
        await pilot.press("H", "Q")  # shown again, as the setting has it
    cache.config.settings.hide_read = True  # a new setting wins over the older choice
    changed = DocbaoApp(cache.config, cache.folder)
    async with changed.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "read hidden" in status(changed)


# --------------------------------------------------------------------------- sorting
def titles(articles) -> list[str]:  # type: ignore[no-untyped-def]
    return [articles.row(i).title for i in range(len(articles.ids))]


async def test_o_sorts_by_date_title_or_feed_says_so_and_each_view_keeps_its_own(cache: UICache) -> None:
    from tests.pilot import TECH, status

    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        feeds, articles, _ = panes(app)
        assert "11 in view · newest first" in status(app)
        await pilot.press("O", "O")
        assert "11 in view · by title" in status(app)
        shown = titles(articles)
        assert shown == sorted(shown, key=title_key)
        # what comes before the first letter does not count: "[@click" among the C's, as "[/] closing"
        assert shown[:3] == ["A faster SQLite for everyone", shown[1], "[/] closing tag first"]
        assert shown[1].startswith("[@click=app.quit]Quit now")
        đ = shown.index("Đảng bộ tỉnh chuẩn bị Đại hội lần thứ XX")  # among the D's, not after Z
        assert shown[đ + 1][0] > "D" and all(not title.startswith("Đ") for title in shown[đ + 1:])
        await pilot.press("O")
        assert "by feed" in status(app)
        names = [articles.feed_names[articles.row(i).feed_id] for i in range(len(articles.ids))]
        # the feeds by name, folded ("[bold]Evil" first, "[" before letters), each newest first
        assert names == [names[0]] * 2 + ["Báo Thái Nguyên"] * 3 + ["Plain Feed"] * 2 + ["Tech Weekly"] * 4
        assert names[0].startswith("[bold]Evil")
        assert titles(articles)[2:5] == ["Lãnh đạo Trung ương làm việc với Ban Thường vụ Tỉnh ủy Thái Nguyên",
                                         "Thái Nguyên: đón nhận Huân chương Lao động hạng Nhất",
                                         "Đảng bộ tỉnh chuẩn bị Đại hội lần thứ XX"]
        await go_to_feed(pilot, app, feed_key(cache, TECH, "Tech"))
        assert articles.ids == cache.articles[TECH] and "newest first" in status(app)
        await pilot.press("O", "O")
        assert "by title" in status(app)
        await pilot.press("O")  # one feed is not sorted by feed: back to newest first
        assert "newest first" in status(app)
        await pilot.press("O", "Q")
    again = DocbaoApp(cache.config, cache.folder)
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        feeds, articles, _ = panes(again)
        assert articles.ids == cache.articles[TECH][::-1] and "oldest first" in status(again)
        await go_to_feed(pilot, again, "all")
        assert "by feed" in status(again)


async def test_sorting_a_saved_search_leaves_the_typed_search_best_first(cache: UICache) -> None:
    from tests.pilot import status
    from tui.config import SavedSearch

    cache.config.searches = [SavedSearch("Thái", "title:thai")]
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await go_to_feed(pilot, app, "search:Thái")
        await app.workers.wait_for_complete()
        await pilot.pause()
        _, articles, _ = panes(app)
        assert articles.ids == cache.articles[VN][:2]
        await pilot.press("O")
        assert articles.ids == cache.articles[VN][:2][::-1]
        await pilot.press("O")
        assert titles(articles) == ["Lãnh đạo Trung ương làm việc với Ban Thường vụ Tỉnh ủy Thái Nguyên",
                                    "Thái Nguyên: đón nhận Huân chương Lao động hạng Nhất"]
        await pilot.press("slash", *"thai", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "best matches first" in status(app)  # not the saved search's order
        await pilot.press("O")
        assert "Sorted newest first" in status(app)


# ----------------------------------------------------------------------------- dates
def test_date_format_is_checked_with_the_line_it_is_on(tmp_path: Path) -> None:
    import pytest

    from tui.config import ConfigError, load_config

    path = tmp_path / "feeds.toml"
    for value, reason in (('"%Y\\u0007"', "one line"), ('"today"', "no strftime directive"),
                          ('"%c %c %c %c"', "longer than 32"), ('""', "one line")):
        path.write_text(f'[settings]\nconcurrency = 4\ndate_format = {value}\n', encoding="utf-8")
        with pytest.raises(ConfigError, match=rf"feeds.toml:3: \[settings\] key 'date_format' .*{reason}"):
            load_config(path)
    path.write_text('[settings]\ndate_format = "%a %d %b %H:%M"\n', encoding="utf-8")
    assert load_config(path).settings.date_format == "%a %d %b %H:%M"


async def test_the_list_and_the_article_header_use_the_date_format(cache: UICache) -> None:
    import time

    from tests.pilot import T0, flat, laid_out

    cache.config.settings.date_format = "%a %d %b %Y, %H:%M"
    expected = time.strftime("%a %d %b %Y, %H:%M", time.localtime(T0))  # the seed article
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, VN, "Việt Nam"))
        _, articles, reader = panes(app)
        first = lines(articles)[0]
        assert f"  {expected}  " in first and "Lãnh đạo" in first
        # every date takes the same room, so the titles line up
        starts = {line.index("  ", line.index(",") + 7) for line in lines(articles)[:3]}
        assert len(starts) == 1
        await pilot.press("enter", "enter")
        await laid_out(pilot)
        header = flat(" ".join(lines(reader)[:6]))
        assert f"Báo Thái Nguyên · Thu Hiền · {expected}" in header


# ----------------------------------------------------------------------------- mouse
async def scroll_wheel(pilot, widget, down: bool, times: int = 1) -> None:  # type: ignore[no-untyped-def]
    """Turn the wheel over `widget` (Pilot has clicks but no wheel)."""
    from textual import events

    for _ in range(times):
        await pilot._post_mouse_events([events.MouseScrollDown if down else events.MouseScrollUp], widget, (2, 2))


async def test_a_click_selects_a_second_click_opens(cache: UICache) -> None:
    from tests.pilot import PLAIN, TECH, laid_out

    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        feeds, articles, reader = panes(app)
        tech = next(i for i, e in enumerate(feeds.shown) if e.key == feed_key(cache, TECH, "Tech"))
        await pilot.click(feeds, offset=(3, tech + 1))  # below the border
        assert feeds.current is not None and feeds.current.key == feed_key(cache, TECH, "Tech")
        assert articles.ids == cache.articles[TECH] and app.focused is feeds  # selected, not opened
        await pilot.click(feeds, offset=(3, tech + 1))  # below the border
        assert app.focused is articles  # opened: the article list has the focus
        await pilot.click(articles, offset=(10, 1))  # the list has no border of its own
        assert articles.current_id == cache.articles[TECH][1] and reader.article_id is None
        await pilot.press("enter")  # Enter opens the selected one, as a second click would
        await laid_out(pilot)
        assert reader.article_id == cache.articles[TECH][1]
        await pilot.press("h")
        plain = next(i for i, e in enumerate(feeds.shown) if e.key == feed_key(cache, PLAIN))
        await pilot.double_click(feeds, offset=(3, plain + 1))
        assert app.focused is articles and articles.ids == cache.articles[PLAIN]
        await pilot.double_click(articles, offset=(10, 0))
        await laid_out(pilot)
        assert reader.article_id == cache.articles[PLAIN][0]


async def test_the_wheel_scrolls_the_pane_under_it(tmp_path: Path) -> None:
    from tests.pilot import long_feed_cache

    config, _ = long_feed_cache(tmp_path / "cache", 200)
    app = DocbaoApp(config, tmp_path / "cache")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        feeds, articles, _ = panes(app)
        assert articles.scroll_y == 0
        await scroll_wheel(pilot, articles, down=True, times=5)
        assert articles.scroll_y > 0
        first = lines(articles)[0]
        assert first != "" and articles.cursor == 0  # the view moves, the selection stays
        down = articles.scroll_y
        await scroll_wheel(pilot, articles, down=False, times=2)
        assert 0 < articles.scroll_y < down
        assert feeds.scroll_y == 0


async def test_a_click_on_a_link_or_its_number_opens_it_as_the_keys_do(cache: UICache, browser: Path) -> None:
    from tests.pilot import browser_args, laid_out

    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, VN, "Việt Nam"))
        _, _, reader = panes(app)
        await pilot.press("enter", "enter")
        await laid_out(pilot)
        assert reader.links
        shown = lines(reader)
        row = next((y for y, line in enumerate(shown) if "[1]" in line), None)
        while row is None:  # the first footnote number may be further down
            await pilot.press("space")
            shown = lines(reader)
            row = next((y for y, line in enumerate(shown) if "[1]" in line), None)
        inside = reader.content_region.offset - reader.region.offset  # the border and padding
        at = shown[row].index("[1]")
        await pilot.click(reader, offset=(inside.x + at + 1, inside.y + row))
        assert await browser_args(browser) == ["1", reader.links[0]]  # one argument, as with the key 1
        assert shown[row][at - 1] != " "  # the link's own text ends where its number starts
        await pilot.click(reader, offset=(inside.x + at - 1, inside.y + row))
        assert await browser_args(browser) == ["1", reader.links[0]]


async def test_the_wheel_scrolls_the_article_and_the_place_is_kept(cache: UICache) -> None:
    from tests.pilot import laid_out

    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, VN, "Việt Nam"))
        _, _, reader = panes(app)
        await pilot.press("enter", "enter")
        await laid_out(pilot)
        top = lines(reader)[0]
        await scroll_wheel(pilot, reader, down=True, times=4)
        assert reader.line > 0 and lines(reader)[0] != top
        await scroll_wheel(pilot, reader, down=False, times=4)
        assert reader.line == 0 and lines(reader)[0] == top


async def test_what_a_key_did_is_said_in_full_when_the_status_line_is_too_long(cache: UICache) -> None:
    """At 80 columns the counts, the view and the key hint do not all fit: the note of the
    key just pressed comes first, the counts after it, and of the hint the help key stays."""
    from tests.pilot import status

    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("enter", "H")  # the list of All, alone on the screen, with its view's count
        line = status(app)
        assert "Read feeds and articles hidden." in line and "q back" not in line
        assert line.startswith(" Read feeds") and "9 unread · 11 articles" in line
        assert line.endswith("? keys "), line
