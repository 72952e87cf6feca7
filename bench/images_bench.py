"""An article with 20 pictures in the real `docbao` in tmux: how fast it opens and how fast
keys answer while the pictures are still arriving, and the reader's peak memory once all 20
have been drawn.

    python bench/images_bench.py [--delay 1.0] [--side 1600]

The pictures are JPEGs of noise (`--side` pixels square, about 1-2 MB each, the worst case
for decoding) served from 127.0.0.1, each answered after `--delay` seconds, so they load
while the keys are pressed. tmux runs on a private socket; `images = "auto"` draws
half-blocks there, as for any user inside tmux.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from PIL import Image  # noqa: E402

from tests.server import LocalServer  # noqa: E402
from tui.model import FetchResult, ParsedArticle, ParsedFeed  # noqa: E402
from tui.store.cache import Store  # noqa: E402
from ui_bench import Pane  # noqa: E402

PICTURES = 20


def noise_jpeg(side: int, seed: int) -> bytes:
    picture = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)) if seed else Image.new("RGB", (side, side))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=90)
    return out.getvalue()


def build(folder: Path, server: LocalServer, side: int, delay: float) -> Path:
    """The cache with the article, and feeds.toml; `images` is set per run (see measure)."""
    feed = server.url("/feed.xml")
    parts = []
    for number in range(PICTURES):
        url = server.route(f"/p{number}.jpg", noise_jpeg(side, number + 1), content_type="image/jpeg", delay=delay)
        parts.append(f"<p>Paragraph {number} before picture {number}.</p>"
                     f'<p><img src="{url}" alt="Picture {number}"></p>')
    store = Store.open(folder / "cache")
    ids = store.ensure_feeds([feed])
    article = ParsedArticle(guid="pics", title="Twenty pictures", link="https://example.com/pics",
                            summary="".join(parts) + "<p>The end.</p>", published=1_700_000_000)
    store.save_fetch(ids[feed], FetchResult("ok", feed), ParsedFeed(title="Pictures", articles=[article]))
    store.close()
    config = folder / "feeds.toml"
    config.write_text(f'[settings]\nimages = "auto"\n\n[[feed]]\nurl = "{feed}"\ntitle = "Pictures"\n', encoding="utf-8")
    return config


def measure(docbao: str, config: Path, cache: Path, server: LocalServer) -> dict[str, float]:
    """Open the article, press j 20 times while the pictures arrive, space 20 times from
    the first picture drawn (more are asked for and drawn meanwhile), then page through it
    until every picture has been drawn (with images off: to its end); peak memory."""
    drawing = 'images = "auto"' in config.read_text(encoding="utf-8")
    shutil.rmtree(cache / "images", ignore_errors=True)
    store = Store.open(cache)
    store.conn.execute("DELETE FROM images")  # every run fetches every picture again
    store.conn.execute("DELETE FROM ui_state")  # and starts on the feed list
    store.close()
    server.requests.clear()
    pane = Pane(f"{docbao} --config {config} --cache {cache}", "images-bench")
    figures: dict[str, float] = {}
    try:
        pane.wait_for(re.compile(r"Pictures"))
        time.sleep(0.3)
        pane.press_until("Enter", re.compile(r"1 in view"))
        time.sleep(0.3)
        figures["open the article (Enter -> its text on screen)"] = pane.press_until(
            "Enter", re.compile(r"Paragraph 0 before"))
        keys = [pane.press("j") for _ in range(20)]  # while the pictures arrive
        figures["j (median of 20)"] = median(keys)
        figures["j (max of 20)"] = max(keys)
        figures["pictures not yet asked for when the keys were done"] = PICTURES - len(server.requests)
        if drawing:  # then page on while the pictures are decoded and drawn
            pane.wait_for(re.compile("▀"), timeout=30)
        keys = [pane.press("g" if "The end." in pane.screen() else "space") for _ in range(20)]
        figures["space while pictures are drawn (median of 20)"] = median(keys)
        figures["space while pictures are drawn (max of 20)"] = max(keys)
        seen: set[str] = set()
        deadline = time.perf_counter() + 120
        while time.perf_counter() < deadline:  # page through: every picture drawn
            screen = pane.screen()
            if drawing and "▀" in screen:
                seen |= set(re.findall(r"\[image: (Picture \d+)\]", screen))
            if (len(seen) == PICTURES) if drawing else "The end." in screen:
                break
            pane.press("space") if "The end." not in screen else pane.press("g")
        figures["peak memory MiB"] = pane.peak_mib()
    finally:
        pane.close()
    return figures


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay", type=float, default=1.0)
    parser.add_argument("--side", type=int, default=1600)
    args = parser.parse_args()
    docbao = shutil.which("docbao", path=str(Path(sys.executable).parent))
    if docbao is None or shutil.which("tmux") is None:
        sys.exit("needs the installed docbao command and tmux")
    with tempfile.TemporaryDirectory(prefix="docbao-images-bench-") as scratch, LocalServer() as server:
        folder = Path(scratch)
        os.environ["TMUX_TMPDIR"] = scratch  # a tmux server of its own
        config = build(folder, server, args.side, args.delay)
        runs = {}
        for mode in ("auto", "off"):
            config.write_text(re.sub(r'images = "\w+"', f'images = "{mode}"', config.read_text(encoding="utf-8")),
                              encoding="utf-8")
            runs[mode] = measure(docbao, config, folder / "cache", server)
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"{PICTURES} pictures of {args.side}x{args.side} px, each served after {args.delay} s; uptime: {load}")
    print(f"  {'':50} {'images (blocks)':>16} {'images off':>12}")
    for name in runs["auto"]:
        values = [runs[mode][name] for mode in ("auto", "off")]
        shown = [f"{v:.0f}" if "MiB" in name or name.startswith("pictures") else f"{v * 1000:.0f} ms" for v in values]
        print(f"  {name:50} {shown[0]:>16} {shown[1]:>12}")


if __name__ == "__main__":
    main()
