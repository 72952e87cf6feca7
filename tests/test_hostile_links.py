"""Links: only http and https are ever offered as openable, whatever a feed writes.

A table of URLs for tui.content.sanitize.is_openable_url (the gate before any browser), then an
article full of hostile links refreshed and printed by `docbao read`: its numbered links
are exactly the safe ones."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.server import LocalServer
from tests.hostile import cache_db, docbao, query, rss, write_config
from tui.content.sanitize import is_openable_url

OPENABLE = [
    "http://e.example/",
    "https://e.example/bai-viet.html?id=1&p=2#top",
    "HTTPS://E.EXAMPLE/UPPER",
    "https://[2001:db8::1]:8443/v6",
    "http://127.0.0.1:8080/feed.xml",
    "https://xn--bo-thi-nguyn-ibb.example/",
    "https://e.example/%E1%BB%8Dc",
    "https://e.example/đọc-báo",
    "https://user@e.example/",
]
NOT_OPENABLE = [
    "",
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "data:image/png;base64,iVBORw0KGgo=",
    "file:///etc/passwd",
    "file://host/share",
    "vbscript:msgbox(1)",
    "ftp://e.example/file",
    "mailto:toa-soan@baothainguyen.example",
    "-oProxyCommand=touch /tmp/pwned",
    "--help",
    "https://-e.example/",
    "http://",
    "https:///no-host",
    "//e.example/protocol-relative",
    "/relative/path",
    "bai-viet.html",
    " https://e.example/leading-space",
    "https://e.example/trailing-space ",
    "https://e.example/a b",
    "https://e.example/new\nline",
    "https://e.example/\x1b[31m",
    "https://e.example/\u202egnp.exe",
    "https://e.example/\x85",
    "chrome://settings",
    "about:blank",
    "x-man-page://ls",
]


@pytest.mark.parametrize("url", OPENABLE)
def test_http_and_https_urls_are_openable(url: str) -> None:
    assert is_openable_url(url)


@pytest.mark.parametrize("url", NOT_OPENABLE)
def test_other_urls_are_never_openable(url: str) -> None:
    assert not is_openable_url(url)


HOSTILE_LINKS = [
    ("javascript:alert(1)", "js"),
    ("JaVaScRiPt:alert(1)", "mixed case"),
    ("jav&#x09;ascript:alert(1)", "tab reference"),
    ("&#106;avascript:alert(1)", "entity j"),
    ("java\nscript:alert(1)", "newline"),
    ("data:text/html,&lt;b&gt;x", "data"),
    ("file:///etc/passwd", "file"),
    ("vbscript:msgbox(1)", "vbscript"),
    ("ftp://e.example/f", "ftp"),
    ("-oProxyCommand=touch%20/tmp/x", "dash"),
    ("https://-evil.example/", "dash host"),
    ("chrome://settings", "chrome"),
]
SAFE_LINKS = [
    ("https://e.example/mot", "một"),
    ("http://e.example/hai", "hai"),
    ("/ba.html", "relative to the site"),  # resolves against the article's link
]


def article_body() -> str:
    links = "".join(f'<a href="{href}">{text}</a> ' for href, text in HOSTILE_LINKS + SAFE_LINKS)
    images = ('<img src="javascript:alert(1)" alt="js image"> <img src="data:image/png;base64,iVBORw0KGgo=" alt="data image">'
              ' <img src="https://e.example/anh.png" alt="ảnh">')
    return f"<p>{links}</p><p>{images}</p><p><a href=\"mailto:toa-soan@e.example\">thư</a></p>"


def test_read_numbers_only_safe_links(tmp_path: Path, server: LocalServer) -> None:
    import html

    body = rss([{"title": "Liên kết", "guid": "links", "link": "https://e.example/bai/viet.html",
                 "description": html.escape(article_body(), quote=False)},
                {"title": "Link javascript", "guid": "js", "link": "javascript:alert(1)"}])
    config = write_config(tmp_path, [server.route("/links.xml", body)])
    assert docbao("refresh", "--config", str(config), cwd=tmp_path).returncode == 0
    db = cache_db(tmp_path)
    assert query(db, "SELECT link FROM articles WHERE guid = 'js'") == [("",)]
    ((article_id, content),) = query(db, "SELECT id, content FROM articles WHERE guid = 'links'")
    stored = re.findall(r'(?:href|src)="([^"]*)"', content)
    assert stored and all(url.startswith(("https://", "http://", "mailto:")) for url in stored), stored
    run = docbao("read", str(article_id), "--config", str(config), "--width", "120", cwd=tmp_path)
    assert run.returncode == 0, run.err
    numbered = re.findall(r"^\s*\[(\d+)\] (\S+)$", run.out, re.MULTILINE)
    urls = [url for _number, url in numbered]
    assert [int(n) for n, _ in numbered] == list(range(1, len(urls) + 1))
    # "-oProxyCommand=..." is a relative path: resolved against the article it is harmless.
    assert urls == ["https://e.example/bai/-oProxyCommand=touch%20/tmp/x", "https://e.example/mot",
                    "http://e.example/hai", "https://e.example/ba.html", "https://e.example/anh.png",
                    "mailto:toa-soan@e.example"]
    # Everything numbered that a browser would get is http(s); mailto is shown, never opened.
    assert [is_openable_url(url) for url in urls] == [True, True, True, True, True, False]
    assert not any(url.startswith("-") or "-evil" in url for url in urls)
    for _href, text in HOSTILE_LINKS:
        assert text.replace("&", "") in run.out or text in run.out  # the words stay, unlinked
