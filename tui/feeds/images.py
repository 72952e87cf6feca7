"""Images of articles: fetched with the refresh's HTTP rules, checked, kept for offline reading.

An image is hostile like the rest of a feed. It is fetched by `fetch` (one deadline, the
body capped at `max_feed_mb`, http(s) only, redirects capped and checked), and an image of
a public feed may not point at a private address. What came back is sniffed from its first
bytes, never trusted from Content-Type: only PNG, JPEG, GIF and WebP are drawn (an SVG is a
document, not a picture). Pillow reads the header first and an image of more than
MAX_PIXELS pixels is refused before anything is decompressed, so a small file claiming to be
20,000 × 20,000 pixels (a decompression bomb) costs nothing. A big picture is kept scaled
down to MAX_SIDE pixels, so showing it later decodes little.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tui.config import Config
from tui.store.cache import Store

StoreCall = Callable[..., "asyncio.Future[Any]"]  # a CacheThread

MAX_PIXELS = 40_000_000  # a 8,000 × 5,000 photograph; beyond this an image is refused unread
MAX_SIDE = 1600  # pixels: a kept image is scaled down to this, more than a terminal pane shows
IMAGE_ACCEPT = "image/png, image/jpeg, image/gif, image/webp;q=0.9, */*;q=0.1"
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
)


@dataclass(frozen=True, slots=True)
class Picture:
    """A checked image, ready to keep: its bytes (as fetched, or scaled down) and size."""

    data: bytes
    width: int
    height: int


def sniff(data: bytes) -> str:
    """The raster format of `data` by its first bytes ("PNG", "JPEG", "GIF", "WEBP"), or ""."""
    for signature, name in _SIGNATURES:
        if data.startswith(signature):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return ""


def _looks_like_svg(data: bytes) -> bool:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<svg", b"<?xml")) and b"<svg" in data[:4096].lower()


def check_image(data: bytes, content_type: str = "") -> Picture | str:
    """The picture in `data`, or why it is refused (a message to show as it is)."""
    from PIL import Image, UnidentifiedImageError

    kind = sniff(data)
    if not kind:
        if _looks_like_svg(data):
            return "SVG images are not drawn (only PNG, JPEG, GIF and WebP)"
        said = content_type.split(";")[0].strip()
        return f"not an image the reader draws (the server said {said})" if said else "not an image the reader draws"
    try:
        with Image.open(io.BytesIO(data), formats=[kind]) as image:
            width, height = image.size
            if width <= 0 or height <= 0:
                return "an image without pixels"
            if width * height > MAX_PIXELS:
                return f"too many pixels ({width} × {height}; at most {MAX_PIXELS // 1_000_000} million)"
            if max(width, height) <= MAX_SIDE:
                image.load()  # a truncated or corrupt file fails here, not when it is shown
                return Picture(data, width, height)
            image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at a fraction of the size
            image.thumbnail((MAX_SIDE, MAX_SIDE))
            alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            smaller = image.convert("RGBA" if alpha else "RGB")
            out = io.BytesIO()
            smaller.save(out, format="PNG" if alpha else "JPEG", quality=88)
            return Picture(out.getvalue(), smaller.width, smaller.height)
    except Image.DecompressionBombError:
        return f"too many pixels (at most {MAX_PIXELS // 1_000_000} million)"
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        return f"a damaged {kind} image ({str(exc)[:80] or type(exc).__name__})"


def _check_body(body: bytes, encoding: str, max_bytes: int, content_type: str) -> Picture | Refusal:
    """The picture in a body as it came off the wire (in a thread): its Content-Encoding is
    undone here, not on the event loop (a server that gzips a 2 MB photo had the loop
    inflating it while keys waited)."""
    from tui.feeds.inflate import BodyError, decode

    try:
        data = decode(body, encoding, max_bytes)
    except BodyError as exc:
        return Refusal(str(exc), "larger than" in str(exc))
    checked = check_image(data, content_type)
    return Refusal(checked, True) if isinstance(checked, str) else checked


def _is_http(url: str) -> bool:
    return urlsplit(url).scheme.lower() in ("http", "https")


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an image is not shown. A `lasting` one is the image's own fault (kept as its
    error, never fetched again); else the fetch failed and a later look tries again."""

    message: str
    lasting: bool


Keep = Callable[[str, "Picture | Refusal"], Awaitable[None]]


async def fetch_images(wanted: Sequence[tuple[str, str]], *, client: object, config: Config, keep: Keep,
                       limit: asyncio.Semaphore | None = None) -> None:
    """Fetch every (image URL, feed URL) and hand each outcome to `keep`: a Picture, or
    the message of why there is none. At most `limit` at a time (full_text_concurrency by
    default; the reader shares one between its batches). Never raises (but for cancellation)."""
    from tui.feeds.fetch import fetch, host_is_private

    settings = config.settings
    limit = limit or asyncio.Semaphore(settings.full_text_concurrency)

    async def checked(url: str, origin: str) -> Picture | Refusal:
        if not _is_http(url):
            return Refusal("only http(s) images are fetched", True)
        if (_is_http(origin) and not await host_is_private(urlsplit(origin).hostname or "")
                and await host_is_private(urlsplit(url).hostname or "")):
            return Refusal("an image of a public feed on a private network address refused", True)
        max_bytes = int(settings.max_feed_mb * 1024 * 1024)
        result = await fetch(client, url, deadline=settings.timeout,  # type: ignore[arg-type]
                             max_bytes=max_bytes, accept=IMAGE_ACCEPT, decode=False)
        if result.status == "ok" and result.body is not None:
            return await asyncio.to_thread(_check_body, result.body, result.content_encoding, max_bytes,
                                           result.content_type)
        return Refusal(result.error or f"the image could not be fetched ({result.status})", "larger than" in result.error)

    async def one(url: str, origin: str) -> None:
        async with limit:
            # one deadline for all of it: the address checks look the names up, and a resolver
            # that never answers (no network) held the picture "loading", and its place in
            # `limit` with it, for minutes
            try:
                async with asyncio.timeout(settings.timeout):
                    outcome = await checked(url, origin)
            except TimeoutError:
                outcome = Refusal(f"timed out after {settings.timeout:g} s", False)
        await keep(url, outcome)

    await asyncio.gather(*(one(url, origin) for url, origin in wanted))


def article_images(store: Store, article_id: int) -> list[str]:
    """The http(s) images an article shows: its feed text's, its full article's, and its
    lead image (what the reader may draw)."""
    from tui.content.render import lead_picture, render_html

    article = store.article(article_id)
    if article is None:
        return []
    extract = store.extract(article_id)
    urls: list[str] = []
    for html in (article.content or article.summary, extract.html if extract else ""):
        urls.extend(u for u in render_html(html, base_url=article.link).images if u not in urls)
    lead = lead_picture(article.image, article.enclosures)
    if lead.startswith(("http://", "https://")) and lead not in urls:
        urls.append(lead)
    return urls


async def prefetch_images(article_ids: Sequence[int], *, store: Store, in_db: StoreCall, client: object,
                          config: Config) -> int:
    """Fetch and keep the images of these articles (the ones a `full_text` prefetch kept),
    so they show offline; how many were kept."""
    limit = int(config.settings.image_cache_mb * 1024 * 1024)
    kept = 0

    def link() -> list[tuple[str, str]]:
        for article_id in article_ids:
            store.link_images(article_id, article_images(store, article_id))
        return store.images_to_fetch(article_ids)

    async def keep(url: str, outcome: Picture | Refusal) -> None:
        nonlocal kept
        if isinstance(outcome, Picture):
            await in_db(lambda: store.save_image(url, outcome.data, outcome.width, outcome.height, limit_bytes=limit))
            kept += 1
        elif outcome.lasting:
            await in_db(store.save_image_error, url, outcome.message)

    wanted = await in_db(link)
    await fetch_images(wanted, client=client, config=config, keep=keep)
    return kept
