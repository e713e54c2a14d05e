"""A bounded load and soak run against the production server (gunicorn, 2 workers) on loopback.

    python -m bench.reliability.soak --minutes 20 --json soak.json

What runs, all at once, until the time is up (and never longer: every loop is bounded in count and in time):
- reader processes at a fixed total rate (--rate): predictions of one case and of batches with the pinned release
  v1, bundle fetches of v1, diffs v1..latest, history pages, rules, and bad requests (malformed JSON, NaN,
  duplicate keys, hostile versions, unknown rule sets, a missing If-Match, a wrong token), which must be 4xx;
- editor processes at --edits per second in all: most on one busy rule (so some saves conflict: 409), the rest on
  the editor's own rule;
- a release process: every --release-every seconds an author asks for a release and a reviewer approves it.

Every --sample seconds the gunicorn workers' memory (VmRSS), open files (/proc/<pid>/fd) and threads are sampled;
the report gives per endpoint requests/s, p50/p95/p99 and status counts, per worker the first/last/peak values and
the least-squares slope after warm-up (the leak test), and at the end the ledger: acknowledged edits = new commits
= new audit rows, every acknowledged version in history, nothing pending, fsck clean. Exit code 1 if anything was
lost, any answer was a 5xx, or the ledger has problems. Nothing here reaches past 127.0.0.1.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from bench.reliability.harness import RULESET, Client, ServerProcess, make_workspace, read_ledger

BUSY_RULE = "sirs"
CASES = [{"temperature": 39, "heart rate": 120}, {"temperature": 36.5, "heart rate": 70},
         {"temperature": 38.5, "respiratory rate": 25, "white cell count": 13},
         {"lesion diameter": 3, "location": "margin", "age": 40, "smoker": False, "notes": "none"}, {}]
MAX_REQUESTS_PER_CLIENT = 2_000_000
WORKERS = 2


# ---- client processes ---------------------------------------------------------------------------------------------

class Tally:
    """Latencies (ms) and status counts per endpoint, kept in the client process and returned at the end."""

    def __init__(self):
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, Counter] = defaultdict(Counter)
        self.failures: list[str] = []

    def call(self, label: str, method, *args, **kw):
        import requests

        start = time.perf_counter()
        try:
            response = method(*args, **kw)
        except requests.RequestException as e:
            self.statuses[label]["error"] += 1
            self.failures.append(f"{label}: {type(e).__name__}")
            return None
        self.latencies[label].append((time.perf_counter() - start) * 1000)
        self.statuses[label][str(response.status_code)] += 1
        if response.status_code >= 500:
            self.failures.append(f"{label}: {response.status_code} {response.text[:200]}")
        return response

    def result(self) -> dict:
        return {"latencies": dict(self.latencies), "statuses": {k: dict(v) for k, v in self.statuses.items()},
                "failures": self.failures[:50]}


def _paced(deadline: float, interval: float, max_count: int):
    """Yield until the deadline or max_count, one tick every ``interval`` seconds (no catching up after a stall)."""
    next_at = time.monotonic()
    for i in range(max_count):
        now = time.monotonic()
        if now >= deadline:
            return
        if next_at > now:
            time.sleep(min(next_at - now, deadline - now))
        next_at = max(next_at + interval, time.monotonic() - interval)
        yield i


BAD = [
    ("bad: malformed JSON", "POST", "/api/rulesets/sepsis-triage/predict?version=v1",
     {"data": b'{"case": {"temperature": 39', "headers": {"Content-Type": "application/json"}}),
    ("bad: NaN", "POST", "/api/rulesets/sepsis-triage/predict?version=v1",
     {"data": b'{"case": {"temperature": NaN}}', "headers": {"Content-Type": "application/json"}}),
    ("bad: duplicate key", "POST", "/api/rulesets/sepsis-triage/predict?version=v1",
     {"data": b'{"case": {}, "case": {}}', "headers": {"Content-Type": "application/json"}}),
    ("bad: hostile version", "GET", "/api/rulesets/sepsis-triage/bundle?version=--output=/tmp/x", {}),
    ("bad: unknown rule set", "GET", "/api/rulesets/..%2F..%2Fetc/rules", {}),
    ("bad: no If-Match", "PUT", "/api/rulesets/sepsis-triage/rules/sirs", {"json": {"text": "x", "why": "y"}}),
    ("bad: wrong type", "POST", "/api/rulesets/sepsis-triage/predict?version=v1",
     {"json": {"case": {"temperature": "hot"}}}),
    ("bad: deep JSON", "POST", "/api/check", {"data": b"[" * 5000 + b"]" * 5000,
                                              "headers": {"Content-Type": "application/json"}}),
]


def reader(url: str, token: str, writer_token: str, seconds: float, rate: float, seed: int, head: str) -> dict:
    """Reads as an auditor; bad requests as an author (so that they reach the checks after the permission)."""
    rng = random.Random(seed)
    client, stranger = Client(url, token), Client(url, "rc_not-a-real-token")
    author = Client(url, writer_token)
    tally = Tally()
    batch = [rng.choice(CASES) for _ in range(20)]
    deadline = time.monotonic() + seconds
    for _ in _paced(deadline, 1 / rate, MAX_REQUESTS_PER_CLIENT):
        pick = rng.random()
        if pick < 0.45:
            tally.call("POST predict (1 case)", client.post, f"/api/rulesets/{RULESET}/predict?version=v1",
                       json={"case": rng.choice(CASES)})
        elif pick < 0.50:
            tally.call("POST predict (20 cases)", client.post, f"/api/rulesets/{RULESET}/predict?version=v1",
                       json={"cases": batch})
        elif pick < 0.62:
            tally.call("GET bundle v1", client.get, f"/api/rulesets/{RULESET}/bundle?version=v1")
        elif pick < 0.70:
            to = head if rng.random() < 0.5 else ""
            tally.call("GET diff", client.get, f"/api/rulesets/{RULESET}/diff?from=v1" + (f"&to={to}" if to else ""))
        elif pick < 0.76:
            tally.call("GET history", client.get, f"/api/rulesets/{RULESET}/history?per_page=20")
        elif pick < 0.84:
            tally.call("GET rule", client.get, f"/api/rulesets/{RULESET}/rules/{BUSY_RULE}")
        elif pick < 0.86:
            tally.call("bad: wrong token", stranger.get, f"/api/rulesets/{RULESET}")
        else:
            label, method, path, kw = rng.choice(BAD)
            tally.call(label, author.request, method, path, **kw)
    client.close()
    author.close()
    stranger.close()
    return tally.result()


def editor(url: str, token: str, author: str, seconds: float, rate: float, seed: int) -> dict:
    """Edits (70% the busy rule, 30% the author's own): each 200/201 is an acknowledged edit to be found later."""
    rng = random.Random(seed)
    client = Client(url, token)
    tally = Tally()
    acked, conflicts = [], []
    text = f'rule "Soak rule of {author}"\nwhen respiratory rate is above 10\nthen sepsis risk is "low"'
    created = tally.call("POST rule", client.post, f"/api/rulesets/{RULESET}/rules", json={"text": text, "why": "soak"})
    own = None
    if created is not None and created.status_code == 201:
        own = created.json()["id"]
        acked.append(created.json()["version"])
    deadline = time.monotonic() + seconds
    for i in _paced(deadline, 1 / rate, MAX_REQUESTS_PER_CLIENT):
        busy = own is None or rng.random() < 0.7
        rule = BUSY_RULE if busy else own
        opened = tally.call("GET rule", client.get, f"/api/rulesets/{RULESET}/rules/{rule}")
        if opened is None or opened.status_code != 200:
            continue
        base = opened.json()["version"]
        if busy:
            new = (f'rule "Two or more SIRS criteria"\npriority 2\nwhen at least 2 of (temperature is above 38, '
                   f'heart rate is above {rng.randint(80, 120)}, respiratory rate is above 20, white cell count '
                   f'is missing)\nthen sepsis risk is "high" with confidence 0.8\nbecause "{author} {i}"')
        else:
            new = f'rule "Soak rule of {author}"\nwhen respiratory rate is above {11 + i}\nthen sepsis risk is "low"'
        label = "PUT rule (busy)" if busy else "PUT rule (own)"
        saved = tally.call(label, client.put, f"/api/rulesets/{RULESET}/rules/{rule}",
                           json={"text": new, "why": f"soak edit {i}"}, headers={"If-Match": f'"{base}"'})
        if saved is None:
            continue
        if saved.status_code == 200:
            acked.append(saved.json()["version"])
        elif saved.status_code == 409:
            error = saved.json()["error"]
            if not ("base_text" in error and "current_text" in error):
                tally.failures.append(f"409 without both texts: {error}")
            conflicts.append(error.get("current_version"))
    client.close()
    return {**tally.result(), "acked": acked, "conflict_versions": conflicts}


def releaser(url: str, author_token: str, reviewer_token: str, seconds: float, every: float) -> dict:
    author, reviewer = Client(url, author_token), Client(url, reviewer_token)
    tally = Tally()
    approved = []
    deadline = time.monotonic() + seconds
    for _ in _paced(deadline, every, 10_000):
        if time.monotonic() + 5 > deadline:
            break
        asked = tally.call("POST release request", author.post, f"/api/rulesets/{RULESET}/releases", json={})
        if asked is not None and asked.status_code == 201:
            done = tally.call("POST release approve", reviewer.post,
                              f"/api/rulesets/{RULESET}/releases/{asked.json()['id']}/approve", json={"comment": "ok"})
            if done is not None and done.status_code == 200:
                approved.append(done.json()["name"])
    author.close()
    reviewer.close()
    return {**tally.result(), "approved": approved}


# ---- sampling the workers -----------------------------------------------------------------------------------------

def process_figures(pid: int) -> dict | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {"rss_mb": int(fields["VmRSS"].split()[0]) / 1024, "threads": int(fields["Threads"]), "fds": fds}


class Sampler(threading.Thread):
    def __init__(self, server: ServerProcess, every: float, until: float):
        super().__init__(daemon=True)
        self.server, self.every, self.until = server, every, until
        self.samples: list[dict] = []
        self.started = time.monotonic()
        self._halt = threading.Event()

    def sample(self) -> None:
        t = time.monotonic() - self.started
        for pid in self.server.worker_pids():
            figures = process_figures(pid)
            if figures:
                self.samples.append({"t": round(t, 1), "pid": pid, **figures})

    def run(self) -> None:
        for _ in range(100_000):
            self.sample()
            if self._halt.wait(self.every) or time.monotonic() > self.until:
                return

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=30)


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value), per minute."""
    if len(points) < 2:
        return 0.0
    mean_t = statistics.fmean(t for t, _ in points)
    mean_v = statistics.fmean(v for _, v in points)
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return 0.0
    return 60 * sum((t - mean_t) * (v - mean_v) for t, v in points) / var


def worker_report(samples: list[dict], warmup: float) -> dict:
    out = {}
    for pid in sorted({s["pid"] for s in samples}):
        mine = [s for s in samples if s["pid"] == pid]
        steady = [s for s in mine if s["t"] >= warmup] or mine
        out[str(pid)] = {"samples": len(mine), **{
            key: {"first": mine[0][key], "last": mine[-1][key], "peak": max(s[key] for s in mine),
                  "steady_first": steady[0][key], "slope_per_min": round(slope_per_minute(
                      [(s["t"], s[key]) for s in steady]), 4)}
            for key in ("rss_mb", "fds", "threads")}}
    return out


# ---- the run ------------------------------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def run(seconds: float, rate: float, edits: float, readers: int = 3, editors: int = 2, sample_every: float = 10,
        release_every: float = 60, data_dir: Path | None = None, keep: bool = False) -> dict:
    temporary = data_dir is None
    data_dir = Path(data_dir or tempfile.mkdtemp(prefix="rulecraft-soak-")) / "data"
    ws = make_workspace(data_dir)
    before = {c.id for c in read_ledger(data_dir).commits}
    server = ServerProcess(data_dir, workers=WORKERS)
    workers_at_start = server.worker_pids()
    hard_stop = time.monotonic() + seconds + 120
    sampler = Sampler(server, sample_every, hard_stop)
    results = {}
    try:
        sampler.start()
        head = Client(server.url, ws.tokens["Alex"]).get(f"/api/rulesets/{RULESET}").json()["version"]
        spawn = multiprocessing.get_context("spawn")
        authors = ["Ana", "Bea", "Cy", "Dee"][:editors] if edits > 0 else []  # --edits 0: a read-only run
        with ProcessPoolExecutor(max_workers=readers + len(authors) + 1, mp_context=spawn) as pool:
            futures = {f"reader {i}": pool.submit(reader, server.url, ws.tokens["Alex"], ws.tokens["Dee"], seconds,
                                                  rate / readers, i, head) for i in range(readers)}
            futures.update({f"editor {a}": pool.submit(editor, server.url, ws.tokens[a], a, seconds,
                                                       edits / len(authors), 100 + i) for i, a in enumerate(authors)})
            if release_every > 0:
                futures["releaser"] = pool.submit(releaser, server.url, ws.tokens["Eli"], ws.tokens["Rui"], seconds,
                                                  release_every)
            for name, future in futures.items():
                results[name] = future.result(timeout=max(1.0, hard_stop - time.monotonic()))
        sampler.sample()
        workers_at_end = server.worker_pids()
    finally:
        try:
            sampler.stop()
        finally:  # the server is stopped whatever happened, so that no run leaves one behind
            exit_code = server.stop()
    elapsed = time.monotonic() - sampler.started
    output = server.output()
    ledger = read_ledger(data_dir)
    report = summarize(results, ledger, before, sampler.samples, seconds, elapsed, sample_every)
    # A worker that died and was replaced shows up as a new pid in the samples (the list taken right after start
    # may miss a worker that is still starting, so the samples, not that list, count the workers).
    seen = sorted({s["pid"] for s in sampler.samples})
    report["server"] = {"exit_code": exit_code, "workers_at_start": workers_at_start,
                        "workers_at_end": workers_at_end, "workers_seen": seen,
                        "worker_restarts": max(0, len(set(seen) | set(workers_at_end)) - WORKERS),
                        "tracebacks_in_log": output.count("Traceback")}
    report["settings"] = {"seconds": seconds, "rate": rate, "edits_per_second": edits, "readers": readers,
                          "editors": editors, "sample_every": sample_every, "release_every": release_every}
    report["ok"] = (report["ledger"]["lost"] == 0 and not report["ledger"]["problems"] and report["errors_5xx"] == 0
                    and report["connection_errors"] == 0 and not report["server"]["worker_restarts"]
                    and not report["server"]["tracebacks_in_log"] and exit_code == 0)
    if temporary and not keep:
        shutil.rmtree(data_dir.parent, ignore_errors=True)
    return report


def summarize(results: dict, ledger, before: set[str], samples: list[dict], seconds: float, elapsed: float,
              sample_every: float) -> dict:
    latencies, statuses = defaultdict(list), defaultdict(Counter)
    failures, acked, approved = [], [], []
    for result in results.values():
        for label, values in result["latencies"].items():
            latencies[label] += values
        for label, counts in result["statuses"].items():
            statuses[label].update(counts)
        failures += result["failures"]
        acked += result.get("acked", [])
        approved += result.get("approved", [])
    endpoints = {}
    for label in sorted(statuses):
        values = latencies.get(label, [])
        endpoints[label] = {"requests": sum(statuses[label].values()), "per_second": round(len(values) / seconds, 2),
                            "p50_ms": round(percentile(values, 50), 2), "p95_ms": round(percentile(values, 95), 2),
                            "p99_ms": round(percentile(values, 99), 2), "statuses": dict(statuses[label])}
    history = {c.id for c in ledger.commits}
    new_commits = [c for c in ledger.commits if c.id not in before]
    new_rows = [e for e in ledger.done_saves() if e.version not in before]
    warmup = min(120.0, seconds / 5)
    return {
        "endpoints": endpoints,
        "errors_5xx": sum(n for c in statuses.values() for s, n in c.items() if s.isdigit() and int(s) >= 500),
        "connection_errors": sum(c.get("error", 0) for c in statuses.values()),
        "failures": failures[:20],
        "workers": worker_report(samples, warmup),
        "samples": samples,
        "warmup_seconds": warmup,
        "ledger": {"acknowledged_edits": len(acked), "new_commits": len(new_commits),
                   "new_audit_rows": len(new_rows), "lost": len([v for v in acked if v not in history]),
                   "releases_approved": len(approved), "tags": len(ledger.tags), "problems": ledger.problems()},
        "elapsed_seconds": round(elapsed, 1),
    }


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), "0")
    return (f"{os.cpu_count()} cores ({cpu}), {int(memory) // 1024 // 1024} GB RAM, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}")


def markdown(report: dict) -> str:
    lines = ["| endpoint | requests | req/s | p50 ms | p95 ms | p99 ms | statuses |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for label, e in report["endpoints"].items():
        shown = ", ".join(f"{k}: {v}" for k, v in sorted(e["statuses"].items()))
        lines.append(f"| {label} | {e['requests']} | {e['per_second']} | {e['p50_ms']} | {e['p95_ms']} | "
                     f"{e['p99_ms']} | {shown} |")
    lines += ["", "| worker | samples | RSS MB first / last / peak | RSS slope MB/min | fds first / last / peak | "
              "fd slope /min | threads first / last | thread slope /min |", "|---|---:|---|---:|---|---:|---|---:|"]
    for pid, w in report["workers"].items():
        r, f, t = w["rss_mb"], w["fds"], w["threads"]
        lines.append(f"| {pid} | {w['samples']} | {r['first']:.1f} / {r['last']:.1f} / {r['peak']:.1f} | "
                     f"{r['slope_per_min']:+.3f} | {f['first']} / {f['last']} / {f['peak']} | "
                     f"{f['slope_per_min']:+.3f} | "
                     f"{t['first']} / {t['last']} | {t['slope_per_min']:+.3f} |")
    ledger = report["ledger"]
    lines += ["", f"Ledger: {ledger['acknowledged_edits']} acknowledged edits, {ledger['new_commits']} new commits, "
              f"{ledger['new_audit_rows']} new audit rows, lost {ledger['lost']}; releases approved "
              f"{ledger['releases_approved']}; problems: {ledger['problems'] or 'none'}",
              f"5xx: {report['errors_5xx']}, connection errors: {report['connection_errors']}, worker restarts: "
              f"{report['server']['worker_restarts']}, tracebacks in the server log: "
              f"{report['server']['tracebacks_in_log']}; slopes after {report['warmup_seconds']:.0f} s of warm-up",
              f"Result: {'OK' if report['ok'] else 'FAILED'}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=2.0, help="how long to run (bounded by this)")
    parser.add_argument("--seconds", type=float, default=None, help="instead of --minutes")
    parser.add_argument("--rate", type=float, default=150.0, help="read and bad requests per second, in all")
    parser.add_argument("--edits", type=float, default=2.0, help="edits per second, in all (0: no edits)")
    parser.add_argument("--readers", type=int, default=3)
    parser.add_argument("--editors", type=int, default=2, choices=range(1, 5))
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between samples of the workers")
    parser.add_argument("--release-every", type=float, default=60.0, help="seconds (0: no releases)")
    parser.add_argument("--json", type=Path, default=None, help="also write the full report here")
    args = parser.parse_args(argv)
    seconds = args.seconds if args.seconds is not None else args.minutes * 60
    if not 1 <= seconds <= 4 * 3600:
        parser.error("run between 1 second and 4 hours")
    started = datetime.now(UTC)
    report = run(seconds, args.rate, args.edits, args.readers, args.editors, args.sample, args.release_every)
    report["machine"] = machine()
    report["started"] = started.isoformat(timespec="seconds")
    report["command"] = "python -m bench.reliability.soak " + " ".join(argv if argv is not None else sys.argv[1:])
    print(f"Soak run of {seconds:.0f} s started {report['started']} on {report['machine']}\n")
    print(markdown(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
