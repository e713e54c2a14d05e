"""Benchmark of the rule store (standard library + server.store only).

Builds a workspace of 20 rule sets x 25 rules in a temporary folder, makes N saves of one rule each (default 10,000),
then times what people wait for: a save, a history page of a rule set and of one rule, a diff between two
far-apart versions, and reading a whole rule set at a pinned version, cold and from cache.

    python bench/store_bench.py                 # 10,000 saves (a few minutes)
    python bench/store_bench.py --commits 1000
    python bench/store_bench.py --list-rules 5000 --commits 200   # the rule list's "last changed" of every rule

Prints wall-clock p50/p95/p99/max and the median CPU time (this process + its Git children), which shows how much of
the wall time was waiting for a busy machine. Writes nothing outside its temporary folder.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server.store import Change, GitStore, Identity  # noqa: E402

SETS, RULES = 20, 25
AUTHORS = [Identity(f"Expert {i}", f"expert{i}@example.org") for i in range(12)]


def rule_text(name: str, n: int) -> bytes:
    return (f'rule "{name}"\nwhen temperature is above {36 + n % 5}\n and heart rate is above {80 + n % 40}\n'
            f'then sepsis risk is "high" with confidence 0.{n % 9 + 1}\nbecause "Guideline {n}"\n').encode()


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the Git commands; not the long-lived cat-file):
    unlike wall time, hardly changed by other work on a shared machine."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def percentiles(samples: list[tuple[float, float]]) -> str:
    """Wall-clock p50/p95/p99/max, then the median CPU time."""
    ms = sorted(wall * 1000 for wall, _ in samples)
    p = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else ms * 99
    cpu = statistics.median(cpu * 1000 for _, cpu in samples)
    return (f"p50 {p[49]:7.2f}  p95 {p[94]:7.2f}  p99 {p[98]:7.2f}  max {ms[-1]:7.2f} ms   cpu p50 {cpu:6.2f} ms"
            f"  (n={len(ms)})")


def timed(fn, repeat: int) -> list[tuple[float, float]]:
    out = []
    for _ in range(repeat):
        start, cpu = time.perf_counter(), cpu_seconds()
        fn()
        out.append((time.perf_counter() - start, cpu_seconds() - cpu))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=10_000, help="saves to make (default 10,000)")
    parser.add_argument("--repeat", type=int, default=50, help="samples per read measurement")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--list-rules", type=int, default=0, metavar="N",
                        help="instead: one rule set of N rules (imported in one save), --commits saves of single "
                             "rules, then the last change of every rule (what the rule list shows) after a save")
    parser.add_argument("--compare", action="store_true",
                        help="with --list-rules: also time the former way once, one history query per rule")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    if args.list_rules:
        list_rules(args.list_rules, args.commits, args.repeat, args.compare, rng)
        return
    with tempfile.TemporaryDirectory(prefix="rulecraft-bench-") as folder:
        repo = Path(folder) / "workspace.git"
        store = GitStore(repo)
        initial = [Change(f"set-{s:02}/rules/r{r:02}.rule", rule_text(f"rule {s}.{r}", r))
                   for s in range(SETS) for r in range(RULES)]
        initial += [Change(f"set-{s:02}/vocabulary.yaml", b"features: {}\n") for s in range(SETS)]
        initial += [Change(f"set-{s:02}/ruleset.yaml", b"outcome: risk\n") for s in range(SETS)]
        store.commit(initial, author=AUTHORS[0], message="Initial rule sets", trailers={"Rulecraft-Save": "0"})

        print(f"building {args.commits} saves ...", flush=True)
        commit_times, processes, versions = [], [], []
        started = time.perf_counter()
        for i in range(1, args.commits + 1):
            s, r = rng.randrange(SETS), rng.randrange(RULES)
            path = f"set-{s:02}/rules/r{r:02}.rule"
            change = Change(path, rule_text(f"rule {s}.{r}", i))
            before, t0, cpu = store.git_processes, time.perf_counter(), cpu_seconds()
            version = store.commit([change], author=rng.choice(AUTHORS), message=f"Adjust threshold ({i})",
                                   trailers={"Rulecraft-User": str(i % 12), "Rulecraft-Save": str(i)},
                                   base=store.head(), conflict_paths=[path])
            commit_times.append((time.perf_counter() - t0, cpu_seconds() - cpu))
            processes.append(store.git_processes - before)
            versions.append(version.id)
            if i % 1000 == 0:
                print(f"  {i} saves, {time.perf_counter() - started:.0f} s", flush=True)
        store.close()  # waits for background maintenance
        runs = store.maintenance_runs

        store = GitStore(repo)
        head = store.head()
        early, late = versions[len(versions) // 100], versions[-len(versions) // 100 - 1]
        rule_files = [f"set-{s:02}/rules/r{r:02}.rule" for s in range(SETS) for r in range(RULES)]
        print(f"\nrule store, {store.count()} versions, {SETS} rule sets x {RULES} rules")
        print(f"save (check + commit)     {percentiles(commit_times)}")
        print(f"  last 1,000 saves        {percentiles(commit_times[-1000:])}")
        print(f"  git processes per save  {statistics.mode(processes)} "
              f"(+ {runs} background maintenance runs: commit-graph, sometimes a repack)")
        reads = [
            ("history page, rule set", lambda: store.log(f"set-{rng.randrange(SETS):02}")),
            ("history page, one rule", lambda: store.log(rng.choice(rule_files))),
            ("  page 5 (offset 80)", lambda: store.log(rng.choice(rule_files), offset=80)),
            ("  never-edited file", lambda: store.log(f"set-{rng.randrange(SETS):02}/ruleset.yaml")),
            ("count of one rule", lambda: store.count(rng.choice(rule_files))),
            ("diff far apart, rule set", lambda: store.diff(early, late, "set-03")),
            ("diff far apart, all", lambda: store.diff(early, late)),
            ("changed paths far apart", lambda: store.changed_paths(early, late)),
            ("blame of one rule", lambda: store.blame(head, rng.choice(rule_files))),
        ]
        for label, read in reads:
            # the first read after a save, as people wait for it: the store remembers walks of history by the
            # version they start from, so a page read again would not walk Git at all
            cold = (lambda read: lambda: (store._walks.clear(), read()))(read)  # noqa: B023
            print(f"{label:<26}{percentiles(timed(cold, args.repeat))}")
        pins = [(v, f"set-{s:02}") for v in rng.sample(versions, args.repeat) for s in [rng.randrange(SETS)]]
        cold = iter(pins)
        print(f"files() cold              {percentiles(timed(lambda: store.files(*next(cold)), len(pins)))}")
        print(f"files() warm              {percentiles(timed(lambda: store.files(*pins[0]), args.repeat))}")
        fresh = timed(lambda: GitStore(repo).close(), 5)
        print(f"open a store              {percentiles(fresh)}")

        def first_read_in_new_store():
            with GitStore(repo) as new:
                new.files(*rng.choice(pins))

        print(f"open + first files()      {percentiles(timed(first_read_in_new_store, 10))}")
        before = store.git_processes
        for v, folder in pins:
            store.files(v, folder), store.read(v, f"{folder}/ruleset.yaml"), store.head()
        print(f"git processes for {len(pins)} cached reads: {store.git_processes - before}")
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"machine load (1, 5, 15 min): {load} on {os.cpu_count()} cores")
        store.close()


def list_rules(rules: int, commits: int, repeat: int, compare: bool, rng: random.Random) -> None:
    """The last change of every rule of one large rule set, as the rule list needs it right after a save."""
    folder = "big/rules"
    names = [f"{folder}/r{i:05}.rule" for i in range(rules)]
    with tempfile.TemporaryDirectory(prefix="rulecraft-bench-") as tmp:
        repo = Path(tmp) / "workspace.git"
        store = GitStore(repo)
        store.commit([Change(n, rule_text(n, i)) for i, n in enumerate(names)] +
                     [Change("big/ruleset.yaml", b"outcome: risk\n")], author=AUTHORS[0],
                     message="Import the rule set", trailers={"Rulecraft-Save": "0"})
        print(f"{rules:,} rules imported; {commits:,} saves of single rules ...", flush=True)

        def save_one(i: int) -> None:
            path = rng.choice(names)
            store.commit([Change(path, rule_text(path, i))], author=rng.choice(AUTHORS), message=f"Adjust ({i})",
                         trailers={"Rulecraft-Save": str(i)}, base=store.head(), conflict_paths=[path])

        for i in range(1, commits + 1):
            save_one(i)
        store.close()
        print(f"\nlast change of each of {rules:,} rules, {commits + 1:,} versions")
        with GitStore(repo) as fresh:  # nothing remembered: the walk goes back to the import
            print(f"first list (new store)    {percentiles(timed(lambda: fresh.last_changes(folder), 1))}")
        store = GitStore(repo)
        store.last_changes(folder)
        samples, saves = [], iter(range(commits + 1, commits + 1 + repeat))

        def after_a_save():
            save_one(next(saves))
            start, cpu = time.perf_counter(), cpu_seconds()
            found = store.last_changes(folder)
            samples.append((time.perf_counter() - start, cpu_seconds() - cpu))
            assert len(found) == rules

        for _ in range(repeat):
            after_a_save()
        print(f"right after a save        {percentiles(samples)}")
        print(f"read again (same version) {percentiles(timed(lambda: store.last_changes(folder), repeat))}")
        if compare:
            head = store.head()
            former = timed(lambda: [store.log(n, limit=1, version=head) for n in names], 1)
            print(f"former: a query per rule  {percentiles(former)}")
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"machine load (1, 5, 15 min): {load} on {os.cpu_count()} cores")
        store.close()


if __name__ == "__main__":
    main()
