"""Worker processes for a CPU-bound primary: FallbackPredictor(..., processes=N).

Why. A model that computes in Python (a scikit-learn pipeline: one-row predict is mostly input validation and
pandas, a few milliseconds holding the GIL) shares the interpreter with the caller when it runs on a thread. At
the deadline the waiting caller needs the GIL back, and gets it only at the interpreter's switch interval (5 ms by
default), later when several threads want it; and a late call that cannot be stopped keeps taking CPU from the
next ones. In another process the model has its own interpreter: the caller waits on a pipe, wakes at the
deadline with nobody holding its GIL, and a call that hangs can be ended by ending its process.

How. ``size`` processes, started with ``spawn`` (safe beside threads and OpenMP, which ``fork`` is not), each
given the primary pickled once. A case goes to an idle process (else it waits in a queue, and a case still queued
at its deadline is cancelled, never sent). One collector thread reads every answer and hands it to the waiting
caller's Future; an answer that comes after its caller gave up is dropped, and its process takes the next case.
A process still busy ``hang_ms`` after it started a case is ended and replaced. Each process limits the maths
libraries' thread pools to ``threads`` (OpenMP, BLAS), so N processes do not fight over the cores.

Layer rule: multiprocessing, NumPy and pandas only (threadpoolctl, scikit-learn's own dependency, if present).
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from multiprocessing.connection import wait

__all__ = ["ProcessPool"]

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class PrimaryProcessError(RuntimeError):
    """The primary's worker process stopped, or could not take the primary."""


def _serve(conn, payload: bytes, threads: int | None) -> None:
    """A worker process: load the primary, then answer ("row" | "batch", x) messages until told to stop."""
    if threads is not None:
        for name in _THREAD_VARIABLES:  # before the primary's libraries load
            os.environ[name] = str(threads)
    try:
        from .fallback import _batch_caller, _row_caller

        primary = pickle.loads(payload)
        callers = {"row": _row_caller(primary), "batch": _batch_caller(primary)}
        if threads is not None:
            try:
                from threadpoolctl import threadpool_limits
            except ImportError:
                pass
            else:
                threadpool_limits(threads)
    except BaseException as e:
        conn.send(("failed", f"{type(e).__name__}: {e}"))
        return
    conn.send(("ready", None))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if message is None:
            return
        kind, x = message
        start = time.perf_counter()
        try:
            value = callers[kind](x)
        except Exception as e:
            ms = (time.perf_counter() - start) * 1000
            try:
                conn.send(("error", _portable(e), ms))
            except Exception as unsendable:
                conn.send(("error", PrimaryProcessError(f"{type(e).__name__}: {e} ({unsendable})"), ms))
            continue
        ms = (time.perf_counter() - start) * 1000
        try:
            conn.send(("ok", value, ms))
        except Exception as e:  # an answer that does not pickle
            conn.send(("error", PrimaryProcessError(f"The primary's answer could not be sent back: "
                                                    f"{type(e).__name__}: {e}"), ms))


def _portable(e: Exception) -> Exception:
    """The exception itself when it survives pickling (so the caller sees its type), else its text."""
    try:
        pickle.loads(pickle.dumps(e))
    except Exception:
        return PrimaryProcessError(f"{type(e).__name__}: {e}")
    return e


class _Worker:
    def __init__(self, process, conn):
        self.process = process
        self.conn = conn
        self.ready = False
        self.task: tuple[Future, object, float] | None = None  # (future, case, started) while busy


class ProcessPool:
    """``size`` worker processes running ``primary``; ``submit(kind, x)`` returns a Future of the answer.

    ``on_done(x, ms)`` is called (in the collector thread) with the primary's own running time of every case it
    answered, late ones included.
    """

    def __init__(self, primary, size: int, hang_ms: float, threads: int | None = 1, start_method: str = "spawn",
                 name: str = "rulecraft-fallback", on_done: Callable | None = None, start_timeout: float = 120.0):
        try:
            self._payload = pickle.dumps(primary)
        except Exception as e:
            raise TypeError(f"processes=... sends the primary to worker processes, so it must pickle, and "
                            f"{type(primary).__name__} does not ({type(e).__name__}: {e}). Use a model object or "
                            "a function defined at the top of a module (not a lambda or a local function), or "
                            "run it on threads (processes=0).") from None
        self.size = size
        self.hang_ms = hang_ms
        self.threads = threads
        self.on_done = on_done
        self.replaced = 0
        self._context = multiprocessing.get_context(start_method)
        self._lock = threading.Lock()
        self._pending: deque = deque()
        self._workers: list[_Worker] = []
        self._closed = False
        self._wake_read, self._wake_write = self._context.Pipe(duplex=False)
        for _ in range(size):
            self._workers.append(self._start())
        self._await_ready(start_timeout)
        self._collector = threading.Thread(target=self._collect, name=f"{name}-collector", daemon=True)
        self._collector.start()

    # ---- processes -----------------------------------------------------------------------------------------
    def _start(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_serve, args=(child, self._payload, self.threads),
                                        name="rulecraft-fallback-process", daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent)

    def _await_ready(self, timeout: float) -> None:
        """Wait for every process to load the primary; a primary that fails to load is an error here, at once."""
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            remaining = max(0.0, deadline - time.monotonic())
            try:
                status, detail = worker.conn.recv() if worker.conn.poll(remaining) else ("timeout", None)
            except EOFError:
                status, detail = "failed", f"the process stopped (exit code {worker.process.exitcode})"
            if status != "ready":
                self.close(wait=False)
                if status == "timeout":
                    raise PrimaryProcessError(f"The worker processes did not load the primary within {timeout:g} s.")
                raise PrimaryProcessError(f"A worker process could not load the primary: {detail}. With "
                                          "processes=..., the primary is pickled and loaded in a new Python "
                                          "process: what it needs must be importable there.")
            worker.ready = True

    def _replace(self, worker: _Worker) -> None:
        """End a process (hung or dead) and start another in its place; it takes cases once it has loaded."""
        worker.process.kill()
        worker.conn.close()
        worker.process.join(5)
        self._workers[self._workers.index(worker)] = self._start()
        self.replaced += 1

    # ---- cases ---------------------------------------------------------------------------------------------
    def submit(self, kind: str, x) -> Future:
        future: Future = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("The worker processes are stopped.")
            self._pending.append((future, kind, x))
            self._dispatch()
        return future

    def _dispatch(self) -> None:
        """Give queued cases to idle processes (under the lock); cancelled cases are dropped unsent."""
        for worker in self._workers:
            if not self._pending:
                return
            if not worker.ready or worker.task is not None:
                continue
            while self._pending:
                future, kind, x = self._pending.popleft()
                if future.set_running_or_notify_cancel():
                    break
            else:
                return
            try:
                worker.conn.send((kind, x))
            except Exception as e:  # the case does not pickle, or the process is gone
                future.set_exception(e if isinstance(e, (pickle.PicklingError, TypeError, AttributeError))
                                     else PrimaryProcessError(f"The worker process stopped: {e}"))
                continue
            worker.task = (future, x, time.monotonic())

    def _collect(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                conns = [w.conn for w in self._workers]
            ready = wait([*conns, self._wake_read], timeout=min(0.05, self.hang_ms / 4000))
            done = []
            with self._lock:
                if self._closed:
                    return
                for worker in list(self._workers):
                    if worker.conn in ready:
                        try:
                            message = worker.conn.recv()
                        except (EOFError, OSError):
                            self._fail(worker, f"The worker process stopped (exit code {worker.process.exitcode}).")
                            continue
                        if message[0] == "ready":
                            worker.ready = True
                        elif message[0] == "failed":  # a replacement that could not load the primary
                            self._fail(worker, f"A worker process could not load the primary: {message[1]}")
                        elif worker.task is not None:
                            future, x, _ = worker.task
                            worker.task = None
                            done.append((future, message, x))
                    elif worker.task is not None and (time.monotonic() - worker.task[2]) * 1000 > self.hang_ms:
                        future, x, _ = worker.task
                        worker.task = None
                        self._replace(worker)
                        done.append((future, ("error", PrimaryProcessError(
                            f"The primary ran longer than {self.hang_ms:g} ms; its process was ended."), None), x))
                if self._wake_read in ready:
                    while self._wake_read.poll():
                        self._wake_read.recv_bytes()
                self._dispatch()
            for future, (status, value, ms), x in done:  # outside the lock: callers and on_done run now
                if status == "ok":
                    future.set_result(value)
                else:
                    future.set_exception(value)
                if ms is not None and self.on_done is not None:
                    self.on_done(x, ms)

    def _fail(self, worker: _Worker, message: str) -> None:
        """A process that stopped: its case gets the error; a replacement starts."""
        if worker.task is not None:
            future = worker.task[0]
            worker.task = None
            future.set_exception(PrimaryProcessError(message))
        self._replace(worker)

    # ---- life cycle ------------------------------------------------------------------------------------------
    def close(self, wait: bool = True, timeout: float | None = None) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            workers = list(self._workers)
            pending = list(self._pending)
            self._pending.clear()
        for future, _, _ in pending:
            future.cancel()
        with contextlib.suppress(OSError):
            self._wake_write.send_bytes(b"x")
        for worker in workers:
            with contextlib.suppress(OSError):
                worker.conn.send(None)
        now = time.monotonic()
        for worker in workers:
            if wait:  # an idle process stops at once; a busy one gets until its case would count as hung
                limit = 5.0 if worker.task is None else max(0.0, worker.task[2] + self.hang_ms / 1000 - now)
                if timeout is not None:
                    limit = min(limit, max(0.0, now + timeout - time.monotonic()))
                worker.process.join(limit)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(5)
            worker.conn.close()
            if worker.task is not None and not worker.task[0].done():
                worker.task[0].set_exception(PrimaryProcessError("The worker processes were stopped."))
