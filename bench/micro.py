"""docbao's own micro-benchmarks: parse, store, start-up and view queries.

    make bench            (or: python bench/micro.py [--quick])

Prints a markdown table; bench/RESULTS.md keeps the figures. Parsing is compared with
feedparser on the same bytes in the same process, so the ratio holds across machines.
The parse section needs the shared benchmark's corpus generator (../shared/bench) and
is skipped without it.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from populate import populate  # noqa: E402

from tui.model import FetchResult, ParsedArticle, ParsedFeed  # noqa: E402
from tui.store.cache import Store  # noqa: E402

GEN = ROOT.parent / "shared" / "bench" / "gen_corpus.py"
PAGES = ROOT.parent / "shared" / "corpus" / "html-articles"


def timed(fn, repeat: int = 5) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times)


def row(name: str, result: tuple[float, float, float], note: str = "") -> str:
    median, low, high = result
    return f"| {name} | {median * 1000:.1f} | {low * 1000:.1f}–{high * 1000:.1f} | {note} |"


def bench_parse(work: Path, feeds: int, items: int) -> list[str]:
    if not GEN.exists():
        return [f"| parse | – | – | skipped: {GEN.parent} not found |"]
    corpus = work / "corpus"
    subprocess.run([sys.executable, str(GEN), "--feeds", str(feeds), "--items", str(items), "--seed", "42",
                    "--out", str(corpus)], check=True, stdout=subprocess.DEVNULL)
    files = sorted(p for p in corpus.rglob("*") if p.suffix in (".xml", ".rss", ".atom", ".rdf"))
    blobs = [p.read_bytes() for p in files]
    from tui.feeds.parse import parse_feed
    import feedparser

    entries = sum(len(parse_feed(b).articles) for b in blobs)
    ours = timed(lambda: [parse_feed(b) for b in blobs], 3)
    theirs = timed(lambda: [feedparser.parse(b) for b in blobs], 1)
    size = sum(map(len, blobs)) / 1e6
    return [
        row(f"parse {len(blobs)} feeds, {entries} entries ({size:.0f} MB), docbao (sanitized)", ours,
            f"{entries / ours[0]:,.0f} entries/s"),
        row("parse the same with feedparser 6 defaults", theirs,
            f"docbao is {theirs[0] / ours[0]:.0f}x faster"),
    ]


def bench_store(work: Path) -> list[str]:
    articles = [[ParsedArticle(guid=f"{f}-{i}", title=f"Tin số {i} của báo {f}", link=f"https://x/{f}/{i}",
                               published=1_700_000_000 + i, content="<p>" + "nội dung " * 150 + "</p>")
                 for i in range(50)] for f in range(500)]
    counter = iter(range(1000))

    def store_all() -> None:
        store = Store.open(work / f"store-{next(counter)}")
        ids = store.ensure_feeds([f"u{f}" for f in range(500)])
        for f in range(500):
            store.save_fetch(ids[f"u{f}"], FetchResult("ok", f"u{f}"), ParsedFeed(articles=articles[f]))
        store.close()

    def store_again() -> None:
        store = Store.open(work / "store-0")
        ids = store.ensure_feeds([f"u{f}" for f in range(500)])
        for f in range(500):
            store.save_fetch(ids[f"u{f}"], FetchResult("ok", f"u{f}"), ParsedFeed(articles=articles[f]))
        store.close()

    return [row("store 500 feeds x 50 articles into a new cache (500 transactions)", timed(store_all, 3)),
            row("store the same again, all unchanged", timed(store_again, 3))]


def bench_views(work: Path, feeds: int, items: int) -> list[str]:
    big = work / "big"
    populate(big, feeds, items)
    config, cache = big / "feeds.toml", big / "cache"
    docbao = Path(sys.executable).with_name("docbao")
    lines = [row(f"`docbao feeds` on {feeds * items:,} articles (process start to exit)",
                 timed(lambda: subprocess.run([str(docbao), "feeds", "--config", str(config), "--cache", str(cache)],
                                              check=True, stdout=subprocess.DEVNULL)))]
    store = Store.open(cache)
    lines.append(row("open the cache and read every feed's counts", timed(lambda: Store.open(cache).feeds())))
    lines.append(row(f"ids of \"All\" ({feeds * items:,} rows, display order)", timed(lambda: store.article_ids())))
    lines.append(row("ids of \"Unread\"", timed(lambda: store.article_ids(unread=True))))
    lines.append(row("ids of one feed", timed(lambda: store.article_ids(feed_ids=[feeds // 2]))))
    ids = store.article_ids()
    middle = ids[len(ids) // 2: len(ids) // 2 + 60]
    lines.append(row("rows for one screen (60 lines) in the middle of All", timed(lambda: store.rows(middle))))
    lines.append(row("one article with its body", timed(lambda: store.article(ids[len(ids) // 3]))))
    store.close()
    return lines


def bench_content() -> list[str]:
    """Sanitizing and rendering real article pages, each against a peer on the same text in
    the same process: nh3 alone (the sanitizer adds its linear rebuild and the control
    character passes) and the standard library's HTML tokenizer (the renderer also builds
    the tree, lays out and wraps)."""
    if not PAGES.exists():
        return [f"| sanitize, render | – | – | skipped: {PAGES} not found |"]
    from html.parser import HTMLParser

    from tui.content.charset import decode_html
    from tui.content.render import render_html
    from tui.content.sanitize import _cleaner, sanitize_html

    pages = [decode_html(p.read_bytes()) for p in sorted(PAGES.glob("*.html"))]
    size = sum(map(len, pages)) / 1e6
    clean = [sanitize_html(page) for page in pages]
    cleaner = _cleaner()
    sanitize = timed(lambda: [sanitize_html(page) for page in pages], 5)
    nh3_alone = timed(lambda: [cleaner.clean(page) for page in pages], 5)

    def stdlib_tokenize() -> None:
        for page in clean:
            parser = HTMLParser()
            parser.feed(page)
            parser.close()

    render = timed(lambda: [render_html(page, width=100) for page in clean], 5)
    tokenize = timed(stdlib_tokenize, 5)
    return [
        row(f"sanitize {len(pages)} article pages ({size:.1f} MB of HTML)", sanitize,
            f"{sanitize[0] / nh3_alone[0]:.2f}x nh3 alone ({nh3_alone[0] * 1000:.0f} ms)"),
        row(f"render the sanitized pages ({sum(map(len, clean)) / 1e6:.1f} MB) at 100 columns", render,
            f"{render[0] / tokenize[0]:.2f}x html.parser tokenizing alone ({tokenize[0] * 1000:.0f} ms)"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller data, for a smoke run")
    parser.add_argument("--only", choices=("parse", "store", "views", "content"), help="run one section")
    args = parser.parse_args()
    feeds, items = (50, 20) if args.quick else (500, 50)
    big_items = 20 if args.quick else 200
    with tempfile.TemporaryDirectory(prefix="docbao-bench-") as tmp:
        work = Path(tmp)
        print("| what | median ms | min–max ms | note |\n|---|---:|---:|---|")
        sections = {
            "parse": lambda: bench_parse(work, feeds, items),
            "store": lambda: bench_store(work),
            "views": lambda: bench_views(work, 500, big_items),
            "content": bench_content,
        }
        for name, section in sections.items():
            if args.only in (None, name):
                for line in section():
                    print(line, flush=True)


if __name__ == "__main__":
    main()
