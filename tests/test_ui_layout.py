"""The reading layout: an opened article gets the screen, its text at a comfortable measure
centred in it, under a compact header; back returns to the panes as they were. Snapshots of
an article open at four terminal sizes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pilot import T0, laid_out, lines, panes
from tui.config import Config, ConfigError, FeedConfig, load_config
from tui.model import FetchResult, ParsedArticle, ParsedFeed
from tui.store.cache import Store
from tui.ui.app import DocbaoApp

FEED = "http://127.0.0.1:9/long-reads.xml"
LONG_TITLE = ("Hội nghị lần thứ mười một Ban Chấp hành Trung ương Đảng khóa XIII bàn về sắp xếp đơn vị "
              "hành chính, tổ chức chính quyền địa phương hai cấp và công tác nhân sự")
LONG_URL = ("https://example.com/thoi-su/chinh-tri/2025/04/10/hoi-nghi-lan-thu-muoi-mot-ban-chap-hanh-trung-uong-"
            "dang-khoa-xiii-ban-ve-sap-xep-don-vi-hanh-chinh?utm_source=rss&utm_medium=feed&utm_campaign=long")
SENTENCE = ("The committee met for three days in Hà Nội and agreed on the plan to merge the provinces, "
            "which the National Assembly is to vote on in its next session. ")
BODY = "".join(f"<p>{SENTENCE * 4}</p>" for _ in range(12))
OTHERS = 30  # short articles after the long one, to scroll the list

SIZES = [(80, 24), (120, 36), (160, 48), (240, 60)]


def long_reads(folder: Path) -> Config:
    """One feed: a long article (long headline, long URL, long paragraphs) and 30 short ones."""
    articles = [ParsedArticle(guid="long", link=LONG_URL, title=LONG_TITLE, author="Phóng viên",
                              published=T0, content=BODY)]
    articles += [ParsedArticle(guid=f"s{n}", link=f"https://example.com/s/{n}", title=f"Short story {n}",
                               published=T0 - (n + 1) * 3600, summary=f"<p>Story {n}.</p>")
                 for n in range(OTHERS)]
    config = Config(path=None, feeds=[FeedConfig(url=FEED, title="Long Reads")])
    store = Store.open(folder)
    try:
        ids = store.ensure_feeds([FEED])
        store.save_fetch(ids[FEED], FetchResult("ok", FEED), ParsedFeed(title="Long Reads", articles=articles), now=T0)
    finally:
        store.close()
    return config


def shown(app: DocbaoApp) -> set[str]:
    """The panes on screen: "feeds", "articles", "reader"."""
    return {name for name, selector in (("feeds", "#feeds"), ("articles", "#articles-pane"), ("reader", "#reader"))
            if app.screen.query_one(selector).display}


@pytest.fixture
def reads(tmp_path: Path) -> tuple[Config, Path]:
    folder = tmp_path / "cache"
    return long_reads(folder), folder


async def open_feed(pilot) -> None:  # type: ignore[no-untyped-def]
    """The feed (the last line of the feed list), then its list."""
    await pilot.pause()
    await pilot.press("G", "enter")
    await pilot.pause()


async def open_long(pilot) -> None:  # type: ignore[no-untyped-def]
    """The feed's list, its first article (the long one) opened."""
    await open_feed(pilot)
    await pilot.press("g", "enter")
    await laid_out(pilot)


async def test_an_open_article_gets_the_screen_at_a_centred_measure(reads: tuple[Config, Path]) -> None:
    config, folder = reads
    app = DocbaoApp(config, folder)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_long(pilot)
        feeds, articles, reader = panes(app)
        assert app.focused is reader
        assert shown(app) == {"reader"}
        assert reader.outer_size.width == 120
        drawn = lines(reader)
        body = [line for line in drawn if "committee" in line or "Assembly" in line]
        widths = [len(line.strip()) for line in body]
        assert max(widths) > 80 and max(widths) <= 100  # wide, and capped by reading_width
        margin = (reader.scrollable_content_region.width - 100) // 2
        assert margin > 0
        assert all(line.startswith(" " * margin) and line[margin] != " " for line in body)  # centred
        # a compact header: the URL on one line, cut with an ellipsis
        url_lines = [line.strip() for line in drawn if "example.com" in line]
        assert len(url_lines) == 1 and url_lines[0].endswith("…") and url_lines[0][:-1] in LONG_URL
        title_lines = next(i for i, line in enumerate(drawn) if "Phóng viên" in line)
        assert title_lines <= 2  # the headline takes two lines at this measure, then the byline


@pytest.mark.parametrize("key", ["escape", "q", "h"])
async def test_back_returns_to_the_panes_where_they_were(reads: tuple[Config, Path], key: str) -> None:
    config, folder = reads
    app = DocbaoApp(config, folder)
    async with app.run_test(size=(120, 24)) as pilot:  # the list scrolled to show the cursor
        await open_feed(pilot)
        feeds, articles, reader = panes(app)
        await pilot.press(*["j"] * 25)
        top = articles.scroll_offset.y
        assert articles.cursor == 25 and top > 0
        await pilot.press("enter")
        await laid_out(pilot)
        assert shown(app) == {"reader"}
        assert "Short story 24" in " ".join(lines(reader))
        await pilot.press(key)
        await pilot.pause()
        assert app.focused is articles
        assert shown(app) == {"feeds", "articles"}  # the list has the room again
        assert articles.cursor == 25 and articles.scroll_offset.y == top
        assert articles.outer_size.width > 80
        await pilot.press("j", "enter")  # and reading on from there
        await laid_out(pilot)
        assert "Short story 25" in " ".join(lines(reader))


async def test_an_article_that_arrives_before_the_reader_has_its_size_is_shown(reads: tuple[Config, Path]) -> None:
    """Keys typed in one burst ("l l") can open an article and have it laid out before the
    reader, never shown yet, has its size: its lines are made once it has."""
    from tui.content.render import render_article

    config, folder = reads
    app = DocbaoApp(config, folder)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_feed(pilot)
        _, articles, reader = panes(app)
        assert reader.size.width == 0  # hidden since the start
        rendered = render_article(title=LONG_TITLE, feed="Long Reads", author="", published=T0, link=LONG_URL,
                                  html=BODY, width=100)
        reader.show(articles.ids[0], rendered, width=100)  # as the reading screen does, at the measure to come
        app.screen.pane = "reader"
        await pilot.pause()
        assert any("committee" in line for line in lines(reader))


async def test_a_roomy_terminal_keeps_the_article_beside_the_list(reads: tuple[Config, Path]) -> None:
    config, folder = reads
    app = DocbaoApp(config, folder)
    async with app.run_test(size=(240, 60)) as pilot:
        await open_long(pilot)
        feeds, articles, reader = panes(app)
        assert shown(app) == {"reader"} and reader.outer_size.width == 240
        await pilot.press("escape")
        await pilot.pause()
        assert shown(app) == {"feeds", "articles", "reader"}
        assert any("committee" in line for line in lines(reader))  # laid out again for the pane


async def test_reading_width_zero_is_the_reader_width(reads: tuple[Config, Path]) -> None:
    config, folder = reads
    config.settings.reading_width = 0
    app = DocbaoApp(config, folder)
    async with app.run_test(size=(160, 48)) as pilot:
        await open_long(pilot)
        _, _, reader = panes(app)
        body = [line for line in lines(reader) if "committee" in line or "Assembly" in line]
        assert max(len(line.rstrip()) for line in body) > 120
        assert all(line.startswith("The") or not line.startswith(" ") for line in body)


async def test_y_copies_the_whole_url_the_header_cuts(reads: tuple[Config, Path]) -> None:
    config, folder = reads
    app = DocbaoApp(config, folder)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_long(pilot)
        await pilot.press("y")
        await pilot.pause()
        assert app.clipboard == LONG_URL


@pytest.mark.parametrize("value, ok", [(100, True), (0, True), (30, True), (29, False), (-1, False), ("wide", False)])
def test_reading_width_is_validated(tmp_path: Path, value: object, ok: bool) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text(f"[settings]\nreading_width = {value!r}\n".replace("'", '"'), encoding="utf-8")
    if ok:
        assert load_config(path).settings.reading_width == value
    else:
        with pytest.raises(ConfigError, match="reading_width"):
            load_config(path)


@pytest.mark.parametrize("value, ok", [("nord", True), ("", False), ("  ", False), (3, False)])
def test_theme_is_validated(tmp_path: Path, value: object, ok: bool) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text(f"[settings]\ntheme = {value!r}\n".replace("'", '"'), encoding="utf-8")
    if ok:
        assert load_config(path).settings.theme == value
    else:
        with pytest.raises(ConfigError, match="theme"):
            load_config(path)


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_snapshot_article_open(snap_compare, reads: tuple[Config, Path], size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    config, folder = reads
    assert snap_compare(DocbaoApp(config, folder), terminal_size=size, run_before=open_long)


# ---------------------------------------------------------------------------- themes
async def palette_settled(pilot) -> None:  # type: ignore[no-untyped-def]
    """The command palette has searched what was typed (its search runs in workers)."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_the_theme_from_the_settings(reads: tuple[Config, Path]) -> None:
    config, folder = reads
    config.settings.theme = "nord"
    app = DocbaoApp(config, folder)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert app.theme == "nord"


async def test_a_theme_picked_in_the_palette_is_remembered_until_the_setting_changes(
        reads: tuple[Config, Path]) -> None:
    config, folder = reads
    app = DocbaoApp(config, folder)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await pilot.press("colon", *"theme")  # the command palette's Theme command
        await palette_settled(pilot)
        await pilot.press("enter", *"gruvbox")
        await palette_settled(pilot)
        await pilot.press("enter")
        await pilot.pause()
        assert app.theme == "gruvbox"
    app = DocbaoApp(config, folder)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert app.theme == "gruvbox"
    config.settings.theme = "dracula"  # feeds.toml names another since: it wins
    app = DocbaoApp(config, folder)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert app.theme == "dracula"


async def test_an_unknown_theme_is_a_warning_and_the_default(reads: tuple[Config, Path]) -> None:
    config, folder = reads
    config.settings.theme = "[b]no-such-theme"
    app = DocbaoApp(config, folder)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await pilot.pause()
        assert app.theme == "textual-dark"
        assert any("there is no theme '[b]no-such-theme'" in n.message and "nord" in n.message
                   for n in app._notifications)


async def test_unread_and_error_colours_follow_the_theme(reads: tuple[Config, Path]) -> None:
    config, folder = reads
    app = DocbaoApp(config, folder)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_feed(pilot)
        _, articles, _ = panes(app)
        colours = {}
        for theme in ("textual-dark", "nord", "textual-light"):
            app.theme = theme
            await pilot.pause()
            colours[theme] = (articles.get_component_rich_style("article-list--marker").color,
                              articles.get_component_rich_style("article-list--star").color)
        assert len(set(colours.values())) == 3


async def test_no_color_draws_without_colour(reads: tuple[Config, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    monkeypatch.setenv("NO_COLOR", "1")
    config, folder = reads
    app = DocbaoApp(config, folder)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_feed(pilot)
        svg = app.export_screenshot()
    colours = set(re.findall(r"fill: #([0-9a-f]{6})", svg)) | set(re.findall(r'fill="#([0-9a-f]{6})"', svg))
    assert colours
    colours -= {"ff5f57", "febc2e", "28c840", "c5c8c6"}  # the export's window buttons and default text
    assert [c for c in colours if not c[0:2] == c[2:4] == c[4:6]] == []  # greys only


async def test_code_follows_a_light_theme_and_back(tmp_path: Path) -> None:
    """In a light theme the code of the open article reads dark on light; back in a dark
    theme, light on dark again (laid out anew when the theme turns)."""
    from tui.content.render import CODE_BLOCK

    folder = tmp_path / "cache"
    config = Config(path=None, feeds=[FeedConfig(url=FEED, title="Code")])
    store = Store.open(folder)
    try:
        ids = store.ensure_feeds([FEED])
        store.save_fetch(ids[FEED], FetchResult("ok", FEED), ParsedFeed(title="Code", articles=[ParsedArticle(
            guid="c", link="https://example.com/c", title="Code", published=T0,
            content="<p>Run:</p><pre><code>x = 1\nprint(x)</code></pre>")]), now=T0)
    finally:
        store.close()
    app = DocbaoApp(config, folder)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_feed(pilot)
        await pilot.press("g", "enter")
        await laid_out(pilot)
        _, _, reader = panes(app)

        def code_grounds() -> set[str]:
            return {segment.style.bgcolor.name for line in reader._text_lines for segment in line
                    if segment.style is not None and segment.style.bgcolor is not None}

        assert CODE_BLOCK.bgcolor is not None and CODE_BLOCK.bgcolor.name in code_grounds()
        app.theme = "textual-light"
        await pilot.pause()
        assert CODE_BLOCK.bgcolor.name not in code_grounds() and "grey93" in code_grounds()
        app.theme = "textual-dark"
        await pilot.pause()
        assert CODE_BLOCK.bgcolor.name in code_grounds()


async def test_three_panes_leave_the_titles_more_room_than_two(tmp_path: Path) -> None:
    """From 200 columns the article read last stays beside the list: the feed names, which
    took up to 30 % of the width, take at most 20 %, so that the list's titles get more
    room than at 120 columns, not less (a feed named at length used to leave them 34
    characters at 200 columns)."""
    widths = {}
    for size in ((120, 36), (200, 50)):
        folder = tmp_path / f"cache-{size[0]}"  # (each its own: the first one's state would open the list)
        config = long_reads(folder)
        config.feeds[0] = FeedConfig(url=FEED, title="Long Reads — " + "the feed whose name goes on and on " * 3)
        app = DocbaoApp(config, folder)
        async with app.run_test(size=size) as pilot:
            await open_feed(pilot)
            await pilot.pause()  # (the panes laid out at their widths)
            feeds, articles, _ = panes(app)
            assert feeds.outer_size.width <= size[0] * (20 if size[0] >= 200 else 30) // 100
            widths[size[0]] = articles.scrollable_content_region.width
    assert widths[200] >= widths[120] - 8, widths  # (the 200 columns share the list's with the article)


# ------------------------------------------------------------------------ Tab to the article
def starred(folder: Path) -> list[str]:
    """The titles of the starred articles, as the cache holds them."""
    store = Store.open(folder)
    try:
        return [row.title for row in store.rows(store.article_ids()) if row.starred]
    finally:
        store.close()


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["narrow", "wide"])
async def test_tab_from_the_list_opens_the_selected_article_not_the_one_read_last(
        reads: tuple[Config, Path], size: tuple[int, int]) -> None:
    """Below the width where the article stays beside the list, Tab from the list puts the
    selected article on the screen (as Enter does), and marks go to it."""
    config, folder = reads
    app = DocbaoApp(config, folder)
    async with app.run_test(size=size) as pilot:
        await open_long(pilot)  # article 0 read, then back to the list
        _, articles, reader = panes(app)
        await pilot.press("q", "j", "j", "j")
        assert articles.cursor == 3
        await pilot.press("tab")
        await laid_out(pilot)
        assert app.focused is reader and shown(app) == {"reader"}
        text = " ".join(lines(reader))
        assert "Short story 2" in text and "Hội nghị" not in text
        await pilot.press("s")
        assert starred(folder) == ["Short story 2"]
        await pilot.press("tab", "tab", "tab")  # round the panes and back to the same article: it stays
        await laid_out(pilot)
        assert app.focused is reader and "Short story 2" in " ".join(lines(reader))


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["narrow", "wide"])
async def test_tab_before_any_article_was_opened_opens_the_selected_one(
        reads: tuple[Config, Path], size: tuple[int, int]) -> None:
    config, folder = reads
    app = DocbaoApp(config, folder)
    async with app.run_test(size=size) as pilot:
        await open_feed(pilot)
        _, articles, reader = panes(app)
        await pilot.press("j", "j")
        await pilot.press("tab")
        await laid_out(pilot)
        assert app.focused is reader
        text = " ".join(lines(reader))
        assert "Short story 1" in text and "Open an article to read it here." not in text
        await pilot.press("j", "j", "m", "j", "s")  # marks act on the article shown, and on no other
        assert starred(folder) == ["Short story 1"]


async def test_tab_and_shift_tab_leave_the_article_out_when_the_list_is_empty(reads: tuple[Config, Path]) -> None:
    """An empty list (Starred, nothing starred) selects nothing: the panes cycle without the
    article, which would show another article, or nothing."""
    config, folder = reads
    app = DocbaoApp(config, folder)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_long(pilot)
        feeds, articles, reader = panes(app)
        await pilot.press("q", "q", "g", "j", "j", "enter")  # Starred: empty
        await pilot.pause()
        assert app.focused is articles and articles.ids == []
        await pilot.press("tab")
        await pilot.pause()
        assert app.focused is feeds and "reader" not in shown(app)
        await pilot.press("shift+tab")
        await pilot.pause()
        assert app.focused is articles and "reader" not in shown(app)
        await pilot.press("tab", "shift+tab")  # from the feeds back past the article: the list
        await pilot.pause()
        assert app.focused is articles and "reader" not in shown(app)
