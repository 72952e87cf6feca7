"""Reading: open an article, page through it, reader mode, the next unread article, and the
marks (read, starred, all read)."""

from __future__ import annotations

import asyncio
import importlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.cache import LRUCache
from textual.content import Content
from textual.message import Message
from textual.worker import Worker, get_current_worker

from tui.config import Config, ConfigError
from tui.content.sanitize import clean_line, html_to_line
from tui.store.cache import Article, Store, id_array
from tui.ui.screens.base import ReaderBase
from tui.ui.screens.prompts import Confirm
from tui.ui.undo import Change, Pending, ReadMarks, StarMark, Unsubscribed, of_place
from tui.ui.views import line_of, near
from tui.ui.widgets.article_list import ArticleList
from tui.ui.widgets.article_view import ArticleView
from tui.ui.widgets.feed_list import FeedEntry, FeedList
from tui.ui.widgets.keys import bind
from tui.ui.widgets.status_bar import StatusBar
from tui.ui.widgets.text import plain, plural, untitled

if TYPE_CHECKING:
    from tui.content.render import Rendered
    from tui.ui.widgets.images import Drawing

MARK_ON_THE_LOOP = 5_000  # articles; a mark of more is written in a thread (10,000 take about a second)
SHORT_FEED_TEXT = 600  # characters: a feed text shorter than this opens on the full article when one is cached
RENDERED_MEMORY = 32  # articles laid out recently, shown again without laying them out again
IMAGES_AT_ONCE = 4  # images fetched at the same time by the reader
TOO_BIG_TO_KEEP = "larger than the image cache (image_cache_mb)"


@dataclass(frozen=True)
class MarksProgress:
    """What the status line says of a mark of many articles written in a thread (or of its
    undo), short enough to fit 80 columns after the counts."""

    total: int
    read: bool  # the mark it writes
    done: int | None = None  # None: not started yet
    undoing: bool = False
    stopping: bool = False  # `u` asked it to stop (it does after the chunk it is writing)

    def text(self, *, quitting: bool = False) -> str:
        state = "read" if self.read else "unread"
        if self.stopping:
            text = "stopping the mark to undo it…"
        elif self.done is None:
            text = f"marking {self.total:,} articles {state}…"
        elif self.undoing or quitting:
            text = f"{self.done:,}/{self.total:,} marked {state}…"
        else:
            text = f"marking {self.done:,}/{self.total:,} articles {state}…"
        if quitting:
            return f"finishing: {text}"
        return f"undoing: {text}" if self.undoing and not self.stopping else text


@dataclass(slots=True)
class ImageLoad:
    """An image being fetched for the article on screen: by which worker, and the room it is
    drawn in once it arrives (the last the view asked for)."""

    article_id: int
    worker: Worker[None]
    cells: int
    rows: int


@dataclass(frozen=True, slots=True)
class RenderRequest:
    """What laying out one article needs: plain values, read on the event loop."""

    serial: int
    article_id: int
    full: bool
    line: int  # where to scroll once shown
    title: str
    feed: str
    author: str
    published: int | None
    link: str
    html: str
    width: int | None
    media: tuple[str, ...] = ()  # the header's lines for enclosures and the lead image
    lead: str = ""  # the lead image, drawn on top of a body without images of its own
    seen: int | None = None  # when it was first stored: the date of an article without one

    @property
    def cache_key(self) -> tuple[object, ...]:
        return (self.article_id, self.full, self.width, hash((self.title, self.feed, self.author, self.published,
                                                              self.link, self.html, self.media, self.lead, self.seen)))


class ReadingPart(ReaderBase):
    BINDINGS = [
        bind("article_page_down", "article_page_down"),
        bind("article_page_up", "article_page_up"),
        bind("next_unread", "next_unread"),
        bind("previous_unread", "previous_unread"),
        bind("next_article", "next_article"),
        bind("previous_article", "previous_article"),
        bind("next_feed", "next_feed"),
        bind("previous_feed", "previous_feed"),
        bind("reader_mode", "reader_mode"),
        bind("toggle_read", "toggle_read"),
        bind("toggle_read_next", "toggle_read_next"),
        bind("mark_all_read", "mark_all_read"),
        bind("mark_everything_read", "mark_everything_read"),
        bind("star", "star"),
        bind("undo", "undo"),
    ]

    def __init__(self, store: Store, config: Config, cache_dir: Path) -> None:
        super().__init__(store, config, cache_dir)
        self.reading: int | None = None  # the article the reader shows, or is laying out to show
        self.full_article = False  # it is the fetched full article, not the feed's text
        self._fetching: int | None = None  # the article whose full text is being fetched
        self._render_serial = 0  # the latest layout asked for: only it is shown
        self._rendered: LRUCache[tuple[object, ...], Rendered] = LRUCache(RENDERED_MEMORY)
        self._image_fetches: asyncio.Semaphore | None = None  # made on the event loop, shared by batches
        self._image_loads: dict[str, ImageLoad] = {}  # the images being fetched, by URL
        self._images_of: int | None = None  # the article the reader shows (its images are drawn)
        self._image_drawing = threading.Lock()
        self._pending_workers: dict[Pending, Worker[None]] = {}  # marks being written, as the undo log has them
        self._undoing = False  # an undo of many marks is being written (or waits for its mark to stop)
        self._quitting = False  # the user quit while marks were written: the reader ends once they are
        self._marks_said: tuple[Worker[None], MarksProgress] | None = None  # the marks' progress, as last shown

    @dataclass
    class ImageDrawn(Message):
        """An image drawn in a thread (or why it could not be), for the reader."""

        article_id: int
        url: str
        drawing: Drawing | None
        note: str = ""

    @dataclass
    class ArticleLaidOut(Message):
        """An article laid out in a thread, for the reader to show."""

        request: RenderRequest
        rendered: Rendered

    @dataclass
    class Marked(Message):
        """A mark of many articles written in a thread (or failed): the articles it went
        through, all of them unless it was stopped; the Pending it stood for in the undo
        log, or the mark it undid (`of`: how many that mark was started for)."""

        marked: Sequence[int]
        pending: Pending | None = None
        undone: ReadMarks | None = None
        of: int = 0
        failed: bool = False

    @dataclass
    class Marking(Message):
        """How far a mark of many articles has come."""

        worker: Worker[None]
        done: int
        total: int
        read: bool
        pending: Pending | None = None  # None: an undo

    def open_article(self, article_id: int, *, focus: bool = True, mark: bool = True) -> None:
        """Show an article in the reader and mark it read (unless `mark` is False: the
        article left open at the last quit comes back as the reader left it, unread if
        they marked it so). The feed's text by default; the full article when a copy is
        cached and the feed gave only a few lines."""
        article = self.store.article(article_id)
        if article is None:
            self.notify("That article is no longer in the cache.", severity="warning", markup=False)
            return
        if focus:  # first, so that the article is laid out for the room it will have
            self.pane = "reader"
        extract = self.store.extract(article_id)
        feed_html = article.content or article.summary
        full = (extract is not None and extract.fetched is not None and bool(extract.text.strip())
                and len(html_to_line(feed_html)) < SHORT_FEED_TEXT)
        self._show_article(article, extract.html if full and extract else feed_html, full=full,
                           line=self.state.scroll_of(article_id))
        self.remember({"ui.open": str(article_id)})
        if mark and not article.read:
            self.store.set_read([article_id])
            self.query_one(ArticleList).update_row(article_id, read=True)
            self.update_counts()

    def _show_article(self, article: Article, html: str, *, full: bool, line: int) -> None:
        """Lay the article out off the event loop and show it when it arrives; an article
        laid out before at this width is shown at once."""
        from tui.content.render import lead_picture, media_lines

        reader = self.query_one(ArticleView)
        self.reading = article.id
        self.full_article = full
        self._render_serial += 1
        title = clean_line(article.title) or untitled(article.summary or article.content or html)
        if "<img" not in html and not html_to_line(html):
            html = self._no_text(article, full=full)
        request = RenderRequest(self._render_serial, article.id, full, line, title,
                                self.feed_names.get(article.feed_id, ""), clean_line(article.author),
                                article.published, article.link, html, self._reader_measure() or None,
                                tuple(media_lines(article.enclosures, article.image, article.content or article.summary)),
                                lead_picture(article.image, article.enclosures) if reader.images_on else "",
                                article.first_seen)
        cached = self._rendered.get(request.cache_key)
        if cached is not None:
            self._show_rendered(request, cached)
        else:
            reader.expect(article.id, line)
            self._lay_out(request)

    def _no_text(self, article: Article, *, full: bool) -> str:
        """What the reader shows in place of an article without a word of text: where the
        text may be had."""
        if not article.link:
            return "<p><em>The feed gives no text for this article.</em></p>"
        browser = escape(self.key_name("open_browser"))
        if full:
            return f"<p><em>No text could be read from the article's page. Press {browser} to open it in the browser.</em></p>"
        return (f"<p><em>The feed gives no text for this article. Press {escape(self.key_name('reader_mode'))}"
                f" for the full article from its page, or {browser} to open it in the browser.</em></p>")

    def _reader_measure(self) -> int:
        """The width an article is laid out for: the reader's measure, or the one it will
        have once laid out alone on the screen (the reader with focus fills the width)."""
        reader = self.query_one(ArticleView)
        if self.pane != "reader":
            return reader.measure
        chrome = reader.styles.gutter.width + reader.styles.scrollbar_size_vertical
        return reader.measure_for(self.size.width - chrome)

    @work(thread=True, group="render", exclusive=True, exit_on_error=False, description="lay out an article")
    def _lay_out(self, request: RenderRequest) -> None:
        from tui.content.render import render_article

        rendered = render_article(title=request.title, feed=request.feed, author=request.author,
                                  published=request.published, link=request.link, html=request.html,
                                  width=request.width, media=request.media, lead=request.lead,
                                  date_format=self.config.settings.date_format, seen=request.seen)
        if not get_current_worker().is_cancelled:
            self.post_message(self.ArticleLaidOut(request, rendered))

    @on(ArticleLaidOut)
    def _laid_out(self, message: ReadingPart.ArticleLaidOut) -> None:
        self._rendered.set(message.request.cache_key, message.rendered)
        if message.request.serial == self._render_serial:  # else another article was asked for since
            self._show_rendered(message.request, message.rendered)

    def _show_rendered(self, request: RenderRequest, rendered: Rendered) -> None:
        reader = self.query_one(ArticleView)
        if request.article_id != self._images_of:
            self._leave_images(request.article_id)
        reader.show(request.article_id, rendered, line=request.line, width=request.width or 0)
        reader.border_title = plain(request.feed)
        reader.border_subtitle = Content("full article" if request.full else "")

    # ------------------------------------------------------------------ images
    @on(ArticleView.ImagesWanted)
    def _images_wanted(self, message: ArticleView.ImagesWanted) -> None:
        """Images came near the screen: draw those kept in the cache, fetch the others
        (the cache keeps them for next time), tell why for those refused."""
        if message.article_id != self._images_of:
            return  # asked before the reader showed another article (it asks again when back)
        reader = self.query_one(ArticleView)
        self.store.link_images(message.article_id, message.urls)
        rows = self.store.images(message.urls)
        kept: list[tuple[str, Path]] = []
        missing: list[str] = []
        for url in message.urls:
            row = rows.get(url)
            if row is not None and row.error:
                reader.drawn(message.article_id, url, None, note=f"image not shown: {clean_line(row.error)}")
            elif row is not None and row.path is not None:
                reader.drawn(message.article_id, url, None, size=(row.width, row.height))
                kept.append((url, row.path))
            else:
                missing.append(url)
        if kept:
            self._draw_images(message.article_id, kept, message.cells, message.rows)
        fresh: list[str] = []
        for url in missing:
            load = self._image_loads.get(url)
            if load is not None and load.article_id == message.article_id and not load.worker.is_finished:
                load.cells, load.rows = message.cells, message.rows  # on its way: drawn in this room
            else:
                fresh.append(url)
        if fresh:
            worker = self._fetch_images(message.article_id, fresh, message.cells, message.rows)
            self._image_loads.update((url, ImageLoad(message.article_id, worker, message.cells, message.rows))
                                     for url in fresh)

    def _leave_images(self, article_id: int) -> None:
        """The reader shows another article: the fetches for the one it leaves stop (the
        pictures on screen would wait behind them for a place), and the images they were
        fetching count as fetched by no one, so the article, shown again, asks for them anew."""
        self._images_of = article_id
        for url, load in list(self._image_loads.items()):
            if load.article_id != article_id:
                load.worker.cancel()
                del self._image_loads[url]

    @work(thread=True, group="images", exit_on_error=False, description="draw pictures")
    def _draw_images(self, article_id: int, kept: list[tuple[str, Path]], cells: int, rows: int) -> None:
        from tui.ui.widgets.images import draw

        worker = get_current_worker()
        for url, path in kept:
            with self._image_drawing:  # one at a time: memory stays flat, and the keys keep the GIL
                # given up only once the reader shows another article: it has forgotten what
                # it asked for then, and asks again when this one is back (given up when the
                # keys had merely moved on, a picture of the article still on screen stayed
                # "loading")
                if worker.is_cancelled or self._images_of != article_id:
                    return
                drawing = draw(path, url, self.app.image_mode, cells, rows, self.app.console)
            if isinstance(drawing, str):
                self.post_message(self.ImageDrawn(article_id, url, None, f"image not shown: {drawing}"))
            else:
                self.post_message(self.ImageDrawn(article_id, url, drawing))

    @work(group="images-fetch", exit_on_error=False, description="fetch pictures")
    async def _fetch_images(self, article_id: int, urls: list[str], cells: int, rows: int) -> None:
        """Fetch with the refresh's rules; each image kept is drawn as it arrives. The files
        and rows are written by a connection of the worker's own, in its own thread: a picture
        of a megabyte or two written on the event loop held the keys up. However it ends, the
        images it was fetching are no longer counted as on their way, and each image of the
        article still on screen has its picture or the reason why not."""
        worker = get_current_worker()
        reader = self.query_one(ArticleView)
        answered: set[str] = set()

        try:
            # httpx is imported and the client made (its certificate store loaded) in a thread: on
            # the event loop they held the keys up for 100-200 ms as the pictures were asked for
            client = await asyncio.to_thread(
                lambda: importlib.import_module("tui.feeds.fetch").make_client(IMAGES_AT_ONCE))
            from tui.feeds.images import Picture, Refusal, fetch_images
            from tui.feeds.workers import CacheThread

            origin = self.store.image_origin(article_id)
            limit = int(self.config.settings.image_cache_mb * 1024 * 1024)
            in_db = CacheThread()
            store: Store = await in_db(Store.open, self.cache_dir)

            def save(url: str, picture: Picture) -> Path | None:
                store.save_image(url, picture.data, picture.width, picture.height, limit_bytes=limit)
                row = store.images([url]).get(url)
                return row.path if row is not None else None

            async def keep(url: str, outcome: Picture | Refusal) -> None:
                load = self._image_loads.get(url)
                room = (load.cells, load.rows) if load is not None and load.worker is worker else (cells, rows)
                path = await in_db(save, url, outcome) if isinstance(outcome, Picture) else None
                if isinstance(outcome, Refusal) and outcome.lasting:
                    await in_db(store.save_image_error, url, outcome.message)
                self._end_load(url, worker)
                answered.add(url)
                if isinstance(outcome, Refusal):
                    reader.drawn(article_id, url, None, note=f"image not shown: {clean_line(outcome.message)}")
                elif path is None:  # evicted at once: larger than the whole cache
                    reader.drawn(article_id, url, None, note=f"image not shown: {TOO_BIG_TO_KEEP}")
                else:
                    reader.drawn(article_id, url, None, size=(outcome.width, outcome.height))
                    self._draw_images(article_id, [(url, path)], *room)

            if self._image_fetches is None:
                self._image_fetches = asyncio.Semaphore(IMAGES_AT_ONCE)
            try:
                async with client:
                    await fetch_images([(url, origin) for url in urls], client=client, config=self.config,
                                       keep=keep, limit=self._image_fetches)
            finally:
                await in_db(store.close)
                in_db.shutdown()
        except Exception as exc:  # told in place too (and in a notification, as every worker's failure)
            reason = clean_line(str(exc)) or type(exc).__name__
            for url in urls:
                if url not in answered:
                    reader.drawn(article_id, url, None, note=f"image not shown: {reason}")
            raise
        finally:
            for url in urls:
                self._end_load(url, worker)

    def _end_load(self, url: str, worker: Worker[None]) -> None:
        """`worker` no longer fetches `url` (another may, for the article shown since)."""
        load = self._image_loads.get(url)
        if load is not None and load.worker is worker:
            del self._image_loads[url]

    @on(ImageDrawn)
    def _image_drawn(self, message: ReadingPart.ImageDrawn) -> None:
        if message.drawing is not None and message.article_id == self.reading:
            self.store.mark_images_shown([message.url])
        self.query_one(ArticleView).drawn(message.article_id, message.url, message.drawing, note=message.note)

    def action_reader_mode(self) -> None:
        """`t`: the full article in place of the feed's text, and back. The page is fetched
        (in a worker) the first time; the feed's text stays on screen if that fails. From
        the list, the article under the cursor opens, as its full article."""
        article_id = self.query_one(ArticleList).current_id if self.pane == "articles" else self.reading
        if article_id is None:
            self.notify("Open an article first.", markup=False)
            return
        if self.pane == "articles":
            self.open_article(article_id)
            if self.reading != article_id or self.full_article:  # gone, or opened full already
                return
        article = self.store.article(article_id)
        if article is None:
            return
        if self.full_article:
            self._show_article(article, article.content or article.summary, full=False, line=0)
            return
        extract = self.store.extract(article_id)
        if extract is not None and extract.fetched is not None:
            self._show_article(article, extract.html, full=True, line=0)
            return
        if self._fetching == article_id:
            return
        self._fetching = article_id
        self.show_job("reader mode", "fetching the full article…", self._fetch_full(article_id))

    @work(group="fulltext", exclusive=True, exit_on_error=False, description="fetch the full article")
    async def _fetch_full(self, article_id: int) -> None:
        """fetch_one writes the extract (or the error) to the cache; the worker then shows
        the full article if the reader is still on it."""
        from tui.feeds.fulltext import fetch_one

        try:
            outcome = await fetch_one(self.config, self.cache_dir, article_id)
        finally:
            if self._fetching == article_id:
                self._fetching = None
        if not outcome.ok:
            self.notify(f"No full article: {clean_line(outcome.error) or 'the page could not be read'}",
                        title="Reader mode", severity="warning", markup=False)
            return
        article = self.store.article(article_id)
        extract = self.store.extract(article_id)
        if self.reading != article_id or article is None or extract is None or extract.fetched is None:
            return  # the reader moved on; the copy is cached for next time
        self._show_article(article, extract.html, full=True, line=0)

    def current_article(self) -> int | None:
        """The article a mark or a link key acts on: the one being read when the reader
        has focus, else the one under the list cursor; None when neither is on screen."""
        articles = self.query_one(ArticleList)
        if self.pane == "reader" and self.reading is not None:
            return self.reading
        if articles.current_id is not None:
            return articles.current_id
        # an empty list: the article read last, where it is on screen beside it (ROOMY columns)
        return self.reading if self.has_class("-roomy") else None

    def action_article_page_down(self) -> None:
        articles = self.query_one(ArticleList)
        if self.reading is None and articles.current_id is not None:
            self.open_article(articles.current_id)
        else:
            self.query_one(ArticleView).action_page_down()

    def action_article_page_up(self) -> None:
        self.query_one(ArticleView).action_page_up()

    def action_next_unread(self) -> None:
        self._jump_unread(forward=True)

    def action_previous_unread(self) -> None:
        self._jump_unread(forward=False)

    def _jump_unread(self, *, forward: bool) -> None:
        """Open the next (or previous) unread article: after the cursor, then from the top
        of the view (as newsboat does), then in the next feed with unread articles, the
        feed list read round from the top too."""
        entry = self.entry
        if entry is None:
            return
        self.query_one(StatusBar).set(note="")  # a "no more" of the key before is no longer so
        articles = self.query_one(ArticleList)
        if articles.ids:
            ids, here = articles.ids, articles.cursor
            reading = self.reading is not None and self.reading == articles.current_id
            start = here + 1 if forward and reading else here if forward else here - 1
            found = self._find_unread(entry, ids, start, forward)
            if found is None:  # round from the other end: what is left is on the far side of `here`
                found = self._find_unread(entry, ids, 0 if forward else len(ids) - 1, forward)
                if found == here and reading:  # the article open, marked unread again
                    found = None
            if found is not None:
                articles.move_cursor(found)
                self.open_article(ids[found])
                return
        if entry.kind not in ("view", "search"):
            covered = set(entry.feed_ids or ())
            feeds = self.query_one(FeedList)
            order = feeds.entries if forward else list(reversed(feeds.entries))
            position = next((i for i, e in enumerate(order) if e.key == entry.key), -1)
            for candidate in order[position + 1:] + order[:max(position, 0)]:
                if candidate.kind == "feed" and candidate.count and not covered.intersection(candidate.feed_ids or ()):
                    feeds.select(candidate.key, announce=False)
                    self.show_entry(candidate, at_once=True)  # a feed's ids, all of them, to look through
                    ids = articles.ids
                    found = self._find_unread(candidate, ids, 0 if forward else len(ids) - 1, forward)
                    if found is not None:
                        articles.move_cursor(found)
                        self.open_article(ids[found])
                        return
        self.query_one(StatusBar).say("No unread articles left.")  # said again, not stacked

    def _find_unread(self, entry: FeedEntry, ids: Sequence[int], start: int, forward: bool) -> int | None:
        """The line of the first unread article from line `start` on (back, with `forward`
        False). In a view sorted by date the store finds it by keyset; otherwise the lines
        are looked at a few at a time, more each round (the next unread is mostly near)."""
        if not 0 <= start < len(ids):
            return None
        step = 1 if forward else -1
        order = self.order_of(entry)
        here = self.store.rows([ids[start]])
        if here and not here[0].read:
            return start
        if here and not entry.virtual and order in ("newest", "oldest"):
            found = self.store.next_unread(ids[start], forward=forward, feed_ids=entry.feed_ids,
                                           starred=entry.starred_only, order=order)
            if found is None:
                return None
            index = line_of(ids, found, self.store.order_key(order))
            if index is not None and ids[index] == found:
                return index
        size, index = 100, start
        while 0 <= index < len(ids):
            chunk = ids[index:index + size] if forward else ids[max(0, index - size + 1):index + 1][::-1]
            unread = {row.id for row in self.store.rows(chunk) if not row.read}
            for n, article_id in enumerate(chunk):
                if article_id in unread:
                    return index + n * step
            index += len(chunk) * step
            size = min(size * 4, 5000)
        return None

    def action_toggle_read(self) -> None:
        """`m`: mark the article read or unread; the cursor stays on it."""
        article_id = self.current_article()
        rows = self.store.rows([article_id]) if article_id is not None else []
        if not rows:
            return
        read = not rows[0].read
        self.store.set_read([rows[0].id], read)
        self.undo_log.read([rows[0].id], read, self.feed_names.get(rows[0].feed_id, ""))
        self.query_one(ArticleList).update_row(rows[0].id, read=read)
        self.update_counts()
        self.query_one(StatusBar).say("Marked read." if read else "Marked unread.")

    def action_toggle_read_next(self) -> None:
        """`N` (newsboat's): as `m`, then in the list the cursor goes down a line (on the
        last it stays), so that `N N N` marks a run of articles instead of flipping one back
        and forth. In an open article, that article is marked and stays on screen (`J` goes on)."""
        on_list = not (self.pane == "reader" and self.reading is not None)
        articles = self.query_one(ArticleList)
        marked = self.current_article()
        self.action_toggle_read()
        if on_list and marked is not None and marked == articles.current_id:
            articles.move_cursor(articles.cursor + 1)

    def action_next_article(self) -> None:
        self._step_article(1)

    def action_previous_article(self) -> None:
        self._step_article(-1)

    def _step_article(self, step: int) -> None:
        """`J`/`K` (newsboat's next and prev): reading, the next (or previous) line of the
        list after the article read is opened, read or not; elsewhere the list's cursor moves."""
        articles = self.query_one(ArticleList)
        ids = articles.ids
        if not ids:
            return
        reading = self.pane == "reader" and self.reading is not None
        here = articles.cursor
        if reading and articles.current_id != self.reading:  # the cursor moved away (a refresh, a click)
            found = near(ids, self.reading, articles.cursor) if self.reading is not None else None
            here = found if found is not None else here
        target = here + step
        if not 0 <= target < len(ids):
            self.query_one(StatusBar).say("No next article in this list." if step > 0
                                          else "No previous article in this list.")
            return
        articles.move_cursor(target)
        if reading:
            self.open_article(ids[target])

    def action_next_feed(self) -> None:
        self._step_feed(forward=True)

    def action_previous_feed(self) -> None:
        self._step_feed(forward=False)

    def _step_feed(self, *, forward: bool) -> None:
        """Ctrl+N/Ctrl+P (newsboat's next-unread-feed): the next (or previous) feed of the
        feed list with unread articles, round from the other end, its list opened on its
        first unread article. A feed shown in two folders counts once."""
        feeds = self.query_one(FeedList)
        entry = self.entry
        order = feeds.entries if forward else list(reversed(feeds.entries))
        key = entry.key if entry is not None else ""
        position = next((i for i, e in enumerate(order) if e.key == key), -1)
        covered = set(entry.feed_ids or ()) if entry is not None and entry.kind == "feed" else set()
        for candidate in order[position + 1:] + order[:max(position, 0)]:
            if candidate.kind == "feed" and candidate.count and not covered.intersection(candidate.feed_ids or ()):
                feeds.select(candidate.key, announce=False)
                self.show_entry(candidate, at_once=True)  # all its ids, to find the first unread
                articles = self.query_one(ArticleList)
                found = self._find_unread(candidate, articles.ids, 0, True)
                if found is not None:
                    articles.move_cursor(found)
                self.pane = "articles"
                return
        self.query_one(StatusBar).say("No other feed has unread articles.")

    def action_star(self) -> None:
        article_id = self.current_article()
        rows = self.store.rows([article_id]) if article_id is not None else []
        if not rows:
            return
        starred = not rows[0].starred
        self.store.set_starred(rows[0].id, starred)
        self.undo_log.record(StarMark(rows[0].id, starred, self.feed_names.get(rows[0].feed_id, "")))
        self.query_one(ArticleList).update_row(rows[0].id, starred=starred)
        self.update_counts()
        self.query_one(StatusBar).say("Starred ★." if starred else "Star removed.")  # seen from the article too

    def action_mark_all_read(self) -> None:
        """`A`: every unread article of the view read; asked first when the view is longer
        than the list can show (the user cannot see what they mark)."""
        if self.entry is not None:
            self._mark_view_read(self.entry)

    def action_mark_everything_read(self) -> None:
        """`C` (newsboat's key): every unread article of every feed read, whatever the view, asked first."""
        entry = next((e for e in self.query_one(FeedList).entries if e.key == "all"), None)
        if entry is not None:
            self._mark_view_read(entry, ask=True)

    def _mark_view_read(self, entry: FeedEntry, *, ask: bool = False) -> None:
        running = next((mark for mark in self._pending_workers if mark.overlaps(entry.feed_ids)), None)
        if running is not None:  # a second `A` would count, ask and mark the same articles again
            self.query_one(StatusBar).say(f"Still marking {plural(running.total, 'article')} read; "
                                          f"{self.key_name('undo')} stops it.")
            return
        articles = self.query_one(ArticleList)
        if entry.virtual:  # only what the search shows, never every feed
            unread = [row.id for row in self.store.rows(articles.ids) if not row.read]
            count = len(unread)
        else:
            unread = None
            # what the [[ignore]] rules hide is left as it is, and not counted
            hidden = sum(1 for row in self.store.rows(sorted(self._ignored)) if not row.read
                         and (entry.feed_ids is None or row.feed_id in entry.feed_ids)
                         and (row.starred or not entry.starred_only)) if self._ignored else 0
            count = self.store.count(feed_ids=entry.feed_ids, unread=True, starred=entry.starred_only) - hidden
        if not count:
            self.notify("Every article here is read already.", markup=False)
            return
        if not ask and len(articles.ids) <= articles.scrollable_content_region.height:
            self._mark_all_read(entry, unread, count)
            return

        def answered(yes: bool | None) -> None:
            if yes and (ask or (self.entry is not None and self.entry.key == entry.key)):
                self._mark_all_read(entry, unread, count)

        what = f"{plural(count, 'article')} of {clean_line(entry.label)}"
        if entry.virtual:  # what is listed, which may be the best of more
            what = f"the {count:,} unread of the {plural(len(articles.ids), 'article')} listed for {clean_line(entry.label)}"
        self.app.push_screen(Confirm(f"Mark {what} read? ({self.key_name('undo')} undoes it)"), answered)

    def _mark_all_read(self, entry: FeedEntry, unread: list[int] | None, count: int) -> None:
        if count > MARK_ON_THE_LOOP:
            pending = Pending(count, feed_ids=entry.feed_ids, where=self.place_name(entry))
            self.undo_log.record(pending)  # now, so that `u` meanwhile undoes this mark and no other
            worker = self._mark_in_thread(entry.feed_ids, entry.starred_only, unread, count, pending=pending,
                                          hidden=frozenset(self._ignored))
            self._pending_workers[pending] = worker
            self.marking += 1
            self._show_marks(MarksProgress(count, read=True), worker, failed="articles not marked read")
            return
        if unread is not None:
            self.store.set_read(unread)
            marked = unread
        else:
            marked = self.store.mark_all_read(feed_ids=entry.feed_ids, starred=entry.starred_only, hidden=self._ignored)
        self.undo_log.read(marked, True, self.place_name(entry))
        self._after_mark(marked)

    # (each worker has a description of its own: Textual's default is the repr of every
    # argument, made on the event loop: here a million ids, 60 MB at its peak)
    @work(thread=True, group="marks", exit_on_error=False, description="mark articles")
    def _mark_in_thread(self, feed_ids: tuple[int, ...] | None, starred: bool, ids: Sequence[int] | None,
                        count: int, *, read: bool = True, pending: Pending | None = None,
                        undone: ReadMarks | None = None, of: int = 0, hidden: frozenset[int] = frozenset()) -> None:
        """A mark of many articles, on a connection of its own: a million articles take a
        minute to write, and the reader stays usable meanwhile. A `pending` mark stops
        between two chunks when `u` asks; an undo (`undone`) always goes to the end."""
        worker = get_current_worker()
        stop = pending.stop.is_set if pending is not None else None

        def progress(done: int) -> None:
            self.post_message(self.Marking(worker, done, count, read, pending))

        try:
            store = Store.open(self.cache_dir, create=False)
            try:
                if ids is None:
                    marked = store.mark_all_read(feed_ids=feed_ids, starred=starred, progress=progress, stop=stop,
                                                 hidden=hidden)
                else:
                    marked = store.set_read(ids, read, progress=progress, stop=stop)
            finally:
                store.close()
        except BaseException:
            self.post_message(self.Marked([], pending, undone, of, failed=True))
            raise
        self.post_message(self.Marked(marked, pending, undone, of))

    def _show_marks(self, progress: MarksProgress, worker: Worker[None], *, failed: str | None = None) -> None:
        """The marks' slot of the status line, for `worker` (which takes the slot when
        `failed` is given, the words for its failure: it starts, and what it says is the
        news, in place of the last note); "finishing:" while the reader waits for it to quit."""
        self._marks_said = (worker, progress)
        text = progress.text(quitting=self._quitting)
        if failed is None:
            self.job_progress("marks", text, worker)
        else:
            self.query_one(StatusBar).say("")
            self.show_job("marks", text, worker, failed=failed)

    @on(Marking)
    def _marking(self, message: ReadingPart.Marking) -> None:
        pending = message.pending
        self._show_marks(MarksProgress(message.total, message.read, message.done, undoing=pending is None,
                                       stopping=pending is not None and pending.stop.is_set()), message.worker)

    def quit_after_marks(self) -> bool:
        """The user quits: True when marks are still being written in threads. The reader
        then stays, says so in their place in the status line, and ends once they are
        written: a mark left part-way would stay part-way, with its undo gone."""
        if not self.marking:
            return False
        if not self._quitting:  # how to end sooner, said once (a big mark takes a minute or two)
            undoable = self._marks_said is not None and not (self._marks_said[1].undoing or self._undoing)
            self.notify("docbao quits once the marks are written."
                        + (f" {self.key_name('undo')} undoes the mark and quits sooner." if undoable else ""),
                        title="Quitting", timeout=8, markup=False)
        self._quitting = True
        self.query_one(StatusBar).set(note="")  # the marks' progress is what the line is for now
        if self._marks_said is not None:
            worker, progress = self._marks_said
            self._show_marks(progress, worker)
        return True

    @on(Marked)
    def _marked(self, message: ReadingPart.Marked) -> None:
        self.marking -= 1
        self._take_marks(message)
        if not self.marking:
            self.marks_written()
            if self._quitting:
                self.app.exit()

    def _take_marks(self, message: ReadingPart.Marked) -> None:
        """Record and show what a thread marked; give it back if `u` asked meanwhile."""
        if message.undone is not None:  # an undo, written
            self._undoing = False
            if message.failed:  # still to undo: `u` tries again
                self.undo_log.record(message.undone)
            else:
                self._after_undo(message.undone, of=message.of)
            return
        pending = message.pending
        if pending is None:
            return
        self._pending_workers.pop(pending, None)
        change = ReadMarks(id_array(message.marked), pending.read, pending.where)
        if pending.stop.is_set():  # `u` took it while it was written: what it wrote is given back
            self._undoing = False
            if not message.failed:
                self._undo_marks(change, of=pending.total)
            return
        self.undo_log.settle(pending, change)
        if not message.failed:
            self._after_mark(message.marked)

    def _after_mark(self, marked: Sequence[int]) -> None:
        """Show a mark of many articles once written: the lines drawn again, all of them
        still listed (in a view that leaves read articles out, they go when the list is
        next read, as an article read one by one does)."""
        self.query_one(ArticleList).reload_rows()
        self.update_counts()
        self.query_one(StatusBar).say(f"Marked {plural(len(marked), 'article')} read ({self.key_name('undo')} undoes it).")

    @staticmethod
    def place_name(entry: FeedEntry) -> str:
        """What an undo calls the view a mark was made in: its name in the feed list, and
        "every feed" for All."""
        return "every feed" if entry.key == "all" else entry.label

    def action_undo(self) -> None:
        """`u`: undo the last mark, mark all read, star or unsubscribe, one per press. A mark
        still being written is the last one: it stops, and what it wrote is given back."""
        if self._undoing:  # the next undo would race the marks it writes
            self.query_one(StatusBar).say(f"Still undoing the last mark; {self.key_name('undo')} again once it is done.")
            return
        change = self.undo_log.take()
        if change is None:
            self.query_one(StatusBar).say("Nothing to undo.")
            return
        if isinstance(change, Pending):
            change.stop.set()
            self._undoing = True
            worker = self._pending_workers.get(change)
            if worker is not None:
                self.query_one(StatusBar).say("")
                self._show_marks(MarksProgress(change.total, change.read, stopping=True), worker)
            return
        if isinstance(change, ReadMarks):
            self._undo_marks(change)
            return
        try:
            change.undo(self.store)
        except (OSError, ConfigError) as exc:
            self.notify(f"Cannot undo {change.description}: {exc}", severity="error", markup=False)
            return
        if isinstance(change, Unsubscribed):
            note = self._undo_toasts.pop(change, None)
            if note is not None:  # "Unsubscribed from …" no longer holds
                self.untoast(note)
            if self.config.path is not None:
                self.reload_config(self.config.path)
        else:
            self.query_one(ArticleList).reload_rows()
        self.update_counts()
        if isinstance(change, Unsubscribed):  # the cursor back on the feed, where it was
            feeds = self.query_one(FeedList)
            back = next((e for e in feeds.entries if e.kind == "feed" and change.url in e.urls), None)
            if back is not None:
                feeds.select(back.key)  # (its view is shown as the cursor lands)
        self._say_undone(change)

    def _undo_marks(self, change: ReadMarks, *, of: int = 0) -> None:
        """Give articles their mark before `change` back: in a thread when they are many.
        `of`: the articles a mark stopped part-way was started for."""
        if len(change.ids) > MARK_ON_THE_LOOP:
            self._undoing = True
            self.marking += 1
            worker = self._mark_in_thread(None, False, change.ids, len(change.ids), read=not change.read,
                                          undone=change, of=of)
            self._show_marks(MarksProgress(len(change.ids), not change.read, undoing=True), worker,
                             failed="the mark was not undone")
            return
        change.undo(self.store)
        self._after_undo(change, of=of)

    def _after_undo(self, change: ReadMarks, *, of: int = 0) -> None:
        entry = self.entry
        self.update_counts()
        if change.read and entry is not None and (entry.unread_only or self.hiding_read(entry)):
            self.show_entry(self.entry, keep=True)  # unread again: back in a view that leaves read ones out
        else:
            self.query_one(ArticleList).reload_rows()
        self._say_undone(change, of=of)

    def _say_undone(self, change: Change, *, of: int = 0) -> None:
        """`of`: the articles a mark stopped part-way was started for (it wrote fewer)."""
        left = len(self.undo_log)
        what = change.description
        if isinstance(change, ReadMarks) and len(change.ids) < of:
            what = (f"the mark of {of:,} articles{of_place(change.where)} {'read' if change.read else 'unread'}, "
                    f"stopped after {len(change.ids):,}")
        self.query_one(StatusBar).say(f"Undone: {what}" + (f" ({left:,} more to undo)" if left else ""))
