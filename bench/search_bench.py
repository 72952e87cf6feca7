#!/usr/bin/env python3
"""How fast is search, how big is its index, and what does it cost a refresh?

Builds two caches from the same synthetic articles (bench/corpus.py: Vietnamese,
English and Russian; 0.5-5 KB of HTML each), one without the search index and
one with it, saving each feed through Store.save_fetch as a refresh does, and reports:

- the time store inserts take with the index against without it, measured feed by feed
  in alternation so that both see the same machine state;
- the index's size as a share of the cache;
- build() on the cache made without the index (what an existing cache pays once);
- median and p95 times of search() (limit 100, snippets included), matching_ids() and
  count_unread() over a mix of one-word, multi-word, phrase, prefix, excluding and
  filtered queries.

Run by hand: python bench/search_bench.py [--articles 100000] [--feeds 1000] [--keep DIR]
or, on a cache written by bench/populate.py (its words, the same queries, search() only):
python bench/search_bench.py --cache DIR
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from corpus import Language, language_of, languages, make_feed  # noqa: E402
from tui.store import index as fts_index, search  # noqa: E402
from tui.model import FetchResult  # noqa: E402
from tui.store.cache import Store  # noqa: E402

NOW = int(time.time())


def make_queries(rng: random.Random, langs: dict[str, Language],
                 titles: dict[str, list[str]]) -> dict[str, list[str]]:
    """Queries a reader would type: words at several frequency ranks, words of one topic
    together, phrases taken from the text, prefixes, exclusions and every filter."""
    def plain(word: str) -> str:
        return fts_index.fold(word)

    queries: dict[str, list[str]] = {"one word": [], "multi-word": [], "phrase": [], "prefix": [],
                                     "excluding": [], "filtered": [], "filters alone": []}
    for lang, language in langs.items():
        words = language.words
        queries["one word"] += [plain(words[rank]) for rank in (2, 20, 200, 2000)]
        for topic in rng.sample(language.topics, 3):
            queries["multi-word"].append(" ".join(plain(w) for w in topic[:2]))
            queries["multi-word"].append(" ".join(plain(w) for w in (topic[0], words[5], topic[3])))
        for title in rng.sample(titles[lang], 4):
            in_title = title.split()
            start = rng.randrange(max(1, len(in_title) - 3))
            queries["phrase"].append('"' + " ".join(plain(w) for w in in_title[start:start + rng.choice((2, 3))]) + '"')
        queries["phrase"].append(f'"{plain(words[0])} {plain(words[1])}"')  # the two commonest words
        queries["prefix"] += [plain(words[300])[:4] + "*", plain(words[30])[:2] + "*"]
        topic = rng.choice(language.topics)
        queries["excluding"] += [f"{plain(topic[0])} -{plain(words[10])}",
                                 f'{plain(topic[1])} -"{plain(topic[2])} {plain(topic[3])}"']
        common, rare = plain(words[40]), plain(rng.choice(language.topics)[0])
        queries["filtered"] += [f"is:unread {common}", f"is:starred {rare}", f"after:30d {common}",
                                f"before:{time.strftime('%Y-%m-%d', time.localtime(NOW - 400 * 86400))} {rare}",
                                f"tag:news {rare}", f"feed:f0013 {common}", f"feed:f0012 {rare}"]
    queries["multi-word"] += ["lanh dao trung uong", "thai nguyen", "government energy"]
    queries["phrase"] += ['"lanh dao"', '"tinh dang"', '"of the"']
    queries["filtered"] += ["author:nguyen", "is:unread dang"]
    queries["filters alone"] += ["is:unread", "is:starred", "after:7d", "feed:f0013", "tag:news",
                                 "is:unread -is:starred feed:nhan", "is:read before:1y"]
    return queries


def strip_search(store: Store) -> None:
    """Make a cache without the index, whatever Store.open installs."""
    conn = store.conn
    names = conn.execute(
        "SELECT type, name FROM sqlite_master WHERE name LIKE 'article_fts%' AND type IN ('trigger', 'view')"
    ).fetchall()
    for kind, name in names:
        conn.execute(f"DROP {kind.upper()} {name}")
    conn.execute("DROP TABLE IF EXISTS article_fts")
    conn.execute("DROP TABLE IF EXISTS search_meta")


def db_bytes(store: Store) -> int:
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return int(store.conn.execute("SELECT sum(pgsize) FROM dbstat").fetchone()[0])


def index_bytes(store: Store) -> int:
    return int(store.conn.execute(
        "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE 'article_fts%' OR name LIKE 'search_meta%'"
    ).fetchone()[0])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def timed(fn: Callable[..., object], *args: object, **kwargs: object) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return (time.perf_counter() - start) * 1000


def time_queries(conn: sqlite3.Connection, queries: dict[str, list[str]], tags: dict[str, list[int]],
                 reps: int, lists: bool) -> None:
    """Median / p95 / max of search() (and with `lists`, matching_ids and count_unread), and
    how many articles each query's words match."""
    times: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    for kind, texts in queries.items():
        for query in texts:
            search.search(conn, query, tags=tags)  # warm
            for _ in range(reps):
                times.setdefault(f"search: {kind}", []).append(timed(search.search, conn, query, tags=tags))
                if "snippets" in search.search.__code__.co_varnames:  # the page as the reader asks for it
                    times.setdefault(f"ids only: {kind}", []).append(
                        timed(search.search, conn, query, tags=tags, snippets=False))
                if lists:
                    times.setdefault("matching_ids", []).append(timed(search.matching_ids, conn, query, tags=tags))
                    times.setdefault("count_unread", []).append(timed(search.count_unread, conn, query, tags=tags))
            compiled = search._compile(conn, search.parse_query(query), tags, None)
            counts[query] = (search._match_count(conn, compiled.match) if compiled and compiled.match
                             else len(search.matching_ids(conn, query, tags=tags)))
    forms = word_forms_cost(conn, [q for texts in queries.values() for q in texts], tags, reps)
    every_search = [t for name, values in times.items() if name.startswith("search") for t in values]
    every_page = [t for name, values in times.items() if name.startswith("ids only") for t in values]
    print(f"\nquery times in ms, {reps} runs of each query (100 results): median / p95 / max")
    summary = [("search: all kinds", every_search)] + ([("ids only: all kinds", every_page)] if every_page else [])
    for name, values in [*summary, *sorted(times.items())]:
        print(f"  {name:22} {statistics.median(values):7.1f} {percentile(values, 0.95):7.1f} {max(values):7.1f}")
    if forms:
        print(f"\nbare words in all their forms (earthquake: earthquakes too) against the same words quoted"
              f" (that form alone), {len(forms)} queries side by side: median ratio"
              f" {statistics.median(forms):.2f}, p95 {percentile(forms, 0.95):.2f}")
    print("\narticles the words match (filters aside):")
    for query, count in counts.items():
        print(f"  {count:8}  {query}")


def word_forms_cost(conn: sqlite3.Connection, queries: list[str], tags: dict[str, list[int]],
                    reps: int) -> list[float]:
    """For each query with a bare word: the time of search() on it over the time of the same
    query with its bare words quoted (matching that form alone), run in alternation."""
    ratios: list[float] = []
    for query in queries:
        quoted = " ".join(f'"{part}"' if part.isalpha() else part for part in query.split())
        if quoted == query:
            continue
        forms, exact = [], []
        for _ in range(reps):
            forms.append(timed(search.search, conn, query, tags=tags))
            exact.append(timed(search.search, conn, quoted, tags=tags))
        ratios.append(statistics.median(forms) / max(statistics.median(exact), 1e-6))
    return ratios


def existing_cache(folder: Path, reps: int) -> None:
    """Time the queries on a cache written by bench/populate.py (same seed, same words)."""
    langs = languages(random.Random(42))
    store = Store.open(folder / "cache")
    conn = store.conn
    search.catch_up(conn)
    titles: dict[str, list[str]] = {lang: [] for lang in langs}
    for feed_id, title in conn.execute("SELECT feed_id, title FROM articles WHERE id % 997 = 0"):
        titles[language_of(int(feed_id) - 1)].append(title)
    feed_ids = [int(r[0]) for r in conn.execute("SELECT id FROM feeds ORDER BY id")]
    total = conn.execute("SELECT sum(total) FROM feeds").fetchone()[0]
    print(f"{total} articles in {folder}")
    time_queries(conn, make_queries(random.Random(7), langs, titles), {"news": feed_ids[::4]}, reps, lists=False)
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=5, help="runs of each query")
    parser.add_argument("--keep", type=Path, help="keep the caches in this folder")
    parser.add_argument("--cache", type=Path, help="only time the queries, on this populate.py folder")
    args = parser.parse_args()
    if args.cache:
        existing_cache(args.cache, args.reps)
        return

    work = args.keep or Path(tempfile.mkdtemp(prefix="docbao-search-bench-"))
    for folder in ("plain", "indexed", "fts5-only"):
        shutil.rmtree(work / folder, ignore_errors=True)
    plain = Store.open(work / "plain")
    strip_search(plain)
    indexed = Store.open(work / "indexed")
    fts_index.install(indexed.conn)
    rng = random.Random(42)
    langs = languages(rng)
    per_feed = max(1, args.articles // args.feeds)

    # FTS5 on its own, fed text folded beforehand: the part of the cost no trigger design avoids
    (work / "fts5-only").mkdir()
    bare = sqlite3.connect(work / "fts5-only" / "fts5.db", isolation_level=None)
    bare.execute("PRAGMA journal_mode = WAL")
    bare.execute("PRAGMA synchronous = NORMAL")
    bare.execute("CREATE VIRTUAL TABLE t USING fts5(title, author, feed, body, extract, content='',"
                 " tokenize='unicode61 remove_diacritics 0')")

    print(f"{args.feeds} feeds x {per_feed} articles in {work}", flush=True)
    cost = dict.fromkeys(("plain", "indexed", "folding", "fts5"), 0.0)
    feed_ids: list[int] = []
    titles: dict[str, list[str]] = {lang: [] for lang in langs}
    for index in range(args.feeds):
        url, parsed = make_feed(rng, langs, index, range(per_feed), per_feed, NOW)
        titles[language_of(index)].append(parsed.articles[0].title)
        pid = plain.ensure_feeds([url])[url]
        iid = indexed.ensure_feeds([url])[url]
        feed_ids.append(iid)
        result = FetchResult(status="ok", url=url)
        order = [("plain", plain, pid), ("indexed", indexed, iid)]
        for name, store, feed_id in (order if index % 2 else order[::-1]):
            cost[name] += timed(store.save_fetch, feed_id, result, parsed, now=NOW)
        start = time.perf_counter()
        rows = [(index * per_feed + n, fts_index._sql_fold(a.title), fts_index._sql_fold(a.author),
                 fts_index._sql_fold(parsed.title), fts_index._sql_fold(fts_index._sql_html_text(a.content or a.summary)), "")
                for n, a in enumerate(parsed.articles)]
        cost["folding"] += (time.perf_counter() - start) * 1000
        start = time.perf_counter()
        bare.execute("BEGIN IMMEDIATE")
        bare.executemany("INSERT INTO t (rowid, title, author, feed, body, extract) VALUES (?, ?, ?, ?, ?, ?)", rows)
        bare.execute("COMMIT")
        cost["fts5"] += (time.perf_counter() - start) * 1000
        if index % 100 == 99:
            print(f"  {index + 1} feeds saved", flush=True)
    bare.close()
    total = args.feeds * per_feed
    per = {name: ms * 1000 / total for name, ms in cost.items()}
    print(f"\nstore inserts, us per article: {per['plain']:.0f} without the index, {per['indexed']:.0f} with it:"
          f" +{(per['indexed'] / per['plain'] - 1) * 100:.0f}%")
    print(f"  of which folding in Python {per['folding']:.0f} us and FTS5 itself {per['fts5']:.0f} us"
          f" (FTS5 alone is +{per['fts5'] / per['plain'] * 100:.0f}% of a plain insert)")

    # one article in ten read, one in a hundred starred, as a reader leaves them
    with indexed.transaction() as conn:
        conn.execute("UPDATE articles SET read = 1 WHERE id % 10 = 0")
        conn.execute("UPDATE articles SET starred = 1 WHERE id % 100 = 0")

    cache, fts = db_bytes(indexed), index_bytes(indexed)
    without = db_bytes(plain)
    print(f"cache with index {cache / 2**20:.1f} MiB, of which the index {fts / 2**20:.1f} MiB"
          f" = {fts / cache * 100:.0f}% of the cache ({fts / without * 100:.0f}% of the cache without it)")

    fts_index.install(plain.conn)
    steps: list[tuple[int, int]] = []
    build_ms = timed(fts_index.build, plain.conn, lambda done, all_: steps.append((done, all_)))
    print(f"build() of an existing cache: {build_ms / 1000:.1f} s for {total} articles"
          f" ({len(steps)} progress reports), needs_build afterwards: {fts_index.needs_build(plain.conn)}")

    time_queries(indexed.conn, make_queries(rng, langs, titles), {"news": feed_ids[::4]}, args.reps, lists=True)
    plain.close()
    indexed.close()
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
