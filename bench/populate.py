"""Fill a cache with N feeds x M synthetic articles (a third Vietnamese), straight
through the store, for start-up and view benchmarks.

    python bench/populate.py --feeds 500 --items 200 --out /tmp/docbao-big
writes /tmp/docbao-big/feeds.toml and /tmp/docbao-big/cache/docbao.db.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from tui.model import FetchResult, ParsedArticle, ParsedFeed
from tui.store.cache import Store

VI = ("Lãnh đạo Trung ương làm việc với Ban Thường vụ Tỉnh ủy Thái Nguyên về công tác xây dựng "
      "chỉnh đốn Đảng xây dựng đội ngũ cán bộ chuẩn bị Đại hội Đảng bộ tỉnh phát triển kinh tế xã hội "
      "an ninh quốc phòng đối ngoại người dân thành phố nông thôn mới giáo dục y tế").split()
EN = ("the government announced new measures on climate energy markets technology software release "
      "security update open source community research university health economy election").split()


def sentence(rng: random.Random, words: list[str], n: int) -> str:
    text = " ".join(rng.choice(words) for _ in range(n))
    return text[:1].upper() + text[1:]


def populate(out: Path, feeds: int, items: int, seed: int = 42) -> float:
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    urls = [f"http://127.0.0.1:9/feed/{n}.xml" for n in range(feeds)]
    (out / "feeds.toml").write_text("".join(f'[[feed]]\nurl = "{u}"\n\n' for u in urls), encoding="utf-8")
    store = Store.open(out / "cache")
    ids = store.ensure_feeds(urls)
    now = int(time.time())
    started = time.perf_counter()
    for n, url in enumerate(urls):
        words = VI if n % 3 == 0 else EN
        articles = [
            ParsedArticle(
                guid=f"{n}-{i}", link=f"http://127.0.0.1:9/a/{n}/{i}.html",
                title=sentence(rng, words, rng.randint(6, 14)), author=sentence(rng, words, 2),
                published=now - rng.randint(0, 365 * 86400),
                content="".join(f"<p>{sentence(rng, words, rng.randint(20, 60))}.</p>" for _ in range(rng.randint(2, 8))),
            )
            for i in range(items)
        ]
        title = ("Báo " if n % 3 == 0 else "Feed ") + sentence(rng, words, 2) + f" {n}"
        store.save_fetch(ids[url], FetchResult("ok", url), ParsedFeed(title=title, articles=articles), now=now)
    elapsed = time.perf_counter() - started
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    elapsed = populate(args.out, args.feeds, args.items)
    print(f"{args.feeds * args.items} articles stored in {elapsed:.1f} s -> {args.out}")


if __name__ == "__main__":
    main()
