"""The rule store: the only package in Rulecraft that runs Git.

It knows nothing of HTTP, the database or sessions. The service layer calls it, keeps the audit rows and reconciles
after crashes using the trailers stored in each commit (see ``find_by_trailer`` and ``versions_since``).

How a save works, and why
    The repository is BARE and written with plumbing only, so there is no working tree to leave half-written:
    blob ids and tree ids are computed here, the blobs are written with ``git hash-object -w --stdin-paths`` (from
    files in a scratch folder inside the repository), the changed trees with one ``git mktree --batch`` (the ids
    Git reports are checked against ours), then ``git commit-tree`` and a compare-and-swap
    ``git update-ref refs/heads/main <new> <old>``. Writers are serialised across processes by an ``fcntl.flock`` on
    ``rulecraft-store.flock``; the compare-and-swap makes a lost update impossible even if something bypasses the
    lock. That is four Git processes per save (three when the save only deletes). Until the branch moves, nothing a
    reader can see has changed; a crash leaves at most unreferenced objects and a scratch folder (``recover``).

Reading
    One persistent ``git cat-file --batch`` process per store (plain subprocess, not GitPython: see below) serves
    every object; trees are parsed here, which is
    also how links and submodules are refused rather than followed. Commits, trees and whole rule sets are
    cached by id: objects never change, so reads from cache start no process at all. History, counts, diffs and
    blame use one ``git rev-list``/``git diff``/``git blame`` process each.

Git runs with an empty, fixed environment: no system or user config (GIT_CONFIG_NOSYSTEM, GIT_CONFIG_GLOBAL=/dev/null,
HOME = the repository), literal pathspecs, no hooks, ``core.quotepath=off``; people's names reach Git only as
GIT_AUTHOR_* variables for one ``commit-tree``, never through configuration. Every value that came from outside is
validated against an allow-list first and still placed after ``--end-of-options`` or ``--``.

Repository settings (written on creation, repaired on open): ``core.fsync=committed`` + ``core.fsyncMethod=fsync``
(an acknowledged save survives power loss); ``gc.auto=0`` and ``maintenance.auto=false``, because an automatic gc
would run detached, outside our locks, at moments we do not choose: its prune could remove objects a save has
written but not yet referenced, and its prune-packed makes a concurrent save fail (seen in testing: "unable to
create temporary file"). Instead the store maintains the repository itself, in a background thread after some
saves: about every 64 saves it extends the commit-graph with changed-path Bloom filters (they keep path history
fast at 10,000+ commits), every few hundred saves it packs loose objects (``repack --geometric``, never pruning)
while holding the writer lock. See ``maintain``. Also ``receive.denyNonFastForwards``/``denyDeletes`` (history is
append-only even for a push) and ``core.symlinks=false``.

GitPython (a dependency of the product, deliberately not used by the store; ``python bench/store_gitpython.py``)
    Measured part by part against this package on the same repository (2 shared cores, best of 21 runs): reading
    500 files through its persistent cat-file took +35% (one request per object, where ours sends 200 per write),
    one file at a time +8% to +59%; parsing a tree of 500 files 6x the CPU (0.31 vs 1.97 ms); parsing 301
    commits +24% CPU, through a private ``Commit._deserialize``, and without trailers (``Commit.trailers`` runs
    ``git interpret-trailers`` once per commit); ``Repo.blame`` +41%; a tag cannot be parsed from bytes at all
    (``TagObject`` reads itself through a second cat-file). Beyond speed, GitPython starts every Git process from
    a copy of ``os.environ`` and can only add variables, never remove them (``git/cmd.py`` ``execute``): a
    ``GIT_OBJECT_DIRECTORY``, ``GIT_ALTERNATE_OBJECT_DIRECTORIES`` or ``GIT_CONFIG_PARAMETERS`` (hooks back on) in
    the server's environment reaches Git; with ``GIT_OBJECT_DIRECTORY`` set its reads fail while the store's
    succeed (the benchmark shows it; ``test_git_runs_untouched_by_the_callers_environment`` guards the store).
    ``Repo.git`` for plumbing has the same environment. So every part stays on plain ``subprocess`` with the
    store's fixed environment (``tests/server/test_store_layers.py`` keeps GitPython out of the package).

Open one GitStore per process (it is thread-safe and its caches are what make reads cheap) and close it at exit.

Modules (each imports only those above it): ``errors``; ``checks`` (the allow-lists); ``values`` (what the store hands
out); ``objects`` (Git's object formats, tree planning); ``reader`` (cat-file, objects, files); ``history`` (log,
counts, diffs, blame); ``maintenance`` (recover, backups, packing); ``git_store`` (GitStore: plumbing, locks, saves,
releases). Import from ``server.store``: the names below are the store's interface.
"""
from __future__ import annotations

from .checks import FULL_ID, RELEASE_NAME
from .errors import (
                     ConflictError,
                     GitError,
                     HeadMoved,
                     InvalidInput,
                     InvalidPath,
                     NotFound,
                     NothingChanged,
                     ReleaseExists,
                     RevisionError,
                     StoreBusy,
                     StoreError,
)
from .git_store import ANY_HEAD, GitStore, fault_point
from .maintenance import LOCK_FILE, MAINTENANCE_LOCK_FILE, SCRATCH
from .values import SERVICE_IDENTITY, BlameLine, Change, Identity, Tag, Version

__all__ = [
    "GitStore", "fault_point", "ANY_HEAD", "StoreError", "InvalidInput", "InvalidPath", "RevisionError", "NotFound",
    "NothingChanged", "ConflictError", "HeadMoved", "ReleaseExists", "StoreBusy", "GitError",
    "Identity", "Version", "Change", "BlameLine", "Tag", "SERVICE_IDENTITY",
    "FULL_ID", "RELEASE_NAME", "LOCK_FILE", "MAINTENANCE_LOCK_FILE", "SCRATCH",
]
