"""Links: open the article's link or one of its numbered links in a browser, or copy it."""

from __future__ import annotations

import os
import shlex
import subprocess

from tui.content.sanitize import clean_line, is_openable_url
from tui.ui.screens.base import ReaderBase
from tui.ui.screens.link_prompt import LinkPrompt
from tui.ui.widgets.article_view import ArticleView
from tui.ui.widgets.keys import bind

CONSOLE_BROWSERS = {"www-browser", "links", "elinks", "lynx", "w3m"}


class LinksPart(ReaderBase):
    BINDINGS = [
        bind("link", "link_prompt"),
        *(bind(f"link_{n}", f"open_link({n})") for n in range(1, 10)),
        bind("open_browser", "open_browser"),
        bind("copy_link", "copy_link"),
    ]

    def _article_link(self) -> str:
        article_id = self.current_article()
        rows = self.store.rows([article_id]) if article_id is not None else []
        return rows[0].link if rows else ""

    def action_open_browser(self) -> None:
        self.open_url(self._article_link())

    def action_copy_link(self) -> None:
        link = clean_line(self._article_link())
        if not link:
            self.notify("This article has no link.", severity="warning", markup=False)
            return
        self.app.copy_to_clipboard(link)
        self.notify(f"Copied {link}", markup=False)

    def action_open_link(self, number: int) -> None:
        links = self.query_one(ArticleView).links
        if not 1 <= number <= len(links):
            self.notify(f"The article has no link {number}.", severity="warning", markup=False)
            return
        self.open_url(links[number - 1])

    def action_link_prompt(self) -> None:
        count = len(self.query_one(ArticleView).links)
        if not count:
            self.notify("The article has no numbered links.", severity="warning", markup=False)
            return

        def chosen(number: int | None) -> None:
            if number is not None:
                self.action_open_link(number)

        self.app.push_screen(LinkPrompt(count), chosen)

    def open_url(self, url: str) -> None:
        """Hand a link to $BROWSER (or the system's browser) as one argument, no shell."""
        if not is_openable_url(url):
            self.notify("This link cannot be opened in a browser (only http and https links are).",
                        severity="warning", markup=False)
            return
        browser = os.environ.get("BROWSER", "").split(os.pathsep)[0].strip()
        if browser:
            try:
                parts = shlex.split(browser)
            except ValueError:
                parts = []
            if not parts:
                self.notify("$BROWSER is not a command docbao can run.", severity="error", markup=False)
                return
            argv = [part.replace("%s", url) for part in parts]
            if not any("%s" in part for part in parts):
                argv.append(url)
            try:
                subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, start_new_session=True)
            except OSError as exc:
                self.notify(f"Cannot run $BROWSER: {exc.strerror or exc}", severity="error", markup=False)
                return
            self.notify(f"Opening {url}", markup=False)
        else:
            self.run_worker(lambda: self._system_browser(url), thread=True, group="browser")

    def _system_browser(self, url: str) -> None:
        """In a thread: finding the system's browser probes the PATH, and some wait. What
        happened is posted back as a notification."""
        import webbrowser

        try:
            controller: webbrowser.BaseBrowser | None = webbrowser.get()
        except webbrowser.Error:
            controller = None
        if controller is None or getattr(controller, "name", "") in CONSOLE_BROWSERS:
            # a text-mode browser would fight the reader for the terminal
            said, severity = "No graphical browser found; set $BROWSER.", "warning"
        elif controller.open(url):
            said, severity = f"Opening {url}", "information"
        else:
            said, severity = "The browser did not start; set $BROWSER.", "warning"
        self.app.call_from_thread(self.notify, said, severity=severity, markup=False)
