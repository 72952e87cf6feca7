"""Reading in the installed reader at a common terminal size: an opened article gets the
screen, its lines far wider than the third of a pane it used to have."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.harness import Reader, panes, rss, write_config
from tests.server import LocalServer

SENTENCE = ("Rain is expected across the northern provinces through the weekend, and the ferries to the "
            "islands will keep to their winter timetable until the storm has passed. ")


def long_article_feed(server: LocalServer) -> str:
    body = "".join(f"<p>{SENTENCE * 3}</p>" for _ in range(6))
    item = dict(title="Weekend weather", link=server.url("/weather/" + "long-path-segment/" * 10 + "forecast.html"),
                guid="weather-1", date="Mon, 01 Jan 2024 08:00:00 GMT",
                body=body.replace("<", "&lt;").replace(">", "&gt;"))
    return server.route("/weather.xml", rss("Weather desk", [item]), content_type="application/rss+xml")


def test_an_opened_article_reads_wider_than_80_cells_at_120x36(reader: Reader, feed_server: LocalServer,
                                                               tmp_path: Path) -> None:
    config = write_config(tmp_path / "feeds.toml", [long_article_feed(feed_server)])
    reader.start(config, tmp_path / "cache", size=(120, 36))
    reader.keys("R")
    reader.wait_for_status(r"1 unread · 1 article")
    reader.keys("n")  # the first unread article, from any pane
    rows = reader.wait_for(lambda rows: len(panes(rows)) == 1 and "ferries" in "\n".join(rows))
    (start, end), = panes(rows)
    text = [row[start + 1:end].strip("│▁▂▃▄▅▆▇█▔ ") for row in rows[1:-2]]
    widths = [len(line) for line in text if "ferries" in line or "provinces" in line]
    assert widths and max(widths) > 80, "\n".join(rows)
    assert max(len(line) for line in text) <= 100  # the default reading_width
    link = [line for line in text if "/weather/" in line]
    assert len(link) == 1 and link[0].endswith("…")  # the long link on one cut line
    reader.keys("q")  # back: the feeds and the list again
    reader.wait_for(lambda rows: len(panes(rows)) == 2 and "Weekend weather" in rows[1] + rows[2])
    assert reader.quit("Q") == 0
