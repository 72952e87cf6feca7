"""Reader mode end to end: lead-only feed items, their pages on a local server, the full
article fetched during a refresh, kept in the cache and printed offline."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.helpers import PAGES, body_paragraphs
from tests.server import LocalServer
from tui.cli.main import main
from tui.config import Config, FeedConfig, Settings
from tui.feeds.refresh import refresh
from tui.store.cache import Store


def lead_only_feed(base: str, count: int = 1) -> bytes:
    items = "".join(
        f"<item><title>Lãnh đạo Trung ương làm việc với Ban Thường vụ Tỉnh ủy Thái Nguyên {n}</title>"
        f"<link>{base}/bai-viet-{n}.html</link><guid>tn-{n}</guid>"
        "<description>Ngày 23/5, đồng chí Phạm Minh Chính đã làm việc với Ban Thường vụ Tỉnh ủy.</description></item>"
        for n in range(count)
    )
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Báo Thái Nguyên</title>{items}</channel></rss>'.encode()


def test_full_text_prefetch_then_read_offline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "feeds.toml"
    with LocalServer() as srv:
        srv.route("/bai-viet-0.html", (PAGES / "seed-page.html").read_bytes(), content_type="text/html; charset=utf-8")
        url = srv.route("/rss", lead_only_feed(srv.url("")))
        config.write_text(f'[[feed]]\nurl = "{url}"\n', encoding="utf-8")
        assert main(["refresh", "--config", str(config), "--full-text"]) == 0
        assert "full articles: 1 fetched, 0 failed" in capsys.readouterr().out
        assert len(srv.hits("/bai-viet-0.html")) == 1
    # the server is gone: everything below comes from the cache
    store = Store.open(tmp_path / "cache")
    (article_id,) = store.article_ids()
    store.close()
    assert main(["read", str(article_id), "--full", "--width", "100", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    flat = " ".join(out.split())
    for paragraph in body_paragraphs():
        assert " ".join(paragraph.split()) in flat
    assert "Thu Hiền" in out
    assert "Hotline" not in out and "0913.068.624" not in out
    # without --full the feed's own lead is shown
    assert main(["read", str(article_id), "--config", str(config)]) == 0
    short = capsys.readouterr().out
    assert "đồng chí Phạm Minh Chính đã làm việc" in short
    assert " ".join(body_paragraphs()[-1].split()) not in " ".join(short.split())
    assert "· Thu Hiền ·" in short  # the author the page named fills the feed's empty author


def test_read_unknown_id_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Store.open(tmp_path / "cache").close()
    assert main(["read", "424242", "--cache", str(tmp_path / "cache")]) == 1
    assert "no article has the id 424242" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("route", "error"),
    [
        ({"status": 404, "content_type": "text/html"}, "404"),
        ({"content_type": "application/json", "body": b'{"not": "html"}'}, ""),
        ({"content_type": "text/html", "body": b"<html>" + b"x" * (2 * 1024 * 1024)}, "larger"),
        ({"content_type": "text/html", "delay": 3.0}, "timed out"),
    ],
    ids=["404", "not-html", "too-large", "timeout"],
)
def test_failed_page_keeps_feed_text_and_waits_before_retrying(tmp_path: Path, route: dict, error: str) -> None:
    options = dict(route)
    body = options.pop("body", b"<html><body><p>never</p></body></html>")
    with LocalServer() as srv:
        srv.route("/bai-viet-0.html", body, **options)
        url = srv.route("/rss", lead_only_feed(srv.url("")))
        config = Config(path=None, settings=Settings(timeout=1.5, max_feed_mb=1),
                        feeds=[FeedConfig(url=url, full_text=True)])
        report = asyncio.run(refresh(config, tmp_path))
        assert [p.ok for p in report.pages] == [False]
        assert error.lower() in report.pages[0].error.lower()
        again = asyncio.run(refresh(config, tmp_path))
        assert again.pages == []  # the next attempt waits; no tight loop
        assert len(srv.hits("/bai-viet-0.html")) == 1
    store = Store.open(tmp_path)
    (article_id,) = store.article_ids()
    article = store.article(article_id)
    extract = store.extract(article_id)
    assert article is not None and "Phạm Minh Chính" in (article.content + article.summary)
    assert extract is not None and extract.fetched is None and extract.error and extract.retry_after
    store.close()


def test_prefetch_many_pages_uses_worker_processes(tmp_path: Path) -> None:
    page = (PAGES / "seed-page.html").read_bytes()
    with LocalServer() as srv:
        for n in range(12):
            srv.route(f"/bai-viet-{n}.html", page, content_type="text/html; charset=utf-8")
        url = srv.route("/rss", lead_only_feed(srv.url(""), 12))
        config = Config(path=None, settings=Settings(full_text=True), feeds=[FeedConfig(url=url)])
        report = asyncio.run(refresh(config, tmp_path))
    assert len(report.pages) == 12 and all(p.ok for p in report.pages)
    store = Store.open(tmp_path)
    texts = [store.extract(i) for i in store.article_ids()]
    assert all(t is not None and "Thu Hiền" in t.text for t in texts)
    store.close()


def test_read_dates_the_article_in_the_users_date_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import time

    feed = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Báo Thái Nguyên</title>'
            "<item><title>Lãnh đạo Trung ương</title><guid>d-1</guid><link>https://example.org/d-1</link>"
            "<pubDate>Sat, 23 May 2020 08:30:00 GMT</pubDate><description>Ngày 23/5.</description></item>"
            "</channel></rss>").encode()
    config = tmp_path / "feeds.toml"
    with LocalServer() as srv:
        url = srv.route("/rss", feed)
        config.write_text(f'[settings]\ndate_format = "%a %d %b %Y, %H:%M"\n\n[[feed]]\nurl = "{url}"\n',
                          encoding="utf-8")
        assert main(["refresh", "--config", str(config), "-q"]) == 0
    store = Store.open(tmp_path / "cache")
    (article_id,) = store.article_ids()
    store.close()
    capsys.readouterr()
    assert main(["read", str(article_id), "--config", str(config), "--width", "100"]) == 0
    expected = time.strftime("%a %d %b %Y, %H:%M", time.localtime(1590222600))
    assert f"Báo Thái Nguyên · {expected}" in capsys.readouterr().out
