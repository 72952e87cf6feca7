"""Commands of the user's own: pipe the article's text to a command (`|`), bookmark it with
`bookmark_command`, read its text in $PAGER.

The commands come only from [settings] of the user's feeds.toml (config.py reads no command
from a feed, an OPML file or an import) and are argv lists run without a shell: the link and
the title are single arguments or environment variables, whatever characters they hold.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tui.content.sanitize import clean_line
from tui.ui.screens.base import ReaderBase
from tui.ui.widgets.keys import bind

BOOKMARK_TIMEOUT = 120  # seconds a bookmark command may take before it is stopped
_PLACEHOLDER = re.compile(r"%[ut%]")


@dataclass(frozen=True, slots=True)
class ArticleText:
    """What a command receives of an article."""

    url: str
    title: str
    feed: str
    text: str

    def environment(self) -> dict[str, str]:
        """The process environment with the article's link, title and feed added."""
        return {**os.environ, "DOCBAO_URL": self.url, "DOCBAO_TITLE": self.title, "DOCBAO_FEED": self.feed}


def fill_argv(parts: list[str], url: str, title: str) -> list[str]:
    """`parts` with %u the link and %t the title (each inside one argument, in one pass, so
    a title holding "%u" stays as it is), %% a percent sign; with neither placeholder the
    link and the title are appended as two arguments."""
    if not any("%u" in part or "%t" in part for part in parts):
        return [*parts, url, title]
    values = {"%u": url, "%t": title, "%%": "%"}
    return [_PLACEHOLDER.sub(lambda match: values[match.group()], part) for part in parts]


def pager_argv() -> list[str]:
    """$PAGER as argv (split as a shell would split words, never run by one); else less."""
    try:
        parts = shlex.split(os.environ.get("PAGER", ""))
    except ValueError:
        parts = []
    return parts or ["less"]


def run_bookmark(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run a bookmark command with nothing of the terminal: (exit status, the last line it
    wrote to stderr, cleaned)."""
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              env=env, timeout=BOOKMARK_TIMEOUT, start_new_session=True, check=False)
    except subprocess.TimeoutExpired:
        return -1, f"stopped after {BOOKMARK_TIMEOUT} s"
    lines = [clean_line(line) for line in done.stderr.decode("utf-8", "replace").splitlines()]
    said = [line for line in lines if line]
    return done.returncode, said[-1][:200] if said else ""


class CommandsPart(ReaderBase):
    BINDINGS = [
        bind("pipe", "pipe"),
        bind("bookmark", "bookmark"),
        bind("pager", "pager"),
    ]

    def article_text(self) -> ArticleText | None:
        """The article a key acts on as plain text (the full article when the reader shows
        it), wrapped to the reading width; None (said) when there is none."""
        from tui.content.render import media_lines, render_article, to_plain

        article_id = self.current_article()
        article = self.store.article(article_id) if article_id is not None else None
        if article is None:
            self.notify("Select an article first.", severity="warning", markup=False)
            return None
        html = article.content or article.summary
        if self.reading == article.id and self.full_article:
            extract = self.store.extract(article.id)
            html = extract.html if extract is not None and extract.fetched is not None else html
        feed = self.feed_names.get(article.feed_id, "")
        width = min(self.config.settings.reading_width or self.app.size.width, self.app.size.width)
        rendered = render_article(title=article.title, feed=feed, author=article.author,
                                  published=article.published, link=article.link, html=html,
                                  media=media_lines(article.enclosures, article.image, html), seen=article.first_seen)
        return ArticleText(clean_line(article.link), clean_line(article.title), clean_line(feed),
                           to_plain(rendered, width) + "\n")

    def action_pipe(self) -> None:
        argv = self.config.settings.pipe_command
        if not argv:
            self.notify("No pipe_command in [settings] of feeds.toml, e.g. pipe_command = [\"wc\", \"-w\"].",
                        severity="warning", markup=False)
            return
        article = self.article_text()
        if article is not None:  # what it writes stays on the screen until Enter
            self.run_in_terminal(list(argv), text=article.text, env=article.environment(), wait=True)

    def action_pager(self) -> None:
        article = self.article_text()
        if article is not None:
            self.run_in_terminal(pager_argv(), text=article.text, env=article.environment())

    def action_bookmark(self) -> None:
        parts = self.config.settings.bookmark_command
        if not parts:
            self.notify("No bookmark_command in [settings] of feeds.toml, e.g. "
                        "bookmark_command = [\"buku\", \"--nostdin\", \"-a\", \"%u\", \"--title\", \"%t\"].",
                        severity="warning", markup=False)
            return
        article = self.article_text()
        if article is None:
            return
        if not article.url:
            self.notify("This article has no link to bookmark.", severity="warning", markup=False)
            return
        argv = fill_argv(list(parts), article.url, article.title)
        self.run_worker(lambda: self._bookmark(argv, article), thread=True, group="bookmark")

    def _bookmark(self, argv: list[str], article: ArticleText) -> None:
        """In a thread: a bookmark command may talk to a server."""
        name = clean_line(Path(argv[0]).name)
        try:
            status, said = run_bookmark(argv, article.environment())
        except OSError as exc:
            self.app.call_from_thread(self.notify, f"Cannot run {name}: {exc.strerror or exc}",
                                      severity="error", markup=False)
            return
        if status == 0:
            self.app.call_from_thread(self.notify, f"Bookmarked {article.title or article.url}", markup=False)
        else:
            reason = f": {said}" if said else ""
            self.app.call_from_thread(self.notify, f"{name} ended with status {status}{reason}",
                                      severity="error", markup=False)
