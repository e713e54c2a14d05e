"""The small frozen objects the store hands out (a person, a version, a change, a blamed line, a release), and the
checks of the objects handed in. Imports ``errors`` and ``checks``."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime

from .checks import MAX_FILE_BYTES, check_path, clean_email, clean_name
from .errors import InvalidInput


@dataclass(frozen=True)
class Identity:
    """A person as Git records them. Validated on creation; surrounding punctuation and spaces that Git would drop
    are dropped here too (so "Ann Lee Jr." becomes "Ann Lee Jr"), and names are NFC-normalised, so what you pass is
    exactly what history shows."""

    name: str
    email: str

    def __post_init__(self):
        object.__setattr__(self, "name", clean_name(self.name))
        object.__setattr__(self, "email", clean_email(self.email))

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


def public_version(version: Version) -> Version:
    """Cached versions are shared; each caller gets its own trailers dict."""
    return dataclasses.replace(version, trailers=dict(version.trailers))


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
