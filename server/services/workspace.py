"""The workspace: the rule sets kept in the store, read at any version and compiled once per version.

Versions are immutable, so a compiled rule set is cached by (rule set, commit) for the life of the process: a save
never slows down reads of a pinned version, and reads do not start a Git process once cached.
Revisions that come from outside are either a release name of the rule set ("v3") or a full commit hash; the
store verifies both (server/store/).
"""
from __future__ import annotations

import threading
from dataclasses import replace

from rules_dsl import RuleError, RuleSet, parse_rule
from rules_dsl.layout import RULE_ID, RULES_FOLDER, rule_file
from rules_dsl.ruleset import ruleset_from_files

from ..caches import LRUCache
from ..limits import RELEASE_NAME, shown
from ..store import FULL_ID, BlameLine, GitStore, RevisionError, StoreError, Tag, Version
from ..store import NotFound as StoreNotFound
from .errors import Invalid, NotFound

RULESET_ID = RULE_ID


def is_version_name(text: str) -> bool:
    """Whether ``text`` is written as a version is named (a full version id or a release name such as v3); says
    nothing of whether that version exists."""
    return bool(FULL_ID.fullmatch(text) or RELEASE_NAME.fullmatch(text))


def rules_folder(ruleset: str) -> str:
    return f"{ruleset}/{RULES_FOLDER}"


def rule_path(ruleset: str, rule_id: str) -> str:
    return file_path(ruleset, rule_file(rule_id))


def file_path(ruleset: str, name: str) -> str:
    return f"{ruleset}/{name}"


class Workspace:
    def __init__(self, store: GitStore, cache_size: int = 64):
        self.store = store
        # Compiled rule sets and last changes, by rule set and version (plus rule): answers that never change.
        self._cache = LRUCache(cache_size)
        self._releases: dict[str, tuple[object, list[Tag]]] = {}
        self._compiled: dict = {}  # what was compiled from which file bytes (ruleset_from_files' memo)
        self._names: dict[tuple[str, str, str], str | None] = {}  # rule names by (rule set, rule, version)
        self._lock = threading.Lock()

    # ---- versions ------------------------------------------------------------------------------------------------
    def head(self) -> str | None:
        return self.store.head()

    @property
    def repository_path(self):
        return self.store.path

    def has_repository(self) -> bool:
        """Whether the rules repository is there at all (its HEAD file), without starting Git."""
        return (self.store.path / "HEAD").is_file()

    def resolve(self, ruleset: str, revision: str | None, *, default: str = "head",
                generation: object = None) -> str:
        """A commit for a revision given by a person or a script: a release name, a full hash, or the default
        ("head" = the latest saved version, "release" = the latest release; ``generation``: see ``releases``)."""
        if revision in (None, ""):
            if default == "release":
                latest = self.latest_release(ruleset, generation)
                if latest is None:
                    raise NotFound(f"Rule set '{ruleset}' has no release yet. Ask for a version explicitly "
                                   "(?version=<full version id>) or have a reviewer approve a release.")
                return latest.version
            head = self.head()
            if head is None:
                raise NotFound("The workspace is empty: no rule set has been saved yet.")
            return head
        if isinstance(revision, str) and RELEASE_NAME.fullmatch(revision):
            for tag in self.releases(ruleset, generation):
                if tag.release == revision:
                    return tag.version
        try:
            return self.store.resolve(revision, tag_prefix=ruleset)
        except RevisionError as e:
            raise Invalid(f"'{shown(revision)}' is not a version of this rule set. Give a release name "
                          f"such as v1, or a full version id (40 characters). {e.message}",
                          field="version") from None

    def own_version(self, ruleset: str, version: str) -> str:
        """The rule set's own last change as of ``version`` (``version`` itself if it changed the rule set; the same
        files either way). A release names this, never another rule set's newer commit; see ``releases``."""
        found = self.store.log(ruleset, limit=1, version=version)
        return found[0].id if found else version

    def latest_release(self, ruleset: str, generation: object = None) -> Tag | None:
        tags = self.releases(ruleset, generation)
        return tags[-1] if tags else None

    def releases(self, ruleset: str, generation: object = None) -> list[Tag]:
        """Released versions of a rule set, oldest first (v1, v2, ...).

        ``generation`` is a value that changes whenever a release of this rule set is approved (the database's
        ``services.releases.generation``). When it is given, the tags are read from Git only when it changed: a
        prediction on the latest release then starts no Git process (reading the tags costs two process starts,
        about 3 ms each on 2 cores, which was half the time of a prediction).

        Each tag's ``version`` is the rule set's own last change as of the tagged commit (``own_version``): releases
        approved before that rule, whose tags name the repository's newest commit of the time (another rule set's
        import, say), keep their tags (releases never change) and are read by their content, so history marks
        them, release names resolve to them and notes count changes from them.
        """
        if generation is not None:
            with self._lock:
                cached = self._releases.get(ruleset)
            if cached is not None and cached[0] == generation:
                return list(cached[1])
        tags = [t for t in self.store.tags(prefix=ruleset) if RELEASE_NAME.fullmatch(t.release)]
        tags = [replace(t, version=self.own_version(ruleset, t.version))
                for t in sorted(tags, key=lambda t: int(t.release[1:]))]
        if generation is not None:
            with self._lock:
                self._releases[ruleset] = (generation, tags)
        return list(tags)

    def known_generation(self, ruleset: str) -> object:
        """The release generation this worker last read from the database for ``ruleset`` (None if never): while
        the database cannot be reached, the latest release is the one known then (services/predicting.py)."""
        with self._lock:
            cached = self._releases.get(ruleset)
        return None if cached is None else cached[0]

    def release_name(self, ruleset: str, version: str, generation: object = None) -> str | None:
        for tag in reversed(self.releases(ruleset, generation)):
            if tag.version == version:
                return tag.release
        return None

    # ---- reading -------------------------------------------------------------------------------------------------
    def ruleset_ids(self, version: str | None = None) -> list[str]:
        version = version or self.head()
        if version is None:
            return []
        return [f for f in self.store.folders(version) if RULESET_ID.fullmatch(f)]

    def check_id(self, ruleset: str) -> str:
        if not isinstance(ruleset, str) or not RULESET_ID.fullmatch(ruleset):
            raise NotFound(f"There is no rule set called '{shown(ruleset)}'.")
        return ruleset

    def check_rule_id(self, rule_id: str) -> str:
        if not isinstance(rule_id, str) or not RULE_ID.fullmatch(rule_id):
            raise NotFound(f"There is no rule called '{shown(rule_id)}'.")
        return rule_id

    def files(self, ruleset: str, version: str) -> dict[str, bytes]:
        self.check_id(ruleset)
        try:
            files = self.store.files(version, ruleset)
        except StoreNotFound:
            files = {}
        if not files:
            raise NotFound(f"There is no rule set called '{ruleset}' in this version.")
        return files

    @property
    def compiled_memo(self) -> dict:
        """What was compiled from which file bytes (ruleset_from_files' ``memo``), for checks of changed files."""
        return self._compiled

    def ruleset(self, ruleset: str, version: str) -> RuleSet:
        key = (ruleset, version)
        if (cached := self._cache.get(key)) is not None:
            return cached
        files = self.files(ruleset, version)
        try:
            compiled = ruleset_from_files(files, id=ruleset, version=version, memo=self._compiled)
        except RuleError as e:  # only possible if the repository was edited by hand
            raise Invalid(f"This version of '{ruleset}' cannot be read: {e.message}",
                          problems=[p.to_dict() for p in e.problems]) from None
        self._cache.put(key, compiled)
        return compiled

    def last_changes(self, ruleset: str, version: str) -> dict[str, Version]:
        """The version that last changed each rule (as of ``version``), cached per version: one walk of the rule
        set's history (after a save, of the commits since the answer the store last gave)."""
        key = ("last-changes", ruleset, version)
        if (cached := self._cache.get(key)) is not None:
            return cached
        found = self.store.last_changes(rules_folder(ruleset), version=version)
        changes = {}
        for rule in self.ruleset(ruleset, version).rules:
            if (change := found.get(rule_path(ruleset, rule.id))) is not None:
                changes[rule.id] = change
        self._cache.put(key, changes)
        return changes

    def last_change(self, ruleset: str, rule_id: str, version: str) -> Version | None:
        """The version that last changed one rule (as of ``version``): one history query, where ``last_changes``
        runs one per rule (50 Git processes for 50 rules, after every save, for an author opening one rule)."""
        every = ("last-changes", ruleset, version)
        key = ("last-change", ruleset, rule_id, version)
        if (changes := self._cache.get(every)) is not None:
            return changes.get(rule_id)
        if key in self._cache:
            return self._cache.get(key)
        found = self.store.log(rule_path(ruleset, rule_id), limit=1, version=version)
        change = found[0] if found else None
        self._cache.put(key, change)
        return change

    def rule_name(self, ruleset: str, rule_id: str | None, version: str | None) -> str | None:
        """The name of rule ``rule_id`` as of ``version``, or just before it when that version deleted it; None when
        unknown. For the audit log and history, which name rules by their names (their ids are only file names)."""
        if not rule_id or not version or not RULE_ID.fullmatch(rule_id) or not RULESET_ID.fullmatch(ruleset or ""):
            return None
        key = (ruleset, rule_id, version)
        with self._lock:
            if key in self._names:
                return self._names[key]
        name = None
        try:
            text = self.rule_text(ruleset, rule_id, version)  # no Git process: the store's reader
            if text is None:  # deleted in that version: its name just before (one history query)
                found = self.store.log(version=version, limit=1)
                text = self.rule_text(ruleset, rule_id, found[0].parent if found else None)
            name = parse_rule(text).name if text is not None else None
        except (RuleError, StoreError, UnicodeDecodeError, NotFound):
            name = None
        with self._lock:
            self._names[key] = name
            while len(self._names) > 4096:
                self._names.pop(next(iter(self._names)))
        return name

    def rule_text(self, ruleset: str, rule_id: str, version: str | None) -> str | None:
        if version is None:
            return None
        self.check_rule_id(rule_id)
        try:
            return self.store.read(version, rule_path(ruleset, rule_id)).decode("utf-8")
        except StoreNotFound:
            return None

    # ---- history (the views reach the store only through these) ---------------------------------------------------
    def history(self, ruleset: str, rule_id: str | None = None, *, limit: int = 20,
                offset: int = 0) -> tuple[int, list[Version]]:
        """(how many versions changed the rule set, or one rule of it; one page of them, newest first). The count
        is one Git walk of the whole history; the page is not read when the count is 0."""
        path = ruleset if rule_id is None else rule_path(ruleset, rule_id)
        total = self.store.count(path)
        return total, (self.store.log(path, limit=limit, offset=offset) if total else [])

    def saves_after(self, ruleset: str, version: str, *, limit: int = 10) -> tuple[int, list[Version]]:
        """(how many saves changed the rule set after ``version``; the newest ``limit`` of them, newest first). The
        main branch is linear (every save is a compare-and-swap on it), so the count is a difference of two counts,
        each one Git walk, cached by the store."""
        newer = self.store.count(ruleset) - self.store.count(ruleset, version=version)
        return max(newer, 0), (self.store.log(ruleset, limit=min(newer, limit)) if newer > 0 else [])

    def saved_at(self, ruleset: str, version: str) -> Version | None:
        """The save that made the rule set as it stands at ``version`` (None: the rule set did not exist then)."""
        found = self.store.log(ruleset, limit=1, version=version)
        return found[0] if found else None

    def blame(self, ruleset: str, rule_id: str, version: str) -> list[BlameLine] | None:
        """Each line of a rule at ``version`` with the version that last changed it; None: no such rule then."""
        path = rule_path(ruleset, rule_id)
        if not self.store.exists(version, path):
            return None
        return self.store.blame(version, path)

