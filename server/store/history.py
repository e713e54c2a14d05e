"""History of the store: log pages, counts, last changes, diffs and blame, one Git process each (or none, from the
caches: what lies below a version never changes).

Not GitPython's ``Repo.blame``/``Repo.iter_commits``: its blame took 41% longer (25 vs 36 ms), and its processes
start from the server's ``os.environ`` (package docstring, "GitPython"; ``bench/store_gitpython.py``)."""
from __future__ import annotations

import subprocess

from .checks import FULL_ID, check_int, check_path, check_trailer
from .errors import NotFound
from .objects import LINK_MODES, TREE_MODE
from .values import BlameLine, Version, public_version


class History:
    """The history half of GitStore."""

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
                           if mode != TREE_MODE and mode not in LINK_MODES}
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
        over the whole history with one ``git rev-list --grep`` (recovery must never miss a commit that exists,
        however many saves came after it)."""
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
        if entry is None or entry[0] == TREE_MODE or entry[0] in LINK_MODES:
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
