"""The "engines" suite: Rulecraft's rules on Polars and DuckDB against Rulecraft's NumPy engine and hand-written
DuckDB SQL (issue 16; figures in docs/benchmarks.md).

- Polars: ``RuleSet.with_matches`` on a Polars DataFrame against ``RuleSet.matches_array`` (the NumPy engine) on
  the same data as pandas, 50 rules. Category columns in both libraries' categorical types (pandas ``category``,
  Polars ``Enum``) and as plain text (pandas object, Polars String). Answers compared cell by cell.
- DuckDB: a Parquet file evaluated by ``rulecraft evaluate --engine duckdb`` (Parquet in, Parquet out, in a child
  process, so its peak memory is its own) against the same rules written by hand as DuckDB SQL with the same
  guards (NaN read as NULL, category values trimmed and lower-cased, Kleene logic by SQL's NULL). The two output
  files are compared cell by cell inside DuckDB, and Rulecraft's against the NumPy engine on the first rows.
"""
from __future__ import annotations

import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .workload import CATEGORIES, CATEGORY_VALUES, Cond, Group, Node, Not, generate_frame, ruleset_files
from .workload import AtLeast as AtLeastNode

ROOT = Path(__file__).resolve().parents[1]
SIZES = {"full": (10_000_000, 20_000_000, 3), "quick": (1_000_000, 2_000_000, 3), "smoke": (20_000, 40_000, 1)}


# ---- hand-written DuckDB SQL -------------------------------------------------------------------------------------

def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(float(value))


def _column(c: str) -> str:
    if c in CATEGORIES:
        return f"lower(trim({_q(c)}))"
    return f"(CASE WHEN isnan({_q(c)}) THEN NULL ELSE {_q(c)} END)"


def hand_sql(node: Node) -> str:
    """What a careful engineer writes: SQL's own three-valued logic, NaN guarded, categories trimmed/lowered."""
    if isinstance(node, Not):
        return f"(NOT {hand_sql(node.item)})"
    if isinstance(node, Group):
        return "(" + (" AND " if node.kind == "all" else " OR ").join(hand_sql(i) for i in node.items) + ")"
    if isinstance(node, AtLeastNode):
        true = " + ".join(f"COALESCE({hand_sql(i)}, FALSE)::INT" for i in node.items)
        maybe = " + ".join(f"COALESCE({hand_sql(i)}, TRUE)::INT" for i in node.items)
        return f"(CASE WHEN {true} >= {node.count} THEN TRUE WHEN {maybe} < {node.count} THEN FALSE END)"
    c: Cond = node
    x = _column(c.column)
    if c.op == "missing":
        return f"({_q(c.column)} IS NULL OR {x} IS NULL)"
    if c.op == "known":
        return f"({x} IS NOT NULL)"
    if c.op == "between":
        return f"({x} BETWEEN {_lit(c.value[0])} AND {_lit(c.value[1])})"
    if c.op in ("in", "not_in"):
        inside = f"{x} IN ({', '.join(_lit(v.lower() if isinstance(v, str) else v) for v in c.value)})"
        return f"({inside})" if c.op == "in" else f"(NOT ({inside}))"
    value = c.value.lower() if isinstance(c.value, str) else c.value
    op = {"gt": ">", "lt": "<", "ge": ">=", "le": "<=", "eq": "=", "ne": "<>"}[c.op]
    return f"({x} {op} {_lit(value)})"


# ---- helpers -----------------------------------------------------------------------------------------------------

def _paired(base: list[float], other: list[float]) -> dict[str, float]:
    ratios = [b / o for b, o in zip(base, other)]
    return {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)}


def _run_child(code: str) -> str:
    """The standard output of a Python child process (RuntimeError with its error output when it fails)."""
    child = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
    if child.returncode != 0:
        raise RuntimeError(f"child failed: {child.stderr[-2000:]}")
    return child.stdout


def _peak_of(code: str) -> tuple[float, float, str]:
    """(seconds, peak resident memory in MB, standard output) of ``code`` run in a fresh process, measured by a
    parent of its own (RUSAGE_CHILDREN is the largest child so far, so each measurement needs a fresh parent)."""
    wrapper = ("import resource, subprocess, sys, time\n"
               f"t = time.perf_counter(); r = subprocess.run([sys.executable, '-c', {code!r}], capture_output=True, "
               "text=True)\n"
               "s = time.perf_counter() - t\n"
               "assert r.returncode == 0, r.stderr[-2000:]\n"
               "print(s, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n"
               "print(r.stdout, end='')")
    out = _run_child(wrapper)
    first, _, rest = out.partition("\n")
    seconds, peak = map(float, first.split())
    return seconds, peak, rest


# ---- the suite ---------------------------------------------------------------------------------------------------

def bench_engines(rules, ruleset, mode: str, report) -> None:
    try:
        import duckdb  # noqa: F401
        import polars  # noqa: F401
    except ImportError as e:
        report.add(f"\n### Engines\n\nSkipped: {e} (pip install -e '.[engines]').")
        return
    polars_rows, duckdb_rows, rounds = SIZES[mode]
    report.data["engines"] = {}
    _bench_polars(ruleset, polars_rows, rounds, report)
    gc.collect()
    _bench_duckdb(rules, ruleset, duckdb_rows, rounds, report)


def _bench_polars(ruleset, n_rows: int, rounds: int, report) -> None:
    import polars as pl

    base = generate_frame(n_rows)
    frames = {"categorical": (base.astype({c: "category" for c in CATEGORIES}), None),
              "text": (base, None)}
    polars_frames = {"categorical": pl.from_pandas(base).cast({c: pl.Enum(v) for c, v in CATEGORY_VALUES.items()}),
                     "text": pl.from_pandas(base)}
    reference = ruleset.matches_array(base)
    results = {}
    for form in frames:
        pandas_frame, polars_frame = frames[form][0], polars_frames[form]
        out = ruleset.with_matches(polars_frame, prefix="m_")  # warm-up and the check
        got = out.select([f"m_{i}" for i in ruleset.rule_ids]).to_numpy()
        bad = int(np.count_nonzero(got != reference))
        del out, got
        numpy_times, polars_times = [], []
        for _ in range(rounds):
            gc.collect()
            t = time.perf_counter()
            ruleset.matches_array(pandas_frame)
            numpy_times.append(time.perf_counter() - t)
            gc.collect()
            t = time.perf_counter()
            ruleset.with_matches(polars_frame, prefix="m_")
            polars_times.append(time.perf_counter() - t)
        results[form] = {"numpy_seconds": numpy_times, "polars_seconds": polars_times, "mismatches": bad,
                         "speedup": _paired(numpy_times, polars_times),
                         "pandas_dtype": str(pandas_frame[CATEGORIES[0]].dtype),
                         "polars_dtype": str(polars_frame.schema[CATEGORIES[0]])}
    report.data["engines"]["polars"] = {"rows": n_rows, "rules": len(ruleset.rule_ids), "forms": results}
    lines = [f"\n### Engines: Polars against the NumPy engine ({n_rows:,} rows x {len(ruleset.rule_ids)} rules, "
             f"{rounds} paired rounds, load average {os.getloadavg()[0]:.1f})\n",
             "| categories as | NumPy engine (pandas) | Polars engine | Polars speed-up (median, min-max) | "
             "cells differing |", "|---|---|---|---|---|"]
    for r in results.values():
        s = r["speedup"]
        lines.append(f"| {r['pandas_dtype']} / {r['polars_dtype']} | {statistics.median(r['numpy_seconds']):.2f} s "
                     f"| {statistics.median(r['polars_seconds']):.2f} s | {s['median']:.2f}x "
                     f"({s['min']:.2f}-{s['max']:.2f}) | {r['mismatches']} |")
    report.add("\n".join(lines))
    cat = results["categorical"]
    report.target(f"Polars engine at least 2x the NumPy engine, {n_rows:,} rows x 50 rules (category / Enum)",
                  cat["speedup"]["min"] >= 2 if cat["speedup"]["max"] >= 2 else False,
                  f"{cat['speedup']['median']:.2f}x median; text columns: {results['text']['speedup']['median']:.2f}x")
    report.target("Polars answers equal the NumPy engine's, cell by cell",
                  all(r["mismatches"] == 0 for r in results.values()),
                  ", ".join(f"{f}: {r['mismatches']} cells differ" for f, r in results.items()))


def _write_parquet(path: Path, n_rows: int, chunk: int = 2_000_000) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    for i, start in enumerate(range(0, n_rows, chunk)):
        frame = generate_frame(min(chunk, n_rows - start), seed=11 + i)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
        del frame, table
        gc.collect()
    writer.close()


def _bench_duckdb(rules, ruleset, n_rows: int, rounds: int, report) -> None:
    import duckdb

    with tempfile.TemporaryDirectory(prefix="rulecraft-engines-") as tmp:
        folder = Path(tmp)
        data = folder / "cases.parquet"
        _write_parquet(data, n_rows)
        rules_folder = folder / "rules"
        for name, content in ruleset_files(rules).items():
            (rules_folder / name).parent.mkdir(parents=True, exist_ok=True)
            (rules_folder / name).write_bytes(content)
        hand = ", ".join(f"COALESCE({hand_sql(r.condition)}, FALSE)::TINYINT AS {_q(r.id)}" for r in rules)
        # each child prints the seconds of its evaluation alone (imports and loading the rules excluded: a few
        # seconds of Python start-up on this loaded machine would drown the comparison at small sizes)
        rulecraft_code = ("import time, rules_dsl; from rules_dsl.engines import evaluate_file; "
                          f"r = rules_dsl.load({str(rules_folder)!r}); t = time.perf_counter(); "
                          f"evaluate_file(r, 'duckdb', {str(data)!r}, {str(folder / 'rulecraft.parquet')!r}, [], "
                          "False); print(time.perf_counter() - t)")
        hand_code = ("import time, duckdb; c = duckdb.connect(); c.sql(\"SET memory_limit = '1GB'\"); "
                     f"t = time.perf_counter(); c.read_parquet({str(data)!r}).project({hand!r})"
                     f".write_parquet({str(folder / 'hand.parquet')!r}); print(time.perf_counter() - t)")
        times = {"rulecraft": [], "hand": []}
        peaks = {"rulecraft": [], "hand": []}
        process = {"rulecraft": [], "hand": []}  # the whole process, start-up included
        for round_ in range(rounds):
            order = [("rulecraft", rulecraft_code), ("hand", hand_code)]
            for name, code in order if round_ % 2 == 0 else reversed(order):
                seconds, peak, out = _peak_of(code)
                times[name].append(float(out.split()[-1]))
                process[name].append(seconds)
                peaks[name].append(peak)
        ids = [r.id for r in rules]
        connection = duckdb.connect()
        differ = " + ".join(f"(a.{_q(i)} <> b.{_q(i)})::BIGINT" for i in ids)
        bad = connection.sql(f"SELECT sum({differ}) FROM read_parquet('{folder / 'rulecraft.parquet'}') a "
                             f"POSITIONAL JOIN read_parquet('{folder / 'hand.parquet'}') b").fetchone()[0]
        sample_rows = min(n_rows, 200_000)
        sample = connection.read_parquet(str(data)).limit(sample_rows).df()
        mine = connection.read_parquet(str(folder / "rulecraft.parquet")).limit(sample_rows).fetchnumpy()
        numpy_check = int(np.count_nonzero(np.stack([mine[i].astype(bool) for i in ruleset.rule_ids], axis=1)
                                           != ruleset.matches_array(sample)))
        size_mb = data.stat().st_size / 1e6
    ratio = _paired(times["rulecraft"], times["hand"])  # Rulecraft time / hand-written time
    report.data["engines"]["duckdb"] = {"rows": n_rows, "parquet_mb": size_mb, "seconds": times, "peak_mb": peaks,
                                        "process_seconds": process,
                                        "time_ratio_to_hand_sql": ratio, "cells_differing_from_hand_sql": bad,
                                        "cells_differing_from_numpy_first_rows": numpy_check}
    report.add(f"\n### Engines: DuckDB on a Parquet file ({n_rows:,} rows, {size_mb:.0f} MB, 50 rules; Parquet "
               f"out; {rounds} rounds, each in a fresh process)\n\n"
               "| | evaluation (median) | whole process (median) | peak memory (max) |\n|---|---|---|---|\n"
               f"| Rulecraft, DuckDB engine (`evaluate_file`, as `rulecraft evaluate --engine duckdb`) "
               f"| {statistics.median(times['rulecraft']):.2f} s | {statistics.median(process['rulecraft']):.2f} s "
               f"| {max(peaks['rulecraft']):.0f} MB |\n"
               f"| hand-written DuckDB SQL, same guards | {statistics.median(times['hand']):.2f} s "
               f"| {statistics.median(process['hand']):.2f} s | {max(peaks['hand']):.0f} MB |\n\n"
               f"Rulecraft time / hand-written time: {ratio['median']:.2f} (min {ratio['min']:.2f}, max "
               f"{ratio['max']:.2f}). Cells differing from the hand-written SQL: {bad}; from the NumPy engine on the "
               f"first {sample_rows:,} rows: {numpy_check}.")
    report.target(f"DuckDB on {n_rows:,} Parquet rows within 1.5x of hand-written DuckDB SQL",
                  ratio["max"] <= 1.5 if ratio["median"] <= 1.5 else False, f"{ratio['median']:.2f}x median")
    report.target("DuckDB peak memory under 1 GB", max(peaks["rulecraft"]) < 1024,
                  f"{max(peaks['rulecraft']):.0f} MB")
    report.target("DuckDB answers equal hand-written SQL and the NumPy engine, cell by cell",
                  bad == 0 and numpy_check == 0, f"{bad} and {numpy_check} cells differ")


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.scale_bench --polars-rows 10000000 --duckdb-rows 0``: one part of the suite at any size."""
    import argparse

    from .run import Report
    from .workload import compile_ruleset, generate_rules

    parser = argparse.ArgumentParser(prog="python -m bench.scale_bench", description=main.__doc__)
    parser.add_argument("--polars-rows", type=int, default=SIZES["full"][0], help="0 skips the Polars part")
    parser.add_argument("--duckdb-rows", type=int, default=SIZES["full"][1], help="0 skips the DuckDB part")
    parser.add_argument("--rounds", type=int, default=SIZES["full"][2])
    args = parser.parse_args(argv)
    rules = generate_rules(50)
    ruleset = compile_ruleset(rules)
    report = Report()
    report.data["engines"] = {}
    if args.polars_rows:
        _bench_polars(ruleset, args.polars_rows, args.rounds, report)
    if args.duckdb_rows:
        _bench_duckdb(rules, ruleset, args.duckdb_rows, args.rounds, report)
    for target, met, figure in report.targets:
        print(f"- {target}: {'met' if met else 'NOT met'} ({figure})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
