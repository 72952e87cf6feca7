"""Shared tools of the adversarial suite (tests/test_hostile_*.py); no tests of its own.

The suite drives the whole reader the way a user does: a feeds.toml, `docbao refresh`
run as its own process against servers on 127.0.0.1, then the cache file and the bytes
that `docbao articles`, `feeds` and `read` print. These helpers build hostile feeds, run
the command with its peak memory measured, and scan a cache for anything that could
drive a terminal.
"""

from __future__ import annotations

import html
import os
import re
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tests.helpers import ctrl_c_as_at_a_terminal
from tui.store import index

# What must never reach a terminal (SECURITY.md): C0 controls but tab and newline, DEL,
# C1, and the bidi embeddings, overrides, isolates and marks. Written out here rather
# than taken from tui.content.sanitize, so that the suite checks the sanitiser, not itself.
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CHAR_REF = re.compile(r"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));?")

PEAK_RSS_LIMIT = 256 * 1024 * 1024
ADDRESS_SPACE_LIMIT = 4 * 1024 * 1024 * 1024


def controls_in(text: str) -> list[str]:
    """The forbidden characters in `text`, as code points (empty when the text is safe)."""
    return [f"U+{ord(ch):04X}" for ch in CONTROLS.findall(text)]


def control_refs_in(markup: str) -> list[str]:
    """Character references in stored HTML that a renderer would decode into a control."""
    found = []
    for match in _CHAR_REF.finditer(markup):
        hex_value, dec_value = match.groups()
        try:
            code = int(hex_value, 16) if hex_value else int(dec_value)
            char = chr(code)
        except (ValueError, OverflowError):
            continue
        if CONTROLS.fullmatch(char):
            found.append(match.group())
    return found


# Columns that hold HTML, which the renderer decodes: a reference there is a character.
# Elsewhere "&#x1b;" is plain text that is shown as those six characters.
HTML_COLUMNS = {("articles", "summary"), ("articles", "content"), ("extracts", "html")}


def unsafe_cells(db: Path) -> list[tuple[str, str, int, str]]:
    """Every text cell of every table of the cache that holds a forbidden character, or
    (in an HTML column) a character reference to one: (table, column, rowid, excerpt)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        bad: list[tuple[str, str, int, str]] = []
        for table in tables:
            columns = [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]
            without_rowid = conn.execute(
                "SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0].upper().rstrip().endswith("WITHOUT ROWID")
            key = "0" if without_rowid else "rowid"
            for column in columns:
                for rowid, value in conn.execute(
                    f'SELECT {key}, "{column}" FROM "{table}" WHERE typeof("{column}") = \'text\''
                ):
                    problems = controls_in(value)
                    if (table, column) in HTML_COLUMNS:
                        problems += control_refs_in(value)
                    if problems:
                        bad.append((table, column, rowid, f"{problems[:5]} in {value[:80]!r}"))
        return bad
    finally:
        conn.close()


def unsafe_output(data: bytes) -> list[str]:
    """Why bytes printed by docbao could drive a terminal: not UTF-8, or controls in it."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [f"not UTF-8 at byte {exc.start}: {data[max(0, exc.start - 20):exc.start + 20]!r}"]
    return controls_in(text)


# ------------------------------------------------------------------------ running docbao
@dataclass
class Run:
    """A finished `docbao` process: exit status, output and peak resident memory."""

    returncode: int
    stdout: bytes
    stderr: bytes
    peak_rss: int  # bytes
    elapsed: float

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    @property
    def err(self) -> str:
        return self.stderr.decode("utf-8", "replace")


def docbao(*args: str, cwd: Path, timeout: float = 60.0, env: dict[str, str] | None = None) -> Run:
    """Run `python -m tui ARGS` to its end and measure its peak resident memory."""
    return finish(start(*args, cwd=cwd, env=env, measured=True), timeout=timeout)


# Runs docbao as its child and reports the child's peak RSS. A child forked straight from
# the test process would count the pages it shares with it (hundreds of MB of test data)
# until its exec; forked from this small launcher, the error is a few MB, on the safe side.
_LAUNCHER = """
import resource, subprocess, sys
limit, report = int(sys.argv[1]), sys.argv[2]
def cap():
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
code = subprocess.call([sys.executable, "-m", "tui", *sys.argv[3:]], preexec_fn=cap)
with open(report, "w") as handle:
    handle.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024))
sys.exit(code if code >= 0 else 128 - code)
"""


# pid -> (stdout file, stderr file, RSS report path, start time) of processes from `start`
_RUNNING: dict[int, tuple[IO[bytes], IO[bytes], Path, float]] = {}


def start(*args: str, cwd: Path, env: dict[str, str] | None = None, measured: bool = False) -> subprocess.Popen[bytes]:
    """Start `python -m tui ARGS` with its output going to files (no pipe can fill up).

    Unmeasured, the process is docbao itself, so a test can signal it by its pid."""
    stamp = time.monotonic_ns()
    out = (cwd / f".docbao-{stamp}.out").open("w+b")
    err = (cwd / f".docbao-{stamp}.err").open("w+b")
    report = cwd / f".docbao-{stamp}.rss"
    environment = {**os.environ, "XDG_CONFIG_HOME": str(cwd / "xdg-config"),
                   "XDG_CACHE_HOME": str(cwd / "xdg-cache"), "TZ": "UTC", "COLUMNS": "100"}
    environment.pop("DOCBAO_CONFIG", None)  # only the --config a test names is ever read
    environment.update(env or {})
    if measured:
        command = [sys.executable, "-c", _LAUNCHER, str(ADDRESS_SPACE_LIMIT), str(report), *args]
        preexec = None
    else:
        command, preexec = [sys.executable, "-m", "tui", *args], _limit_memory
    proc = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                            env=environment, preexec_fn=preexec, start_new_session=measured)
    _RUNNING[proc.pid] = (out, err, report, time.monotonic())
    return proc


def _measured(proc: subprocess.Popen[bytes]) -> bool:
    return proc.args[1] == "-c"


def _limit_memory() -> None:
    """A safety net for the machine, far above what any test allows: should a regression
    make docbao expand a document without bound, it fails with MemoryError in seconds
    instead of swapping the host to a halt. Ctrl-C reaches it as at a terminal."""
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))
    ctrl_c_as_at_a_terminal()


def finish(proc: subprocess.Popen[bytes], timeout: float = 60.0) -> Run:
    """Wait for a process from `start`; kill it (and fail) if it outlives `timeout`.
    peak_rss is docbao's own when it was started `measured`, else -1."""
    out, err, report, started = _RUNNING.pop(proc.pid)
    try:
        proc.wait(timeout=max(0.0, started + timeout - time.monotonic()))
    except subprocess.TimeoutExpired:
        if _measured(proc):
            os.killpg(proc.pid, signal.SIGKILL)  # the launcher's own session: it and docbao
        else:
            proc.kill()
        proc.wait()
        raise AssertionError(f"docbao {proc.args[-3:]} still running after {timeout} s") from None
    finally:
        elapsed = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
        for handle in (out, err):
            handle.close()
            Path(handle.name).unlink(missing_ok=True)
        peak = int(report.read_text()) if report.exists() else -1
        report.unlink(missing_ok=True)
    return Run(proc.returncode, stdout, stderr, peak, elapsed)


def write_config(folder: Path, feeds: Iterable[str | dict[str, object]], **settings: object) -> Path:
    """feeds.toml in `folder` with these feeds (a URL, or a table of keys) and settings."""
    lines = []
    if settings:
        lines.append("[settings]")
        lines += [f"{key} = {_toml(value)}" for key, value in settings.items()]
        lines.append("")
    for feed in feeds:
        table = {"url": feed} if isinstance(feed, str) else feed
        lines.append("[[feed]]")
        lines += [f"{key} = {_toml(value)}" for key, value in table.items()]
        lines.append("")
    path = folder / "feeds.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def cache_db(folder: Path) -> Path:
    """Where `docbao` keeps the cache for a feeds.toml in `folder`."""
    return folder / "cache" / "docbao.db"


def query(db: Path, sql: str, params: Sequence[object] = (), *, functions: bool = False) -> list[tuple]:
    """Read the cache the way an outside tool would: a plain read-only connection; with
    `functions`, one that knows docbao's SQL functions (its index of titles is of them)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        if functions:
            index.register(conn)
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def integrity(db: Path) -> str:
    """SQLite's whole check: every page, and each index against its table, which for the
    index of titles means computing their keys with docbao's function."""
    return query(db, "PRAGMA integrity_check", functions=True)[0][0]


# ------------------------------------------------------------------------ feed builders
def rss(items: Sequence[dict[str, str]], *, title: str = "Báo Thái Nguyên", link: str = "https://baothainguyen.example/",
        head: str = "", extra: str = "") -> bytes:
    """An RSS 2.0 document; item values are inserted as written (already XML-escaped)."""
    body = []
    for item in items:
        body.append("<item>" + "".join(f"<{k}>{v}</{k}>" if not k.startswith("<") else k + v
                                       for k, v in item.items()) + "</item>")
    prolog = head or '<?xml version="1.0" encoding="utf-8"?>'
    return (f"{prolog}"
            f'<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"'
            f' xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
            f"<title>{title}</title><link>{link}</link>{extra}{''.join(body)}</channel></rss>").encode("utf-8")


def simple_items(count: int, prefix: str = "a", day: int = 23) -> list[dict[str, str]]:
    """`count` ordinary Vietnamese news items with distinct guids and dates."""
    return [
        {
            "title": f"Tin {prefix} số {n}: Lãnh đạo tỉnh làm việc",
            "link": f"https://baothainguyen.example/{prefix}-{n}.html",
            "guid": f"{prefix}-{n}",
            "pubDate": f"Sat, {day:02d} May 2020 {n % 24:02d}:{n % 60:02d}:00 +0700",
            "description": html.escape(f"<p>Nội dung {prefix} {n}</p>"),
        }
        for n in range(count)
    ]


def articles_of(db: Path) -> dict[str, tuple]:
    """guid -> (id, feed_id, title, read, starred) of every cached article."""
    return {row[0]: row[1:] for row in query(db, "SELECT guid, id, feed_id, title, read, starred FROM articles")}
