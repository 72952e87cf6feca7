"""Keys typed ahead are handed on in order, each once the previous one has taken effect.

Textual picks the widget a key goes to (the focused one) when the app reads the key, but
what a key does often lands a little later, in another widget's message queue: `l` on a
feed posts "opened", and the screen moves the focus to the article list when it handles
that message; `f` pushes a prompt whose input is composed and focused by the new screen's
own task. Typed slowly, each key finds the UI settled. Typed in a burst (or sent by a
script), the second `l` still went to the feed list and `2` to a prompt not yet mounted:
lost; and an article is laid out in a thread, so `f` right after `l` found no links yet.
So a key is held while the screen it would go to still has work queued, or is filling
what the next key acts on (VIEW_WORKERS: the article's layout, a search's results, the ids of
a view being shown), and handed on when that work is done (or after HOLD_LOOKS looks, so a
busy screen never swallows keys; LOAD_HOLD_LOOKS while a view's ids are read, which takes a
second at a million articles and always ends: `G` typed then goes to the view's last line,
not its first page's). A key that moves the cursor of the list that chooses the view (the
feed list: j, k, g...) goes at once: it replaces the view being read, whose load it cancels.
Looks are counted, not seconds: while a long handler holds the event loop (the first
article imports the renderer) nobody looks, and the key still waits for what it queued.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from textual import events
from textual.message import Message
from textual.worker import WorkerState

if TYPE_CHECKING:
    from textual.message_pump import MessagePump
    from textual.screen import Screen

CHECK_EVERY = 0.002  # seconds between looks at a screen that is still busy
HOLD_LOOKS = 250  # looks (at least half a second) before a key goes to a screen that stays busy
LOAD_HOLD_LOOKS = 2500  # looks (at least five seconds) while a view's ids are read ("view")
VIEW_WORKERS = ("render", "search-", "view")  # worker groups (or their prefixes) that fill what keys act on
NOT_REPLACED = ("render", "search-")  # ... of which a key that chooses another view still waits for


class ReleaseKey(Message):
    """Look again whether the first held key can go (handled in the app's own task)."""


def settled(screen: Screen, key: events.Key | None = None) -> bool:
    """The screen and everything on it have handled what they were sent (and no key is
    still bubbling up to the app's bindings), the screen is mounted (a prompt pushed a
    moment ago has its input focused only then), and nothing that fills the view is
    still running (but for `key`, a view still being read is no reason to wait when the
    key chooses another)."""
    waits_for = VIEW_WORKERS if key is None or not chooses_view(screen, key) else NOT_REPLACED
    if not screen.is_mounted or screen._callbacks or filling(screen, waits_for):
        return False
    # A key the focused widget did not handle bubbles up to the app, whose bindings (`f`
    # on the article) run only when the app reads it there: until then it is on its way.
    if any(isinstance(message, events.Key) and message.is_forwarded for message in waiting(screen.app)):
        return False
    nodes: list[MessagePump] = [screen, *screen.walk_children(with_self=False)]
    return not any(node._next_callbacks or any(waiting(node)) for node in nodes)


def chooses_view(screen: Screen, key: events.Key) -> bool:
    """`key` moves the cursor of the focused list, and that list chooses the view shown
    (`CHOOSES_VIEW`: the feed list)."""
    focused = screen.focused
    if not getattr(focused, "CHOOSES_VIEW", False) or focused is None:
        return False
    return any(binding.action.startswith("cursor_") for binding in focused._bindings.key_to_bindings.get(key.key, ()))


def filling(screen: Screen, groups: tuple[str, ...]) -> bool:
    """A worker of the screen whose group starts with one of `groups` is still running."""
    return any(worker.node is screen and worker.group.startswith(groups)
               and worker.state in (WorkerState.PENDING, WorkerState.RUNNING) for worker in screen.app.workers)


def waiting(node: MessagePump) -> list[Message]:
    """What `node` was sent and has not read yet: its queue, and the message it looked
    at ahead (a pump peeks at the next message to see whether it replaces the one in
    hand, and keeps it aside meanwhile, out of the queue)."""
    pending = node._pending_message
    return [*([pending] if pending is not None else []), *node._message_queue.values]


class TypeAhead:
    """The held keys of one app, oldest first, and how long the first has waited."""

    def __init__(self) -> None:
        self.held: deque[events.Key] = deque()
        self.looks = 0  # at the first held key
        self.looking = False  # a look at the held keys is on its way

    def hold(self, key: events.Key, screen: Screen) -> bool:
        """True when `key` must wait (keys before it wait, or the screen is busy)."""
        if not self.held and settled(screen, key):
            return False
        self.held.append(key)
        return True

    def next_key(self, screen: Screen) -> events.Key | None:
        """The first held key when it may go now; None while it must wait."""
        if not self.held:
            return None
        if not settled(screen, self.held[0]) and self.looks < (LOAD_HOLD_LOOKS if filling(screen, ("view",))
                                                              else HOLD_LOOKS):
            self.looks += 1
            return None
        self.looks = 0
        return self.held.popleft()
