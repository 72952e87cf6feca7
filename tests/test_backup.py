"""The JSON backup read as a stream: what it reads is what a JSON reader reads of the whole
document, wherever the pieces it reads at a time cut the text, and bad files are refused
with a reason, before anything is written."""

from __future__ import annotations

import io
import json

import pytest

from tui.store import backup
from tui.store.backup import ExportFile

HEAD = '"format": "docbao-export", "version": 1'


def streamed(text: str) -> tuple[dict[str, object], list[list[object]]]:
    """The head and each feed's articles as ExportFile reads them, in batches of 2."""
    export = ExportFile(io.BytesIO(text.encode("utf-8")))
    articles: list[list[object]] = [[] for _ in export.head["feeds"]]  # type: ignore[union-attr]
    for index, batch in export.articles(batch=2):
        assert 0 < len(batch) <= 2
        articles[index].extend(batch)
    assert [len(a) for a in articles] == export.counts
    return export.head, articles


def loaded(text: str) -> tuple[dict[str, object], list[list[object]]]:
    """The same as json.loads reads the whole document."""
    document = json.loads(text)
    articles = [feed.pop("articles") if isinstance(feed, dict) and isinstance(feed.get("articles"), list) else []
                for feed in document["feeds"]]
    return document, articles


DOCUMENTS = [
    # as docbao writes it, with text in several scripts, escapes and numbers
    "{" + HEAD + ', "searches": [{"name": "Tin", "query": "lãnh đạo"}], "feeds": [\n'
    '  {"url": "https://a.example/feed", "title": "Báo \\"A\\"", "tags": ["tin"], "articles": [\n'
    + ",\n".join(f'   {{"guid": "g{n}", "title": "Bài {n} — 北京 \\u00e9\\n", "published": {1_700_000_000 + n},'
                 f' "read": {str(n % 2 == 0).lower()}, "content": "<p>{"đạo " * n}</p>"}}' for n in range(7))
    + "]},\n  {\"url\": \"https://b.example/feed\", \"articles\": []}\n ]\n}\n",
    # a key twice: the last counts, for the document's feeds and a feed's articles
    '{"feeds": [{"url": "https://x.example/"}], ' + HEAD + ', "feeds": [{"url": "https://a.example/",'
    ' "articles": [{"guid": "old"}], "title": "T", "articles": [{"guid": "1"}, {"guid": "2"}, {"guid": "3"}]},'
    ' {"url": "https://b.example/", "articles": [{"guid": "x"}], "articles": "none"}]}',
    # no white space at all, feeds that are not objects, empty lists and objects
    "{" + HEAD + ',"feeds":[5,"x",{},{"url":"u","articles":[{},{"guid":"1"},[],3]},{"articles":[]}]}',
]


@pytest.mark.parametrize("chunk", [1, 3, 17, 1 << 20])
@pytest.mark.parametrize("text", DOCUMENTS)
def test_the_stream_reads_what_json_reads_wherever_the_pieces_cut(
        text: str, chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backup, "_CHUNK", chunk)
    head, articles = streamed(text)
    document, expected = loaded(text)
    assert articles == expected
    feeds = head.pop("feeds")
    assert head == {k: v for k, v in document.items() if k != "feeds"}
    # each feed as it is but its articles (a value that is no list is kept, to be reported)
    assert feeds == [{k: v for k, v in f.items() if k != "articles" or not isinstance(v, list)}
                     if isinstance(f, dict) else f for f in document["feeds"]]


@pytest.mark.parametrize(("data", "reason"), [
    (b"[1, 2]", "not a docbao export"),
    (b'{"format": "other", "version": 1, "feeds": []}', "not a docbao export"),
    (b'{"format": "docbao-export", "version": 7, "feeds": []}', "version 7"),
    (b'{"format": "docbao-export", "version": 1, "feeds": {}}', "without a list of feeds"),
    (b'{"format": "docbao-export", "version": 1, "feeds": [{"url": "u", "articles": [{"guid": "1"},]}]}',
     "not valid JSON"),
    (b'{"format": "docbao-export", "version": 1, "feeds": [{"url": "u", "articles": [{"guid": "1"}', "not valid JSON"),
    (b'{"format": "docbao-export", "version": 1, "feeds": []} {}', "not valid JSON"),
    (b'{"format": "docbao-export", "version": 1, "feeds": [], "x": "\xff"}', "not UTF-8"),
    (b'{"format": "docbao-export", "version": 1, "feeds": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}",
     "not valid JSON"),
])
def test_a_bad_file_is_refused_with_its_reason(data: bytes, reason: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backup, "_CHUNK", 64)
    with pytest.raises(ValueError, match=reason):
        ExportFile(io.BytesIO(data))


def test_the_full_articles_read_offline_come_back_with_the_backup(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """The full article (reader mode) may be gone from the web by the time a backup is
    restored: the backup keeps it, and an import restores it, cleaned as a page is."""
    from pathlib import Path

    from tui.cli.main import main
    from tui.model import FetchResult, ParsedArticle, ParsedFeed
    from tui.store.cache import Store

    url = "https://baothainguyen.example/rss"

    def config(folder: Path) -> Path:
        folder.mkdir()
        (folder / "feeds.toml").write_text(f'[[feed]]\nurl = "{url}"\n', encoding="utf-8")
        return folder / "feeds.toml"

    source = config(tmp_path / "a")
    store = Store.open(tmp_path / "a" / "cache")
    feed_id = store.ensure_feeds([url])[url]
    store.save_fetch(feed_id, FetchResult("ok", url), ParsedFeed(title="Báo Thái Nguyên", articles=[
        ParsedArticle(guid=f"g{n}", title=f"Bài {n}", link=f"https://baothainguyen.example/{n}",
                      summary="<p>Tóm tắt.</p>", published=1_700_000_000 + n) for n in range(3)]))
    first, second, _third = store.article_ids(order="oldest")
    store.save_extract(first, "<p>Lãnh đạo Trung ương làm việc với Ban Thường vụ.</p>",
                       "Lãnh đạo Trung ương làm việc với Ban Thường vụ.", now=1_700_000_100)
    store.save_extract_error(second, "connection refused")  # a page that failed: nothing to keep
    store.close()
    backup_file = tmp_path / "backup.json"
    assert main(["export", "--config", str(source), "-o", str(backup_file)]) == 0
    document = json.loads(backup_file.read_text(encoding="utf-8"))
    fulls = [a.get("full") for a in document["feeds"][0]["articles"]]
    assert fulls[0]["fetched"] == 1_700_000_100 and fulls[1:] == [None, None]
    fulls[0]["html"] += '<script>alert(1)</script><img src="javascript:x" onerror="y()">'
    backup_file.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")

    target = config(tmp_path / "b")
    assert main(["import", str(backup_file), "--config", str(target)]) == 0
    capsys.readouterr()
    store = Store.open(tmp_path / "b" / "cache")
    try:
        restored, other, _ = store.article_ids(order="oldest")
        full = store.extract(restored)
        assert full is not None and full.fetched == 1_700_000_100
        assert "Lãnh đạo Trung ương" in full.html and "<script" not in full.html and "javascript" not in full.html
        assert store.extract(other) is None
    finally:
        store.close()
    # read offline: the full article, not the feed's summary
    assert main(["read", str(restored), "--full", "--config", str(target)]) == 0
    assert "Lãnh đạo Trung ương làm việc với Ban Thường vụ." in capsys.readouterr().out
    # and found by search, as the full article is
    assert main(["search", "ban thuong vu", "--config", str(target)]) == 0
    assert "Bài 0" in capsys.readouterr().out


def _export(folder, feeds: int, per_feed: int, body: str) -> "Path":  # type: ignore[no-untyped-def]
    """A docbao JSON export of `feeds` feeds of `per_feed` articles."""
    from tui.config import Config, FeedConfig
    from tui.model import FetchResult, ParsedArticle, ParsedFeed
    from tui.store.backup import export_json
    from tui.store.cache import Store

    config = Config(path=None)
    config.feeds = [FeedConfig(url=f"https://feeds.example/{f}.xml") for f in range(feeds)]
    store = Store.open(folder / "source")
    ids = store.ensure_feeds([feed.url for feed in config.feeds])
    for f, feed in enumerate(config.feeds):
        store.save_fetch(ids[feed.url], FetchResult("ok", feed.url), ParsedFeed(title=f"Báo {f}", articles=[
            ParsedArticle(guid=f"https://news.example/{f}/{n}/a-long-enough-guid", title=f"Bài {n} của báo {f}",
                          link=f"https://news.example/{f}/{n}", published=1_700_000_000 + n,
                          content=body) for n in range(per_feed)]))
    path = folder / f"backup-{feeds}.json"
    with path.open("wb") as out:
        for piece in export_json(config, store):
            out.write(piece)
    store.close()
    return path


def test_the_memory_an_import_keeps_does_not_grow_with_the_backup(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The guids of the feeds already imported were all kept (185 bytes an article: 265 MB
    of memory to import a million): what is held after each batch, at the most, is the
    same for 5,000 articles as for 30,000."""
    import tracemalloc

    from tui.cli.main import main

    def held_at_most(feeds: int) -> int:
        backup_file = _export(tmp_path / str(feeds), feeds, 500, "<p>Lãnh đạo tỉnh làm việc.</p>")
        held = [0]
        restore_feed = backup.restore_feed

        def measured(*args, **kwargs):  # type: ignore[no-untyped-def]
            result = restore_feed(*args, **kwargs)
            held[0] = max(held[0], tracemalloc.get_traced_memory()[0])
            return result

        monkeypatch.setattr(backup, "restore_feed", measured)
        tracemalloc.start()
        try:
            assert main(["import", str(backup_file), "--config", str(tmp_path / str(feeds) / "feeds.toml"),
                         "--cache", str(tmp_path / str(feeds) / "c")]) == 0
        finally:
            tracemalloc.stop()
        return held[0]

    held_at_most(1)  # (the modules an import needs, loaded)
    small, big = held_at_most(10), held_at_most(60)
    assert big < small + 1_000_000, (small, big)
