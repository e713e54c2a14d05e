"""How long one check of an edited decision table takes (the Table page's live check), at 1,000 rules.

    python -m bench.table_check_bench [--rules 1000]

A throw-away data folder (SQLite + a local repository) gets the seeded benchmark workload (bench/workload.py) as a
rule set; its table is read as the Table page reads it, then checked as the editor sends it after one edit (one
priority changed): the first check, and the median of five more. Figures go to docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from server import auth
from server.lifecycle import open_runtime
from server.services import tables, workbooks
from server.services.rules import import_ruleset

from . import workload


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=1000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        runtime = open_runtime({"DATA_DIR": Path(folder) / "data"})
        try:
            with runtime.sessions() as db:
                user = auth.create_user(db, "Bench", "author", "a long password 1", "bench@example.org")
                db.commit()
                ruleset = workload.compile_ruleset(workload.generate_rules(args.rules))
                ruleset_id, _ = import_ruleset(runtime.workspace, db, user, ruleset, "Bench")
            ws = runtime.workspace
            table = workbooks.table(ws, ruleset_id, None)
            columns, rows = table["columns"], table["rows"]
            rows[len(rows) // 2][columns.index("priority")] = 12345
            times = []
            for _ in range(6):
                started = time.perf_counter()
                answer = tables.check(ws, ruleset_id, {"columns": columns, "rows": rows})
                times.append(time.perf_counter() - started)
            assert answer["ok"] and answer["summary"]["changed"] == 1, answer["problems"][:3]
            print(f"check of an edited table of {args.rules} rules: first {times[0]:.2f} s, "
                  f"then median {statistics.median(times[1:]):.2f} s")
        finally:
            runtime.store.close()
            runtime.sessions.kw["bind"].dispose()


if __name__ == "__main__":
    main()
