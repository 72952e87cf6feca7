"""How fast the reading UI is on a big cache: first screen, opening "All", "Unread" and
"Starred", scrolling, sorting and hiding read articles (O, H), keys typed in a burst while a
view loads, opening an article, and peak memory.

    python bench/ui_bench.py [--feeds 1000] [--items 100] [--out DIR]

Builds (once) a cache of feeds x items articles with bench/populate.py into DIR (or uses
the one there), then runs the installed
`docbao` command in a tmux pane, as a user would, and times what shows on the screen:
launch -> feed list with counts, and key -> screen changed for the steps above. Also times
the first frame of the app in-process (headless), without Python's own start-up. A view
is timed twice: to its first rows on screen (its newest article's title) and to the whole
view read ("N in view" in the status line).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from populate import populate  # noqa: E402
from tui.content.sanitize import clean_line  # noqa: E402
from tui.store.cache import Store  # noqa: E402

FIRST_SCREEN = r'''
import sys, time
start = time.perf_counter()
sys.path.insert(0, {root!r})
sys.argv = ["docbao"]
from pathlib import Path
from tui.config import load_config
import tui.ui.app as app_module

class Probe(app_module.DocbaoApp):
    CSS_PATH = str(Path(app_module.__file__).parent / "docbao.tcss")

    def on_ready(self) -> None:  # the first frame has been written
        elapsed = time.perf_counter() - start
        heavy = sorted(m for m in ("httpx", "feedparser", "trafilatura") if m in sys.modules)
        print("FIRST", elapsed, ",".join(heavy), flush=True)
        self.exit(0)

config = load_config(Path({config!r}))
app = Probe(config, Path({cache!r}))
app.run(headless=True)
'''


def tmux_first_screen(folder: Path, runs: int = 5) -> list[float]:
    """Seconds from launching `docbao` in a tmux pane until the first feed's title and its
    unread count are on screen (polled every 10 ms), as a user would see it."""
    docbao = shutil.which("docbao", path=str(Path(sys.executable).parent))
    if docbao is None or shutil.which("tmux") is None:
        return []
    config, cache = folder / "feeds.toml", folder / "cache"
    store = Store.open(cache)
    first = store.feeds()[0]
    store.close()
    ready = re.compile(re.escape(first.title[:12]) + r".*\b" + str(first.unread) + r"\b")
    times = []
    session = f"docbao-bench-{os.getpid()}"
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "40",
                        f"{docbao} --config {config} --cache {cache}"], check=True)
        try:
            while time.perf_counter() - started < 10:
                screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True,
                                        text=True).stdout
                if ready.search(screen):
                    times.append(time.perf_counter() - started)
                    break
                time.sleep(0.01)
        finally:
            subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    return times


def first_screen(folder: Path, runs: int = 5) -> list[float]:
    """Seconds from interpreter start (after Python's own start-up) to the first frame."""
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", FIRST_SCREEN.format(root=str(ROOT), config=str(folder / "feeds.toml"),
                                                                   cache=str(folder / "cache"))],
                             capture_output=True, text=True, check=True, cwd=ROOT).stdout
        line = next(line for line in out.splitlines() if line.startswith("FIRST"))
        parts = line.split(" ")
        if len(parts) > 2 and parts[2]:
            print(f"  warning: imported at start-up: {parts[2]}")
        times.append(float(parts[1]))
    return times


class Pane:
    """docbao running in a tmux pane: send keys, wait for the screen to change."""

    def __init__(self, command: str, session: str) -> None:
        self.session = session
        self.started = time.perf_counter()
        subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "40", command], check=True)

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-e", "-t", self.session], capture_output=True,
                              text=True).stdout

    def article_lines(self) -> list[str]:
        """The text of the article list's lines (right of the feed list; no colours, so the
        feed list's cursor moving is not counted)."""
        text = subprocess.run(["tmux", "capture-pane", "-p", "-t", self.session], capture_output=True,
                              text=True).stdout
        return [row.split("││", 1)[-1] for row in text.split("\n")[1:-2]]

    def wait_for(self, pattern: re.Pattern[str], timeout: float = 10) -> str:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            screen = self.screen()
            if pattern.search(screen):
                return screen
            time.sleep(0.005)
        raise TimeoutError(pattern.pattern)

    def press(self, key: str, timeout: float = 10) -> float:
        """Seconds from sending `key` until the screen shows something new."""
        before = self.screen()
        started = time.perf_counter()
        subprocess.run(["tmux", "send-keys", "-t", self.session, key], check=True)
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if self.screen() != before:
                return time.perf_counter() - started
            time.sleep(0.005)
        raise TimeoutError(key)

    def press_until(self, key: str, pattern: re.Pattern[str], timeout: float = 10) -> float:
        """Seconds from sending `key` until `pattern` is on the screen."""
        started = time.perf_counter()
        subprocess.run(["tmux", "send-keys", "-t", self.session, key], check=True)
        self.wait_for(pattern, timeout)
        return time.perf_counter() - started

    def press_until_new(self, key: str, pattern: re.Pattern[str], timeout: float = 10) -> float:
        """Seconds from sending `key` until a match of `pattern` not on the screen before shows."""
        before = set(pattern.findall(self.screen()))
        started = time.perf_counter()
        subprocess.run(["tmux", "send-keys", "-t", self.session, key], check=True)
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if set(pattern.findall(self.screen())) - before:
                return time.perf_counter() - started
            time.sleep(0.005)
        raise TimeoutError(key)

    def press_timed(self, keys: list[str], first: re.Pattern[str] | None, whole: re.Pattern[str],
                    timeout: float = 20) -> tuple[float, float]:
        """Seconds from sending `keys` (one burst) until `first` shows where it did not
        before (None: until the article list's lines change, not only the status line or a
        pane's title), and until `whole` shows."""
        before = self.screen()
        seen = set(first.findall(before)) if first else set()
        lines = self.article_lines() if first is None else []
        started = time.perf_counter()
        subprocess.run(["tmux", "send-keys", "-t", self.session, *keys], check=True)
        shown: float | None = None
        deadline = started + timeout
        while time.perf_counter() < deadline:
            screen = self.screen()
            now = time.perf_counter() - started
            if shown is None and (set(first.findall(screen)) - seen if first else self.article_lines() != lines):
                shown = now
            if whole.search(screen):
                return (shown if shown is not None else now), now
            time.sleep(0.005)
        raise TimeoutError(whole.pattern)

    def send(self, key: str) -> None:
        """A key whose effect does not show as text (focus moves): no timing."""
        subprocess.run(["tmux", "send-keys", "-t", self.session, key], check=True)
        time.sleep(0.2)

    def peak_mib(self) -> float:
        pid = subprocess.run(["tmux", "list-panes", "-t", self.session, "-F", "#{pane_pid}"],
                             capture_output=True, text=True).stdout.strip()
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.session], capture_output=True)


def interactive(folder: Path) -> dict[str, float]:
    """Keys sent to the real docbao in tmux; each figure is key -> screen changed (for an
    article: -> its header on screen), about 5 ms of polling resolution and tmux's own delay
    included."""
    docbao = shutil.which("docbao", path=str(Path(sys.executable).parent))
    if docbao is None or shutil.which("tmux") is None:
        return {}
    config, cache = folder / "feeds.toml", folder / "cache"
    store = Store.open(cache)
    first = store.feeds()[0]
    total = sum(row.total for row in store.feeds())
    unread = store.count(unread=True)
    starred = store.count(starred=True)

    def title(**query: object) -> re.Pattern[str]:
        """The start of the title of the first article of a view (as the list shows it)."""
        row = store.rows(store.article_ids(limit=1, **query))[0]  # type: ignore[arg-type]
        return re.compile(re.escape(" ".join(clean_line(row.title).split()[:4])))

    newest, newest_unread, newest_starred = title(), title(unread=True), title(starred=True)
    oldest, oldest_starred = title(order="oldest"), title(starred=True, order="oldest")
    store.set_state({"ui.view": f"feed:{first.id}", "ui.pane": "feeds", "ui.open": "",
                     "ui.article": "", "ui.collapsed": "[]", "ui.sort": "{}", "ui.hide_read": "0",
                     "ui.hide_read_config": "False"})
    pane = Pane(f"{docbao} --config {config} --cache {cache}", f"docbao-bench-{os.getpid()}")
    figures: dict[str, float] = {}

    def view(name: str, keys: list[str], first: re.Pattern[str] | None, whole: re.Pattern[str]) -> None:
        rows, every = pane.press_timed(keys, first, whole)
        figures[f"{name}: first rows"] = rows
        figures[f"{name}: whole view"] = every

    try:
        pane.wait_for(re.compile(r"in view"))
        time.sleep(0.3)
        view(f"open All ({total:,} articles)", ["g"], newest, re.compile(rf"{total:,} in view"))
        view(f"open Unread ({unread:,})", ["j"], newest_unread, re.compile(rf"{unread:,} in view"))
        view(f"open Starred ({starred:,})", ["j"], newest_starred, re.compile(rf"{starred:,} in view"))
        view("back to All", ["g"], None, re.compile(rf"{total:,} in view"))  # (its newest may be starred)
        # typed in one burst while the view loads: the keys act on the view they were typed for
        rows, every = pane.press_timed(["j", "j", "Enter", "G"], None, oldest_starred)
        figures["burst j j Enter G (Starred): its last article on screen"] = every
        pane.send("h")
        rows, every = pane.press_timed(["g", "Enter", "G"], None, oldest)
        figures["burst g Enter G (All): its last article on screen"] = every
        pane.send("g")
        pane.send("h")
        pane.wait_for(re.compile(rf"{total:,} in view"))
        pane.send("Enter")
        steps = [pane.press("PageDown") for _ in range(20)]
        figures["page down in All (median of 20)"] = sorted(steps)[len(steps) // 2]
        figures["page down in All (max of 20)"] = max(steps)
        figures[f"jump to the last of {total:,} (G)"] = pane.press("G")
        steps = [pane.press("k") for _ in range(20)]
        figures["cursor up in All (median of 20)"] = sorted(steps)[len(steps) // 2]
        pane.send("g")
        for order in ("oldest first", "by title", "by feed", "newest first"):  # O, the list read again
            view(f"sort All {order} (O)", ["O"], None, re.compile(rf"{total:,} in view · {order}"))
        # (H's note stands first on the line for a few seconds: "read hidden" may be cut to "read h…")
        view("hide read in All (H)", ["H"], None, re.compile(rf"{unread:,} in view · newest first · read"))
        view("show read again (H)", ["H"], None, re.compile(rf"{total:,} in view · newest first(?! · read)"))
        opens = []
        link = re.compile(r"https://example\.org/\d+/\d+")  # the header of the article opened
        for _ in range(10):
            pane.press("k")
            opens.append(pane.press_until_new("Enter", link))
            pane.send("h")
        figures["open an article (median of 10)"] = sorted(opens)[len(opens) // 2]
        figures["open an article (max of 10)"] = max(opens)
        print("  opens:", " ".join(f"{o * 1000:.0f}" for o in opens))
        figures["peak memory MiB"] = pane.peak_mib()
    finally:
        pane.close()
        store.close()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--out", type=Path, required=True, help="a bench/populate.py folder, made if missing")
    args = parser.parse_args()
    if not (args.out / "cache" / "docbao.db").exists():
        took = populate(args.out, args.feeds, args.items)
        print(f"built the cache in {took['store'] + took['index']:.1f} s: {args.out}")
    # as installed: pip writes the bytecode of what it installs, but an editable install run
    # with PYTHONDONTWRITEBYTECODE set would compile docbao's modules at every start (0.1 s)
    compileall.compile_dir(ROOT / "tui", quiet=1)
    times = first_screen(args.out)
    print(f"first frame (in-process, headless): median {sorted(times)[len(times) // 2] * 1000:.0f} ms "
          f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}) over {len(times)} runs")
    keeper = f"docbao-bench-idle-{os.getpid()}"  # keeps the tmux server up between runs, untimed
    if shutil.which("tmux"):
        subprocess.run(["tmux", "new-session", "-d", "-s", keeper, "sleep 3600"], check=True)
    try:
        shown = tmux_first_screen(args.out)
        if shown:
            print(f"first screen with counts (docbao in tmux 120x40): median "
                  f"{sorted(shown)[len(shown) // 2] * 1000:.0f} ms (min {min(shown) * 1000:.0f}, "
                  f"max {max(shown) * 1000:.0f}) over {len(shown)} runs")
        figures = interactive(args.out)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", keeper], capture_output=True)
    for name, value in figures.items():
        print(f"{name}: {value:.0f}" if "MiB" in name else f"{name}: {value * 1000:.1f} ms")
    print(json.dumps({"first_frame_s": times, "first_screen_tmux_s": shown, **figures}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
