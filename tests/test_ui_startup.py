"""Start-up does only what the first screen needs: the network and parsing stack (httpx,
feedparser, trafilatura) is not imported before the first frame, and the article renderer
only once the reader can look at something."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, sys
from pathlib import Path
sys.path.insert(0, {root!r})
from tests.pilot import build_ui_cache
import tui.ui.app

class Probe(tui.ui.app.DocbaoApp):
    CSS_PATH = str(Path(tui.ui.app.__file__).parent / "docbao.tcss")

    def on_ready(self) -> None:  # the first frame is on screen
        from tui.ui.widgets.feed_list import FeedList
        feeds = self.screen.query_one(FeedList)
        lines = [feeds.render_line(y).text.strip() for y in range(3)]
        loaded = sorted(m for m in ("httpx", "feedparser", "trafilatura", "tui.feeds.fetch", "tui.feeds.parse",
                                    "tui.feeds.refresh", "tui.content.render") if m in sys.modules)
        print(json.dumps({{"lines": lines, "loaded": loaded}}), flush=True)
        self.exit(0)

cache = build_ui_cache(Path({cache!r}))
Probe(cache.config, cache.folder).run(headless=True, size=(120, 36))
"""


def test_first_frame_needs_no_network_or_parsing_stack(tmp_path: Path) -> None:
    code = PROBE.format(root=str(ROOT), cache=str(tmp_path / "cache"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["lines"][0].split() == ["All", "9"]  # the counts are on the first frame
    assert report["loaded"] == []
