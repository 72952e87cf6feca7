"""The Textual app: load the keymap, push the reading screen, close the cache at the end.

Everything the user sees lives in the screens and widgets; the app only wires them to the
config and the cache, and offers every key in the command palette.
"""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from textual import events
from textual.app import App, SystemCommand
from textual.screen import Screen

from tui.config import Config
from tui.ui.screens.main import MainScreen
from tui.store.cache import Store, StoreError, say_upgrading
from tui.ui.typeahead import CHECK_EVERY, ReleaseKey, TypeAhead
from tui.ui.widgets.keys import KEYS, bind, check_keymap, display_key, effective_keys


class DocbaoApp(App[int]):
    CSS_PATH = "docbao.tcss"
    TITLE = "docbao"
    # The command palette has a key of the reader's own (`:`), which [keys] can change: with
    # Textual's default (a priority binding on ctrl+p) it took newsboat's ctrl+p (previous
    # feed) before the screen saw it, and the keys typed next went into the palette.
    BINDINGS = [bind("help", "help"), bind("quit", "quit"), bind("suspend", "suspend_process"),
                bind("command_palette", "command_palette")]

    def __init__(self, config: Config, cache_dir: Path, *, store: Store | None = None,
                 image_mode: str | None = None) -> None:
        super().__init__()
        self.config = config
        # how images are drawn: decided by run() before the terminal is Textual's; without a
        # terminal to ask, what the setting names ("auto": half-blocks, which draw anywhere)
        self.image_mode = image_mode or {"auto": "blocks"}.get(config.settings.images, config.settings.images)
        self.cache_dir = cache_dir
        self._owns_store = store is None
        self.store = store if store is not None else Store.open(cache_dir)
        self.keymap, key_warnings = check_keymap(config.keys)
        self.warnings = [*config.warnings, *key_warnings, *([self.store.notice] if self.store.notice else [])]
        self._typeahead = TypeAhead()
        self._theme_note = self._first_theme()

    def _first_theme(self) -> str:
        """Set the theme chosen last in the command palette, or the one feeds.toml names
        when that changed since; a warning to show when the name is not a theme."""
        configured = self.config.settings.theme
        chosen = self.store.get_state("ui.theme", "")
        if chosen in self.available_themes and self.store.get_state("ui.theme_config", "") == configured:
            name = chosen
        else:
            name = configured
        if not name:
            return ""
        if name not in self.available_themes:
            themes = ", ".join(sorted(self.available_themes))
            return f"[settings] theme: there is no theme '{name}'; the default is used. Themes: {themes}"
        self.theme = name
        return ""

    def watch_theme(self, theme: str) -> None:
        """A theme picked in the command palette is remembered (with the setting it
        overrode, so that a new setting in feeds.toml wins)."""
        if self.is_mounted:
            self.store.set_state({"ui.theme": theme, "ui.theme_config": self.config.settings.theme})

    def get_default_screen(self) -> Screen:
        return MainScreen(self.store, self.config, self.cache_dir)

    def on_mount(self) -> None:
        # back from Ctrl+Z (`fg`): the terminal was the shell's meanwhile, so draw it all again
        self.app_resume_signal.subscribe(self, lambda _app: self.refresh(layout=True))
        if self.keymap:
            self.set_keymap(self.keymap)
        for warning in [*self.warnings, *([self._theme_note] if self._theme_note else [])]:
            self.notify(warning, severity="warning", timeout=10, markup=False)

    async def on_event(self, event: events.Event) -> None:
        """Keys typed ahead wait until what the previous key did has landed (see typeahead)."""
        if isinstance(event, events.Key) and not event.is_forwarded and self.screen_stack:
            if (split := self._escape_then_key(event)) is not None:
                for key in split:
                    await self.on_event(key)
                return
            if self._typeahead.hold(event, self.screen):
                self._look_at_held_keys()
                return
        await super().on_event(event)

    def _escape_then_key(self, event: events.Key) -> tuple[events.Key, events.Key] | None:
        """Escape and a key typed quickly one after the other reach the terminal as one
        sequence, which Textual reads as Alt and the key. docbao binds no Alt key of its
        own, so an Alt key nothing is bound to is what was typed: Escape, then the key."""
        if not event.key.startswith("alt+") or event.key in self.screen.active_bindings:
            return None
        char = event.character
        name = event.key.removeprefix("alt+")
        if char is not None and len(char) == 1 and char.isalnum():
            name = char  # "alt+shift+q" was typed as "Q"
        return events.Key("escape", "\x1b"), events.Key(name, char)

    def _look_at_held_keys(self) -> None:
        if not self._typeahead.looking:
            self._typeahead.looking = True
            asyncio.get_running_loop().call_later(CHECK_EVERY, self.post_message, ReleaseKey())

    async def on_release_key(self, message: ReleaseKey) -> None:
        self._typeahead.looking = False
        if not self.screen_stack:  # closing
            return
        key = self._typeahead.next_key(self.screen)
        if key is not None:
            await super().on_event(key)
        if self._typeahead.held:
            self._look_at_held_keys()

    def on_ready(self) -> None:
        self.call_after_refresh(self._after_first_frame)

    @staticmethod
    def _after_first_frame() -> None:
        """Everything built to start (Textual, styles, the feed list) lives as long as the
        app: taking it out of the collector's sight makes full collections ~5x shorter, and
        those were the 15-20 ms hitches when opening articles. The collector, off while
        the reader started (see the cli's run_reader), runs from now on."""
        gc.freeze()
        gc.enable()

    def on_unmount(self) -> None:
        if self._owns_store:
            self.store.close()

    def adopt_store(self, store: Store, cache_dir: Path) -> None:
        """The screen moved to another cache (a config created beside its own): the app
        closes it at the end; the first store stays with whoever opened it."""
        if self._owns_store:
            self.store.close()
        self.store, self.cache_dir, self._owns_store = store, cache_dir, True

    async def action_quit(self) -> None:
        """Quit; marks still being written in threads are finished first, and the reading
        screen says so meanwhile (the process would otherwise wait for them at exit, its
        screen blank)."""
        main = next((screen for screen in self.screen_stack if isinstance(screen, MainScreen)), None)
        if main is None or not main.quit_after_marks():
            self.exit()

    def action_help(self) -> None:
        from tui.ui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.keymap))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's own commands, then every docbao key with its current keys."""
        yield from super().get_system_commands(screen)
        for spec in KEYS:
            keys = ", ".join(display_key(k) for k in effective_keys(spec.id, self.keymap).split(","))
            yield SystemCommand(spec.description, f"key: {keys}", self._command(spec.id),
                                discover=not spec.id.startswith("link_"))

    def _command(self, binding_id: str) -> Callable[[], None]:
        def run() -> None:
            self.run_binding(binding_id)

        return run

    def run_binding(self, binding_id: str) -> bool:
        """Run the action bound to `binding_id` where a key press would run it: on the
        focused widget, its screen or the app."""
        screen = self.screen
        chain = list(screen.focused.ancestors_with_self) if screen.focused else [screen, self]
        for node in chain:
            for bindings in node._bindings.key_to_bindings.values():
                for binding in bindings:
                    if binding.id == binding_id:
                        self.call_later(self.run_action, binding.action, node)
                        return True
        return False


def run(config: Config, cache_dir: Path) -> int:
    """Open the cache and run the reading UI until the user quits; the exit status."""
    try:
        store = Store.open(cache_dir, upgrading=say_upgrading)
    except StoreError as exc:
        print(f"docbao: {exc}", file=sys.stderr)
        return 1
    from tui.ui.widgets.images import prepare

    app = DocbaoApp(config, cache_dir, store=store, image_mode=prepare(config.settings.images))
    try:
        result = app.run(mouse=config.settings.mouse)
    finally:
        store.close()
    if isinstance(result, int):
        return result
    return app.return_code or 0
