"""A new user's first subscription, made with no config at all, with docbao as installed:
from the reader (`a`) and from the shell (`docbao add`). The config is created in the XDG
config folder; the cache the reader opened first, in the XDG cache folder, stays the one in
use, so nothing fetched, read or starred is left behind in a database no one opens again."""

from __future__ import annotations

from tests.e2e.harness import Reader, rss
from tests.server import LocalServer


def serve(server: LocalServer, name: str, title: str) -> str:
    item = dict(title=f"{title}: the first article", link=f"http://127.0.0.1/{name}/1.html", guid=f"{name}-1",
                date="Sun, 06 Dec 2026 08:00:00 GMT", body="The first article of a new subscription.")
    return server.route(f"/{name}.xml", rss(title, [item]).encode(), content_type="application/rss+xml")


def test_the_first_subscriptions_keep_the_cache_the_reader_started_with(
        reader: Reader, feed_server: LocalServer) -> None:
    first = serve(feed_server, "first", "A first feed")
    second = serve(feed_server, "second", "A second feed")
    config = reader.home / ".config" / "docbao" / "feeds.toml"
    cache = reader.home / ".cache" / "docbao"

    reader.start()  # no config anywhere: the cache is opened in the XDG cache folder
    reader.keys(["a"])
    reader.wait_for("ubscribe")
    reader.keys([first, "Enter"])
    reader.wait_for("A first feed: the first article", timeout=60)
    assert reader.quit("Q") == 0
    assert first in config.read_text(encoding="utf-8")
    assert (cache / "docbao.db").exists() and not (config.parent / "cache").exists()

    added = reader.cli("add", second)  # the shell goes on with the same cache too
    assert added.returncode == 0, added.stderr
    assert "1 new article\n" in added.stdout
    listed = reader.cli("articles")
    assert listed.returncode == 0, listed.stderr
    assert "A first feed: the first article" in listed.stdout
    assert "A second feed: the first article" in listed.stdout
    assert not (config.parent / "cache").exists()

    reader.start()  # the next start finds both, where the first one was
    reader.wait_for("A second feed")
    reader.wait_for("A first feed")
    assert reader.quit("Q") == 0
