"""A podcast with the installed docbao: a refresh queues the new episode of a `download =
true` feed, the downloads view shows it, `e` downloads another with its progress in the
status line, `docbao download` in a shell fetches the queue while the open reader's
downloads view follows it, and `P` plays the file. Every assertion is about what is on
the screen or on the disk."""

from __future__ import annotations

import random
import stat
import time
from pathlib import Path

from tests.e2e.harness import Reader, pane_text, write_config
from tests.server import LocalServer


def test_a_podcast_is_queued_downloaded_and_played(reader: Reader, feed_server: LocalServer, tmp_path: Path) -> None:
    first = random.Random(1).randbytes(3 * 1024 * 1024)
    second = random.Random(2).randbytes(1024 * 1024)
    feed_server.route("/ep/one.mp3", first, content_type="audio/mpeg", gzip=False, ranges=True, pace=0.02)
    feed_server.route("/ep/two.mp3", second, content_type="audio/mpeg", gzip=False, ranges=True, pace=0.02)
    feed = feed_server.route("/pod.rss", f"""<?xml version="1.0"?><rss version="2.0"
 xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel><title>Đài Tiếng Nói</title>
<item><guid>1</guid><title>Tập 1: Hà Nội</title><description>Ghi chú.</description>
<pubDate>Sat, 23 May 2020 10:00:00 GMT</pubDate><itunes:duration>12:34</itunes:duration>
<enclosure url="{feed_server.url('/ep/one.mp3')}" type="audio/mpeg" length="{len(first)}"/>
<enclosure url="{feed_server.url('/ep/two.mp3')}" type="audio/mpeg" length="{len(second)}"/></item>
</channel></rss>""", content_type="application/rss+xml")
    played = tmp_path / "played"
    player = tmp_path / "player"
    player.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{played}"\n')
    player.chmod(player.stat().st_mode | stat.S_IXUSR)
    media = tmp_path / "Podcasts"
    config = write_config(tmp_path / "feeds.toml", [feed],
                          settings={"download_dir": str(media), "player": [str(player), "%f"]},
                          feed_options={feed: {"download": True}})
    cache = tmp_path / "cache"
    where = ["--config", str(config), "--cache", str(cache)]

    done = reader.cli(*where, "refresh")
    assert done.returncode == 0 and "2 enclosures queued" in done.stdout, done.stdout + done.stderr
    reader.start(config, cache)
    reader.keys("E")
    rows = reader.wait_for("Downloads: 2 queued")
    assert sum("queued" in row and "Tập 1: Hà Nội" in row for row in rows) == 2
    reader.keys("q")
    reader.wait_for(lambda rows: "Downloads:" not in "\n".join(rows))

    reader.keys(["j", "Enter", "Enter"])  # the feed, its episode
    rows = reader.wait_for("Ghi chú.")
    text = pane_text(rows)
    assert "#1 Audio · 12:34 · 3.0 MB" in text and "#2 Audio · 1.0 MB" in text, text
    reader.keys("e")
    reader.wait_for("number (1-2)")
    reader.keys(["2", "Enter"])
    reader.wait_for_status(r"↓ .*of 1\.0 MB")  # its progress in the status line
    reader.wait_for("Downloaded two.mp3")
    folder = media / "Đài Tiếng Nói"
    assert (folder / "two.mp3").read_bytes() == second

    reader.keys("E")
    reader.wait_for("Downloads: 1 queued · 1 done")
    shell = reader.cli(*where, "download")  # cron's job, while the reader looks on
    assert shell.returncode == 0 and "1 download done, 0 failed" in shell.stdout, shell.stdout + shell.stderr
    rows = reader.wait_for("Downloads: 2 done")
    assert any("one.mp3" in row and "3.0 MB" in row for row in rows)
    assert (folder / "one.mp3").read_bytes() == first
    reader.keys("q")
    reader.wait_for(lambda rows: "Downloads:" not in "\n".join(rows))

    reader.keys("P")
    reader.wait_for("number (1-2)")
    reader.keys(["1", "Enter"])
    deadline = time.monotonic() + 20
    while not played.exists():
        assert time.monotonic() < deadline, "\n".join(reader.screen())
        time.sleep(0.1)
    assert played.read_text().splitlines() == [str(folder / "one.mp3")]
    reader.wait_for("Ghi chú.")  # back from the player, as it was
    assert reader.quit("Q") == 0
