"""feeds.toml: lookup order, validation with located errors, and the shipped file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.cli.main import main
from tui.config import ConfigError, find_config, load_config, resolve_cache_dir, url_problem

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str, name: str = "feeds.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_is_valid_and_teaches_the_format() -> None:
    config = load_config(ROOT / "feeds.toml")
    assert not config.warnings
    urls = [f.url for f in config.feeds]
    assert any("vnexpress.net" in u for u in urls) and any("tuoitre.vn" in u for u in urls)
    assert all(u.startswith("https://") for u in urls)
    assert {"Tin Việt Nam", "Tech", "World"} <= {t for f in config.feeds for t in f.tags}
    assert (ROOT / "feeds.toml").read_text(encoding="utf-8").count("#") > 10


def test_feeds_settings_and_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, """
[settings]
concurrency = 4
timeout = 12.5
keep_articles = 100

[[feed]]
url = "https://example.org/feed.xml"
title = "Ví dụ"
tags = ["News", "Tiếng Việt"]
timeout = 5
full_text = true

[[feed]]
url = "/srv/feeds/local.xml"
""")
    config = load_config(path)
    assert config.settings.concurrency == 4 and config.settings.timeout == 12.5
    assert config.settings.keep_articles == 100
    first, second = config.feeds
    assert (first.title, first.tags, first.timeout, first.full_text) == ("Ví dụ", ["News", "Tiếng Việt"], 5.0, True)
    assert second.is_local and second.local_path == Path("/srv/feeds/local.xml")


def test_bom_and_crlf_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    path.write_bytes(b'\xef\xbb\xbf[[feed]]\r\nurl = "https://example.org/a"\r\ntitle = "A"\r\n')
    assert load_config(path).feeds[0].title == "A"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('[[feed]]\nurl = "https://a.example/x"\n\n[[feed]]\ntitle = "no url"\n', 4, ["#2", "no 'url'"]),
        ('[[feed]]\nurl = "ftp://a.example/x"\n', 2, ["'url'", "ftp"]),
        ('[[feed]]\nurl = "javascript:alert(1)"\n', 2, ["javascript"]),
        ('[[feed]]\nurl = "exec:~/bin/make-feed"\n', 2, ["exec:"]),
        ('[[feed]]\nurl = "|cat /etc/passwd"\n', 2, ["|cmd"]),
        ('[[feed]]\nurl = "file://server/share/feed.xml"\n', 2, ["file:"]),
        ('[[feed]]\nurl = 42\n', 2, ["'url'", "string"]),
        ('[[feed]]\nurl = "https://a.example/"\ntags = "ok"\n\n[[feed]]\nurl = "https://b.example/"\ntags = [1, 2]\n', 7, ["'tags'"]),
        ('[settings]\n\nconcurrency = "many"\n', 3, ["concurrency", "integer"]),
        ('[settings]\ntimeout = -1\n', 2, ["timeout", "positive"]),
        ('[settings]\nfull_text = 1\n', 2, ["full_text", "true or false"]),
        ('[settings]\nimages = "png"\n', 2, ["images", "'auto', 'kitty', 'sixel', 'blocks', 'off'"]),
        ('[settings]\nimage_cache_mb = 0\n', 2, ["image_cache_mb", "positive"]),
        ('[[feed]]\nurl = "https://a.example/"\n[[feed]\n', 3, ["TOML syntax", "line 3"]),
    ],
)
def test_broken_config_names_file_line_and_key(tmp_path: Path, text: str, line: int, words: list[str]) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert str(path) in message
    assert f":{line}:" in message or f"line {line}" in message
    for word in words:
        assert word in message


def test_broken_config_exits_2_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, '[[feed]]\nurl = "gopher://old.example/"\n')
    cache = tmp_path / "cache"
    assert main(["refresh", "--config", str(path), "--cache", str(cache)]) == 2
    err = capsys.readouterr().err
    assert "gopher" in err and f"{path}:2" in err
    assert not cache.exists()


def test_unknown_keys_warn_with_their_names(tmp_path: Path) -> None:
    path = write(tmp_path, '[settings]\nconcurency = 3\n\n[[feed]]\nurl = "https://a.example/"\ncolour = "red"\n\n[colours]\n')
    warnings = "\n".join(load_config(path).warnings)
    assert "'concurency'" in warnings and "'colour'" in warnings and "'colours'" in warnings
    assert ":2:" in warnings and ":6:" in warnings


def test_duplicate_feed_is_reported_and_kept_once(tmp_path: Path) -> None:
    path = write(tmp_path, '[[feed]]\nurl = "https://a.example/"\n\n[[feed]]\nurl = "https://a.example/"\n')
    config = load_config(path)
    assert len(config.feeds) == 1
    assert "repeats" in config.warnings[0] and ":4:" in config.warnings[0]


def test_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = write(tmp_path, "", "explicit.toml")
    env = write(tmp_path, "", "env.toml")
    work = tmp_path / "work"
    work.mkdir()
    local = write(work, "")
    xdg = tmp_path / "xdg"
    (xdg / "docbao").mkdir(parents=True)
    user = write(xdg / "docbao", "")
    monkeypatch.chdir(work)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    monkeypatch.setenv("DOCBAO_CONFIG", str(env))
    assert find_config(str(explicit)) == explicit
    assert find_config(None) == env
    monkeypatch.delenv("DOCBAO_CONFIG")
    assert find_config(None) == Path.cwd() / "feeds.toml" == local.resolve()
    local.unlink()
    assert find_config(None) == user
    with pytest.raises(ConfigError, match="no such config file"):
        find_config(str(tmp_path / "missing.toml"))
    # a verb that subscribes creates the file it is told to use; a folder is no file to create
    assert find_config(str(tmp_path / "missing.toml"), may_create=True) == tmp_path / "missing.toml"
    with pytest.raises(ConfigError, match="no such config file"):
        find_config(str(tmp_path), may_create=True)


def test_cache_location(tmp_path: Path) -> None:
    plain = load_config(write(tmp_path, ""))
    assert resolve_cache_dir(plain) == tmp_path / "cache"
    assert resolve_cache_dir(plain, str(tmp_path / "elsewhere")) == tmp_path / "elsewhere"
    custom = load_config(write(tmp_path, '[settings]\ncache_dir = "state/docbao"\n', "custom.toml"))
    assert resolve_cache_dir(custom) == (tmp_path / "state" / "docbao").resolve()


@pytest.mark.parametrize("url", ["https://a.example/feed", "http://127.0.0.1:8080/x.xml", "/tmp/feed.xml",
                                 "~/feeds/a.xml", "file:///srv/a.xml", "feeds/local.rss"])
def test_acceptable_urls(url: str) -> None:
    assert url_problem(url) == ""


@pytest.mark.parametrize("url", ["", "data:text/xml,<rss/>", "https://", "http://a.example:99999/",
                                 "filter:~/f.sh:https://a.example/", "query:Unread:unread = \"yes\"",
                                 "https://a.example/\x1b[31m"])
def test_unacceptable_urls(url: str) -> None:
    assert url_problem(url) != ""


def test_editing_keeps_comments_and_layout(tmp_path: Path) -> None:
    from tui.config import FeedConfig, add_feeds, remove_feed, set_feed_tags

    path = tmp_path / "feeds.toml"
    original = (ROOT / "feeds.toml").read_text(encoding="utf-8")
    path.write_text(original, encoding="utf-8")
    add_feeds(path, [FeedConfig(url="https://new.example/rss", title='Báo "mới"', tags=["Mới"])])
    set_feed_tags(path, "https://lwn.net/headlines/rss", ["Tech", "Linux"])
    remove_feed(path, "https://hnrss.org/frontpage")
    text = path.read_text(encoding="utf-8")
    assert "# --- Technology ---" in text and "# --- World news ---" in text
    assert "# an Atom feed" in text and "hnrss.org" not in text
    config = load_config(path)
    by_url = {f.url: f for f in config.feeds}
    assert by_url["https://new.example/rss"].title == 'Báo "mới"'
    assert by_url["https://lwn.net/headlines/rss"].tags == ["Tech", "Linux"]
    assert len(config.feeds) == len(load_config(ROOT / "feeds.toml").feeds)
    assert [p.name for p in tmp_path.iterdir()] == ["feeds.toml"]  # no temp file left behind


def test_the_last_feed_removed_then_one_added(tmp_path: Path) -> None:
    """Removing the only feed left `feed = []`, which tomlkit then wrote inline: the next
    `add` was refused as a file that would not read back."""
    from tui.config import FeedConfig, add_feeds, add_searches, remove_feed, SavedSearch

    path = tmp_path / "feeds.toml"
    path.write_text('[settings]\nconcurrency = 8\n\n[[feed]]\nurl = "https://a.example/rss"\n', encoding="utf-8")
    remove_feed(path, "https://a.example/rss")
    assert "feed" not in path.read_text(encoding="utf-8")
    add_feeds(path, [FeedConfig(url="https://b.example/rss", tags=["B"])])
    assert [(f.url, f.tags) for f in load_config(path).feeds] == [("https://b.example/rss", ["B"])]
    path.write_text('feed = []\nsearch = []\n', encoding="utf-8")  # as such a file may already say
    add_feeds(path, [FeedConfig(url="https://c.example/rss")])
    add_searches(path, [SavedSearch(name="Tin", query="lanh dao")])
    config = load_config(path)
    assert [f.url for f in config.feeds] == ["https://c.example/rss"]
    assert [s.query for s in config.searches] == ["lanh dao"]


def test_editing_keeps_crlf_and_refuses_unknown_feed(tmp_path: Path) -> None:
    from tui.config import remove_feed, set_feed_tags

    path = tmp_path / "feeds.toml"
    path.write_bytes(b'# mine\r\n[[feed]]\r\nurl = "https://a.example/"\r\n')
    set_feed_tags(path, "https://a.example/", ["x"])
    assert b"\r\n" in path.read_bytes() and b"\n\n" not in path.read_bytes().replace(b"\r\n", b"")
    assert load_config(path).feeds[0].tags == ["x"]
    with pytest.raises(ConfigError, match="no \\[\\[feed\\]\\]"):
        remove_feed(path, "https://b.example/")


def test_scheme_case_does_not_make_a_url_local(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[[feed]]\nurl = "HTTPS://Example.org/feed"\n\n[[feed]]\nurl = "feeds/a.xml"\n'))
    assert [f.is_local for f in config.feeds] == [False, True]


@pytest.mark.parametrize("on_disk", [
    '[settings]\nconcurrency = 0\n\n[[feed]]\nurl = "https://a.example/"\n',  # reads as TOML, not as a config
    '[[feed]]\nurl = "https://a.example/"\ntags = ["x"\n',  # not TOML at all
])
def test_an_edit_is_validated_before_it_is_written(tmp_path: Path, on_disk: str) -> None:
    # The reader loaded a good file; then it was broken in an editor. Subscribing or
    # changing tags from the reader must leave the file as the user left it.
    from tui.config import FeedConfig, add_feeds, set_feed_tags

    path = write(tmp_path, on_disk)
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="not changed"):
        add_feeds(path, [FeedConfig(url="https://new.example/rss")])
    with pytest.raises(ConfigError, match="not changed"):
        set_feed_tags(path, "https://a.example/", ["y"])
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["feeds.toml"]


def test_an_edit_that_would_not_read_back_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tui.config import add_feeds, FeedConfig

    path = write(tmp_path, '# mine\n[[feed]]\nurl = "https://a.example/"\n')
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="not changed, the edit would not read back: .*is empty"):
        add_feeds(path, [FeedConfig(url="")])
    assert path.read_bytes() == before


def test_the_cache_of_the_config_in_the_xdg_folder_is_the_xdg_cache(tmp_path: Path) -> None:
    from tui.config import default_config_path

    path = default_config_path()
    path.parent.mkdir(parents=True)
    path.write_text('[[feed]]\nurl = "https://a.example/"\n', encoding="utf-8")
    xdg_cache = resolve_cache_dir(load_config(None))
    assert xdg_cache.name == "docbao" and xdg_cache != path.parent / "cache"
    assert resolve_cache_dir(load_config(path)) == xdg_cache
    (path.parent / "cache").mkdir()  # kept beside it by an older docbao: still used
    assert resolve_cache_dir(load_config(path)) == path.parent / "cache"


def test_feeds_and_searches_added_stand_a_blank_line_apart(tmp_path: Path) -> None:
    """What `docbao import` and `a` write reads like a file written by hand: each table a
    blank line after the one before, however many edits made it."""
    from tui.config import FeedConfig, SavedSearch, add_feeds, add_searches

    path = tmp_path / "feeds.toml"
    path.write_text('[settings]\nimages = "off"\n', encoding="utf-8")
    add_feeds(path, [FeedConfig(url="http://127.0.0.1:9/a.xml", tags=["tech"]),
                     FeedConfig(url="http://127.0.0.1:9/b.xml", title="B")])
    add_searches(path, [SavedSearch("Unread", "is:unread")])
    add_feeds(path, [FeedConfig(url="http://127.0.0.1:9/c.xml")])
    add_searches(path, [SavedSearch("Read", "is:read")])
    assert path.read_text(encoding="utf-8") == (
        '[settings]\nimages = "off"\n\n'
        '[[feed]]\nurl = "http://127.0.0.1:9/a.xml"\ntags = ["tech"]\n\n'
        '[[feed]]\nurl = "http://127.0.0.1:9/b.xml"\ntitle = "B"\n\n'
        '[[feed]]\nurl = "http://127.0.0.1:9/c.xml"\n\n'
        '[[search]]\nname = "Unread"\nquery = "is:unread"\n\n'
        '[[search]]\nname = "Read"\nquery = "is:read"\n')
    assert len(load_config(path).feeds) == 3
