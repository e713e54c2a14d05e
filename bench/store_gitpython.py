"""The store's own plumbing against GitPython, part by part (issue 14, item 3): what the store would gain or lose.

    python bench/store_gitpython.py

Builds a store of one rule set (500 rules, 300 saves) in a temporary folder, then times each part both ways: reading
objects through the persistent ``cat-file`` (wall time, best of 21: a shared machine only ever adds time), parsing
trees and commits (CPU time, best of 7) and blame. Finally shows that GitPython's processes inherit the server's
environment (it starts each from ``os.environ``): a ``GIT_OBJECT_DIRECTORY`` there makes its reads fail, while the
store, which gives Git a fixed environment of its own, still reads. Writes nothing outside its temporary folder.
"""
from __future__ import annotations

import hashlib
import io
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import git as gitpython  # noqa: E402
from git.db import GitCmdObjectDB  # noqa: E402
from git.objects import Commit  # noqa: E402
from git.objects.fun import tree_entries_from_data  # noqa: E402

from server.store import Change, GitStore, Identity  # noqa: E402
from server.store.objects import parse_commit, parse_tree, tree_object  # noqa: E402

ANN = Identity("Ann Lee", "ann@example.org")


def wall(fn, n: int = 21) -> float:
    best = float("inf")
    for _ in range(n):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1000


def cpu(fn, n: int = 20) -> float:
    best = float("inf")
    for _ in range(7):
        start = time.process_time()
        for _ in range(n):
            fn()
        best = min(best, (time.process_time() - start) / n)
    return best * 1000


def row(what: str, ours: float, theirs: float, unit: str = "ms") -> None:
    print(f"{what:48} store {ours:8.2f} {unit}   GitPython {theirs:8.2f} {unit}   ({theirs / ours - 1:+.0%})")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="rulecraft-bench-") as folder:
        store = GitStore(Path(folder) / "w.git", maintain_after=None)
        store.commit([Change(f"set/rules/r{i}.rule", f'rule "r{i}"\nwhen a is above {i}\n'.encode() * 3)
                      for i in range(500)], author=ANN, message="import", trailers={"Rulecraft-User": "1"})
        for i in range(300):
            store.commit([Change(f"set/rules/r{i % 50}.rule", f'rule "r{i}"\nwhen b is above {i}\n'.encode())],
                         author=ANN, message=f"edit {i}", trailers={"Rulecraft-User": "1"})
        head = store.head()
        rules_tree = store._entry(store._record(head).tree, "set/rules")[1]
        blobs = [oid for _, oid in store._tree(rules_tree).values()]
        commits = store._git("rev-list", head).stdout.decode().split()
        raws = [(oid, found[2]) for oid, found in zip(commits, store._cat.get(commits))]
        repo = gitpython.Repo(store.path, odbt=GitCmdObjectDB)
        repo.git.update_environment(**store._env)
        odb = repo.odb
        store._cat.get(blobs[:1]), repo.git.get_object_data(blobs[0])  # start both readers

        row("read 500 file contents (one request)", wall(lambda: store._cat.get(blobs)),
            wall(lambda: [odb.stream(bytes.fromhex(b)).read() for b in blobs]))
        row("read 1 file content, 200 times", wall(lambda: [store._cat.get([b]) for b in blobs[:200]]),
            wall(lambda: [repo.git.get_object_data(b) for b in blobs[:200]]))

        entries = {f"r{i}.rule": ("100644", hashlib.sha1(str(i).encode()).hexdigest()) for i in range(500)}
        raw_tree = tree_object(entries)

        def their_tree():
            return {name: (f"{mode:o}", sha.hex()) for sha, mode, name in tree_entries_from_data(raw_tree)}

        assert their_tree() == parse_tree(raw_tree)
        row("parse a tree of 500 files (CPU)", cpu(lambda: parse_tree(raw_tree), 200),
            cpu(their_tree, 200))

        def their_commits():
            for oid, raw in raws:
                commit = Commit(repo, bytes.fromhex(oid))
                commit._deserialize(io.BytesIO(raw))  # the only way from bytes, and private
                (commit.tree.hexsha, commit.author.name, commit.authored_date, commit.message, commit.parents[:1])

        row(f"parse {len(raws)} commits (CPU; GitPython: no trailers)",
            cpu(lambda: [parse_commit(oid, raw) for oid, raw in raws]), cpu(their_commits))
        path = "set/rules/r3.rule"
        row("blame of one rule (7 versions)", wall(lambda: store.blame(head, path)),
            wall(lambda: [(c.hexsha, line) for c, lines in repo.blame(head, path) for line in lines]))

        os.environ["GIT_OBJECT_DIRECTORY"] = str(Path(folder) / "elsewhere")
        store._cat.close()
        repo.git.clear_cache()
        print("with GIT_OBJECT_DIRECTORY set in the server's environment:")
        print("  store reads a rule:", "ok" if store.read(head, path) else "?")
        try:
            repo.git.get_object_data(blobs[0])
            print("  GitPython reads a rule: ok")
        except (ValueError, OSError) as e:  # Git refused to start, or answered "missing"
            print(f"  GitPython reads a rule: fails ({str(e)[:60]}...)")
        del os.environ["GIT_OBJECT_DIRECTORY"]
        repo.close()
        store.close()


if __name__ == "__main__":
    main()
