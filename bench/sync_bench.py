"""Sync against a real FreshRSS on 127.0.0.1 (../shared/sync-server), as `docbao sync` does it.

    .venv/bin/python bench/sync_bench.py [--feeds 20] [--items 500]

Loads FEEDS × ITEMS synthetic articles (bench/corpus.py: Vietnamese, English, Russian news
text) into a fresh FreshRSS user, then measures: the first sync into an empty cache, a sync
with nothing new, 1,000 marks made in the cache and sent by one sync (with the number of
HTTP requests), and what an account adds to the reader's start (reading the accounts' feeds
from the cache). Prints one line per figure, with the machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from email.utils import formatdate
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from corpus import languages, make_feed  # noqa: E402

from tests.freshrss import FreshRSS  # noqa: E402
from tests.server import LocalServer  # noqa: E402
from tui.config import load_config  # noqa: E402
from tui.feeds.subscriptions import with_accounts  # noqa: E402
from tui.feeds.sync import sync  # noqa: E402
from tui.model import ParsedFeed  # noqa: E402
from tui.store.cache import Store  # noqa: E402


def rss(feed: ParsedFeed) -> bytes:
    items = []
    for article in feed.articles:
        items.append(
            f"<item><title>{escape(article.title)}</title><link>{escape(article.link)}</link>"
            f"<guid>{escape(article.guid)}</guid><pubDate>{formatdate(article.published or 0, usegmt=True)}</pubDate>"
            f"<description>{escape(article.content or article.summary)}</description></item>")
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{escape(feed.title)}</title>'
            f"<link>{escape(feed.link)}</link>{''.join(items)}</channel></rss>").encode()


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--items", type=int, default=500)
    args = parser.parse_args()
    rng = random.Random(7)
    langs = languages(rng)
    now = int(time.time())
    with tempfile.TemporaryDirectory(prefix="docbao-sync-bench-") as scratch, LocalServer() as feeds:
        root = Path(scratch)
        server = FreshRSS(root / "freshrss")
        server.start()
        try:
            user = server.new_user()
            api = user.client()
            started = time.monotonic()
            for number in range(args.feeds):
                _, feed = make_feed(rng, langs, number, range(args.items), args.items, now, 30 * 86400)
                feeds.route(f"/f{number}.xml", body=rss(feed), content_type="application/rss+xml")
                api.subscribe(feeds.url(f"/f{number}.xml"))
            total = len(api.ids("user/-/state/com.google/reading-list"))
            print(f"loaded {total} items in {args.feeds} feeds into FreshRSS in {time.monotonic() - started:.1f} s"
                  f" ({load()})")

            folder = root / "docbao"
            folder.mkdir()
            config_path = folder / "feeds.toml"
            config_path.write_text(
                f'[[account]]\nname = "bench"\nurl = "{user.api_url}"\nuser = "{user.name}"\n'
                f'password_command = ["echo", "{user.api_password}"]\n', encoding="utf-8")
            config = load_config(config_path)
            cache = folder / "cache"

            def timed(label: str) -> None:
                started = time.monotonic()
                [outcome] = asyncio.run(sync(config, cache)).accounts
                elapsed = time.monotonic() - started
                assert outcome.ok, outcome.error
                print(f"{label}: {elapsed:.2f} s, {outcome.requests} requests ({outcome.logins} logins), {outcome.new} new,"
                      f" {outcome.sent} marks sent, {outcome.state_changed} marks received ({load()})")

            timed("first sync")
            timed("sync, nothing new")
            timed("sync, nothing new (again)")

            store = Store.open(cache)
            ids = store.article_ids(limit=1000)
            store.set_read(ids)
            store.close()
            timed(f"sync of {len(ids)} marks")
            read_on_server = len(api.ids("user/-/state/com.google/reading-list", it="user/-/state/com.google/read"))
            print(f"the server has {read_on_server} items read")

            started = time.monotonic()
            for _ in range(20):
                with_accounts(load_config(config_path), cache)
            print(f"reader start-up cost of the account (its feeds read from the cache):"
                  f" {(time.monotonic() - started) / 20 * 1000:.1f} ms ({load()})")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
