"""Commands of the user's own, in the installed `docbao` on a real pseudo-terminal: the
bookmark command gets the link and a title full of shell metacharacters as two exact
arguments, `|` hands the article's text to pipe_command (link and title in its environment)
and says its failure with the exit status, `v` shows the text in $PAGER, the reader comes
back after each; and a command named by a feed or by a [[feed]] table is never run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_pty import docbao_command, pty_env, spawn
from tui.store.cache import Store

pexpect = pytest.importorskip("pexpect")

# Every kind of shell trouble a title can carry; each would create a file if a shell saw it.
TITLE_XML = ("$(touch pwned-subst) `touch pwned-backtick`; touch pwned-semicolon &amp;&amp; "
             "echo \"double\" 'single' | tee pwned-pipe &gt; pwned-redirect\n"
             "second line %u %t ${HOME} \\ end")
TITLE = ("$(touch pwned-subst) `touch pwned-backtick`; touch pwned-semicolon && "
         "echo \"double\" 'single' | tee pwned-pipe > pwned-redirect second line %u %t ${HOME} \\ end")
LINK = "https://example.com/story?a=1&b=$(id)#`x`"


def feed_xml(extra: str = "") -> str:
    return f"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Metachar feed</title>{extra}
<item><guid>m1</guid><title>{TITLE_XML}</title><link>{LINK.replace("&", "&amp;")}</link>
<pubDate>Sat, 23 May 2020 10:00:00 GMT</pubDate>
<description>&lt;p&gt;The body paragraph of the story.&lt;/p&gt;</description></item>
</channel></rss>"""


def script(path: Path, body: str) -> Path:
    path.write_text(f"#!{sys.executable}\nimport json, os, sys\n{body}\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def prepared(tmp_path: Path, settings: str, feed_keys: str = "", feed_extra: str = "") -> Path:
    """A feeds.toml with one local feed (refreshed into the cache by the installed command)."""
    (tmp_path / "feed.xml").write_text(feed_xml(feed_extra), encoding="utf-8")
    config = tmp_path / "feeds.toml"
    config.write_text(f'[settings]\ncache_dir = "cache"\n{settings}\n\n[[feed]]\nurl = "{tmp_path / "feed.xml"}"\n'
                      f"{feed_keys}\n", encoding="utf-8")
    done = subprocess.run([docbao_command(), "--config", str(config), "refresh"], env=pty_env(tmp_path),
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return config


def stored_title(tmp_path: Path) -> str:
    store = Store.open(tmp_path / "cache")
    try:
        (article,) = store.rows(store.article_ids())
        return article.title
    finally:
        store.close()


def test_commands_get_the_link_and_title_exactly_and_the_reader_comes_back(tmp_path: Path) -> None:
    marks = tmp_path / "bookmarks.json"
    piped = tmp_path / "piped.json"
    paged = tmp_path / "paged.json"
    bookmark = script(tmp_path / "bookmark", f"json.dump(sys.argv[1:], open({str(marks)!r}, 'w'))")
    pipe = script(tmp_path / "pipe", f"json.dump([sys.stdin.read(), os.environ['DOCBAO_URL'], "
                                     f"os.environ['DOCBAO_TITLE']], open({str(piped)!r}, 'w'))\nsys.exit(3)")
    pager = script(tmp_path / "pager", f"json.dump([sys.argv[1:], sys.stdin.read()], open({str(paged)!r}, 'w'))")
    config = prepared(tmp_path, f'bookmark_command = ["{bookmark}", "--url=%u", "%t"]\n'
                                f'pipe_command = ["{pipe}"]')
    assert stored_title(tmp_path) == TITLE  # the newline became a space; nothing else changed
    child = spawn(tmp_path, "--config", str(config), columns=100, PAGER=f"{pager} --from-pager")
    try:
        child.expect(b"Metachar feed")
        child.send("\r")  # the article list ("All articles"), its one article selected
        child.expect(b"pwned-subst")
        child.send("B")
        child.expect(b"Bookmarked")
        child.send("|")
        child.expect(rb"\[docbao: press Enter to return\]")  # what it wrote stays until then
        child.send("\r")
        child.expect(b"ended with status 3")
        child.send("v")
        child.expect(b"Metachar feed")  # drawn again after the pager
        child.send("Q")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.logfile_read.getvalue()[-2000:]
    assert json.loads(marks.read_text()) == [f"--url={LINK}", TITLE]
    text, url, title = json.loads(piped.read_text())
    assert (url, title) == (LINK, TITLE)
    assert "The body paragraph of the story." in text and "pwned-subst" in text
    arguments, paged_text = json.loads(paged.read_text())
    assert arguments == ["--from-pager"] and paged_text == text
    assert not list(tmp_path.glob("pwned*")), "a shell ran part of the title"


def test_a_command_named_by_a_feed_or_a_feed_table_never_runs(tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    evil = script(tmp_path / "evil", f"open({str(ran)!r}, 'w').write(' '.join(sys.argv))")
    config = prepared(tmp_path, "",
                      feed_keys=f'bookmark_command = ["{evil}"]\npipe_command = ["{evil}"]',
                      feed_extra=f"<bookmark_command>{evil}</bookmark_command><pipe_command>{evil}</pipe_command>"
                                 f"<docbao:browser xmlns:docbao=\"urn:x\">{evil}</docbao:browser>")
    child = spawn(tmp_path, "--config", str(config), columns=100, PAGER=str(tmp_path / "no-such-pager"))
    try:
        child.expect(b"commands are read only from")  # the warning for the [[feed]] table's keys
        child.send("\r")
        child.expect(b"pwned-subst")
        child.send("B")
        child.expect(b"No bookmark_command")
        child.send("|")
        child.expect(b"No pipe_command")
        child.send("v")  # $PAGER names nothing that exists: said, and the reader goes on
        child.expect(b"Cannot run")
        child.send("Q")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.logfile_read.getvalue()[-2000:]
    assert not ran.exists()
