"""A list that renders only the lines in view (Textual's Line API), with a cursor.

Building a list the ordinary way costs a widget or a row object per item (10,000 rows in a
DataTable take over a second); this one costs nothing per item: a subclass says how many
lines there are and how to draw line `i`, and only the lines on screen are ever drawn.
"""

from __future__ import annotations

import textwrap

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.content.cells import fit
from tui.ui.widgets.keys import bind


class VirtualList(ScrollView, can_focus=True, inherit_bindings=False):
    """A cursor over `line_count` lines; subclasses draw a line with `render_row`."""

    DEFAULT_CSS = """
    VirtualList {
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
    }
    VirtualList > .virtual-list--cursor {
        background: $block-cursor-blurred-background;
        color: $block-cursor-blurred-foreground;
        text-style: $block-cursor-blurred-text-style;
    }
    VirtualList > .virtual-list--empty {
        color: $text-muted;
    }
    VirtualList:focus > .virtual-list--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    """
    COMPONENT_CLASSES = {"virtual-list--cursor", "virtual-list--empty"}
    EMPTY = ""  # shown on the first line when there are no lines
    BINDINGS = [
        bind("down", "cursor_down"),
        bind("up", "cursor_up"),
        bind("first", "cursor_first"),
        bind("last", "cursor_last"),
        bind("page_down", "cursor_page_down"),
        bind("page_up", "cursor_page_up"),
        bind("open", "open"),
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.cursor = 0
        self._clicked: int | None = None  # the line clicked last, while the cursor stays on it
        self._strips: dict[object, Strip] = {}  # drawn lines, by what they show
        self.empty = self.EMPTY
        self._parts: dict[tuple[str, bool], Style] = {}
        self._signature: tuple[Style, ...] = ()

    # ----------------------------------------------------------------- for subclasses
    @property
    def line_count(self) -> int:
        raise NotImplementedError

    def render_row(self, index: int, width: int, base: Style, selected: bool) -> list[Segment]:
        """The segments of line `index`; `base` is the line's background style."""
        raise NotImplementedError

    def row_key(self, index: int) -> object:
        """Everything line `index` shows; a drawn line is reused while its key is the same.
        None: draw it every time."""
        return None

    def cursor_moved(self, index: int) -> None:
        """The cursor moved to another line (by key, mouse or program): post a message."""

    def opened(self, index: int) -> None:
        """The user asked to open line `index` (enter, l or a click): post a message."""

    # ------------------------------------------------------------------- rendering
    def part(self, component: str, selected: bool) -> Style:
        """The style a component class adds to a line: its text colour (blended, so
        `$text-muted` works) and attributes; on the cursor line only the attributes, so
        the cursor's colours stay readable."""
        key = (component, selected)
        style = self._parts.get(key)
        if style is None:
            attributes = self.get_component_rich_style(component, partial=True).without_color
            colour = self.get_component_rich_style(component).color
            style = attributes if selected or colour is None else Style(color=colour) + attributes
            self._parts[key] = style
        return style

    def lines_changed(self) -> None:
        """Call after the lines changed: resizes the scroll area and clamps the cursor."""
        self.virtual_size = Size(self.scrollable_content_region.width, self.line_count)
        self.cursor = max(0, min(self.cursor, self.line_count - 1))
        self.refresh()

    def notify_style_update(self) -> None:
        """Styles change on every focus change (the cursor's colours); drawn lines are kept
        unless the colours they use changed (a theme change), so moving between panes
        redraws only the cursor line."""
        super().notify_style_update()
        self._parts.clear()
        if self.is_mounted:
            signature = (self.rich_style, *(self.get_component_rich_style(name) for name in
                                            sorted(self.COMPONENT_CLASSES - {"virtual-list--cursor"})))
            if signature != self._signature:
                self._signature = signature
                self._strips.clear()

    def set_empty(self, text: str) -> None:
        """What the first line says while there are no lines (plain text)."""
        if text != self.empty:
            self.empty = text
            self.refresh()

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        if index >= self.line_count:
            if self.line_count == 0 and self.empty:  # the empty text, wrapped to the width
                wrapped = textwrap.wrap(self.empty, max(10, width - 2))
                if index < len(wrapped):
                    return Strip([Segment(fit(" " + wrapped[index], width),
                                          base + self.part("virtual-list--empty", False))])
            return Strip.blank(width, base)
        selected = index == self.cursor
        if selected:
            base = base + self.get_component_rich_style("virtual-list--cursor")
        row_key = self.row_key(index)
        key = (row_key, width, base if selected else None) if row_key is not None else None
        if key is not None and (strip := self._strips.get(key)) is not None:
            return strip
        strip = Strip(self.render_row(index, width, base, selected)).adjust_cell_length(width, base)
        if key is not None:
            if len(self._strips) > 1000:
                self._strips.clear()
            self._strips[key] = strip
        return strip

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, self.line_count)
        self.scroll_to_cursor()

    # ---------------------------------------------------------------------- cursor
    def move_cursor(self, index: int, *, announce: bool = True, center: bool = False) -> None:
        """Put the cursor on line `index` (clamped) and scroll it into view."""
        index = max(0, min(index, self.line_count - 1))
        old, self.cursor = self.cursor, index
        self._clicked = None
        if old != index:
            self.refresh_line(old)
            self.refresh_line(index)
        self.scroll_to_cursor(center=center)
        if announce and old != index:
            self.cursor_moved(index)

    def scroll_to_cursor(self, *, center: bool = False) -> None:
        height = self.scrollable_content_region.height
        if height <= 0:
            return
        top = round(self.scroll_y)
        if center:
            top = self.cursor - height // 2
        elif self.cursor < top:
            top = self.cursor
        elif self.cursor >= top + height:
            top = self.cursor - height + 1
        top = max(0, min(top, self.line_count - height))
        if top != round(self.scroll_y):
            # forced: lines just set have no scrollbar until the next layout, and an unforced
            # scroll is refused until then (a view read at the start stayed at its top)
            self.scroll_to(y=top, animate=False, immediate=True, force=True)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor - 1)

    def action_cursor_first(self) -> None:
        self.move_cursor(0)

    def action_cursor_last(self) -> None:
        self.move_cursor(self.line_count - 1)

    def action_cursor_page_down(self) -> None:
        height = max(1, self.scrollable_content_region.height)
        self.scroll_to(y=self.scroll_y + height, animate=False, immediate=True)
        self.move_cursor(self.cursor + height)

    def action_cursor_page_up(self) -> None:
        height = max(1, self.scrollable_content_region.height)
        self.scroll_to(y=max(0, self.scroll_y - height), animate=False, immediate=True)
        self.move_cursor(self.cursor - height)

    def action_open(self) -> None:
        if self.line_count:
            self.opened(self.cursor)

    def on_click(self, event: events.Click) -> None:
        """A click selects a line; a second click on it (or a double click) opens it."""
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = self.scroll_offset.y + offset.y
        if 0 <= index < self.line_count:
            again = self._clicked == index == self.cursor or event.chain > 1
            self.move_cursor(index)
            self._clicked = index
            if again:
                self.opened(index)
