"""`pip install .` (not editable) gives a working docbao: every module and data file of the
tree is in the wheel, the command runs from the virtual environment alone, and the reader
opens. A sub-package or a .tcss left out of the packaging fails here (an editable install,
which every other test uses, reads the tree and hides it)."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

from tests.e2e.harness import ROOT, Installed, Reader, write_config

PACKAGE_FILES = ("*.py", "*.tcss", "py.typed")


def tree_files() -> set[str]:
    found = set()
    for pattern in PACKAGE_FILES:
        found |= {p.relative_to(ROOT).as_posix() for p in (ROOT / "tui").rglob(pattern)
                  if "__pycache__" not in p.parts}
    return found


def test_the_wheel_holds_every_module_and_data_file_of_the_tree(installed: Installed) -> None:
    in_wheel = set(zipfile.ZipFile(installed.wheel).namelist())
    expected = tree_files()
    assert any(name.endswith(".tcss") for name in expected)  # the check covers the stylesheet
    assert not expected - in_wheel, f"left out of the wheel: {sorted(expected - in_wheel)}"


def test_the_installed_package_is_the_one_in_the_venv_and_every_module_imports(
        installed: Installed, tmp_path: Path) -> None:
    script = (
        "import importlib, pkgutil, tui\n"
        "print(tui.__file__)\n"
        "for m in pkgutil.walk_packages(tui.__path__, 'tui.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "print('imported all')\n"
    )
    done = subprocess.run([str(installed.python), "-c", script], capture_output=True, text=True, cwd=tmp_path,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, timeout=120)
    assert done.returncode == 0, done.stderr
    location, last = done.stdout.splitlines()
    assert Path(location).is_relative_to(installed.venv), location
    assert last == "imported all"


def test_docbao_version_and_help_run_from_the_install(reader: Reader) -> None:
    version = reader.cli("--version")
    assert version.returncode == 0, version.stderr
    assert "0." in version.stdout or "1." in version.stdout
    assert reader.cli("--help").returncode == 0


def test_the_installed_reader_opens_and_quits(reader: Reader, feed_server, tmp_path: Path) -> None:
    url = feed_server.route("/one.xml", "<rss version='2.0'><channel><title>One feed</title></channel></rss>",
                            content_type="application/rss+xml")
    config = write_config(tmp_path / "feeds.toml", [url])
    reader.start(config, tmp_path / "cache")
    rows = reader.wait_for("Feeds")
    assert rows[-1].lstrip().startswith("0 unread")
    assert reader.quit() == 0
