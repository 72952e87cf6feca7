"""Notifications, opt-in (`notify = true` in [settings] or on a feed): after an automatic
refresh that brought new unread articles, a desktop notification through `notify-send`
(argv, no shell) where it exists and works, else a terminal notification (OSC 9, or OSC 777
where the terminal reads that one), else nothing.

Feed titles are hostile: the text is cleaned of every control character (so it cannot end
the escape sequence or start another), of the `;` that separates OSC 777's fields, and cut.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from typing import TYPE_CHECKING

from tui.content.sanitize import clean_line
from tui.ui.screens.base import ReaderBase
from tui.ui.widgets.text import plural

if TYPE_CHECKING:
    from tui.feeds.refresh import FeedOutcome

TITLE_CHARS = 80
BODY_CHARS = 200
NOTIFY_SEND_TIMEOUT = 10  # seconds: a notification daemon that hangs does not keep a thread


def notification_text(counts: list[tuple[str, int]]) -> tuple[str, str]:
    """(title, body) for the new unread articles per feed: "docbao: 5 new articles",
    "VnExpress 3, Hacker News 2"."""
    total = sum(count for _, count in counts)
    body = ", ".join(f"{name} {count}" for name, count in counts)
    return f"docbao: {plural(total, 'new article')}", body


def _field(text: str, limit: int) -> str:
    text = clean_line(text).replace(";", ",")
    return text if len(text) <= limit else text[:limit - 1] + "…"


def terminal_sequence(title: str, body: str, env: Mapping[str, str]) -> str:
    """The escape sequence that asks the terminal for a notification: OSC 777 for the
    terminals that read it (foot, urxvt, VTE-based ones), else OSC 9; wrapped for tmux's
    passthrough inside tmux (shown only where tmux allows passthrough)."""
    title, body = _field(title, TITLE_CHARS), _field(body, BODY_CHARS)
    term = env.get("TERM", "")
    if term.startswith(("foot", "rxvt")) or env.get("VTE_VERSION"):
        sequence = f"\x1b]777;notify;{title};{body}\x1b\\"
    else:
        sequence = f"\x1b]9;{title}: {body}\x07" if body else f"\x1b]9;{title}\x07"
    if env.get("TMUX"):
        sequence = "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"
    return sequence


def desktop_notify(title: str, body: str) -> bool:
    """notify-send, with nothing of the terminal; False when it is missing or fails."""
    program = shutil.which("notify-send")
    if program is None:
        return False
    argv = [program, "--app-name=docbao", _field(title, TITLE_CHARS), _field(body, BODY_CHARS)]
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=NOTIFY_SEND_TIMEOUT, start_new_session=True,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


class NotifyPart(ReaderBase):
    def announce_new(self, outcomes: list[FeedOutcome]) -> None:
        settings = self.config.settings
        chosen = {f.url for f in self.config.feeds if (settings.notify if f.notify is None else f.notify)}
        outcomes = [o for o in outcomes if o.url in chosen and o.new_ids]
        if not outcomes:
            return
        unread = {row.id for row in self.store.rows([i for o in outcomes for i in o.new_ids]) if not row.read}
        unread -= self._ignored
        counts = [(self.feed_names.get(o.feed_id) or o.title, n) for o in outcomes
                  if (n := sum(1 for i in o.new_ids if i in unread))]
        if counts:
            title, body = notification_text(counts)
            self.run_worker(lambda: self._notify_desktop(title, body), thread=True, group="notify")

    def _notify_desktop(self, title: str, body: str) -> None:
        """In a thread: notify-send waits for the notification daemon."""
        if not desktop_notify(title, body):
            self.app.call_from_thread(self._notify_terminal, title, body)

    def _notify_terminal(self, title: str, body: str) -> None:
        driver = self.app._driver
        if driver is None or self.app.is_headless:
            return
        driver.write(terminal_sequence(title, body, os.environ))
        driver.flush()
