"""The threads and processes a refresh or a page fetch works with.

CPU-bound Python (parsing, extraction) runs in a pool of worker processes for a big batch
and in a thread for a small one. The cache writes of this process go through one thread
that owns its connection (`CacheThread`), so the event loop never waits on SQLite. A worker
process may write too, on its own connection (a refresh's parse workers store what they
parsed); its writes take the pool's lock (`writing`), so that the workers queue for the
cache's write lock without SQLite's sleep-and-retry.

Worker processes may be started from inside the reader, where `sys.stderr` is Textual's and
has no file descriptor, and where the terminal belongs to the UI: nothing handed to a
worker may point at the terminal, and nothing a worker prints may reach it.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
_write_lock: Any = None  # in a worker process: the pool's lock for cache writes
WRITE_LOCK_WAIT = 60.0  # seconds; after that a worker writes anyway (SQLite's own lock still holds)
PROCESS_POOL_FROM = 24  # tasks; below this, starting worker processes costs more than it saves


def worker_pool(tasks: int, *, processes_from: int = PROCESS_POOL_FROM, threads: int, name: str) -> Executor:
    """A big batch runs in worker processes on every core, while this process keeps the
    network and the cache busy; a small one in threads, since starting processes would cost
    more than it saves."""
    if tasks >= processes_from and (os.cpu_count() or 1) > 1:
        context = multiprocessing.get_context("spawn")
        with _stderr_with_a_descriptor():
            # Creating the pool's queues starts multiprocessing's resource tracker, which is
            # handed sys.stderr's descriptor: it must be a real one.
            return ProcessPoolExecutor(max_workers=process_count(), mp_context=context, initializer=_start_worker,
                                       initargs=(_shared_write_lock(context),))
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"docbao-{name}")


def index_workers(articles: int) -> Executor:
    """The pool that computes the search index's values of `articles` articles (index.build)."""
    from tui.store.index import PARALLEL_FROM

    return worker_pool(articles, processes_from=PARALLEL_FROM, threads=1, name="index")


_shared_lock: Any = None


def _shared_write_lock(context: Any) -> Any:
    """The one write lock of this process's worker pools, made once and kept until exit: a
    worker unpickles its pool's lock when it has started, which may be after the pool is
    gone (a refresh that ended before its second worker was up), and by then a lock made
    for that pool alone would have been removed with it."""
    global _shared_lock
    if _shared_lock is None:
        _shared_lock = context.Lock()
    return _shared_lock


def process_count() -> int:
    """How many worker processes a pool of them has: one per core, at most four."""
    return min(os.cpu_count() or 1, 4)


@contextlib.contextmanager
def writing() -> Iterator[None]:
    """In a worker process: hold the pool's write lock for the duration (one worker writes
    at a time, the others wait on the lock, not in SQLite's busy loop). Elsewhere, nothing.
    A lock that stays taken too long (a worker that died holding it) is passed by: it only
    orders the workers, SQLite's lock keeps the writes apart."""
    lock = _write_lock
    taken = lock is not None and lock.acquire(timeout=WRITE_LOCK_WAIT)
    try:
        yield
    finally:
        if taken:
            lock.release()


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


def _start_worker(lock: Any) -> None:
    global _write_lock
    _write_lock = lock
    _quiet_worker()
    _end_with_parent()
    # The last thing a worker does: its pool waits for it to end, and a refresh for its pool.
    # Tearing down the interpreter (every module's objects) took 20-40 ms of that; what a
    # worker holds open is closed by the handlers it registers later, which run first.
    atexit.register(os._exit, 0)


def _end_with_parent() -> None:
    """A worker whose parent is killed (kill -9, the OOM killer) would wait for work for
    ever, holding the cache open: it holds an end of its pool's queue itself, so it never
    sees the queue close. It ends when its parent does."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        from multiprocessing.connection import wait

        wait([parent.sentinel])
        os._exit(1)  # what it was writing is rolled back by SQLite, as for the parent

    threading.Thread(target=watch, name="docbao-parent", daemon=True).start()


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
