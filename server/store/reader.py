"""Reading the store: one persistent ``git cat-file --batch`` serves every object, parsed here and cached by id.

Objects never change, so reads from cache start no process at all. Trees are parsed here, which is also how links and
submodules are refused rather than followed.

Not GitPython's ``GitCmdObjectDB``/``Git.get_object_data``: one request per object made reading 500 files 35%
slower (24 vs 32 ms), and its process starts from the server's ``os.environ`` (package docstring, "GitPython";
``bench/store_gitpython.py``).
"""
from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

from .checks import FULL_ID, RELEASE_NAME, check_path, shown
from .errors import GitError, NotFound, RevisionError
from .objects import BRANCH, LINK_MODES, TREE_MODE, CommitRecord, parse_commit, parse_tag, parse_tree


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


class Reading:
    """The reading half of GitStore (objects, files, folders, revisions); the caches are made in GitStore."""

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
        if entry[0] in LINK_MODES:
            raise NotFound(f"{path} is a link; the rule store never follows links.")
        return self._blobs([entry[1]])[0]

    def exists(self, version: str, path: str) -> bool:
        """True if ``path`` is a file or a folder at ``version``."""
        path = check_path(path)
        entry = self._entry(self._record(version).tree, path)
        return entry is not None and entry[0] not in LINK_MODES

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
                elif mode not in LINK_MODES:
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
