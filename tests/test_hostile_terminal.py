"""Terminal injection end to end: escape sequences in every field of RSS, Atom and JSON
Feed documents and of an article page, written raw, as character references, escaped
twice and in CDATA. After one `docbao refresh`, no text cell of the cache and no byte
that `docbao refresh/articles/feeds/read` prints may hold a control character, and the
visible text around the sequences must still be there."""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.server import LocalServer
from tests.hostile import (
    Run,
    cache_db,
    control_refs_in,
    controls_in,
    docbao,
    query,
    rss,
    unsafe_cells,
    unsafe_output,
    write_config,
)
from tui.content.sanitize import is_openable_url

ESC = "\x1b"
# One of each: CSI colour, OSC 52 (clipboard write), OSC 0 and 2 (window title), OSC 8
# (hyperlink), C1 CSI/OSC/ST, and bidi overrides, isolates and marks.
SEQUENCES = {
    "csi": f"{ESC}[31mRED{ESC}[0m",
    "osc52": f"{ESC}]52;c;ZXZpbA==\x07",
    "osc0": f"{ESC}]0;pwned-title\x07",
    "osc2": f"{ESC}]2;pwned-title{ESC}\\",
    "osc8": f"{ESC}]8;;http://evil.example/{ESC}\\click-me{ESC}]8;;{ESC}\\",
    "c1": "\x9b31m\x9d0;c1-title\x9c\x85",
    "bidi": "\u202egnp.exe\u2066iso\u2069\u200f\u061c\u202a",
    "c0": "bell\x07back\x08vt\x0bff\x0cdel\x7f",
}
PAYLOAD = "".join(SEQUENCES.values())
# What a reader should still see of PAYLOAD written raw: its words, nothing of a sequence
# ("[31m", "]0;pwned-title") nor of the overrides and controls.
WORDS = ("RED", "click-me", "gnp.exeiso", "bellbackvtffdel")
SHOWN = "".join(WORDS)


def as_refs(text: str) -> str:
    """Every non-ASCII or control character as a hexadecimal character reference."""
    return "".join(f"&#x{ord(ch):x};" if ord(ch) < 32 or ord(ch) > 126 else html.escape(ch) for ch in text)


def as_decimal_refs(text: str) -> str:
    return "".join(f"&#{ord(ch)};" if ord(ch) < 32 or ord(ch) > 126 else html.escape(ch) for ch in text)


# How a field of an XML feed carries PAYLOAD: the function writes the text of one element.
FORMS = {
    "raw": lambda text: html.escape(text, quote=False),
    "hexref": as_refs,
    "decref": as_decimal_refs,
    # Escaped once more: the XML text is "&#x1b;", which HTML would decode again.
    "double": lambda text: html.escape(as_refs(text), quote=False),
    "cdata": lambda text: f"<![CDATA[{text}{as_refs(text)}]]>",
}


def attribute(form: str) -> str:
    """PAYLOAD in an attribute value, in the form's spirit (CDATA has no attribute form)."""
    if form == "raw":
        return html.escape(PAYLOAD)
    if form == "double":
        return html.escape(as_refs(PAYLOAD))
    return as_decimal_refs(PAYLOAD) if form == "decref" else as_refs(PAYLOAD)


def rss_feed(form: str, page_url: str = "") -> bytes:
    write = FORMS[form]
    item = {
        "title": write(f"Title {form} {PAYLOAD}"),
        "link": page_url or write(f"https://e.example/{form}/{PAYLOAD}"),
        "guid": write(f"guid-{form}-{PAYLOAD}"),
        "author": write(f"reporter@e.example (Author {form} {PAYLOAD})"),
        "description": write(f"<p>Lead {form} {PAYLOAD}</p>"),
        "content:encoded": write(f"<p>Body {form} {PAYLOAD}</p><p><b>bold {PAYLOAD}</b></p>"),
        "<enclosure": f' url="https://e.example/{form}.mp3" length="12" type="audio/mpeg{attribute(form)}"/>',
    }
    items = [item]
    items.append({  # an enclosure whose URL carries the sequences: never stored as openable
        "title": f"Enclosure URL {form}", "guid": f"enclosure-{form}",
        "<enclosure": f' url="https://e.example/{form}/{attribute(form)}.mp3" type="audio/mpeg"/>',
    })
    return rss(items, title=write(f"Feed {form} {PAYLOAD}"), link=write(f"https://e.example/{PAYLOAD}"))


def atom_feed() -> bytes:
    refs = as_refs(PAYLOAD)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="html">Atom {html.escape(refs)}</title>
  <id>urn:docbao:hostile</id>
  <author><name>Atom author {refs}</name></author>
  <entry>
    <id>urn:docbao:hostile:1</id>
    <title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">Entry <b>xhtml</b> {refs}</div></title>
    <link rel="alternate" href="https://e.example/atom/{refs}"/>
    <link rel="enclosure" href="https://e.example/atom.ogg" type="audio/ogg{refs}"/>
    <author><name>Entry author {refs}</name></author>
    <summary type="text">Summary text {refs}</summary>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Xhtml body {refs}</p></div></content>
  </entry>
  <entry>
    <id>urn:docbao:hostile:2</id>
    <title type="text">Plain title {PAYLOAD.replace(ESC, "")}</title>
    <link href="https://e.example/atom/2"/>
    <content type="html">{html.escape("<p>Html body " + refs + "</p>")}</content>
  </entry>
</feed>""".encode("utf-8")


def json_feed() -> bytes:
    """JSON escapes \\u001b and friends decode to the real characters."""
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": f"JSON {PAYLOAD}",
        "home_page_url": f"https://e.example/{PAYLOAD}",
        "authors": [{"name": f"Feed author {PAYLOAD}"}],
        "items": [
            {
                "id": f"json-1-{PAYLOAD}",
                "url": "https://e.example/json/1",
                "title": f"JSON title {PAYLOAD}",
                "content_html": f"<p>JSON html {PAYLOAD} {as_refs(PAYLOAD)}</p>",
                "summary": f"JSON summary {PAYLOAD}",
                "authors": [{"name": f"Item author {PAYLOAD}"}],
                "attachments": [{"url": "https://e.example/json.mp3", "mime_type": f"audio/mpeg{PAYLOAD}"},
                                {"url": f"https://e.example/{PAYLOAD}.mp3", "mime_type": "audio/mpeg"}],
            },
            {
                "id": "json-2",
                "external_url": f"https://e.example/json/2{PAYLOAD}",
                "title": "JSON text item",
                "content_text": f"JSON text {PAYLOAD}\n\nsecond paragraph",
                "author": {"name": f"Old author {PAYLOAD}"},
            },
        ],
    }
    return json.dumps(doc).encode("utf-8")  # ensure_ascii: every control as a \\u escape


def hostile_page() -> bytes:
    """The seed article page with the sequences in its title, headline and paragraphs."""
    page = (Path(__file__).parent / "data" / "pages" / "seed-page.html").read_text(encoding="utf-8")
    raw = PAYLOAD.replace("&", "")
    page = page.replace("</title>", f" {raw}</title>", 1).replace("</h1>", f" {raw}</h1>", 1)
    page = page.replace("</p>", f" {raw} {as_refs(PAYLOAD)}</p>")
    return page.encode("utf-8")


@dataclass
class World:
    folder: Path
    config: Path
    refresh: Run
    urls: dict[str, str]

    @property
    def db(self) -> Path:
        return cache_db(self.folder)

    def cli(self, *args: str) -> Run:
        return docbao(*args, "--config", str(self.config), cwd=self.folder)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("terminal")
    with LocalServer() as srv:
        page = srv.route("/page.html", hostile_page(), content_type="text/html; charset=utf-8")
        urls = {form: srv.route(f"/{form}.xml", rss_feed(form), content_type="application/rss+xml")
                for form in FORMS}
        urls["page"] = srv.route("/page-feed.xml", rss_feed("raw", page_url=page), content_type="application/rss+xml")
        urls["atom"] = srv.route("/atom.xml", atom_feed(), content_type="application/atom+xml")
        urls["json"] = srv.route("/feed.json", json_feed(), content_type="application/feed+json")
        feeds: list[str | dict[str, object]] = [u for k, u in urls.items() if k != "page"]
        feeds.append({"url": urls["page"], "full_text": True})
        config = write_config(folder, feeds, timeout=5)
        run = docbao("refresh", "--config", str(config), cwd=folder)
        yield World(folder, config, run, urls)


def test_every_hostile_feed_is_read(world: World) -> None:
    """The sequences are dropped, not the documents: each feed stores its items."""
    assert world.refresh.returncode == 0, world.refresh.out + world.refresh.err
    counts = dict(query(world.db, "SELECT url, total FROM feeds"))
    assert counts == {url: 2 for url in world.urls.values()}
    assert query(world.db, "SELECT count(*) FROM extracts WHERE fetched IS NOT NULL") == [(1,)]


def test_no_control_character_in_any_cell_of_the_cache(world: World) -> None:
    assert unsafe_cells(world.db) == []


@pytest.mark.parametrize("form", list(FORMS))
def test_visible_text_survives_around_the_sequences(world: World, form: str) -> None:
    url = world.urls[form]
    (feed_title,) = query(world.db, "SELECT title FROM feeds WHERE url = ?", (url,))[0]
    title, author, link, content, enclosures = query(
        world.db, "SELECT a.title, a.author, a.link, a.content, a.enclosures FROM articles a JOIN feeds f"
        " ON f.id = a.feed_id WHERE f.url = ? AND a.guid LIKE 'guid-%'", (url,))[0]
    for field in (feed_title, title, author, content):
        assert all(word in field for word in WORDS), field
    if form in ("raw", "cdata"):  # (the CDATA holds PAYLOAD raw, then as references)
        assert feed_title.startswith(f"Feed {form} {SHOWN}")
        assert title.startswith(f"Title {form} {SHOWN}") and author.startswith(f"Author {form} {SHOWN}")
        assert f"<p>Body {form} {SHOWN}</p>" in content and f"<b>bold {SHOWN}</b>" in content
    assert link == "" or is_openable_url(link)
    (enclosure,) = json.loads(enclosures)
    assert enclosure["url"] == f"https://e.example/{form}.mp3"
    assert enclosure["type"].startswith("audio/mpeg")


def test_a_url_carrying_sequences_is_never_stored_as_a_link(world: World) -> None:
    links = [row[0] for row in query(world.db, "SELECT link FROM articles WHERE link != ''")]
    links += [row[0] for row in query(world.db, "SELECT site_link FROM feeds WHERE site_link != ''")]
    for (value,) in query(world.db, "SELECT enclosures FROM articles"):
        links += [e["url"] for e in json.loads(value)]
    assert len(links) > 10 and all(is_openable_url(link) for link in links)
    assert controls_in("".join(links)) == []


def test_atom_and_json_fields_are_clean_and_keep_their_words(world: World) -> None:
    rows = query(world.db, "SELECT f.title, a.title, a.author, a.summary, a.content, a.enclosures FROM articles a"
                           " JOIN feeds f ON f.id = a.feed_id WHERE f.url IN (?, ?) ORDER BY a.guid",
                 (world.urls["atom"], world.urls["json"]))
    text = json.dumps(rows, ensure_ascii=False)
    for words in ("Atom", "Entry xhtml", "Entry author", "Xhtml body", "Html body", "JSON html",
                  "JSON summary", "Item author", "JSON text", "second paragraph", "pwned-title"):
        assert words in text
    assert controls_in(text) == []
    assert control_refs_in(json.dumps([row[3:5] for row in rows], ensure_ascii=False)) == []


def test_refresh_output_is_safe(world: World) -> None:
    assert unsafe_output(world.refresh.stdout) == []
    assert unsafe_output(world.refresh.stderr) == []
    assert f"Feed raw {SHOWN}" in world.refresh.out


@pytest.mark.parametrize("args", [("articles",), ("articles", "--json"), ("feeds",), ("feeds", "--json")])
def test_listing_output_is_safe(world: World, args: tuple[str, ...]) -> None:
    run = world.cli(*args)
    assert run.returncode == 0, run.err
    assert unsafe_output(run.stdout) == [] and unsafe_output(run.stderr) == []
    if "--json" in args:
        # JSON escapes C0 characters as \u001b; the decoded values must be clean too.
        values = [json.loads(line) for line in run.out.splitlines()]
        assert controls_in(json.dumps(values, ensure_ascii=False)) == []
        assert "\\u001b" not in run.out.lower() and "\\u009b" not in run.out.lower()
    assert "RED" in run.out


def test_read_prints_every_article_safely(world: World) -> None:
    ids = [row[0] for row in query(world.db, "SELECT id FROM articles ORDER BY id")]
    assert len(ids) == 2 * len(world.urls)
    for article_id in ids:
        run = world.cli("read", str(article_id))
        assert run.returncode == 0, run.err
        assert unsafe_output(run.stdout) == [], article_id
        assert unsafe_output(run.stderr) == []


def test_reader_mode_page_is_clean_in_cache_and_output(world: World) -> None:
    """The article page went through extraction (reader mode) during the refresh."""
    ((article_id, text, extract_html),) = query(
        world.db, "SELECT e.article_id, e.text, e.html FROM extracts e WHERE e.fetched IS NOT NULL")
    assert "Thái Nguyên" in text and "RED" in text
    assert controls_in(text + extract_html) == [] and control_refs_in(extract_html) == []
    run = world.cli("read", "--full", str(article_id))
    assert run.returncode == 0 and "not available" not in run.err
    assert "Thái Nguyên" in run.out
    assert unsafe_output(run.stdout) == [] and unsafe_output(run.stderr) == []


# As a reader reported them: sequences pasted from a terminal into an Atom feed (raw, where
# XML forbids ESC) and a JSON Feed (as "\u001b", which JSON allows).
ANSI_TITLE = f"ANSI {ESC}[31mred{ESC}[0m title"
CLEARING_BODY = f"body {ESC}[2J clear screen"
FEED_NAME = f"Ctrl [b]Feed[/b] {ESC}[1m"
STRINGS = f"{ESC}]0;window title{ESC}\\strings {ESC}Pdcs{ESC}\\and {ESC}_apc\x9c \x9d8;;x\x07gone{ESC}c"


def reported_feeds(kind: str) -> bytes:
    if kind == "json":
        return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": FEED_NAME, "items": [
            {"id": "j1", "url": "https://e.example/j1", "title": ANSI_TITLE, "content_text": CLEARING_BODY},
            {"id": "j2", "url": "https://e.example/j2", "title": f"Unterminated {ESC}]8;;https://e.example/",
             "content_html": f"<p>{STRINGS}</p><p>cut {ESC}]0;to the end of the line\nnext line</p>"}]}).encode()
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>{html.escape(FEED_NAME)}</title><id>urn:f</id>
<entry><id>urn:e1</id><title>{ANSI_TITLE}</title><link href="https://e.example/e1"/>
<content type="text">{CLEARING_BODY}</content></entry>
<entry><id>urn:e2</id><title type="html">Unterminated {ESC}]8;;https://e.example/</title><link href="https://e.example/e2"/>
<content type="html"><![CDATA[<p>{STRINGS}</p><p>cut {ESC}]0;to the end of the line
next line</p><!-- {ESC}[-->]]></content></entry></feed>""".encode()


@pytest.mark.parametrize("kind", ["atom", "json"])
def test_read_shows_what_surrounds_escape_sequences_and_nothing_of_them(server: LocalServer, tmp_path: Path,
                                                                         kind: str) -> None:
    """Removing only the ESC of "ESC[31m" left "[31m" in titles and bodies: the whole of
    each sequence goes, CSI, OSC, DCS, APC, 8-bit and two-character; "[b]" is text and stays."""
    config = write_config(tmp_path, [server.route(f"/feed.{kind}", reported_feeds(kind))])
    assert docbao("refresh", "--config", str(config), cwd=tmp_path).returncode == 0

    def cli(*args: str) -> str:
        run = docbao(*args, "--config", str(config), cwd=tmp_path)
        assert run.returncode == 0 and unsafe_output(run.stdout) == [], run.err
        return run.out

    assert "Ctrl [b]Feed[/b]" in cli("feeds") and "[1m" not in cli("feeds")
    assert "ANSI red title" in cli("articles")
    ids = dict(query(cache_db(tmp_path), "SELECT substr(title, 1, 4), id FROM articles"))
    first, second = ids["ANSI"], ids["Unte"]
    out = cli("read", str(first))
    assert out.splitlines()[0] == "ANSI red title" and out.splitlines()[1].split(" · ")[0] == "Ctrl [b]Feed[/b]"
    assert "body clear screen" in " ".join(out.split())
    out = cli("read", str(second))
    assert out.splitlines()[0] == "Unterminated"  # an OSC never terminated ends with its line
    assert "strings and gone" in " ".join(out.split()) and "next line" in out
    for tail in ("[31m", "[0m", "[2J", "[1m", "]0;", "window title", "dcs", "apc", "8;;", "to the end"):
        assert tail not in out + cli("articles") + cli("feeds"), tail


def test_one_control_reference_does_not_garble_the_other_items(server: LocalServer, tmp_path: Path) -> None:
    """&#x1b; is illegal in XML 1.0; lxml's recover mode, reading such a document, dropped
    every entity reference of it (&lt; &gt; &amp;), so escaped bodies showed as "pOne/p"."""
    body = rss([
        {"title": "A &amp; B &#x1b;[31m", "guid": "1", "description": "&lt;p&gt;One&lt;/p&gt;"},
        {"title": "C &amp; D", "guid": "2", "description": "&lt;p&gt;Two &amp;amp; three&lt;/p&gt;"},
    ])
    config = write_config(tmp_path, [server.route("/f.xml", body)])
    run = docbao("refresh", "--config", str(config), cwd=tmp_path)
    assert run.returncode == 0, run.out
    stored = dict(query(cache_db(tmp_path), "SELECT guid, title || ' | ' || content FROM articles"))
    assert stored == {"1": "A & B [31m | <p>One</p>", "2": "C & D | <p>Two &amp; three</p>"}


@pytest.mark.parametrize("reference", ["&#x1b;", "&#27;", "&#7;", "&#x0b;", "&#1;"])
def test_a_page_with_control_references_still_reads_in_reader_mode(reference: str) -> None:
    """lxml decodes such a reference into text it then refuses, and trafilatura gave up on
    the whole page ("no article found"): a stray &#11; from a word processor cost the
    article. The references are dropped before the page is parsed."""
    from tui.content.extract import extract_article

    page = (Path(__file__).parent / "data" / "pages" / "seed-page.html").read_text(encoding="utf-8")
    extract = extract_article(page.replace("</p>", f"{reference}[2J</p>").encode(), url="https://e.example/a",
                              content_type="text/html; charset=utf-8")
    assert "Thái Nguyên" in extract.text and "[2J" in extract.text
    assert controls_in(extract.text + extract.html) == [] and control_refs_in(extract.html) == []


def test_hostile_http_metadata_never_reaches_the_terminal(tmp_path: Path, server: LocalServer) -> None:
    """The status line, ETag, Last-Modified, Content-Type and Location a server sends end
    up in messages and in the cache: clean there too."""
    from http.server import BaseHTTPRequestHandler

    hostile = b"\x1b]0;pwned\x07 \xc2\x9b31m \xe2\x80\xaegnp"

    def answer(status: bytes, headers: list[bytes], body: bytes = b"") -> Callable[[BaseHTTPRequestHandler], None]:
        def send(handler: BaseHTTPRequestHandler) -> None:
            lines = [b"HTTP/1.1 " + status, *headers, b"Content-Length: %d" % len(body)]
            handler.wfile.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        return send

    feed = rss([{"title": "Tin", "guid": "1"}])
    urls = [
        server.route("/reason.xml", raw=answer(b"500 " + hostile, [])),
        server.route("/reason-599.xml", raw=answer(b"599 " + hostile, [])),
        server.route("/headers.xml", raw=answer(b"200 OK", [
            b'ETag: "' + hostile + b'"', b"Last-Modified: " + hostile,
            b"Content-Type: application/rss+xml; charset=" + hostile], feed)),
        server.route("/location.xml", raw=answer(b"301 Moved", [b"Location: /target" + hostile + b".xml"])),
        server.route("/location-osc8.xml", raw=answer(b"302 Found", [b"Location: " + hostile])),
    ]
    server.route("/target" + hostile.decode("latin-1") + ".xml", feed)
    config = write_config(tmp_path, urls, timeout=5)
    runs = [docbao("refresh", "--config", str(config), cwd=tmp_path)]
    runs += [docbao(*args, "--config", str(config), cwd=tmp_path) for args in (("feeds",), ("feeds", "--json"))]
    for run in runs:
        assert "Traceback" not in run.err
        assert unsafe_output(run.stdout) == [] and unsafe_output(run.stderr) == []
    assert "HTTP 500 Internal Server Error" in runs[1].out and "HTTP 599" in runs[1].out
    assert unsafe_cells(cache_db(tmp_path)) == []
    ((etag, modified),) = query(cache_db(tmp_path), "SELECT etag, last_modified FROM feeds WHERE url = ?", (urls[2],))
    assert (etag, modified) == ("", "")  # not stored, so never sent back
