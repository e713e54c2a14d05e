"""The rule store against real repositories in temporary folders: no Git mocks.

Git itself (run here with a clean environment) is the independent witness: history, counts and fsck are checked with
``git`` commands, not with the store under test.
"""
from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.store import (
    SERVICE_IDENTITY,
    Change,
    ConflictError,
    GitError,
    GitStore,
    HeadMoved,
    Identity,
    InvalidInput,
    InvalidPath,
    NotFound,
    NothingChanged,
    ReleaseExists,
    RevisionError,
    StoreBusy,
    StoreError,
)

ROOT = Path(__file__).resolve().parents[2]
ANN = Identity("Ann Lee", "ann@example.org")
BOB = Identity("Bob Okafor", "bob@example.org")
RULE = "sepsis-triage/rules/sirs.rule"
TRAILERS = {"Rulecraft-User": "17"}


def plain_id(value) -> str:
    """A test id of letters, digits, '.', '-' and '_' only: ids holding backslashes, newlines or brackets cannot
    be passed back to pytest as node ids, which mutmut does for every mutant (docs/reliability.md)."""
    return re.sub(r"[^\w.-]", "_", ascii(value))[:40]


def git(repo: Path, *args: str, check: bool = True) -> str:
    env = {"PATH": os.environ["PATH"], "GIT_DIR": str(repo), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": os.devnull, "HOME": str(repo), "LC_ALL": "C"}
    proc = subprocess.run(["git", *args], capture_output=True, text=True, env=env, check=False)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc.stdout


def save(store: GitStore, path: str, text: str, who: Identity = ANN, why: str = "a change", **kw):
    return store.commit([Change(path, text.encode())], author=who, message=why,
                        trailers=kw.pop("trailers", TRAILERS), **kw)


@pytest.fixture
def repo(tmp_path) -> Path:
    return tmp_path / "workspace.git"


@pytest.fixture
def store(repo):
    with GitStore(repo, maintain_after=None) as opened:  # no background maintenance: tests compare folders
        yield opened


def snapshot(repo: Path) -> dict[str, bytes]:
    """Everything in the repository folder except objects (which reads may not change either, but which Git may
    legitimately add to)."""
    return {str(p.relative_to(repo)): p.read_bytes() for p in sorted(repo.rglob("*"))
            if p.is_file() and p.relative_to(repo).parts[0] != "objects"}


def stray_files(repo: Path) -> list[str]:
    return [str(p.relative_to(repo)) for p in repo.rglob("*")
            if (p.name.endswith(".lock") or p.name.startswith(("tmp_", ".tmp-")))
            or (p.parent.name == "rulecraft-tmp")]


# ------------------------------------------------------------------------------------------------ round trips


def test_a_new_store_is_an_empty_bare_repository_on_main(store, repo):
    assert store.head() is None
    assert store.log() == [] and store.count() == 0 and store.versions_since(None) == []
    assert store.find_by_trailer("Rulecraft-User", "17") is None
    assert git(repo, "rev-parse", "--is-bare-repository").strip() == "true"
    assert git(repo, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
    config = git(repo, "config", "--local", "--list")
    for setting in ("core.fsync=committed", "core.fsyncmethod=fsync", "gc.auto=0", "core.symlinks=false",
                    "receive.denynonfastforwards=true"):
        assert setting in config


def test_saved_files_read_back_at_their_version(store):
    first = store.commit([Change(RULE, b"rule one\n"), Change("sepsis-triage/vocabulary.yaml", b"v: 1\n"),
                          Change("other-set/ruleset.yaml", b"outcome: x\n")],
                         author=ANN, message="Start the sepsis rules", trailers=TRAILERS)
    second = save(store, RULE, "rule one, edited\n")
    assert store.head() == second.id and second.parent == first.id and first.parent is None
    assert store.read(first.id, RULE) == b"rule one\n"
    assert store.read(second.id, RULE) == b"rule one, edited\n"
    assert store.files(first.id, "sepsis-triage") == {"rules/sirs.rule": b"rule one\n", "vocabulary.yaml": b"v: 1\n"}
    assert store.files(second.id, "sepsis-triage/rules") == {"sirs.rule": b"rule one, edited\n"}
    assert store.folders(second.id) == ["other-set", "sepsis-triage"]
    assert store.exists(first.id, RULE) and store.exists(first.id, "sepsis-triage/rules")
    assert not store.exists(first.id, "sepsis-triage/rules/none.rule")
    with pytest.raises(NotFound):
        store.read(first.id, "sepsis-triage/rules/none.rule")
    with pytest.raises(NotFound):
        store.read(first.id, "sepsis-triage/rules")  # a folder is not a file
    with pytest.raises(NotFound):
        store.files(first.id, RULE)  # a file is not a folder
    with pytest.raises(NotFound):
        store.files(first.id, "no-such-set")


def test_a_version_records_author_time_why_and_trailers(store, repo):
    before = datetime.now(UTC).replace(microsecond=0)
    version = store.commit([Change(RULE, b"x\n")], author=ANN, message="  Guideline 4.2 changed the cut-off\n\n"
                           "Source: the 2024 revision\n", trailers={"Rulecraft-User": "17", "Rulecraft-Save": "s-9"})
    assert version.author == ANN
    assert version.time.tzinfo is not None and before <= version.time <= datetime.now(UTC)
    # the "why" keeps a last paragraph that looks like a trailer; only the store's block is read as trailers
    assert version.message == "Guideline 4.2 changed the cut-off\n\nSource: the 2024 revision"
    assert version.trailers == {"Rulecraft-User": "17", "Rulecraft-Save": "s-9"}
    raw = git(repo, "cat-file", "commit", version.id)
    assert "author Ann Lee <ann@example.org>" in raw
    assert f"committer {SERVICE_IDENTITY.name} <{SERVICE_IDENTITY.email}>" in raw
    assert raw.endswith("\n\nRulecraft-User: 17\nRulecraft-Save: s-9\n")
    assert git(repo, "log", "-1", "--format=%(trailers:key=Rulecraft-Save,valueonly)").strip() == "s-9"
    assert "Ann" not in (repo / "config").read_text()  # people never go into Git's configuration
    assert store.log()[0] == version


def test_history_is_newest_first_and_paginated(store):
    versions = [save(store, RULE if i % 2 else "sepsis-triage/vocabulary.yaml", f"text {i}\n", why=f"save {i}")
                for i in range(25)]
    newest_first = versions[::-1]
    assert [v.id for v in store.log(limit=10)] == [v.id for v in newest_first[:10]]
    assert [v.id for v in store.log(limit=10, offset=20)] == [v.id for v in newest_first[20:]]
    assert store.log(limit=10, offset=30) == []
    rule_history = [v for v in newest_first if v.message.split()[1] in {str(i) for i in range(1, 25, 2)}]
    assert [v.id for v in store.log(RULE, limit=100)] == [v.id for v in rule_history]
    assert [v.id for v in store.log("sepsis-triage", limit=5, offset=5)] == [v.id for v in newest_first[5:10]]
    assert [v.id for v in store.log(RULE, limit=3, version=versions[10].id)] == \
        [v.id for v in rule_history if versions.index(v) <= 10][:3]
    assert store.count() == 25 and store.count(RULE) == 12 and store.count("sepsis-triage") == 25
    assert store.count(RULE, version=versions[4].id) == 2
    assert store.log("no-such-set") == [] and store.count("no-such-set") == 0
    assert [v.id for v in store.versions_since(versions[21].id)] == [v.id for v in versions[22:]]
    assert [v.id for v in store.versions_since(None)] == [v.id for v in versions]
    assert store.versions_since(versions[-1].id) == []
    for bad in (0, -1, 10_001, "20", True, None):
        with pytest.raises(InvalidInput):
            store.log(limit=bad)


def test_diff_and_changed_paths_between_two_versions(store):
    a = store.commit([Change(RULE, b"when a\nthen b\n"), Change("sepsis-triage/rules/old.rule", b"old\n"),
                      Change("other-set/x.rule", b"x\n")], author=ANN, message="start", trailers=TRAILERS)
    b = store.commit([Change(RULE, b"when a\nthen c\n"), Change("sepsis-triage/rules/old.rule", None),
                      Change("sepsis-triage/rules/new.rule", b"new\n"), Change("other-set/x.rule", b"y\n")],
                     author=BOB, message="rework", trailers=TRAILERS)
    text = store.diff(a.id, b.id, RULE)
    assert f"--- a/{RULE}\n+++ b/{RULE}\n" in text and "-then b\n+then c\n" in text
    assert "other-set" not in store.diff(a.id, b.id, "sepsis-triage")
    assert "other-set/x.rule" in store.diff(a.id, b.id)
    assert store.diff(a.id, a.id) == ""
    assert store.changed_paths(a.id, b.id, "sepsis-triage") == [
        ("A", "sepsis-triage/rules/new.rule"), ("D", "sepsis-triage/rules/old.rule"), ("M", RULE)]
    assert store.changed_paths(a.id, b.id) == [("M", "other-set/x.rule")] + store.changed_paths(a.id, b.id,
                                                                                                "sepsis-triage")
    assert store.changed_paths(b.id, a.id, "sepsis-triage/rules")[0] == ("D", "sepsis-triage/rules/new.rule")
    assert store.changed_paths(a.id, b.id, "no-such-set") == []


def test_blame_names_the_version_of_every_line(store):
    first = save(store, RULE, "rule \"SIRS\"\nwhen a\nthen b\n", why="first")
    second = save(store, RULE, "rule \"SIRS\"\nwhen a and c\nthen b\n", who=BOB, why="tighter")
    lines = store.blame(second.id, RULE)
    assert [(line.number, line.text, line.version.id) for line in lines] == [
        (1, 'rule "SIRS"', first.id), (2, "when a and c", second.id), (3, "then b", first.id)]
    assert lines[1].version.author == BOB and lines[1].version.message == "tighter"
    with pytest.raises(NotFound):
        store.blame(second.id, "sepsis-triage/rules")


def test_deleting_files_removes_empty_folders_and_even_everything(store, repo):
    save(store, RULE, "x\n")
    emptied = store.commit([Change(RULE, None)], author=ANN, message="remove the rule set", trailers=TRAILERS)
    assert store.folders(emptied.id) == [] and not store.exists(emptied.id, "sepsis-triage")
    back = save(store, RULE, "x\n", why="restore")
    assert store.read(back.id, RULE) == b"x\n"
    assert store.fsck()[0]


def test_a_save_that_changes_nothing_is_refused_and_leaves_no_commit(store, repo):
    version = save(store, RULE, "same\n")
    with pytest.raises(NothingChanged, match="Nothing changed"):
        save(store, RULE, "same\n")
    with pytest.raises(NothingChanged):
        store.commit([Change("sepsis-triage/rules/absent.rule", None)], author=ANN, message="x", trailers=TRAILERS)
    assert store.head() == version.id and git(repo, "rev-list", "--count", "main").strip() == "1"


def test_a_file_and_a_folder_cannot_share_a_name(store):
    save(store, RULE, "x\n")
    with pytest.raises(InvalidPath):
        save(store, RULE + "/inside", "y\n")
    with pytest.raises(InvalidPath):
        save(store, "sepsis-triage/rules", "y\n")
    with pytest.raises(InvalidPath):
        store.commit([Change("a/b", b"1"), Change("a/b/c", b"2")], author=ANN, message="x", trailers=TRAILERS)
    with pytest.raises(InvalidInput):
        store.commit([Change("a/b", b"1"), Change("a/b", b"2")], author=ANN, message="x", trailers=TRAILERS)


def test_every_git_process_of_a_save_is_counted_and_reads_start_none(store):
    save(store, RULE, "one\n")
    started = store.git_processes
    version = save(store, RULE, "two\n")
    assert store.git_processes - started == 4  # hash-object, mktree, commit-tree, update-ref
    started = store.git_processes
    for _ in range(3):
        store.head(), store.read(version.id, RULE), store.files(version.id, "sepsis-triage")
        store.folders(version.id), store.exists(version.id, RULE), store.resolve(version.id)
        store.changed_paths(version.parent, version.id)
    assert store.git_processes == started


def test_history_read_again_starts_no_git_process_and_a_save_shows_at_once(store):
    first = save(store, RULE, "one\n")
    save(store, "sepsis-triage/rules/dot.rule", "dot\n")
    store.log(RULE), store.count(RULE), store.count("sepsis-triage")  # read once
    started = store.git_processes
    for _ in range(3):
        assert [v.id for v in store.log(RULE)] == [first.id] and store.count(RULE) == 1
        assert store.count("sepsis-triage") == 2 and len(store.log("sepsis-triage", limit=1, offset=1)) == 1
    assert store.git_processes - started == 1  # the one page not read before (limit 1, offset 1)
    latest = save(store, RULE, "two\n")
    assert [v.id for v in store.log(RULE)] == [latest.id, first.id] and store.count(RULE) == 2
    assert [v.id for v in store.log(RULE, version=first.id)] == [first.id]  # history below a version stays


def test_cached_rule_sets_are_private_copies(store):
    version = save(store, RULE, "one\n")
    files = store.files(version.id, "sepsis-triage")
    files["rules/sirs.rule"] = b"tampered"
    assert store.files(version.id, "sepsis-triage") == {"rules/sirs.rule": b"one\n"}
    store.log()[0].trailers["Rulecraft-User"] = "tampered"
    assert store.log()[0].trailers == TRAILERS


def test_another_store_on_the_same_folder_sees_new_versions_at_once(store, repo):
    with GitStore(repo) as other:
        assert other.head() is None
        version = save(store, RULE, "one\n")
        assert other.head() == version.id and other.read(version.id, RULE) == b"one\n"
        newer = save(other, RULE, "two\n")
        assert store.head() == newer.id


# ------------------------------------------------------------------------------------------ no lost update


def test_two_saves_of_one_rule_from_one_base_one_wins_one_conflicts(store):
    base = save(store, RULE, "when a\n")
    theirs = save(store, RULE, "when b\n", who=BOB, base=base.id, conflict_paths=[RULE])
    with pytest.raises(ConflictError) as caught:
        save(store, RULE, "when c\n", base=base.id, conflict_paths=[RULE])
    error = caught.value
    assert (error.path, error.base_text, error.current_text, error.current_version) == \
        (RULE, "when a\n", "when b\n", theirs.id)
    assert "SHA" not in error.message and "HEAD" not in error.message
    assert store.head() == theirs.id


def test_saves_of_different_rules_from_one_base_both_succeed(store):
    base = store.commit([Change(RULE, b"a\n"), Change("sepsis-triage/rules/dot.rule", b"b\n")],
                        author=ANN, message="start", trailers=TRAILERS)
    one = save(store, RULE, "a2\n", base=base.id, conflict_paths=[RULE])
    two = save(store, "sepsis-triage/rules/dot.rule", "b2\n", who=BOB, base=base.id,
               conflict_paths=["sepsis-triage/rules/dot.rule"])
    assert two.parent == one.id
    assert store.files(two.id, "sepsis-triage/rules") == {"sirs.rule": b"a2\n", "dot.rule": b"b2\n"}


def test_a_conflict_reports_a_deleted_or_newly_created_file_as_missing_text(store):
    base = save(store, "sepsis-triage/vocabulary.yaml", "v\n")
    save(store, RULE, "created meanwhile\n")
    with pytest.raises(ConflictError) as caught:
        save(store, RULE, "mine\n", base=base.id, conflict_paths=[RULE])
    assert caught.value.base_text is None and caught.value.current_text == "created meanwhile\n"
    base = store.head()
    store.commit([Change(RULE, None)], author=BOB, message="drop", trailers=TRAILERS)
    with pytest.raises(ConflictError) as caught:
        save(store, RULE, "mine\n", base=base, conflict_paths=[RULE])
    assert caught.value.base_text == "created meanwhile\n" and caught.value.current_text is None


def forge(repo: Path, parent: str, listing: str) -> str:
    """A commit made outside the store: ``listing`` (``git mktree`` lines) as sepsis-triage/rules, on main."""
    rules = subprocess.run(["git", "--git-dir", str(repo), "mktree"], input=listing, text=True, capture_output=True,
                           check=True).stdout.strip()
    set_tree = subprocess.run(["git", "--git-dir", str(repo), "mktree"], input=f"040000 tree {rules}\trules\n",
                              text=True, capture_output=True, check=True).stdout.strip()
    root = subprocess.run(["git", "--git-dir", str(repo), "mktree"], input=f"040000 tree {set_tree}\tsepsis-triage\n",
                          text=True, capture_output=True, check=True).stdout.strip()
    forged = subprocess.run(["git", "--git-dir", str(repo), "commit-tree", root, "-p", parent, "-m", "outside"],
                            env={**os.environ, "GIT_AUTHOR_NAME": "x", "GIT_AUTHOR_EMAIL": "x@x",
                                 "GIT_COMMITTER_NAME": "x", "GIT_COMMITTER_EMAIL": "x@x"},
                            capture_output=True, text=True, check=True).stdout.strip()
    git(repo, "update-ref", "refs/heads/main", forged, parent)
    return forged


@pytest.mark.parametrize("kind", ["link", "submodule", "folder"])
def test_a_conflict_with_a_link_submodule_or_folder_reports_no_text(store, repo, kind):
    """Mutation testing (docs/reliability.md): the conflict's "their text" of an entry that is not a file is
    None; a link's target or a tree's bytes must never be shown as someone's rule text."""
    base = save(store, RULE, "rule\n")
    link = subprocess.run(["git", "--git-dir", str(repo), "hash-object", "-w", "--stdin"], input=b"../../etc/passwd",
                          capture_output=True, check=True).stdout.decode().strip()
    inner = subprocess.run(["git", "--git-dir", str(repo), "mktree"], input=f"100644 blob {link}\tx\n", text=True,
                           capture_output=True, check=True).stdout.strip()
    entry = {"link": f"120000 blob {link}", "submodule": f"160000 commit {base.id}", "folder": f"040000 tree {inner}"}
    forged = forge(repo, base.id, f"{entry[kind]}\tsirs.rule\n")
    with pytest.raises(ConflictError) as caught:
        save(store, RULE, "mine\n", base=base.id, conflict_paths=[RULE])
    assert (caught.value.base_text, caught.value.current_text, caught.value.current_version) == \
        ("rule\n", None, forged)


def test_a_conflict_shows_text_that_is_not_utf8_with_replacement_characters(store):
    """Mutation testing: a rule file written outside Rulecraft in Latin-1 still gives a conflict, not a crash."""
    base = save(store, RULE, "rule\n")
    store.commit([Change(RULE, "caf\u00e9\n".encode("latin-1"))], author=BOB, message="latin-1", trailers=TRAILERS)
    with pytest.raises(ConflictError) as caught:
        save(store, RULE, "mine\n", base=base.id, conflict_paths=[RULE])
    assert caught.value.current_text == "caf\ufffd\n"


def test_expect_head_refuses_when_the_branch_moved(store):
    first = save(store, RULE, "a\n", expect_head=None)
    with pytest.raises(HeadMoved) as caught:
        save(store, RULE, "b\n", expect_head=None)
    assert caught.value.current_version == first.id
    second = save(store, RULE, "b\n", expect_head=first.id)
    with pytest.raises(HeadMoved):
        save(store, RULE, "c\n", expect_head=first.id)
    with pytest.raises(RevisionError):
        save(store, RULE, "c\n", expect_head="HEAD")
    assert store.head() == second.id


CHILD_SAVES = r"""
import sys
from pathlib import Path
from server.store import Change, GitStore, Identity
repo, worker, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
options = {"maintain_after": int(sys.argv[4])} if len(sys.argv) > 4 else {}
author = Identity("Worker " + worker, "worker" + worker + "@example.org")
with GitStore(repo, **options) as store:
    k = 0
    while k != count:
        path = "shared/common.rule" if k % 5 == 0 else "w" + worker + "/own.rule"
        version = store.commit([Change(path, f"{worker} {k}\n".encode())], author=author,
                               message=f"save {worker} {k}", trailers={"Rulecraft-Save": f"{worker}-{k}"})
        print(version.id, flush=True)
        k += 1
"""


def start_child(repo: Path, worker: str, count: int, *options: str, **env: str) -> subprocess.Popen:
    child_env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    if "RULECRAFT_FAULT" not in env:
        child_env.pop("RULECRAFT_FAULT", None)
    return subprocess.Popen([sys.executable, "-c", CHILD_SAVES, str(repo), worker, str(count), *options], cwd=ROOT,
                            env=child_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(children: list[subprocess.Popen]) -> list[str]:
    """Wait for every child, then check they all succeeded; the ids they acknowledged."""
    results = [child.communicate(timeout=120) for child in children]
    for child, (_, err) in zip(children, results):
        assert child.returncode == 0, err
    return [line for out, _ in results for line in out.split()]


def assert_linear_and_clean(repo: Path) -> list[str]:
    lines = git(repo, "rev-list", "--parents", "main").splitlines()
    assert all(len(line.split()) <= 2 for line in lines), "a merge in the history"
    assert sum(len(line.split()) == 1 for line in lines) == 1, "more than one first version"
    fsck = subprocess.run(["git", "--git-dir", str(repo), "fsck", "--strict", "--no-dangling"],
                          capture_output=True, text=True, env={"PATH": os.environ["PATH"], "HOME": str(repo),
                                                               "GIT_CONFIG_NOSYSTEM": "1",
                                                               "GIT_CONFIG_GLOBAL": os.devnull})
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    return [line.split()[0] for line in lines]


@pytest.mark.slow
def test_four_processes_saving_at_once_lose_no_acknowledged_save(repo):
    GitStore(repo).close()
    children = [start_child(repo, str(w), 25) for w in range(4)]
    acknowledged = finish(children)
    assert len(acknowledged) == len(set(acknowledged)) == 100
    history = assert_linear_and_clean(repo)
    assert git(repo, "rev-list", "--count", "main").strip() == "100"
    assert set(history) == set(acknowledged)


def test_saves_never_collide_with_maintenance_in_other_processes(repo):
    """Regression: mktree could not see objects that a repack had just moved into a new pack (this test caught it
    in 3 runs of 4), and repack's prune-packed removed an object folder a save was writing into (rarer; seen in 2
    of 6 runs of 4 processes x 25 saves)."""
    with GitStore(repo, maintain_after=None) as store:  # many loose objects, so that packing takes a while
        store.commit([Change(f"bulk/f{i:03}.rule", b"%d\n" % i) for i in range(300)], author=ANN, message="bulk",
                     trailers=TRAILERS)
    children = [start_child(repo, str(w), 12, "0") for w in range(3)]  # maintain after every save
    acknowledged = finish(children)
    assert len(acknowledged) == 36 and set(acknowledged) <= set(assert_linear_and_clean(repo))
    assert list((repo / "objects" / "pack").glob("*.pack"))


def test_threads_sharing_one_store_lose_no_save(store, repo):
    acknowledged, errors = [], []

    def work(name: str, target: GitStore):
        try:
            for k in range(8):
                acknowledged.append(save(target, f"t-{name}/r.rule", f"{k}\n").id)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    with GitStore(repo) as second:
        threads = [threading.Thread(target=work, args=(n, s)) for n, s in (("a", store), ("b", store),
                                                                           ("c", second))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert set(assert_linear_and_clean(repo)) == set(acknowledged) and len(acknowledged) == 24


# -------------------------------------------------------------------------------------------- hostile input


@pytest.fixture
def populated(store, repo):
    version = store.commit([Change(RULE, b"rule\n"), Change("sepsis-triage/vocabulary.yaml", b"v\n")],
                           author=ANN, message="start", trailers=TRAILERS)
    store.create_tag("sepsis-triage/v1", version.id, message="first", tagger=BOB)
    tree = git(repo, "rev-parse", f"{version.id}^{{tree}}").strip()
    blob = git(repo, "rev-parse", f"{version.id}:{RULE}").strip()
    return store, version, tree, blob


HOSTILE_REVISIONS = {
    "option output": "--output=x", "option patch": "-p", "option all": "--all", "HEAD": "HEAD", "HEAD~1": "HEAD~1",
    "HEAD^": "HEAD^", "at sign": "@", "previous branch": "@{-1}", "reflog": "main@{0}", "branch": "main",
    "full ref": "refs/heads/main", "tag ref": "refs/tags/sepsis-triage/v1", "prefixed release": "sepsis-triage/v1",
    "peeled release": "v1^{commit}", "release path": "v1:rules", "refspec": "+main:refs/heads/x",
    "range": "main..main", "short hash": "{commit7}", "39 hex": "{commit39}", "41 hex": "{commit}0",
    "unknown hash": "0" * 40, "unknown hash 2": "deadbeef" * 5, "tree hash": "{tree}", "blob hash": "{blob}",
    "hash with path": "{commit}:" + RULE, "hash and newline": "{commit}\n", "space and hash": " {commit}",
    "shell": "v1; rm -rf /", "release newline": "v1\n", "v0": "v0", "leading zero": "v01",
    "too long release": "v1234567", "arabic digit": "v\u0661", "newline": "\n", "two lines": "a\nb",
    "nul": "x\0y", "empty": "", "space": " ", "very long": "x" * 10_000, "unicode": "v\u00b9",
    "fullwidth hex": "\uff41" * 40,
}


def hostile(template: str, version, tree: str, blob: str) -> str:
    return (template.replace("{commit7}", version.id[:7]).replace("{commit39}", version.id[:39])
            .replace("{commit}", version.id).replace("{tree}", tree).replace("{blob}", blob))


@pytest.mark.parametrize("template", HOSTILE_REVISIONS.values(), ids=HOSTILE_REVISIONS.keys())
def test_hostile_revisions_are_refused_and_change_nothing(populated, repo, tmp_path, monkeypatch, template):
    store, version, tree, blob = populated
    monkeypatch.chdir(tmp_path)
    revision = hostile(template, version, tree, blob)
    before, outside = snapshot(repo), sorted(p.name for p in tmp_path.iterdir())
    calls = [
        lambda: store.resolve(revision), lambda: store.resolve(revision, tag_prefix="sepsis-triage"),
        lambda: store.read(revision, RULE), lambda: store.files(revision, "sepsis-triage"),
        lambda: store.folders(revision), lambda: store.exists(revision, RULE),
        lambda: store.log(RULE, version=revision), lambda: store.count(version=revision),
        lambda: store.diff(revision, version.id), lambda: store.diff(version.id, revision, RULE),
        lambda: store.changed_paths(version.id, revision), lambda: store.blame(revision, RULE),
        lambda: store.versions_since(revision),
        lambda: store.create_tag("sepsis-triage/v2", revision, message="m", tagger=BOB),
        lambda: save(store, RULE, "new\n", base=revision, conflict_paths=[RULE]),
    ]
    for call in calls:
        with pytest.raises(RevisionError) as caught:
            call()
        assert "SHA" not in caught.value.message and "HEAD" not in caught.value.message.replace(revision, "")
    # expect_head is compared, not looked up: a well-formed id that is not the newest version means "it moved"
    with pytest.raises(HeadMoved if re.fullmatch("[0-9a-f]{40}", revision) else RevisionError):
        save(store, RULE, "new\n", expect_head=revision)
    assert snapshot(repo) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == outside
    assert store.head() == version.id and store.tags() != []


@pytest.mark.parametrize("revision", [None, 7, b"v1", ["v1"]], ids=plain_id)
def test_revisions_that_are_not_text_are_refused(populated, revision):
    store = populated[0]
    with pytest.raises(RevisionError):
        store.resolve(revision)
    with pytest.raises(RevisionError):
        store.read(revision, RULE)


def test_valid_revisions_resolve_to_commits(populated):
    store, version, _, _ = populated
    assert store.resolve(version.id) == version.id
    assert store.resolve(version.id.upper()) == version.id
    assert store.resolve("v1", tag_prefix="sepsis-triage") == version.id
    with pytest.raises(RevisionError, match="no release v2"):
        store.resolve("v2", tag_prefix="sepsis-triage")
    with pytest.raises(RevisionError):
        store.resolve("v1")  # the release belongs to a rule set
    with pytest.raises(InvalidPath):
        store.resolve("v1", tag_prefix="../sepsis-triage")


HOSTILE_PATHS = [
    "../../etc/passwd", ".git/config", ".git", "a/../b", "..", ".", "/abs", "/", "a\\b", "rules/x\n.rule", "a\nb",
    ".hidden", "rules/.hidden", "CON", "con", "con.rule", "aux", "lpt1", "", "a//b", "a/", "a/./b", "A.rule",
    "a b", "a\0b", "a\tb", "x" * 82, "a/b/c/d/e", "rule.", "-rf", "--output=x", "\u00fc.rule", "x:y", "a*",
    ":(glob)a", "~", "git~1", "a?", "[ab]", "sepsis-triage/rules/sirs.rule\r", "\u212a.rule",
    None, 1, b"a.rule", ["a"],
]


@pytest.mark.parametrize("path", HOSTILE_PATHS, ids=plain_id)
def test_hostile_paths_are_refused_and_change_nothing(populated, repo, path):
    store, version, _, _ = populated
    before = snapshot(repo)
    optional = [  # None means "everything" for these
        lambda: store.log(path), lambda: store.count(path), lambda: store.diff(version.id, version.id, path),
        lambda: store.changed_paths(version.id, version.id, path), lambda: store.tags(path),
    ]
    calls = (optional if path is not None else []) + [
        lambda: store.read(version.id, path), lambda: store.files(version.id, path),
        lambda: store.exists(version.id, path), lambda: store.blame(version.id, path),
        lambda: store.commit([Change(path, b"x")], author=ANN, message="m", trailers=TRAILERS),
        lambda: store.commit([Change(path, None)], author=ANN, message="m", trailers=TRAILERS),
        lambda: store.commit([Change("sepsis-triage/ok.rule", b"x")], author=ANN, message="m",
                             trailers=TRAILERS, base=version.id, conflict_paths=[path]),
    ]
    for call in calls:
        with pytest.raises(InvalidPath):
            call()
    assert snapshot(repo) == before and store.head() == version.id


HOSTILE_IDENTITIES = [
    ("Eve\nGIT_COMMITTER_NAME=x", "eve@example.org"), ("Eve\r", "eve@example.org"),
    ("Eve", "eve@example.org\nX-Injected: 1"), ("Eve", "eve<@example.org"), ("Eve", "<eve@example.org>"),
    ("Eve <evil@example.org>", "eve@example.org"), ("Eve>", "eve@example.org"), ("", "eve@example.org"),
    ("...", "eve@example.org"), ("Eve", ""), ("Eve", "no-at-sign"), ("Eve", "two@@example.org"),
    ("Eve\0", "eve@example.org"), ("E" * 201, "eve@example.org"), ("Eve\u202e", "eve@example.org"),
    ("Eve\u2028x", "eve@example.org"), ("Eve", "eve@exa mple.org"), ("Eve", "e" * 250 + "@x.org"),
    ("Eve", ".eve@example.org"), ("Eve", "eve@example.org."), (None, "eve@example.org"), ("Eve", None),
]


@pytest.mark.parametrize("name, email", HOSTILE_IDENTITIES, ids=plain_id)
def test_hostile_identities_are_refused_and_nothing_is_committed(populated, repo, name, email):
    store, version, _, _ = populated
    with pytest.raises(StoreError):
        Identity(name, email)
    forged = object.__new__(Identity)  # an identity built around the checks is checked again on use
    object.__setattr__(forged, "name", name)
    object.__setattr__(forged, "email", email)
    with pytest.raises(StoreError):
        store.commit([Change(RULE, b"forged\n")], author=forged, message="m", trailers=TRAILERS)
    with pytest.raises(StoreError):
        store.create_tag("sepsis-triage/v2", version.id, message="m", tagger=forged)
    assert store.head() == version.id and [t.name for t in store.tags()] == ["sepsis-triage/v1"]


def test_identities_are_kept_as_git_records_them():
    assert Identity(" Ann Lee Jr. ", "ann@example.org").name == "Ann Lee Jr"
    assert Identity("Zoë O'Brien-Ćosić", "zoe@example.org").name == "Zoë O'Brien-Ćosić"
    assert Identity("Zoe\u0308", "z@example.org") == Identity("Zo\u00eb", "z@example.org")


@pytest.mark.parametrize("message, trailers", [
    ("", TRAILERS), ("   \n ", TRAILERS), ("x" * 10_001, TRAILERS), ("bell\x07", TRAILERS), (None, TRAILERS),
    ("ok", {}), ("ok", None), ("ok", {"Bad Key": "v"}), ("ok", {"Key:": "v"}), ("ok", {"Ke\ny": "v"}),
    ("ok", {"Key": "line\nInjected: 1"}), ("ok", {"Key": ""}), ("ok", {"Key": " padded"}), ("ok", {"Key": 17}),
    ("ok", {"Key": "a", "key": "b"}), ("ok", {"9Key": "v"}),
], ids=plain_id)
def test_bad_messages_and_trailers_are_refused(populated, message, trailers):
    store, version, _, _ = populated
    with pytest.raises(InvalidInput):
        store.commit([Change(RULE, b"new\n")], author=ANN, message=message, trailers=trailers)
    assert store.head() == version.id


@pytest.mark.parametrize("changes", [[], None, [("a", b"x")], [Change("a", "text, not bytes")],
                                     [Change("a", b"x" * (10 * 1024 * 1024 + 1))]], ids=["empty", "none", "tuple",
                                                                                        "str", "too large"])
def test_bad_changes_are_refused(populated, changes):
    store, version, _, _ = populated
    with pytest.raises(InvalidInput):
        store.commit(changes, author=ANN, message="m", trailers=TRAILERS)
    assert store.head() == version.id


def test_links_and_submodules_in_a_tree_are_never_followed(store, repo):
    version = save(store, RULE, "rule\n")
    link = subprocess.run(["git", "--git-dir", str(repo), "hash-object", "-w", "--stdin"], input=b"../../etc",
                          capture_output=True, check=True).stdout.decode().strip()
    rules_tree = git(repo, "rev-parse", f"{version.id}:sepsis-triage/rules").strip()
    listing = (f"040000 tree {rules_tree}\trules\n120000 blob {link}\tlink\n"
               f"160000 commit {version.id}\tmodule\n")
    set_tree = subprocess.run(["git", "--git-dir", str(repo), "mktree"], input=listing, text=True,
                              capture_output=True, check=True).stdout.strip()
    root = subprocess.run(["git", "--git-dir", str(repo), "mktree"], input=f"040000 tree {set_tree}\tsepsis-triage\n",
                          text=True, capture_output=True, check=True).stdout.strip()
    forged = subprocess.run(["git", "--git-dir", str(repo), "commit-tree", root, "-p", version.id, "-m", "links"],
                            env={**os.environ, "GIT_AUTHOR_NAME": "x", "GIT_AUTHOR_EMAIL": "x@x",
                                 "GIT_COMMITTER_NAME": "x", "GIT_COMMITTER_EMAIL": "x@x"},
                            capture_output=True, text=True, check=True).stdout.strip()
    git(repo, "update-ref", "refs/heads/main", forged, version.id)
    for path in ("sepsis-triage/link", "sepsis-triage/module"):
        with pytest.raises(NotFound):
            store.read(forged, path)
        assert not store.exists(forged, path)
    with pytest.raises(NotFound):
        store.read(forged, "sepsis-triage/link/passwd")
    assert store.files(forged, "sepsis-triage") == {"rules/sirs.rule": b"rule\n"}
    with pytest.raises(InvalidPath):
        save(store, "sepsis-triage/link/passwd", "x\n")
    saved = save(store, RULE, "still works\n")  # untouched entries are kept as they were
    assert git(repo, "rev-parse", f"{saved.id}:sepsis-triage/link").strip() == link


NAMES = st.sampled_from(["a", "a.b", "a-b", "a0", "a_b", "b"])  # they sort differently as files and as folders
PATHS = st.lists(NAMES, min_size=1, max_size=3).map("/".join)
EDITS = st.lists(st.tuples(PATHS, st.one_of(st.none(), st.binary(max_size=3))), min_size=1, max_size=8)


@settings(max_examples=20, deadline=None)
@given(edits=EDITS)
def test_any_sequence_of_saves_reads_back_like_a_dictionary(edits):
    """The trees built in Python must be the trees Git would build: any mistake in Git's sort order or in
    folder handling shows up as a refused save or as files that do not read back."""
    model: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as folder, GitStore(Path(folder) / "w.git", maintain_after=None) as store:
        for path, content in edits:
            clash = any(f.startswith(path + "/") or path.startswith(f + "/") for f in model)
            if clash:
                with pytest.raises(InvalidPath):
                    store.commit([Change(path, content)], author=ANN, message="m", trailers=TRAILERS)
            elif model.get(path) == content:
                with pytest.raises(NothingChanged):
                    store.commit([Change(path, content)], author=ANN, message="m", trailers=TRAILERS)
            else:
                store.commit([Change(path, content)], author=ANN, message="m", trailers=TRAILERS)
                if content is None:
                    del model[path]
                else:
                    model[path] = content
        head = store.head()
        if head is None:
            return
        listing = git(Path(folder) / "w.git", "ls-tree", "-r", "--name-only", head).split()
        assert sorted(listing) == sorted(model)
        for top in store.folders(head):
            assert store.files(head, top) == {p[len(top) + 1:]: c for p, c in model.items() if p.startswith(top + "/")}
        for path, content in model.items():
            assert store.read(head, path) == content
        assert store.fsck()[0]


# ------------------------------------------------------------------------------------------------- releases


def test_releases_are_annotated_and_immutable(store, repo):
    first = save(store, RULE, "a\n")
    second = save(store, RULE, "b\n")
    tag = store.create_tag("sepsis-triage/v1", first.id, message="First approved set", tagger=BOB)
    assert (tag.name, tag.release, tag.version, tag.message, tag.tagger) == \
        ("sepsis-triage/v1", "v1", first.id, "First approved set", BOB)
    assert git(repo, "cat-file", "-t", "refs/tags/sepsis-triage/v1").strip() == "tag"
    for again in (first.id, second.id):
        with pytest.raises(ReleaseExists):
            store.create_tag("sepsis-triage/v1", again, message="move it", tagger=ANN)
    assert store.resolve("v1", tag_prefix="sepsis-triage") == first.id
    store.create_tag("sepsis-triage/v2", second.id, message="Second", tagger=BOB)
    store.create_tag("other-set/v1", second.id, message="Other", tagger=ANN)
    assert [t.name for t in store.tags("sepsis-triage")] == ["sepsis-triage/v1", "sepsis-triage/v2"]
    assert {t.name for t in store.tags()} == {"sepsis-triage/v1", "sepsis-triage/v2", "other-set/v1"}
    assert store.tags("no-such-set") == []
    for name in ("sepsis-triage/v0", "sepsis-triage/x1", "v1/..", "../v1", "sepsis-triage/v1\n", "", "V1",
                 "a/b/c/d/v1", "sepsis-triage/v1.lock", None):
        with pytest.raises(InvalidInput):
            store.create_tag(name, first.id, message="m", tagger=BOB)
    with pytest.raises(InvalidInput) as caught:
        store.create_tag("sepsis-triage/v3", first.id, message=" ", tagger=BOB)
    # the refusal names the field the person fills in (mutant create_tag_9 named nothing: "None is required")
    assert caught.value.message == "The release note is required: say in a few words why."


# -------------------------------------------------------------------------------------------------- recovery


def test_find_by_trailer_finds_the_newest_exact_match(store):
    one = save(store, RULE, "1\n", trailers={"Rulecraft-Save": "s-1"})
    save(store, RULE, "2\n", trailers={"Rulecraft-Save": "s-12"})
    save(store, RULE, "3\n", trailers={"Rulecraft-Save": "s-3", "Rulecraft-User": "4"})
    assert store.find_by_trailer("Rulecraft-Save", "s-1") == one
    assert store.find_by_trailer("Rulecraft-Save", "s-1", limit=2) is None
    assert store.find_by_trailer("Rulecraft-Save", "s-") is None
    assert store.find_by_trailer("Rulecraft-User", "4").trailers["Rulecraft-Save"] == "s-3"
    with pytest.raises(InvalidInput):
        store.find_by_trailer("Rulecraft-Save", "s-1\nX: y")


FAULT_STEPS = ["store.locked", "store.objects-written", "store.commit-written", "store.ref-updated"]


def crash_and_recover(repo: Path, step: str, count: int = 1, worker: str = "9") -> tuple[list[str], GitStore]:
    child = start_child(repo, worker, count, RULECRAFT_FAULT=step)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 99, err
    store = GitStore(repo)
    store.recover()
    assert stray_files(repo) == []
    ok, report = store.fsck()
    assert ok, report
    return out.split(), store


@pytest.mark.parametrize("step", FAULT_STEPS)
def test_a_crash_at_each_step_of_a_save_is_recovered(repo, step):
    with GitStore(repo) as store:
        save(store, RULE, "before\n")
    for attempt in range(3):
        with GitStore(repo) as store:
            before = store.head()
        acknowledged, store = crash_and_recover(repo, step, worker=str(attempt))
        with store:
            assert acknowledged == []
            head = store.head()
            if step == "store.ref-updated":  # the save happened; only its acknowledgement was lost
                assert store.log(limit=1)[0].parent == before
                assert store.find_by_trailer("Rulecraft-Save", f"{attempt}-0").id == head
            else:
                assert head == before and store.find_by_trailer("Rulecraft-Save", f"{attempt}-0") is None
            after = save(store, RULE, f"after {attempt}\n")
            assert after.parent == head
    assert_linear_and_clean(repo)


def test_a_crash_on_the_nth_save_keeps_the_acknowledged_ones(repo):
    GitStore(repo).close()
    acknowledged, store = crash_and_recover(repo, "store.commit-written:3", count=5)
    with store:
        assert len(acknowledged) == 2 and store.head() == acknowledged[-1]
        assert [v.id for v in store.versions_since(None)] == acknowledged


CHILD_TAG = r"""
import sys
from pathlib import Path
from server.store import GitStore, Identity
with GitStore(Path(sys.argv[1])) as store:
    store.create_tag("sepsis-triage/v1", store.head(), message="release", tagger=Identity("Bob", "bob@example.org"))
"""


@pytest.mark.parametrize("step, exists", [("store.tag-written", False), ("store.tag-ref-updated", True)])
def test_a_crash_while_releasing_is_recovered(store, repo, step, exists):
    version = save(store, RULE, "x\n")
    child = subprocess.run([sys.executable, "-c", CHILD_TAG, str(repo)], cwd=ROOT, capture_output=True,
                           env={**os.environ, "PYTHONPATH": str(ROOT), "RULECRAFT_FAULT": step})
    assert child.returncode == 99, child.stderr
    store.recover()
    assert store.fsck()[0] and stray_files(repo) == []
    assert [t.version for t in store.tags()] == ([version.id] if exists else [])
    if not exists:
        store.create_tag("sepsis-triage/v1", version.id, message="again", tagger=BOB)


@pytest.mark.slow
def test_kill_9_in_the_middle_of_saves_loses_no_acknowledged_save(repo):
    GitStore(repo).close()
    acknowledged: list[str] = []
    rng = random.Random(7)
    for round_ in range(5):
        child = start_child(repo, str(round_), -1)
        for _ in range(rng.randint(1, 4)):
            acknowledged.append(child.stdout.readline().strip())
        time.sleep(rng.uniform(0, 0.03))
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate()
        acknowledged += out.split()
        with GitStore(repo) as store:
            store.recover()
            assert stray_files(repo) == []
            assert store.fsck()[0]
            save(store, "after/kill.rule", f"{round_}\n")
    history = assert_linear_and_clean(repo)
    assert set(acknowledged) <= set(history)


def test_git_processes_of_a_killed_save_keep_the_lock_until_they_end(repo, tmp_path):
    """A save killed with SIGKILL leaves its Git processes running (only the Python process dies). They hold the
    writer lock until they end, so recovery and the next save never work beside them (under load, an orphaned
    update-ref could otherwise move the branch after recovery had looked)."""
    import shutil

    GitStore(repo).close()
    marker, slow = tmp_path / "update-ref-started", tmp_path / "bin"
    slow.mkdir()
    (slow / "git").write_text(f"""#!/bin/sh
"{shutil.which('git')}" "$@"; rc=$?
for a in "$@"; do [ "$a" = update-ref ] && touch "{marker}" && sleep 3; done
exit $rc
""")
    (slow / "git").chmod(0o755)
    child = start_child(repo, "k", 1, PATH=f"{slow}{os.pathsep}{os.environ['PATH']}")
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert child.poll() is None and time.monotonic() < deadline, child.communicate()
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.communicate()
    with pytest.raises(StoreBusy):
        GitStore(repo, lock_timeout=0.5)      # the orphaned update-ref (sleeping 3 s) still holds the lock
    with GitStore(repo, lock_timeout=30) as store:  # waits for it, then works
        store.recover()
        assert stray_files(repo) == [] and store.fsck()[0]
        save(store, "after/kill.rule", "after\n")
    assert_linear_and_clean(repo)


def test_a_lock_file_left_by_a_killed_save_is_cleared_by_the_next_save(store, repo):
    version = save(store, RULE, "x\n")
    (repo / "refs" / "heads" / "main.lock").write_text("stale")
    after = save(store, RULE, "y\n")  # under the writer lock, no live save can own it
    assert after.parent == version.id and not (repo / "refs" / "heads" / "main.lock").exists()


def test_gits_lock_refusal_becomes_store_busy_and_other_failures_keep_gits_words_for_the_log(store, repo):
    """Mutation testing (docs/reliability.md): Git's own "Unable to create '...lock': File exists" is what a save
    meets when another Git process holds a ref; it must read as "busy, try again", not as a failure. Other
    failures keep Git's words in ``detail`` (for the log), even when they are not UTF-8."""
    version = save(store, RULE, "x\n")
    (repo / "refs" / "heads" / "main.lock").write_text("held")
    env = {"PATH": os.environ["PATH"], "GIT_DIR": str(repo), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": os.devnull, "HOME": str(repo), "LC_ALL": "C"}
    refused = subprocess.run(["git", "update-ref", "refs/heads/main", version.id, version.id], env=env,
                             capture_output=True, check=False)
    assert refused.returncode != 0 and b".lock" in refused.stderr and b"exists" in refused.stderr
    busy = GitStore._failure("update-ref", refused.stderr)
    assert type(busy) is StoreBusy
    assert busy.message == ("The rule store is finishing an operation that was interrupted. Nothing was changed; "
                            "please try again in a moment, and tell your administrator if it happens again.")
    for stderr in (b"fatal: a.lock is held", b"fatal: the file exists", b"fatal: bad object \xff\xfe"):
        failed = GitStore._failure("cat-file", stderr)
        assert type(failed) is GitError
        assert failed.message == "The rule store could not complete the operation (cat-file)."
        assert failed.detail == stderr.decode("utf-8", "replace")


def test_recover_removes_what_interrupted_operations_left(store, repo):
    save(store, RULE, "x\n")
    (repo / "packed-refs.lock").write_text("")
    (repo / "refs" / "tags" / "sepsis-triage").mkdir(parents=True)
    (repo / "refs" / "tags" / "sepsis-triage" / "v1.lock").write_text("")
    (repo / "rulecraft-tmp" / "save-left").mkdir(parents=True)
    (repo / "objects" / "ab").mkdir(exist_ok=True)
    (repo / "objects" / "ab" / "tmp_obj_XyZ").write_bytes(b"half")
    done = store.recover()
    assert len(done) == 4 and any("packed-refs.lock" in line for line in done)
    assert all("Removed" in line for line in done)
    assert stray_files(repo) == [] and (repo / "rulecraft-store.flock").exists()  # the store's own lock stays
    assert store.recover() == []
    save(store, RULE, "y\n")
    assert store.fsck()[0]


def test_git_errors_keep_gits_words_out_of_the_message(store, repo):
    save(store, RULE, "x\n")
    (repo / "refs" / "heads" / "main").write_text("not an id\n")  # a damaged repository
    with pytest.raises(StoreError) as caught:
        save(store, RULE, "y\n")
    assert "fatal" not in caught.value.message and "HEAD" not in caught.value.message


def test_git_runs_untouched_by_the_callers_environment(tmp_path, monkeypatch):
    marker = tmp_path / "hook-ran"
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for hook in ("reference-transaction", "post-commit"):
        (hooks / hook).write_text(f"#!/bin/sh\ntouch {marker}\n")
        (hooks / hook).chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(f"[user]\n\tname = Mallory\n\temail = m@evil.example\n"
                                     f"[core]\n\thooksPath = {hooks}\n[commit]\n\tgpgSign = true\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(tmp_path / "index"))
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", f"'core.hookspath'='{hooks}'")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Mallory")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Mallory")
    repo = tmp_path / "workspace.git"
    with GitStore(repo) as store:
        (repo / "hooks").mkdir()
        (repo / "hooks" / "reference-transaction").write_text(f"#!/bin/sh\ntouch {marker}\n")
        (repo / "hooks" / "reference-transaction").chmod(0o755)
        version = save(store, RULE, "x\n")
        store.create_tag("sepsis-triage/v1", version.id, message="m", tagger=BOB)
    assert not marker.exists()
    monkeypatch.delenv("GIT_DIR")
    raw = git(repo, "cat-file", "commit", version.id)
    assert "Mallory" not in raw and "Ann Lee" in raw
    assert not (tmp_path / "elsewhere").exists() and not (tmp_path / "index").exists()


def test_the_store_refuses_folders_that_are_not_its_own(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("keep me")
    with pytest.raises(StoreError, match="not empty"):
        GitStore(tmp_path / "notes")
    subprocess.run(["git", "init", "-q", str(tmp_path / "checkout")], check=True,
                   env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1"})
    with pytest.raises(StoreError):
        GitStore(tmp_path / "checkout" / ".git")
    foreign = tmp_path / "foreign.git"
    git(foreign, "init", "-q", "--bare", str(foreign))
    tree = subprocess.run(["git", "--git-dir", str(foreign), "mktree"], input="", text=True, capture_output=True,
                          check=True).stdout.strip()
    commit = subprocess.run(["git", "--git-dir", str(foreign), "commit-tree", tree, "-m", "theirs"],
                            env={**os.environ, "GIT_AUTHOR_NAME": "x", "GIT_AUTHOR_EMAIL": "x@x",
                                 "GIT_COMMITTER_NAME": "x", "GIT_COMMITTER_EMAIL": "x@x"},
                            capture_output=True, text=True, check=True).stdout.strip()
    git(foreign, "update-ref", "refs/heads/main", commit)
    with pytest.raises(StoreError, match="did not create"):
        GitStore(foreign)
    assert "rulecraft" not in (foreign / "config").read_text()
    assert not list(foreign.glob("rulecraft*")) and not list((tmp_path / "checkout" / ".git").glob("rulecraft*"))
    assert [p.name for p in (tmp_path / "notes").iterdir()] == ["todo.txt"]


def test_reopening_repairs_missing_settings_and_keeps_history(store, repo):
    version = save(store, RULE, "x\n")
    git(repo, "config", "--unset", "core.fsync")
    with GitStore(repo) as again:
        assert again.head() == version.id
    assert git(repo, "config", "core.fsync").strip() == "committed"


def test_maintenance_packs_objects_and_keeps_every_answer(repo):
    with GitStore(repo, maintain_after=0) as store:  # maintain (in the background) after every save
        versions = [save(store, RULE if i % 3 else "sepsis-triage/vocabulary.yaml", f"{i}\n") for i in range(6)]
    assert store.maintenance_runs >= 1  # close() waited for it
    assert (repo / "objects" / "info" / "commit-graphs" / "commit-graph-chain").exists()
    assert list((repo / "objects" / "pack").glob("*.pack"))
    with GitStore(repo, maintain_after=None) as store:
        assert store.count(RULE) == 4
        assert [v.id for v in store.log(RULE)] == [v.id for i, v in reversed(list(enumerate(versions))) if i % 3]
        save(store, RULE, "after\n")
        store.maintain()
        assert store.maintenance_runs == 0 and store.fsck()[0]  # maintain() on demand is not counted as a run
        assert store.count(RULE) == 5


def test_maintenance_clears_what_a_killed_maintenance_left(store, repo):
    save(store, RULE, "x\n")
    graphs = repo / "objects" / "info" / "commit-graphs"
    graphs.mkdir(parents=True)
    (graphs / "commit-graph-chain.lock").write_text("")
    (repo / "objects" / "pack" / ".tmp-4242-pack-deadbeef.pack").write_bytes(b"PACK")
    with GitStore(repo, maintain_after=0) as eager:
        save(eager, RULE, "y\n")
    assert eager.maintenance_runs == 1  # under the maintenance lock, the leftovers were known to be stale
    assert stray_files(repo) == [] and store.fsck()[0]


def test_fault_point_fires_only_on_the_named_step_and_time(tmp_path):
    code = ("from server.store import fault_point\n"
            "for i in range(3):\n    fault_point('a.step'); print(i, flush=True)\n")
    def run(value):
        env = {**os.environ, "PYTHONPATH": str(ROOT), "RULECRAFT_FAULT": value}
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    assert run("a.step").returncode == 99 and run("a.step").stdout == ""
    assert (run("a.step:2").returncode, run("a.step:2").stdout) == (99, "0\n")
    assert (run("other.step").returncode, run("other.step").stdout) == (0, "0\n1\n2\n")


# ---- last change of every file in a folder: one walk (issue 13, item 17) ------------------------------------------

def test_last_changes_of_a_folder_agree_with_git_at_every_version(store, repo):
    rng = random.Random(7)
    names = [f"set/rules/r{i}.rule" for i in range(8)]
    versions = []
    for step in range(40):
        path = rng.choice(names)
        if step % 9 == 8 and any(store.exists(versions[-1], n) for n in names if n != path):
            present = [n for n in names if store.exists(versions[-1], n)]
            versions.append(store.commit([Change(rng.choice(present), None)], author=ANN, message="gone",
                                         trailers=TRAILERS).id)  # a deletion (the name may come back later)
        elif step % 5 == 4:
            versions.append(save(store, "other/rules/x.rule", f"{step}\n").id)  # a save elsewhere
        else:
            versions.append(save(store, path, f"{step}\n").id)
        if step % 3 == 0:
            store.last_changes("set/rules")  # answers remembered on the way, as after list views between saves
    for version in rng.sample(versions, 15) + [versions[-1]]:
        expected = {}
        for line in git(repo, "ls-tree", "--name-only", version, "set/rules/").split():
            expected[line] = git(repo, "log", "-1", "--format=%H", version, "--", line).strip()
        found = store.last_changes("set/rules", version=version)
        assert {p: v.id for p, v in found.items()} == expected, version
        assert all(v.author == ANN and v.message for v in found.values())
    assert store.last_changes("nothing/here") == {}


def test_last_changes_right_after_a_save_is_one_git_process_and_reads_again_start_none(store):
    for i in range(30):
        save(store, f"set/rules/r{i}.rule", f"{i}\n")
    store.last_changes("set/rules")
    latest = save(store, "set/rules/r3.rule", "changed\n")
    started = store.git_processes
    found = store.last_changes("set/rules")
    assert store.git_processes - started == 1 and found["set/rules/r3.rule"].id == latest.id
    assert len(found) == 30
    store.last_changes("set/rules")
    assert store.git_processes - started == 1
