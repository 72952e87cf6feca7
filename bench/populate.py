"""Fill a cache with N feeds x M synthetic articles (bench/corpus.py: Zipf-distributed
Vietnamese, English and Russian words; a third of the feeds in each), straight through the
store, for start-up, view and search benchmarks.

    python bench/populate.py --feeds 1000 --items 100 --out DIR
writes DIR/feeds.toml and DIR/cache/docbao.db, then builds the search index.

The cache grows as a reader's does: in --rounds rounds, each bringing every feed's next
articles (oldest first), so article ids follow publication time as they do after months
of refreshes. One article in ten is marked read and one in a hundred starred.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import feed_url, languages, make_feed  # noqa: E402
from tui.feeds.workers import index_workers  # noqa: E402
from tui.model import FetchResult  # noqa: E402
from tui.store import index  # noqa: E402
from tui.store.cache import Store  # noqa: E402


def populate(out: Path, feeds: int, items: int, rounds: int = 10, seed: int = 42,
             now: int | None = None) -> dict[str, float]:
    """Write the cache; returns seconds spent storing and indexing."""
    rng = random.Random(seed)
    now = int(time.time()) if now is None else now
    langs = languages(rng)
    out.mkdir(parents=True, exist_ok=True)
    urls = [feed_url(n) for n in range(feeds)]
    (out / "feeds.toml").write_text("".join(f'[[feed]]\nurl = "{u}"\n\n' for u in urls), encoding="utf-8")
    store = Store.open(out / "cache")
    ids = store.ensure_feeds(urls)
    started = time.perf_counter()
    rounds = max(1, min(rounds, items))
    for r in range(rounds):
        numbers = range(items * r // rounds, items * (r + 1) // rounds)
        for n in range(feeds):
            url, parsed = make_feed(rng, langs, n, numbers, items, now)
            store.save_fetch(ids[url], FetchResult("ok", url), parsed, now=now)
        print(f"  round {r + 1}/{rounds}: {feeds * numbers.stop} articles", file=sys.stderr, flush=True)
    with store.transaction() as conn:
        conn.execute("UPDATE articles SET read = 1 WHERE id % 10 = 0")
        conn.execute("UPDATE articles SET starred = 1 WHERE id % 100 = 0")
    stored = time.perf_counter() - started
    started = time.perf_counter()
    index.build(store.conn, workers=index_workers)
    indexed = time.perf_counter() - started
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return {"store": stored, "index": indexed}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    took = populate(args.out, args.feeds, args.items, args.rounds)
    print(f"{args.feeds * args.items} articles stored in {took['store']:.1f} s,"
          f" indexed in {took['index']:.1f} s -> {args.out}")


if __name__ == "__main__":
    main()
