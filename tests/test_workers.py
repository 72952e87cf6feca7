"""Worker processes started from inside the reader: Textual owns the terminal and replaces
sys.stderr with an object whose fileno() is -1. A big refresh must still start its parse
workers there, and nothing a worker prints may reach the terminal (it would draw over the
reader's screen)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import io, os, sys
    from tui.feeds.workers import worker_pool

    class TextualLikeStderr(io.TextIOBase):
        # what the running reader's sys.stderr looks like to multiprocessing
        def fileno(self):
            return -1
        def write(self, text):
            return len(text)

    sys.stderr = TextualLikeStderr()
    pool = worker_pool(30, threads=1, name="parse")
    kind = type(pool).__name__
    results = [pool.submit(os.write, 1, b"LEAK-STDOUT\\n").result(),
               pool.submit(os.write, 2, b"LEAK-STDERR\\n").result(),
               pool.submit(print, "LEAK-PRINT").result()]
    pool.shutdown()
    os.write(1, f"{kind} {results}\\n".encode())
""")


def test_worker_processes_start_under_a_stderr_without_descriptor_and_print_nothing() -> None:
    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "ProcessPoolExecutor [12, 12, None]"
    assert "LEAK" not in run.stdout + run.stderr


POOL_GONE_SCRIPT = textwrap.dedent("""
    import gc
    from tui.feeds.workers import worker_pool

    pool = worker_pool(30, threads=1, name="parse")
    futures = [pool.submit(sum, [n, 1]) for n in range(4)]
    pool.shutdown(wait=False)
    del pool  # a refresh that is over before its workers are up
    gc.collect()
    print([f.result() for f in futures])
""")


def test_workers_still_starting_when_their_pool_is_gone_start_and_finish_their_work() -> None:
    run = subprocess.run([sys.executable, "-c", POOL_GONE_SCRIPT], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[1, 2, 3, 4]"
    assert "Traceback" not in run.stderr
