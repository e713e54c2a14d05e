"""The benchmark: Rulecraft side by side with the engines people would pick instead (docs/benchmarks.md).

    python -m bench run              # everything, full sizes (about 20-30 minutes on 2 quiet cores)
    python -m bench run --quick      # smaller sizes (a few minutes)
    python -m bench run --smoke      # tiny sizes, seconds (what the test suite runs)
    python -m bench run --suites batch,single --only numpy,zen
    python -m bench run --suites batch --forms "arrow str,category"
    python -m bench run --suites engines   # Polars and DuckDB (bench/scale_bench.py)

Every engine's answers are checked against Rulecraft's on the same data (and Rulecraft's against a direct
three-valued evaluation of the rules, the "oracle"); mismatches are counted and reported, never hidden. The batch
suite runs on every form of the data (workload.FORMS). Timings are taken in one run, engines (and data forms)
interleaved round by round (the order rotated each round), and reported as median, min and max; a ratio between
two engines is paired by round, so its spread shows how sure it is.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import engines as E
from . import translate
from .workload import FORMS, compile_ruleset, data_forms, frame_to_rows, generate_frame, generate_rules, text_dtypes

ROOT = Path(__file__).resolve().parents[1]
SUITES = ("batch", "single", "compile", "store", "server", "ml", "engines")


@dataclass
class Sizes:
    batch_rows: tuple[int, ...]
    batch_repeat: int
    row_seconds: float            # time budget per repetition for a row-at-a-time engine (sets its subsample)
    row_max: int                  # largest subsample for a row-at-a-time engine
    row_min: int                  # smallest subsample (and the probe that sizes it)
    single_cases: int
    single_warmup: int
    compile_rules: int
    compile_repeat: int
    store_commits: int
    server_seconds: float
    ml_rows: int
    check_oracle_rows: int


SIZES = {
    "full": Sizes((200_000, 1_000_000), 7, 2.0, 100_000, 200, 10_000, 1_000, 1_000, 5, 10_000, 30, 1_000_000, 20_000),
    "quick": Sizes((100_000,), 5, 0.7, 50_000, 200, 2_000, 500, 1_000, 3, 1_000, 10, 100_000, 5_000),
    "smoke": Sizes((2_000,), 2, 0.05, 300, 50, 100, 20, 100, 1, 0, 0, 0, 500),
}


@dataclass
class Report:
    sections: list[str] = field(default_factory=list)
    data: dict = field(default_factory=dict)
    targets: list[tuple[str, bool | None, str]] = field(default_factory=list)  # (target, met, figure); None: not sure

    def add(self, text: str) -> None:
        self.sections.append(text)
        print(text, flush=True)

    def target(self, name: str, met: bool | None, figure: str) -> None:
        self.targets.append((name, met, figure))


def _fmt_rate(x: float) -> str:
    if x >= 1e6:
        return f"{x / 1e6:.2f} M"
    if x >= 1e3:
        return f"{x / 1e3:.1f} k"
    return f"{x:.0f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


# ---- checks --------------------------------------------------------------------------------------------------------

def oracle_matrix(rules, rows: list[dict]) -> np.ndarray:
    return np.array([[translate.oracle(r.condition, row) is True for row in rows] for r in rules], dtype=bool)


def mismatches(a: np.ndarray, b: np.ndarray) -> int:
    if a.shape != b.shape:
        return -1
    return int(np.count_nonzero(a != b))


# ---- (a) batch -----------------------------------------------------------------------------------------------------

def spread(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def _fmt_spread(x: dict[str, float], fmt) -> str:
    return f"{fmt(x['median'])} ({fmt(x['min'])}-{fmt(x['max'])})"


def at_least_as_fast(ratios: list[float]) -> tuple[bool | None, str]:
    """Target "Rulecraft at least as fast as the baseline" from paired time ratios (baseline time / Rulecraft time,
    one per round): met when every ratio is at least 1, missed when every ratio is below 1, not sure (None) when
    the runs disagree."""
    s = spread(ratios)
    met = True if s["min"] >= 1 else False if s["max"] < 1 else None
    return met, (f"baseline time / Rulecraft time {s['median']:.2f} (min {s['min']:.2f}, max {s['max']:.2f}, "
                 f"{len(ratios)} paired runs)")


def _subsample(e: E.Engine, data, n_rows: int, sizes: Sizes) -> tuple[object, int]:
    """(data(n), n) for a row-at-a-time engine: n rows, so that one run takes about sizes.row_seconds."""
    probe = data(sizes.row_min)
    e.batch(probe)
    t = time.perf_counter()
    e.batch(probe)
    rate = sizes.row_min / max(time.perf_counter() - t, 1e-9)
    n = int(min(n_rows, sizes.row_max, max(sizes.row_min, rate * sizes.row_seconds)))
    return data(n), n


def bench_batch(rules, ruleset, engines: list[E.Engine], sizes: Sizes, report: Report,
                forms: list[str] | None = None) -> None:
    """Every vectorized engine on every form of the data (workload.FORMS), interleaved: each round runs every form
    and every engine once, in an order rotated each round. Ratios are paired: an engine's time over Rulecraft's
    on the same form in the same round. Engines that take a list of mappings get the same mappings whatever the
    form (built outside the timed region, from the JSON form when it is there): they run at the first size only."""
    rc = "Rulecraft vectorized"
    vectorized = [e for e in engines if e.batch is not None and e.kind == "vectorized"]
    framewise = [e for e in engines if e.batch is not None and e.kind == "vectorized-rows"]  # Snorkel: a frame
    mapping = [e for e in engines if e.batch is not None and e.kind == "row"]
    by_name = {e.name: e for e in engines}
    for size_index, n_rows in enumerate(sizes.batch_rows):
        base = generate_frame(n_rows)
        frames = data_forms(base, forms)
        gc.collect()
        reference = ruleset.matches(base).to_numpy().T  # Rulecraft's answers on the object form, (rules x rows)
        sample = base.iloc[:sizes.check_oracle_rows]
        oracle_bad = mismatches(reference[:, :len(sample)], oracle_matrix(rules, frame_to_rows(sample)))
        plans: dict[tuple[str, str], tuple[object, int]] = {}  # (form or "mappings", engine) -> (data, rows)
        # an engine that cannot read a form at all (Snorkel's functions on pd.NA: "boolean value of NA is
        # ambiguous") is reported, not timed there
        unreadable: dict[str, str] = {}
        for form, frame in frames.items():
            for e in vectorized:
                plans[(form, e.name)] = (frame, n_rows)
            for e in framewise:
                try:
                    plans[(form, e.name)] = _subsample(e, lambda k, f=frame: f.iloc[:k], n_rows, sizes)
                except Exception as error:  # noqa: BLE001 - a peer's failure on a form is a finding
                    unreadable[f"{e.name} on {form}"] = f"{type(error).__name__}: {error}"
        if size_index == 0 and mapping:
            source = frames.get("JSON objects", base)
            for e in mapping:
                plans[("mappings", e.name)] = _subsample(e, lambda k, f=source: frame_to_rows(f.iloc[:k]), n_rows,
                                                         sizes)
        # correctness first, on exactly the rows that are timed (also a warm-up)
        bad = {}
        for key, (data, n) in list(plans.items()):
            try:
                bad[key] = mismatches(by_name[key[1]].batch_matrix(by_name[key[1]].batch(data)), reference[:, :n])
            except Exception as e:  # noqa: BLE001 - a peer's failure on a form is a finding of the benchmark
                if by_name[key[1]].rulecraft or key[1] == E.NUMPY_BASELINE:
                    raise
                unreadable[f"{key[1]} on {key[0]}"] = f"{type(e).__name__}: {e}"
                del plans[key]
        # timing: rounds; in each, every group (a form, or the mappings) and every engine once, orders rotated
        groups: dict[str, list[str]] = {}
        for group, name in plans:
            groups.setdefault(group, []).append(name)
        times: dict[tuple[str, str], list[float]] = {key: [] for key in plans}
        load = [os.getloadavg()[0]]
        for round_ in range(sizes.batch_repeat):
            names = list(groups)
            for group in names[round_ % len(names):] + names[:round_ % len(names)]:
                order = groups[group][round_ % len(groups[group]):] + groups[group][:round_ % len(groups[group])]
                for name in order:
                    if by_name[name].kind != "vectorized" and round_ >= max(3, sizes.batch_repeat // 2):
                        continue  # row-at-a-time engines are slow and steady: fewer repetitions
                    data, _ = plans[(group, name)]
                    gc.collect()
                    t = time.perf_counter()
                    result = by_name[name].batch(data)
                    times[(group, name)].append(time.perf_counter() - t)
                    del result
            load.append(os.getloadavg()[0])
        results: dict = {"oracle_mismatches": oracle_bad, "forms": {}, "mappings": {},
                         "load_average_1min": spread(load), "rounds": sizes.batch_repeat}
        for (group, name), ts in times.items():
            _, n = plans[(group, name)]
            entry = {"rows_timed": n, "runs": len(ts), "seconds": ts, "mismatches": bad[(group, name)],
                     "rows_per_s": {k: n / v for k, v in zip(("max", "median", "min"), spread(ts).values())}}
            if group != "mappings":
                rc_times = times[(group, rc)]
                # paired: this engine's time per row over Rulecraft's in the same round, on the same form
                entry["time_ratio_to_rulecraft"] = spread([(t / n) / (r / n_rows) for t, r in zip(ts, rc_times)])
                results["forms"].setdefault(group, {"dtypes": text_dtypes(frames[group]), "engines": {}})
                results["forms"][group]["engines"][name] = entry
            else:
                results["mappings"][name] = entry
        results["unreadable"] = unreadable
        report.data.setdefault("batch", {})[n_rows] = results
        report.add(_batch_tables(rules, n_rows, results, len(sample)))
        if unreadable:
            report.add("Engines that could not read a form (not timed there): "
                       + "; ".join(f"**{k}**: {v}" for k, v in unreadable.items()) + ".\n")
        for form, r in results["forms"].items():
            baseline = r["engines"].get(E.NUMPY_BASELINE)
            if baseline:
                rc_times, np_times = times[(form, rc)], times[(form, E.NUMPY_BASELINE)]
                met, figure = at_least_as_fast([b / a for a, b in zip(rc_times, np_times)])
                report.target(f"batch {n_rows:,} rows, {form}: Rulecraft at least as fast as factorized NumPy",
                              met, figure)
        slow_peers = [(g, name) for (g, name) in plans if by_name[name].kind != "vectorized"
                      and not by_name[name].rulecraft and name != "hand-written Python function"]
        if slow_peers and results["mappings"]:  # judged where every row-at-a-time engine ran (the first size)
            rc_slowest = min(r["engines"][rc]["rows_per_s"]["median"] for r in results["forms"].values())
            peer_fastest = max((results["mappings"][name] if g == "mappings" else
                                results["forms"][g]["engines"][name])["rows_per_s"]["median"]
                               for g, name in slow_peers)
            gap = rc_slowest / peer_fastest
            report.target(f"batch {n_rows:,} rows at least 50x faster than every row-at-a-time engine "
                          "(Rulecraft on its slowest form)", gap >= 50,
                          f"closest row-at-a-time peer: {gap:.0f}x slower")
        del frames, base, reference
        gc.collect()


def _batch_tables(rules, n_rows: int, results: dict, oracle_rows: int) -> str:
    forms = list(results["forms"])
    names = list(dict.fromkeys(n for r in results["forms"].values() for n in r["engines"]))
    head = ["engine"] + forms

    def cell(name, form, what):
        entry = results["forms"][form]["engines"].get(name)
        if entry is None:
            return "cannot read it"
        if what == "rate":
            text = _fmt_spread(entry["rows_per_s"], _fmt_rate)
            return text + (" (subsample)" if entry["rows_timed"] != n_rows else "")
        if what == "ratio":
            return "1" if name == "Rulecraft vectorized" else _fmt_spread(entry["time_ratio_to_rulecraft"],
                                                                         lambda x: f"{x:.2f}")
        return str(entry["mismatches"])

    runs = sorted({e["runs"] for r in results["forms"].values() for e in r["engines"].values()})
    load = results["load_average_1min"]
    text = (f"\n### (a) Batch: {len(rules)} rules x {n_rows:,} rows, each form of the data\n\n"
            f"Text columns: " + "; ".join(f"**{f}** `{results['forms'][f]['dtypes']}`" for f in forms)
            + f". {results['rounds']} interleaved rounds ({'/'.join(map(str, runs))} runs per engine); "
              f"load average (1 min) during the rounds {load['min']:.1f}-{load['max']:.1f}.\n\n"
              "Rows per second, median (min-max):\n\n"
            + _table(head, [[n] + [cell(n, f, "rate") for f in forms] for n in names])
            + "\n\nTime per row over Rulecraft vectorized's on the same form in the same round (above 1: "
              "Rulecraft is faster), median (min-max):\n\n"
            + _table(head, [[n] + [cell(n, f, "ratio") for f in forms] for n in names])
            + "\n\nCells (rule x row) differing from Rulecraft's answers on the object form:\n\n"
            + _table(head, [[n] + [cell(n, f, "bad") for f in forms] for n in names])
            + f"\n\nRulecraft vs the oracle (direct three-valued evaluation of the rules) on {oracle_rows:,} rows: "
              f"{results['oracle_mismatches']} cells differ.")
    if results["mappings"]:
        rows = []
        for name, entry in results["mappings"].items():
            rows.append([name, _fmt_spread(entry["rows_per_s"], _fmt_rate), f"{entry['rows_timed']:,}",
                         str(entry["runs"]), str(entry["mismatches"])])
        text += ("\n\nRow-at-a-time engines, given the rows as a list of mappings (one string object per value, as "
                 "from JSON; the same input whatever the form), on a subsample that takes about "
                 "2 s per run:\n\n"
                 + _table(["engine", "rows/s, median (min-max)", "rows timed", "runs", "cells differing"], rows))
    return text


# ---- (b) single case -----------------------------------------------------------------------------------------------

def bench_single(rules, engines: list[E.Engine], sizes: Sizes, report: Report) -> None:
    single = [e for e in engines if e.single is not None]
    cases = frame_to_rows(generate_frame(sizes.single_cases + sizes.single_warmup, seed=17))
    warm, timed = cases[:sizes.single_warmup], cases[sizes.single_warmup:]
    reference = oracle_matrix(rules, timed)
    bad = {}
    for e in single:
        for case in warm:
            e.single(case)
        fired = np.array([e.single_fired(e.single(case)) for case in timed], dtype=bool).reshape(-1, len(rules)).T
        bad[e.name] = mismatches(fired, reference)

    def empty(case):
        return None

    calls = [("(timer + an empty call)", empty)] + [(e.name, e.single) for e in single]
    samples: dict[str, list[int]] = {name: [] for name, _ in calls}
    clock = time.perf_counter_ns
    block = 100  # cases per turn: each engine runs a block of cases, each case timed; the order rotates per block
    gc.collect()
    gc.disable()  # a collection would land on whichever engine happens to run; collected between blocks
    try:
        for b, start in enumerate(range(0, len(timed), block)):
            chunk = timed[start:start + block]
            k = b % len(calls)
            for name, fn in calls[k:] + calls[:k]:
                out = samples[name]
                for case in chunk:
                    t = clock()
                    fn(case)
                    out.append(clock() - t)
                gc.collect(0)
            if b % 10 == 9:
                gc.collect()
    finally:
        gc.enable()
    rows_out, results = [], {}
    rc = statistics.median(samples["Rulecraft per row"]) / 1000
    for name, _ in calls:
        us = np.array(samples[name]) / 1000
        med, p99 = float(np.median(us)), float(np.percentile(us, 99))
        results[name] = {"median_us": med, "p99_us": p99, "mismatches": bad.get(name)}
        rows_out.append([name, f"{med:.2f}", f"{p99:.2f}",
                         "-" if name.startswith("(") else ("1" if name == "Rulecraft per row" else f"{med / rc:.1f}x"),
                         "-" if name.startswith("(") else str(bad[name])])
    report.data["single"] = results
    report.add(f"\n### (b) Single case: all {len(rules)} rules on one case given as a mapping\n\n"
               f"{len(timed):,} cases after {len(warm):,} warm-up cases, each call timed alone; the engines take "
               f"turns in blocks of 100 cases (order rotated every block), so that one engine's caches are not "
               f"flushed by another's between two of its calls; microseconds per case.\n\n"
               + _table(["engine", "median us", "p99 us", "time vs Rulecraft", "cells differing from the oracle"],
                        rows_out))
    peers = [n for n in results if not n.startswith("(") and n != "Rulecraft per row"]
    report.target("single case median under 8 us", rc < 8, f"{rc:.2f} us")
    if peers:
        best = min(peers, key=lambda n: results[n]["median_us"])
        report.target("single case below every peer's median", rc < results[best]["median_us"],
                      f"Rulecraft {rc:.2f} us, fastest peer ({best}) {results[best]['median_us']:.2f} us")


# ---- (c) compile ---------------------------------------------------------------------------------------------------

def bench_compile(sizes: Sizes, report: Report) -> None:
    from rules_dsl.ruleset import ruleset_from_files

    from .workload import ruleset_files

    rules = generate_rules(sizes.compile_rules, seed=99)
    files = ruleset_files(rules)  # the rule set as the store keeps it: yaml files and one text file per rule
    stages: dict[str, list[float]] = {"parse + check + canonical text (ruleset_from_files)": [],
                                      "vectorized plan": [], "per-row function": [], "total": []}
    peers: dict[str, list[float]] = {}
    peer_builders = {}
    try:
        import zen

        expression = translate.zen_expression(rules)
        peer_builders["zen-engine compile_expression (one expression)"] = lambda: zen.compile_expression(expression)
    except ImportError:
        pass
    try:
        import rule_engine

        re_texts = translate.rule_engine_texts(rules)
        context = rule_engine.Context(default_value=None)
        peer_builders["rule-engine Rule() per rule"] = lambda: [rule_engine.Rule(t, context=context) for t in re_texts]
    except ImportError:
        pass
    py_source = translate.python_source(rules)
    peer_builders["Python compile() of the hand-written function"] = lambda: compile(py_source, "<f>", "exec")
    for name in peer_builders:
        peers[name] = []
    cpu: dict[str, list[float]] = {}  # CPU time of this process: hardly moved by other work on the machine
    for _ in range(sizes.compile_repeat):
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        ruleset = ruleset_from_files(files, id="compile")
        c1, t1 = time.process_time(), time.perf_counter()
        ruleset._vectorized  # noqa: B018 - the NumPy plan, built on first use
        c2, t2 = time.process_time(), time.perf_counter()
        ruleset.matches_row  # noqa: B018 - the per-row function, built on first use
        c3, t3 = time.process_time(), time.perf_counter()
        for key, value, cpu_value in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t3 - t0),
                                         (c1 - c0, c2 - c1, c3 - c2, c3 - c0)):
            stages[key].append(value)
            cpu.setdefault(key, []).append(cpu_value)
        for name, build in peer_builders.items():
            c, t = time.process_time(), time.perf_counter()
            build()
            peers[name].append(time.perf_counter() - t)
            cpu.setdefault(name, []).append(time.process_time() - c)
    med = {k: statistics.median(v) for k, v in stages.items()}
    cpu_med = {k: statistics.median(v) for k, v in cpu.items()}
    rows_out = [[f"Rulecraft: {k}", f"{v * 1000:.0f}", f"{cpu_med[k] * 1000:.0f}"] for k, v in med.items()]
    rows_out += [[k, f"{statistics.median(v) * 1000:.0f}", f"{cpu_med[k] * 1000:.0f}"] for k, v in peers.items()]
    report.data["compile"] = {"rules": len(rules), "rulecraft_ms": {k: v * 1000 for k, v in med.items()},
                              "peers_ms": {k: statistics.median(v) * 1000 for k, v in peers.items()},
                              "cpu_ms": {k: v * 1000 for k, v in cpu_med.items()}}
    report.add(f"\n### (c) Compile: {len(rules):,} rules from text (median of {sizes.compile_repeat})\n\n"
               + _table(["step", "wall ms", "CPU ms"], rows_out))
    report.target(f"compile {len(rules):,} rules (parse + check + compile) under 1 s", med["total"] < 1.0,
                  f"{med['total'] * 1000:.0f} ms wall, {cpu_med['total'] * 1000:.0f} ms CPU")


# ---- (d) store -----------------------------------------------------------------------------------------------------

def bench_store(sizes: Sizes, report: Report) -> None:
    script = ROOT / "bench" / "store_bench.py"
    if not script.exists():
        report.add("\n### (d) Store\n\nbench/store_bench.py is not in this checkout; skipped.")
        return
    done = subprocess.run([sys.executable, str(script), "--commits", str(sizes.store_commits)], cwd=ROOT,
                          capture_output=True, text=True, timeout=3600)
    output = done.stdout.strip()
    report.data["store"] = {"commits": sizes.store_commits, "output": output, "returncode": done.returncode}
    report.add(f"\n### (d) Store: {sizes.store_commits:,} saves (bench/store_bench.py)\n\n```\n{output}\n"
               + (f"{done.stderr.strip()[-2000:]}\n" if done.returncode else "") + "```")
    figures = _store_figures(output)
    report.data["store"]["figures"] = figures
    for label, key, limit in [("store save p95 < 100 ms", "save (check + commit)", 100),
                              ("store history page < 50 ms (p95)", "history page, rule set", 50),
                              ("store diff < 50 ms (p95)", "diff far apart, rule set", 50),
                              ("store read at a pinned version < 20 ms (cached, p95)", "files() warm", 20)]:
        if key in figures:
            report.target(label, figures[key] < limit, f"p95 {figures[key]:.1f} ms")


def _store_figures(output: str) -> dict[str, float]:
    """{line label: p95 ms} from store_bench's output."""
    import re

    figures = {}
    for line in output.splitlines():
        m = re.match(r"(.+?)\s+p50\s+[\d.]+\s+(?:ms\s+)?p95\s+([\d.]+)", line)
        if m:
            figures[m.group(1).strip()] = float(m.group(2))
    return figures


# ---- (e) server ----------------------------------------------------------------------------------------------------

def bench_server(sizes: Sizes, report: Report) -> None:
    from .server_bench import bench_server as run

    result = run(seconds=sizes.server_seconds)
    report.data["server"] = result
    rows_out = [["predict (one case, latest release)", f"{result['rate']:.0f} (achieved {result['achieved_rate']:.0f})",
                 f"{result['p50_ms']:.1f}", f"{result['p95_ms']:.1f}", f"{result['p99_ms']:.1f}",
                 f"{result['sent_p99_ms']:.1f}", json.dumps(result["statuses"])],
                ["save (GET + PUT of a rule)", "2", f"{result['save_p50_ms']:.0f}", f"{result['save_p95_ms']:.0f}",
                 "-", "-", json.dumps(result["save_statuses"])]]
    report.add(f"\n### (e) Server: HTTP on loopback, `python -m server serve` (gunicorn, {result['workers']} workers), "
               f"{result['seconds']:.0f} s\n\n"
               + _table(["requests", "per s", "p50 ms", "p95 ms", "p99 ms", "p99 from send ms", "statuses"], rows_out)
               + f"\n\nOne request at a time ({result['sequential']['n']:,} on one connection, no load): "
                 f"p50 {result['sequential']['p50_ms']:.2f} ms, p99 {result['sequential']['p99_ms']:.2f} ms; "
                 f"the server's CPU per prediction {result['sequential']['cpu_ms_per_request']:.2f} ms. Under the "
                 f"load the server used {result['server_cpu_share']:.2f} of one core (saves and their Git "
                 f"processes included)."
               + f"\n\nLoad average (1 min) on the machine: {result['load_before'][0]:.1f} before, "
                 f"{result['load_after'][0]:.1f} after (2 cores; the server, the load generator and anything else "
                 f"running share them)."
               + ("\n\nErrors: " + "; ".join(result["errors"]) if result["errors"] else ""))
    report.target("server predict p99 < 10 ms at 200 req/s with saves at 2/s", result["p99_ms"] < 10,
                  f"p99 {result['p99_ms']:.1f} ms (from send {result['sent_p99_ms']:.1f} ms)")


# ---- issue 6: RuleFeatures and FallbackPredictor -------------------------------------------------------------------

def bench_ml(sizes: Sizes, report: Report) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "ml_bench.py"), "--rows", str(sizes.ml_rows),
                           "--cases", "20000" if sizes.ml_rows >= 1_000_000 else "5000"],
                          cwd=ROOT, capture_output=True, text=True, timeout=3600)
    output = done.stdout.strip()
    report.data["ml"] = {"output": output, "returncode": done.returncode}
    report.add(f"\n### RuleFeatures and FallbackPredictor (bench/ml_bench.py, {sizes.ml_rows:,} rows)\n\n"
               f"```\n{output}\n"
               + (f"{done.stderr.strip()[-2000:]}\n" if done.returncode else "") + "```")
    import re

    m = re.search(r"RuleFeatures\.transform\s+[\d.]+ s .*?ratio to matches\s+([\d.]+)", output)
    if m:
        report.target("RuleFeatures.transform within 2x of the vectorized evaluator", float(m.group(1)) <= 2,
                      f"ratio {m.group(1)}")
    m = re.search(r"overhead per case.*?\s([\d.]+) us", output)
    if m:
        report.target("FallbackPredictor overhead < 100 us per case", float(m.group(1)) < 100, f"{m.group(1)} us")
    m = re.search(r"slow primary \(50 ms\), deadline 10 ms.*?p99 ([\d.]+) ms", output)
    if m:
        report.target("FallbackPredictor deadline + 2 ms at p99", float(m.group(1)) <= 12, f"p99 {m.group(1)} ms")


# ---- the machine -----------------------------------------------------------------------------------------------------

def machine() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    cpu = platform.processor()
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout.splitlines():
            if line.startswith("Model name:"):
                cpu = line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    packages = {}
    for name in ("rulecraft", "numpy", "pandas", "pyarrow", "numexpr", "lark", "flask", "gunicorn", "scikit-learn",
                 "zen-engine", "rule-engine", "json-logic-qubit", "snorkel", "torch"):
        with contextlib.suppress(PackageNotFoundError):
            packages[name] = version(name)
    import pandas as pd

    commit = ""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        commit += " (with uncommitted changes)" if dirty else ""
    except (OSError, subprocess.SubprocessError):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "commit": commit or "unknown",
            "string_storage": pd.options.mode.string_storage,
            "platform": platform.platform(), "load": os.getloadavg(), "packages": packages,
            "date": time.strftime("%Y-%m-%d %H:%M %Z")}


def run(mode: str = "full", suites=SUITES, only: set[str] | None = None, json_path: Path | None = None,
        forms: list[str] | None = None) -> Report:
    sizes = SIZES[mode]
    report = Report()
    info = machine()
    forms = list(FORMS) if forms is None else forms
    skipped_forms = {}
    arrow_forms = [f for f in forms if f in ("arrow str", "arrow dtype")]
    if arrow_forms:
        try:
            import pyarrow  # noqa: F401
        except ImportError as e:
            skipped_forms.update({f: f"pyarrow not installed ({e})" for f in arrow_forms})
            forms = [f for f in forms if f not in arrow_forms]
    report.data["machine"] = info
    report.data["mode"] = mode
    report.add(f"## Rulecraft benchmark ({mode}), {info['date']}\n\n"
               f"Code: commit {info['commit']}.\n"
               f"Machine: {info['cpu']}, {info['cores']} cores, Python {info['python']}, {info['platform']}; "
               f"load average at start {', '.join(f'{x:.1f}' for x in info['load'])}.\n"
               f"Packages: {', '.join(f'{k} {v}' for k, v in info['packages'].items())}; pandas' default string "
               f"storage: {info['string_storage']}.\n"
               f"Data forms: {'; '.join(f'**{f}**: {FORMS[f]}' for f in forms)}.")
    rules = generate_rules(50)
    ruleset = compile_ruleset(rules)
    engines, skipped = E.build(rules, ruleset, only)
    skipped = {**skipped, **{f"form {k}": v for k, v in skipped_forms.items()}}
    report.data["skipped"] = skipped
    report.data["forms"] = {f: FORMS[f] for f in forms}
    report.data["engines"] = {e.name: e.note for e in engines}
    report.add("\nEngines: " + "; ".join(f"**{e.name}**: {e.note}" for e in engines)
               + ("\n\nSkipped: " + "; ".join(f"{k}: {v}" for k, v in skipped.items()) if skipped else ""))
    if "batch" in suites:
        bench_batch(rules, ruleset, engines, sizes, report, forms)
    if "single" in suites:
        bench_single(rules, engines, sizes, report)
    if "compile" in suites:
        bench_compile(sizes, report)
    if "store" in suites and sizes.store_commits:
        bench_store(sizes, report)
    if "server" in suites and sizes.server_seconds:
        bench_server(sizes, report)
    if "ml" in suites and sizes.ml_rows:
        bench_ml(sizes, report)
    if "engines" in suites:
        from .scale_bench import bench_engines

        bench_engines(rules, ruleset, mode, report)
    if report.targets:
        report.add("\n### Targets\n\n" + _table(["target", "met", "figure"],
                                               [[t, {True: "yes", False: "**no**", None: "**not sure**"}[ok], f]
                                                for t, ok, f in report.targets]))
    report.data["targets"] = [{"target": t, "met": ok, "figure": f} for t, ok, f in report.targets]
    if json_path:
        json_path.write_text(json.dumps(report.data, indent=2, default=str))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run the benchmark and print markdown tables")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smaller sizes (a few minutes)")
    size.add_argument("--smoke", action="store_true", help="tiny sizes (seconds); store, server and ML skipped")
    p.add_argument("--suites", default=",".join(SUITES), help=f"comma-separated, from {', '.join(SUITES)}")
    p.add_argument("--only", default="", help="comma-separated engine names to keep (Rulecraft always runs)")
    p.add_argument("--json", type=Path, default=None, help="also write every figure to this JSON file")
    p.add_argument("--forms", default=",".join(FORMS),
                   help=f"comma-separated data forms for the batch suite, from: {', '.join(FORMS)}")
    args = parser.parse_args(argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    suites = {s.strip() for s in args.suites.split(",") if s.strip()}
    unknown = suites - set(SUITES)
    if unknown:
        parser.error(f"unknown suite(s): {', '.join(sorted(unknown))}")
    only = {o.strip() for o in args.only.split(",") if o.strip()} or None
    forms = [f.strip() for f in args.forms.split(",") if f.strip()]
    unknown = [f for f in forms if f not in FORMS]
    if unknown:
        parser.error(f"unknown data form(s): {', '.join(unknown)}; the forms are: {', '.join(FORMS)}")
    run(mode, suites, only, args.json, forms)
    return 0
