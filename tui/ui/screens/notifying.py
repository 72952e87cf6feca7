"""Notifications in the reader: after an automatic refresh that brought new unread articles
of the feeds that want them, `notify-send` where it exists and works, else a terminal
notification (OSC 9, or OSC 777 where the terminal reads that one), else nothing. What is
said and the desktop notification are tui.feeds.notify's, shared with `docbao refresh --due`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from tui.ui.screens.base import ReaderBase

if TYPE_CHECKING:
    from tui.feeds.refresh import FeedOutcome


def terminal_sequence(title: str, body: str, env: Mapping[str, str]) -> str:
    """The escape sequence that asks the terminal for a notification: OSC 777 for the
    terminals that read it (foot, urxvt, VTE-based ones), else OSC 9; wrapped for tmux's
    passthrough inside tmux (shown only where tmux allows passthrough)."""
    from tui.feeds.notify import BODY_CHARS, TITLE_CHARS, notification_field  # after a refresh, not at start

    title, body = notification_field(title, TITLE_CHARS), notification_field(body, BODY_CHARS)
    term = env.get("TERM", "")
    if term.startswith(("foot", "rxvt")) or env.get("VTE_VERSION"):
        sequence = f"\x1b]777;notify;{title};{body}\x1b\\"
    else:
        sequence = f"\x1b]9;{title}: {body}\x07" if body else f"\x1b]9;{title}\x07"
    if env.get("TMUX"):
        sequence = "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"
    return sequence


class NotifyPart(ReaderBase):
    def announce_new(self, outcomes: list[FeedOutcome]) -> None:
        from tui.feeds.notify import new_unread, notification_text

        counts = new_unread(self.config, self.store, outcomes, self.feed_names, self._ignored)
        if counts:
            title, body = notification_text(counts)
            self.run_worker(lambda: self._notify_desktop(title, body), thread=True, group="notify")

    def _notify_desktop(self, title: str, body: str) -> None:
        """In a thread: notify-send waits for the notification daemon."""
        from tui.feeds.notify import desktop_notify

        if not desktop_notify(title, body):
            self.app.call_from_thread(self._notify_terminal, title, body)

    def _notify_terminal(self, title: str, body: str) -> None:
        driver = self.app._driver
        if driver is None or self.app.is_headless:
            return
        driver.write(terminal_sequence(title, body, os.environ))
        driver.flush()
