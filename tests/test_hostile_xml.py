"""XML that tries to expand, read local files or reach the network, refreshed together with
a good feed in one `docbao refresh` process whose peak memory is measured.

Every hostile document must end as its own feed's error, or be read with its entities
left unexpanded; no file is read, no URL is asked for on the document's behalf, and the
good feed is stored as if nothing happened."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.server import LocalServer
from tests.hostile import (
    PEAK_RSS_LIMIT,
    Run,
    cache_db,
    docbao,
    query,
    rss,
    simple_items,
    write_config,
)

TIMEOUT = 3
PASSWD_MARKERS = ("root:x:0:0", "root:*:0:0", "/bin/sh", "/usr/sbin/nologin")


def laughs(decoy: bool = False, levels: int = 10) -> str:
    """Billion laughs: ten levels of ten references each (10^9 "lol"s)."""
    decl = '<!ENTITY ok "harmless">' if decoy else ""
    decl += '<!ENTITY lol0 "lol">'
    decl += "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, levels))
    return (f'<?xml version="1.0"?><!DOCTYPE rss [{decl}]><rss version="2.0"><channel><title>Laughs'
            f'{" &ok;" if decoy else ""}</title><item><title>&lol{levels - 1};</title><guid>l</guid>'
            f"<description>&lol{levels - 1};</description></item></channel></rss>")


def quadratic(total: int) -> str:
    """The quadratic blowup: one entity of n characters referenced n/3 times, in a file
    of about `total` bytes; expanding it takes O(n^2) memory."""
    n = total // 2
    refs = "&a;" * (n // 3)
    return (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "{"A" * n}">]><rss version="2.0"><channel>'
            f"<title>Quadratic</title><item><title>q</title><guid>q</guid><description>{refs}</description>"
            "</item></channel></rss>")


def documents(port: int) -> dict[str, bytes]:
    """name -> hostile document; `port` is the local server that must never be asked."""
    base = f"http://127.0.0.1:{port}"
    item = "<item><title>{title}</title><guid>{guid}</guid><link>https://e.example/{guid}</link><description>{body}</description></item>"

    def feed(doctype: str, title: str = "t", body: str = "b", prolog: str = '<?xml version="1.0"?>', extra: str = "") -> str:
        return (f'{prolog}{doctype}<rss version="2.0"><channel><title>Hostile</title>{extra}'
                + item.format(title=title, guid="x", body=body) + "</channel></rss>")

    docs = {
        "billion-laughs": laughs(),
        "billion-laughs-decoy-first": laughs(decoy=True),
        "billion-laughs-utf16": laughs().replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="utf-16"?>'),
        "quadratic-26kb": quadratic(26 * 1024),
        "quadratic-129kb": quadratic(129 * 1024),
        "quadratic-small-entity": '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "' + "B" * 1000 + '">]>'
        + '<rss version="2.0"><channel><title>Q</title><item><title>q</title><guid>q</guid><description>'
        + "&a;" * 40000 + "</description></item></channel></rss>",
        "xxe-file": feed('<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', "&xxe;", "&xxe;"),
        "xxe-file-attribute": feed('<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
                                   extra='<image><url>&xxe;</url></image><link>&xxe;</link>'),
        "xxe-http": feed(f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{base}/x">]>', "&xxe;", "&xxe;"),
        "xxe-public": feed(f'<!DOCTYPE rss [<!ENTITY xxe PUBLIC "-//X//EN" "{base}/public">]>', "&xxe;", "&xxe;"),
        "parameter-entities": feed(
            f'<!DOCTYPE rss [<!ENTITY % remote SYSTEM "{base}/p.dtd"> %remote; '
            "<!ENTITY % inner \"<!ENTITY boom 'boom'>\"> %inner;]>", "&boom;"),
        "parameter-local-file": feed('<!DOCTYPE rss [<!ENTITY % f SYSTEM "file:///etc/passwd"> %f;]>'),
        "external-dtd": feed(f'<!DOCTYPE rss SYSTEM "{base}/rss.dtd">', "t &amp; &eacute; &nbsp;x"),
        "external-dtd-public": feed(f'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "{base}/rss-0.91.dtd">'),
        "doctype-after-comment-and-pi": feed('<!DOCTYPE rss [<!ENTITY lol "lol"><!ENTITY l2 "&lol;&lol;&lol;">]>',
                                             "&l2;", prolog='<?xml version="1.0"?><!-- ]> --><?pi ]>?>'),
        "subset-with-quoted-bracket": feed('<!DOCTYPE rss [<!ENTITY q "]>"><!ENTITY lol "lol"><!ENTITY l2 "&lol;&lol;">]>', "&l2;"),
        "lowercase-doctype": feed('<!doctype rss [<!entity xxe system "file:///etc/passwd">]>', "&xxe;", "&xxe;"),
        "doctype-inside-the-channel": ('<?xml version="1.0"?><rss version="2.0"><channel><title>Stray</title>'
                                       '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                                       + item.format(title="&xxe;", guid="x", body="&xxe;") + "</channel></rss>"),
        "dtd-only": '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "b">]>',
        "dtd-only-external": f'<!DOCTYPE rss SYSTEM "{base}/only.dtd">',
        "unterminated-doctype": '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "b">' + " " * 1000,
        "xinclude": feed("", body="x", extra=f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd" parse="text"/>'
                                               f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{base}/xi" parse="text"/>'),
        "stylesheet-pi": feed("", prolog=f'<?xml version="1.0"?><?xml-stylesheet type="text/xsl" href="{base}/style.xsl"?>'),
        "atom-laughs": laughs().replace('<rss version="2.0"><channel>', '<feed xmlns="http://www.w3.org/2005/Atom">')
        .replace("</channel></rss>", "</feed>").replace("<item>", "<entry>").replace("</item>", "</entry>"),
    }
    out = {name: text.encode("utf-8") for name, text in docs.items()}
    out["billion-laughs-utf16"] = docs["billion-laughs-utf16"].encode("utf-16")
    return out


# Which documents must be refused outright (the rest may be read with entities left alone).
REFUSED = {"billion-laughs", "billion-laughs-decoy-first", "billion-laughs-utf16", "quadratic-26kb",
           "quadratic-129kb", "quadratic-small-entity", "dtd-only", "dtd-only-external",
           "unterminated-doctype", "atom-laughs", "parameter-entities"}


@dataclass
class World:
    folder: Path
    run: Run
    urls: dict[str, str]
    hits: list[str]  # paths the server was asked for

    @property
    def db(self) -> Path:
        return cache_db(self.folder)

    def outcome(self, name: str) -> tuple[str, str, int]:
        """(last_status, last_error, articles) of the named feed."""
        return query(self.db, "SELECT last_status, last_error, total FROM feeds WHERE url = ?", (self.urls[name],))[0]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("xml")
    with LocalServer() as srv:
        urls = {name: srv.route(f"/{name}.xml", body, content_type="application/rss+xml", gzip=False)
                for name, body in documents(srv.port).items()}
        urls["good"] = srv.route("/good.xml", rss(simple_items(30)))
        config = write_config(folder, list(urls.values()), timeout=TIMEOUT)
        run = docbao("refresh", "--config", str(config), cwd=folder, timeout=TIMEOUT * 3 + 10)
        hits = [r.path for r in srv.requests]
        yield World(folder, run, urls, hits)


def test_the_refresh_ends_in_bounded_time_and_memory(world: World) -> None:
    print(f"refresh of {len(world.urls)} feeds: {world.run.elapsed:.1f} s, peak RSS {world.run.peak_rss >> 20} MB")
    assert world.run.returncode == 1  # some feeds failed, for feed reasons
    assert "Traceback" not in world.run.err
    assert world.run.peak_rss < PEAK_RSS_LIMIT, f"peak RSS {world.run.peak_rss >> 20} MB"


def test_the_good_feed_is_stored_whole(world: World) -> None:
    assert world.outcome("good") == ("ok", "", 30)


def test_no_url_is_fetched_on_a_documents_behalf(world: World) -> None:
    """Only the configured feeds were asked for: no DTD, entity, XInclude or stylesheet URL."""
    assert sorted(world.hits) == sorted(f"/{name}.xml" for name in world.urls)


def test_no_local_file_reaches_the_cache(world: World) -> None:
    conn_rows = query(world.db, "SELECT title || site_link || last_error FROM feeds")
    conn_rows += query(world.db, "SELECT title || link || author || summary || content || enclosures FROM articles")
    text = "\n".join(row[0] for row in conn_rows)
    assert not any(marker in text for marker in PASSWD_MARKERS)
    assert Path("/etc/passwd").read_text()[:40] not in text


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_expanding_documents_are_refused_as_their_feeds_error(world: World, name: str) -> None:
    status, error, total = world.outcome(name)
    assert (status, total) == ("error", 0), (name, error)
    assert error and ("refused" in error or "not a feed" in error), error


@pytest.mark.parametrize("name", ["xxe-file", "xxe-http", "xxe-public", "lowercase-doctype",
                                  "doctype-inside-the-channel"])
def test_external_entities_stay_unexpanded(world: World, name: str) -> None:
    status, error, total = world.outcome(name)
    if status == "error":
        assert total == 0 and error
        return
    (title, body) = query(world.db, "SELECT a.title, a.content FROM articles a JOIN feeds f ON f.id = a.feed_id"
                                    " WHERE f.url = ?", (world.urls[name],))[0]
    assert title in ("", "&xxe;"), title
    assert body in ("", "<p>&amp;xxe;</p>", "&amp;xxe;"), body


@pytest.mark.parametrize("name", ["doctype-after-comment-and-pi", "subset-with-quoted-bracket"])
def test_nested_entities_behind_a_disguised_doctype_are_refused(world: World, name: str) -> None:
    status, error, total = world.outcome(name)
    assert (status, total) == ("error", 0) and "refused" in error, error


@pytest.mark.parametrize("name", ["external-dtd", "external-dtd-public", "xinclude", "stylesheet-pi",
                                  "xxe-file-attribute", "parameter-local-file"])
def test_a_harmless_feed_behind_an_ignored_dtd_is_read(world: World, name: str) -> None:
    status, error, total = world.outcome(name)
    assert status == "ok" and total == 1, (name, error)


def test_html_entities_of_an_rss_091_dtd_still_read(world: World) -> None:
    ((title,),) = query(world.db, "SELECT a.title FROM articles a JOIN feeds f ON f.id = a.feed_id WHERE f.url = ?",
                        (world.urls["external-dtd"],))
    assert title == "t & é x"  # &nbsp; is a space in a one-line title
