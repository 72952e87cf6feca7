"""feeds.toml -> validated settings and subscriptions.

Errors name the file, the line and the key, so a user can fix the file without guessing;
unknown keys are warnings (a typo should not stop a refresh, but should be seen).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from tui.content.sanitize import clean_line

CONFIG_ENV = "DOCBAO_CONFIG"
CONFIG_NAME = "feeds.toml"


class ConfigError(Exception):
    """The config cannot be used; the message names file, line and key."""


@dataclass(slots=True)
class FeedConfig:
    url: str
    title: str = ""
    tags: list[str] = field(default_factory=list)
    full_text: bool | None = None  # None: follow [settings] full_text
    timeout: float | None = None  # None: follow [settings] timeout
    download: bool = False  # a refresh queues the enclosures of new articles for `docbao download`
    refresh_minutes: int | None = None  # None: follow [settings] auto_refresh_minutes
    notify: bool | None = None  # None: follow [settings] notify
    line: int = 0
    account: str = ""  # the [[account]] this feed comes from ("": fetched over HTTP)
    source: str = ""  # an account's feed: its own address, as the server subscribed to it

    @property
    def shown_url(self) -> str:
        """The address to show the user: an account's feed's own, not its cache key."""
        return self.source or self.url

    @property
    def is_local(self) -> bool:
        return not self.account and not self.url.lower().startswith(("http://", "https://"))

    @property
    def local_path(self) -> Path:
        """The file a local feed reads (a plain path or a file:/// URL)."""
        url = self.url
        if url.startswith("file:"):
            url = urlsplit(url).path
        return Path(url).expanduser()

    def interval(self, settings: Settings) -> int:
        """Minutes between two automatic refreshes of this feed (0: none of its own)."""
        return self.refresh_minutes or settings.auto_refresh_minutes


@dataclass(slots=True)
class AccountConfig:
    """An account on a sync server speaking the Google Reader API."""

    name: str
    url: str  # the API address, e.g. https://HOST/api/greader.php for FreshRSS
    user: str
    type: str = "greader"
    password_command: list[str] = field(default_factory=list)  # argv; its stdout is the password
    password: str = ""  # written in the file: only safe in a private file
    line: int = 0


@dataclass(slots=True)
class SavedSearch:
    name: str
    query: str


@dataclass(slots=True)
class Settings:
    cache_dir: str = ""
    concurrency: int = 64
    timeout: float = 30.0  # total deadline for one feed, in seconds
    max_feed_mb: float = 10.0
    keep_articles: int = 0  # per feed, read articles beyond the newest N are pruned; 0 keeps all
    keep_days: int = 0  # read articles older than this are pruned; 0 keeps all
    auto_refresh_minutes: int = 0  # 0: off
    refresh_on_start: bool = False  # the reader refreshes every feed as it opens (newsboat's refresh-on-startup)
    full_text: bool = False  # prefetch the full article of new items for every feed
    full_text_concurrency: int = 8
    oldest_first: bool = False
    hide_read: bool = False  # feeds and articles with nothing unread left out of the lists (`H` toggles)
    date_format: str = ""  # strftime format of list and article dates; "": 2020-05-23 (shorter where narrow)
    mouse: bool = True  # clicks and the wheel; false leaves the mouse to the terminal (selecting text)
    reading_width: int = 100  # columns of article text at most, centred in a wider reader; 0: the reader's width
    theme: str = ""  # a Textual theme by name ("nord", "gruvbox", ...); "": Textual's default
    notify: bool = False  # an automatic refresh that brings new unread articles says so on the desktop
    user_agent: str = ""  # the User-Agent header of every request; "": docbao's own
    browser: list[str] = field(default_factory=list)  # argv, "%u" the link; run in the terminal
    pipe_command: list[str] = field(default_factory=list)  # argv: `|` gives it the article's text on stdin
    bookmark_command: list[str] = field(default_factory=list)  # argv, "%u" the link, "%t" the title
    download_dir: str = ""  # where enclosures are downloaded; "": the XDG download folder
    player: list[str] = field(default_factory=list)  # argv, "%f" the file or URL; no player: no play key
    images: str = "auto"  # how the reader draws images: auto, kitty, sixel, blocks or off
    image_cache_mb: float = 200.0  # images kept for offline reading; the least recently shown go first


@dataclass(slots=True)
class Config:
    path: Path | None
    settings: Settings = field(default_factory=Settings)
    feeds: list[FeedConfig] = field(default_factory=list)
    accounts: list[AccountConfig] = field(default_factory=list)
    searches: list[SavedSearch] = field(default_factory=list)
    ignores: list[str] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    stamp: tuple[int, int] | None = None  # the file's mtime (ns) and size when it was read

    @property
    def folder(self) -> Path:
        return self.path.parent if self.path else Path.cwd()


def xdg_config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def find_config(cli_path: str | None = None, *, may_create: bool = False) -> Path | None:
    """--config, then $DOCBAO_CONFIG, then ./feeds.toml, then the XDG config folder.

    An explicitly named file must exist, unless `may_create` (a verb that subscribes creates
    it, as it creates the default one) and nothing is there yet; the implicit places are
    only tried.
    """
    for explicit in (cli_path, os.environ.get(CONFIG_ENV)):
        if explicit:
            path = Path(explicit).expanduser()
            if not path.is_file() and not (may_create and not path.exists()):
                raise ConfigError(f"{path}: no such config file")
            return path
    for candidate in (Path.cwd() / CONFIG_NAME, xdg_config_home() / "docbao" / CONFIG_NAME):
        if candidate.is_file():
            return candidate
    return None


def resolve_cache_dir(config: Config, cli_cache: str | None = None) -> Path:
    """--cache, then [settings] cache_dir (relative to the config file), then cache/ beside it;
    with no config, or with the config in the XDG config folder, the XDG cache folder.

    So the first subscription made with no config (which creates the config in the XDG
    config folder) goes on with the cache already in use instead of starting a second one
    beside the new file. A cache/ folder that is already beside that config (made by an
    older docbao) is still used."""
    if cli_cache:
        return Path(cli_cache).expanduser()
    if config.settings.cache_dir:
        return (config.folder / Path(config.settings.cache_dir).expanduser()).resolve()
    beside = config.folder / "cache"
    if config.path is None or (_is_default_config(config.path) and not beside.is_dir()):
        xdg_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        return xdg_cache / "docbao"
    return beside


def _is_default_config(path: Path) -> bool:
    try:
        return path.resolve() == default_config_path().resolve()
    except OSError:
        return False


_SETTING_TYPES: dict[str, tuple[type, ...]] = {
    "cache_dir": (str,),
    "concurrency": (int,),
    "timeout": (int, float),
    "max_feed_mb": (int, float),
    "keep_articles": (int,),
    "keep_days": (int,),
    "auto_refresh_minutes": (int,),
    "refresh_on_start": (bool,),
    "full_text": (bool,),
    "full_text_concurrency": (int,),
    "oldest_first": (bool,),
    "hide_read": (bool,),
    "reading_width": (int,),
    "date_format": (str,),
    "mouse": (bool,),
    "theme": (str,),
    "notify": (bool,),
    "user_agent": (str,),
    "browser": (list,),
    "pipe_command": (list,),
    "bookmark_command": (list,),
    "download_dir": (str,),
    "player": (list,),
    "images": (str,),
    "image_cache_mb": (int, float),
}
IMAGE_MODES = ("auto", "kitty", "sixel", "blocks", "off")
# Commands docbao runs: argv lists read only from [settings] of the user's own file, never a
# shell string, never from a feed, an OPML file or an import.
COMMAND_SETTINGS = {"browser": '["w3m", "%u"]', "pipe_command": '["wc", "-w"]',
                    "bookmark_command": '["buku", "--nostdin", "-a", "%u", "--title", "%t"]',
                    "player": '["mpv", "%f"]'}
MIN_READING_WIDTH = 30  # columns: a narrower measure is no longer comfortable, and likely a typo
_POSITIVE = {"concurrency", "timeout", "max_feed_mb", "full_text_concurrency", "image_cache_mb"}
_FEED_KEYS = {"url", "title", "tags", "full_text", "timeout", "download", "refresh_minutes", "notify"}
_TOP_KEYS = {"settings", "feed", "account", "search", "ignore", "keys"}
_ACCOUNT_KEYS = {"name", "type", "url", "user", "password_command", "password"}
ACCOUNT_TYPES = ("greader",)
# Bidi embeddings, overrides, isolates and marks: "https://e.example/\u202egnp.exe" shows
# as "https://e.example/exe.png".
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_COMMAND_PREFIX = re.compile(r"^\s*(exec:|filter:|query:|\|)", re.IGNORECASE)
# what url_problem refuses in a URL: C0 controls, DEL, C1 controls and the bidi controls
_URL_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f" + "".join(sorted(_BIDI_CONTROLS)) + "]")
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


MAX_DATE_CELLS = 32  # a formatted date wider than this would crowd out the titles


def date_format_problem(value: str) -> str:
    """Why a `date_format` cannot be used ("" when it can): one line, with at least one
    strftime directive, that formats to a short date."""
    import time

    if not value.strip() or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return "must be one line of strftime directives, e.g. \"%d/%m/%Y\" (leave it out for 2020-05-23)"
    if "%" not in value:
        return "has no strftime directive (such as %d, %m, %Y, %b, %H:%M)"
    try:
        sample = time.strftime(value, time.localtime(1_590_243_720))
    except (ValueError, OverflowError) as exc:
        return f"cannot format a date: {exc}"
    if len(sample) > MAX_DATE_CELLS:
        return f"makes dates longer than {MAX_DATE_CELLS} characters ('{sample}')"
    return ""


class _Locator:
    """Finds the line of a key in the raw text, since tomllib keeps no positions."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self._headers: dict[tuple[str, bool], list[int]] = {}

    def table(self, name: str, index: int | None = None) -> int:
        """Line (1-based) of `[name]`, or of the index-th `[[name]]`; 0 if not found. The
        header lines of each name are found once: a file of 1,000 feeds is read in one pass
        per table name, not one per feed."""
        many = index is not None
        found = self._headers.get((name, many))
        if found is None:
            header = re.compile(rf"^\s*\[\[\s*{re.escape(name)}\s*\]\]" if many
                                else rf"^\s*\[\s*{re.escape(name)}\s*\]")
            found = [number for number, line in enumerate(self.lines, 1) if header.match(line)]
            self._headers[(name, many)] = found
        position = index or 0
        return found[position] if position < len(found) else 0

    def key(self, start: int, key: str) -> int:
        """Line of `key =` in the table that starts at line `start`."""
        pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for number in range(start + 1 if start else 1, len(self.lines) + 1):
            line = self.lines[number - 1]
            if start and re.match(r"^\s*\[", line):
                break
            if pattern.match(line):
                return number
        return start


def load_config(path: Path | None) -> Config:
    """Read and validate a config file; None gives the defaults with no feeds."""
    if path is None:
        return Config(path=None)
    try:
        stamp = file_stamp(path)  # before reading: a write in between is read again later
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    config = read_config_text(path, text)
    config.stamp = stamp
    return config


def file_stamp(path: Path) -> tuple[int, int]:
    """A file's mtime (ns) and size: it changed when they did. Raises OSError."""
    info = path.stat()
    return info.st_mtime_ns, info.st_size


def read_config_text(path: Path, text: str) -> Config:
    """Validate `text` as the config file at `path` would be (nothing is read or written)."""
    text = text.replace("\r\n", "\n")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML syntax error: {exc}") from exc
    return _validate(path, data, _Locator(text))


def _validate(path: Path, data: dict[str, Any], where: _Locator) -> Config:
    config = Config(path=path)
    errors: list[str] = []

    def error(line: int, message: str) -> None:
        errors.append(f"{path}:{line}: {message}" if line else f"{path}: {message}")

    for key in data:
        if key not in _TOP_KEYS:
            config.warnings.append(f"{path}:{where.key(0, key)}: unknown key '{key}' ignored")

    settings = data.get("settings", {})
    if not isinstance(settings, dict):
        error(where.key(0, "settings"), "'settings' must be a table")
        settings = {}
    start = where.table("settings")
    for key, value in settings.items():
        line = where.key(start, key)
        if key not in _SETTING_TYPES:
            config.warnings.append(f"{path}:{line}: [settings] unknown key '{key}' ignored")
            continue
        types = _SETTING_TYPES[key]
        if key in COMMAND_SETTINGS and not (isinstance(value, list) and value
                                            and all(isinstance(part, str) and part.strip() for part in value)):
            error(line, f"[settings] key '{key}' must be a command as a list of strings (no shell), "
                        f"e.g. {COMMAND_SETTINGS[key]}")
        elif isinstance(value, bool) and bool not in types or not isinstance(value, types):
            error(line, f"[settings] key '{key}' must be {_type_name(types)}, not {_type_name((type(value),))}")
        elif key == "download_dir" and not value.strip():
            error(line, "[settings] key 'download_dir' must name a folder (leave it out for the XDG download folder)")
        elif key == "user_agent" and (not value.strip() or any(ord(ch) < 32 or ord(ch) == 127 for ch in value)):
            error(line, "[settings] key 'user_agent' must be one line of text (leave it out for docbao's own)")
        elif key == "theme" and not value.strip():
            error(line, "[settings] key 'theme' must name a theme, e.g. \"nord\" (leave it out for the default)")
        elif key == "images" and value not in IMAGE_MODES:
            error(line, f"[settings] key 'images' must be one of {', '.join(repr(m) for m in IMAGE_MODES)}")
        elif key == "date_format" and (problem := date_format_problem(value)):
            error(line, f"[settings] key 'date_format' {problem}")
        elif key == "reading_width" and 0 < value < MIN_READING_WIDTH:
            error(line, f"[settings] key 'reading_width' must be 0 (the reader's width) or at least {MIN_READING_WIDTH} columns")
        elif key in _POSITIVE and value <= 0 or isinstance(value, int) and not isinstance(value, bool) and value < 0:
            error(line, f"[settings] key '{key}' must be positive")
        else:
            setattr(config.settings, key, float(value) if float in types else value)

    seen: dict[str, int] = {}
    for start, label, entry in _tables(path, data, "feed", _FEED_KEYS, where, config, error):
        url = entry.get("url")
        if url is None:
            error(start, f"{label} has no 'url'")
            continue
        if not isinstance(url, str):
            error(where.key(start, "url"), f"{label} key 'url' must be a string")
            continue
        problem = url_problem(url)
        if problem:
            error(where.key(start, "url"), f"{label} key 'url': {problem}")
            continue
        feed = FeedConfig(url=url.strip(), line=start)
        title = entry.get("title", "")
        if not isinstance(title, str):
            error(where.key(start, "title"), f"{label} key 'title' must be a string")
        else:
            feed.title = clean_line(title)  # a shared feeds.toml may carry escape sequences
        tags = entry.get("tags", [])
        if isinstance(tags, str):
            tags = [tags]
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            error(where.key(start, "tags"), f"{label} key 'tags' must be a list of strings")
        else:
            feed.tags = [tag for tag in (clean_line(t) for t in tags) if tag]
        if "full_text" in entry:
            if not isinstance(entry["full_text"], bool):
                error(where.key(start, "full_text"), f"{label} key 'full_text' must be true or false")
            else:
                feed.full_text = entry["full_text"]
        if "notify" in entry:
            if not isinstance(entry["notify"], bool):
                error(where.key(start, "notify"), f"{label} key 'notify' must be true or false")
            else:
                feed.notify = entry["notify"]
        if "download" in entry:
            if not isinstance(entry["download"], bool):
                error(where.key(start, "download"), f"{label} key 'download' must be true or false")
            else:
                feed.download = entry["download"]
        if "timeout" in entry:
            value = entry["timeout"]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                error(where.key(start, "timeout"), f"{label} key 'timeout' must be a positive number of seconds")
            else:
                feed.timeout = float(value)
        if "refresh_minutes" in entry:
            value = entry["refresh_minutes"]
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                error(where.key(start, "refresh_minutes"), f"{label} key 'refresh_minutes' must be a positive "
                                                           "number of minutes")
            else:
                feed.refresh_minutes = value
        if feed.url in seen:
            config.warnings.append(
                f"{path}:{start}: {label} repeats the url of the feed at line {seen[feed.url]}; ignored"
            )
            continue
        seen[feed.url] = start
        config.feeds.append(feed)

    _validate_accounts(path, data, where, config, error)

    for kind, target in (("search", config.searches), ("ignore", config.ignores)):
        entries = data.get(kind, [])
        if not isinstance(entries, list):
            error(where.key(0, kind), f"'{kind}' entries are [[{kind}]] tables")
            continue
        for index, entry in enumerate(entries):
            start = where.table(kind, index)
            query = entry.get("query") if isinstance(entry, dict) else None
            if not isinstance(query, str) or not query.strip():
                error(start, f"[[{kind}]] #{index + 1} needs a 'query' string")
                continue
            if kind == "search":
                name = entry.get("name")
                if not isinstance(name, str) or not name.strip():
                    error(start, f"[[search]] #{index + 1} needs a 'name' string")
                    continue
                config.searches.append(SavedSearch(name.strip(), query.strip()))
            else:
                config.ignores.append(query.strip())

    keys = data.get("keys", {})
    start = where.table("keys")
    if not isinstance(keys, dict):
        error(where.key(0, "keys"), "'keys' must be a table of action = \"key,key\"")
    else:
        for action, value in keys.items():
            if not isinstance(value, str) or not value.strip():
                error(where.key(start, action), f"[keys] '{action}' must be a string of keys like \"j,down\"")
            else:
                config.keys[action] = value.strip()

    if errors:
        raise ConfigError("\n".join(errors))
    return config


def _tables(path: Path, data: dict[str, Any], kind: str, keys: set[str], where: _Locator, config: Config,
            error: Callable[[int, str], None]) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """The [[kind]] tables of the file as (line, label, table); unknown keys are warned about."""
    entries = data.get(kind, [])
    if not isinstance(entries, list):
        error(where.key(0, kind), f"{kind}s are [[{kind}]] tables")
        return
    for index, entry in enumerate(entries):
        start = where.table(kind, index)
        label = f"[[{kind}]] #{index + 1}"
        if not isinstance(entry, dict):
            error(start, f"{label} must be a table")
            continue
        for key in entry:
            if key in COMMAND_SETTINGS:
                config.warnings.append(f"{path}:{where.key(start, key)}: {label} key '{key}' ignored: "
                                       "commands are read only from [settings]")
            elif key not in keys:
                config.warnings.append(f"{path}:{where.key(start, key)}: {label} unknown key '{key}' ignored")
        yield start, label, entry


def _validate_accounts(path: Path, data: dict[str, Any], where: _Locator, config: Config,
                       error: Callable[[int, str], None]) -> None:
    names: set[str] = set()
    for start, label, entry in _tables(path, data, "account", _ACCOUNT_KEYS, where, config, error):
        values: dict[str, str] = {}
        for key in ("name", "url", "user"):
            value = entry.get(key)
            if not isinstance(value, str) or not value.strip():
                error(where.key(start, key), f"{label} needs a '{key}' string")
            else:
                values[key] = value.strip()
        kind = entry.get("type", "greader")
        if kind not in ACCOUNT_TYPES:
            error(where.key(start, "type"), f"{label} key 'type' must be one of: {', '.join(ACCOUNT_TYPES)}")
        if "url" in values:
            problem = url_problem(values["url"])
            if problem or not values["url"].lower().startswith(("http://", "https://")):
                error(where.key(start, "url"), f"{label} key 'url' must be the server's http(s) API address"
                      + (f": {problem}" if problem else ""))
                values.pop("url")
        if "name" in values:
            if not re.fullmatch(r"[\w .-]{1,64}", values["name"]):
                error(where.key(start, "name"), f"{label} key 'name' must be letters, digits, spaces, '.', '-' or '_'")
                values.pop("name")
            elif values["name"] in names:
                error(where.key(start, "name"), f"{label} repeats the name '{values['name']}'")
                values.pop("name")
        command = entry.get("password_command", [])
        if not isinstance(command, list) or not all(isinstance(part, str) and part for part in command):
            error(where.key(start, "password_command"),
                  f"{label} key 'password_command' must be a command as a list of strings, e.g. [\"pass\", \"freshrss\"]")
            command = []
        password = entry.get("password", "")
        if not isinstance(password, str):
            error(where.key(start, "password"), f"{label} key 'password' must be a string")
            password = ""
        if password and _readable_by_others(path):
            config.warnings.append(
                f"{path}:{where.key(start, 'password')}: {label} has a password in a file others can read:"
                f" make it private (chmod 600 {path}) or use password_command")
        if len(values) == 3:
            names.add(values["name"])
            config.accounts.append(AccountConfig(values["name"], values["url"], values["user"], "greader",
                                                 list(command), password, start))


def _readable_by_others(path: Path) -> bool:
    try:
        return bool(path.stat().st_mode & 0o077)
    except OSError:
        return False


def url_problem(url: str) -> str:
    """Why a feed URL is unusable, or "" when it is fine (http(s) or a plain local path)."""
    url = url.strip()
    if not url:
        return "is empty"
    if _COMMAND_PREFIX.match(url):
        return "commands and filters (exec:, filter:, query:, |cmd) are not run by docbao"
    if _URL_CONTROLS.search(url):  # one scan: a file of 1,000 feeds is read at every start
        return "contains control characters"
    scheme = url.split(":", 1)[0].lower() if _URL_SCHEME.match(url) else ""
    if scheme in ("http", "https"):
        parts = urlsplit(url)
        try:
            parts.port
        except ValueError:
            return "has an invalid port"
        if not parts.hostname:
            return "has no host"
        return ""
    if scheme == "file":
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost") or parts.query or parts.fragment or not parts.path:
            return "only plain local paths (file:///path) are allowed for file: URLs"
        return ""
    if scheme and len(scheme) > 1:  # a Windows drive letter is not a scheme
        return f"scheme '{scheme}' is not http, https or a local file path"
    return ""


def _type_name(types: tuple[type, ...]) -> str:
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
             list: "a list", dict: "a table"}
    return " or ".join(names.get(t, t.__name__) for t in types)


# ------------------------------------------------------------------ editing the file
def default_config_path() -> Path:
    """Where a new config is created when none exists yet."""
    return xdg_config_home() / "docbao" / CONFIG_NAME


def _edit(path: Path, change: Callable[[Any], None]) -> None:
    """Apply `change` to the TOML document at `path`, keeping comments and layout, and
    write it back atomically (a crash leaves the old file or the new one, never half).

    The new text is validated before it is written: an edit that would leave a file docbao
    cannot read raises ConfigError and the file stays as it was."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        original = path.read_bytes().decode("utf-8-sig") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it to edit it: {exc}") from exc
    crlf = "\r\n" in original
    try:
        document = tomlkit.parse(original.replace("\r\n", "\n"))
        change(document)
        text = tomlkit.dumps(document)
    except TOMLKitError as exc:
        raise ConfigError(f"{path}: not changed: {exc}") from exc
    try:
        read_config_text(path, text)
    except ConfigError as exc:
        raise ConfigError(f"not changed, the edit would not read back: {exc}") from exc
    if crlf:
        text = text.replace("\n", "\r\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, [text.encode("utf-8")])


def write_atomic(path: Path, chunks: Iterable[bytes]) -> None:
    """Write `chunks` to `path` so that a crash leaves the old file or the new, never half."""
    path = path.expanduser()
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temp.open("wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(temp, path.stat().st_mode & 0o7777)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def add_feeds(path: Path, feeds: list[FeedConfig]) -> None:
    """Append [[feed]] tables for `feeds` to the config file."""
    _append_tables(path, "feed", [{"url": feed.url, **({"title": feed.title} if feed.title else {}),
                                   **({"tags": list(feed.tags)} if feed.tags else {})} for feed in feeds])


def _append_tables(path: Path, key: str, rows: list[dict[str, Any]]) -> None:
    """Append a [[key]] table per row to the config file, a blank line apart."""
    import tomlkit

    def change(document: Any) -> None:
        fresh = _fresh_array(document, key)
        for row in rows:
            if not fresh:
                _separate(document[key])
            table = tomlkit.table()
            for name, value in row.items():
                table[name] = value
            document[key].append(table)
        _separate_from_next(document, key)

    _edit(path, change)


def _fresh_array(document: Any, key: str) -> bool:
    """An array of tables at `key` to append to; an empty one (`feed = []`, as a file may
    say) is replaced, since tomlkit would go on writing it inline. True when it is new:
    tomlkit then writes its tables a blank line apart, and it stands a blank line after
    what comes before it."""
    import tomlkit

    if key in document and not len(document[key]):
        del document[key]
    if key in document:
        return False
    if document.as_string().strip() and not document.as_string().endswith("\n\n"):
        document.add(tomlkit.nl())
    document.append(key, tomlkit.aot())
    return True


def _separate(tables: Any) -> None:
    """A blank line after the last table of an array, so an appended one stands apart."""
    import tomlkit

    if len(tables) and not tables[-1].as_string().endswith("\n\n"):
        tables[-1].add(tomlkit.nl())


def _separate_from_next(document: Any, key: str) -> None:
    """A blank line between the array at `key` and the table the file has after it."""
    if list(document)[-1] != key:
        _separate(document[key])


def remove_feed(path: Path, url: str) -> None:
    """Delete the [[feed]] table whose url is `url`."""

    def change(document: Any) -> None:
        feeds = document.get("feed", [])
        for index, table in enumerate(feeds):
            if table.get("url", "").strip() == url:
                del feeds[index]
                if not len(feeds):  # the last one: no `feed = []` left behind
                    del document["feed"]
                return
        raise ConfigError(f"{path}: no [[feed]] has the url {url}")

    _edit(path, change)


def set_feed_url(path: Path, url: str, new_url: str) -> None:
    """Give the feed whose url is `url` its new address (a permanent redirect), in place."""

    def change(document: Any) -> None:
        for table in document.get("feed", []):
            if table.get("url", "").strip() == url:
                table["url"] = new_url
                return
        raise ConfigError(f"{path}: no [[feed]] has the url {url}")

    _edit(path, change)


def set_feed_tags(path: Path, url: str, tags: list[str]) -> None:
    """Replace the tags of the feed whose url is `url` (no tags: the key goes)."""

    def change(document: Any) -> None:
        for table in document.get("feed", []):
            if table.get("url", "").strip() == url:
                if tags:
                    table["tags"] = list(tags)
                elif "tags" in table:
                    del table["tags"]
                return
        raise ConfigError(f"{path}: no [[feed]] has the url {url}")

    _edit(path, change)


def add_ignores(path: Path, queries: list[str]) -> None:
    """Append [[ignore]] tables (the articles their queries match are hidden)."""
    _append_tables(path, "ignore", [{"query": query} for query in queries])


def add_searches(path: Path, searches: list[SavedSearch]) -> None:
    """Append [[search]] tables (saved searches shown as virtual feeds)."""
    _append_tables(path, "search", [{"name": search.name, "query": search.query} for search in searches])
