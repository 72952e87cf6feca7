"""Reader mode's network half: fetch article pages, extract them, keep the result.

The page fetch follows the refresh's HTTP rules (tui.feeds.fetch); extraction is CPU-bound, so a
batch runs it in worker processes (both cores), a single article in a thread. Failures are
recorded per article with a growing wait before the next try; the feed's own text is never
touched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui.config import Config
from tui.content.extract import Extract, extract_article
from tui.feeds.workers import CacheThread, worker_pool
from tui.model import FeedError
from tui.store.cache import Store

PAGES_IN_PROCESSES_FROM = 8  # below this many pages, threads are cheaper than starting processes


@dataclass(slots=True)
class PageOutcome:
    article_id: int
    ok: bool
    error: str = ""


StoreCall = Callable[..., "asyncio.Future[Any]"]  # a CacheThread


def _extract(data: bytes, url: str, content_type: str) -> Extract | str:
    """Runs in a worker: an Extract, or the message of why there is none."""
    try:
        return extract_article(data, url=url, content_type=content_type)
    except FeedError as exc:
        return str(exc)
    except Exception as exc:  # an extractor bug stays this article's error
        return f"could not extract the article ({type(exc).__name__})"


def extraction_pool(pages: int) -> Executor:
    return worker_pool(pages, processes_from=PAGES_IN_PROCESSES_FROM, threads=2, name="extract")


async def fetch_pages(candidates: Sequence[tuple[int, str]], *, client: Any, in_db: StoreCall, store: Store,
                      config: Config, pool: Executor,
                      progress: Callable[[PageOutcome, int, int], None] | None = None) -> list[PageOutcome]:
    """Fetch and extract every (article id, link), `full_text_concurrency` at a time."""
    from tui.feeds.fetch import PAGE_ACCEPT, fetch

    settings = config.settings
    limit = asyncio.Semaphore(settings.full_text_concurrency)
    loop = asyncio.get_running_loop()
    outcomes: list[PageOutcome] = []

    async def one(article_id: int, link: str) -> None:
        async with limit:
            result = await fetch(client, link, deadline=settings.timeout,
                                 max_bytes=int(settings.max_feed_mb * 1024 * 1024), accept=PAGE_ACCEPT)
            if result.status == "ok" and result.body is not None:
                extract = await loop.run_in_executor(pool, _extract, result.body,
                                                     result.final_url or link, result.content_type)
            else:
                extract = result.error or f"the page could not be fetched ({result.status})"
        if isinstance(extract, Extract):
            await in_db(lambda: store.save_extract(article_id, extract.html, extract.text,
                                                   author=extract.author, published=extract.published))
            outcome = PageOutcome(article_id, True)
        else:
            await in_db(store.save_extract_error, article_id, extract)
            outcome = PageOutcome(article_id, False, extract)
        outcomes.append(outcome)
        if progress is not None:
            progress(outcome, len(outcomes), len(candidates))

    await asyncio.gather(*(one(article_id, link) for article_id, link in candidates))
    return outcomes


async def fetch_one(config: Config, cache_dir: Path, article_id: int) -> PageOutcome:
    """Reader mode for one article now (the `t` key, `docbao read --full`): fetch, extract,
    store. A failure is recorded and returned; it never raises."""
    from tui.feeds.fetch import make_client

    in_db = CacheThread()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="docbao-extract")

    store: Store = await in_db(Store.open, cache_dir)
    try:
        article = await in_db(store.article, article_id)
        if article is None:
            return PageOutcome(article_id, False, f"no article has the id {article_id}")
        if not article.link.startswith(("http://", "https://")):
            return PageOutcome(article_id, False, "this article has no web page to fetch")
        async with make_client(1, config.settings.user_agent) as client:
            (outcome,) = await fetch_pages([(article_id, article.link)], client=client, in_db=in_db,
                                           store=store, config=config, pool=pool)
        return outcome
    finally:
        await in_db(store.close)
        in_db.shutdown()
        pool.shutdown(wait=False)
