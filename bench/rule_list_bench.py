"""The rule list of a large rule set, right after a save, through the whole app (issue 13, item 17).

    python bench/rule_list_bench.py [--rules 5000] [--saves 5]

Builds a throw-away data folder (``make_workspace``), imports one rule set of ``--rules`` rules as Ana, then times
``GET /api/rulesets/<id>/rules`` (every rule with who changed it last, when and why) in this process through the
Flask test client: once cold, then right after each of ``--saves`` saves of one rule. Target: under 1 s for 5,000
rules right after a save. Prints wall time and this process's CPU time (which a busy shared machine changes less).
Writes nothing outside its temporary folder.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rules_dsl  # noqa: E402
from bench.reliability.harness import FIXTURE, make_workspace  # noqa: E402
from server import auth, create_app  # noqa: E402
from server.db import get_db  # noqa: E402
from server.services.rules import import_ruleset  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=5000)
    parser.add_argument("--saves", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rulecraft-bench-") as tmp:
        ws = make_workspace(Path(tmp) / "data")
        folder = Path(tmp) / "big"
        shutil.copytree(FIXTURE, folder)
        for old in (folder / "rules").iterdir():
            old.unlink()
        for i in range(args.rules):
            (folder / "rules" / f"fever-{i}.rule").write_text(
                f'rule "Fever {i}"\nwhen temperature is above {36 + (i % 50) / 10} and heart rate is above '
                f'{60 + i % 90}\nthen sepsis risk is "high"\n')
        (folder / "ruleset.yaml").write_text((FIXTURE / "ruleset.yaml").read_text().replace("Sepsis", "Large"))
        app = create_app({"DATA_DIR": ws.data_dir, "SECRET_KEY": "bench", "TESTING": True})
        started = time.perf_counter()
        with app.app_context():
            db = get_db()
            ruleset, _ = import_ruleset(app.extensions["rulecraft.workspace"], db, auth.find_user(db, "Ana"),
                                        rules_dsl.load(folder), "Import a large rule set")
        print(f"{args.rules:,} rules imported in {time.perf_counter() - started:.1f} s", flush=True)
        client, headers = app.test_client(), {"Authorization": f"Bearer {ws.tokens['Ana']}"}
        path = f"/api/rulesets/{ruleset}/rules"

        cpu = []

        def listed() -> float:
            start, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(path, headers=headers)
            wall = time.perf_counter() - start
            cpu.append(time.process_time() - started_cpu)  # this process only: Git's share is not in it
            assert response.status_code == 200 and len(response.get_json()["rules"]) == args.rules
            return wall

        print(f"first list (compiles every rule)  {listed():.2f} s (cpu {cpu[-1]:.2f} s)", flush=True)
        after = []
        for k in range(args.saves):
            rule = client.get(f"{path}/fever-{k * 7}", headers=headers)
            text = rule.get_json()["text"].replace('"high"', '"low"')
            saved = client.put(f"{path}/fever-{k * 7}", json={"text": text, "why": "bench"},
                               headers={**headers, "If-Match": rule.headers["ETag"]})
            assert saved.status_code == 200, saved.get_json()
            after.append(listed())
        print(f"right after a save                median {statistics.median(after):.2f} s, max {max(after):.2f} s "
              f"({', '.join(f'{x:.2f}' for x in after)}); cpu median {statistics.median(cpu[1:]):.2f} s")
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"machine load (1, 5, 15 min): {load} on {os.cpu_count()} cores")
        app.extensions["rulecraft.store"].close()
        app.extensions["rulecraft.engine"].dispose()


if __name__ == "__main__":
    main()
