"""Images in the article view: how they are drawn, and drawing one into lines.

textual-image draws a picture three ways: the Kitty graphics protocol (the picture is sent
to the terminal once and shown by placeholder characters, so it scrolls with the text),
Sixel (pixels written over blank cells), or Unicode half-blocks (two coloured pixels per
cell, which every terminal shows). Which one is decided once, before the reader takes the
terminal: asking the terminal what it supports needs its answer on stdin, which Textual
reads from then on. Inside tmux, which passes neither protocol through as it is, half-blocks.

Drawing decodes the kept file (checked when it was fetched, checked again here), scales
it to the pane and a height limit, and makes the lines the view shows: it runs in a worker
thread, never in `render_line`. Only the library's encoder writes escape sequences (the
Kitty upload, the Sixel data); nothing of the feed is in them but the pixels.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import os
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.segment import Segment

MAX_ROWS = 24  # an image is at most this many lines tall (and never taller than the pane)


def choose_mode(setting: str, environ: Mapping[str, str]) -> str:
    """The drawing the setting asks for; for "auto", what the environment says the
    terminal is ("" when only asking the terminal can tell)."""
    if setting != "auto":
        return setting
    if environ.get("TMUX") or environ.get("TERM", "").startswith(("screen", "tmux")):
        return "blocks"
    if environ.get("KITTY_WINDOW_ID") or environ.get("TERM") == "xterm-kitty" or environ.get("TERM_PROGRAM") == "ghostty":
        return "kitty"
    return ""


@contextlib.contextmanager
def _unprobed() -> Iterator[None]:
    """textual-image asks the terminal what it supports when first imported (two queries,
    each waiting up to 0.1 s for an answer many terminals never send); docbao asks only
    what it needs, so the library is imported while it cannot see a terminal."""
    saved = sys.__stdout__
    sys.__stdout__ = None  # type: ignore[misc]
    try:
        yield
    finally:
        sys.__stdout__ = saved  # type: ignore[misc]


def prepare(setting: str) -> str:
    """Decide how images are drawn ("kitty", "sixel", "blocks" or "off"), asking the
    terminal when the setting is "auto" and nothing else tells; call before the app runs."""
    mode = choose_mode(setting, os.environ)
    if mode == "off":
        return mode
    # the library logs a failed query with its traceback; with no handler Python would print
    # it on the terminal
    logging.getLogger("textual_image").addHandler(logging.NullHandler())
    if mode != "blocks":
        # Kitty and Sixel draw with the library's renderables, imported now, while the
        # terminal is not Textual's; half-blocks are docbao's own and need only the cell
        # size (a module that asks nothing when imported): the renderables and Pillow stay
        # out of the start (about 20 ms)
        with _unprobed():
            import textual_image.renderable  # noqa: F401
    from textual_image._terminal import get_cell_size

    terminal = bool(sys.__stdin__ and sys.__stdin__.isatty() and sys.__stdout__ and sys.__stdout__.isatty())
    if not mode:
        from textual_image.renderable import sixel

        mode = "sixel" if terminal and sixel.query_terminal_support() else "blocks"
    if terminal:
        get_cell_size()  # the cell's pixel size, while the terminal can still be asked
    return mode


def cell_size() -> tuple[int, int]:
    """A character cell's width and height in pixels (10 × 20 when the terminal did not say)."""
    if sys.__stdout__ is None or not sys.__stdout__.isatty():
        return 10, 20
    from textual_image._terminal import get_cell_size

    size = get_cell_size()
    return size.width, size.height


@dataclass(slots=True)
class Drawing:
    """One image drawn for one width: its lines, and for Sixel the data written over them."""

    url: str
    width: int  # the cells the image was fitted to
    lines: list[list[Segment]]
    sixels: list[str] = field(default_factory=list)  # Sixel: each line's pixels, drawn over it
    renderable: Any = field(default=None, repr=False)  # a Kitty image to delete from the terminal
    coloured: bool = False  # every cell has its colours and background (half-blocks)

    def release(self) -> None:
        """Free what the terminal holds of it (Kitty keeps uploaded images until told)."""
        if self.renderable is not None:
            self.renderable.cleanup()
            self.renderable = None


def fitted(width: int, height: int, cells: int, rows: int, cell: tuple[int, int]) -> tuple[int, int]:
    """The cells (columns, lines) an image of `width` × `height` pixels takes when scaled to
    at most `cells` columns and `rows` lines, never enlarged."""
    cell_w, cell_h = cell
    scale = min(1.0, cells * cell_w / width, rows * cell_h / height)
    return max(1, min(cells, math.ceil(width * scale / cell_w))), max(1, min(rows, math.ceil(height * scale / cell_h)))


def draw(path: Path, url: str, mode: str, cells: int, rows: int, console: Console) -> Drawing | str:
    """The image kept at `path` drawn at most `cells` wide and `rows` tall (in a worker
    thread); or why it cannot be.

    The collector is paused meanwhile: a picture is thousands of small objects that all
    live on, and a full collection started by them (in this thread, holding the GIL) walked
    the whole app while the keys waited."""
    pause = gc.isenabled()
    if pause:
        gc.disable()
    try:
        return _draw(path, url, mode, cells, rows, console)
    finally:
        if pause:
            gc.enable()


def _draw(path: Path, url: str, mode: str, cells: int, rows: int, console: Console) -> Drawing | str:
    from PIL import Image

    from tui.feeds.images import MAX_PIXELS, sniff

    cell = cell_size()
    try:
        data = path.read_bytes()
        kind = sniff(data)
        if not kind:
            return "the kept image is damaged"
        import io

        with Image.open(io.BytesIO(data), formats=[kind]) as image:
            if image.width * image.height > MAX_PIXELS:
                return "too many pixels"
            columns, lines = fitted(image.width, image.height, cells, rows, cell)
            image.draft("RGB", (columns * cell[0], lines * cell[1]))
            picture = image.convert("RGBA" if mode != "blocks" else "RGB")
            picture.thumbnail((columns * cell[0], lines * cell[1]))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        return f"the kept image cannot be read ({type(exc).__name__})"
    if mode == "blocks":
        return Drawing(url, cells, half_blocks(picture.resize((columns, lines * 2))), coloured=True)
    if mode == "sixel":
        from textual_image._sixel import image_to_sixels

        scaled = picture.resize((columns * cell[0], lines * cell[1]))
        # one Sixel image per line of cells, so that a picture scrolled partly out of the
        # pane still shows the lines that are in it
        sixels = [image_to_sixels(scaled.crop((0, row * cell[1], scaled.width, (row + 1) * cell[1])))
                  for row in range(lines)]
        return Drawing(url, cells, [[Segment(" " * columns)] for _ in range(lines)], sixels)
    from textual_image.renderable.tgp import Image as Renderable

    renderable = Renderable(picture, columns, lines)
    options = console.options.update(width=columns, height=lines, no_wrap=True)
    drawn = console.render_lines(renderable, options, pad=False, new_lines=False)
    return Drawing(url, cells, [list(line) for line in drawn[:lines]], renderable=renderable)


def half_blocks(picture: Any, pause: float = 0.0005) -> list[list[Segment]]:
    """An RGB picture two pixels tall per line as lines of half-blocks: the upper pixel the
    character's colour, the lower its background (what textual-image draws, made without a
    renderable per cell). Between lines the thread sleeps a moment: it gives the event loop
    the interpreter at once, instead of when the loop has waited out a switch interval."""
    from rich.color import Color, ColorType
    from rich.color_triplet import ColorTriplet
    from rich.style import Style

    data = picture.tobytes()
    stride = picture.width * 3
    colours: dict[bytes, Color] = {}

    def colour(pixel: bytes) -> Color:
        found = colours.get(pixel)
        if found is None:
            triplet = ColorTriplet(*pixel)
            found = colours[pixel] = Color(triplet.hex, ColorType.TRUECOLOR, triplet=triplet)
        return found

    lines: list[list[Segment]] = []
    for top in range(0, len(data) - stride + 1, 2 * stride):
        upper, lower = data[top:top + stride], data[top + stride:top + 2 * stride]
        lines.append([Segment("▀", Style.from_color(colour(upper[x:x + 3]), colour(lower[x:x + 3])))
                      for x in range(0, stride, 3)])
        time.sleep(pause)
    return lines
