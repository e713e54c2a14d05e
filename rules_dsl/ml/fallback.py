"""Smooth failing: ask the main model, and let the rules answer when it is too slow or fails.

    with FallbackPredictor(model, RulePredictor(ruleset).fit(X, y), deadline_ms=20) as predictor:
        answer = predictor.predict_one({"worst radius": 18.2, ...})
        answer.value, answer.path, answer.ms        # 'malignant', 'backup', 20.1
        predictor.stats()                           # counts and latency percentiles per path

How it works. The primary runs on a small pool of worker threads; the caller waits for it until the deadline and
then answers with the backup, which runs in the caller's thread (rules answer one case in microseconds). A call
that missed its deadline cannot be stopped (Python threads cannot be killed): it is *abandoned* and finishes in the
background, holding its worker. A call still queued when its deadline passes is cancelled, never run. Workers are
daemon threads, started one at a time when no worker is idle, and stopped by ``close()`` (or leaving the ``with``
block), so a primary that hangs for ever neither grows the pool nor keeps the process from exiting.

Late is not hung. A model in the same process is sometimes a few milliseconds late (its first calls, a busy
moment): that costs its own case and nothing else, and the next case asks the primary again. An abandoned call
that is still running ``hang_ms`` after it started (default: ten times the longest deadline, at least one second)
counts as *hung*; while ``max_abandoned`` calls are hung (default: all ``max_workers``), cases go straight to the
backup without waiting (reason "saturated"), so a primary that hangs costs a few threads and then no time at all.
Until then a case that finds every worker busy waits in the queue, within its deadline. (Counting every late call, as
before, turned three slow first calls of a scikit-learn pipeline into 99.6% of answers from the backup: the
caller, answered at once, went through the next thousand cases before the late calls finished.)

Processes. ``processes=N`` runs the primary in N worker processes instead (rules_dsl/ml/processes.py): for a
model that computes in Python (a scikit-learn pipeline), which on a thread holds the GIL the waiting caller needs
at its deadline. The primary is pickled to each process; a process still busy ``hang_ms`` after it took a case is
ended and replaced. See docs/ml-guide.md for sizing.

Batches (``predict_batch`` / ``predict``): one deadline for the whole batch (``batch_deadline_ms``, default
``deadline_ms``); when the primary misses it or raises, the backup answers the whole batch. A model's batch call is
all or nothing, and rules answer a batch fast, so splitting it would only add primary calls that are already late.

What the models must offer: an object with ``predict(X)`` (any scikit-learn model or pipeline), or a plain
function. For one case, a model with ``predict_row(mapping)`` (RulePredictor has it) gets the mapping; any other
model gets a one-row DataFrame and its first prediction is the answer; a function gets the mapping as it is.
An exception from the backup propagates: there is nothing left to answer with.

Two optional levels for single cases: a ``cache`` of precomputed answers, looked up first (path "cache"), and a
``router`` (rules_dsl.ml.LatencyRouter) that learns the primary's running time from the cases it saw and
sends a case predicted to be late straight to the backup (reason "routed"), without waiting out the deadline.

Layer rule: NumPy and pandas only; no scikit-learn.
"""
from __future__ import annotations

import queue
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .processes import ProcessPool

__all__ = ["FallbackPredictor", "Answer"]

PRIMARY, BACKUP, CACHE = "primary", "backup", "cache"
TIMEOUT, ERROR, SATURATED, CLOSED, ROUTED = "timeout", "error", "saturated", "closed", "routed"
_MISSING = object()


@dataclass(frozen=True)
class Answer:
    value: Any                  # the label (one case) or the array of labels (a batch)
    path: str                   # "primary", "backup", or "cache" (a precomputed answer)
    ms: float                   # wall time from the call to the answer, in milliseconds
    reason: str | None = None   # why the backup answered: timeout, error, saturated (too many hung calls), closed,
                                # routed (the router predicted the primary would be late)
    error: str | None = None    # the primary's exception, when reason is "error"

    def to_dict(self) -> dict:
        value = self.value.tolist() if isinstance(self.value, np.ndarray) else _plain(self.value)
        return {"value": value, "path": self.path, "ms": self.ms, "reason": self.reason, "error": self.error}


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


# ---- calling a model ------------------------------------------------------------------------------------------
def _row_caller(model) -> Callable[[Mapping], Any]:
    if hasattr(model, "predict_row"):
        return model.predict_row
    if hasattr(model, "predict"):
        return lambda row: model.predict(pd.DataFrame([row]))[0]
    if callable(model):
        return model
    raise TypeError(f"A model must have predict(X) or be a function, not {type(model).__name__}.")


def _batch_caller(model) -> Callable[[Any], Any]:
    if hasattr(model, "predict"):
        return model.predict
    if callable(model):
        return model
    raise TypeError(f"A model must have predict(X) or be a function, not {type(model).__name__}.")


def _weakly(method) -> Callable:
    """``method`` called through a weak reference to its object (a no-op once the object is gone)."""
    reference = weakref.WeakMethod(method)

    def call(*args):
        bound = reference()
        if bound is not None:
            bound(*args)
    return call


# ---- workers --------------------------------------------------------------------------------------------------
class _Workers:
    """At most ``size`` daemon threads reading one queue; a thread is started only when none is idle."""

    def __init__(self, size: int, name: str):
        self.size = size
        self.name = name
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._lock = threading.Lock()
        self.closed = False

    def submit(self, function, *args) -> Future:
        future: Future = Future()
        with self._lock:
            if self.closed:
                raise RuntimeError("The worker pool is closed.")
            if self._idle == 0 and len(self._threads) < self.size:
                thread = threading.Thread(target=self._work, name=f"{self.name}-{len(self._threads)}", daemon=True)
                thread.start()
                self._threads.append(thread)
            elif self._idle > 0:
                self._idle -= 1  # this task will wake an idle worker: do not count it twice
            self._queue.put((future, function, args))
        return future

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            self._run(*item)
            # Nothing of the task stays referenced while waiting for the next one, so an idle worker does not
            # keep the predictor (whose method it ran) alive: its finalizer is what stops forgotten workers.
            del item
            with self._lock:
                self._idle += 1

    @staticmethod
    def _run(future: Future, function, args) -> None:
        if not future.set_running_or_notify_cancel():
            return  # cancelled while queued: its caller has already answered
        try:
            result = function(*args)
        except BaseException as e:  # handed to the caller, who decides
            future.set_exception(e)
        else:
            future.set_result(result)

    def close(self, wait: bool = True, timeout: float | None = None) -> None:
        with self._lock:
            if self.closed:
                return
            self.closed = True
            threads = list(self._threads)
            for _ in threads:
                self._queue.put(None)
        if wait:
            deadline = None if timeout is None else time.monotonic() + timeout
            for thread in threads:
                thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))


# ---- statistics -----------------------------------------------------------------------------------------------
@dataclass
class _PathStats:
    count: int = 0
    latencies: deque = field(default_factory=deque)

    def summary(self) -> dict:
        out: dict[str, Any] = {"count": self.count}
        if self.latencies:
            ms = np.fromiter(self.latencies, dtype=float)
            p50, p90, p99 = np.percentile(ms, [50, 90, 99])
            out.update(p50_ms=round(float(p50), 3), p90_ms=round(float(p90), 3), p99_ms=round(float(p99), 3),
                       max_ms=round(float(ms.max()), 3), mean_ms=round(float(ms.mean()), 3))
        return out


class FallbackPredictor:
    """Answer with ``primary`` within ``deadline_ms``, else with ``backup`` (see the module's docstring).

    Parameters
    ----------
    primary, backup : model with ``predict`` (and optionally ``predict_row``), or a function
    deadline_ms : float
        How long one case may wait for the primary.
    batch_deadline_ms : float or None
        How long a batch may wait for the primary; None: ``deadline_ms``.
    max_workers : int
        Threads that run the primary (started on first use). Size it to the number of concurrent callers plus
        ``max_abandoned``, or calls queue behind abandoned ones and spend their deadline waiting.
    max_abandoned : int or None
        While this many abandoned primary calls have been running for ``hang_ms`` or longer (hung), cases go
        straight to the backup (reason "saturated"). None: ``max_workers``: every worker is held by a hung call,
        so a new call could not start anyway.
    hang_ms : float or None
        When an abandoned call counts as hung (threads), or a worker process is ended and replaced (processes).
        None: ten times the longest deadline, at least 1000 ms. 0 counts every late call at once.
    processes : int
        0 (default): the primary runs on threads of this process. N > 0: in N worker processes, started now
        (about a second: each imports the model's libraries and loads the pickled primary); size it to the number
        of concurrent callers, at most the number of cores. ``max_workers`` and ``max_abandoned`` are for threads.
    threads_per_process : int or None
        Thread pools of the maths libraries (OpenMP, BLAS) in each worker process; None leaves them as they are.
    start_method : str
        How worker processes start (multiprocessing): "spawn" (default; safe beside threads and OpenMP),
        "forkserver" or "fork".
    window : int
        Latency percentiles are over the last ``window`` answers of each path; counts are over all answers.
    cache : mapping or None
        Precomputed answers for single cases, looked up first by ``cache_key(row)`` (path "cache").
    cache_key : function from a case to a hashable key; needed with ``cache``.
    router : rules_dsl.ml.LatencyRouter or None
        Learns the primary's running time per case; cases predicted late go to the backup at once (reason
        "routed"). Single cases only: a batch always asks the primary.
    """

    def __init__(self, primary, backup, deadline_ms: float = 50.0, batch_deadline_ms: float | None = None,
                 max_workers: int = 4, max_abandoned: int | None = None, window: int = 10_000,
                 cache: Mapping | None = None, cache_key: Callable[[Mapping], Any] | None = None, router=None,
                 hang_ms: float | None = None, processes: int = 0, threads_per_process: int | None = 1,
                 start_method: str = "spawn"):
        if deadline_ms <= 0 or (batch_deadline_ms is not None and batch_deadline_ms <= 0):
            raise ValueError("Deadlines are positive numbers of milliseconds.")
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1.")
        if processes < 0:
            raise ValueError("processes is a number of worker processes: 0 (threads) or more.")
        if hang_ms is not None and hang_ms < 0:
            raise ValueError("hang_ms is a number of milliseconds, 0 or more.")
        if cache is not None and cache_key is None:
            raise ValueError("A cache needs cache_key, the function that turns a case into its key.")
        self.primary = primary
        self.backup = backup
        self.deadline_ms = float(deadline_ms)
        self.batch_deadline_ms = float(batch_deadline_ms if batch_deadline_ms is not None else deadline_ms)
        self.max_workers = max_workers
        self.max_abandoned = max_workers if max_abandoned is None else max_abandoned
        self.hang_ms = (max(1000.0, 10 * max(self.deadline_ms, self.batch_deadline_ms)) if hang_ms is None
                        else float(hang_ms))
        self.processes = processes
        self.window = window
        self.cache, self.cache_key, self.router = cache, cache_key, router
        self._primary_row, self._primary_batch = _row_caller(primary), _batch_caller(primary)
        self._backup_row, self._backup_batch = _row_caller(backup), _batch_caller(backup)
        self._lock = threading.Lock()
        self._workers: _Workers | None = None
        self._closed = False
        self._late: dict[Future, list] = {}  # abandoned calls still running -> [their start time] (empty: not yet)
        self._router_errors = 0
        self._paths = {path: _PathStats(latencies=deque(maxlen=window)) for path in (PRIMARY, BACKUP, CACHE)}
        self._reasons: dict[str, int] = {TIMEOUT: 0, ERROR: 0, SATURATED: 0, CLOSED: 0, ROUTED: 0}
        self._primary_own = _PathStats(latencies=deque(maxlen=window))  # the primary's own time, late calls too
        self._pool: ProcessPool | None = None
        self._warming = False
        if processes:
            # The pool calls back through a weak reference, so that a forgotten predictor can be collected
            # (and its finalizer stop the processes).
            self._pool = ProcessPool(primary, processes, self.hang_ms, threads_per_process, start_method,
                                     f"rulecraft-fallback-{id(self):x}", _weakly(self._observed))
            weakref.finalize(self, self._pool.close, False)

    # ---- answering -------------------------------------------------------------------------------------------
    def predict_one(self, row: Mapping) -> Answer:
        """One case (column -> value): from the cache, else the primary within the deadline, else the backup."""
        start = time.perf_counter()
        if self.cache is not None:
            value = self.cache.get(self.cache_key(row), _MISSING)
            if value is not _MISSING:
                return self._record(Answer(value, CACHE, (time.perf_counter() - start) * 1000))
        router = self.router
        if router is not None and router.too_slow(row, self.deadline_ms):
            value = self._backup_row(row)
            return self._record(Answer(value, BACKUP, (time.perf_counter() - start) * 1000, ROUTED))
        return self._answer(self._primary_row, self._backup_row, row, self.deadline_ms, start,
                            router.observe if router is not None else None, kind="row")

    def warm_up(self, rows) -> None:
        """Ask the primary and the backup about ``rows`` (mappings), waiting for every answer, unrecorded.

        A model's first calls are slow (imports, caches, thread pools); a predictor loaded from a pickle builds
        its rules' evaluator on its first case. Warm up before taking traffic, with a few dozen real-looking
        cases; with ``processes``, every worker process gets some of them."""
        rows = list(rows)
        for row in rows:
            self._backup_row(row)
        self._warming = True
        try:
            if self._pool is not None:
                for future in [self._pool.submit("row", row) for row in rows]:
                    future.result()
            else:
                for row in rows:
                    self._primary_row(row)
        finally:
            self._warming = False

    def predict_batch(self, X) -> Answer:
        """A batch: the primary's predictions if they come within ``batch_deadline_ms``, else the backup's."""
        answer = self._answer(self._primary_batch, self._backup_batch, X, self.batch_deadline_ms,
                              time.perf_counter(), kind="batch")
        return answer if isinstance(answer.value, np.ndarray) else Answer(np.asarray(answer.value), answer.path,
                                                                           answer.ms, answer.reason, answer.error)

    def predict(self, X) -> np.ndarray:
        """The predictions of ``predict_batch`` as an array (the path is in ``stats()``)."""
        return self.predict_batch(X).value

    def _answer(self, primary: Callable, backup: Callable, x, deadline_ms: float, start: float,
                observe: Callable | None = None, kind: str = "row") -> Answer:
        reason = error = None
        future, started = self._submit(primary, x, observe, kind)
        if future is None:
            reason = CLOSED if self._closed else SATURATED
        else:
            try:
                value = future.result(timeout=max(0.0, deadline_ms / 1000 - (time.perf_counter() - start)))
            except FutureTimeout as e:
                if future.done() and not future.cancelled() and future.exception() is e:
                    reason, error = ERROR, f"{type(e).__name__}: {e}"  # the primary's own TimeoutError
                else:
                    reason = TIMEOUT
                    self._abandon(future, started)
            except Exception as e:  # the primary failed: the backup answers, the error is reported
                reason, error = ERROR, f"{type(e).__name__}: {e}"
            else:
                return self._record(Answer(value, PRIMARY, (time.perf_counter() - start) * 1000))
        value = backup(x)
        return self._record(Answer(value, BACKUP, (time.perf_counter() - start) * 1000, reason, error))

    def _submit(self, primary: Callable, x, observe: Callable | None, kind: str) -> tuple[Future | None, list]:
        started: list = []  # the primary call's start time, once a worker has taken it
        if self._pool is not None:
            if self._closed:
                return None, started
            started.append(time.perf_counter())  # queued or sent: the process ends it after hang_ms
            try:
                return self._pool.submit(kind, x), started
            except RuntimeError:  # closed meanwhile
                return None, started
        with self._lock:
            if self._closed or self._hung() >= self.max_abandoned:
                return None, started
            if self._workers is None:
                self._workers = _Workers(self.max_workers, f"rulecraft-fallback-{id(self):x}")
                weakref.finalize(self, self._workers.close, False)
            workers = self._workers
        return workers.submit(self._timed, primary, x, observe, started), started

    def _hung(self) -> int:
        """Abandoned calls running for hang_ms or longer (under the lock)."""
        limit = time.perf_counter() - self.hang_ms / 1000
        return sum(1 for started in self._late.values() if started and started[0] <= limit)

    def _timed(self, primary: Callable, x, observe: Callable | None, started: list):
        start = time.perf_counter()
        started.append(start)
        try:
            return primary(x)
        finally:
            self._observed(x, (time.perf_counter() - start) * 1000, observe)

    def _observed(self, x, ms: float, observe: Callable | None = _MISSING) -> None:
        """A primary call finished after ``ms`` of its own time (in its worker, after the answer went out)."""
        if self._warming:
            return
        with self._lock:
            self._primary_own.count += 1
            self._primary_own.latencies.append(ms)
        if observe is _MISSING:  # from a worker process: the router, if any, observes single cases
            observe = self.router.observe if self.router is not None and isinstance(x, Mapping) else None
        if observe is not None:
            try:
                observe(x, ms)
            except Exception:  # the router is an optimisation: it must never cost an answer
                with self._lock:
                    self._router_errors += 1

    def _abandon(self, future: Future, started: list) -> None:
        if future.cancel():
            return  # still queued: it will never run
        with self._lock:
            self._late[future] = started
        future.add_done_callback(self._finished_abandoned)  # runs at once if it has finished meanwhile

    def _finished_abandoned(self, future: Future) -> None:
        with self._lock:
            self._late.pop(future, None)

    def _record(self, answer: Answer) -> Answer:
        with self._lock:
            stats = self._paths[answer.path]
            stats.count += 1
            stats.latencies.append(answer.ms)
            if answer.reason:
                self._reasons[answer.reason] += 1
        return answer

    # ---- reporting and life cycle --------------------------------------------------------------------------
    def stats(self) -> dict:
        """Counts and latency percentiles (ms) per path, why the backup answered, and the primary's own times."""
        with self._lock:
            return {
                "deadline_ms": self.deadline_ms,
                PRIMARY: self._paths[PRIMARY].summary(),
                BACKUP: self._paths[BACKUP].summary() | {"reasons": dict(self._reasons)},
                CACHE: self._paths[CACHE].summary(),
                "primary_own_time": self._primary_own.summary() | self._over_deadline(),
                "abandoned_running": len(self._late),
                "abandoned_hung": self._hung(),
                "processes": self._pool.size if self._pool is not None else 0,
                "processes_replaced": self._pool.replaced if self._pool is not None else 0,
                "router_errors": self._router_errors,
            }

    def _over_deadline(self) -> dict:
        """The share of the primary's calls (last ``window``) slower than the single-case deadline: the least
        fallback rate to expect. (Under the lock.)"""
        if not self._primary_own.latencies:
            return {}
        ms = np.fromiter(self._primary_own.latencies, dtype=float)
        return {"over_deadline": round(float((ms > self.deadline_ms).mean()), 4)}

    def close(self, wait: bool = True, timeout: float | None = None) -> None:
        """Stop the workers (waiting for running primary calls unless ``wait=False``). Later calls get the
        backup's answer (reason "closed")."""
        with self._lock:
            self._closed = True
            workers = self._workers
        if workers is not None:
            workers.close(wait=wait, timeout=timeout)
        if self._pool is not None:
            self._pool.close(wait=wait, timeout=timeout)

    def __enter__(self) -> FallbackPredictor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"FallbackPredictor(primary={self.primary!r}, backup={self.backup!r}, "
                f"deadline_ms={self.deadline_ms:g})")
