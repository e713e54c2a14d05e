"""History reads of the store timed on one given repository, so that two versions of the store code can be compared
on the same repository state (store_bench builds a new repository per run, and what a ``rev-list`` costs depends on
that repository's commit-graph at the moment).

    python bench/store_same_repo.py build /tmp/repo.git     # 20 rule sets x 25 rules, 1,000 saves
    python bench/store_same_repo.py read /tmp/repo.git      # median CPU per read (this process + Git), 40 samples

Copy the script into each worktree and run ``read`` from each in turn (it imports the ``server`` beside it).
"""
from __future__ import annotations

import random
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server.store import Change, GitStore, Identity  # noqa: E402

ANN = Identity("Ann Lee", "ann@example.org")
FILES = [f"set-{s:02}/rules/r{r:02}.rule" for s in range(20) for r in range(25)]


def cpu() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def build(repo: Path) -> None:
    rng = random.Random(1)
    with GitStore(repo) as store:
        store.commit([Change(f, f"rule {f}\n".encode()) for f in FILES], author=ANN, message="import",
                     trailers={"Rulecraft-User": "1"})
        for i in range(1000):
            store.commit([Change(rng.choice(FILES), f"rule {i}\n".encode())], author=ANN, message=f"edit {i}",
                         trailers={"Rulecraft-User": "1"})


def read(repo: Path) -> None:
    rng = random.Random(2)
    with GitStore(repo, maintain_after=None) as store:
        head = store.head()
        reads = [("history page, rule set", lambda: store.log(f"set-{rng.randrange(20):02}")),
                 ("history page, one rule", lambda: store.log(rng.choice(FILES))),
                 ("count of one rule", lambda: store.count(rng.choice(FILES))),
                 ("blame of one rule", lambda: store.blame(head, rng.choice(FILES)))]
        out = []
        for name, fn in reads:
            samples = []
            for _ in range(40):
                store._walks.clear()
                start = cpu()
                fn()
                samples.append(cpu() - start)
            out.append(f"{name} {statistics.median(samples) * 1000:.2f} ms")
        print(" | ".join(out))


if __name__ == "__main__":
    {"build": build, "read": read}[sys.argv[1]](Path(sys.argv[2]))
