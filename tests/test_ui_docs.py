"""The README's key table and the [keys] block of the shipped feeds.toml stay in step with
the keys the reader really has."""

from __future__ import annotations

import re
from pathlib import Path

from tui.config import load_config
from tui.ui.widgets.keys import KEYS, check_keymap, display_key

ROOT = Path(__file__).resolve().parents[1]


def readme_keys() -> dict[str, str]:
    """action id -> the key column of the README's Keys table."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Keys\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (.+?) \| `([a-z_0-9]+)`(?: … `link_9`)? \| .+ \|$", section, re.M)
    return {action: keys.replace("\\|", "|") for keys, action in rows}  # `\|`: a | in a table cell


def test_readme_lists_every_key_with_its_default() -> None:
    table = readme_keys()
    for spec in KEYS:
        if spec.id.startswith("link_") and spec.id != "link_1":
            continue
        assert spec.id in table, spec.id
        if spec.id != "link_1":
            assert table[spec.id] == ", ".join(f"`{display_key(k)}`" for k in spec.keys.split(","))


def test_the_keys_block_of_feeds_toml_is_every_action_and_loads_clean(tmp_path: Path) -> None:
    text = (ROOT / "feeds.toml").read_text(encoding="utf-8")
    block = text[text.index("\n# [keys]\n"):]
    uncommented = "\n".join(line[2:] for line in block.splitlines() if line.startswith("# "))
    path = tmp_path / "feeds.toml"
    path.write_text(uncommented, encoding="utf-8")
    config = load_config(path)
    assert config.warnings == []
    assert list(config.keys) == [spec.id for spec in KEYS]
    applied, warnings = check_keymap(config.keys)
    assert warnings == []
    assert applied == {spec.id: spec.keys for spec in KEYS}


def test_the_settings_block_of_feeds_toml_names_every_setting_with_its_default(tmp_path: Path) -> None:
    from dataclasses import fields

    from tui.config import Settings

    text = (ROOT / "feeds.toml").read_text(encoding="utf-8")
    block = text[text.index("\n[settings]\n"):].split("\n\n", 1)[0]
    keys = re.findall(r"^#? ?([a-z_]+) += ", block, re.M)
    assert sorted(keys) == sorted(f.name for f in fields(Settings))
    path = tmp_path / "feeds.toml"
    path.write_text(block, encoding="utf-8")
    config = load_config(path)
    assert config.warnings == []
    assert config.settings == Settings()  # the values written are the defaults
