"""GitStore: opening a repository, the plumbing every part shares (Git with a fixed environment, the locks), and
writing: saves and releases. How a save works, and why: see the package docstring."""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from ..caches import LRUCache
from .checks import (
    FULL_ID,
    check_message,
    check_path,
    check_tag_name,
    compose_message,
    shown,
)
from .errors import (
    ConflictError,
    GitError,
    HeadMoved,
    NothingChanged,
    ReleaseExists,
    RevisionError,
    StoreBusy,
    StoreError,
)
from .history import History
from .maintenance import LOCK_FILE, MAINTENANCE_LOCK_FILE, REPOSITORY_SETTINGS, SCRATCH, Maintenance
from .objects import BRANCH, EMPTY_TREE, LINK_MODES, TREE_MODE, ZERO_ID, parse_tag, plan_tree
from .reader import Reading, _CatFile
from .values import SERVICE_IDENTITY, Change, Identity, Tag, Version, check_changes, check_identity, public_version

# ``commit(expect_head=ANY_HEAD)``: save on whatever the newest version is (no compare-and-swap). The one sentinel for
# "do not check": ``None`` means "the store must still be empty", so a first save is compare-and-swapped too.
ANY_HEAD = object()
_KINDS = {TREE_MODE: "tree", "160000": "commit"}

_fault_counts: dict[str, int] = {}


def fault_point(step: str) -> None:
    """Crash here (exit code 99) when RULECRAFT_FAULT is ``step``, or ``step:N`` on the Nth time in this process;
    ``step@SECONDS`` pauses here instead (to widen a window that tests must hit, e.g. a save in flight)."""
    wanted = os.environ.get("RULECRAFT_FAULT")
    if not wanted:
        return
    name, _, pause = wanted.partition("@")
    if pause:
        if name == step:
            time.sleep(float(pause))
        return
    name, _, nth = wanted.partition(":")
    if name != step:
        return
    _fault_counts[step] = _fault_counts.get(step, 0) + 1
    if not nth or (nth.isdigit() and _fault_counts[step] == int(nth)):
        os._exit(99)

class GitStore(Reading, History, Maintenance):
    """A workspace's Git repository. Thread-safe; several processes may open the same path."""

    def __init__(self, path: Path, *, lock_timeout: float = 30.0, maintain_after: int | None = 1500):
        self.path = Path(path).absolute()
        git = shutil.which("git")
        if git is None:
            raise StoreError("Git is not installed on this server, so rules cannot be stored.")
        self._env = {
            "PATH": os.environ.get("PATH", os.defpath), "HOME": str(self.path), "GIT_DIR": str(self.path),
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_ATTR_NOSYSTEM": "1",
            "GIT_LITERAL_PATHSPECS": "1", "GIT_NO_REPLACE_OBJECTS": "1", "GIT_OPTIONAL_LOCKS": "0",
            "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "TZ": "UTC",
        }
        self._argv = [git, "-c", "core.quotepath=off", "-c", f"core.hooksPath={os.devnull}"]
        self._lock_timeout = lock_timeout
        # Objects are packed after a save once about this many are loose (estimated as Git does, from the folder
        # objects/17, which holds 1/256 of them): a save writes ~5, so every ~300 saves by default; see
        # _maybe_maintain. None: no maintenance after saves (then call maintain() from a job of your own).
        self._maintain_after = maintain_after
        self._thread_lock = threading.Lock()
        self._held = threading.local()  # .fds: the lock descriptors this thread holds (see _git)
        self._cat = _CatFile(self._argv + ["cat-file", "--batch"], self._env, self.path)
        self._finalizer = weakref.finalize(self, self._cat.close)
        self._commits = LRUCache(10_000)
        self._trees = LRUCache(4_096)
        self._files = LRUCache(256, max_bytes=128 << 20)
        self._blob_cache = LRUCache(65_536, max_bytes=64 << 20)  # file contents by id (immutable)
        # Walks of history from a version (counts and pages of log): what lies below a version never changes, so
        # a history page read again before the next save starts no Git process.
        self._walks = LRUCache(1_024)
        # The version that last changed each file of a folder, by (folder, version): ~100 bytes per file.
        self._last_changes = LRUCache(256, max_bytes=64 << 20)
        self.git_processes = 0  # how many Git processes this store started (for tests and the benchmark)
        self.maintenance_runs = 0
        self._maintainer: threading.Thread | None = None
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)  # owner-only, like the rest of the data folder
        self._ensure_repository()

    def close(self) -> None:
        """Wait for background maintenance, stop the reader process. Open one store per process, close at exit."""
        if self._maintainer is not None:
            self._maintainer.join()
        self._finalizer()

    def __enter__(self) -> GitStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------------ plumbing

    def _git(self, *args: str, input: bytes = b"", env: dict[str, str] | None = None,
             check: bool = True) -> subprocess.CompletedProcess:
        self.git_processes += 1
        # A Git process started while this thread holds a store lock holds it too (the lock's descriptor is
        # inherited): if this process is killed mid-save, its Git processes run on to their end, and the lock
        # stays held until they have, so that recovery or the next save never works beside them.
        proc = subprocess.run([*self._argv, *args], input=input, capture_output=True, cwd=self.path,
                              env={**self._env, **(env or {})}, pass_fds=tuple(getattr(self._held, "fds", ())))
        if check and proc.returncode != 0:
            raise self._failure(args[0], proc.stderr)
        return proc

    @staticmethod
    def _failure(command: str, stderr: bytes) -> StoreError:
        detail = stderr.decode("utf-8", "replace").strip()
        if ".lock" in detail and "exists" in detail:
            # Said to the person saving, on a live server: never "run recover" (recovery beside live saves is
            # what must not happen); a stale lock is cleared by the next save or start (see _clear_stale).
            return StoreBusy("The rule store is finishing an operation that was interrupted. Nothing was changed; "
                             "please try again in a moment, and tell your administrator if it happens again.")
        return GitError(f"The rule store could not complete the operation ({command}).", detail)

    @contextmanager
    def _locked(self):
        """Hold the store's writer lock (threads of this process, then other processes)."""
        deadline = time.monotonic() + self._lock_timeout
        if not self._thread_lock.acquire(timeout=self._lock_timeout):
            raise StoreBusy("The rule store is busy with other saves. Try again in a moment.")
        try:
            with self._flock(LOCK_FILE, deadline) as held:
                if not held:
                    raise StoreBusy("The rule store is busy with other saves. Try again in a moment.")
                yield
        finally:
            self._thread_lock.release()

    @contextmanager
    def writers_done(self):
        """Hold the writer lock: no save is in progress meanwhile, including the Git processes of a killed one
        (they hold the lock until they end). Recovery of a dead worker's saves decides under it."""
        with self._locked():
            yield

    @contextmanager
    def _flock(self, name: str, deadline: float):
        """Try to hold an flock on ``name`` until ``deadline``; yields whether it is held."""
        fd = os.open(self.path / name, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            pause = 0.001
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        yield False
                        return
                    time.sleep(pause)
                    pause = min(pause * 2, 0.01)
            held = self._held.__dict__.setdefault("fds", [])
            held.append(fd)
            try:
                yield True
            finally:
                held.remove(fd)
        finally:
            os.close(fd)  # closing releases the flock (once Git processes that inherited it have ended too)

    def _ensure_repository(self) -> None:
        """Create the repository if the folder is new or empty, else check it is ours; then repair its settings.
        A folder that is refused is left exactly as it was (the checks run before the lock file is made)."""
        self._refuse_foreign_folder()
        with self._locked():
            if not (self.path / "HEAD").exists():
                self._refuse_foreign_folder()  # again, now that no other process can be creating it
                self._git("init", "--quiet", "--bare", "--template=", "--initial-branch=main", str(self.path))
            (self.path / MAINTENANCE_LOCK_FILE).touch()  # exists from the start, like the writer lock
            config = self._config_lines()
            for key, value in REPOSITORY_SETTINGS.items():
                if f"{key}={value}" not in config:
                    self._git("config", key, value)

    def _refuse_foreign_folder(self) -> None:
        if not (self.path / "HEAD").exists():
            if {p.name for p in self.path.iterdir()} - {LOCK_FILE, MAINTENANCE_LOCK_FILE, SCRATCH}:
                raise StoreError("The store's folder is not empty and holds no Rulecraft rules; "
                                 "choose an empty or new folder.")
            return
        config = self._config_lines()
        if "core.bare=true" not in config:
            raise StoreError("The store's folder is not a Rulecraft store (it is not a bare Git repository).")
        if "rulecraft.store=1" not in config and self._git("for-each-ref", "--count=1").stdout:
            # Not ours, or creation never finished (then it has no history yet and is safe to finish).
            raise StoreError("The store's folder holds a Git repository that Rulecraft did not create. If it is a "
                             "copy of a Rulecraft store, run 'git config rulecraft.store 1' inside it.")

    def _config_lines(self) -> set[str]:
        proc = self._git("config", "--local", "--list", check=False)
        return set(proc.stdout.decode("utf-8", "replace").lower().splitlines()) if proc.returncode == 0 else set()

    # ------------------------------------------------------------------------------------------------- writing

    def commit(self, changes: list[Change], *, author: Identity, message: str, trailers: dict[str, str],
               base: str | None = None, conflict_paths: list[str] = (), expect_head: str | None = ANY_HEAD,
               recheck: Callable[[str | None], None] | None = None) -> Version:
        """Apply ``changes`` to the newest version as exactly one new version (see the module docstring).

        ``base`` + ``conflict_paths``: refuse (ConflictError) if any of those files changed since ``base``.
        ``expect_head``: refuse (HeadMoved) unless the newest version is this one (None: the store is empty;
        ``ANY_HEAD``, the default: no check).
        ``recheck``: when the newest version is not ``expect_head``, called with it under the writer lock (it cannot
        move meanwhile) instead of refusing: it returns if the changes still hold on it, or raises. Without it, a
        change checked against a whole version could starve behind a stream of other saves, retrying for ever.
        """
        author = check_identity(author)
        text = compose_message(message, trailers)
        planned = check_changes(changes)
        conflict_paths = [check_path(p) for p in conflict_paths]
        base_tree = self._record(base).tree if base is not None else None
        if expect_head is not ANY_HEAD and expect_head is not None and not (
                isinstance(expect_head, str) and FULL_ID.fullmatch(expect_head)):
            raise RevisionError(f"'{shown(expect_head)}' is not a version id.")
        with self._locked():
            fault_point("store.locked")
            record = self._head_record()
            head, head_tree = (record.version.id, record.tree) if record else (None, None)
            if base is not None:
                self._check_conflicts(base_tree, head_tree, head, conflict_paths)
            if expect_head is not ANY_HEAD and head != expect_head:
                if recheck is None:
                    raise HeadMoved("The rules were changed by someone else in the meantime. "
                                    "Reload them and try again.", head)
                recheck(head)
            blobs, trees, new_tree = plan_tree(head_tree, planned, self._tree)
            if new_tree == (head_tree or EMPTY_TREE):
                raise NothingChanged("Nothing changed: every file already has that content.")
            with self._scratch() as scratch:
                self._write_objects(scratch, blobs, trees)
                fault_point("store.objects-written")
                oid = self._commit_tree(new_tree, head, author, text)
                fault_point("store.commit-written")
                self._move_branch(oid, head)
                fault_point("store.ref-updated")
        self._maybe_maintain(oid)
        return public_version(self._records([oid])[0].version)

    def _check_conflicts(self, base_tree: str, head_tree: str | None, head: str | None, paths: list[str]) -> None:
        for path in paths:
            was, now = self._entry(base_tree, path), self._entry(head_tree, path)
            if was != now:
                raise ConflictError(path, self._text(was), self._text(now), head)

    def _text(self, entry: tuple[str, str] | None) -> str | None:
        if entry is None or entry[0] == TREE_MODE or entry[0] in LINK_MODES:
            return None
        return self._blobs([entry[1]])[0].decode("utf-8", "replace")

    @contextmanager
    def _scratch(self):
        """A private folder for this save's temporary files; a crash leaves it for ``recover``."""
        (self.path / SCRATCH).mkdir(exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="save-", dir=self.path / SCRATCH))
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _write_objects(self, scratch: Path, blobs: dict[str, bytes], trees: list[tuple[str, dict]]) -> None:
        if blobs:
            files = []
            for i, content in enumerate(blobs.values()):
                file = scratch / f"{i}.blob"
                file.write_bytes(content)
                files.append(str(file))
            written = self._git("hash-object", "-w", "--no-filters", "--stdin-paths",
                                input="".join(f + "\n" for f in files).encode()).stdout.decode().split()
            if written != list(blobs):
                raise GitError("The rule store could not save the files.", f"hash-object gave {written}")
        if trees:
            listing = "".join(
                "".join(f"{mode} {_KINDS.get(mode, 'blob')} {oid}\t{name}\n"
                        for name, (mode, oid) in entries.items()) + "\n"
                for _, entries in trees)
            # --missing: mktree's own check of the entries looks only at the packs it saw when it started, so a
            # background repack that just moved an unchanged folder into a new pack made saves fail ("object is
            # unavailable"). Every entry is an object read from this repository or written above, and the ids
            # Git reports are checked against ours below.
            written = self._git("mktree", "--missing", "--batch", input=listing.encode()).stdout.decode().split()
            if written != [oid for oid, _ in trees]:
                raise GitError("The rule store could not save the folders.", f"mktree gave {written}")

    def _commit_tree(self, tree: str, parent: str | None, author: Identity, text: str) -> str:
        now = f"@{int(time.time())} +0000"
        env = {"GIT_AUTHOR_NAME": author.name, "GIT_AUTHOR_EMAIL": author.email, "GIT_AUTHOR_DATE": now,
               "GIT_COMMITTER_NAME": SERVICE_IDENTITY.name, "GIT_COMMITTER_EMAIL": SERVICE_IDENTITY.email,
               "GIT_COMMITTER_DATE": now}
        parents = ["-p", parent] if parent else []
        proc = self._git("commit-tree", *parents, "--end-of-options", tree, input=text.encode(), env=env)
        return proc.stdout.decode().strip()
    def _move_branch(self, new: str, old: str | None) -> None:
        self._clear_stale(BRANCH + ".lock")
        proc = self._git("update-ref", "-m", "rulecraft save", "--end-of-options", BRANCH, new, old or ZERO_ID,
                         check=False)
        if proc.returncode != 0:
            now = self.head()
            if now != old:
                raise HeadMoved("The rules were changed outside Rulecraft at the same moment. Reload and try again.",
                                now)
            raise self._failure("update-ref", proc.stderr)

    # ------------------------------------------------------------------------------------------------ releases

    def create_tag(self, name: str, version: str, *, message: str, tagger: Identity) -> Tag:
        """Record release ``name`` (e.g. ``sepsis-triage/v3``) as an annotated tag. Releases never move."""
        name = check_tag_name(name)
        version = self._record(version).version.id
        tagger = check_identity(tagger)
        message = check_message(message, "The release note")
        ref = f"refs/tags/{name}"
        with self._locked():
            if self._cat.get([ref])[0] is not None:
                raise ReleaseExists(f"Release {name} already exists; releases never change. Choose the next name.")
            text = (f"object {version}\ntype commit\ntag {name}\n"
                    f"tagger {tagger.git_line(int(time.time()))}\n\n{message}\n")
            oid = self._git("mktag", input=text.encode()).stdout.decode().strip()
            fault_point("store.tag-written")
            self._clear_stale(ref + ".lock")
            proc = self._git("update-ref", "-m", "rulecraft release", "--end-of-options", ref, oid, ZERO_ID,
                             check=False)
            if proc.returncode != 0:
                if self._cat.get([ref])[0] is not None:
                    raise ReleaseExists(f"Release {name} already exists; releases never change.")
                raise self._failure("update-ref", proc.stderr)
            fault_point("store.tag-ref-updated")
        return self._tags_from([oid])[0]

    def tags(self, prefix: str | None = None) -> list[Tag]:
        """Releases (annotated tags on commits), under ``prefix`` if given, oldest first."""
        pattern = f"refs/tags/{check_path(prefix, max_depth=3)}/" if prefix is not None else "refs/tags/"
        out = self._git("for-each-ref", "--format=%(objecttype) %(objectname)", "--", pattern).stdout.decode()
        ids = [oid for kind, oid in (line.split() for line in out.splitlines()) if kind == "tag"]
        return sorted(self._tags_from(ids), key=lambda t: (t.time, t.name))

    def _tags_from(self, ids: list[str]) -> list[Tag]:
        tags = []
        for found in self._cat.get(ids) if ids else []:
            if found is not None and found[1] == "tag":
                target, kind, name, tagger, when, message = parse_tag(found[2])
                if kind == "commit":
                    tags.append(Tag(name, target, message, tagger, when))
        return tags
