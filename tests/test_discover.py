"""Subscribe by site URL: feed links found on real home pages, and feed sniffing on the corpus."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import DATA, SHARED
from tests.server import LocalServer
from tui.feeds.discover import COMMON_PATHS, DiscoveredFeed, discover_feeds, looks_like_feed

DISCOVERY = DATA / "opml" / "discovery"
RSS, ATOM = "application/rss+xml", "application/atom+xml"

# page -> (the site it was captured from, the feeds its <link rel="alternate"> tags name)
PAGES: dict[str, tuple[str, list[DiscoveredFeed]]] = {
    "feedreader-cs__codehollow.html": ("https://codehollow.com/", [
        DiscoveredFeed("https://codehollow.com/feed/", "codehollow » Feed", RSS),
        DiscoveredFeed("https://codehollow.com/comments/feed/", "codehollow » Comments Feed", RSS),
    ]),
    "feedreader-cs__heise.html": ("https://www.heise.de/", [
        DiscoveredFeed("https://www.heise.de/rss/heise-atom.xml", "Aktuelle News von heise online", ATOM),
        DiscoveredFeed("https://www.heise.de/rss/heise.rdf",
                       "Aktuelle News von heise online (für ältere RSS-Reader)", RSS),
    ]),
    "feedreader-cs__japantimes.html": ("https://www.japantimes.co.jp/", [
        DiscoveredFeed("https://www.japantimes.co.jp/feed/topstories", "Japan Times RSS Feed - Top Stories", RSS),
    ]),
    "feedreader-cs__theverge.html": ("https://www.theverge.com/", [
        DiscoveredFeed("https://www.theverge.com/rss/index.xml", "The Verge", RSS),
        DiscoveredFeed("https://www.theverge.com/rss/front-page/index.xml", "Front Page", RSS),
    ]),
    "rsparser__DaringFireball.html": ("https://daringfireball.net/", [
        DiscoveredFeed("https://daringfireball.net/feeds/main", "", ATOM),
    ]),
    "rsparser__YouTubeTheVolvoRocks.html": ("https://www.youtube.com/user/TheVolvorocks", [
        DiscoveredFeed("https://www.youtube.com/feeds/videos.xml?channel_id=UCct7QF2jcWRY6dhXWMSq9LQ", "RSS", RSS),
    ]),
    "rsparser__furbo.html": ("http://furbo.org/", [
        DiscoveredFeed("http://furbo.org/feed/", "Iconfactory News Feed", RSS),
    ]),
    "rsparser__inessential.html": ("http://inessential.com/", [
        DiscoveredFeed("http://inessential.com/xml/rss.xml", "RSS", RSS),
    ]),
    "rsparser__sixcolors.html": ("https://sixcolors.com/", [
        DiscoveredFeed("http://feedpress.me/sixcolors", "RSS", RSS),
    ]),
}


def _page(name: str) -> Path:
    copy = DISCOVERY / name
    if copy.exists():
        return copy
    path = SHARED / "corpus" / "html-feed-discovery" / name
    if not path.exists():
        pytest.skip(f"{name} is not available")
    return path


@pytest.mark.parametrize("name", sorted(PAGES))
def test_real_home_pages(name: str) -> None:
    site, expected = PAGES[name]
    assert discover_feeds(_page(name).read_bytes(), site) == expected


def test_every_corpus_discovery_page_has_an_expectation() -> None:
    folder = SHARED / "corpus" / "html-feed-discovery"
    if not folder.exists():
        pytest.skip("the shared corpus is not available")
    assert sorted(p.name for p in folder.iterdir()) == sorted(PAGES)


def page(head: str, body: str = "") -> bytes:
    return f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>".encode()


def test_rel_tokens_types_and_relative_urls() -> None:
    html = page(
        '<link rel="stylesheet" href="/style.css">'
        '<LINK REL="Alternate Home" TYPE="Application/RSS+XML; charset=utf-8" HREF="feed.xml" TITLE="Posts">'
        "<link rel='alternate' type='application/atom+xml' href='//cdn.example.org/atom.xml'>"
        '<link rel="alternate" type="application/feed+json" href="/feed.json" title="JSON &amp; more">'
        '<link rel="alternate" type="application/json" href="https://blog.example.org/wp-json/wp/v2/posts/7">'
        '<link rel="alternate" type="application/json" href="/feed/json">'
        '<link rel="alternate" type="application/json+oembed" href="/oembed?url=x">'
        '<link rel="alternate" hreflang="vi" href="/vi/">'
        '<link rel="alternate stylesheet" type="text/css" href="/dark.css">'
        '<link rel="feed" type="application/rss+xml" href="/not-alternate.xml">'
        '<link rel="alternate" type="application/rss+xml">'
    )
    assert discover_feeds(html, "https://blog.example.org/posts/") == [
        DiscoveredFeed("https://blog.example.org/posts/feed.xml", "Posts", RSS),
        DiscoveredFeed("https://cdn.example.org/atom.xml", "", ATOM),
        DiscoveredFeed("https://blog.example.org/feed.json", "JSON & more", "application/feed+json"),
        DiscoveredFeed("https://blog.example.org/feed/json", "", "application/json"),
    ]


def test_base_href_duplicates_and_unsafe_schemes() -> None:
    html = page(
        '<base href="https://static.example.org/site/">'
        '<base href="https://ignored.example.org/">'
        '<link rel="alternate" type="application/rss+xml" href="rss.xml" title="First">'
        '<link rel="alternate" type="application/rss+xml" href="HTTPS://Static.Example.ORG:443/site/rss.xml#x" title="Dup">'
        '<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">'
        '<link rel="alternate" type="application/rss+xml" href="file:///etc/passwd">'
        '<link rel="alternate" type="application/rss+xml" href="feed://example.org/rss">'
        '<link rel="alternate" type="application/rss+xml" href="http://bad.example.org:99999/rss">'
        '<link rel="alternate" type="application/atom+xml" href="  /atom.xml  " title="Tin\x1b[31m tức\u202e">',
        # a link tag in the body still counts: pages are sloppy
        '<p>text</p><link rel="alternate" type="application/rss+xml" href="/comments.xml">',
    )
    assert discover_feeds(html, "https://www.example.org/") == [
        DiscoveredFeed("https://static.example.org/site/rss.xml", "First", RSS),
        DiscoveredFeed("https://static.example.org/atom.xml", "Tin tức", ATOM),
        DiscoveredFeed("https://static.example.org/comments.xml", "", RSS),
    ]


def test_page_encodings() -> None:
    latin = ('<meta charset="windows-1252"><link rel="alternate" type="application/rss+xml" '
             'href="/rss" title="Café Müller">').encode("cp1252")
    undeclared = latin.replace(b'<meta charset="windows-1252">', b"")
    utf16 = '<link rel="alternate" type="application/rss+xml" href="/rss" title="Đọc báo">'.encode("utf-16")
    assert discover_feeds(latin, "https://a.example/")[0].title == "Café Müller"
    assert discover_feeds(undeclared, "https://a.example/")[0].title == "Café Müller"
    assert discover_feeds(utf16, "https://a.example/")[0].title == "Đọc báo"


def test_pages_without_feeds() -> None:
    assert discover_feeds(b"", "https://a.example/") == []
    assert discover_feeds(page("<title>Nothing</title>"), "https://a.example/") == []
    assert discover_feeds(b"<link rel=alternate type=application/rss+xml href=/x.xml", "https://a.example/") == []
    assert discover_feeds(bytes(range(256)) * 10, "https://a.example/") == []


def test_probing_common_paths_skips_soft_404_pages(server: LocalServer) -> None:
    """The caller's fallback when a page names no feed: probe COMMON_PATHS on the same site
    and subscribe only to what looks like a feed. Many sites answer unknown paths with an
    HTML page and status 200; those must not be taken for feeds."""
    home = page("<title>Blog</title>")
    feed = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title></channel></rss>'
    server.route("/", home, content_type="text/html")
    server.route("/feed", page("<h1>Not found</h1>"), content_type="text/html")
    server.route("/rss", page("<h1>Not found</h1>"), content_type="application/rss+xml")
    server.route("/index.xml", feed, content_type="text/xml")
    site = server.url("/blog/")
    with httpx.Client(timeout=5) as client:
        assert discover_feeds(client.get(site).content, site) == []
        found = []
        for path in COMMON_PATHS:
            response = client.get(urljoin(site, path))
            if response.status_code == 200 and looks_like_feed(
                response.content, response.headers.get("content-type", "")
            ):
                found.append(str(response.url))
    assert found == [server.url("/index.xml")]
    assert all(path.startswith("/") for path in COMMON_PATHS)


# --- sniffing --------------------------------------------------------------------------------

FEED_CATEGORIES = {"rss2", "atom", "rss1-rdf", "rss09x", "podcast-media", "non-latin-scripts",
                   "large", "legacy-encodings"}


def _manifest() -> list[dict[str, str]]:
    path = SHARED / "corpus" / "MANIFEST.tsv"
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def test_corpus_feeds_look_like_feeds_and_pages_do_not() -> None:
    rows = _manifest()
    if not rows:
        pytest.skip("the shared corpus is not available")
    corpus = SHARED / "corpus"
    wrong = []
    for row in rows:
        category = row["path"].split("/")[0]
        data = (corpus / row["path"]).read_bytes()
        if category in FEED_CATEGORIES:
            expected = True
        elif category in ("html-articles", "html-feed-discovery"):
            expected = False
        elif category == "jsonfeed":
            expected = "not JSON Feed" not in row["format"]
        else:
            continue
        if looks_like_feed(data, "") != expected:
            wrong.append(row["path"])
    assert wrong == []


def test_corpus_awkward_files_by_their_detected_format() -> None:
    rows = [r for r in _manifest() if r["path"].split("/")[0] in ("awkward", "feedparser-suite")]
    if not rows:
        pytest.skip("the shared corpus is not available")
    for row in rows:
        fmt = row["format"]
        data = (SHARED / "corpus" / row["path"]).read_bytes()
        if fmt.startswith(("rss", "atom", "jsonfeed")) or fmt.startswith("xml root <rdf:RDF"):
            assert looks_like_feed(data, ""), row["path"]
        elif fmt in ("html", "empty") or fmt.startswith(("xml root <html", "gzip")):
            assert not looks_like_feed(data, ""), row["path"]


RSS_BYTES = '<?xml version="1.0"?><rss version="2.0"><channel><title>Tin tức</title></channel></rss>'


@pytest.mark.parametrize(
    "data",
    [
        RSS_BYTES.encode(),
        b"\xef\xbb\xbf\n\n" + RSS_BYTES.encode(),
        RSS_BYTES.encode("utf-16"),
        RSS_BYTES.encode("utf-16-le"),
        RSS_BYTES.encode("utf-32"),
        b'<?xml version="1.0"?>\n<?xml-stylesheet href="feed.xsl"?>\n<!-- a comment with <tags> -->\n'
        b'<!DOCTYPE rss [<!ELEMENT rss ANY>]>\n<rss version="0.91"/>',
        b'<atom:feed xmlns:atom="http://www.w3.org/2005/Atom"><atom:title>x</atom:title></atom:feed>',
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">',
        b'{"items": [], "version": "https:\\/\\/jsonfeed.org\\/version\\/1.1", "title": "x"}',
        b'  {"title": "cut short", "home_page_url": "https://a.example/", "items": [{"id": "1"',
    ],
    ids=["rss", "bom-blank-lines", "utf-16", "utf-16-no-bom", "utf-32", "prolog", "prefixed-atom",
         "rdf", "json-version-last", "json-truncated"],
)
def test_feeds_are_recognised(data: bytes) -> None:
    assert looks_like_feed(data, "text/html")


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"", "application/rss+xml"),
        (b"<!DOCTYPE html><html><body>Feed moved</body></html>", "application/rss+xml"),
        (b"<?xml version='1.0'?><html xmlns='http://www.w3.org/1999/xhtml'/>", "application/atom+xml"),
        (b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description/></rdf:RDF>', ""),
        (b'<?xml version="1.0"?><opml version="2.0"><body/></opml>', "text/xml"),
        (b'{"rss": {"version": "2.0", "channel": {"title": "x"}}}', "application/json"),
        (b'[{"version": "https://jsonfeed.org/version/1.1"}]', "application/json"),
        (gzip.compress(RSS_BYTES.encode()), "application/rss+xml"),
        (b"Not Found", "text/plain"),
    ],
    ids=["empty", "html", "xhtml", "rdf-not-rss", "opml", "rss-in-json", "json-array", "gzip", "text"],
)
def test_non_feeds_are_not(data: bytes, content_type: str) -> None:
    assert not looks_like_feed(data, content_type)


def test_content_type_decides_only_when_the_bytes_cannot() -> None:
    long_prolog = b'<?xml version="1.0"?><!--' + b"x" * 20_000 + b'--><rss version="2.0"/>'
    assert looks_like_feed(long_prolog, "application/rss+xml; charset=utf-8")
    assert not looks_like_feed(long_prolog, "text/html")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.text(max_size=200))
def test_any_bytes_never_raise(data: bytes, markup: str) -> None:
    html = data + markup.encode("utf-8", errors="replace")
    for feed in discover_feeds(html, "https://a.example/"):
        assert feed.url.startswith(("http://", "https://"))
    assert looks_like_feed(html, "application/rss+xml") in (True, False)
