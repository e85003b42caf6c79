"""Long CPU-bound work of a request (validating and staging an uploaded stock list) in a
process of its own.

The service answers every request from one interpreter; a list of tens of thousands of
parcels keeps that interpreter busy for many seconds and would hold up every map, page
of items and match meanwhile. In a separate process, at a lower CPU priority, it takes
the spare CPU instead. Each task gets a fresh process (forked from a server process that
has the libraries loaded already), which opens its own connection to the store and
leaves nothing behind. A task has a wall-clock limit: past it the kernel ends the process
(``SIGALRM``, whatever it is doing, in Python or in GDAL or SQLite), the store rolls its
transaction back, and the next task gets a fresh process.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Concatenate, ParamSpec, TypeVar

from starlette.concurrency import run_in_threadpool

from layers.errors import GeoServiceError
from layers.store.store import Store

P = ParamSpec("P")
R = TypeVar("R")
_PRELOAD = ["layers.stocklist", "layers.store.store"]


class WorkerFailed(GeoServiceError, RuntimeError):
    """The worker process ended without an answer (killed, out of memory). Nothing was
    changed; trying again later gets a fresh process."""

    code = "worker_failed"


class ImportTimeout(WorkerFailed):
    """The task ran past the worker's wall-clock limit and its process was ended."""

    code = "import_timeout"


class Worker:
    """Runs ``fn(store, …)`` in a fresh process, ``niceness`` below the server's priority,
    ended after ``timeout_s`` seconds."""

    def __init__(self, store_url: str, *, niceness: int, timeout_s: float) -> None:
        self._store_url = store_url
        self._niceness = niceness
        self._timeout_s = timeout_s
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                methods = multiprocessing.get_all_start_methods()
                context = multiprocessing.get_context(
                    "forkserver" if "forkserver" in methods else "spawn"
                )
                if "forkserver" in methods:
                    context.set_forkserver_preload(_PRELOAD)
                self._pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=context,
                    initializer=_lower_priority,
                    initargs=(self._niceness,),
                    max_tasks_per_child=1,
                )
            return self._pool

    async def run(
        self, fn: Callable[Concatenate[Store, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """``fn(store, *args, **kwargs)`` in the worker; its errors are raised here."""
        pool = self._executor()
        started = time.monotonic()
        try:
            # Submitting starts the process, and the first time the server process that
            # forks it (a second or so): not on the event loop.
            future = await run_in_threadpool(
                pool.submit, _call, self._store_url, self._timeout_s, fn, args, kwargs
            )
            return await asyncio.wrap_future(future)
        except BrokenProcessPool as exc:
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            # The process's timer starts after this one: a process that ended sooner
            # was killed by something else.
            if time.monotonic() - started >= self._timeout_s:
                raise ImportTimeout(
                    f"导入超过 {self._timeout_s:g} 秒, 已中止, 未做任何更改; 请检查文件 "
                    "(如视图、超大几何) 或分批导入 (the import took longer than "
                    f"{self._timeout_s:g} s and was stopped; nothing was changed: check the "
                    "file, e.g. for views or huge geometries, or split it)"
                ) from exc
            raise WorkerFailed(
                "后台进程意外退出, 请查看清单历史后重试 (the worker process ended "
                "unexpectedly; see /stock-lists before trying again)"
            ) from exc

    def close(self) -> None:
        """Wait for a task under way, then stop."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _lower_priority(niceness: int) -> None:
    os.nice(niceness)


def _call(
    store_url: str,
    timeout_s: float,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    # SIGALRM's default action ends the process, even inside C code (GDAL, SQLite) that
    # an exception could never interrupt; one task per process, so it ends only this one.
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    store = Store.open(store_url, upgrade=False)
    try:
        return fn(store, *args, **kwargs)
    finally:
        store.close()
