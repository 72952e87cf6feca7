#!/usr/bin/env python3
"""How fast is search, how big is its index, and what does it cost a refresh?

Builds two caches from the same synthetic articles (a third Vietnamese with full
diacritics, the rest English; 0.5-5 KB of HTML each), one without the search index and
one with it, saving each feed through Store.save_fetch as a refresh does, and reports:

- the time store inserts take with the index against without it, measured feed by feed
  in alternation so that both see the same machine state;
- the index's size as a share of the cache;
- build() on the cache made without the index (what an existing cache pays once);
- median and p95 times of search() (limit 100, snippets included), matching_ids() and
  count_unread() over a mix of one-word, multi-word, phrase, prefix, excluding and
  filtered queries.

The text follows Zipf's law over a realistic vocabulary (the seed article's syllables and
common English words at the top ranks, generated Vietnamese syllables and English-like
words below), and each article also draws on the words of one of 200 topics, so that rare
words cluster in a few articles as they do in news.

Run by hand: python bench/search_bench.py [--articles 100000] [--feeds 1000] [--keep DIR]
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
import unicodedata
from collections import Counter
from collections.abc import Callable
from itertools import accumulate
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tui.store import index as fts_index, search  # noqa: E402
from tui.model import FetchResult, ParsedArticle, ParsedFeed  # noqa: E402
from tui.store.cache import Store  # noqa: E402

SEED_TEXT = ROOT / "tests" / "data" / "search" / "article-thai-nguyen.txt"
NOW = int(time.time())

EN_WORDS = """
the of and to in for on with by from at as that this it is was are be has have will would
could new more first after before over under about into through during between against
government minister council city state national local global market markets company shares
investors economy growth inflation rates bank policy report data study research science
scientists university students school health hospital patients doctors climate weather storm
rain energy solar power grid oil prices fuel transport rail airport flights road traffic
housing rents homes software developers open source release update security vulnerability
patch kernel browser cloud servers network internet users privacy court judge law ruling
election voters campaign parliament vote team season match league players coach final
record game fans stadium music film festival museum artists book writer culture food
restaurant travel officials said says announced plans expected according reported warned
agreed approved rejected launched opened closed raised cut increased fell rose million
billion percent year week month today yesterday morning evening people residents workers
families children community region district province café naïve résumé Zürich
""".split()
EN_AUTHORS = ["Jane Doe", "Sam O'Neill", "Priya Raman", "Lucas Müller", "Amara Okafor", "Élodie Martin"]
VI_AUTHORS = ["Nguyễn Văn An", "Trần Thị Bích Ngọc", "Lê Hoàng Phúc", "Phạm Thu Hà",
              "Đặng Quốc Việt", "Vũ Minh Châu", "Thu Hiền"]
VI_FEEDS = ["Tin tức Thời sự", "Báo Điện tử Nhân Dân", "Kinh tế & Đầu tư", "Đời sống Xã hội",
            "Công nghệ Số", "Thể thao 24h", "Giáo dục Việt Nam", "Báo Thái Nguyên"]
EN_FEEDS = ["Daily Dispatch", "Tech Ledger", "The Harbor Times", "Open Source Weekly",
            "Metro Wire", "Science Notes", "Market Watch Blog", "Court Reporter"]

VI_ONSETS = ["", "b", "c", "ch", "d", "đ", "g", "gi", "h", "k", "kh", "l", "m", "n", "ng", "nh",
             "ph", "qu", "r", "s", "t", "th", "tr", "v", "x"]
VI_NUCLEI = [("a", 0), ("ă", 0), ("â", 0), ("e", 0), ("ê", 0), ("i", 0), ("o", 0), ("ô", 0),
             ("ơ", 0), ("u", 0), ("ư", 0), ("y", 0), ("ai", 0), ("ao", 0), ("au", 0), ("ay", 0),
             ("âu", 0), ("ây", 0), ("eo", 0), ("êu", 0), ("ia", 0), ("iê", 1), ("iu", 0), ("oa", 1),
             ("oe", 1), ("oi", 0), ("ôi", 0), ("ơi", 0), ("ua", 0), ("uâ", 1), ("uê", 1), ("ui", 0),
             ("uô", 1), ("uy", 1), ("ưa", 0), ("ươ", 1), ("yê", 1)]
VI_CODAS = ["", "c", "ch", "m", "n", "ng", "nh", "p", "t"]
VI_TONES = ["", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]
EN_ONSETS = ["b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w",
             "br", "cr", "dr", "fr", "gr", "pr", "tr", "st", "sp", "ch", "sh", "th", "pl", "cl"]
EN_VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ee", "oo", "ou", "y"]
EN_CODAS = ["", "n", "r", "s", "t", "l", "nd", "st", "ng", "ck", "m", "x"]


class Language:
    """A Zipf vocabulary with topics: real words at the top ranks, generated ones below, and
    articles that mix common words with the words of one topic, as news text does."""

    def __init__(self, rng: random.Random, words: list[str], size: int,
                 make_word: Callable[[random.Random], str]) -> None:
        seen = set(words)
        while len(words) < size:
            word = make_word(rng)
            if word not in seen:
                seen.add(word)
                words.append(word)
        self.words = words
        self.cum = list(accumulate(1.0 / (rank + 1) for rank in range(len(words))))
        self.topics = [rng.sample(words[50:], 120) for _ in range(200)]
        self.topic_cum = list(accumulate(1.0 / (rank + 1) ** 0.8 for rank in range(120)))

    def tokens(self, rng: random.Random, topic: list[str], count: int) -> list[str]:
        common = rng.choices(self.words, cum_weights=self.cum, k=count)
        special = rng.choices(topic, cum_weights=self.topic_cum, k=count)
        return [special[i] if rng.random() < 0.35 else common[i] for i in range(count)]

    def sentence(self, rng: random.Random, topic: list[str], lo: int, hi: int) -> str:
        text = " ".join(self.tokens(rng, topic, rng.randint(lo, hi)))
        return text[:1].upper() + text[1:] + "."


def vi_syllable(rng: random.Random) -> str:
    nucleus, tone_at = rng.choice(VI_NUCLEI)
    word = (rng.choice(VI_ONSETS) + nucleus[:tone_at + 1] + rng.choice(VI_TONES)
            + nucleus[tone_at + 1:] + rng.choice(VI_CODAS))
    return unicodedata.normalize("NFC", word)


def en_word(rng: random.Random) -> str:
    return "".join(rng.choice(EN_ONSETS) + rng.choice(EN_VOWELS) + rng.choice(EN_CODAS)
                   for _ in range(rng.choice((1, 2, 2, 3))))


def seed_syllables() -> list[str]:
    """Vietnamese syllables of the seed article, most frequent first."""
    words = Counter(w.strip(".,;:…/()\"'").lower() for w in SEED_TEXT.read_text("utf-8").split())
    return [w for w, _ in words.most_common() if w and w.isalpha()]


def make_feed(index: int, per_feed: int, rng: random.Random,
              langs: dict[str, Language]) -> tuple[str, ParsedFeed]:
    lang = "vi" if index % 3 == 0 else "en"
    language = langs[lang]
    names = VI_FEEDS if lang == "vi" else EN_FEEDS
    authors = VI_AUTHORS if lang == "vi" else EN_AUTHORS
    articles = []
    for number in range(per_feed):
        topic = rng.choice(language.topics)
        paragraphs: list[str] = []
        size = rng.triangular(500, 5000, 1200)
        while sum(len(p) for p in paragraphs) < size:
            body = " ".join(language.sentence(rng, topic, 8, 22) for _ in range(rng.randint(2, 5)))
            if rng.random() < 0.3:
                body = f"<strong>{body}</strong>"
            if rng.random() < 0.4:
                anchor = language.sentence(rng, topic, 2, 4)
                body += f' <a href="https://example.org/{index}/{number}">{anchor}</a>'
            paragraphs.append(f"<p>{body}</p>")
        html = "\n".join(paragraphs)
        full = rng.random() < 0.4
        articles.append(ParsedArticle(
            guid=f"f{index}-{number}",
            link=f"https://example.org/{index}/{number}",
            title=language.sentence(rng, topic, 6, 14).rstrip("."),
            author=rng.choice(authors),
            published=NOW - rng.randint(0, 2 * 365 * 86400),
            summary=html if not full else paragraphs[0],
            content=html if full else "",
        ))
    url = f"https://feeds.example.org/f{index:04d}.xml"
    return url, ParsedFeed(title=f"{rng.choice(names)} #{index}", articles=articles)


def make_queries(rng: random.Random, langs: dict[str, Language],
                 titles: dict[str, list[str]]) -> dict[str, list[str]]:
    """Queries a reader would type: words at several frequency ranks, words of one topic
    together, phrases taken from the text, prefixes, exclusions and every filter."""
    def plain(word: str) -> str:
        return fts_index.fold(word)

    queries: dict[str, list[str]] = {"one word": [], "multi-word": [], "phrase": [], "prefix": [],
                                     "excluding": [], "filtered": []}
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
        queries["prefix"] += [plain(words[300])[:4] + "*", plain(words[30])[:2] + "*"]
        topic = rng.choice(language.topics)
        queries["excluding"] += [f"{plain(topic[0])} -{plain(words[10])}",
                                 f'{plain(topic[1])} -"{plain(topic[2])} {plain(topic[3])}"']
        common, rare = plain(words[40]), plain(rng.choice(language.topics)[0])
        queries["filtered"] += [f"is:unread {common}", f"is:starred {rare}", f"after:30d {common}",
                                f"before:{time.strftime('%Y-%m-%d', time.localtime(NOW - 400 * 86400))} {rare}",
                                f"tag:news {rare}", f"feed:f0013 {common}", f"feed:f0012 {rare}"]
    queries["multi-word"] += ["lanh dao trung uong", "thai nguyen"]
    queries["filtered"] += ["author:nguyen", "is:unread -is:starred feed:nhan"]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=5, help="runs of each query")
    parser.add_argument("--keep", type=Path, help="keep the caches in this folder")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="docbao-search-bench-"))
    for folder in ("plain", "indexed", "fts5-only"):
        shutil.rmtree(work / folder, ignore_errors=True)
    plain = Store.open(work / "plain")
    strip_search(plain)
    indexed = Store.open(work / "indexed")
    fts_index.install(indexed.conn)
    rng = random.Random(42)
    langs = {"vi": Language(rng, seed_syllables(), 5000, vi_syllable),
             "en": Language(rng, list(EN_WORDS), 20000, en_word)}
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
    titles: dict[str, list[str]] = {"vi": [], "en": []}
    for index in range(args.feeds):
        url, parsed = make_feed(index, per_feed, rng, langs)
        titles["vi" if index % 3 == 0 else "en"].append(parsed.articles[0].title)
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

    tags = {"news": feed_ids[::4]}
    conn = indexed.conn
    times: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    for kind, queries in make_queries(rng, langs, titles).items():
        for query in queries:
            search.search(conn, query, tags=tags)  # warm
            for _ in range(args.reps):
                times.setdefault(f"search: {kind}", []).append(timed(search.search, conn, query, tags=tags))
                times.setdefault("matching_ids", []).append(timed(search.matching_ids, conn, query, tags=tags))
                times.setdefault("count_unread", []).append(timed(search.count_unread, conn, query, tags=tags))
            counts[query] = len(search.matching_ids(conn, query, tags=tags))
    every_search = [t for name, values in times.items() if name.startswith("search") for t in values]
    print(f"\nquery times in ms, {args.reps} runs of each query: median / p95 / max")
    for name, values in [("search: all kinds", every_search), *times.items()]:
        print(f"  {name:22} {statistics.median(values):7.1f} {percentile(values, 0.95):7.1f} {max(values):7.1f}")
    print("\nmatches per query:")
    for query, count in counts.items():
        print(f"  {count:7}  {query}")
    plain.close()
    indexed.close()
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
