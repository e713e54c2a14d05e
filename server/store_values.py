"""Values, errors and allow-lists of the rule store; the text formats of Git's objects; the in-memory half of a save.

This module runs no Git and touches no files: it validates what callers hand to ``server.store`` (paths, release
names, identities, messages, trailers, changes), turns Git's commit, tag and tree objects into small frozen objects
and back, and plans the trees of a save. ``server.store`` re-exports everything public here; import from there.

Every error carries ``.message``: plain words that can be shown to a person (no "SHA", no "HEAD").
"""
from __future__ import annotations

import dataclasses
import hashlib
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .limits import MAX_EMAIL, MAX_PERSON_NAME, RELEASE_NAME, shown
from .limits import MAX_WHY as MAX_MESSAGE_CHARS

# --------------------------------------------------------------------------------------------------------- errors


class StoreError(Exception):
    """Base of every error the store raises; ``message`` is for people."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidInput(StoreError):
    """A value handed to the store is refused (identity, message, trailers, changes, limits): the caller's mistake."""


class InvalidPath(InvalidInput):
    """A file or folder name that the allow-list refuses."""

    def __init__(self, message: str, path: object = None):
        super().__init__(message)
        self.path = path


class RevisionError(StoreError):
    """A version or release name from outside is malformed or unknown."""


class NotFound(StoreError):
    """No such file or folder at that version."""


class NothingChanged(InvalidInput):
    """A save that would leave every file as it was."""


class ConflictError(StoreError):
    """The file changed since the version the save was based on (no lost update)."""

    def __init__(self, path: str, base_text: str | None, current_text: str | None, current_version: str | None):
        super().__init__(
            f"Someone else saved a change to {path} after you opened it. "
            "Compare your text with theirs, merge them and save again.")
        self.path = path
        self.base_text = base_text
        self.current_text = current_text
        self.current_version = current_version


class HeadMoved(StoreError):
    """The rules changed since the version the caller expected (compare-and-swap refused)."""

    def __init__(self, message: str, current_version: str | None = None):
        super().__init__(message)
        self.current_version = current_version


class ReleaseExists(StoreError):
    """A release name that is already taken; releases never move."""


class StoreBusy(StoreError):
    """Another save held the store for too long."""


class GitError(StoreError):
    """Git itself failed; ``detail`` holds what Git said (for logs, not for people)."""

    def __init__(self, message: str, detail: str = ""):
        super().__init__(message)
        self.detail = detail


# ---------------------------------------------------------------------------------------------------- allow-lists

_COMPONENT = re.compile(r"[a-z0-9][a-z0-9._-]{0,80}")
# Names that Windows cannot hold: an operator may copy the repository there for a backup.
_WINDOWS_RESERVED = re.compile(r"(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?")
MAX_DEPTH = 4
FULL_ID = re.compile(r"[0-9a-f]{40}")
TRAILER_KEY = re.compile(r"[A-Za-z][A-Za-z-]{0,63}")
MAX_FILE_BYTES = 10 * 1024 * 1024


def check_path(path: object, *, max_depth: int = MAX_DEPTH) -> str:
    """Return ``path`` if every component is on the allow-list, else raise InvalidPath."""
    if isinstance(path, str) and path:
        parts = path.split("/")
        if len(parts) <= max_depth and all(_component_ok(part) for part in parts):
            return path
    raise InvalidPath(
        f"'{shown(path)}' is not an allowed name in the rule store: use at most {max_depth} levels of lower-case "
        "letters, digits, '.', '_' and '-', not starting with '.' or '-'.", path)


def _component_ok(part: str) -> bool:
    return bool(_COMPONENT.fullmatch(part)) and not part.endswith(".") and not _WINDOWS_RESERVED.fullmatch(part)


def check_tag_name(name: object) -> str:
    """A release's tag name: optional folder-like prefix components, then a release name such as ``v3``."""
    if isinstance(name, str):
        prefix, _, release = name.rpartition("/")
        if RELEASE_NAME.fullmatch(release):
            if prefix:
                check_path(prefix, max_depth=MAX_DEPTH - 1)
            return name
    raise InvalidInput(f"'{shown(name)}' is not a release name: use v1, v2, ... (optionally after a rule-set id "
                       "and '/').")


def _forbidden_char(ch: str) -> bool:
    # Control characters, line and paragraph separators, and bidirectional overrides (which can make an audit
    # trail read differently from what it says).
    return (unicodedata.category(ch) in ("Cc", "Cs", "Co", "Zl", "Zp")
            or "\u202a" <= ch <= "\u202e" or "\u2066" <= ch <= "\u2069")


def _git_crud(ch: str) -> bool:
    """Characters that Git strips from both ends of a name or e-mail (ident.c ``crud``)."""
    return ord(ch) <= 32 or ch in ".,:;<>\"\\'"


def _clean_name(name: object) -> str:
    if not isinstance(name, str):
        raise InvalidInput("A person's name must be text.")
    name = unicodedata.normalize("NFC", name)
    if any(_forbidden_char(ch) or ch in "<>" for ch in name):
        raise InvalidInput(f"The name '{shown(name)}' contains characters that cannot be recorded "
                           "(line breaks, control characters, '<' or '>').")
    start, end = 0, len(name)
    while start < end and _git_crud(name[start]):
        start += 1
    while end > start and _git_crud(name[end - 1]):
        end -= 1
    name = name[start:end]
    if not name or len(name) > MAX_PERSON_NAME:
        raise InvalidInput(f"A person's name must have between 1 and {MAX_PERSON_NAME} characters (not only "
                           "punctuation).")
    return name


_EMAIL = re.compile(r"[^\s<>@]+@[^\s<>@]+")


def _clean_email(email: object) -> str:
    if not isinstance(email, str):
        raise InvalidInput("An e-mail address must be text.")
    email = unicodedata.normalize("NFC", email)
    if (len(email) > MAX_EMAIL or not _EMAIL.fullmatch(email) or any(_forbidden_char(ch) for ch in email)
            or _git_crud(email[0]) or _git_crud(email[-1])):
        raise InvalidInput(f"'{shown(email)}' is not an e-mail address that can be recorded.")
    return email


def check_message(message: object, what: str = "The reason for a change") -> str:
    """A person's "why": required, at most MAX_MESSAGE_CHARS, no control characters but line breaks and tabs."""
    if not isinstance(message, str):
        raise InvalidInput(f"{what} must be text.")
    message = unicodedata.normalize("NFC", message.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not message:
        raise InvalidInput(f"{what} is required: say in a few words why.")
    if len(message) > MAX_MESSAGE_CHARS:
        raise InvalidInput(f"{what} is too long (at most {MAX_MESSAGE_CHARS} characters).")
    if any(_forbidden_char(ch) and ch not in "\n\t" for ch in message):
        raise InvalidInput(f"{what} contains control characters.")
    return message


def check_trailer(key: object, value: object) -> tuple[str, str]:
    if not isinstance(key, str) or not TRAILER_KEY.fullmatch(key):
        raise InvalidInput(f"'{shown(key)}' is not a trailer key (letters and '-', starting with a letter).")
    if (not isinstance(value, str) or not value or len(value) > 1000 or value != value.strip()
            or any(_forbidden_char(ch) for ch in value)):
        raise InvalidInput(f"The value of trailer {key} must be one line of text without surrounding spaces.")
    return key, value


def compose_message(message: object, trailers: object) -> str:
    """The commit message: the "why", a blank line, then one ``Key: value`` line per trailer.

    At least one trailer is required: it is what ties a commit to its database row, and it keeps the last
    paragraph unambiguous (a "why" that ends in a ``Word: words`` paragraph is never read back as trailers).
    """
    message = check_message(message)
    if not isinstance(trailers, dict) or not trailers:
        raise InvalidInput("A save needs at least one trailer linking it to the database (e.g. Rulecraft-User).")
    pairs = [check_trailer(key, value) for key, value in trailers.items()]
    if len({key.lower() for key, _ in pairs}) != len(pairs):
        raise InvalidInput("Trailer keys must differ in more than letter case.")
    return message + "\n\n" + "".join(f"{key}: {value}\n" for key, value in pairs)


_TRAILER_LINE = re.compile(r"([A-Za-z][A-Za-z-]*): (.*)")


def split_message(text: str) -> tuple[str, dict[str, str]]:
    """The inverse of compose_message: (why, trailers). The first paragraph is never trailers (as in Git)."""
    text = text.rstrip("\n")
    body, sep, last = text.rpartition("\n\n")
    if sep and body.strip():
        matches = [_TRAILER_LINE.fullmatch(line) for line in last.split("\n")]
        if all(matches):
            return body.rstrip("\n"), {m.group(1): m.group(2) for m in matches}
    return text, {}


# ---------------------------------------------------------------------------------------------------- value types


@dataclass(frozen=True)
class Identity:
    """A person as Git records them. Validated on creation; surrounding punctuation and spaces that Git would drop
    are dropped here too (so "Ann Lee Jr." becomes "Ann Lee Jr"), and names are NFC-normalised, so what you pass is
    exactly what history shows."""

    name: str
    email: str

    def __post_init__(self):
        object.__setattr__(self, "name", _clean_name(self.name))
        object.__setattr__(self, "email", _clean_email(self.email))

    @classmethod
    def _recorded(cls, name: str, email: str) -> Identity:
        """An identity read back from Git: shown as recorded, not re-validated."""
        identity = object.__new__(cls)
        object.__setattr__(identity, "name", name)
        object.__setattr__(identity, "email", email)
        return identity

    def git_line(self, when: int) -> str:
        return f"{self.name} <{self.email}> {when} +0000"


SERVICE_IDENTITY = Identity("Rulecraft", "rulecraft@rulecraft.invalid")


@dataclass(frozen=True)
class Version:
    """One commit: a saved state of the whole workspace."""

    id: str
    author: Identity
    time: datetime
    message: str
    trailers: dict[str, str] = field(hash=False)
    parent: str | None


@dataclass(frozen=True)
class Change:
    """Set ``path`` to ``content``; ``None`` deletes the file."""

    path: str
    content: bytes | None


@dataclass(frozen=True)
class BlameLine:
    number: int
    text: str
    version: Version


@dataclass(frozen=True)
class Tag:
    """A release: an annotated tag. ``name`` is the full tag name (``sepsis-triage/v3``)."""

    name: str
    version: str
    message: str
    tagger: Identity
    time: datetime

    @property
    def release(self) -> str:
        return self.name.rpartition("/")[2]


# ---------------------------------------------------------------------------------------------- Git object formats

_IDENT = re.compile(r"(.*) <(.*)> (\d+) [+-]\d{4}")
TREE_MODE, FILE_MODE = "40000", "100644"
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


def _parse_ident(line: str) -> tuple[Identity, datetime]:
    m = _IDENT.fullmatch(line)
    if not m:
        return Identity._recorded(line, ""), datetime.fromtimestamp(0, UTC)
    return Identity._recorded(m.group(1), m.group(2)), datetime.fromtimestamp(int(m.group(3)), UTC)


def _split_object(raw: bytes) -> tuple[dict[str, list[str]], str]:
    head, _, body = raw.decode("utf-8", "replace").partition("\n\n")
    headers: dict[str, list[str]] = {}
    key = None
    for line in head.split("\n"):
        if line.startswith(" ") and key:  # continuation of a multi-line header (e.g. a signature)
            headers[key][-1] += "\n" + line[1:]
            continue
        key, _, value = line.partition(" ")
        headers.setdefault(key, []).append(value)
    return headers, body


@dataclass(frozen=True)
class CommitRecord:
    tree: str
    version: Version


def parse_commit(oid: str, raw: bytes) -> CommitRecord:
    headers, body = _split_object(raw)
    author, when = _parse_ident(headers.get("author", [""])[0])
    message, trailers = split_message(body)
    parents = headers.get("parent", [])
    version = Version(oid, author, when, message, trailers, parents[0] if parents else None)
    return CommitRecord(headers["tree"][0], version)


def parse_tag(raw: bytes) -> tuple[str, str, str, Identity, datetime, str]:
    """(target id, target type, tag name, tagger, time, message)."""
    headers, body = _split_object(raw)
    tagger, when = _parse_ident(headers.get("tagger", [""])[0])
    return (headers["object"][0], headers["type"][0], headers["tag"][0], tagger, when, body.rstrip("\n"))


def parse_tree(raw: bytes) -> dict[str, tuple[str, str]]:
    """name -> (mode, id), in Git's order."""
    entries, pos = {}, 0
    while pos < len(raw):
        space = raw.index(b" ", pos)
        nul = raw.index(b"\0", space)
        mode, name = raw[pos:space].decode(), raw[space + 1:nul].decode("utf-8", "surrogateescape")
        entries[name] = (mode, raw[nul + 1:nul + 21].hex())
        pos = nul + 21
    return entries


def object_id(kind: str, data: bytes) -> str:
    """The id Git gives an object: used to know ids before writing and to check what Git wrote."""
    return hashlib.sha1(b"%s %d\0" % (kind.encode(), len(data)) + data).hexdigest()


def tree_object(entries: dict[str, tuple[str, str]]) -> bytes:
    """The bytes of a tree object; Git sorts a folder as if its name ended in '/'."""
    def order(name: str) -> bytes:
        return name.encode("utf-8", "surrogateescape") + (b"/" if entries[name][0] == TREE_MODE else b"")

    return b"".join(b"%s %s\0" % (entries[n][0].encode(), n.encode("utf-8", "surrogateescape"))
                    + bytes.fromhex(entries[n][1])
                    for n in sorted(entries, key=order))


def plan_tree(root: str | None, planned: dict[str, bytes | None], read_tree: Callable[[str], dict]):
    """Apply a save's changes in memory, reading existing folders with ``read_tree(id)``.

    Returns ({blob id: content} to write, [(tree id, entries)] to write, children first, the new root tree id).
    Only folders on the changed paths are rebuilt; everything else is reused by id.
    """
    blobs: dict[str, bytes] = {}
    top: dict = {"entries": dict(read_tree(root)) if root else {}, "children": {}, "was": root}
    for path, content in planned.items():
        *folders, name = path.split("/")
        node, walked = top, []
        for part in folders:
            walked.append(part)
            if part not in node["children"]:
                entry = node["entries"].get(part)
                if entry is not None and entry[0] != TREE_MODE:
                    raise InvalidPath(f"{'/'.join(walked)} is a file, so it cannot hold {path}.", path)
                node["children"][part] = {"entries": dict(read_tree(entry[1])) if entry else {},
                                          "children": {}, "was": entry[1] if entry else None}
            node = node["children"][part]
        entry = node["entries"].get(name)
        if name in node["children"] or (entry is not None and entry[0] == TREE_MODE):
            raise InvalidPath(f"{path} is a folder, not a file.", path)
        if content is None:
            node["entries"].pop(name, None)
        elif entry != (FILE_MODE, oid := object_id("blob", content)):
            blobs.setdefault(oid, content)
            node["entries"][name] = (FILE_MODE, oid)
    trees: list[tuple[str, dict]] = []

    def close(node: dict) -> str | None:
        for part, child in node["children"].items():
            oid = close(child)
            if oid is None:
                node["entries"].pop(part, None)  # Git keeps no empty folders
            else:
                node["entries"][part] = (TREE_MODE, oid)
        if not node["entries"]:
            return None
        oid = object_id("tree", tree_object(node["entries"]))
        if oid != node["was"]:
            trees.append((oid, node["entries"]))
        return oid

    new_root = close(top)
    if new_root is None:  # every file deleted: the empty tree is real in history, so write it too
        new_root = EMPTY_TREE
        trees.append((EMPTY_TREE, {}))
    return blobs, trees, new_root


# ---------------------------------------------------------------------------------------------- checks of calls


def public_version(version: Version) -> Version:
    """Cached versions are shared; each caller gets its own trailers dict."""
    return dataclasses.replace(version, trailers=dict(version.trailers))


def check_int(value: object, what: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidInput(f"The {what} must be a whole number from {low} to {high}.")
    return value


def check_identity(identity: object) -> Identity:
    if not isinstance(identity, Identity):
        raise InvalidInput("A change needs the person who made it (name and e-mail address).")
    return Identity(identity.name, identity.email)  # validate again: the object may have been built around checks


def check_changes(changes: object) -> dict[str, bytes | None]:
    """path -> new content (None: delete), in order; refuses repeated paths."""
    if not isinstance(changes, (list, tuple)) or not changes:
        raise InvalidInput("A save needs at least one change.")
    planned: dict[str, bytes | None] = {}
    for change in changes:
        if not isinstance(change, Change):
            raise InvalidInput("Each change must be a Change(path, content).")
        path = check_path(change.path)
        if change.content is not None and not isinstance(change.content, bytes):
            raise InvalidInput(f"The new content of {path} must be bytes (or None to delete the file).")
        if change.content is not None and len(change.content) > MAX_FILE_BYTES:
            raise InvalidInput(f"{path} is too large (at most {MAX_FILE_BYTES // (1024 * 1024)} MB).")
        if path in planned:
            raise InvalidInput(f"{path} appears twice in one save.")
        planned[path] = change.content
    return planned


class LRUCache:
    """A small thread-safe least-recently-used cache, bounded by entries and by an estimate of bytes."""

    def __init__(self, max_items: int, max_bytes: int = 1 << 62):
        self._data: OrderedDict = OrderedDict()
        self._max_items, self._max_bytes, self._bytes = max_items, max_bytes, 0
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            self._data.move_to_end(key)
            return item[0]

    def put(self, key, value, size: int = 0) -> None:
        with self._lock:
            if key in self._data:
                return
            self._data[key] = (value, size)
            self._bytes += size
            while len(self._data) > self._max_items or (self._bytes > self._max_bytes and len(self._data) > 1):
                self._bytes -= self._data.popitem(last=False)[1][1]

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._bytes = 0
