"""The rule store: the only module in Rulecraft that runs Git.

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
    One persistent ``git cat-file --batch`` process per store (plain subprocess, not GitPython: one less layer whose
    environment and config handling we would have to police) serves every object; trees are parsed here, which is
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

Open one GitStore per process (it is thread-safe and its caches are what make reads cheap) and close it at exit.
"""
from __future__ import annotations

import fcntl
import logging
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

from server.store_values import (
    EMPTY_TREE,
    FULL_ID,
    RELEASE_NAME,
    SERVICE_IDENTITY,
    TREE_MODE,
    BlameLine,
    Change,
    CommitRecord,
    ConflictError,
    GitError,
    HeadMoved,
    Identity,
    InvalidInput,
    InvalidPath,
    LRUCache,
    NotFound,
    NothingChanged,
    ReleaseExists,
    RevisionError,
    StoreBusy,
    StoreError,
    Tag,
    Version,
    check_changes,
    check_identity,
    check_int,
    check_message,
    check_path,
    check_tag_name,
    check_trailer,
    compose_message,
    parse_commit,
    parse_tag,
    parse_tree,
    plan_tree,
    public_version,
    shown,
)

__all__ = [
    "GitStore", "fault_point", "ANY_HEAD", "StoreError", "InvalidInput", "InvalidPath", "RevisionError", "NotFound",
    "NothingChanged", "ConflictError", "HeadMoved", "ReleaseExists", "StoreBusy", "GitError",
    "Identity", "Version", "Change", "BlameLine", "Tag", "SERVICE_IDENTITY",
]

log = logging.getLogger(__name__)

BRANCH = "refs/heads/main"
LOCK_FILE = "rulecraft-store.flock"
MAINTENANCE_LOCK_FILE = "rulecraft-maintenance.flock"
SCRATCH = "rulecraft-tmp"
ZERO_ID = "0" * 40
# ``commit(expect_head=ANY_HEAD)``: save on whatever the newest version is (no compare-and-swap). The one sentinel for
# "do not check": ``None`` means "the store must still be empty", so a first save is compare-and-swapped too.
ANY_HEAD = object()
_LINK_MODES = ("120000", "160000")
_KINDS = {TREE_MODE: "tree", "160000": "commit"}

REPOSITORY_SETTINGS = {
    "core.fsync": "committed",
    "core.fsyncmethod": "fsync",
    "core.symlinks": "false",
    "core.logallrefupdates": "false",
    "gc.auto": "0",
    "maintenance.auto": "false",
    "receive.denynonfastforwards": "true",
    "receive.denydeletes": "true",
    "transfer.fsckobjects": "true",
    "rulecraft.store": "1",  # written last: its presence means creation finished
}

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


class _CatFile:
    """One long-lived ``git cat-file --batch``: objects by id (or by full ref name) without a process per read."""

    CHUNK = 200  # requests per write: small enough that neither pipe can fill while the other waits

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path):
        self._argv, self._env, self._cwd = argv, env, cwd
        self._proc: subprocess.Popen | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def get(self, names: list[str]) -> list[tuple[str, str, bytes] | None]:
        """(id, type, data) for each name, None where Git has no such object."""
        with self._lock:
            for attempt in (1, 2):
                if self._proc is None or self._pid != os.getpid() or self._proc.poll() is not None:
                    self._start()
                try:
                    out = []
                    for i in range(0, len(names), self.CHUNK):
                        out += self._exchange(names[i:i + self.CHUNK])
                    return out
                except (OSError, ValueError, EOFError) as e:
                    self._stop()
                    if attempt == 2:
                        raise GitError("The rule store could not read its history.", repr(e)) from e
        raise AssertionError("unreachable")

    def _exchange(self, names: list[str]) -> list[tuple[str, str, bytes] | None]:
        proc = self._proc
        proc.stdin.write("".join(name + "\n" for name in names).encode())
        proc.stdin.flush()
        out = []
        for _ in names:
            header = proc.stdout.readline().split()
            if len(header) == 2 and header[1] in (b"missing", b"ambiguous"):
                out.append(None)
                continue
            if len(header) != 3:
                raise EOFError("git cat-file stopped answering")
            size = int(header[2])
            data = proc.stdout.read(size + 1)
            if len(data) != size + 1:
                raise EOFError("git cat-file stopped answering")
            out.append((header[0].decode(), header[1].decode(), data[:-1]))
        return out

    def _start(self) -> None:
        self._stop()
        self._proc = subprocess.Popen(self._argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, env=self._env, cwd=self._cwd)
        self._pid = os.getpid()

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.stdin.close()
        proc.stdout.close()
        if self._pid != os.getpid():
            proc.returncode = 0  # a forked copy: the process belongs to the parent, which will wait for it
            return
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def close(self) -> None:
        with self._lock:
            self._stop()


class GitStore:
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

    # ------------------------------------------------------------------------------------------ reading objects

    def head(self) -> str | None:
        """The newest version on the main branch, or None before the first save."""
        record = self._head_record()
        return record.version.id if record else None

    def _head_record(self) -> CommitRecord | None:
        found = self._cat.get([BRANCH])[0]
        return self._remember_commit(found) if found is not None else None

    def _remember_commit(self, found: tuple[str, str, bytes]) -> CommitRecord:
        record = parse_commit(found[0], found[2])
        self._commits.put(found[0], record)
        return record

    def _records(self, ids: list[str]) -> list[CommitRecord]:
        """Commit records for ids known to be commits, fetching the missing ones in one exchange."""
        known = {oid: self._commits.get(oid) for oid in ids}
        missing = [oid for oid, record in known.items() if record is None]
        for oid, found in zip(missing, self._cat.get(missing) if missing else []):
            if found is None or found[1] != "commit":
                raise GitError("The rule store's history is damaged (a version is missing).", oid)
            known[oid] = self._remember_commit(found)
        return [known[oid] for oid in ids]

    def _record(self, version: object) -> CommitRecord:
        """The allow-list for versions: a full id that is the id of a commit in this repository."""
        if not isinstance(version, str) or not FULL_ID.fullmatch(version):
            raise RevisionError(f"'{shown(version)}' is not a version id: "
                                "a version id has 40 characters, 0-9 and a-f.")
        record = self._commits.get(version)
        if record is None:
            found = self._cat.get([version])[0]
            if found is None or found[1] != "commit":
                raise RevisionError(f"There is no version {version[:12]}... in this workspace.")
            record = self._remember_commit(found)
        return record

    def _tree(self, oid: str) -> dict[str, tuple[str, str]]:
        entries = self._trees.get(oid)
        if entries is None:
            found = self._cat.get([oid])[0]
            if found is None or found[1] != "tree":
                raise GitError("The rule store's history is damaged (a folder is missing).", oid)
            entries = parse_tree(found[2])
            self._trees.put(oid, entries)
        return entries

    def _entry(self, tree: str | None, path: str) -> tuple[str, str] | None:
        """(mode, id) of ``path`` under ``tree``; None if absent. Never descends through a link."""
        entry = (TREE_MODE, tree) if tree else None
        for part in path.split("/"):
            if entry is None or entry[0] != TREE_MODE:
                return None
            entry = self._tree(entry[1]).get(part)
        return entry

    def _blobs(self, ids: list[str]) -> list[bytes]:
        """File contents by id; those read before come from memory (after a save of one rule in a rule set of
        5,000, reading the new version fetched all 5,000 again: 0.3 s)."""
        known = {oid: self._blob_cache.get(oid) for oid in ids}
        missing = [oid for oid, data in known.items() if data is None]
        for oid, found in zip(missing, self._cat.get(missing) if missing else []):
            if found is None or found[1] != "blob":
                raise GitError("The rule store's history is damaged (a file is missing).", oid)
            known[oid] = found[2]
            self._blob_cache.put(oid, found[2], len(found[2]) + 100)
        return [known[oid] for oid in ids]

    # --------------------------------------------------------------------------------------------------- reads

    def read(self, version: str, path: str) -> bytes:
        path = check_path(path)
        entry = self._entry(self._record(version).tree, path)
        if entry is None or entry[0] == TREE_MODE:
            raise NotFound(f"There is no file {path} in that version.")
        if entry[0] in _LINK_MODES:
            raise NotFound(f"{path} is a link; the rule store never follows links.")
        return self._blobs([entry[1]])[0]

    def exists(self, version: str, path: str) -> bool:
        """True if ``path`` is a file or a folder at ``version``."""
        path = check_path(path)
        entry = self._entry(self._record(version).tree, path)
        return entry is not None and entry[0] not in _LINK_MODES

    def folders(self, version: str) -> list[str]:
        """The top-level folders (rule sets) at ``version``."""
        root = self._tree(self._record(version).tree)
        return sorted(name for name, (mode, _) in root.items() if mode == TREE_MODE)

    def files(self, version: str, folder: str) -> dict[str, bytes]:
        """Every regular file under ``folder`` (paths relative to it). Links and submodules are left out."""
        folder = check_path(folder)
        record = self._record(version)
        cached = self._files.get((version, folder))
        if cached is not None:
            return dict(cached)
        entry = self._entry(record.tree, folder)
        if entry is None or entry[0] != TREE_MODE:
            raise NotFound(f"There is no folder {folder} in that version.")
        found: dict[str, str] = {}
        pending = [("", entry[1])]
        while pending:
            prefix, tree = pending.pop()
            for name, (mode, oid) in self._tree(tree).items():
                if mode == TREE_MODE:
                    pending.append((prefix + name + "/", oid))
                elif mode not in _LINK_MODES:
                    found[prefix + name] = oid
        names = sorted(found)
        result = dict(zip(names, self._blobs([found[n] for n in names])))
        self._files.put((version, folder), result, sum(map(len, result.values())) + 100 * len(result))
        return dict(result)

    def resolve(self, revision: str, *, tag_prefix: str | None = None) -> str:
        """The allow-list for revisions from outside: a full version id of a commit in this repository, or a
        release name (``v3``, looked up as tag ``<tag_prefix>/v3``). Anything else raises RevisionError."""
        if isinstance(revision, str) and len(revision) == 40 and FULL_ID.fullmatch(revision.lower()):
            return self._record(revision.lower()).version.id
        if isinstance(revision, str) and RELEASE_NAME.fullmatch(revision):
            name = f"{check_path(tag_prefix, max_depth=3)}/{revision}" if tag_prefix is not None else revision
            found = self._cat.get([f"refs/tags/{name}"])[0]
            for _ in range(5):  # peel tag -> commit
                if found is None or found[1] != "tag":
                    break
                found = self._cat.get([parse_tag(found[2])[0]])[0]
            if found is None or found[1] != "commit":
                raise RevisionError(f"There is no release {revision}.")
            return self._remember_commit(found).version.id
        raise RevisionError(f"'{shown(revision)}' is not a version: use a release name such as v3, "
                            "or a full version id (40 characters, 0-9 and a-f).")

    # ------------------------------------------------------------------------------------------------- history

    def log(self, path: str | None = None, *, limit: int = 20, offset: int = 0,
            version: str | None = None) -> list[Version]:
        """Versions that changed ``path`` (a file or a folder; None = anything), newest first, from ``version``."""
        limit, offset = check_int(limit, "limit", 1, 10_000), check_int(offset, "offset", 0, 10**9)
        start = self._start(version, path)
        if start is None:
            return []
        key = ("log", start, path, limit, offset)
        ids = self._walks.get(key)
        if ids is None:
            args = ["rev-list", f"--max-count={limit}", f"--skip={offset}", "--end-of-options", start]
            ids = self._git(*args, *(["--", path] if path else [])).stdout.decode().split()
            self._walks.put(key, ids)
        return [public_version(record.version) for record in self._records(ids)]

    def count(self, path: str | None = None, *, version: str | None = None) -> int:
        """How many versions changed ``path`` (None = all versions), up to ``version`` (default: newest)."""
        start = self._start(version, path)
        if start is None:
            return 0
        key = ("count", start, path)
        counted = self._walks.get(key)
        if counted is None:
            args = ["rev-list", "--count", "--end-of-options", start, *(["--", path] if path else [])]
            counted = int(self._git(*args).stdout)
            self._walks.put(key, counted)
        return counted

    def last_changes(self, folder: str, *, version: str | None = None) -> dict[str, Version]:
        """The version that last changed each file directly in ``folder`` (full paths), as of ``version`` (default:
        newest), from ONE walk of the folder's history (``git log --name-only``) that stops as soon as every file
        there is accounted for, or where it reaches a version whose answer the store already has: right after a
        save, that is the one new commit. One ``rev-list`` per file instead took 14 s for 5,000 rules, 31.8 s right
        after a save (issue 13, item 17)."""
        folder = check_path(folder)
        start = self._start(version, folder)
        if start is None:
            return {}
        answer = self._last_changes.get((folder, start))
        if answer is None:
            entry = self._entry(self._record(start).tree, folder)
            present = set()
            if entry is not None and entry[0] == TREE_MODE:
                present = {f"{folder}/{name}" for name, (mode, _) in self._tree(entry[1]).items()
                           if mode != TREE_MODE and mode not in _LINK_MODES}
            answer = self._walk_last_changes(folder, start, present) if present else {}
            self._last_changes.put((folder, start), answer, 100 * len(answer) + 100)
        records = {r.version.id: public_version(r.version) for r in self._records(sorted(set(answer.values())))}
        return {path: records[commit] for path, commit in answer.items()}

    def _walk_last_changes(self, folder: str, start: str, present: set[str]) -> dict[str, str]:
        answer: dict[str, str] = {}
        first_seen = None  # the newest version that changed the folder: the answer is also remembered under it
        argv = [*self._argv, "log", "--format=%H", "--name-only", "--no-renames", "--end-of-options", start, "--",
                folder]
        self.git_processes += 1
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=self.path,
                                env=self._env)
        try:
            commit, prefix = None, folder.encode() + b"/"
            for raw in proc.stdout:
                line = raw.rstrip(b"\n")
                if not line:
                    continue
                if not line.startswith(prefix):  # a version id, or a name Git had to quote (not one of ours)
                    if not FULL_ID.fullmatch(line.decode("ascii", "replace")):
                        continue
                    commit = line.decode()
                    first_seen = first_seen or commit
                    earlier = self._last_changes.get((folder, commit))
                    if earlier is not None:  # what did not change since then, changed last where it said
                        answer.update((p, c) for p, c in earlier.items() if p in present and p not in answer)
                        break
                    continue
                path = line.decode("utf-8", "replace")
                if commit is not None and path in present and path not in answer:
                    answer[path] = commit
                    if len(answer) == len(present):
                        break
        finally:
            proc.kill()
            proc.stdout.close()
            proc.wait()
        for path in present - answer.keys():  # only if Git showed no change for it (a merge made outside)
            found = self.log(path, limit=1, version=start)
            if found:
                answer[path] = found[0].id
        if first_seen is not None and first_seen != start:
            self._last_changes.put((folder, first_seen), answer, 100 * len(answer) + 100)
        return answer

    def _start(self, version: str | None, path: str | None) -> str | None:
        if path is not None:
            check_path(path)
        return self._record(version).version.id if version is not None else self.head()

    def versions_since(self, version: str | None) -> list[Version]:
        """Versions on the main branch after ``version`` (None: all), oldest first. For reconciling the database."""
        head = self.head()
        if head is None:
            return []
        span = f"{self._record(version).version.id}..{head}" if version is not None else head
        ids = self._git("rev-list", "--reverse", "--end-of-options", span).stdout.decode().split()
        return [public_version(record.version) for record in self._records(ids)]

    def find_by_trailer(self, key: str, value: str, *, limit: int = 1000) -> Version | None:
        """The newest of the last ``limit`` versions on main whose trailer ``key`` is ``value`` (for recovery)."""
        key, value = check_trailer(key, value)
        limit = check_int(limit, "limit", 1, 10**7)
        head = self.head()
        if head is None:
            return None
        ids = self._git("rev-list", f"--max-count={limit}", "--end-of-options", head).stdout.decode().split()
        for start in range(0, len(ids), 500):
            for record in self._records(ids[start:start + 500]):
                if record.version.trailers.get(key) == value:
                    return public_version(record.version)
        return None

    def find_by_trailers(self, key: str, values: list[str]) -> dict[str, Version]:
        """Versions on main whose trailer ``key`` has one of ``values``, by value (the newest when several), searched
        over the whole history with one ``git rev-list --grep`` (recovery must never miss a commit that exists, however
        many saves came after it)."""
        wanted = {check_trailer(key, value)[1] for value in values}
        head = self.head()
        if head is None or not wanted:
            return {}
        found: dict[str, Version] = {}
        patterns = [f"--grep={key}: {value}" for value in sorted(wanted)]
        ids = self._git("rev-list", "--fixed-strings", *patterns, "--end-of-options", head).stdout.decode().split()
        for record in self._records(ids):
            value = record.version.trailers.get(key)
            if value in wanted and value not in found:
                found[value] = public_version(record.version)
        return found

    def version_ids(self) -> set[str]:
        """The ids of every version on main (one ``git rev-list``), to check that what the database names exists."""
        head = self.head()
        return set(self._git("rev-list", "--end-of-options", head).stdout.decode().split()) if head else set()

    def diff(self, a: str, b: str, path: str | None = None) -> str:
        """Unified text diff from version ``a`` to version ``b``, of one file or folder (None = everything)."""
        a, b = self._record(a).version.id, self._record(b).version.id
        if path is not None:
            check_path(path)
        args = ["diff", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames", "--end-of-options", a, b]
        return self._git(*args, *(["--", path] if path else [])).stdout.decode("utf-8", "replace")

    def changed_paths(self, a: str, b: str, folder: str | None = None) -> list[tuple[str, str]]:
        """(status, path) for every file that differs from ``a`` to ``b``: A added, M modified, D deleted.
        Paths are full paths in the repository. Computed from cached trees: no Git process."""
        trees = [self._record(v).tree for v in (a, b)]
        prefix = ""
        if folder is not None:
            folder = check_path(folder)
            trees = [(e[1] if e and e[0] == TREE_MODE else None) for e in (self._entry(t, folder) for t in trees)]
            prefix = folder + "/"
        out: list[tuple[str, str]] = []
        self._compare(trees[0], trees[1], prefix, out)
        return sorted(out, key=lambda item: item[1])

    def _compare(self, old: str | None, new: str | None, prefix: str, out: list) -> None:
        if old == new:
            return
        before, after = (self._tree(t) if t else {} for t in (old, new))
        for name in before.keys() | after.keys():
            x, y = before.get(name), after.get(name)
            if x == y:
                continue
            x_tree = x[1] if x and x[0] == TREE_MODE else None
            y_tree = y[1] if y and y[0] == TREE_MODE else None
            if x_tree or y_tree:
                self._compare(x_tree, y_tree, prefix + name + "/", out)
            if x and not x_tree and y and not y_tree:
                out.append(("M", prefix + name))
            elif x and not x_tree:
                out.append(("D", prefix + name))
            elif y and not y_tree:
                out.append(("A", prefix + name))

    def blame(self, version: str, path: str) -> list[BlameLine]:
        """Each line of the file at ``version`` with the version that last changed it."""
        path = check_path(path)
        record = self._record(version)
        version, entry = record.version.id, self._entry(record.tree, path)
        if entry is None or entry[0] == TREE_MODE or entry[0] in _LINK_MODES:
            raise NotFound(f"There is no file {path} in that version.")
        # git blame (2.39) does not accept --end-of-options; the version is a checked 40-character id.
        out = self._git("blame", "--porcelain", version, "--", path).stdout
        lines: list[tuple[int, str, str]] = []
        current = ""
        for raw in out.split(b"\n"):
            if raw.startswith(b"\t"):
                lines.append((len(lines) + 1, current, raw[1:].decode("utf-8", "replace")))
                continue
            fields = raw.split(b" ")
            if len(fields) in (3, 4) and FULL_ID.fullmatch(fields[0].decode("ascii", "replace")):
                current = fields[0].decode()
        records = {r.version.id: r for r in self._records(sorted({c for _, c, _ in lines}))}
        versions = {oid: public_version(record.version) for oid, record in records.items()}
        return [BlameLine(number, text, versions[commit]) for number, commit, text in lines]

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
        if entry is None or entry[0] == TREE_MODE or entry[0] in _LINK_MODES:
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

    def _clear_stale(self, *relative: str) -> None:
        """Remove Git lock or temporary files that no live process can own.

        Call only while holding the lock of everything that creates them: every Rulecraft save holds the writer
        lock while Git moves a ref, and only maintenance (under its own lock) writes packs and commit-graphs. So a
        ``refs/heads/main.lock`` seen under the writer lock was left by a save that was killed; removing it here
        keeps one crash from blocking every later save until someone runs ``recover``."""
        for name in relative:
            for stale in self.path.glob(name):
                stale.unlink(missing_ok=True)
                log.warning("removed %s, left by an interrupted operation", stale.relative_to(self.path))

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

    # ----------------------------------------------------------------------------------------------- operations

    def recover(self) -> list[str]:
        """Remove what interrupted operations left: Git's lock files, temporary object files and save folders.
        Runs holding the maintenance lock and then the writer lock (the order maintenance takes them in), so
        nothing it removes can belong to a live operation. Returns what was removed, in plain words."""
        with self._flock(MAINTENANCE_LOCK_FILE, time.monotonic() + self._lock_timeout) as held:
            if not held:
                raise StoreBusy("The rule store is busy with maintenance. Try again in a moment.")
            with self._locked():
                return self._remove_leftovers()

    def _remove_leftovers(self) -> list[str]:
        done: list[str] = []
        scratch = self.path / SCRATCH
        for folder in sorted(scratch.iterdir()) if scratch.is_dir() else []:
            shutil.rmtree(folder, ignore_errors=True)
            done.append(f"Removed the temporary files of an interrupted save ({SCRATCH}/{folder.name}).")
        for root, _, names in os.walk(self.path):
            here = Path(root)
            in_objects = "objects" in here.relative_to(self.path).parts
            for name in names:
                if name.endswith(".lock") or (in_objects and name.startswith(("tmp_", ".tmp-"))):
                    (here / name).unlink(missing_ok=True)
                    what = "lock file" if name.endswith(".lock") else "temporary object file"
                    done.append(f"Removed a {what} left by an interrupted operation "
                                f"({(here / name).relative_to(self.path)}).")
        return done

    @contextmanager
    def paused(self):
        """Hold the maintenance lock and then the writer lock (the order ``recover`` takes them in): no save,
        release or maintenance changes the repository until the block ends. For a consistent backup (copy the
        repository with ``copy_to`` and the database inside the block); saves wait meanwhile (up to their lock
        timeout, then they answer "busy")."""
        with self._flock(MAINTENANCE_LOCK_FILE, time.monotonic() + self._lock_timeout) as held:
            if not held:
                raise StoreBusy("The rule store is busy with maintenance. Try again in a moment.")
            with self._locked():
                yield self

    def copy_to(self, destination: Path) -> list[str]:
        """Copy the repository (objects, refs, configuration) to a new folder ``destination``; call inside
        ``paused()``. Lock files and the temporary files of saves are left out. Returns the relative paths
        copied. The copy is a complete Rulecraft store (``rulecraft.store`` is in its configuration)."""
        destination = Path(destination)
        skipped = {LOCK_FILE, MAINTENANCE_LOCK_FILE, SCRATCH}
        copied = []
        for root, folders, names in os.walk(self.path):
            here = Path(root)
            relative = here.relative_to(self.path)
            folders[:] = sorted(f for f in folders if not (relative == Path(".") and f in skipped))
            (destination / relative).mkdir(parents=True, exist_ok=True)
            for name in sorted(names):
                if (relative == Path(".") and name in skipped) or name.endswith(".lock") \
                        or name.startswith(("tmp_", ".tmp-")):
                    continue
                shutil.copy2(here / name, destination / relative / name)
                copied.append(str(relative / name))
        return copied

    def fsck(self) -> tuple[bool, str]:
        """Check every object and link in the repository (unreferenced leftovers of failed saves are fine)."""
        proc = self._git("fsck", "--strict", "--no-dangling", "--no-progress", check=False)
        report = (proc.stdout + proc.stderr).decode("utf-8", "replace").strip()
        return proc.returncode == 0, report

    def maintain(self) -> None:
        """Pack loose objects and update the commit-graph (with changed-path filters).

        Holds the maintenance lock (one maintainer at a time; ``recover`` waits for it), and the writer lock only
        while packing (saves wait for that part). Never prunes: objects are only ever added."""
        with self._flock(MAINTENANCE_LOCK_FILE, time.monotonic() + self._lock_timeout) as held:
            if not held:
                raise StoreBusy("The rule store is busy with maintenance. Try again in a moment.")
            self._maintain()

    def _maintain(self, repack: bool = True) -> None:
        """Call with the maintenance lock held."""
        self._clear_stale("objects/info/commit-graphs/*.lock", "objects/info/commit-graphs/tmp_*",
                          "objects/pack/.tmp-*", "objects/pack/tmp_*")
        if repack:
            # Under the writer lock too: repack -d ends with prune-packed, which deletes loose objects and then
            # their emptied folders; a Git process writing a loose object into such a folder at that moment fails
            # ("unable to create temporary file"). Saves wait for this (0.5-4 s here, every few hundred saves).
            with self._locked():
                self._git("repack", "-d", "-q", "--geometric=2")
        # The commit-graph only indexes commits, which never change: saves go on meanwhile.
        self._git("commit-graph", "write", "--reachable", "--changed-paths", "--split", "--no-progress")

    def _maybe_maintain(self, saved: str) -> None:
        """After a save, in a background thread (nobody waits for it): about every 64th save adds the newest
        commits to the commit-graph (~15 ms; commits outside it make path history slower), and once enough objects
        are loose the objects are packed too (0.5-4 s here). Every process decides alike from the new commit's
        id, so no counter has to be shared."""
        if self._maintain_after is None or (self._maintainer is not None and self._maintainer.is_alive()):
            return
        sample = self.path / "objects" / "17"
        repack = 256 * (len(os.listdir(sample)) if sample.is_dir() else 0) >= self._maintain_after
        if repack or int(saved[:2], 16) < 4 or self._maintain_after == 0:
            self._maintainer = threading.Thread(target=self._maintain_quietly, args=(repack,), daemon=True,
                                                name="rulecraft-store-maintenance")
            self._maintainer.start()

    def _maintain_quietly(self, repack: bool) -> None:
        with self._flock(MAINTENANCE_LOCK_FILE, time.monotonic()) as held:
            if held:  # else another process is at it
                try:
                    self._maintain(repack)
                    self.maintenance_runs += 1
                except StoreError as e:  # the saves stand; a later save will try again
                    log.warning("store maintenance failed: %s %s", e.message, getattr(e, "detail", ""))
