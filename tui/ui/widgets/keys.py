"""Every key of the reading UI in one table, so bindings, the help screen, the command
palette and the `[keys]` table of feeds.toml all agree.

Each entry is a binding id (what a user remaps in `[keys]`), its default keys and what it
does. Widgets and screens build their `Binding`s from here with `bind()`.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True, slots=True)
class KeySpec:
    id: str
    keys: str  # comma-separated Textual key names
    description: str
    group: str


KEYS: tuple[KeySpec, ...] = (
    KeySpec("help", "question_mark", "Show the keys", "App"),
    KeySpec("back_or_quit", "q", "Back one pane; quit from the feed list", "App"),
    KeySpec("quit", "Q", "Quit from any pane", "App"),
    KeySpec("suspend", "ctrl+z", "Suspend to the shell (fg comes back)", "App"),
    KeySpec("command_palette", "colon", "Command palette: find an action or a theme by name", "App"),
    KeySpec("down", "j,down", "Move down (scroll down in the article)", "Move"),
    KeySpec("up", "k,up", "Move up (scroll up in the article)", "Move"),
    KeySpec("first", "g,home", "Go to the first line", "Move"),
    KeySpec("last", "G,end", "Go to the last line", "Move"),
    KeySpec("page_down", "pagedown,ctrl+f", "Page down in the focused pane", "Move"),
    KeySpec("page_up", "pageup,ctrl+b", "Page up in the focused pane", "Move"),
    KeySpec("open", "enter,l", "Open the feed or article", "Move"),
    KeySpec("back", "h,escape", "Go back to the previous pane", "Move"),
    KeySpec("next_pane", "tab", "Next pane", "Move"),
    KeySpec("previous_pane", "shift+tab", "Previous pane", "Move"),
    KeySpec("fold", "z", "Fold or unfold a folder", "Move"),
    KeySpec("search", "slash", "Search the articles (Esc goes back to the view)", "Move"),
    KeySpec("find_feed", "F", "Find a feed or tag by typing part of its name", "Move"),
    KeySpec("article_page_down", "space", "Page the article down", "Read"),
    KeySpec("article_page_up", "b", "Page the article up", "Read"),
    KeySpec("next_unread", "n", "Next unread article (crosses feeds)", "Read"),
    KeySpec("previous_unread", "p", "Previous unread article (crosses feeds)", "Read"),
    KeySpec("next_article", "J", "Next article of the list (opens it when reading)", "Read"),
    KeySpec("previous_article", "K", "Previous article of the list (opens it when reading)", "Read"),
    KeySpec("next_feed", "ctrl+n", "Next feed with unread articles: its list", "Read"),
    KeySpec("previous_feed", "ctrl+p", "Previous feed with unread articles: its list", "Read"),
    KeySpec("reader_mode", "t", "Full article or the feed's text (reader mode)", "Read"),
    KeySpec("link", "f", "Open link number… (type it, then Enter)", "Read"),
    *(KeySpec(f"link_{n}", str(n), f"Open link {n} of the article", "Read") for n in range(1, 10)),
    KeySpec("toggle_read", "m", "Mark the article read or unread", "Mark"),
    KeySpec("toggle_read_next", "N", "Mark read or unread, then go down the list (newsboat's N)", "Mark"),
    KeySpec("mark_all_read", "A", "Mark every article of the feed or view read", "Mark"),
    KeySpec("mark_everything_read", "C", "Mark every article of every feed read (asked first)", "Mark"),
    KeySpec("star", "s", "Star or unstar the article", "Mark"),
    KeySpec("undo", "u", "Undo the last mark, mark all read, star or unsubscribe", "Mark"),
    KeySpec("sort", "O", "Sort by date (newest, oldest), title or feed; each view its own", "View"),
    KeySpec("hide_read", "H", "Hide or show the feeds and articles with nothing unread", "View"),
    KeySpec("open_browser", "o", "Open the article's link in the browser", "Links"),
    KeySpec("copy_link", "y", "Copy the article's link", "Links"),
    KeySpec("pipe", "vertical_line", "Pipe the article's text to pipe_command", "Commands"),
    KeySpec("bookmark", "B", "Bookmark the article (bookmark_command)", "Commands"),
    KeySpec("pager", "v", "Read the article's text in $PAGER", "Commands"),
    KeySpec("download", "e", "Download the article's enclosure (asks which when several)", "Media"),
    KeySpec("downloads", "E", "Show the downloads: queue, progress, done, failed (r, R download)", "Media"),
    KeySpec("play", "P", "Play the enclosure with player (feeds.toml): the file, else its URL", "Media"),
    KeySpec("add_feed", "a", "Subscribe to a feed (or a site that names one)", "Feeds"),
    KeySpec("remove_feed", "d", "Unsubscribe from the selected feed (its articles stay)", "Feeds"),
    KeySpec("edit_tags", "T", "Edit the selected feed's tags (its folders)", "Feeds"),
    KeySpec("refresh", "r", "Refresh the selected feed", "Refresh"),
    KeySpec("refresh_all", "R", "Refresh all feeds", "Refresh"),
)
SPECS: dict[str, KeySpec] = {spec.id: spec for spec in KEYS}


def bind(binding_id: str, action: str) -> Binding:
    """A Binding with the id a user can remap from feeds.toml."""
    spec = SPECS[binding_id]
    return Binding(spec.keys, action, spec.description, show=False, id=binding_id)


def check_keymap(keymap: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Split a `[keys]` table into what can be applied and warnings: unknown action ids
    are dropped; a key given to two actions is applied but reported (where both are
    active, the focused pane's own action wins)."""
    from textual.keys import _normalize_key_list

    good: dict[str, str] = {}
    warnings: list[str] = []
    for binding_id, keys in keymap.items():
        if binding_id not in SPECS:
            warnings.append(f"[keys] unknown action '{binding_id}' ignored")
            continue
        normalized = _normalize_key_list(keys)
        if not all(normalized.split(",")):
            warnings.append(f"[keys] '{binding_id}' has an empty key; ignored")
            continue
        named = {key: _key_name(key) for key in normalized.split(",")}
        unknown = [key for key, name in named.items() if name is None]
        if unknown:
            warnings.append(f"[keys] '{binding_id}': {', '.join(repr(k) for k in unknown)} is not a key name "
                            "(e.g. j, ctrl+n, f1, question_mark); the default kept")
            continue
        good[binding_id] = ",".join(name for name in named.values() if name)
    owner: dict[str, str] = {}
    for spec in KEYS:
        for key in effective_keys(spec.id, good).split(","):
            if key in owner and owner[key] != spec.id:
                warnings.append(f"[keys] '{display_key(key)}' is given to both '{owner[key]}' and '{spec.id}'")
            owner.setdefault(key, spec.id)
    return good, warnings


_MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")


def _key_name(key: str) -> str | None:
    """A key as Textual names it (function and named keys in lower case: "F1" is "f1"),
    with its modifiers; None for a name that no key has ("not a key")."""
    import unicodedata

    from textual.keys import KEY_NAME_REPLACEMENTS, Keys

    *modifiers, base = key.split("+") if len(key) > 1 else [key]
    modifiers = [m.lower() for m in modifiers]
    if not base or any(m not in _MODIFIERS for m in modifiers):
        return None
    if len(base) > 1:
        base = base.lower()
        if base not in KEY_NAME_REPLACEMENTS.values() and base not in {k.value for k in Keys}:
            try:
                unicodedata.lookup(base.replace("_", " "))  # question_mark, vertical_line ...
            except KeyError:
                return None
    return "+".join([*modifiers, base])


def effective_keys(binding_id: str, keymap: dict[str, str]) -> str:
    return keymap.get(binding_id) or SPECS[binding_id].keys


def display_key(key: str) -> str:
    """How a key is written in the help and the palette ("question_mark" -> "?")."""
    from textual.keys import format_key

    return {"enter": "enter", "pagedown": "PgDn", "pageup": "PgUp"}.get(key) or format_key(key)
