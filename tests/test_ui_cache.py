"""How the feeds pane is built from the reader's fixed test cache (tests/pilot.py)."""

from __future__ import annotations

from pathlib import Path

from tests.pilot import BROKEN, EVIL, NEVER, SHOWN_FEED, TECH, build_ui_cache
from tui.store.cache import Store
from tui.ui.widgets.feed_list import build_entries


def test_feeds_pane_order_folders_then_untagged(tmp_path: Path) -> None:
    cache = build_ui_cache(tmp_path)
    store = Store.open(tmp_path)
    entries = build_entries(cache.config, store.feeds(), lambda ids: store.count(feed_ids=ids, starred=True))
    store.close()
    shown = [(e.kind, e.label, e.folder) for e in entries]
    assert shown[:3] == [("view", "All", ""), ("view", "Unread", ""), ("view", "Starred", "")]
    assert shown[3:] == [
        ("folder", "Việt Nam", "Việt Nam"), ("feed", "Báo Thái Nguyên", "Việt Nam"),
        ("folder", "Tin tức", "Tin tức"), ("feed", "Báo Thái Nguyên", "Tin tức"),
        ("folder", "Tech", "Tech"), ("feed", "Tech Weekly", "Tech"),
        ("feed", entries[9].label, "Tech"),
        ("feed", "Plain Feed", ""), ("feed", "Broken Feed", ""), ("feed", "127.0.0.1:9/never-fetched.xml", ""),
    ]


def test_feeds_pane_counts_come_from_the_counters(tmp_path: Path) -> None:
    cache = build_ui_cache(tmp_path)
    store = Store.open(tmp_path)
    entries = {e.key: e for e in build_entries(cache.config, store.feeds(), lambda ids: store.count(feed_ids=ids, starred=True))}
    store.close()
    assert entries["all"].count == entries["unread"].count == 3 + 2 + 2 + 2
    assert entries["starred"].count == 1
    assert entries["tag:Tech"].count == 4 and entries["tag:Tech"].feed_ids == (
        cache.feed_ids[TECH], cache.feed_ids[EVIL])
    assert entries[f"tag:Tech/feed:{cache.feed_ids[TECH]}"].count == 2


def test_feed_labels_fall_back_and_lose_control_characters(tmp_path: Path) -> None:
    cache = build_ui_cache(tmp_path)
    store = Store.open(tmp_path)
    entries = {e.key: e for e in build_entries(cache.config, store.feeds(), lambda ids: 0)}
    store.close()
    evil = entries[f"tag:Tech/feed:{cache.feed_ids[EVIL]}"]
    assert evil.label == SHOWN_FEED
    assert not any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F or ch == "\u202e" for ch in evil.label)
    broken = entries[f"feed:{cache.feed_ids[BROKEN]}"]
    assert broken.error.startswith("HTTP 500 [b]Internal[/b] Server Error")
    assert "\x1b" not in broken.error
    assert entries[f"feed:{cache.feed_ids[NEVER]}"].label == "127.0.0.1:9/never-fetched.xml"  # NEVER, named
