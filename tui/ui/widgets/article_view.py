"""The article pane: the rendered article, wrapped to the pane, scrolled by line or page.

The text is wrapped to the pane's width, or to a comfortable measure (`reading_width`)
centred in a wider pane. It is wrapped once per width into lines and drawn with the Line
API, so a long article opens in one pass and the scroll position is a plain line number
that can be remembered and restored exactly.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.ui.widgets.images import MAX_ROWS, Drawing, cell_size, fitted
from tui.ui.widgets.keys import bind

if TYPE_CHECKING:
    from tui.content.render import Rendered

PLACEHOLDER = "Open an article to read it here."
LAST_LINE = 1 << 30  # a line past any article's end: its last page


def code_for_theme(lines: list[list[Segment]], *, dark: bool) -> list[list[Segment]]:
    """Code's fixed greys (the renderer's CODE and CODE_BLOCK: light text on dark grey)
    turned round for a light theme, where they stood out as dark bars on the page."""
    if dark:
        return lines
    from tui.content.render import CODE, CODE_BLOCK

    light = {CODE.bgcolor: Style(color="grey11", bgcolor="grey85"),
             CODE_BLOCK.bgcolor: Style(color="grey11", bgcolor="grey93")}
    return [[Segment(segment.text, segment.style + light[segment.style.bgcolor], segment.control)
             if segment.style is not None and segment.style.bgcolor in light else segment
             for segment in line] for line in lines]


class ArticleView(ScrollView, can_focus=True, inherit_bindings=False):
    DEFAULT_CSS = """
    ArticleView {
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-gutter: stable;
        scrollbar-size-vertical: 1;
        padding: 0 1;
    }
    ArticleView > .article-view--placeholder { color: $text-muted; }
    """
    COMPONENT_CLASSES = {"article-view--placeholder"}
    BINDINGS = [
        bind("down", "line_down"),
        bind("up", "line_up"),
        bind("first", "top"),
        bind("last", "bottom"),
        bind("page_down", "page_down"),
        bind("page_up", "page_up"),
    ]

    @dataclass
    class Scrolled(Message):
        """The reader scrolled the article (to be remembered for next time)."""

        article_id: int
        line: int

    @dataclass
    class LinkClicked(Message):
        """A link (its text, its number or its line in the list of links) was clicked: open
        link `number`."""

        number: int

    @dataclass
    class ImagesWanted(Message):
        """Images of the article came near the screen: draw them `cells` wide, `rows` tall
        at most (see `drawn`)."""

        article_id: int
        urls: list[str]
        cells: int
        rows: int

    def __init__(self, *, reading_width: int = 0, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.reading_width = reading_width  # the widest the text is laid out (0: the pane's width)
        self._strip_shape = (0, 0)  # the left margin and width the kept strips were drawn with
        self.article_id: int | None = None
        self.rendered: Rendered | None = None
        self._lines: list[list[Segment]] = []
        self._strips: dict[int, Strip] = {}  # drawn lines of the current layout
        self._base = Style()
        self._wrapped_at = 0
        self._dark = True  # whether the code was last laid out for a dark theme
        self._pending_line: int | None = 0
        self._expected: int | None = None  # an article being laid out for the view
        self._expected_line = 0  # where it opens: its remembered line, moved by the keys pressed meanwhile
        self.images_on = False  # draw the article's images (else their labels stand alone)
        self._text_lines: list[list[Segment]] = []  # the text laid out; _lines adds the images' lines
        self._text_of: list[int] = []  # for each line shown, the text line it is (or stands before)
        self._placed: list[tuple[int, int, str]] = []  # (first line, lines, url) of each image shown
        self._image_rows: dict[int, tuple[str, int, int]] = {}  # line -> (url, cells, row) of a drawn picture
        self._image_strips: dict[tuple[str, int, int], Strip] = {}  # those lines drawn, by picture and row
        self._drawings: dict[str, Drawing] = {}  # the article's images drawn, by URL
        self._notes: dict[str, str] = {}  # why an image is not drawn, by URL
        self._sizes: dict[str, tuple[int, int]] = {}  # pixel sizes known, to hold the right room
        self._asked: set[tuple[str, int]] = set()  # (url, cells) asked for
        self._frame: tuple[Style, int, int] | None = None  # the pane's style, width and measure while drawing

    @property
    def links(self) -> list[str]:
        """The numbered links of the article shown (none while another is on its way)."""
        return self.rendered.links if self.rendered is not None and self._expected is None else []

    @property
    def text(self) -> str:
        """The article as plain text (what a reader sees, without styles)."""
        return self.rendered.text.plain if self.rendered is not None else ""

    def expect(self, article_id: int, line: int = 0) -> None:
        """An article is being laid out (off the event loop) to be shown here at `line`:
        scrolling keys pressed before it arrives move where it opens, so none is lost."""
        self._expected = article_id
        self._expected_line = line

    def show(self, article_id: int, rendered: Rendered, *, line: int = 0, width: int | None = None) -> None:
        """Show an article laid out for `width` (0: for no width; None: for the current
        width), laid out again if the view is wider or narrower now, scrolled to `line`
        (or where the keys moved it while it was expected)."""
        if article_id == self._expected:
            line = self._expected_line
        self._expected = None
        if article_id != self.article_id:
            self._forget_images()
        self.article_id = article_id
        self.rendered = rendered
        self._wrapped_at = width if width is not None else self.measure
        self._pending_line = line
        self._wrap(force=True)
        self.refresh()

    def measure_for(self, width: int) -> int:
        """The text's width in a pane whose content is `width` cells wide."""
        return min(width, self.reading_width) if self.reading_width > 0 else width

    @property
    def measure(self) -> int:
        """How wide the text is laid out now (what an article is rendered for)."""
        return self.measure_for(self._room.width)

    @property
    def _room(self) -> Size:
        """The text's room: the pane without its border, padding and scrollbar. While the
        pane is hidden (the list in its place) it has no place on screen, and the room is the
        one it had: an article opened then is laid out for it, and shown as soon as the pane
        is (a pane that comes back at another size gets a Resize, and lays it out again)."""
        region = self.scrollable_content_region
        if region:
            return region.size
        return self.outer_size.region.shrink(self.styles.gutter).shrink(self.scrollbar_gutter).size

    @property
    def line(self) -> int:
        return round(self.scroll_y)

    def _wrap(self, *, force: bool = False) -> None:
        """Lay the article out in lines for the current measure (again when it changed)."""
        width = self.measure
        if width <= 0 or (width == self._wrapped_at and not force):
            return
        if self.rendered is None:
            text = Text(PLACEHOLDER, style=Style(color=self.get_component_rich_style("article-view--placeholder").color))
        else:
            if width != self._wrapped_at:
                from tui.content.render import rewrap

                self.rendered = rewrap(self.rendered, width)
            text = self.rendered.text
        self._wrapped_at = width
        console = self.app.console
        options = console.options.update(width=width, height=None, overflow="fold", no_wrap=False)
        self._dark = self.app.current_theme.dark
        self._text_lines = code_for_theme(console.render_lines(text, options, pad=False), dark=self._dark)
        self._place_images()
        if self._pending_line is not None:
            line, self._pending_line = self._pending_line, None
            self.scroll_to(y=min(line, len(self._lines)), animate=False, immediate=True, force=True)
        self._want_images()

    # ------------------------------------------------------------------ images
    def _image_room(self) -> tuple[int, int]:
        """The cells an image may take: the text's measure, and a height limit."""
        return self.measure, max(3, min(MAX_ROWS, self._room.height - 2))

    def _place_images(self) -> None:
        """The lines shown: the text's, with each image's lines (drawn, or a placeholder of
        the room it will take) above its label, the alt text beneath it; pictures whose
        labels share a line are stacked above it in their order, a blank line between."""
        urls = self.rendered.images if self.rendered is not None and self.images_on else []
        if urls:  # (the placeholder is placed before the first frame: the renderer loads after it)
            from tui.content.render import IMAGE_META
        cells, rows = self._image_room()
        lines: list[list[Segment]] = []
        text_of: list[int] = []
        placed: list[tuple[int, int, str]] = []
        image_rows: dict[int, tuple[str, int, int]] = {}
        seen: set[int] = set()
        dim = self.get_component_rich_style("article-view--placeholder")
        for number, line in enumerate(self._text_lines):
            # every picture whose label starts on this line, in order: pictures side by side
            # in a paragraph have their labels on one line (only the first was drawn, and the
            # others were never asked for)
            indexes: list[int] = []
            for segment in line if urls else ():
                style = segment.style
                index = style.meta.get(IMAGE_META) if style is not None and style._meta else None
                if isinstance(index, int) and 0 <= index < len(urls) and index not in seen and index not in indexes:
                    indexes.append(index)
            for index in indexes:
                if index != indexes[0]:  # a blank line between pictures stacked
                    lines.append([])
                    text_of.append(number)
                seen.add(index)
                url = urls[index]
                drawing = self._drawings.get(url)
                if drawing is not None and drawing.width == cells:
                    rows_of = drawing.lines
                    image_rows.update((len(lines) + row, (url, cells, row)) for row in range(len(rows_of)))
                elif url in self._notes:
                    rows_of = [[Segment("✗ " + self._notes[url], dim)]]
                else:
                    size = self._sizes.get(url)
                    height = fitted(*size, cells, rows, cell_size())[1] if size else 1
                    rows_of = [[Segment("◌ image loading…", dim)]] + [[] for _ in range(height - 1)]
                placed.append((len(lines), len(rows_of), url))
                lines.extend(rows_of)
                text_of.extend([number] * len(rows_of))
            lines.append(line)
            text_of.append(number)
        anchor = self._text_of[self.line] if 0 <= self.line < len(self._text_of) else None
        self._lines, self._text_of, self._placed, self._image_rows = lines, text_of, placed, image_rows
        self._strips.clear()
        # drawn again, always: the frame keeps the lines it drew, and the scroll and the
        # height may well be the same (an article of as many lines as the one before it)
        self.refresh()
        self.virtual_size = Size(self.measure, len(lines))
        if anchor is not None and self._pending_line is None and self.line > 0:
            self.scroll_to(y=text_of.index(anchor) if anchor in text_of else self.line,
                           animate=False, immediate=True, force=True)

    def _want_images(self) -> None:
        """Ask for the images within a screen of the visible lines that are not drawn yet."""
        if not self._placed or self.article_id is None or self._expected is not None:
            return
        page = self.scrollable_content_region.height
        if page <= 0:
            # hidden (an article shown from memory before its pane is laid out): which lines
            # are near the screen is not known yet, and the Resize that comes with the pane
            # asks (asked now for a page of 1, the pictures lower down were never asked for)
            return
        cells, rows = self._image_room()
        top, bottom = self.line - page, self.line + 2 * page
        wanted = [url for first, height, url in self._placed
                  if first + height >= top and first <= bottom and url not in self._notes
                  and (url, cells) not in self._asked
                  and (url not in self._drawings or self._drawings[url].width != cells)]
        if wanted:
            self._asked.update((url, cells) for url in wanted)
            self.post_message(self.ImagesWanted(self.article_id, wanted, cells, rows))

    def drawn(self, article_id: int, url: str, drawing: Drawing | None, *, note: str = "",
              size: tuple[int, int] | None = None) -> None:
        """An image of the article arrived: drawn, or why not (`note`), or only its pixel size
        (to hold its room while it is drawn)."""
        if article_id != self.article_id:
            if drawing is not None:
                drawing.release()
            return
        if size is not None:
            self._sizes[url] = size
        if drawing is not None:
            old = self._drawings.get(url)
            if old is not None and old is not drawing:
                old.release()
                self._image_strips = {key: strip for key, strip in self._image_strips.items() if key[0] != url}
            self._drawings[url] = drawing
            self._notes.pop(url, None)
            # A half-block picture is thousands of small objects that live as long as the
            # article: left to the collector, each full collection walked all of them (250 ms
            # pauses with 20 pictures, keys waiting). Frozen, they are out of its way until the
            # article is left.
            gc.freeze()
        elif note:
            self._notes[url] = note
        self._place_images()

    def _forget_images(self) -> None:
        for drawing in self._drawings.values():
            drawing.release()
        if self._drawings:
            gc.unfreeze()
        self._drawings.clear()
        self._image_strips.clear()
        self._notes.clear()
        self._sizes.clear()
        self._asked.clear()

    def on_click(self, event: events.Click) -> None:
        from tui.content.render import LINK_META

        number = event.style.meta.get(LINK_META)
        if isinstance(number, int):
            event.stop()
            self.post_message(self.LinkClicked(number))

    def on_unmount(self) -> None:
        self._forget_images()

    def on_resize(self, event: events.Resize) -> None:
        width = self.measure
        if width <= 0:
            return
        if self._pending_line is not None:  # shown before it had a size: its lines are still to make
            self._wrap(force=True)
            return
        if width != self._wrapped_at:
            place = self.line / max(1, len(self._lines))  # keep the same place in the text
            self._wrap()
            self.scroll_to(y=round(place * len(self._lines)), animate=False, immediate=True, force=True)
        self._want_images()  # shown again, or taller: more lines are near the screen

    def render_lines(self, crop: Region) -> list[Strip]:
        # what every line needs, looked up once for the frame: each look walks up the DOM,
        # and a page of picture lines spent a fifth of its time there
        self._frame = (self.rich_style, self.scrollable_content_region.width, self.measure)
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        base, width, measure = self._frame or (self.rich_style, self.scrollable_content_region.width, self.measure)
        if index >= len(self._lines):
            return Strip.blank(width, base)
        margin = max(0, width - measure) // 2  # the measure centred in a wider pane
        if (margin, width) != self._strip_shape:
            self._strip_shape = (margin, width)
            self._strips.clear()
            self._image_strips.clear()
        strip = self._strips.get(index)
        if strip is None:
            # a picture's lines are kept by picture, not by place: they stay drawn (and their
            # thousands of colours encoded once) while other pictures arrive and move them
            picture = self._image_rows.get(index)
            strip = self._image_strips.get(picture) if picture is not None else None
            if strip is None:
                segments = self._lines[index]
                drawing = self._drawings.get(picture[0]) if picture is not None else None
                if drawing is not None and drawing.coloured:
                    # every cell of a half-block picture has its own colours: the pane's style
                    # goes only around it (a thousand styles added up on the event loop)
                    strip = Strip([Segment(" " * margin, base), *segments] if margin else segments)
                    strip = strip.adjust_cell_length(width, base)
                else:
                    if margin:
                        segments = [Segment(" " * margin), *segments]
                    strip = Strip(segments).apply_style(base).adjust_cell_length(width, base)
                if picture is not None:
                    self._image_strips[picture] = strip
            self._strips[index] = strip
        sixel = self._sixel_at(index, y, margin)
        return strip if sixel is None else Strip([*strip, *sixel], strip.cell_length)

    def _sixel_at(self, index: int, y: int, margin: int) -> list[Segment] | None:
        """On a line of a Sixel picture: that line's pixels, written over its blank cells
        from their left, the cursor put back at the line's end for what follows it."""
        from rich.control import Control
        from rich.segment import ControlType

        picture = self._image_rows.get(index)
        drawing = self._drawings.get(picture[0]) if picture is not None else None
        if picture is None or drawing is None or not drawing.sixels:
            return None
        region = self.content_region
        keep = ((ControlType.CURSOR_FORWARD, 0),)
        return [Segment(Control.move_to(region.x + margin, region.y + y).segment.text, None, keep),
                Segment(drawing.sixels[picture[2]], None, keep),
                Segment(Control.move_to(region.right, region.y + y).segment.text, None, keep)]

    def notify_style_update(self) -> None:
        """Drawn lines are kept across focus changes; a new background draws them again,
        and a theme light where the last was dark (or back) lays the code out again."""
        super().notify_style_update()
        if self.is_mounted and self.rich_style != self._base:
            self._base = self.rich_style
            self._strips.clear()
            self._image_strips.clear()
            if self._wrapped_at and self.app.current_theme.dark != self._dark:
                self._wrap(force=True)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self.article_id is not None and round(old_value) != round(new_value):
            self.post_message(self.Scrolled(self.article_id, round(new_value)))
            self._want_images()

    def _move(self, lines: int) -> None:
        if self._expected is not None:  # the article on its way opens there
            self._expected_line = max(0, self._expected_line + lines)
        else:
            self.scroll_to(y=self.scroll_y + lines, animate=False, immediate=True)

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def action_line_down(self) -> None:
        self._move(1)

    def action_line_up(self) -> None:
        self._move(-1)

    def action_top(self) -> None:
        if self._expected is not None:
            self._expected_line = 0
        else:
            self.scroll_to(y=0, animate=False, immediate=True)

    def action_bottom(self) -> None:
        if self._expected is not None:
            self._expected_line = LAST_LINE
        else:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)

    def action_page_down(self) -> None:
        self._move(self._page())

    def action_page_up(self) -> None:
        self._move(-self._page())
