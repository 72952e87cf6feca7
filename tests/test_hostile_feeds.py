"""Awkward but real feeds end to end: encodings and structure.

Encodings: NUL bytes, invalid UTF-8, a wrong declaration either way, a BOM, UTF-16 LE/BE
with and without a BOM, UTF-32, windows-1258 (Vietnamese with combining tone marks) and
undeclared KOI8-R. Structure: missing title/link/guid, duplicate guids, one guid in two
feeds, dates far in the past and future and invalid, SQL metacharacters in every field,
relative links under xml:base chains (and hostile bases). Each feed is refreshed twice
with the same bytes: stored as valid NFC text without NULs, and the second refresh finds
the same articles under the same ids."""

from __future__ import annotations

import codecs
import itertools
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

import pytest

from tests.server import LocalServer
from tests.hostile import Run, cache_db, controls_in, docbao, query, write_config
from tui.content.sanitize import is_openable_url

TITLE = "Lãnh đạo tỉnh Thái Nguyên làm việc"


def document(title: str, declaration: str | None = "utf-8", guid: str = "g1", name: str = "Tin tức") -> str:
    prolog = f'<?xml version="1.0" encoding="{declaration}"?>' if declaration else ""
    return (f'{prolog}<rss version="2.0"><channel><title>{name}</title><link>https://e.example/</link>'
            f"<item><title>{title}</title><guid>{guid}</guid><link>https://e.example/{guid}</link>"
            f"<description>&lt;p&gt;{title}&lt;/p&gt;</description></item></channel></rss>")


def windows_1258(text: str) -> bytes:
    """Vietnamese as windows-1258 writes it: a precomposed base letter where the code page
    has one, then combining tone marks."""
    out = b""
    for char in text:
        base, *marks = unicodedata.normalize("NFD", char)
        for kept in sorted(itertools.product((True, False), repeat=len(marks)), key=lambda k: -sum(k)):
            head = unicodedata.normalize("NFC", base + "".join(m for m, k in zip(marks, kept) if k))
            rest = "".join(m for m, k in zip(marks, kept) if not k)
            try:
                out += head.encode("cp1258") + rest.encode("cp1258")
                break
            except UnicodeEncodeError:
                continue
        else:
            raise ValueError(f"{char!r} has no windows-1258 form")
    return out


# name -> (bytes, the title a reader must see, or None when bytes were lost)
ENCODINGS: dict[str, tuple[bytes, str | None]] = {
    "nul-bytes": (document("Lãnh\x00 đạo tỉnh\x00 Thái Nguyên làm việc").encode(), TITLE),
    "invalid-utf8": (document(TITLE).encode().replace("Thái".encode(), b"Th\xff\xfe\xc3("), None),
    "declared-latin1-is-utf8": (document(TITLE, "iso-8859-1").encode("utf-8"), TITLE),
    "declared-utf8-is-cp1252": (document("Café crème à Paris", "utf-8", name="Nouvelles").encode("cp1252"),
                                "Café crème à Paris"),
    "utf8-bom": (codecs.BOM_UTF8 + document(TITLE).encode(), TITLE),
    "utf16le-bom": (codecs.BOM_UTF16_LE + document(TITLE, "utf-16").encode("utf-16-le"), TITLE),
    "utf16be-bom": (codecs.BOM_UTF16_BE + document(TITLE, "utf-16").encode("utf-16-be"), TITLE),
    "utf16le-no-bom": (document(TITLE, "utf-16").encode("utf-16-le"), TITLE),
    "utf16be-no-bom": (document(TITLE, "utf-16").encode("utf-16-be"), TITLE),
    "utf16-declared-utf8": (codecs.BOM_UTF16_LE + document(TITLE, "utf-8").encode("utf-16-le"), TITLE),
    "utf16-undeclared": (document(TITLE, None).encode("utf-16-le"), TITLE),
    "utf32": (document(TITLE, "utf-32").encode("utf-32"), TITLE),
    "windows-1258": (windows_1258(document(TITLE, "windows-1258")), TITLE),
    "koi8r-undeclared": (document("Новости дня и политика России сегодня", None, name="Новости").encode("koi8-r"),
                         "Новости дня и политика России сегодня"),
}

SQL = "'; DROP TABLE articles; --"
NOW = int(time.time())


def item(**fields: str) -> str:
    return "<item>" + "".join(f"<{k}>{v}</{k}>" for k, v in fields.items()) + "</item>"


def channel(title: str, *items: str, attrs: str = "", channel_attrs: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"{attrs}><channel{channel_attrs}>'
            f"<title>{title}</title>{''.join(items)}</channel></rss>").encode()


STRUCTURE: dict[str, bytes] = {
    "missing-parts": channel(
        "Thiếu",
        item(description="Chỉ có nội dung, không tiêu đề, không link, không guid"),
        item(title="Chỉ có tiêu đề"),
        item(link="https://e.example/only-link"),
        item(),  # nothing at all: not an article
        item(title="", link="", guid=""),
    ),
    "duplicate-guids": channel(
        "Trùng",
        item(title="Bản đầu", guid="dup", pubDate="Sat, 23 May 2020 10:00:00 +0700"),
        item(title="Bản sau", guid="dup", pubDate="Sat, 23 May 2020 09:00:00 +0700"),
        item(title="Khác", guid="other"),
    ),
    "shared-guid-a": channel("Báo A", item(title="Cùng guid ở A", guid="shared-guid")),
    "shared-guid-b": channel("Báo B", item(title="Cùng guid ở B", guid="shared-guid")),
    "dates": channel(
        "Ngày tháng",
        item(title="Năm 9999", guid="y9999", pubDate="Fri, 31 Dec 9999 23:59:59 GMT"),
        item(title="Năm 2100", guid="y2100", pubDate="Fri, 01 Jan 2100 00:00:00 GMT"),
        item(title="Hôm nay", guid="today", pubDate=formatdate(NOW - 3600, usegmt=True)),
        item(title="Năm 1970", guid="epoch", pubDate="Thu, 01 Jan 1970 00:00:00 GMT"),
        item(title="Năm 1900", guid="y1900", pubDate="Mon, 01 Jan 1900 00:00:00 GMT"),
        item(title="Không phải ngày", guid="invalid", pubDate="not a date"),
        item(title="Ngày 30/2", guid="feb30", pubDate="Sun, 30 Feb 2020 10:00:00 GMT"),
        item(title="Múi giờ lạ", guid="tz", pubDate="Sat, 23 May 2020 21:00:00 +9999"),
        item(title="Năm quá lớn", guid="huge", pubDate="Sat, 23 May 99999999999 21:00:00 GMT"),
    ),
    "sql": channel(
        SQL,
        item(title=SQL, guid="x'); DELETE FROM feeds; --", link="https://e.example/?q=1'%20OR%20'1'='1",
             author="Robert'); DROP TABLE students;--", description="&lt;p&gt;" + SQL + " \" ` \\ %_&lt;/p&gt;"),
        item(title='"; UPDATE articles SET read = 1; --', guid="2 OR 1=1"),
    ),
    "xml-base": channel(
        "Base",
        item(guid="chain", link="d.html", description="&lt;a href=\"e.html\"&gt;e&lt;/a&gt;&lt;img src=\"/i.png\"&gt;")
        .replace("<item>", '<item xml:base="../c/">'),
        item(guid="root-relative", link="/abs.html", title="tuyệt đối"),
        item(guid="javascript-base", link="d.html", description="&lt;a href=\"y.html\"&gt;y&lt;/a&gt;")
        .replace("<item>", '<item xml:base="javascript:alert(1)//">'),
        item(guid="file-base", link="passwd", description="&lt;a href=\"shadow\"&gt;s&lt;/a&gt;")
        .replace("<item>", '<item xml:base="file:///etc/">'),
        attrs=' xml:base="http://e.example/a/"', channel_attrs=' xml:base="b/"',
    ),
    "no-base": channel("Relative", item(guid="rel", link="bai-viet.html", title="tương đối")),
}


@dataclass
class World:
    folder: Path
    config: Path
    urls: dict[str, str]
    first: Run
    second: Run
    ids_first: dict[tuple[str, str], int]
    refreshed_at: int

    @property
    def db(self) -> Path:
        return cache_db(self.folder)

    def articles(self, name: str) -> dict[str, tuple]:
        """guid -> (id, title, link, author, content, published, sort_time) of one feed."""
        rows = query(self.db, "SELECT a.guid, a.id, a.title, a.link, a.author, a.content, a.published, a.sort_time"
                              " FROM articles a JOIN feeds f ON f.id = a.feed_id WHERE f.url = ?", (self.urls[name],))
        return {row[0]: row[1:] for row in rows}


def all_ids(db: Path) -> dict[tuple[str, str], int]:
    return {(url, guid): article_id for url, guid, article_id in
            query(db, "SELECT f.url, a.guid, a.id FROM articles a JOIN feeds f ON f.id = a.feed_id")}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("feeds")
    with LocalServer() as srv:
        urls = {name: srv.route(f"/{name}.xml", body, content_type="application/xml", gzip=False)
                for name, (body, _) in ENCODINGS.items()}
        urls |= {name: srv.route(f"/{name}.xml", body, gzip=False) for name, body in STRUCTURE.items()}
        config = write_config(folder, list(urls.values()))
        started = int(time.time())
        first = docbao("refresh", "--config", str(config), cwd=folder)
        ids = all_ids(cache_db(folder))
        second = docbao("refresh", "--config", str(config), cwd=folder)
        yield World(folder, config, urls, first, second, ids, started)


def test_every_feed_is_read_both_times(world: World) -> None:
    for run in (world.first, world.second):
        assert run.returncode == 0, run.out + run.err
    statuses = dict(query(world.db, "SELECT url, last_status FROM feeds"))
    assert set(statuses.values()) == {"ok"}


def test_the_same_bytes_give_the_same_articles_and_ids(world: World) -> None:
    assert all_ids(world.db) == world.ids_first
    lines = world.second.out.splitlines()
    assert lines[-1].startswith(f"{len(world.urls)} feeds: 0 new,")
    unchanged = [line for line in lines if line.startswith("ok ")]
    assert len(unchanged) == len(world.urls)
    assert all(" 0 new    0 updated" in line for line in unchanged if not line.endswith("Ngày tháng")), lines


def test_a_future_dated_item_is_not_updated_by_the_same_bytes(world: World) -> None:
    (line,) = [line for line in world.second.out.splitlines() if line.endswith("Ngày tháng")]
    assert " 0 updated" in line, line


@pytest.mark.parametrize("name", list(ENCODINGS))
def test_text_is_decoded_to_clean_nfc(world: World, name: str) -> None:
    _, expected = ENCODINGS[name]
    ((_id, title, _link, _author, content, *_),) = world.articles(name).values()
    for text in (title, content):
        assert "\x00" not in text and "\ufeff" not in text and controls_in(text) == []
        assert unicodedata.is_normalized("NFC", text)
    if expected is None:
        assert title.startswith("Lãnh đạo tỉnh Th") and title.endswith("Nguyên làm việc")
    else:
        assert title == expected
        assert content == f"<p>{expected}</p>"


def test_feed_titles_survive_the_encodings(world: World) -> None:
    titles = {url: title for url, title in query(world.db, "SELECT url, title FROM feeds")}
    for name, (_, expected) in ENCODINGS.items():
        if expected in (TITLE, None):
            assert titles[world.urls[name]] == "Tin tức", name
    assert titles[world.urls["koi8r-undeclared"]] == "Новости"
    assert titles[world.urls["declared-utf8-is-cp1252"]] == "Nouvelles"


def test_missing_parts_still_make_stable_articles(world: World) -> None:
    articles = world.articles("missing-parts")
    titles = sorted(row[1] for row in articles.values())
    assert titles == ["", "", "Chỉ có tiêu đề"]
    assert {row[2] for row in articles.values()} == {"", "https://e.example/only-link"}
    assert all(guid for guid in articles)


def test_a_duplicate_guid_is_one_article_the_first(world: World) -> None:
    articles = world.articles("duplicate-guids")
    assert sorted(articles) == ["dup", "other"] and articles["dup"][1] == "Bản đầu"


def test_one_guid_in_two_feeds_is_two_articles(world: World) -> None:
    a, b = world.articles("shared-guid-a"), world.articles("shared-guid-b")
    assert a["shared-guid"][1] == "Cùng guid ở A" and b["shared-guid"][1] == "Cùng guid ở B"
    assert a["shared-guid"][0] != b["shared-guid"][0]


def test_impossible_dates_are_unknown_not_errors(world: World) -> None:
    articles = world.articles("dates")
    assert len(articles) == 9
    for guid in ("epoch", "y1900", "invalid", "feb30", "tz", "huge"):
        published, sort_time = articles[guid][5], articles[guid][6]
        assert published is None and world.refreshed_at - 5 <= sort_time <= int(time.time()), guid
    assert articles["today"][5] == NOW - 3600


def test_future_dates_are_never_stored_in_the_future(world: World) -> None:
    articles = world.articles("dates")
    for guid in ("y9999", "y2100"):
        assert articles[guid][6] <= int(time.time()) + 60, guid
    listing = docbao("articles", "--config", str(world.config), "--feed", world.urls["dates"], cwd=world.folder)
    assert listing.returncode == 0 and listing.out.count("\n") == 9
    assert "  9999-" not in listing.out and "  2100-" not in listing.out


def test_a_year_9999_item_is_dated_when_first_seen(world: World) -> None:
    """Its date is unknown, so it sorts by when docbao first saw it: on top only until
    something newer arrives, never forever."""
    ((published, sort_time, first_seen),) = query(
        world.db, "SELECT a.published, a.sort_time, a.first_seen FROM articles a JOIN feeds f"
                  " ON f.id = a.feed_id WHERE f.url = ? AND a.guid = 'y9999'", (world.urls["dates"],))
    assert published is None and sort_time == first_seen <= int(time.time())


def test_sql_metacharacters_are_plain_text(world: World) -> None:
    articles = world.articles("sql")
    assert sorted(articles) == ["2 OR 1=1", "x'); DELETE FROM feeds; --"]
    first = articles["x'); DELETE FROM feeds; --"]
    assert first[1] == SQL and first[3] == "Robert'); DROP TABLE students;--"
    assert SQL in first[4] and "%_" in first[4]
    assert articles["2 OR 1=1"][1] == '"; UPDATE articles SET read = 1; --'
    assert query(world.db, "SELECT count(*) FROM articles WHERE read = 1") == [(0,)]
    assert query(world.db, "SELECT count(*) FROM feeds") == [(len(world.urls),)]
    assert query(world.db, "SELECT title FROM feeds WHERE url = ?", (world.urls["sql"],)) == [(SQL,)]
    listing = docbao("articles", "--config", str(world.config), "--feed", world.urls["sql"], cwd=world.folder)
    assert listing.returncode == 0 and SQL in listing.out


def test_xml_base_chains_resolve_links_and_bodies(world: World) -> None:
    articles = world.articles("xml-base")
    assert articles["chain"][2] == "http://e.example/a/c/d.html"
    assert 'href="http://e.example/a/c/e.html"' in articles["chain"][4]
    assert 'src="http://e.example/i.png"' in articles["chain"][4]
    assert articles["root-relative"][2] == "http://e.example/abs.html"


def test_a_hostile_base_never_makes_a_link_openable(world: World) -> None:
    articles = world.articles("xml-base")
    for guid in ("javascript-base", "file-base"):
        link, content = articles[guid][2], articles[guid][4]
        assert link == "" or is_openable_url(link)
        assert "javascript:" not in content and "file:" not in content


def test_without_a_base_links_resolve_against_the_feed(world: World) -> None:
    assert world.articles("no-base")["rel"][2] == world.urls["no-base"].rsplit("/", 1)[0] + "/bai-viet.html"
