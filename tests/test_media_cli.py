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
    (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert line["title"] == "Episode 2: Vec<T> and <blink>"
    assert line["image"] == "https://cdn.pod.example/ep2.jpg"
    assert line["enclosures"] == [{"url": "https://cdn.pod.example/ep2.mp3", "type": "audio/mpeg",
                                   "length": 12345678, "duration": 3723}]

    assert main(["read", str(line["id"]), "--config", str(config), "--width", "100"]) == 0
    shown = capsys.readouterr().out
    header = shown.split("Show notes")[0]
    assert "Episode 2: Vec<T> and <blink>" in header
    assert "Audio · 1:02:03 · 11.8 MB · https://cdn.pod.example/ep2.mp3" in header
    assert "Image · https://cdn.pod.example/ep2.jpg" in header

    backup = tmp_path / "backup.json"
    assert main(["export", "--format", "json", "--config", str(config), "-o", str(backup)]) == 0
    (article,) = json.loads(backup.read_text(encoding="utf-8"))["feeds"][0]["articles"]
    assert article["image"] == "https://cdn.pod.example/ep2.jpg"
    assert article["enclosures"][0]["duration"] == 3723

    (tmp_path / "b").mkdir()
    target = tmp_path / "b" / "feeds.toml"
    target.write_text("")
    assert main(["import", str(backup), "--config", str(target)]) == 0
    capsys.readouterr()
    store = Store.open(tmp_path / "b" / "cache")
    try:
        (article_id,) = store.article_ids()
        restored = store.article(article_id)
        assert restored is not None and restored.image == "https://cdn.pod.example/ep2.jpg"
        assert restored.enclosures[0]["duration"] == 3723
    finally:
        store.close()
    # the restored article is what the feed says: a refresh finds it unchanged
    assert main(["refresh", "--config", str(target)]) == 0
    out = capsys.readouterr().out
    assert "0 new" in out and "updated" not in out.replace("0 updated", "")
