"""Spark benchmark (issue 16): Rulecraft's Column expressions against hand-written Spark SQL and against the NumPy
engine applied through mapInPandas, on Spark local[2].

    python -m bench.spark_bench                      # 2,000,000 rows x 50 rules; several minutes on 2 cores
    python -m bench.spark_bench --rows 200000 --rounds 1
    python -m bench.spark_bench --conf spark.driver.extraJavaOptions=-XX:-DontCompileHugeMethods

The workload is the batch suite's (bench/workload.py: 50 rules over 14 number and 6 category columns, ~2% of the
numbers and ~1% of the categories missing), written once as Parquet, read by Spark into 4 partitions and cached,
so every contender reads the same in-memory rows. Each contender computes the 50 rule columns of every row and
hands them to Spark's ``noop`` sink (everything is computed, nothing is written), under Spark's default settings
and with ``spark.sql.codegen.hugeMethodLimit=8000`` (``SETTINGS``), all interleaved; the median of ``--rounds``
counts. Contenders:
- Rulecraft: ``rules_dsl.engines.spark.with_matches`` (native Columns, categories matched by key);
- hand-written Spark SQL: the same rules as a careful person writes them in SQL text, with the same guards
  (NULL and NaN are missing; ``not`` and ``at least`` on the two rails), categories compared as spelt;
- NumPy engine through mapInPandas: each Arrow batch becomes a pandas frame and ``RuleSet.matches`` evaluates it
  in the Python workers (what a team without a native engine writes).
Targets: Rulecraft within 1.25x of the hand-written SQL, and at least 5x faster than mapInPandas. Answers are
checked cell by cell on the first ``--check-rows`` rows: all three against the pandas engine.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.translate import Dialect  # noqa: E402
from bench.workload import (  # noqa: E402
    CATEGORIES,
    compile_ruleset,
    generate_frame,
    generate_rules,
    is_number,
)


class SparkSqlDialect(Dialect):
    """Spark SQL text. NULL compares as unknown and NaN as a number larger than every other, so numbers are
    guarded with ``isnan``; ``at least`` is a sum of 0/1."""

    counts = True

    def var(self, column):
        return f"`{column}`"

    def and_(self, parts):
        return "(" + " AND ".join(parts) + ")" if len(parts) > 1 else parts[0]

    def or_(self, parts):
        return "(" + " OR ".join(parts) + ")" if len(parts) > 1 else parts[0]

    def known(self, column):
        if is_number(column):
            return f"({self.var(column)} IS NOT NULL AND NOT isnan({self.var(column)}))"
        return f"{self.var(column)} IS NOT NULL"

    def missing(self, column):
        if is_number(column):
            return f"({self.var(column)} IS NULL OR isnan({self.var(column)}))"
        return f"{self.var(column)} IS NULL"

    def cmp(self, column, op, value):
        return f"{self.var(column)} {'=' if op == '==' else op} {value}"

    def member(self, column, values):
        return f"{self.var(column)} IN ({', '.join(values)})"

    def value(self, column, v):
        return repr(float(v)) if is_number(column) else "'" + str(v).replace("'", "''") + "'"

    def not_(self, expr):
        return f"NOT ({expr})"

    def at_least(self, count, parts):
        return "(" + " + ".join(f"CAST({p} AS INT)" for p in parts) + f") >= {count}"

    def cond(self, c, want):
        # The base class leaves "x = v" and "x IN (...)" unguarded (false for a missing value in NumPy); in SQL they
        # are NULL, which would poison a count of "at least N of": guarded like every other comparison.
        expr = super().cond(c, want)
        if c.op in ("eq", "in", "ne", "not_in") and not expr.startswith(f"({self.known(c.column)}"):
            return self.and_([self.known(c.column), expr])
        return expr


def spark_session(cores: int = 2, conf: dict[str, str] | None = None):
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    return (SparkSession.builder.master(f"local[{cores}]").appName("rulecraft-bench")
            .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.memory", "3g")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
            .config(map=conf or {}).getOrCreate())


def contenders(rules, ruleset, frame):
    """{name: function(frame) -> Spark frame of row_id + one boolean column per rule}."""
    from pyspark.sql import types as T

    from rules_dsl.engines.spark import with_matches

    ids = [r.id for r in rules]
    dialect = SparkSqlDialect()
    sql = [f"{dialect.rail(r.condition, True)} AS `{r.id}`" for r in rules]
    schema = T.StructType([T.StructField("row_id", T.LongType())] + [T.StructField(i, T.BooleanType()) for i in ids])

    def numpy_batches(batches):
        for batch in batches:
            fired = ruleset.matches(batch)
            fired.insert(0, "row_id", batch["row_id"].to_numpy())
            yield fired

    return {
        "Rulecraft Spark Columns": lambda f: with_matches(ruleset, f).select("row_id", *[f"`{i}`" for i in ids]),
        "hand-written Spark SQL": lambda f: f.selectExpr("row_id", *sql),
        "NumPy engine via mapInPandas": lambda f: f.mapInPandas(numpy_batches, schema),
    }


def one_run(make, frame) -> float:
    start = time.perf_counter()
    make(frame).write.format("noop").mode("overwrite").save()
    return time.perf_counter() - start


# Runtime settings compared in one run (the session's own settings apply to both): Spark's defaults, and the limit
# Spark's documentation advises for HotSpot (generated methods small enough for the JIT compiler).
SETTINGS = {"default": {}, "hugeMethodLimit=8000": {"spark.sql.codegen.hugeMethodLimit": "8000"}}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=2_000_000)
    p.add_argument("--rules", type=int, default=50)
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds after a warm-up; the median counts")
    p.add_argument("--check-rows", type=int, default=100_000)
    p.add_argument("--settings", default=",".join(SETTINGS), help=f"which of {', '.join(SETTINGS)} to run")
    p.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                   help="a Spark setting for the whole session, e.g. "
                        "spark.driver.extraJavaOptions=-XX:-DontCompileHugeMethods (see docs/scale.md)")
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")  # PySpark 4.x, pandas 3
    from rules_dsl.engines.spark import jit_compiles_stages

    rules = generate_rules(args.rules)
    ruleset = compile_ruleset(rules)
    data = generate_frame(args.rows)
    data.insert(0, "row_id", np.arange(len(data), dtype=np.int64))
    spark = spark_session(conf=dict(item.split("=", 1) for item in args.conf))
    spark.sparkContext.setLogLevel("ERROR")
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "cases.parquet")
        data.to_parquet(path, index=False)
        frame = spark.read.parquet(path).repartition(4).cache()
        frame.count()
        print(f"{args.rows:,} rows x {len(rules)} rules ({len(CATEGORIES)} category columns), Spark "
              f"{spark.version} local[2], median of {args.rounds} interleaved rounds; load "
              f"{os.getloadavg()[0]:.1f}; session settings {args.conf or 'default'}")
        runs = contenders(rules, ruleset, frame)
        check = frame.where(f"row_id < {args.check_rows}")
        sample = data.iloc[:args.check_rows]
        expected = ruleset.matches(sample.drop(columns="row_id")).to_numpy()
        chosen = [setting for setting in SETTINGS if setting in args.settings.split(",")]
        pairs = [(setting, name) for setting in chosen for name in runs]
        for setting, name in pairs:
            with settings(spark, SETTINGS[setting]):
                got = runs[name](check).orderBy("row_id").toPandas()
                if name.startswith("Rulecraft"):
                    form = "rails" if jit_compiles_stages(spark) else "compact"
            differ = int((got[[r.id for r in rules]].to_numpy(dtype=bool) != expected).sum())
            print(f"  answers on {len(sample):,} rows, {setting}, {name}: {differ} cells differ from the pandas "
                  f"engine" + (f" ({form} form)" if name.startswith("Rulecraft") else ""))
            assert differ == 0, name
        seconds = {pair: [] for pair in pairs}
        for round_ in range(args.rounds + 1):  # round 0 warms up (code generated and compiled), not counted
            for setting, name in pairs if round_ % 2 else pairs[::-1]:
                with settings(spark, SETTINGS[setting]):
                    took = one_run(runs[name], frame)
                if round_:
                    seconds[setting, name].append(took)
        print(f"  load after: {os.getloadavg()[0]:.1f}")
        for setting in chosen:
            median = {name: statistics.median(seconds[setting, name]) for name in runs}
            for name in runs:
                times = ", ".join(f"{t:.2f}" for t in seconds[setting, name])
                print(f"  {setting:22s} {name:30s} {median[name]:7.2f} s ({times})  "
                      f"{args.rows / median[name] / 1e6:6.2f} M rows/s")
            ours, sql = median["Rulecraft Spark Columns"], median["hand-written Spark SQL"]
            udf = median["NumPy engine via mapInPandas"]
            print(f"  {setting}: Rulecraft / hand-written SQL time {ours / sql:.2f}x (target <= 1.25x: "
                  f"{'met' if ours <= 1.25 * sql else 'NOT met'}); mapInPandas / Rulecraft time {udf / ours:.1f}x "
                  f"(target >= 5x: {'met' if udf >= 5 * ours else 'NOT met'}); mapInPandas / hand-written SQL "
                  f"{udf / sql:.1f}x")
        frame.unpersist()
    spark.stop()
    return 0


@contextlib.contextmanager
def settings(spark, values: dict[str, str]):
    before = {key: spark.conf.get(key, None) for key in values}
    for key, value in values.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


if __name__ == "__main__":
    sys.exit(main())
