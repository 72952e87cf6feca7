"""Notifications of new articles, opt-in (`notify = true` in [settings] or on a feed): after
an automatic refresh (the reader's own, or `docbao refresh --due` from a timer) that brought
new unread articles, a desktop notification through `notify-send` (argv, no shell). The
reader falls back to a terminal notification; a timer has no terminal to write to.

Feed titles are hostile: the text is cleaned of every control character (so it cannot end
an escape sequence or start another), of the `;` that separates OSC 777's fields, and cut.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING

from tui.config import Config
from tui.content.sanitize import clean_line
from tui.store.cache import Store

if TYPE_CHECKING:
    from tui.feeds.refresh import FeedOutcome  # the reader imports this module at start, refresh only when it runs

TITLE_CHARS = 80
BODY_CHARS = 200
NOTIFY_SEND_TIMEOUT = 10  # seconds: a notification daemon that hangs does not keep a thread


def new_unread(config: Config, store: Store, outcomes: Iterable[FeedOutcome], names: Mapping[int, str],
               ignored: Collection[int] = ()) -> list[tuple[str, int]]:
    """(feed name, count) of the articles a refresh brought that are unread and not hidden by
    [[ignore]], for the feeds that want notifications (the feed's `notify`, else the setting)."""
    settings = config.settings
    chosen = {f.url for f in config.feeds if (settings.notify if f.notify is None else f.notify)}
    wanted = [o for o in outcomes if o.url in chosen and o.new_ids]
    if not wanted:
        return []
    unread = {row.id for row in store.rows([i for o in wanted for i in o.new_ids]) if not row.read}
    unread.difference_update(ignored)
    return [(names.get(o.feed_id) or o.title, n) for o in wanted if (n := sum(1 for i in o.new_ids if i in unread))]


def notification_text(counts: list[tuple[str, int]]) -> tuple[str, str]:
    """(title, body) for the new unread articles per feed: "docbao: 5 new articles",
    "VnExpress 3, Hacker News 2"."""
    total = sum(count for _, count in counts)
    body = ", ".join(f"{name} {count}" for name, count in counts)
    return f"docbao: {total} new article{'' if total == 1 else 's'}", body


def notification_field(text: str, limit: int) -> str:
    text = clean_line(text).replace(";", ",")
    return text if len(text) <= limit else text[:limit - 1] + "…"


def desktop_notify(title: str, body: str) -> bool:
    """notify-send, with nothing of the terminal; False when it is missing or fails."""
    program = shutil.which("notify-send")
    if program is None:
        return False
    argv = [program, "--app-name=docbao", notification_field(title, TITLE_CHARS), notification_field(body, BODY_CHARS)]
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=NOTIFY_SEND_TIMEOUT, start_new_session=True,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0
