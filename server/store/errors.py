"""The store's errors. Every error carries ``.message``: plain words that can be shown to a person (no "SHA", no
"HEAD"). Imports nothing."""
from __future__ import annotations


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
