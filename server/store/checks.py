"""The allow-lists of the store: every value that comes from outside (paths, release names, people's names and
e-mail addresses, messages, trailers, numbers) is checked here before it reaches Git. Imports only ``errors`` and
the server's limits (``server/limits.py``, the one owner of each limit)."""
from __future__ import annotations

import re
import unicodedata

from ..limits import MAX_EMAIL, MAX_PERSON_NAME, RELEASE_NAME, shown
from ..limits import MAX_WHY as MAX_MESSAGE_CHARS
from .errors import InvalidInput, InvalidPath

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


def clean_name(name: object) -> str:
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


def clean_email(email: object) -> str:
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


def check_int(value: object, what: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidInput(f"The {what} must be a whole number from {low} to {high}.")
    return value
