"""A podcast's media as a user meets them outside the reader: the header of `docbao read`,
`docbao articles --json`, and a JSON backup that `docbao import` restores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.server import LocalServer
from tui.cli.main import main
from tui.store.cache import Store

PODCAST = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
<channel><title>Radio Vec&lt;T&gt;</title><link>https://pod.example/</link>
<item><guid>ep-2</guid><title>Episode 2: Vec&lt;T&gt; and &lt;blink&gt;</title>
<link>https://pod.example/2</link><pubDate>Sat, 23 May 2020 21:00:00 +0700</pubDate>
<description>Show notes for two.</description>
<enclosure url="https://cdn.pod.example/ep2.mp3" type="audio/mpeg" length="12345678"/>
<itunes:duration>1:02:03</itunes:duration><itunes:image href="https://cdn.pod.example/ep2.jpg"/></item>
<item><guid>ep-1</guid><title>Episode 1</title><link>https://pod.example/1</link>
<pubDate>Fri, 22 May 2020 21:00:00 +0700</pubDate>
<description>&lt;p&gt;Notes &lt;img src="/pics/one.png" alt=""&gt; &lt;img src="/pics/two.png"&gt;&lt;/p&gt;</description></item>
</channel></rss>"""


def _config(tmp_path: Path, url: str, name: str = "feeds.toml") -> Path:
    config = tmp_path / name
    config.write_text(f'[[feed]]\nurl = "{url}"\n', encoding="utf-8")
    return config


def test_read_articles_json_and_backup_carry_the_media(
        server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = server.route("/pod.rss", PODCAST, content_type="application/rss+xml")
    (tmp_path / "a").mkdir()
    config = _config(tmp_path / "a", url)
    assert main(["refresh", "--config", str(config), "-q"]) == 0
    capsys.readouterr()

    assert main(["articles", "--config", str(config), "--json"]) == 0
    line, older = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert older["image"] == "https://pod.example/pics/one.png"  # the body's first picture stands in
    assert older["enclosures"] == []
    assert line["title"] == "Episode 2: Vec<T> and <blink>"
    assert line["image"] == "https://cdn.pod.example/ep2.jpg"
    assert line["enclosures"] == [{"url": "https://cdn.pod.example/ep2.mp3", "type": "audio/mpeg",
                                   "length": 12345678, "duration": 3723, "download": None}]

    assert main(["read", str(line["id"]), "--config", str(config), "--width", "100"]) == 0
    shown = capsys.readouterr().out
    header = shown.split("Show notes")[0]
    assert "Episode 2: Vec<T> and <blink>" in header
    assert "Audio · 1:02:03 · 11.8 MB · https://cdn.pod.example/ep2.mp3" in header
    assert "Image · https://cdn.pod.example/ep2.jpg" in header

    backup = tmp_path / "backup.json"
    assert main(["export", "--format", "json", "--config", str(config), "-o", str(backup)]) == 0
    _, article = json.loads(backup.read_text(encoding="utf-8"))["feeds"][0]["articles"]  # (oldest first)
    assert article["image"] == "https://cdn.pod.example/ep2.jpg"
    assert article["enclosures"][0]["duration"] == 3723

    (tmp_path / "b").mkdir()
    target = tmp_path / "b" / "feeds.toml"
    target.write_text("")
    assert main(["import", str(backup), "--config", str(target)]) == 0
    capsys.readouterr()
    store = Store.open(tmp_path / "b" / "cache")
    try:
        article_id, _ = store.article_ids()
        restored = store.article(article_id)
        assert restored is not None and restored.image == "https://cdn.pod.example/ep2.jpg"
        assert restored.enclosures[0]["duration"] == 3723
    finally:
        store.close()
    # the restored article is what the feed says: a refresh finds it unchanged
    assert main(["refresh", "--config", str(target)]) == 0
    out = capsys.readouterr().out
    assert "0 new" in out and "updated" not in out.replace("0 updated", "")
    assert main(["read", str(older["id"]), "--config", str(config), "--width", "100"]) == 0
    assert "Image · https://pod.example/pics/one.png" in capsys.readouterr().out.split("Notes")[0]


def test_media_lines_name_kind_duration_size_and_url() -> None:
    from tui.content.render import lead_image, media_lines

    enclosures = [
        {"url": "https://c.example/a.mp3", "type": "audio/mpeg", "length": 999, "duration": 59},
        {"url": "https://c.example/b.pdf", "type": "application/pdf", "length": 3 * 1024 * 1024},
        {"url": "", "type": "audio/mpeg"},
    ]
    assert media_lines(enclosures, "") == [
        "#1 Audio · 0:59 · 999 B · https://c.example/a.mp3",  # numbered for e and P
        "#2 Attachment (application/pdf) · 3.0 MB · https://c.example/b.pdf",
    ]
    body = '<p><img src="javascript:alert(1)"><img alt="x" src="https://c.example/p.png"></p>'
    assert lead_image("", body) == "https://c.example/p.png"
    assert lead_image("https://c.example/cover.jpg", body) == "https://c.example/cover.jpg"
    assert media_lines([], "", body) == ["Image · https://c.example/p.png"]


def test_an_image_enclosure_that_is_also_the_lead_image_is_listed_once() -> None:
    from tui.content.render import media_lines

    sun = {"url": "https://c.example/sun.png", "type": "image/png", "length": 1000}
    assert media_lines([sun], "https://c.example/sun.png") == ["Image · 1000 B · https://c.example/sun.png"]
    assert media_lines([sun], "https://c.example/moon.png") == [
        "Image · 1000 B · https://c.example/sun.png", "Image · https://c.example/moon.png"]
