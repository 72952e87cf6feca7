"""Links: open the article's link or one of its numbered links in a browser, or copy it."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from textual import on
from textual.app import SuspendNotSupported

from tui.content.sanitize import clean_line, is_openable_url
from tui.ui.screens.base import ReaderBase
from tui.ui.screens.link_prompt import LinkPrompt
from tui.ui.widgets.article_view import ArticleView
from tui.ui.widgets.keys import bind

# Browsers that draw in the terminal: the reader is suspended while they run.
TEXT_BROWSERS = {"www-browser", "links", "links2", "elinks", "lynx", "w3m", "browsh", "carbonyl", "chawan", "cha"}


class LinksPart(ReaderBase):
    BINDINGS = [
        bind("link", "link_prompt"),
        *(bind(f"link_{n}", f"open_link({n})") for n in range(1, 10)),
        bind("open_browser", "open_browser"),
        bind("copy_link", "copy_link"),
    ]

    def _article_link(self) -> str | None:
        """The link of the article a key acts on; None (said) when there is no article or
        it has none (an Atom entry may have only an id such as "urn:…")."""
        article_id = self.current_article()
        rows = self.store.rows([article_id]) if article_id is not None else []
        if not rows:
            self.notify("Select an article first.", severity="warning", markup=False)
            return None
        link = clean_line(rows[0].link)
        if not link:
            self.notify("This article has no link.", severity="warning", markup=False)
            return None
        return link

    def action_open_browser(self) -> None:
        link = self._article_link()
        if link is not None:
            self.open_url(link)

    def action_copy_link(self) -> None:
        link = self._article_link()
        if link is not None:
            self.app.copy_to_clipboard(link)  # (OSC 52: the terminal takes it, or not, without a word)
            hint = " (inside tmux, only with set -g set-clipboard on)" if os.environ.get("TMUX") else ""
            self.notify(f"Copied {link}{hint}", markup=False)

    def action_open_link(self, number: int) -> None:
        links = self.query_one(ArticleView).links
        if not 1 <= number <= len(links):
            self.notify(f"The article has no link {number}.", severity="warning", markup=False)
            return
        self.open_url(links[number - 1])

    @on(ArticleView.LinkClicked)
    def _link_clicked(self, event: ArticleView.LinkClicked) -> None:
        self.action_open_link(event.number)

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
        """Hand a link to a browser as one argument, never through a shell: the `browser`
        command of feeds.toml (run in this terminal), else $BROWSER, else the system's. A
        text-mode browser gets the terminal while the reader is suspended; a graphical one
        is started on its own and the reader goes on."""
        if not is_openable_url(url):
            self.notify("This link cannot be opened in a browser (only http and https links are).",
                        severity="warning", markup=False)
            return
        configured = self.config.settings.browser
        if configured:
            self.run_in_terminal(command_line(configured, url, "%u"))
            return
        browser = os.environ.get("BROWSER", "").split(os.pathsep)[0].strip()
        if not browser:
            self.run_worker(lambda: self._system_browser(url), thread=True, group="browser")
            return
        try:
            parts = shlex.split(browser)
        except ValueError:
            parts = []
        if not parts:
            self.notify("$BROWSER is not a command docbao can run.", severity="error", markup=False)
            return
        argv = command_line(parts, url, "%s")
        if is_text_mode(argv):
            self.run_in_terminal(argv)
        else:
            self.start_detached(argv, url)

    def start_detached(self, argv: list[str], url: str) -> None:
        """A graphical browser, in a session of its own, with nothing of the terminal."""
        try:
            subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
        except OSError as exc:
            self.notify(f"Cannot run {clean_line(argv[0])}: {exc.strerror or exc}", severity="error", markup=False)
            return
        self.notify(f"Opening {url}", markup=False)

    def run_in_terminal(self, argv: list[str], *, text: str | None = None, env: dict[str, str] | None = None,
                        wait: bool = False) -> None:
        """A terminal program (a text-mode browser, a pager, the pipe command): the reader
        steps aside (suspended) until it exits, then comes back as it was; `text` is its
        stdin. It gets the terminal's own descriptors: inside the app, sys.stderr is
        Textual's and has none. `wait`: what it wrote stays until Enter (as mutt's wait_key).
        A failure is said with the exit status."""
        failure: OSError | None = None
        try:
            with self.app.suspend():
                try:  # an exception leaving the block would leave the reader suspended
                    status = run_on_terminal(argv, text=text, env=env, wait=wait)
                except OSError as exc:
                    failure = exc
        except SuspendNotSupported:
            self.notify("This terminal cannot hand itself to a terminal program.", severity="warning",
                        markup=False)
            return
        if failure is not None:
            self.notify(f"Cannot run {clean_line(argv[0])}: {failure.strerror or failure}", severity="error",
                        markup=False)
            return
        if status != 0:
            self.notify(f"{clean_line(Path(argv[0]).name)} ended with status {status}.", severity="warning",
                        markup=False)

    def _system_browser(self, url: str) -> None:
        """In a thread: finding the system's browser probes the PATH, and some wait."""
        import webbrowser

        try:
            controller: webbrowser.BaseBrowser | None = webbrowser.get()
        except webbrowser.Error:
            controller = None
        if controller is None:
            self.app.call_from_thread(self.notify, "No browser found; set $BROWSER or browser in feeds.toml.",
                                      severity="warning", markup=False)
            return
        argv = controller_command(controller, url)
        if argv is not None and is_text_mode(argv):
            self.app.call_from_thread(self.run_in_terminal, argv)
        elif argv is not None:
            self.app.call_from_thread(self.start_detached, argv, url)
        elif controller.open(url):
            self.app.call_from_thread(self.notify, f"Opening {url}", markup=False)
        else:
            self.app.call_from_thread(self.notify, "The browser did not start; set $BROWSER.",
                                      severity="warning", markup=False)


def command_line(parts: list[str], url: str, placeholder: str) -> list[str]:
    """The browser's argv with the link in place of `placeholder` (or last), one argument."""
    argv = [part.replace(placeholder, url) for part in parts]
    if not any(placeholder in part for part in parts):
        argv.append(url)
    return argv


def is_text_mode(argv: list[str]) -> bool:
    return Path(argv[0]).name in TEXT_BROWSERS


def controller_command(controller: object, url: str) -> list[str] | None:
    """The argv a webbrowser controller would run, so that docbao starts it itself (with
    real descriptors, detached or in the terminal); None for a kind it cannot read."""
    args = getattr(controller, "args", None)
    if isinstance(args, list) and args and all(isinstance(a, str) for a in args):
        return command_line(args, url, "%s")
    name = getattr(controller, "name", "")
    if name and shutil.which(name) and getattr(controller, "remote_args", None) is not None:
        return [name, url]
    return None


def run_on_terminal(argv: list[str], *, text: str | None = None, env: dict[str, str] | None = None,
                    wait: bool = False) -> int:
    """Run `argv` on the controlling terminal (stdout and stderr on it; stdin too, or a
    pipe carrying `text`), wait; the exit status. `wait`: then ask for Enter, so that what
    it wrote can be read before the reader draws over it."""
    try:
        tty = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        tty = None
    try:
        status = _run_on(tty, argv, text, env)
        if wait and tty is not None:
            os.write(tty, b"\r\n[docbao: press Enter to return]")
            while (typed := os.read(tty, 1024)) and not typed.endswith((b"\n", b"\r")):
                pass
        return status
    finally:
        if tty is not None:
            os.close(tty)


def _run_on(tty: int | None, argv: list[str], text: str | None, env: dict[str, str] | None) -> int:
    """Run `argv` with its descriptors on `tty` (else this process's own); the exit status."""
    if tty is not None:
        fds = [tty, tty, tty]
    else:
        streams = [sys.__stdin__, sys.__stdout__, sys.__stderr__]
        fds = [s.fileno() if s is not None else subprocess.DEVNULL for s in streams]
    if text is None:
        return subprocess.call(argv, stdin=fds[0], stdout=fds[1], stderr=fds[2], env=env)
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=fds[1], stderr=fds[2], env=env)
    assert process.stdin is not None
    try:
        process.stdin.write(text.encode("utf-8"))
        process.stdin.close()
    except BrokenPipeError:  # a pager quit before reading it all
        pass
    finally:
        with contextlib.suppress(OSError):
            process.stdin.close()
    return process.wait()
