"""Reader-mode prefetch at scale: N article pages behind a feed, served from 127.0.0.1
with added latency; times `docbao refresh --full-text` and samples the peak memory of
its whole process tree.

    python bench/prefetch_bench.py [--pages 1000] [--latency-ms 100]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from tests.server import LocalServer  # noqa: E402

PAGE = ROOT / "tests" / "data" / "pages" / "seed-page.html"


def tree_rss_kib(pid: int) -> int:
    out = subprocess.run(["ps", "-o", "rss=", "--ppid", str(pid), "-p", str(pid)],
                         capture_output=True, text=True).stdout
    return sum(int(x) for x in out.split())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=100)
    args = parser.parse_args()
    page = PAGE.read_bytes()
    with tempfile.TemporaryDirectory(prefix="docbao-prefetch-") as tmp, LocalServer() as srv:
        items = "".join(
            f"<item><title>Bài {n}</title><link>{srv.url(f'/bai/{n}.html')}</link><guid>{n}</guid>"
            f"<description>Lead {n}</description></item>" for n in range(args.pages))
        for n in range(args.pages):
            srv.route(f"/bai/{n}.html", page, content_type="text/html; charset=utf-8",
                      delay=args.latency_ms / 1000)
        url = srv.route("/rss", f'<rss version="2.0"><channel><title>T</title>{items}</channel></rss>')
        config = Path(tmp) / "feeds.toml"
        config.write_text(f'[[feed]]\nurl = "{url}"\n', encoding="utf-8")
        docbao = Path(sys.executable).with_name("docbao")
        started = time.perf_counter()
        proc = subprocess.Popen([str(docbao), "refresh", "--config", str(config), "--full-text", "-q"],
                                stdout=subprocess.PIPE, text=True)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, tree_rss_kib(proc.pid))
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
        summary = proc.stdout.read().strip().splitlines() if proc.stdout else []
    print(f"{args.pages} pages at {args.latency_ms:.0f} ms: {elapsed:.1f} s, "
          f"peak tree RSS {peak / 1024:.0f} MiB; {' / '.join(summary[-2:])}")


if __name__ == "__main__":
    main()
