"""The end-to-end harness: the installed docbao, a Reader driving it in tmux, feed servers.
Fixtures over these are in conftest.py, whose docstring shows how to use them."""


from __future__ import annotations

import itertools
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers import DATA, SHARED
from tests.server import LocalServer

ROOT = Path(__file__).resolve().parents[2]

# tmux names for the keys a list burst may hold; any other item is typed literally.
TMUX_KEY = re.compile(
    r"^(Enter|Escape|Space|Tab|BTab|BSpace|DC|IC|Up|Down|Left|Right|Home|End|PageUp|PageDown|PgUp|PgDn"
    r"|PPage|NPage|F[1-9]|F1[0-2]|[CMS]-.+)$"
)


# ------------------------------------------------------------------------------ the install
@dataclass
class Installed:
    venv: Path
    wheel: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    @property
    def docbao(self) -> Path:
        return self.bin / "docbao"

    @property
    def python(self) -> Path:
        return self.bin / "python"


def _clean_copy(dest: Path) -> Path:
    """The tree as a fresh checkout has it: no build/, egg-info, venv, cache or bytecode."""
    skip = {".git", ".venv", "build", "dist", "cache", "tests", "bench", "__pycache__", ".pytest_cache"}

    def ignore(folder: str, names: list[str]) -> set[str]:
        return {n for n in names if n in skip or n.endswith(".egg-info") or n.endswith(".pyc")}

    shutil.copytree(ROOT, dest, ignore=ignore)
    return dest


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> None:
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"{shlex.join(argv)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def install_from_tree(base: Path) -> Installed:
    """docbao as `pip install .` gives it, in a virtual environment that never saw the tree."""
    src = _clean_copy(base / "src")
    wheels = base / "wheels"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(src), "-w", str(wheels)], env, base)
    (wheel,) = wheels.glob("docbao-*.whl")
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], env, base)
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)], env, base)
    shutil.rmtree(src)  # nothing may run from the copy
    return Installed(venv=venv, wheel=wheel)


# ------------------------------------------------------------------------------ the reader
_sessions = itertools.count(1)

TMUX_CONF = """\
set -g status off
set -g remain-on-exit on
set -g history-limit 2000
set -g default-terminal "tmux-256color"
set -g escape-time 0
"""


def user_env(installed: Installed, home: Path) -> dict[str, str]:
    """A user's environment: the install on PATH, their own HOME and XDG folders, nothing of
    the test run's (no PYTHONPATH, no virtualenv of the tree)."""
    return {
        "PATH": f"{installed.bin}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
        "TERM": "tmux-256color",
        "COLORTERM": "truecolor",
    }


EXIT_MARK = "[docbao exited with status]"
SHELL_PROMPT = "docbao-user$"
EXIT_RE = re.compile(re.escape(EXIT_MARK) + r" (\d+)")


class ReaderDied(AssertionError):
    pass


@dataclass
class Reader:
    installed: Installed
    home: Path
    name: str = field(default_factory=lambda: f"docbao-e2e-{os.getpid()}-{next(_sessions)}")
    started: bool = False
    size: tuple[int, int] = (120, 36)
    extra_env: dict[str, str] = field(default_factory=dict)
    _shell: bool = False

    def __post_init__(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self._conf = self.home.parent / f"{self.name}.tmux.conf"
        self._conf.write_text(TMUX_CONF, encoding="utf-8")
        self._socket = self.name

    # -- the terminal
    def _tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-L", self._socket, "-f", str(self._conf), *args],
                              capture_output=True, text=True, check=check, timeout=30)

    @property
    def env(self) -> dict[str, str]:
        return {**user_env(self.installed, self.home), **self.extra_env}

    def start(self, config: Path | None = None, cache: Path | None = None, size: tuple[int, int] = (120, 36),
              args: Sequence[str] = (), wait: bool = True, env: dict[str, str] | None = None,
              shell: bool = False) -> "Reader":
        """Open the reader (`docbao [--config C] [--cache D] ARGS`) and wait for its first frame;
        `env` adds to (or changes) the user's environment, for this start and for `cli`.
        `shell=True` types the command into an interactive bash (job control: Ctrl+Z, fg)."""
        if self.started:
            self.close()
        self.extra_env = dict(env or {})
        argv = [str(self.installed.docbao)]
        if config is not None:
            argv += ["--config", str(config)]
        if cache is not None:
            argv += ["--cache", str(cache)]
        argv += list(args)
        self.size = size
        self._socket = f"{self.name}-{next(_sessions)}"  # a new tmux server: the last one may still be ending
        variables = " ".join(shlex.quote(f"{k}={v}") for k, v in self.env.items())
        self._shell = False  # (set once the reader shows: until then bash has no child to watch)
        if shell:
            # an interactive bash with job control, the command typed into it
            self._tmux("new-session", "-d", "-s", "main", "-x", str(size[0]), "-y", str(size[1]),
                       "-c", str(self.home), f"exec env -i {variables} PS1={shlex.quote(SHELL_PROMPT + ' ')} "
                       "bash --norc --noprofile -i")
            self.wait_for(lambda rows: SHELL_PROMPT in "\n".join(rows), timeout=30)
            self.keys([shlex.join(argv), "Enter"])
        else:
            # a shell waits for docbao and prints its exit status into the terminal (tmux itself
            # may take seconds to notice an exit); a traceback stays on the screen above it
            wrapper = '"$@"; s=$?; printf "\\n%s %s\\n" "' + EXIT_MARK + '" "$s"; exec sleep 86400'
            self._tmux("new-session", "-d", "-s", "main", "-x", str(size[0]), "-y", str(size[1]),
                       "-c", str(self.home),
                       f"exec env -i {variables} sh -c {shlex.quote(wrapper)} sh {shlex.join(argv)}")
        self.started = True
        if wait or shell:
            # the status line is drawn: its counts, or its key hint (a long line drops the hint)
            self.wait_for(lambda rows: any("quit" in row or " unread · " in row for row in rows[-1:]), timeout=60)
        self._shell = shell
        return self

    def keys(self, burst: str | list[str]) -> None:
        """Send keys with no pause between them: all in one tmux command, so they reach the
        program's terminal together, like fast typing."""
        items = [burst] if isinstance(burst, str) else list(burst)
        commands: list[str] = []
        for item in items:
            if commands:
                commands.append(";")
            if TMUX_KEY.match(item):
                commands += ["send-keys", "-t", "main", item]
            else:
                commands += ["send-keys", "-t", "main", "-l", "--", item]
        self._tmux(*commands)

    def screen(self) -> list[str]:
        out = self._tmux("capture-pane", "-p", "-t", "main").stdout
        rows = [row.rstrip() for row in out.split("\n")[: self.size[1]]]
        return rows + [""] * (self.size[1] - len(rows))

    def text(self) -> str:
        return "\n".join(self.screen())

    def status(self) -> str:
        """The status line: the last row of the screen."""
        return self.screen()[-1]

    def dead(self) -> int | None:
        """docbao's exit status once it has ended, else None."""
        if self._shell and EXIT_MARK not in self.text():
            shell_pid = self._tmux("display-message", "-p", "-t", "main", "#{pane_pid}").stdout.strip()
            children = subprocess.run(["ps", "-o", "pid=", "--ppid", shell_pid], capture_output=True, text=True)
            if children.stdout.strip():
                return None  # running, or stopped by Ctrl+Z
            self.keys([f'printf "%s %s\\n" "{EXIT_MARK}" "$?"', "Enter"])
            self.wait_for_text(EXIT_MARK)
        match = EXIT_RE.search(self.text())
        return int(match[1]) if match else None

    def wait_for_text(self, text: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.text():
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never showed:\n" + self._dump(self.screen()))
            time.sleep(0.05)

    def wait_for(self, what: str | Callable[[list[str]], bool], timeout: float = 30) -> list[str]:
        """Wait until `what` (text anywhere on the screen, or a predicate on the rows) holds;
        return the screen. Fails with the screen shown on timeout or if the reader died."""
        test = (lambda rows: what in "\n".join(rows)) if isinstance(what, str) else what
        deadline = time.monotonic() + timeout
        while True:
            rows = self.screen()
            if test(rows):
                return rows
            status = self.dead()
            if status is not None:
                raise ReaderDied(f"docbao exited with status {status} while waiting for {what!r}:\n"
                                 + self._dump(rows))
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what!r}; the screen:\n"
                                     + self._dump(rows))
            time.sleep(0.05)

    def wait_for_status(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        """Wait until the status line matches the regex; return the match."""
        regex = re.compile(pattern)
        rows = self.wait_for(lambda rows: bool(regex.search(rows[-1])), timeout=timeout)
        match = regex.search(rows[-1])
        assert match is not None
        return match

    def wait_gone(self, text: str, timeout: float = 30) -> list[str]:
        return self.wait_for(lambda rows: text not in "\n".join(rows), timeout=timeout)

    def wait_exit(self, timeout: float = 30) -> int:
        """Wait until the reader has ended by itself; its exit status."""
        deadline = time.monotonic() + timeout
        while (status := self.dead()) is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"docbao still running after {timeout}s:\n" + self._dump(self.screen()))
            time.sleep(0.05)
        return status

    def quit(self, key: str = "q", timeout: float = 30) -> int:
        """Press the quit key until the reader ends (a `q` may first go back a pane, as in
        newsboat), then its exit status."""
        deadline = time.monotonic() + timeout
        for _presses in range(4):
            self.keys(key)
            press_deadline = min(deadline, time.monotonic() + timeout / 4)
            while time.monotonic() < press_deadline:
                status = self.dead()
                if status is not None:
                    self.close()
                    return status
                time.sleep(0.05)
        raise AssertionError(f"docbao did not quit on {key!r}:\n" + self._dump(self.screen()))

    def close(self) -> None:
        if self.started:
            self._tmux("kill-server", check=False)
            self.started = False
            # tmux leaves its socket file behind after kill-server
            sockets = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}"
            (sockets / self._socket).unlink(missing_ok=True)

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run `docbao ARGS` as another process, as the same user."""
        return subprocess.run([str(self.installed.docbao), *args], capture_output=True, text=True,
                              env=self.env, cwd=self.home, timeout=timeout)

    @staticmethod
    def _dump(rows: list[str]) -> str:
        return "\n".join(f"|{row}" for row in rows)


def panes(rows: list[str]) -> list[tuple[int, int]]:
    """The column span (start, end) of each bordered pane, from the top row's corners."""
    top = rows[0]
    starts = [i for i, ch in enumerate(top) if ch == "╭"]
    ends = [i for i, ch in enumerate(top) if ch == "╮"]
    return list(zip(starts, ends))


def _pane_span(rows: list[str], pane: int) -> tuple[int, int] | None:
    """Pane 0 (feeds), 1 (articles) or 2 (the article). An article being read fills the
    screen alone: then it is pane 2 (and the feeds and the list are not shown)."""
    spans = panes(rows)
    if pane == 2 and len(spans) == 1:
        return spans[0]
    return spans[pane] if pane < len(spans) else None


def pane_title(rows: list[str], pane: int = 1) -> str:
    """The title in the top border of pane 0 (feeds), 1 (articles) or 2 (the article)."""
    span = _pane_span(rows, pane)
    if span is None:
        return ""
    start, end = span
    return rows[0][start + 1:end].strip("─ ")


def pane_text(rows: list[str], pane: int = 2) -> str:
    """The text inside a pane, its lines joined by spaces: wrapped sentences read whole."""
    span = _pane_span(rows, pane)
    if span is None:
        return ""
    start, end = span
    inner = [row[start + 1:end].strip("│▁▂▃▄▅▆▇█▔ ") for row in rows[1:-2]]
    return " ".join(" ".join(inner).split())


# ------------------------------------------------------------------------------ feeds
def number(n: int) -> str:
    """A regex for a count however the reader groups its digits (4521, 4,521, 4 521)."""
    digits = str(n)
    groups = []
    while digits:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    return r"(?<![\d,])" + r"[,\u202f\u00a0 ]?".join(groups) + r"(?![\d,])"


def write_config(path: Path, urls: Sequence[str], settings: dict[str, object] | None = None,
                 feed_options: dict[str, dict[str, object]] | None = None, tags: dict[str, str] | None = None,
                 extra: str = "") -> Path:
    """A feeds.toml as a user writes it."""

    def value(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return str(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = []
    if settings:
        lines.append("[settings]")
        lines += [f"{k} = {value(v)}" for k, v in settings.items()]
        lines.append("")
    for url in urls:
        lines += ["[[feed]]", f"url = {value(url)}"]
        if tags and url in tags:
            lines.append(f"tags = [{value(tags[url])}]")
        for k, v in (feed_options or {}).get(url, {}).items():
            lines.append(f"{k} = {value(v)}")
        lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + extra, encoding="utf-8")
    return path


RSS_ITEM = """<item><title>{title}</title><link>{link}</link><guid isPermaLink="false">{guid}</guid>
<pubDate>{date}</pubDate><description>{body}</description></item>"""


def rss(title: str, items: list[dict[str, str]]) -> str:
    body = "".join(RSS_ITEM.format(**item) for item in items)
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>http://127.0.0.1/</link><description>{title}</description>{body}</channel></rss>")


def synthetic_feeds(server: LocalServer, count: int, items: int = 3, prefix: str = "/synthetic") -> list[str]:
    """Serve `count` RSS feeds of `items` articles each; their URLs, in order."""
    urls = []
    for i in range(1, count + 1):
        entries = [dict(title=f"Story {j} of feed {i:04d}", link=server.url(f"{prefix}/{i:04d}/{j}.html"),
                        guid=f"synthetic-{i:04d}-{j}", date=f"Mon, {1 + j % 28:02d} Jan 2024 {j % 24:02d}:00:00 GMT",
                        body=f"Body of story {j} of feed {i:04d}.") for j in range(1, items + 1)]
        urls.append(server.route(f"{prefix}/{i:04d}.xml", rss(f"Synthetic feed {i:04d}", entries),
                                 content_type="application/rss+xml", etag=f'"s{i}-{items}"'))
    return urls


# ------------------------------------------------------------------------------ the corpus
CORPUS_FOLDERS = ("rss2", "atom", "rss1-rdf", "rss09x", "jsonfeed", "podcast-media", "non-latin-scripts",
                  "legacy-encodings", "large", "awkward", "html-articles")
VI_TITLE = "Lãnh đạo Trung ương làm việc với Ban Thường vụ Tỉnh ủy Thái Nguyên"
VI_LEAD = ("Ngày 23/5, đồng chí Phạm Minh Chính, Ủy viên Bộ Chính trị, Bí thư Trung ương Đảng, "
           "Trưởng ban Tổ chức Trung ương đã làm việc với Ban Thường vụ Tỉnh ủy Thái Nguyên.")
BBC_TITLE = "Obama admits US gun laws are his biggest frustration"


@dataclass
class CorpusSite:
    """A serve.py process over a copy of the corpus folders; `feeds` are its feed URLs."""

    root: Path
    folder: Path
    proc: subprocess.Popen[bytes] | None = None
    port: int = 0
    feeds: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, latency_ms: int = 0) -> "CorpusSite":
        """Serve (again) on the same port as before, if there was one."""
        port_file = self.folder / "port"
        port_file.unlink(missing_ok=True)
        log = open(self.folder / "server.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, str(SHARED / "bench" / "serve.py"), "--root", str(self.root), "--port",
             str(self.port), "--port-file", str(port_file), "--latency-ms", str(latency_ms), "--jitter-ms", "0"],
            stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("serve.py did not start: " + (self.folder / "server.log").read_text())
            time.sleep(0.05)
        self.port = int(port_file.read_text())
        return self

    def kill(self) -> None:
        """The server goes away at once (SIGKILL): open connections are cut, new ones refused."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
            self.proc = None

    def config(self, path: Path, settings: dict[str, object] | None = None, extra: str = "") -> Path:
        return write_config(path, self.feeds, settings=settings, tags=self.tags, extra=extra)


def serve_corpus(folder: Path, latency_ms: int = 0) -> CorpusSite:
    """Copy the corpus's feed folders (as ../shared/day/serve-corpus.sh does), serve them, and
    add a Vietnamese feed whose two articles link to pages served beside it: the seed article's
    page and a BBC article page from the corpus's html-articles."""
    corpus = SHARED / "corpus"
    if not (corpus / "MANIFEST.tsv").exists() or not (SHARED / "bench" / "serve.py").exists():
        pytest.skip(f"{SHARED} (the shared feed corpus and its server) is not available")
    root = folder / "site"
    for name in CORPUS_FOLDERS:
        if (corpus / name).is_dir():
            shutil.copytree(corpus / name, root / name)
    site = CorpusSite(root=root, folder=folder).start(latency_ms)
    (root / "vi").mkdir()
    shutil.copy(DATA / "pages" / "seed-page.html", root / "vi" / "lanh-dao-trung-uong.html")
    items = [
        dict(title=VI_TITLE, link=f"{site.base}/vi/lanh-dao-trung-uong.html", guid="vi-seed-1",
             date="Sat, 23 May 2020 14:22:00 GMT", body=VI_LEAD),
        dict(title=BBC_TITLE, link=f"{site.base}/html-articles/readability__bbc-1.html", guid="vi-bbc-1",
             date="Fri, 24 Jul 2015 10:00:00 GMT", body="President Obama speaks to the BBC."),
    ]
    (root / "vi" / "bao-thai-nguyen.xml").write_text(rss("Báo Thái Nguyên", items), encoding="utf-8")
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel.startswith("html-articles/") or rel.endswith(".html") and rel.startswith("vi/"):
            continue
        url = f"{site.base}/{rel}"
        site.feeds.append(url)
        site.tags[url] = rel.split("/", 1)[0]
    return site
