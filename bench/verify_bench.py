"""How long rules_dsl.verify takes: the whole report for 1,000 rules, and the findings for one edited rule.

    python -m bench.verify_bench [--rules 1000]

The rules are the seeded benchmark workload (bench/workload.py: 20 features, and / or / at least N of / not),
verified under its own policy (weighted vote) and again under first match, where unreachable rules are looked for
too. "one rule" is verify_rule on a draft that replaces one rule, timed cold (first call) and warm (median of 5).
Figures go to docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import collections
import dataclasses
import statistics
import time

from rules_dsl import compile_rule
from rules_dsl import verify as verification
from rules_dsl.ruleset import RuleSet
from rules_dsl.verify import verify, verify_rule
from rules_dsl.vocabulary import Policy

from . import workload


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=1000)
    args = parser.parse_args(argv)
    base = workload.compile_ruleset(workload.generate_rules(args.rules))
    first_call = True
    for policy in ("weighted vote", "first match"):
        settings = dataclasses.replace(base.settings, policy=Policy(policy, None))
        ruleset = RuleSet(settings, base.vocabulary, base.rules)
        if first_call:  # the very first call of the process: nothing verified before, in any way
            first_call = False
            started = time.perf_counter()
            verify_rule(ruleset, _draft(ruleset))
            print(f"{policy}: one edited rule, first call in the process {(time.perf_counter() - started) * 1000:.0f}"
                  " ms")
        verification._RAILS.clear()  # each policy's whole report starts cold: no rule expanded yet
        started = time.perf_counter()
        findings = verify(ruleset)
        whole = time.perf_counter() - started
        kinds = dict(collections.Counter(f.kind for f in findings))
        print(f"{policy}: whole report for {args.rules} rules {whole:.2f} s; findings {kinds}")
        draft = _draft(ruleset)
        times = []
        verification._RAILS.clear()  # the first call expands every other rule: cold
        for _ in range(6):
            started = time.perf_counter()
            found = verify_rule(ruleset, draft)
            times.append(time.perf_counter() - started)
        print(f"{policy}: one edited rule against {args.rules - 1} others: cold {times[0] * 1000:.0f} ms, "
              f"warm median {statistics.median(times[1:]) * 1000:.0f} ms; {len(found)} findings")


def _draft(ruleset):
    """The rule in the middle, edited as an author would (one more condition when it tests m01)."""
    target = ruleset.rules[len(ruleset.rules) // 2]
    return compile_rule(target.text.replace("then risk", "and m01 is above 5 then risk", 1)
                        if "m01" in target.text else target.text, ruleset.vocabulary, ruleset.settings,
                        rule_id=target.id)


if __name__ == "__main__":
    main()
