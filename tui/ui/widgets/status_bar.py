"""The status line: counts and the view on the left, then one slot per running job (the
refresh, reader mode, a search, a subscription...), the key hint on the right. One widget
drawing one line, so an update repaints one line and never asks for a new layout."""

from __future__ import annotations

from textual.content import Content
from textual.timer import Timer
from textual.widget import Widget

from tui.content.sanitize import clean_line


NOTE_SECONDS = 6.0
GAP = 2  # cells between the left part and the key hint, at the least
SHORT_HINT_FROM = 40  # columns from which a line too long for the key hint still keeps its short form


class StatusBar(Widget):
    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
        color: $foreground;
    }
    StatusBar > .status-bar--muted { color: $text-muted; }
    StatusBar > .status-bar--refresh { color: $text-accent; }
    """
    COMPONENT_CLASSES = {"status-bar--muted", "status-bar--refresh"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        # keys: the key hint ("? keys  q back  Q quit"); short_keys: what of it stays on a
        # line too long for it ("? keys": a newcomer at 80 columns still learns of the help)
        self._parts = {"counts": "", "view": "", "note": "", "keys": "", "short_keys": ""}
        self._jobs: dict[str, str] = {}  # job -> what it says, in the order the jobs started
        self._ended: set[str] = set()  # jobs whose slot holds their last words (a result, a failure)
        self._note_timer: Timer | None = None

    def say(self, text: str, seconds: float = NOTE_SECONDS) -> None:
        """A short note (what a key just did) that goes after `seconds`; a new one replaces
        it, and the last words of the jobs that have ended go with it: the line reads as
        what happened last, not as an old result run on into the new one."""
        if self._note_timer is not None:
            self._note_timer.stop()
        for job in self._ended & self._jobs.keys():
            del self._jobs[job]
        self._ended.clear()
        self.set(note=text)
        self._note_timer = self.set_timer(seconds, lambda: self.set(note=""))

    def unsay(self, text: str) -> None:
        """Take the note `text` away now if it is still the one shown: what it said no
        longer holds (a note about search results, once they are left)."""
        if text and self._parts["note"] == clean_line(text):
            if self._note_timer is not None:
                self._note_timer.stop()
                self._note_timer = None
            self.set(note="")

    def set(self, **parts: str) -> None:
        """Change some fixed parts (counts, view, note, keys, short_keys); plain text, never markup."""
        changed = False
        for name, text in parts.items():
            text = clean_line(text)
            if self._parts[name] != text:
                self._parts[name] = text
                changed = True
        if changed:
            self.refresh()

    def set_job(self, job: str, text: str, *, ended: bool = False) -> None:
        """What one job says ("" takes its slot away); other jobs' messages stay. `ended`:
        the job's last words, news that replaces the note shown and that the next note
        replaces in turn."""
        text = clean_line(text)
        if ended:
            self._ended.add(job)
            if text:
                self.set(note="")
        else:
            self._ended.discard(job)
        if self._jobs.get(job, "") == text:
            return
        if text:
            self._jobs[job] = text
        else:
            del self._jobs[job]
        self.refresh()

    def render(self) -> Content:
        muted = self.get_visual_style("status-bar--muted")
        accent = self.get_visual_style("status-bar--refresh")
        parts = self._parts
        jobs = [Content.styled(text, accent) for text in self._jobs.values()]
        note = [Content(parts["note"])] if parts["note"] else []
        view = [Content.styled(parts["view"], muted)] if parts["view"] else []
        left = Content.assemble(f" {parts['counts']}  ", Content("  ").join([*view, *jobs, *note]))
        right = Content.assemble((f"{parts['keys']} ", muted))
        room = self.size.width - right.cell_length
        if left.cell_length + GAP <= room:
            return Content.assemble(left, " " * (room - left.cell_length), right)
        # Too long for the width: the key hint goes but for its short form, a note (what the
        # last key did, for a few seconds) comes first and the jobs' progress before the
        # view, so that neither is the part cut off. A note too long for the short hint
        # beside it has the line (for the few seconds it is shown).
        left = Content.assemble(" ", Content("  ").join([*note, Content(parts["counts"]), *jobs, *view]))
        right = Content.assemble((f"{parts['short_keys']} ", muted))
        room = self.size.width - right.cell_length - GAP
        first = note[0].cell_length + 1 if note else 0
        if not parts["short_keys"] or self.size.width < SHORT_HINT_FROM or first >= room:  # (room for "…")
            return left.truncate(self.size.width, ellipsis=True)
        return Content.assemble(left.truncate(room, ellipsis=True, pad=True), " " * GAP, right)
