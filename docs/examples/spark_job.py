"""A pinned, signature-checked Rulecraft release on a Spark cluster: rule columns and decisions into a table.

    spark-submit --py-files rulecraft.zip docs/examples/spark_job.py \\
        --bundle breast-mass-triage-v3.json --key signing-key.pem \\
        --input s3://lake/cases/ --output s3://lake/cases_scored/ [--table scored_cases]

- ``--bundle``: the release's bundle file (``rulecraft export`` or ``GET /api/rulesets/<id>/bundle?version=v3``);
- ``--key``: the server's public key as PEM (``GET /api/signing-key``); a bundle it did not sign, or one changed
  after signing, is refused before any data is read;
- ``--input``: Parquet with one column per vocabulary feature (the data column names);
- ``--output``: where the input comes back as Parquet with one boolean column per rule (``rule_<id>``) and the
  columns ``decision``, ``deciding_rule`` and ``confidence``; ``--table`` saves it as a table instead.

Rules run as native Spark Column expressions (no Python UDF), so executors need only the JVM: rules_dsl is imported
on the driver, where the expressions are built.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # runs from a checkout without installing

import rules_dsl  # noqa: E402
from rules_dsl.engines import spark as rule_engine  # noqa: E402


def score(spark, bundle: str, key: str, source: str, output: str, table: str | None = None) -> rules_dsl.RuleSet:
    """Read ``source``, add the rules' columns and decisions, write them; returns the rule set that ran."""
    ruleset = rules_dsl.read_bundle(bundle, public_key=Path(key).read_text())  # BundleError if not signed by key
    cases = spark.read.parquet(source)
    scored = rule_engine.with_decisions(ruleset, rule_engine.with_matches(ruleset, cases, prefix="rule_"))
    writer = scored.write.mode("overwrite")
    if table:
        writer.saveAsTable(table)
    else:
        writer.parquet(output)
    return ruleset


def main(argv: list[str] | None = None) -> int:
    from pyspark.sql import SparkSession

    p = argparse.ArgumentParser(description="Run a signed Rulecraft bundle over a Parquet data set on Spark.")
    p.add_argument("--bundle", required=True)
    p.add_argument("--key", required=True, help="the server's public key (PEM), from GET /api/signing-key")
    p.add_argument("--input", required=True)
    p.add_argument("--output", help="Parquet folder to write")
    p.add_argument("--table", help="a table name to save as, instead of --output")
    args = p.parse_args(argv)
    if not (args.output or args.table):
        p.error("give --output (a Parquet folder) or --table (a table name)")
    # Spark's advice for HotSpot JVMs: a stage whose generated method is too large for the JIT compiler (a few dozen
    # rules) falls back to code the JVM compiles, instead of running in its interpreter (docs/scale.md).
    spark = (SparkSession.builder.appName("rulecraft-score")
             .config("spark.sql.codegen.hugeMethodLimit", "8000").getOrCreate())
    ruleset = score(spark, args.bundle, args.key, args.input, args.output, args.table)
    print(f"scored with {ruleset.id} {ruleset.release or ruleset.version} (bundle {ruleset.bundle_hash}, "
          f"signed by {ruleset.signed_by})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
