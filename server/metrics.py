"""Prometheus metrics at ``GET /metrics`` (the text format, made by ``prometheus_client``).

Counted in every worker whether or not anyone reads them (a few microseconds a request). Readable by anyone who
can reach the server when metrics are enabled (``rulecraft serve --metrics`` or ``RULECRAFT_METRICS=1``: for a
Prometheus server on the internal network), and otherwise only with a token of scope ``metrics`` (an admin's
``write`` token or session also may).

With several worker processes each counts its own requests; ``rulecraft serve`` then runs prometheus_client's
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, the folder ``metrics/`` in the data folder, emptied at every
start), so that every worker answers ``/metrics`` with the sum over all workers. The mode is chosen when
prometheus_client is first imported, so this module imports it only inside functions.

What is counted (all names start with ``rulecraft_``):

    http_requests_total{route, method, status}          requests answered; route is the path's pattern
    http_request_duration_seconds{route, method}        latency histogram (from the first hook to the response)
    predictions_total{ruleset, version, answer}         each case predicted; answer is the label or "abstained"
    saves_total{kind}                                   saves that made a new version (kind: the API operation)
    save_conflicts_total{kind}                          saves refused because someone saved first (409)
    signin_failures_total{reason}                       refused sign-ins: "refused" (401) or "throttled" (429)
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from flask import Flask, Response, current_app, g, request

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SAVES = frozenset({"api_rulesets.create_ruleset", "api_rulesets.create_rule", "api_rulesets.update_rule",
                   "api_rulesets.delete_rule", "api_rulesets.put_vocabulary", "api_rulesets.put_settings",
                   "api_rulesets.restore"})
SIGN_IN = "api_people.sign_in"


class Metrics:
    """The metrics of one app, in a registry of its own (so that tests can build many apps)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("rulecraft_http_requests", "HTTP requests answered, by route pattern, method and "
                                "status.", ["route", "method", "status"], registry=r)
        self.latency = Histogram("rulecraft_http_request_duration_seconds", "Time to answer a request, by route "
                                 "pattern and method.", ["route", "method"], buckets=BUCKETS, registry=r)
        self.predictions = Counter("rulecraft_predictions", "Cases predicted, by rule set, version (release name "
                                   "or the version id's first 12 characters) and answer (the label, or "
                                   "'abstained').", ["ruleset", "version", "answer"], registry=r)
        self.saves = Counter("rulecraft_saves", "Saves that made a new version, by kind.", ["kind"], registry=r)
        self.conflicts = Counter("rulecraft_save_conflicts", "Saves refused because someone else saved first "
                                 "(409), by kind.", ["kind"], registry=r)
        self.signin_failures = Counter("rulecraft_signin_failures", "Refused sign-ins: 'refused' (wrong name or "
                                       "password, 401) or 'throttled' (too many attempts, 429).", ["reason"],
                                       registry=r)

    def exposition(self) -> bytes:
        from prometheus_client import CollectorRegistry, generate_latest

        if os.environ.get(MULTIPROCESS_ENV):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


def init_app(app: Flask) -> None:
    """Count every request (call before the other request hooks are added, so the latency includes them)."""
    app.extensions["rulecraft.metrics"] = Metrics()
    app.before_request(_started)
    app.after_request(_answered)
    app.add_url_rule("/metrics", "metrics.metrics", metrics_view)


def _started() -> None:
    g.metrics_started = time.perf_counter()


def _answered(response):
    metrics: Metrics = current_app.extensions["rulecraft.metrics"]
    rule = request.url_rule
    route = rule.rule if rule is not None else "(no route)"  # a 404 for any path: one series, not one per path
    status = response.status_code
    metrics.requests.labels(route, request.method, str(status)).inc()
    started = g.get("metrics_started")
    if started is not None:
        metrics.latency.labels(route, request.method).observe(time.perf_counter() - started)
    endpoint = request.endpoint
    if endpoint in SAVES:
        kind = endpoint.partition(".")[2]
        if 200 <= status < 300:
            metrics.saves.labels(kind).inc()
        elif status == 409:
            metrics.conflicts.labels(kind).inc()
    elif endpoint == SIGN_IN and status in (401, 429):
        metrics.signin_failures.labels("refused" if status == 401 else "throttled").inc()
    return response


def count_predictions(ruleset: str, version: str, release: str | None, labels) -> None:
    """One count per case predicted, by its answer (a label, or None for an abstention)."""
    counter = current_app.extensions["rulecraft.metrics"].predictions
    shown = release or version[:12]
    for label in labels:
        counter.labels(ruleset, shown, "abstained" if label is None else str(label)).inc()


def metrics_view():
    """The metrics in Prometheus' text format: to anyone when metrics are enabled, else to a token (or session)
    with the permission "metrics.read"."""
    from prometheus_client import CONTENT_TYPE_LATEST

    from .auth import requires

    def answer():
        response = Response(current_app.extensions["rulecraft.metrics"].exposition(), mimetype="text/plain")
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        response.headers["Cache-Control"] = "no-store"
        return response

    if current_app.config.get("METRICS"):
        return answer()
    return requires("metrics.read")(answer)()


def prepare_multiprocess(data_dir: Path) -> Path:
    """For several worker processes: the folder where each keeps its counts (``metrics/`` in the data folder
    unless PROMETHEUS_MULTIPROC_DIR is set), emptied of a previous run's files. Call before the workers start and
    before anything imports prometheus_client."""
    folder = Path(os.environ.get(MULTIPROCESS_ENV) or data_dir / "metrics")
    if folder.is_dir():
        for file in folder.glob("*.db"):
            file.unlink()
    else:
        folder.mkdir(mode=0o700, parents=True)
    os.environ[MULTIPROCESS_ENV] = str(folder)
    return folder


def worker_exited(_server, worker) -> None:
    """gunicorn's child_exit hook: forget the live values of a worker that has ended."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)

