"""How long a rule set takes to go to a workbook and back: ``python -m bench.workbook_bench [rules]``.

Rules are the benchmark's generated workload (bench/workload.py: and / or / not / at least N of over 30
features), so rows use feature cells and "other conditions" both. Prints the seconds for reading the same rules
from their folder's files (the baseline), the table, the save and the load (which compiles every rule), the file
size, and whether the bundle hash survived.
"""
from __future__ import annotations

import sys
import time

from bench.workload import compile_ruleset, generate_rules
from rules_dsl import decision_table, workbook
from rules_dsl.bundle import bundle_dict


def main(count: int = 1000) -> dict:
    from rules_dsl.ruleset import ruleset_from_files

    ruleset = compile_ruleset(generate_rules(count))
    folder = workbook.folder_files(ruleset)
    started = time.perf_counter()
    ruleset_from_files(folder, id=ruleset.id)  # the baseline: reading the same rule set from its folder's files
    from_folder = time.perf_counter() - started
    started = time.perf_counter()
    decision_table.table(ruleset)
    table = time.perf_counter() - started
    started = time.perf_counter()
    data = workbook.to_bytes(ruleset)
    saved = time.perf_counter() - started
    started = time.perf_counter()
    files, meta = workbook.read_files(data)
    loaded = time.perf_counter() - started
    back = ruleset_from_files(files, id=meta["rule set"])
    same = bundle_dict(back)["hash"] == bundle_dict(ruleset)["hash"]
    result = {"rules": len(ruleset.rules), "folder_load_s": round(from_folder, 3), "table_s": round(table, 3),
              "save_s": round(saved, 3),
              "load_s": round(loaded, 3), "bytes": len(data), "same_hash": same}
    print(result)
    return result


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
