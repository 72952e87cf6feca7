"""feeds.toml at its worst, through `docbao refresh` as a user runs it.

A syntax error names the file, line and column; a file with many bad entries reports
every one of them with its line, exits 2, and writes nothing: no cache, no change to the
file, no request even to the good feeds beside the bad ones. Duplicates are reported and
fetched once. Control characters a shared feeds.toml may carry never reach the terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.server import LocalServer
from tests.hostile import cache_db, docbao, query, rss, simple_items, unsafe_output


def run_refresh(folder: Path, text: str) -> tuple[int, str, str]:
    config = folder / "feeds.toml"
    config.write_text(text, encoding="utf-8")
    run = docbao("refresh", "--config", str(config), cwd=folder)
    return run.returncode, run.out, run.err


@pytest.mark.parametrize(("text", "line", "column"), [
    ('[[feed]]\nurl = "https://a.example/"\ntitle = "unterminated\n', 3, 22),
    ('[[feed]]\nurl = "https://a.example/"\nurl = "https://b.example/"\n', 3, 27),
    ('[[feed]]\nurl = "https://a.example/\\q"\n', 2, 28),
    ('[settings]\ntimeout = 3 s\n', 2, 13),
    ('[[feed]\nurl = "https://a.example/"\n', 1, 7),
    ('[[feed]]\nurl = "https://a.example/\x1b[31m"\n', 2, 26),
    ('\ufeff[[feed]]\n\turl = \'https://a.example/\'\n\n[[feed]]\nurl = https://b.example/\n', 5, 7),
])
def test_a_syntax_error_names_file_line_and_column(tmp_path: Path, text: str, line: int, column: int) -> None:
    code, out, err = run_refresh(tmp_path, text)
    assert code == 2 and out == ""
    assert f"{tmp_path / 'feeds.toml'}: TOML syntax error" in err
    assert f"(at line {line}, column {column})" in err, err
    assert not (tmp_path / "cache").exists()
    assert unsafe_output(err.encode()) == []


BAD_ENTRIES = [
    ('url = "exec:~/bin/make-feed"', "commands and filters"),
    ('url = "filter:~/bin/clean.sh:https://a.example/feed"', "commands and filters"),
    ('url = "query:unread:unread = \\"yes\\""', "commands and filters"),
    ('url = "|curl -s https://a.example/feed"', "commands and filters"),
    ('url = "  |cat /etc/passwd"', "commands and filters"),
    ('url = "file://fileserver/share/feed.xml"', "only plain local paths"),
    ('url = "file:///tmp/feed.xml?x=1"', "only plain local paths"),
    ('url = "javascript:alert(1)"', "scheme 'javascript'"),
    ('url = "gopher://old.example/"', "scheme 'gopher'"),
    ('url = "https://a.example/\\u001b[31m"', "contains control characters"),
    ('url = "https://a.example/\\u202egnp.exe"', "contains control characters"),
    ('url = "https://a.example/\\u009b31m"', "contains control characters"),
    ('url = "https://a.example:99999/"', "invalid port"),
    ('url = "https:///no-host"', "has no host"),
    ('url = ""', "is empty"),
    ("url = 42", "key 'url' must be a string"),
    ('title = "no url"', "has no 'url'"),
    ('url = "https://c.example/"\ntags = [1, 2]', "key 'tags' must be a list of strings"),
    ('url = "https://d.example/"\ntimeout = "soon"', "key 'timeout' must be a positive number"),
    ('url = "https://e.example/"\ntimeout = -3', "key 'timeout' must be a positive number"),
    ('url = "https://f.example/"\nfull_text = "yes"', "key 'full_text' must be true or false"),
    ('url = "https://g.example/"\ntitle = ["a"]', "key 'title' must be a string"),
]


def test_an_error_at_the_end_says_so(tmp_path: Path) -> None:
    code, _out, err = run_refresh(tmp_path, '[[feed]]\nurl = "https://a.example/"\ntags = ["a", "b"\n')
    assert code == 2 and f"{tmp_path / 'feeds.toml'}: TOML syntax error: Unclosed array (at end of document)" in err


def test_every_bad_entry_is_reported_and_nothing_is_written(tmp_path: Path, server: LocalServer) -> None:
    good = server.route("/good.xml", rss(simple_items(2)))
    tables = [f'[[feed]]\nurl = "{good}"\n']
    expected_lines = []
    line = 3
    for body, _words in BAD_ENTRIES:
        tables.append(f"[[feed]]\n{body}\n")
        expected_lines.append(line)
        line += 2 + body.count("\n") + 1
    text = "[settings]\nconcurrency = \"many\"\n" + "\n".join(tables)
    config = tmp_path / "feeds.toml"
    config.write_text(text, encoding="utf-8")
    before = config.read_bytes()
    run = docbao("refresh", "--config", str(config), cwd=tmp_path)
    assert run.returncode == 2 and run.out == ""
    errors = [line for line in run.err.splitlines() if line.startswith(f"docbao: {config}:") or line.startswith(f"{config}:")]
    assert len(errors) == len(BAD_ENTRIES) + 1, run.err  # every entry, and the setting
    assert f"{config}:2: [settings] key 'concurrency' must be an integer" in run.err
    for (body, words), number in zip(BAD_ENTRIES, range(len(BAD_ENTRIES))):
        matching = [e for e in errors if f"[[feed]] #{number + 2}" in e]
        assert matching and words in matching[0], (body, matching)
    assert unsafe_output(run.stderr) == []
    assert config.read_bytes() == before
    assert not (tmp_path / "cache").exists()
    assert server.requests == []  # not even the good feed was fetched


def test_errors_carry_the_line_of_their_key(tmp_path: Path) -> None:
    text = ('[[feed]]\nurl = "https://a.example/"\n\n[[feed]]\ntitle = "t"\n# a comment\n'
            'tags = ["x"]\nurl = "exec:rm -rf ~"\n')
    code, _out, err = run_refresh(tmp_path, text)
    assert code == 2
    assert f"{tmp_path / 'feeds.toml'}:8: [[feed]] #2 key 'url': commands and filters" in err


def test_a_duplicate_feed_is_reported_and_fetched_once(tmp_path: Path, server: LocalServer) -> None:
    url = server.route("/f.xml", rss(simple_items(2)))
    text = f'[[feed]]\nurl = "{url}"\n\n[[feed]]\nurl = "{url}"\ntitle = "again"\n\n[[feed]]\nurl = " {url} "\n'
    code, out, err = run_refresh(tmp_path, text)
    assert code == 0, err
    assert "repeats the url of the feed at line 1" in err and ":4:" in err and ":8:" in err
    assert len(server.hits("/f.xml")) == 1
    assert query(cache_db(tmp_path), "SELECT count(*) FROM feeds") == [(1,)]
    assert "1 feed: 2 new" in out


def test_control_characters_in_names_never_reach_the_terminal(tmp_path: Path, server: LocalServer) -> None:
    """A shared feeds.toml may carry escape sequences in titles and tags (TOML writes them
    as \\u001b); docbao shows the words around them, nothing of the sequences."""
    url = server.route("/f.xml", rss(simple_items(1), title="\u202egnp.exe"))
    config = tmp_path / "feeds.toml"
    config.write_text(
        f'[[feed]]\nurl = "{url}"\ntitle = "Tin \\u001b]0;pwned\\u0007 \\u202egnp.exe \\u009b31m"\n'
        'tags = ["\\u001b[31mred", "b\\u0007ell"]\n', encoding="utf-8")
    for args in (("refresh",), ("feeds",), ("feeds", "--json"), ("articles",), ("articles", "--json")):
        run = docbao(*args, "--config", str(config), cwd=tmp_path)
        assert run.returncode == 0, run.err
        assert unsafe_output(run.stdout) == [] and unsafe_output(run.stderr) == [], args
        assert "\\u001b" not in run.out.lower() and "\\u0007" not in run.out
        assert "Tin gnp.exe" in run.out and "pwned" not in run.out and "31m" not in run.out, run.out
