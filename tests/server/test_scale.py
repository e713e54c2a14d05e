"""What must stay fast as a rule set grows (issue 13, item 17): the rule list asks Git once, not once per rule."""
from __future__ import annotations

API = "/api/rulesets/sepsis-triage"


def test_listing_rules_after_a_save_starts_one_git_walk_whatever_the_number_of_rules(ws):
    store = ws.app.extensions["rulecraft.store"]
    api = ws.as_("Ana")
    for i in range(40):
        created = api.post(f"{API}/rules", json={"text": f'rule "Fever {i}"\nwhen temperature is above {36 + i / 10}',
                                                 "why": "more"})
        assert created.status_code == 201, created.get_json()
    assert len(api.get(f"{API}/rules").get_json()["rules"]) == 42
    rule = api.get(f"{API}/rules/fever-7")
    saved = api.put(f"{API}/rules/fever-7", json={"text": rule.get_json()["text"].replace("36.7", "36.8"),
                                                  "why": "adjusted"}, headers={"If-Match": rule.headers["ETag"]})
    assert saved.status_code == 200, saved.get_json()
    started = store.git_processes
    listed = api.get(f"{API}/rules").get_json()["rules"]
    assert store.git_processes - started <= 1  # one walk of the history (was one per rule: 42)
    changes = {r["id"]: r["last_change"] for r in listed}
    assert changes["fever-7"]["why"] == "adjusted" and changes["fever-7"]["version"] == saved.get_json()["version"]
    assert changes["fever-6"]["why"] == "more" and changes["sirs"]["why"] == "Start"


def test_the_store_benchmark_times_the_rule_list_after_a_save():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "bench/store_bench.py", "--list-rules", "60", "--commits", "5",
                             "--repeat", "3", "--compare"], cwd=root, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for label in ("first list (new store)", "right after a save", "read again (same version)", "former: a query"):
        assert label in result.stdout, result.stdout
