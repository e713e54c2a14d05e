"""Looking after the repository: recovery after a crash, a consistent copy for backups, fsck, and packing plus
the commit-graph in the background (never an automatic gc: see the package docstring)."""
from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from .errors import StoreBusy, StoreError

log = logging.getLogger("server.store")

LOCK_FILE = "rulecraft-store.flock"
MAINTENANCE_LOCK_FILE = "rulecraft-maintenance.flock"
SCRATCH = "rulecraft-tmp"
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


class Maintenance:
    """The operations half of GitStore: recover, pause and copy, fsck, maintain."""

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

    def prune_unreachable(self) -> int:
        """Remove the loose objects no branch or tag reaches (written by saves that failed before moving the
        branch); returns how many. Holds the maintenance lock and then the writer lock, so no save is writing
        objects meanwhile (a save's objects are unreachable until its branch moves). Objects already packed by
        ``maintain`` stay (only a full repack drops them; not worth its cost for the bytes of a failed save)."""
        with self._flock(MAINTENANCE_LOCK_FILE, time.monotonic() + self._lock_timeout) as held:
            if not held:
                raise StoreBusy("The rule store is busy with maintenance. Try again in a moment.")
            with self._locked():
                proc = self._git("prune", "--verbose", "--expire=now")
        return len(proc.stdout.splitlines())

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
