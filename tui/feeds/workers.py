"""The threads and processes a refresh or a page fetch works with.

CPU-bound Python (parsing, extraction) runs in a pool of worker processes for a big batch
and in a thread for a small one. Every cache write goes through one thread that owns the
connection (`CacheThread`), so the event loop never waits on SQLite.

Worker processes may be started from inside the reader, where `sys.stderr` is Textual's and
has no file descriptor, and where the terminal belongs to the UI: nothing handed to a
worker may point at the terminal, and nothing a worker prints may reach it.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
PROCESS_POOL_FROM = 24  # tasks; below this, starting worker processes costs more than it saves


def worker_pool(tasks: int, *, processes_from: int = PROCESS_POOL_FROM, threads: int, name: str) -> Executor:
    """A big batch runs in worker processes on every core, while this process keeps the
    network and the cache busy; a small one in threads, since starting processes would cost
    more than it saves."""
    cores = os.cpu_count() or 1
    if tasks >= processes_from and cores > 1:
        context = multiprocessing.get_context("spawn")
        with _stderr_with_a_descriptor():
            # Creating the pool's queues starts multiprocessing's resource tracker, which is
            # handed sys.stderr's descriptor: it must be a real one.
            return ProcessPoolExecutor(max_workers=min(cores, 4), mp_context=context, initializer=_quiet_worker)
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"docbao-{name}")


@contextlib.contextmanager
def _stderr_with_a_descriptor() -> Iterator[None]:
    """sys.stderr as it is when it has a file descriptor, else /dev/null for the duration."""
    try:
        usable = sys.stderr is not None and sys.stderr.fileno() >= 0
    except (AttributeError, OSError, ValueError):
        usable = False
    if usable:
        yield
        return
    saved = sys.stderr
    with open(os.devnull, "w", encoding="utf-8") as sink:
        sys.stderr = sink
        try:
            yield
        finally:
            sys.stderr = saved


def _quiet_worker() -> None:
    """Ctrl-C reaches the whole process group: the parent stops the refresh, so workers ignore
    it. Their results and errors travel back through the pool; what they might print (a
    library's warning) goes nowhere, never over the reader's screen."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


class CacheThread:
    """The one thread that owns a cache connection: `await cache_thread(fn, *args)` runs
    `fn` there. Made inside a running event loop."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="docbao-db")

    def __call__(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        return self._loop.run_in_executor(self._pool, fn, *args)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False)
