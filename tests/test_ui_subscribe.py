"""Managing subscriptions from the UI: `a` subscribes to a feed served on 127.0.0.1 (or
to one of the feeds a page names), `d` unsubscribes after asking, `T` edits the tags; each
writes feeds.toml, keeps its comments and shows the change at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input

from tests.pilot import (
    NEW_ITEMS,
    OLD_ITEMS,
    PLAIN,
    SIZE,
    UICache,
    build_ui_cache,
    feed_key,
    go_to_feed,
    lines,
    panes,
    rss,
)
from tui.ui.app import DocbaoApp
from tui.config import load_config
from tui.ui.screens.main import MainScreen
from tui.ui.screens.prompts import Choose, Confirm, TextPrompt
from tui.store.cache import Store

COMMENT = "# my feeds, kept by hand\n"


@pytest.fixture
def cache(tmp_path: Path) -> UICache:
    """The fixed UI cache, its feeds written to a real feeds.toml."""
    cache = build_ui_cache(tmp_path / "cache")
    path = tmp_path / "feeds.toml"
    text = COMMENT
    for feed in cache.config.feeds:
        text += f'\n[[feed]]\nurl = "{feed.url}"\n'
        if feed.title:
            text += f'title = "{feed.title}"\n'
        if feed.tags:
            text += "tags = [" + ", ".join(f'"{t}"' for t in feed.tags) + "]\n"
    path.write_text(text, encoding="utf-8")
    cache.config = load_config(path)
    return cache


async def answer(pilot, app: DocbaoApp, text: str) -> None:  # type: ignore[no-untyped-def]
    """Type `text` into the open prompt and press Enter."""
    await pilot.pause()
    assert isinstance(app.screen, TextPrompt)
    app.screen.query_one(Input).value = text
    await pilot.press("enter")
    await pilot.pause()


async def settle(pilot, app: DocbaoApp) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


def messages(app: DocbaoApp) -> list[str]:
    return [n.message for n in app._notifications]


def prompt_problem(app: DocbaoApp) -> str:
    """What the open prompt says is wrong with its text ("" when it shows nothing)."""
    from textual.widgets import Label

    error = app.screen.query_one(".prompt--error", Label)
    return str(error.render()) if error.display else ""


async def test_a_subscribes_to_a_feed_url_and_fetches_it(cache: UICache, server) -> None:  # type: ignore[no-untyped-def]
    url = server.route("/new.xml", rss(NEW_ITEMS), content_type="application/rss+xml")
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        feeds, articles, _ = panes(app)
        await pilot.press("a")
        await answer(pilot, app, url)
        await settle(pilot, app)
        assert isinstance(app.screen, MainScreen)
        assert feeds.current is not None and feeds.current.label == "Local"
        assert lines(feeds)[feeds.cursor].split() == ["Local", "2"]
        assert len(articles.ids) == 2 and "Fourth story" in lines(articles)[0]
        assert f"Subscribed to {url}" in messages(app)
        text = cache.config.path.read_text(encoding="utf-8")  # type: ignore[union-attr]
        assert text.startswith(COMMENT) and f'url = "{url}"' in text
        assert [f.url for f in load_config(cache.config.path).feeds][-1] == url
        await pilot.press("a")  # the same feed again, spelled differently
        await answer(pilot, app, url.replace("http://", "HTTP://") + "#top")
        await settle(pilot, app)
        assert any(m.startswith("Already subscribed: Local") for m in messages(app)), messages(app)
        assert len(server.hits("/new.xml")) == 2  # the look-up and the first refresh; none for the duplicate


async def test_a_page_naming_two_feeds_offers_a_choice(cache: UICache, server) -> None:  # type: ignore[no-untyped-def]
    one = server.route("/one.xml", rss(NEW_ITEMS[:1]), content_type="application/rss+xml")
    two = server.route("/two.xml", rss(NEW_ITEMS[1:]).replace("<title>Local</title>", "<title>Two</title>"),
                       content_type="application/rss+xml")
    page = server.route("/site.html", (
        '<html><head><link rel="alternate" type="application/rss+xml" title="[b]One[/b]" href="/one.xml">'
        '<link rel="alternate" type="application/rss+xml" title="Two" href="/two.xml"></head>'
        "<body>A site</body></html>"), content_type="text/html; charset=utf-8")
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        feeds, _, _ = panes(app)
        await pilot.press("a")
        await answer(pilot, app, page)
        await settle(pilot, app)
        assert isinstance(app.screen, Choose)
        assert app.screen.choices == [f"[b]One[/b]  {one}", f"Two  {two}"]
        await pilot.press("j", "enter")
        await settle(pilot, app)
        assert isinstance(app.screen, MainScreen)
        urls = [f.url for f in load_config(cache.config.path).feeds]
        assert two in urls and one not in urls
        assert feeds.current is not None and feeds.current.label == "Two"
        assert len(server.hits("/two.xml")) >= 1


async def test_a_refuses_what_is_not_a_feed(cache: UICache, server) -> None:  # type: ignore[no-untyped-def]
    page = server.route("/plain.html", "<html><body>No feeds here</body></html>", content_type="text/html")
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        before = cache.config.path.read_text(encoding="utf-8")  # type: ignore[union-attr]
        await pilot.press("a")
        await answer(pilot, app, "file:///etc/passwd")
        assert isinstance(app.screen, TextPrompt)  # refused in the prompt, the text kept to mend
        assert app.screen.query_one(Input).value == "file:///etc/passwd"
        assert "not an http(s) feed URL (file: URLs are not fetched)" in prompt_problem(app)
        await pilot.press("escape")
        await pilot.press("a")
        await answer(pilot, app, page)
        await settle(pilot, app)
        await pilot.press("a", "escape")  # (it starts from the page's URL: see the test below)
        await pilot.press("a")
        await answer(pilot, app, PLAIN)
        shown = messages(app)
        assert any("is a web page that names no feed" in m for m in shown), shown
        assert "Already subscribed: Plain Feed" in shown
        assert cache.config.path.read_text(encoding="utf-8") == before  # type: ignore[union-attr]


async def test_a_page_whose_feeds_are_all_refused_says_why(cache: UICache, server) -> None:  # type: ignore[no-untyped-def]
    long = "/feed.xml?x=" + "a" * 5000  # longer than any URL docbao fetches
    page = server.route("/site.html", (
        f'<html><head><link rel="alternate" type="application/rss+xml" title="Long" href="{long}">'
        f'<link rel="alternate" type="application/atom+xml" href="/atom.xml?y={"b" * 5000}"></head></html>'),
        content_type="text/html; charset=utf-8")
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        before = cache.config.path.read_text(encoding="utf-8")  # type: ignore[union-attr]
        await pilot.press("a")
        await answer(pilot, app, page)
        await settle(pilot, app)
        shown = messages(app)
        assert not any("names no feed" in m for m in shown), shown
        refused = [m for m in shown if m.startswith(f"{page} names 2 feeds, none of which can be subscribed to:")]
        assert refused and refused[0].count("malformed URL (too long)") == 2, shown
        assert len(refused[0]) < 400  # the URLs are shortened
        assert cache.config.path.read_text(encoding="utf-8") == before  # type: ignore[union-attr]


async def test_d_unsubscribes_after_asking_and_keeps_the_articles(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, PLAIN))
        feeds, _, _ = panes(app)
        await pilot.press("d")
        assert isinstance(app.screen, Confirm)
        await pilot.press("n")
        assert PLAIN in [f.url for f in load_config(cache.config.path).feeds]
        await pilot.press("d", "y")
        await pilot.pause()
        assert PLAIN not in [f.url for f in load_config(cache.config.path).feeds]
        assert cache.config.path.read_text(encoding="utf-8").startswith(COMMENT)  # type: ignore[union-attr]
        assert "Plain Feed" not in "\n".join(lines(feeds))
        assert "Unsubscribed from Plain Feed; its articles stay in the cache (u undoes it)." in messages(app)
        assert lines(feeds)[0].split() == ["All", "7"]
        # its starred article goes with it, from the count as from the list
        assert lines(feeds)[2].split() == ["Starred"]
        await pilot.press("u")  # back, and the cursor with it
        await pilot.pause()
        assert PLAIN in [f.url for f in load_config(cache.config.path).feeds]
        assert feeds.current is not None and feeds.current.key == feed_key(cache, PLAIN)
        assert lines(feeds)[0].split() == ["All", "9"]
        assert lines(feeds)[2].split() == ["Starred", "1"]
        await pilot.press("d", "y")
        await pilot.pause()
    store = Store.open(cache.folder)
    try:
        assert store.count(feed_ids=[cache.feed_ids[PLAIN]]) == 2
    finally:
        store.close()


async def test_shift_t_edits_tags_into_folders(cache: UICache) -> None:
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, PLAIN))
        feeds, articles, _ = panes(app)
        await pilot.press("T")
        assert isinstance(app.screen, TextPrompt)
        assert app.screen.query_one(Input).value == ""
        await answer(pilot, app, "Tin nhanh,  Tech , Tin nhanh")
        assert load_config(cache.config.path).feeds[3].tags == ["Tin nhanh", "Tech"]
        keys = [e.key for e in feeds.entries]
        plain_id = cache.feed_ids[PLAIN]
        assert f"tag:Tin nhanh/feed:{plain_id}" in keys and f"tag:Tech/feed:{plain_id}" in keys
        assert f"feed:{plain_id}" not in keys
        assert feeds.current is not None and feeds.current.key == f"tag:Tin nhanh/feed:{plain_id}"
        assert articles.ids == cache.articles[PLAIN]
        await pilot.press("T")
        assert app.screen.query_one(Input).value == "Tin nhanh, Tech"
        await answer(pilot, app, "")
        assert load_config(cache.config.path).feeds[3].tags == []
        assert feeds.current is not None and feeds.current.key == f"feed:{plain_id}"


async def test_d_and_t_need_a_feed_and_a_new_config_is_created(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    from tui.config import Config, default_config_path

    url = server.route("/new.xml", rss(NEW_ITEMS), content_type="application/rss+xml")
    app = DocbaoApp(Config(path=None), tmp_path / "cache")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("d")
        await pilot.press("T")
        assert isinstance(app.screen, MainScreen)
        assert messages(app).count("Select a feed in the feed list first.") == 2
        await pilot.press("a")
        await answer(pilot, app, url)
        await settle(pilot, app)
        assert default_config_path().exists()
        assert [f.url for f in load_config(default_config_path()).feeds] == [url]
        feeds, articles, _ = panes(app)
        assert len(articles.ids) == 2


async def test_dialogs_show_a_hostile_feed_title_as_text(cache: UICache) -> None:
    from textual.widgets import Label

    from tests.pilot import EVIL, SHOWN_FEED

    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, EVIL, "Tech"))
        await pilot.press("d")
        assert isinstance(app.screen, Confirm)
        question = str(app.screen.query(Label).first().render())
        assert question == f"Unsubscribe from {SHOWN_FEED}? Its articles stay in the cache."
        await pilot.press("escape", "T")
        assert isinstance(app.screen, TextPrompt)
        assert str(app.screen.query(Label).first().render()).startswith(f"Tags of {SHOWN_FEED} (")
        assert app.screen.query_one(Input).value == "Tech"
        await pilot.press("escape")
        assert app.is_running and isinstance(app.screen, MainScreen)
        assert EVIL in [f.url for f in load_config(cache.config.path).feeds]


async def test_a_first_subscription_keeps_the_cache_it_started_with(server) -> None:  # type: ignore[no-untyped-def]
    from tui.config import Config, default_config_path, resolve_cache_dir

    url = server.route("/new.xml", rss(NEW_ITEMS), content_type="application/rss+xml")
    no_config = Config(path=None)
    first = resolve_cache_dir(no_config)  # the XDG cache folder
    app = DocbaoApp(no_config, first)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("a")
        await answer(pilot, app, url)
        await settle(pilot, app)
        feeds, articles, _ = panes(app)
        assert len(articles.ids) == 2 and "Fourth story" in lines(articles)[0]
        await pilot.press("s")
    assert default_config_path().exists()
    assert resolve_cache_dir(load_config(default_config_path())) == first  # where the next start looks
    assert not (default_config_path().parent / "cache").exists()  # no second cache left behind
    store = Store.open(first)
    try:
        assert len(store.article_ids()) == 2 and store.count(starred=True) == 1
    finally:
        store.close()


# ------------------------------------------------------- feeds removed by another process
async def until(pilot, done) -> None:  # type: ignore[no-untyped-def]
    """Wait for the reader to notice what another process changed (it looks every 1.5 s)."""
    for _ in range(100):
        if done():
            return
        await pilot.pause(0.1)
    assert done()


def cursor_in_sight(widget) -> bool:  # type: ignore[no-untyped-def]
    top, height = round(widget.scroll_y), widget.scrollable_content_region.height
    return top <= widget.cursor < top + height


async def test_a_feed_removed_from_feeds_toml_by_another_process_leaves_for_its_neighbour(cache: UICache) -> None:
    """`docbao remove` (or an editor) takes out the feed whose articles are listed: the view
    moves to the feed beside it in its folder, the feed list's cursor on that feed, and the
    keys act on its articles."""
    from tui.config import remove_feed

    from tests.pilot import EVIL, TECH

    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, EVIL, "Tech"))
        await pilot.press("enter")
        feeds, articles, _ = panes(app)
        pane = app.screen.query_one("#articles-pane")
        assert articles.ids == cache.articles[EVIL] and app.focused is articles
        remove_feed(cache.config.path, EVIL)  # type: ignore[arg-type]
        await until(pilot, lambda: all(EVIL not in e.urls for e in feeds.entries))
        await pilot.pause()
        assert feeds.current is not None and feeds.current.key == feed_key(cache, TECH, "Tech")
        assert str(pane.border_title) == "Tech Weekly" and articles.ids == cache.articles[TECH]
        assert cursor_in_sight(feeds) and "Tech Weekly" in lines(feeds)[feeds.cursor - round(feeds.scroll_y)]
        assert app.focused is articles
        await pilot.press("j")
        assert articles.current_id == cache.articles[TECH][1]


async def test_a_feed_its_server_dropped_leaves_the_open_reader_for_its_neighbour(tmp_path: Path) -> None:
    """A sync in another process mirrors a server that unsubscribed the feed being read:
    the feed, its articles and its view go; the view moves to the feed beside it (never a
    folder left under the cursor with the empty view still showing)."""
    from tui.feeds.subscriptions import with_accounts
    from tui.model import ParsedArticle

    path = tmp_path / "feeds.toml"
    path.write_text('[[account]]\nname = "home"\nurl = "http://127.0.0.1:9/api/greader.php"\nuser = "alice"\n'
                    'password_command = ["echo", "secret"]\n', encoding="utf-8")
    folder = tmp_path / "cache"
    server_list = [("feed/1", "Liz Marley", "http://127.0.0.1:9/liz.rss", "", ["Tech"]),
                   ("feed/2", "Quake watch", "http://127.0.0.1:9/quakes.rss", "", [])]
    store = Store.open(folder)
    try:
        store.save_account_feeds("home", server_list)
        ids = {row.stream_id: row.feed_id for row in store.account_feeds()}
        for n, (stream, feed_id) in enumerate(sorted(ids.items())):
            store.save_remote_items("home", feed_id, [
                (10 * n + i, ParsedArticle(guid=f"{stream}/{i}", title=f"{stream} story {i}",
                                           published=1_700_000_000 - i * 3600, summary="<p>x</p>"), False, False)
                for i in range(3)])
    finally:
        store.close()
    app = DocbaoApp(with_accounts(load_config(path), folder), folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, f"tag:home/feed:{ids['feed/2']}")
        await pilot.press("enter")
        feeds, articles, _ = panes(app)
        pane = app.screen.query_one("#articles-pane")
        assert str(pane.border_title) == "Quake watch" and len(articles.ids) == 3
        store = Store.open(folder)  # what `docbao sync` stores when the server no longer lists it
        try:
            store.save_account_feeds("home", server_list[:1])
        finally:
            store.close()
        await until(pilot, lambda: "Quake watch" not in " ".join(lines(feeds)))
        await pilot.pause()
        assert feeds.current is not None and feeds.current.key == f"tag:home/feed:{ids['feed/1']}"
        assert str(pane.border_title) == "Liz Marley" and len(articles.ids) == 3
        assert cursor_in_sight(feeds) and "Liz Marley" in lines(feeds)[feeds.cursor - round(feeds.scroll_y)]
        await pilot.press("j")
        assert articles.cursor == 1 and "feed/1 story 1" in lines(articles)[1]


async def test_esc_from_a_search_after_its_view_was_removed_shows_the_neighbour(cache: UICache) -> None:
    """The view a search replaced can go while the results are shown: Esc comes back to
    the feed the cursor went to, not to the view that is no more."""
    from tui.config import remove_feed

    from tests.pilot import EVIL, TECH

    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await go_to_feed(pilot, app, feed_key(cache, EVIL, "Tech"))
        await pilot.press("enter", "slash", *"plain", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        feeds, articles, _ = panes(app)
        pane = app.screen.query_one("#articles-pane")
        assert str(pane.border_title) == "Search: plain"
        remove_feed(cache.config.path, EVIL)  # type: ignore[arg-type]
        await until(pilot, lambda: all(EVIL not in e.urls for e in feeds.entries))
        assert str(pane.border_title) == "Search: plain"  # the results stay until Esc
        await pilot.press("escape")
        await pilot.pause()
        assert feeds.current is not None and feeds.current.key == feed_key(cache, TECH, "Tech")
        assert str(pane.border_title) == "Tech Weekly" and articles.ids == cache.articles[TECH]


async def test_the_feed_selected_stays_in_sight_when_feeds_toml_gains_views(tmp_path: Path) -> None:
    """Another process adds an [[ignore]] and a [[search]] to feeds.toml: "Quakes" and
    "Ignored" come in above the feeds, and the feed selected at the bottom of the pane stays
    on screen, highlighted, rather than two lines below its bottom."""
    from tui.model import FetchResult, ParsedArticle, ParsedFeed

    urls = [f"http://127.0.0.1:9/feed-{n:02}.xml" for n in range(40)]
    path = tmp_path / "feeds.toml"
    path.write_text("".join(f'[[feed]]\nurl = "{url}"\ntitle = "Feed {n:02}"\n\n' for n, url in enumerate(urls)),
                    encoding="utf-8")
    folder = tmp_path / "cache"
    store = Store.open(folder)
    try:
        ids = store.ensure_feeds(urls)
        for n, url in enumerate(urls):
            title = {0: "Earthquake in the north", 1: "Bitcoin again"}.get(n, f"Story of feed {n}")
            store.save_fetch(ids[url], FetchResult("ok", url), ParsedFeed(title=f"Feed {n:02}", articles=[
                ParsedArticle(guid="only", title=title, published=1_700_000_000 - n, summary="<p>x</p>")]))
    finally:
        store.close()
    app = DocbaoApp(load_config(path), folder)
    async with app.run_test(size=(120, 24)) as pilot:
        await pilot.pause()
        feeds, _, _ = panes(app)
        await pilot.press("G")
        await pilot.pause()
        assert feeds.current is not None and feeds.current.label == "Feed 39"
        assert round(feeds.scroll_y) > 0 and cursor_in_sight(feeds)
        with path.open("a", encoding="utf-8") as handle:
            handle.write('[[ignore]]\nquery = "title:bitcoin"\n\n[[search]]\nname = "Quakes"\nquery = "quake*"\n')
        await until(pilot, lambda: {"Quakes", "Ignored"} <= {e.label for e in feeds.entries})
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert feeds.current is not None and feeds.current.label == "Feed 39"
        assert cursor_in_sight(feeds), (round(feeds.scroll_y), feeds.cursor, feeds.scrollable_content_region.height)
        assert lines(feeds)[feeds.cursor - round(feeds.scroll_y)].split() == ["Feed", "39", "1"]


async def test_a_failed_a_brings_the_text_back_to_mend(cache: UICache, server) -> None:  # type: ignore[no-untyped-def]
    """A typo, a URL without its scheme or a 404: the text is not lost. A text that cannot be
    looked up stays in the prompt with the reason; one whose look-up failed comes back in
    the next `a`'s prompt, with the reason, until it is subscribed or given up with Esc."""
    url = server.route("/new.xml", rss(NEW_ITEMS), content_type="application/rss+xml")
    missing = server.url("/nope.xml")
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("a")
        await answer(pilot, app, missing.removeprefix("http://"))
        assert isinstance(app.screen, TextPrompt)
        assert app.screen.query_one(Input).value == missing.removeprefix("http://")
        assert prompt_problem(app).startswith("no scheme: write http://127.0.0.1")
        await answer(pilot, app, missing)
        await settle(pilot, app)
        assert isinstance(app.screen, MainScreen)
        assert any(m.startswith(f"Cannot fetch {missing}: HTTP 404") and m.endswith("Press a to mend it.")
                   for m in messages(app)), messages(app)
        await pilot.press("a")  # the text that failed, and why
        await pilot.pause()
        assert isinstance(app.screen, TextPrompt)
        assert app.screen.query_one(Input).value == missing
        assert "HTTP 404" in prompt_problem(app)
        await answer(pilot, app, url)  # mended
        await settle(pilot, app)
        assert url in [f.url for f in load_config(cache.config.path).feeds]
        await pilot.press("a")  # subscribed: a new prompt is empty
        await pilot.pause()
        assert app.screen.query_one(Input).value == "" and prompt_problem(app) == ""
        await answer(pilot, app, missing)
        await settle(pilot, app)
        await pilot.press("a", "escape")  # given up
        await pilot.press("a")
        await pilot.pause()
        assert app.screen.query_one(Input).value == ""


async def test_a_on_a_page_stores_no_title_from_its_link_tags(cache: UICache, server) -> None:  # type: ignore[no-untyped-def]
    """A page names its feeds with <link title="RSS">: the feed is named by its own title,
    as `docbao add URL --pick N` does, not "RSS" in feeds.toml."""
    five = server.route("/vn5.xml", rss(NEW_ITEMS).replace("<title>Local</title>", "<title>Báo Mới 5</title>"),
                        content_type="application/rss+xml")
    four = server.route("/vn4.xml", rss(OLD_ITEMS).replace("<title>Local</title>", "<title>Báo Mới 4</title>"),
                        content_type="application/rss+xml")
    two = server.route("/site.html", (
        '<html><head><link rel="alternate" type="application/rss+xml" title="RSS" href="/vn5.xml">'
        '<link rel="alternate" type="application/rss+xml" title="Comments" href="/vn4.xml"></head></html>'),
        content_type="text/html; charset=utf-8")
    one = server.route("/one.html", (
        '<html><head><link rel="alternate" type="application/rss+xml" title="RSS 2.0" href="/vn4.xml">'
        "</head></html>"), content_type="text/html; charset=utf-8")
    app = DocbaoApp(cache.config, cache.folder)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        feeds, _, _ = panes(app)
        await pilot.press("a")
        await answer(pilot, app, two)
        await settle(pilot, app)
        assert isinstance(app.screen, Choose)
        await pilot.press("enter")  # the first: "RSS"
        await settle(pilot, app)
        assert feeds.current is not None and feeds.current.label == "Báo Mới 5"
        await pilot.press("a")
        await answer(pilot, app, one)  # a page naming one feed: subscribed without a question
        await settle(pilot, app)
        assert feeds.current is not None and feeds.current.label == "Báo Mới 4"
        subscribed = {f.url: f.title for f in load_config(cache.config.path).feeds}
        assert subscribed[five] == "" and subscribed[four] == ""
        assert "RSS" not in cache.config.path.read_text(encoding="utf-8")  # type: ignore[union-attr]
