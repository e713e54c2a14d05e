"""Predict over HTTP on loopback against the production server, while an author saves edits.

    python -m bench.server_bench [--seconds 30] [--rate 200] [--save-rate 2] [--shadow | --compare-shadow]

Sets up a throw-away workspace in a temporary folder with the ``rulecraft`` command itself (people, tokens, the
benchmark's 50-rule set imported as a bundle), starts ``python -m server serve`` (gunicorn, 2 workers) on a free
loopback port, has the rule set released (an author requests, a reviewer approves), then runs a bounded open-loop
load: ``predict`` for one case at a fixed rate, on the latest release (no ``?version=``, as an ML service would),
plus an author saving an edit of a rule at a fixed rate. Every request is scheduled in advance; the generator sends
only to 127.0.0.1, stops after ``--seconds`` (and never runs longer than twice that), then stops the server it
started.

``--shadow`` puts the latest save (an edit of one rule made after the release) in the shadow of the release before
the load starts, so every prediction is also answered by the candidate off the answer's path (a new save restarts
its count); ``--compare-shadow`` runs the benchmark without, then with a shadow, and prints both and the growth of
p99 and of the server's CPU per prediction.

Latency is reported two ways: from the moment the request was due (includes any delay of the load generator
itself, so a slow client cannot hide server queueing) and from the moment it was sent.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(data_dir: Path, *args: str, stdin: str = "") -> str:
    done = subprocess.run([sys.executable, "-m", "server", *args, "--data-dir", str(data_dir)], cwd=ROOT,
                          input=stdin, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"rulecraft {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout.strip()


class Client:
    """One keep-alive HTTP connection to the server (reconnects when the server closes it)."""

    def __init__(self, port: int, token: str):
        self.port, self.token = port, token
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body=None, headers: dict | None = None) -> tuple[int, dict, bytes]:
        data = json.dumps(body).encode() if body is not None else None
        hdrs = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        if data is not None:
            hdrs["Content-Type"] = "application/json"
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                self.conn.request(method, path, body=data, headers=hdrs)
                response = self.conn.getresponse()
                payload = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return response.status, dict(response.getheaders()), payload
            except (http.client.HTTPException, ConnectionError, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def setup(data_dir: Path, rules) -> dict:
    """People, tokens and the rule set, made with the rulecraft command (as an operator would)."""
    from rules_dsl import to_bundle

    from .workload import compile_ruleset

    _cli(data_dir, "db", "upgrade")
    tokens = {}
    for name, role, scope in [("bench-author", "author", "write"), ("bench-reviewer", "reviewer", "write"),
                              ("bench-service", "ml-engineer", "predict")]:
        _cli(data_dir, "create-user", name, "--role", role, stdin="a long bench password 1\n")
        tokens[role] = _cli(data_dir, "create-token", name, "--scope", scope).splitlines()[-1].strip()
    bundle = data_dir / "bench-bundle.json"
    ruleset = compile_ruleset(rules)
    ruleset.id = "bench"
    bundle.write_bytes(to_bundle(ruleset))
    out = _cli(data_dir, "import", str(bundle), "--as", "bench-author", "--why", "Benchmark rule set")
    tokens["ruleset"] = out.split("'")[1] if "'" in out else "bench"
    return tokens


def start_server(data_dir: Path, port: int, workers: int = 2) -> subprocess.Popen:
    log = open(data_dir / "server.log", "wb")  # noqa: SIM115
    process = subprocess.Popen([sys.executable, "-m", "server", "serve", "--data-dir", str(data_dir),
                                "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
                               cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server stopped at start: {(data_dir / 'server.log').read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.2)
    stop_server(process)
    raise RuntimeError("the server did not start within 60 s")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # the server's own process group (start_new_session)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def release(port: int, tokens: dict, ruleset: str) -> str:
    status, _, body = Client(port, tokens["author"]).request("POST", f"/api/rulesets/{ruleset}/releases", {})
    if status != 201:
        raise RuntimeError(f"release request: {status} {body[:300]!r}")
    release_id = json.loads(body)["id"]
    status, _, body = Client(port, tokens["reviewer"]).request(
        "POST", f"/api/rulesets/{ruleset}/releases/{release_id}/approve", {"comment": "benchmark"})
    if status != 200:
        raise RuntimeError(f"release approval: {status} {body[:300]!r}")
    return json.loads(body)["name"]


def warm_up(port: int, tokens: dict, ruleset: str, cases: list[dict], connections: int = 8) -> None:
    """Requests on several connections at once, so that every worker (a connection stays with one) has served
    predictions before the timed load starts."""
    def client(k: int) -> None:
        c = Client(port, tokens["ml-engineer"])
        for case in cases[k * 25:(k + 1) * 25]:
            c.request("POST", f"/api/rulesets/{ruleset}/predict", {"case": case})

    threads = [threading.Thread(target=client, args=(k,)) for k in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)


def group_cpu_seconds(pgid: int) -> float:
    """CPU time (user + system, finished children included) of every process in the server's process group."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields[2]: process group (after the name: state, ppid, pgrp, ...)
            total += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
    return total / os.sysconf("SC_CLK_TCK")


def sequential(port: int, tokens: dict, ruleset: str, cases: list[dict], pgid: int, n: int = 1000) -> dict:
    """One request at a time on one connection: the service time, and the server's CPU per request."""
    client = Client(port, tokens["ml-engineer"])
    ms = []
    cpu = group_cpu_seconds(pgid)
    for i in range(n):
        t = time.perf_counter()
        client.request("POST", f"/api/rulesets/{ruleset}/predict", {"case": cases[i % len(cases)]})
        ms.append((time.perf_counter() - t) * 1000)
    cpu = group_cpu_seconds(pgid) - cpu
    return {"n": n, "p50_ms": percentile(ms, 50), "p99_ms": percentile(ms, 99), "cpu_ms_per_request": cpu / n * 1000}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def run_load(port: int, tokens: dict, ruleset: str, cases: list[dict], rules, seconds: float, rate: float,
             save_rate: float, threads: int = 8) -> dict:
    """Open-loop load for ``seconds``: predicts at ``rate``/s over ``threads`` connections, saves at ``save_rate``/s."""
    from .workload import rule_text

    n_predict = int(seconds * rate)
    n_save = int(seconds * save_rate)
    start = time.perf_counter() + 0.5
    hard_stop = start + 2 * seconds + 10
    predict_path = f"/api/rulesets/{ruleset}/predict"
    lock = threading.Lock()
    next_index = [0]
    results: list[tuple[float, float, int]] = []  # (ms from due time, ms from send, status)
    errors: list[str] = []

    def predictor():
        client = Client(port, tokens["ml-engineer"])
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= n_predict:
                return
            due = start + i / rate
            if due > hard_stop:
                return
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            sent = time.perf_counter()
            try:
                status, _, _ = client.request("POST", predict_path, {"case": cases[i % len(cases)]})
            except Exception as e:  # noqa: BLE001 - a failed request is a result, not a crash of the benchmark
                status = 0
                errors.append(f"{type(e).__name__}: {e}")
            end = time.perf_counter()
            with lock:
                results.append(((end - due) * 1000, (end - sent) * 1000, status))

    saves: list[tuple[float, int]] = []

    def author():
        client = Client(port, tokens["author"])
        rng = random.Random(5)
        for i in range(n_save):
            due = start + (i + 0.5) / save_rate
            if due > hard_stop:
                return
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            rule = rules[rng.randrange(len(rules))]
            path = f"/api/rulesets/{ruleset}/rules/{rule.id}"
            sent = time.perf_counter()
            try:
                status, headers, body = client.request("GET", path)
                etag = headers.get("ETag", "")
                # a new confidence every time, so that each save is a real change (never "nothing changed")
                text = rule_text(rule).replace(f"with confidence {rule.confidence}",
                                               f"with confidence 0.{1000 + i:04d}")
                status, _, body = client.request("PUT", path, {"text": text, "why": f"Benchmark edit {i}"},
                                                 {"If-Match": etag})
            except Exception as e:  # noqa: BLE001
                status = 0
                errors.append(f"save: {type(e).__name__}: {e}")
            saves.append(((time.perf_counter() - sent) * 1000, status))

    load_before = os.getloadavg()
    workers = [threading.Thread(target=predictor, daemon=True) for _ in range(threads)]
    workers.append(threading.Thread(target=author, daemon=True))
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=max(0.0, hard_stop - time.perf_counter()) + 5)
    due_ms = [r[0] for r in results]
    sent_ms = [r[1] for r in results]
    statuses: dict[str, int] = {}
    for _, _, status in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    save_statuses: dict[str, int] = {}
    for _, status in saves:
        save_statuses[str(status)] = save_statuses.get(str(status), 0) + 1
    elapsed = max(sent_ms and (time.perf_counter() - start), 1e-9)
    return {
        "requests": len(results), "rate": rate, "seconds": seconds, "achieved_rate": len(results) / elapsed,
        "p50_ms": percentile(due_ms, 50), "p95_ms": percentile(due_ms, 95), "p99_ms": percentile(due_ms, 99),
        "max_ms": max(due_ms) if due_ms else float("nan"),
        "sent_p50_ms": percentile(sent_ms, 50), "sent_p95_ms": percentile(sent_ms, 95),
        "sent_p99_ms": percentile(sent_ms, 99),
        "statuses": statuses, "saves": len(saves), "save_statuses": save_statuses,
        "save_p50_ms": percentile([s[0] for s in saves], 50), "save_p95_ms": percentile([s[0] for s in saves], 95),
        "errors": errors[:5], "load_before": load_before, "load_after": os.getloadavg(),
    }


def start_shadow(port: int, tokens: dict, ruleset: str, rules) -> dict:
    """An edit of one rule after the release (the candidate), then a shadow following the latest save."""
    from .workload import rule_text

    author = Client(port, tokens["author"])
    for seed in range(7, 40):  # another wording of the first rule (a canonical text that differs)
        status, headers, body = author.request("GET", f"/api/rulesets/{ruleset}/rules/{rules[0].id}")
        if status != 200:
            raise RuntimeError(f"reading a rule: {status} {body[:300]!r}")
        etag = headers.get("ETag") or headers.get("etag")
        status, _, body = author.request("PUT", f"/api/rulesets/{ruleset}/rules/{rules[0].id}",
                                         {"text": rule_text(rules[0], seed), "why": "A candidate for the shadow"},
                                         {"If-Match": etag})
        if status == 200:
            break
    else:
        raise RuntimeError(f"saving the candidate: {status} {body[:300]!r}")
    status, _, body = Client(port, tokens["reviewer"]).request("POST", f"/api/rulesets/{ruleset}/shadow", {})
    if status != 201:
        raise RuntimeError(f"starting the shadow: {status} {body[:300]!r}")
    time.sleep(2)  # every worker reads the running shadows within a second
    return json.loads(body)["shadow"]


def shadow_counts(port: int, tokens: dict, ruleset: str) -> dict:
    status, _, body = Client(port, tokens["reviewer"]).request("GET", f"/api/rulesets/{ruleset}/shadow")
    shadow = json.loads(body)["shadow"] if status == 200 else None
    return {k: shadow[k] for k in ("cases", "different", "failed", "dropped", "restarts")} if shadow else {}


def bench_server(seconds: float = 30, rate: float = 200, save_rate: float = 2, n_rules: int = 50,
                 workers: int = 2, shadow: bool = False) -> dict:
    from .workload import frame_to_rows, generate_frame, generate_rules

    rules = generate_rules(n_rules)
    cases = frame_to_rows(generate_frame(2000, seed=23))
    with tempfile.TemporaryDirectory(prefix="rulecraft-server-bench-") as folder:
        data_dir = Path(folder) / "data"
        tokens = setup(data_dir, rules)
        ruleset = tokens["ruleset"]
        port = free_port()
        server = start_server(data_dir, port, workers)
        try:
            name = release(port, tokens, ruleset)
            if shadow:
                start_shadow(port, tokens, ruleset, rules)
            warm_up(port, tokens, ruleset, cases)
            alone = sequential(port, tokens, ruleset, cases, server.pid)
            cpu = group_cpu_seconds(server.pid)
            result = run_load(port, tokens, ruleset, cases, rules, seconds, rate, save_rate)
            result["server_cpu_share"] = (group_cpu_seconds(server.pid) - cpu) / seconds  # of one core
            result["sequential"] = alone
            result["release"] = name
            result["workers"] = workers
            if shadow:
                time.sleep(2)  # the last counts are written every second
                result["shadow"] = shadow_counts(port, tokens, ruleset)
        finally:
            stop_server(server)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--save-rate", type=float, default=2)
    parser.add_argument("--shadow", action="store_true", help="run with a shadow beside the release")
    parser.add_argument("--compare-shadow", action="store_true", help="run without, then with a shadow")
    args = parser.parse_args()
    if not args.compare_shadow:
        print(json.dumps(bench_server(args.seconds, args.rate, args.save_rate, shadow=args.shadow), indent=2))
        return
    without = bench_server(args.seconds, args.rate, args.save_rate)
    with_shadow = bench_server(args.seconds, args.rate, args.save_rate, shadow=True)
    per_prediction = [r["server_cpu_share"] * args.seconds / max(1, r["statuses"].get("200", 0) or
                                                                 sum(r["statuses"].values()))
                      for r in (without, with_shadow)]
    print(json.dumps({"without": without, "with_shadow": with_shadow, "growth": {
        "p99_ms": with_shadow["p99_ms"] - without["p99_ms"],
        "sent_p99_ms": with_shadow["sent_p99_ms"] - without["sent_p99_ms"],
        "cpu_ms_per_prediction": [x * 1000 for x in per_prediction],
        "cpu_per_prediction_ratio": per_prediction[1] / per_prediction[0],
        "sequential_cpu_ms_per_request": [r["sequential"]["cpu_ms_per_request"] for r in (without, with_shadow)],
        "sequential_p99_ms": [r["sequential"]["p99_ms"] for r in (without, with_shadow)]}}, indent=2))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
