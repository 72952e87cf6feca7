"""The articles pane: a virtual list over the ids of a view, any length.

It holds only the ids (100,000 ints are a few MB) and asks the store for the rows of the
lines in view, keeping a window of them; nothing is built per article.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.message import Message

from tui.content.cells import fit
from tui.content.sanitize import clean_line
from tui.store.cache import ArticleRow
from tui.ui.views import near
from tui.ui.widgets.text import untitled
from tui.ui.widgets.virtual_list import VirtualList

WINDOW_LIMIT = 4000  # rows kept before the window is dropped and fetched again


def format_date(epoch: int | None, *, short: bool = False, date_format: str = "", width: int = 0) -> str:
    """A list date in local time, fixed width so the columns line up: "2020-05-23", or
    where room is short "May 23" this year and "2015-11" for an older article (never a
    date that reads as this year's when it is not); or in the user's `date_format`,
    padded to `width`."""
    if date_format:
        text = clean_line(time.strftime(date_format, time.localtime(epoch))) if epoch else ""
        return set_cell_size(text, width)
    width = 7 if short else 10
    if not epoch:
        return " " * width
    when = time.localtime(epoch)
    if not short:
        return time.strftime("%Y-%m-%d", when)
    return time.strftime("%b %d" if when.tm_year == time.localtime().tm_year else "%Y-%m", when).ljust(width)


SHORT_DATES_BELOW = 70  # cells of list width under which dates lose their year


def date_width(date_format: str) -> int:
    """The widest a date in `date_format` gets (months and weekdays differ in length)."""
    widest = 0
    for month in range(1, 13):
        for day in range(1, 8):  # every weekday
            when = time.localtime(time.mktime((2024, month, day + 20, 9 + 12 * (day % 2), 30, 0, 0, 0, -1)))
            widest = max(widest, cell_len(clean_line(time.strftime(date_format, when))))
    return widest


class ArticleList(VirtualList):
    """Date, feed (in views over several feeds) and title; unread lines stand out."""

    DEFAULT_CSS = """
    ArticleList > .article-list--unread { text-style: bold; }
    ArticleList > .article-list--read { color: $text-muted; }
    ArticleList > .article-list--marker { color: $text-accent; text-style: bold; }
    ArticleList > .article-list--star { color: $text-warning; }
    ArticleList > .article-list--date { color: $text-muted; }
    ArticleList > .article-list--feed { color: $text-secondary; }
    ArticleList > .article-list--untitled { text-style: italic; color: $text-muted; }
    """
    EMPTY = "No articles here."
    COMPONENT_CLASSES = VirtualList.COMPONENT_CLASSES | {
        "article-list--unread", "article-list--read", "article-list--marker", "article-list--star",
        "article-list--date", "article-list--feed", "article-list--untitled",
    }

    @dataclass
    class Highlighted(Message):
        article_id: int

    @dataclass
    class Opened(Message):
        article_id: int

    def __init__(self, rows: Callable[[Sequence[int]], list[ArticleRow]],
                 leads: Callable[[Sequence[int]], dict[int, str]], *, date_format: str = "",
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.date_format = date_format  # [settings] date_format; "": ISO dates, shorter where narrow
        self.date_width = date_width(date_format) if date_format else 0
        self._fetch_rows = rows
        self._fetch_leads = leads
        self._untitled: set[int] = set()  # rows whose title is the start of their text
        self.ids: Sequence[int] = []  # the view's ids in display order (an array when long)
        self.feed_names: dict[int, str] = {}
        self.show_feed = False
        self._window: dict[int, ArticleRow] = {}

    def use_source(self, rows: Callable[[Sequence[int]], list[ArticleRow]],
                   leads: Callable[[Sequence[int]], dict[int, str]]) -> None:
        """Read rows from another cache from now on (the screen moved to a new one)."""
        self._fetch_rows = rows
        self._fetch_leads = leads
        self._window.clear()

    @property
    def line_count(self) -> int:
        return len(self.ids)

    @property
    def current_id(self) -> int | None:
        return self.ids[self.cursor] if self.ids else None

    def row(self, index: int) -> ArticleRow | None:
        """The row of line `index`, fetching the rows around it when they are not at hand."""
        article_id = self.ids[index]
        found = self._window.get(article_id)
        if found is None:
            self._fetch_around(index)
            found = self._window.get(article_id)
        return found

    def _fetch_around(self, index: int) -> None:
        if len(self._window) > WINDOW_LIMIT:
            self._window.clear()
        height = max(self.scrollable_content_region.height, 20)
        start = max(0, min(index, round(self.scroll_y)) - height)
        wanted = [i for i in self.ids[start:start + 3 * height + (index - start)] if i not in self._window]
        rows = self._fetch_rows(wanted)
        missing = [row.id for row in rows if not clean_line(row.title)]
        leads = self._fetch_leads(missing) if missing else {}
        for row in rows:
            title = clean_line(row.title)
            if not title:
                title = untitled(leads.get(row.id)) or "(no title, no text)"
                self._untitled.add(row.id)
            row.title = title
            self._window[row.id] = row

    def show(self, ids: Sequence[int], *, show_feed: bool, index: int = 0, offset: int | None = None,
             center: bool = False) -> None:
        """Show a view's ids (a list, or an array for a long view) with the cursor on line
        `index`; `offset`: the cursor's line on screen, kept when the same view is read
        again; `center`: the cursor line in the middle (an article picked in a new view)."""
        self.ids = ids
        self.show_feed = show_feed
        self._window.clear()
        self.cursor = max(0, min(index, len(ids) - 1))
        self.lines_changed()
        if offset is not None:
            self.scroll_to(y=max(0, self.cursor - offset), animate=False, immediate=True, force=True)
        self.scroll_to_cursor(center=center)

    def reload_rows(self) -> None:
        """Rows changed in the store (marks, a refresh): draw them again from the store."""
        self._window.clear()
        self.refresh()

    def update_row(self, article_id: int, *, read: bool | None = None, starred: bool | None = None) -> None:
        row = self._window.get(article_id)
        if row is not None:
            if read is not None:
                row.read = read
            if starred is not None:
                row.starred = starred
        index = near(self.ids, article_id, self.cursor) if self.current_id != article_id else self.cursor
        if index is not None:
            self.refresh_line(index)

    def row_key(self, index: int) -> object:
        row = self.row(index)
        if row is None:
            return None
        return (row.id, row.read, row.starred, row.title, row.sort_time,
                self.show_feed and self.feed_names.get(row.feed_id))

    def cursor_moved(self, index: int) -> None:
        self.post_message(self.Highlighted(self.ids[index]))

    def opened(self, index: int) -> None:
        self.post_message(self.Opened(self.ids[index]))

    def render_row(self, index: int, width: int, base: Style, selected: bool) -> list[Segment]:
        row = self.row(index)
        if row is None:  # deleted since the ids were read
            return [Segment(fit("  (gone)", width), base + self.part("article-list--read", selected))]
        text_style = base + self.part("article-list--read" if row.read else "article-list--unread", selected)
        date = format_date(row.sort_time, short=width < SHORT_DATES_BELOW, date_format=self.date_format,
                           width=self.date_width)
        segments = [
            Segment(" ", base),
            Segment("●" if not row.read else " ", base + self.part("article-list--marker", selected)),
            Segment("★" if row.starred else " ", base + self.part("article-list--star", selected)),
            # an article without a date of its own is listed at when it was first seen: "~"
            Segment(f"{' ' if row.published else '~'}{date}  ", base + self.part("article-list--date", selected)),
        ]
        room = width - sum(cell_len(s.text) for s in segments)
        if self.show_feed and room >= 22:
            feed_width = max(7, min(18, room // 3))
            name = self.feed_names.get(row.feed_id, "")
            segments.append(Segment(fit(name, feed_width) + "  ", base + self.part("article-list--feed", selected)))
            room -= feed_width + 2
        if row.id in self._untitled:
            text_style = text_style + self.part("article-list--untitled", selected)
        segments.append(Segment(fit(row.title, room), text_style))
        return segments

