"""`docbao search` on a refreshed cache: what a script sees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.server import LocalServer
from tui.cli.main import main

SEED = (Path(__file__).parent / "data" / "search" / "article-thai-nguyen.txt").read_text(encoding="utf-8")


def feed() -> bytes:
    body = "".join(f"<p>{line}</p>" for line in SEED.splitlines() if line.strip())
    items = [
        ("seed", "Lãnh đạo Trung ương làm việc với Ban Thường vụ Tỉnh ủy Thái Nguyên", body),
        ("cafe", "Một ly café ở Hà Nội", "<p>Cà phê sáng.</p>"),
        ("other", "Giá vàng hôm nay", "<p>Thị trường vàng.</p>"),
    ]
    entries = "".join(
        f"<item><title>{t}</title><guid>{g}</guid><link>https://baothainguyen.example/{g}</link>"
        f"<description><![CDATA[{b}]]></description></item>" for g, t, b in items
    )
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Báo Tỉnh Nhà</title>{entries}</channel></rss>'.encode()


@pytest.fixture
def config(server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    url = server.route("/rss", feed())
    path = tmp_path / "feeds.toml"
    path.write_text(f'[[feed]]\nurl = "{url}"\ntags = ["Tỉnh"]\n', encoding="utf-8")
    assert main(["refresh", "--config", str(path), "-q"]) == 0
    capsys.readouterr()
    return path


def results(capsys: pytest.CaptureFixture[str], config: Path, *query: str) -> list[dict]:
    assert main(["search", "--config", str(config), "--json", *query]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize("query", ["lanh dao trung uong", "dang bo", "ĐẢNG", "thai nguyen", "tag:tinh thai"])
def test_unaccented_queries_find_the_seed_article(config: Path, capsys: pytest.CaptureFixture[str], query: str) -> None:
    found = results(capsys, config, query)
    assert found and found[0]["title"].startswith("Lãnh đạo Trung ương")
    assert found[0]["feed_title"] == "Báo Tỉnh Nhà" and found[0]["snippet"]


def test_cafe_both_ways_and_highlights(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for query in ("cafe", "café"):
        (hit,) = results(capsys, config, query)
        assert hit["title"] == "Một ly café ở Hà Nội"
        start, end = hit["highlights"][0]
        assert hit["snippet"][start:end].lower() == "café"


@pytest.mark.parametrize("query", ['"', "*", ":", "(", "NEAR", "-", "^", 'a"b', "feed:", "before:someday",
                                   "'; DROP TABLE articles; --", "-cafe"])
def test_hostile_queries_answer_or_explain(config: Path, capsys: pytest.CaptureFixture[str], query: str) -> None:
    status = main(["search", "--config", str(config), "--", query])
    captured = capsys.readouterr()
    assert status in (0, 2)
    assert "Traceback" not in captured.err
    if status == 2:
        assert captured.err.startswith("docbao: ")
    assert main(["articles", "--config", str(config), "--json"]) == 0  # the cache is intact
    assert len(capsys.readouterr().out.splitlines()) == 3


def test_articles_and_refresh_take_the_feeds_own_title(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # feeds.toml names no title: the one `docbao feeds` shows is the feed's own
    assert main(["feeds", "--config", str(config)]) == 0
    assert "Báo Tỉnh Nhà" in capsys.readouterr().out
    assert main(["articles", "--config", str(config), "--feed", "báo tỉnh nhà"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 3 and all("Báo Tỉnh Nhà" in line for line in listed)
    assert main(["refresh", "--config", str(config), "--feed", "Báo Tỉnh Nhà"]) == 0
    out = capsys.readouterr().out
    assert "unchanged" in out and "Báo Tỉnh Nhà" in out and out.rstrip().splitlines()[-1].startswith("1 feed: 0 new,")
    assert main(["articles", "--config", str(config), "--feed", "Báo Tỉnh"]) == 2
    assert "no subscribed feed has the URL or title 'Báo Tỉnh'" in capsys.readouterr().err


def test_search_output_ends_with_a_newline(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--config", str(config), "cafe"]) == 0
    out = capsys.readouterr().out
    assert "Một ly café ở Hà Nội" in out and out.endswith("\n") and not out.endswith("\n\n")


def test_ignored_articles_are_hidden_and_a_bad_rule_disables_only_itself(
        config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config.write_text(config.read_text(encoding="utf-8")
                      + '\n[[ignore]]\nquery = "title:cafe"\n\n[[ignore]]\nquery = "is:never"\n', encoding="utf-8")
    assert main(["articles", "--config", str(config)]) == 0
    captured = capsys.readouterr()
    listed = captured.out.splitlines()
    assert len(listed) == 2 and not any("café" in line for line in listed)
    assert "warning: ignore query 'is:never' not applied: is: takes unread, read or starred" in captured.err
    assert main(["articles", "--config", str(config), "--limit", "1", "--json"]) == 0
    listed = [json.loads(line)["title"] for line in capsys.readouterr().out.splitlines()]
    assert listed == ["Lãnh đạo Trung ương làm việc với Ban Thường vụ Tỉnh ủy Thái Nguyên"]  # undated: the feed's order
    assert main(["search", "--config", str(config), "ha noi"]) == 0  # the café article's words
    captured = capsys.readouterr()
    assert captured.out == "" and "no articles match" in captured.err
    assert [hit["title"] for hit in results(capsys, config, "vang")] == ["Giá vàng hôm nay"]
    assert [hit["title"] for hit in results(capsys, config, "title:ha")] == []


def test_a_search_says_when_more_match_than_it_lists(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--config", str(config), "--limit", "1", "thai nguyen"]) == 0
    captured = capsys.readouterr()
    assert "more articles match" not in captured.err  # one article holds both words
    assert main(["search", "--config", str(config), "--limit", "2", "--json", "tag:tinh"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 2
    assert "more articles match: the best 2 are listed (--limit N for more)" in captured.err
    assert main(["search", "--config", str(config), "--limit", "3", "tag:tinh"]) == 0
    assert "more articles match" not in capsys.readouterr().err


def test_an_unsubscribed_feeds_articles_are_not_found(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = config.read_text(encoding="utf-8").split('"')[1]
    assert main(["remove", "--config", str(config), url, "--yes"]) == 0
    capsys.readouterr()
    assert main(["search", "--config", str(config), "cafe"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "no articles match" in captured.err
    assert main(["add", "--config", str(config), url]) == 0  # subscribed again: they are back
    capsys.readouterr()
    assert [hit["title"] for hit in results(capsys, config, "cafe")] == ["Một ly café ở Hà Nội"]


def test_a_saved_search_or_ignore_rule_that_cannot_be_read_is_named_with_why(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Such a query matches nothing: every command says so, as it says other mistakes of
    feeds.toml, and goes on."""
    config = tmp_path / "feeds.toml"
    config.write_text('[[search]]\nname = "Broken"\nquery = "\\"unclosed"\n\n[[search]]\nname = "Fine"\nquery = "tin"\n'
                      '\n[[ignore]]\nquery = "is:bogus"\n', encoding="utf-8")
    assert main(["--config", str(config), "--cache", str(tmp_path / "cache"), "feeds"]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("docbao: warning:")]
    assert warnings == [
        f"docbao: warning: {config}: [[search]] 'Broken' matches nothing: a quote is not closed: add the closing \" "
        "or remove the opening one",
        f"docbao: warning: {config}: [[ignore]] query = 'is:bogus' matches nothing: is: takes unread, read or starred "
        "(not 'bogus')",
    ]
