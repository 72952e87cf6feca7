"""Search in the UI: `/` asks for a query, the results fill the article list (open, mark
and star work there as anywhere), Esc goes back to the view they replaced."""

from __future__ import annotations

from tests.pilot import (
    SEED_TITLE,
    SIZE,
    TECH,
    VN,
    UICache,
    feed_key,
    go_to_feed,
    laid_out,
    lines,
    panes,
    read_state,
    status,
)
from tui.store.index import title_key
from tui.ui.app import DocbaoApp
from tui.ui.screens.main import MainScreen
from tui.ui.screens.prompts import TextPrompt


async def search_for(pilot, app: DocbaoApp, query: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("slash")
    assert isinstance(app.screen, TextPrompt)
    await pilot.press(*query, "enter")
    await app.workers.wait_for_complete()
    await pilot.pause()
    assert isinstance(app.screen, MainScreen)


async def test_search_without_diacritics_finds_the_vietnamese_article(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, TECH, "Tech"))
        _, articles, reader = panes(app)
        before = list(articles.ids)
        await search_for(pilot, app, "lanh dao")
        assert articles.ids == [cache.articles[VN][0]]
        assert app.focused is articles
        assert "Lãnh đạo Trung" in lines(articles)[0]
        assert "Báo Thái" in lines(articles)[0]  # results name their feed
        assert str(app.screen.query_one("#articles-pane").border_title) == "Search: lanh dao"
        assert "1 in view" in status(app)
        await pilot.press("s")  # star works on a result
        assert read_state(cache, cache.articles[VN][0]) == (False, True)
        await pilot.press("enter")
        await laid_out(pilot)
        assert reader.article_id == cache.articles[VN][0] and SEED_TITLE in " ".join(reader.text.split())
        assert read_state(cache, cache.articles[VN][0]) == (True, True)
        await pilot.press("m")  # and marking unread
        assert read_state(cache, cache.articles[VN][0]) == (False, True)
        await pilot.press("escape")  # reader -> results
        assert app.focused is articles and articles.ids == [cache.articles[VN][0]]
        await pilot.press("escape")  # results -> the view before
        assert articles.ids == before
        assert str(app.screen.query_one("#articles-pane").border_title) == "Tech Weekly"


async def test_search_with_filters_and_mark_all_read_stays_in_the_results(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        _, articles, _ = panes(app)
        await search_for(pilot, app, "tag:Tech is:unread")
        assert sorted(articles.ids) == sorted(cache.articles[TECH][:2] + cache.articles[
            "http://127.0.0.1:9/evil.xml"])
        await pilot.press("A")
        assert all(read_state(cache, i)[0] for i in articles.ids)
        assert not read_state(cache, cache.articles[VN][0])[0]  # outside the results: untouched
        assert "4 unread" not in status(app) and "5 unread" in status(app)


def prompt_text(app: DocbaoApp) -> tuple[str, str]:
    """What the open search box holds, and the problem it shows under it ("" if none)."""
    from textual.widgets import Input, Label

    assert isinstance(app.screen, TextPrompt)
    error = app.screen.query_one(".prompt--error", Label)
    return app.screen.query_one(Input).value, str(error.render()) if error.display else ""


async def test_a_query_that_cannot_be_read_stays_in_the_box_with_why(cache: UICache) -> None:
    """Enter on a query that cannot be read keeps the box open with the text as typed and
    says why under it, to be mended there; mended, Enter searches."""
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        _, articles, _ = panes(app)
        before = list(articles.ids)
        for query, why in (('"lanh', 'a quote is not closed: add the closing " or remove the opening one'),
                           ("is:bogus", "is: takes unread, read or starred (not 'bogus')"),
                           ("tag:Nowhere dao", "no tag named 'nowhere' (tags: Tech, Tin tức, Việt Nam)")):
            await pilot.press("slash", *query, "enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert prompt_text(app) == (query, why)
            assert articles.ids == before and not app._notifications
            await pilot.press("escape")
            assert isinstance(app.screen, MainScreen)
        await pilot.press("slash", *'"lanh', "enter")
        await pilot.press("end", '"', "enter")  # the closing quote added, in the box as it was
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert articles.ids == [cache.articles[VN][0]]
        assert str(app.screen.query_one("#articles-pane").border_title) == 'Search: "lanh"'


async def test_search_finding_nothing_and_escape_cancels_the_prompt(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        _, articles, _ = panes(app)
        await pilot.press("slash", "x", "escape")
        assert isinstance(app.screen, MainScreen)
        await search_for(pilot, app, "[@click=app.quit]zzzz")
        assert app.is_running
        assert articles.ids == []
        said = " ".join(" ".join(lines(articles)).split())
        assert said.startswith("Nothing matches \u201c[@click=app.quit]zzzz\u201d. Every word must match a whole word"
                               " (case, diacritics and plural aside)")
        assert "word* also finds longer words. / edits the search, Esc goes back." in said
        assert "No articles here" not in said


async def test_the_border_and_status_say_the_order_a_search_lists_in(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        _, articles, _ = panes(app)
        pane = app.screen.query_one("#articles-pane")
        for query, order in (("thai", "best matches first"), ("is:unread thai", "most recently stored first"),
                             ("is:unread", "newest first")):
            await search_for(pilot, app, query)
            assert articles.ids, query
            assert str(pane.border_subtitle) == order and order in status(app), query
            await pilot.press("escape")


async def test_O_sorts_a_typed_search_and_a_new_search_comes_in_its_own_order(cache: UICache) -> None:
    """The best matches, then by date, title, feed and back; the sort changes the order of
    the same articles, and the next search lists its best matches first again."""
    from tests.pilot import PLAIN, T0, _article
    from tui.model import FetchResult, ParsedFeed
    from tui.store.cache import Store

    titles = ["Zebra crossing", "Đà Nẵng port", "Ấp Bắc", "Dam works", "An Giang", "Ăn sáng", "Ước mơ", "Ô Quy Hồ"]
    harbor = [_article(f"h-{n}", f"{title} harbor", 3 + 7 * ((n * 5) % 8),
                       body="<p>" + "harbor " * (1 + (n * 3) % 8) + "news.</p>") for n, title in enumerate(titles)]
    store = Store.open(cache.folder)
    try:
        store.save_fetch(cache.feed_ids[PLAIN], FetchResult("ok", PLAIN), ParsedFeed(title="plain.example",
                         articles=harbor), now=T0)
    finally:
        store.close()
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        _, articles, _ = panes(app)
        pane = app.screen.query_one("#articles-pane")
        await search_for(pilot, app, "harbor")
        best = list(articles.ids)
        assert len(best) == 8
        store = app.screen.store
        dated = sorted(best, key=lambda i: (-(store.article(i).published or 0), -i))
        assert best != dated  # (else the test would prove nothing)
        seen = {}
        for order in ("newest first", "oldest first", "by title", "by feed", "best matches first"):
            await pilot.press("O")
            await pilot.pause()
            assert str(pane.border_subtitle) == order and f"Sorted {order}." in status(app)
            assert sorted(articles.ids) == sorted(best)
            seen[order] = list(articles.ids)
        assert seen["newest first"] == dated
        assert seen["oldest first"] == dated[::-1]
        titles = [store.article(i).title for i in seen["by title"]]
        assert titles == sorted(titles, key=title_key)
        assert seen["best matches first"] == best
        await pilot.press("O")
        await pilot.pause()
        assert str(pane.border_subtitle) == "newest first"
        await search_for(pilot, app, "thai")
        assert str(pane.border_subtitle) == "best matches first"


def with_searches(cache: UICache) -> UICache:
    from tui.config import SavedSearch

    cache.config.searches = [SavedSearch("Thái Nguyên", "thai nguyen"), SavedSearch("Tech unread", "tag:Tech is:unread"),
                             SavedSearch("[@click=app.quit]bad", "is:bogus")]
    return cache


async def test_saved_searches_are_views_with_unread_counts(cache: UICache) -> None:
    with_searches(cache)
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        feeds, articles, reader = panes(app)
        shown = lines(feeds)
        assert shown[2].split() == ["Starred", "1"]
        assert shown[3].split() == ["Thái", "Nguyên", "3"]  # the feed's name is searched too
        assert shown[4].split() == ["Tech", "unread", "4"]
        assert shown[5].split() == ["[@click=app.quit]bad"]
        assert shown[6].split() == ["▾", "Việt", "Nam", "3"]
        assert any(n.message.startswith("Saved search [@click=app.quit]bad: is:") for n in app._notifications)
        await go_to_feed(pilot, app, "search:[@click=app.quit]bad")  # it says why it lists nothing
        await app.workers.wait_for_complete()
        await pilot.pause()
        shown = " ".join(" ".join(lines(articles)).split())
        assert "Saved search [@click=app.quit]bad: is:" in shown and "matches nothing until it is mended" in shown
        await go_to_feed(pilot, app, "search:Thái Nguyên")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert articles.ids == cache.articles[VN]  # newest first, like any view
        await pilot.press("enter", "enter")
        await laid_out(pilot)
        assert reader.article_id == cache.articles[VN][0]
        await app.workers.wait_for_complete()
        await pilot.press("escape")
        await pilot.pause()
        assert lines(feeds)[3].split() == ["Thái", "Nguyên", "2"]  # counted again after the read
        assert articles.ids == cache.articles[VN]  # what was read stays in the list
        await go_to_feed(pilot, app, "search:Tech unread")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("enter", "A")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert lines(feeds)[4].split() == ["Tech", "unread"]
        assert lines(feeds)[0].split() == ["All", "4"]
    app = DocbaoApp(cache.config, cache.folder)  # the saved search is where the reader comes back to
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        feeds, articles, _ = panes(app)
        assert feeds.current is not None and feeds.current.key == "search:Tech unread"
        assert str(app.screen.query_one("#articles-pane").border_title) == "Tech unread"
        assert articles.ids == []  # every match was marked read above: is:unread finds none now


async def test_restart_comes_back_to_the_article_selected_in_a_saved_search(cache: UICache) -> None:
    with_searches(cache)
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, "search:Thái Nguyên")
        await app.workers.wait_for_complete()
        await pilot.pause()
        _, articles, _ = panes(app)
        await pilot.press("enter", "j", "j")
        assert articles.current_id == cache.articles[VN][2]
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        feeds, articles, _ = panes(app)
        assert feeds.current is not None and feeds.current.key == "search:Thái Nguyên"
        assert articles.ids == cache.articles[VN] and articles.current_id == cache.articles[VN][2]


async def test_the_killfile_hides_articles_everywhere_and_lists_them_under_ignored(cache: UICache) -> None:
    plain_url = "http://127.0.0.1:9/plain.xml"
    cache.config.ignores = ["terminal", '"plain news two"']
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        feeds, articles, _ = panes(app)
        hidden = {cache.articles[TECH][1], cache.articles[plain_url][1]}
        shown = lines(feeds)
        assert shown[3].split() == ["Ignored", "2"]
        assert shown[4].split() == ["▾", "Việt", "Nam", "3"]
        assert len(articles.ids) == 9 and not hidden & set(articles.ids)  # "All"
        assert not any("Terminal UIs" in line for line in lines(articles))
        await go_to_feed(pilot, app, feed_key(cache, TECH, "Tech"))
        assert articles.ids == [i for i in cache.articles[TECH] if i not in hidden]
        await go_to_feed(pilot, app, "starred")
        assert articles.ids == []  # the starred article is ignored too
        await go_to_feed(pilot, app, "ignored")
        assert articles.ids == [cache.articles[TECH][1], cache.articles[plain_url][1]]  # newest first
        assert "Terminal UIs a" in lines(articles)[0]
        await search_for(pilot, app, "terminal")
        assert articles.ids == []  # a search does not bring them back


async def test_an_unreadable_ignore_query_is_named_and_the_others_still_apply(cache: UICache) -> None:
    cache.config.ignores = ["terminal", "is:bogus"]
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        feeds, articles, _ = panes(app)
        assert len(articles.ids) == 10  # "terminal" still hides its article
        assert "Ignored 1" in [" ".join(line.split()) for line in lines(feeds)]
        said = [n.message for n in app._notifications if n.message.startswith("Ignore list:")]
        assert len(said) == 1 and "ignore query 'is:bogus' not applied" in said[0], said
        await pilot.press("R")  # the refresh finds them again: the bad rule is not said twice
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        assert len([n for n in app._notifications if n.message.startswith("Ignore list:")]) == 1


async def test_two_saved_searches_with_one_name_are_two_views(cache: UICache) -> None:
    from tui.config import SavedSearch

    cache.config.searches = [SavedSearch("News", "thai nguyen"), SavedSearch("News", "tag:Tech is:unread")]
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        feeds, articles, _ = panes(app)
        assert lines(feeds)[3].split() == ["News", "3"]
        assert lines(feeds)[4].split() == ["News", "(2)", "4"]
        await go_to_feed(pilot, app, "search:News#2")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert sorted(articles.ids) == sorted(cache.articles[TECH][:2] + cache.articles["http://127.0.0.1:9/evil.xml"])
        await go_to_feed(pilot, app, "search:News")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert articles.ids == cache.articles[VN]


async def test_a_search_that_matches_more_than_it_lists_says_so(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A typed search lists its best SEARCH_LIMIT matches; when more match, the status line
    says so and how to narrow it, rather than letting the list pass for every match. Esc
    leaves the results, and the note about them goes too (it stayed, saying "more match"
    of a list no longer shown)."""
    from tui.config import Config, FeedConfig
    from tui.model import FetchResult, ParsedArticle, ParsedFeed
    from tui.store.cache import Store
    from tui.ui.screens.searching import SEARCH_LIMIT

    url = "http://127.0.0.1:9/gia-vang.xml"
    store = Store.open(tmp_path / "cache")
    feed_id = store.ensure_feeds([url])[url]
    articles = [ParsedArticle(guid=f"g{n}", title=f"Giá vàng hôm nay, phiên {n}", published=1_700_000_000 + n * 60,
                              summary=f"<p>Bảng giá số {n}.</p>") for n in range(SEARCH_LIMIT + 20)]
    store.save_fetch(feed_id, FetchResult("ok", url), ParsedFeed(title="Giá vàng", articles=articles))
    store.close()
    app = DocbaoApp(Config(path=None, feeds=[FeedConfig(url=url)]), tmp_path / "cache")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        _, listed, _ = panes(app)
        await search_for(pilot, app, "gia vang")
        assert len(listed.ids) == SEARCH_LIMIT
        assert f"best {SEARCH_LIMIT} listed, more match: add a word or a filter" in status(app)
        await pilot.press("escape")
        await pilot.pause()
        assert "more match" not in status(app) and f"{SEARCH_LIMIT + 20} in view" in status(app)  # the feed's view
        await search_for(pilot, app, '"phien 7"')
        assert len(listed.ids) == 1 and "more match" not in status(app)
        await pilot.press("escape")
        await search_for(pilot, app, "is:unread")  # filters alone list the newest, not the best
        assert f"newest {SEARCH_LIMIT} listed, more match" in status(app)


async def test_esc_from_a_search_comes_back_to_the_article_selected_in_the_view(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The view a search replaced comes back with its place: the article selected there,
    on screen, though it was far down the list; a second search from the results changes
    nothing of that."""
    from tui.config import Config, FeedConfig
    from tui.model import FetchResult, ParsedArticle, ParsedFeed
    from tui.store.cache import Store

    url = "http://127.0.0.1:9/royal.xml"
    store = Store.open(tmp_path / "cache")
    feed_id = store.ensure_feeds([url])[url]
    titles = [f"Court circular number {n}" for n in range(60)]
    titles[50] = "The queen opens the bridge"
    store.save_fetch(feed_id, FetchResult("ok", url), ParsedFeed(title="Royal", articles=[
        ParsedArticle(guid=f"r{n}", title=title, published=1_700_000_000 - n * 3600, summary="<p>x</p>")
        for n, title in enumerate(titles)]))
    store.close()
    app = DocbaoApp(Config(path=None, feeds=[FeedConfig(url=url)]), tmp_path / "cache")
    async with app.run_test(size=(120, 24)) as pilot:
        await pilot.pause()
        _, articles, _ = panes(app)
        await pilot.press("enter", *["j"] * 40)  # All, far down its list
        assert articles.cursor == 40 and round(articles.scroll_y) > 0
        selected = articles.current_id
        await search_for(pilot, app, "queen")
        assert len(articles.ids) == 1
        await search_for(pilot, app, "circular")
        await pilot.press("j", "j")  # moving in the results is not moving in the view
        await pilot.press("escape")
        await pilot.pause()
        assert str(app.screen.query_one("#articles-pane").border_title) == "All"
        assert articles.current_id == selected and articles.cursor == 40
        top, height = round(articles.scroll_y), articles.scrollable_content_region.height
        assert top <= articles.cursor < top + height, (top, articles.cursor, height)
        assert "Court circular number 40" in lines(articles)[articles.cursor - top]


async def test_up_and_down_in_the_search_box_go_through_earlier_searches_kept_across_runs(cache: UICache) -> None:
    from textual.widgets import Input

    def box(app: DocbaoApp) -> str:
        assert isinstance(app.screen, TextPrompt)
        return app.screen.query_one(Input).value

    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for query in ("thai", "sqlite", "thai nguyen"):
            await search_for(pilot, app, query)
            await pilot.press("escape")
        await search_for(pilot, app, "sqlite")  # typed again: now the newest, listed once
        await pilot.press("slash")  # in the results: the box holds their query
        assert box(app) == "sqlite"
        await pilot.press("up")  # the one shown is skipped
        assert box(app) == "thai nguyen"
        await pilot.press("up", "up")
        assert box(app) == "thai"  # the oldest, and it stays there
        await pilot.press("down")
        assert box(app) == "thai nguyen"
        await pilot.press("down", "down")
        assert box(app) == "sqlite"
        await pilot.press("backspace", "down", "up")  # edited, then back from the history
        assert box(app) == "sqlite"
        await pilot.press("down")
        assert box(app) == "sqlit"
        await pilot.press("escape")
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("slash", "up")
        assert box(app) == "sqlite"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        _, articles, _ = panes(app)
        assert "SQLite" in " ".join(lines(articles))
