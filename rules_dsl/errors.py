"""Problems found in rules, written for the people who write rules.

Every problem is structured (code, message, position, suggestion, the form field it concerns) so that the command
line can print ``file:line:column: message``, the API can return it as JSON and the editor can show it beside the
right field. Messages say what is wrong, where, and how to fix it, in plain words.
"""
from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from functools import lru_cache

from .syntax import Span

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    severity: str = ERROR
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None
    suggestion: str | None = None
    field: str | None = None
    file: str | None = None

    @classmethod
    def at(cls, span: Span | None, code: str, message: str, **extra) -> Problem:
        if span is None:
            return cls(code, message, **extra)
        return cls(code, message, line=span.line, column=span.column, end_line=span.end_line,
                   end_column=span.end_column, **extra)

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def in_file(self, file: str) -> Problem:
        return replace(self, file=file)

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def __str__(self) -> str:
        where = [str(p) for p in (self.file, self.line, self.column) if p is not None]
        prefix = ":".join(where) + ": " if where else ""
        kind = "" if self.is_error else "warning: "
        return f"{prefix}{kind}{self.message}"


class RulecraftError(Exception):
    """Base of the errors Rulecraft raises on purpose."""


class RuleError(RulecraftError, ValueError):
    """A rule (or a rule set) has at least one error.

    The first error's details are attributes (``line``, ``column``, ``message``, ``suggestion`` ...); all problems,
    warnings included, are in ``problems``.
    """

    def __init__(self, problems: Problem | str | Iterable[Problem]):
        if isinstance(problems, str):
            problems = [Problem("invalid", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        errors = [p for p in self.problems if p.is_error] or self.problems
        first = errors[0]
        self.first = first
        for name in ("code", "message", "line", "column", "end_line", "end_column", "suggestion", "field", "file"):
            setattr(self, name, getattr(first, name))
        super().__init__(str(first))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]


class DataError(RulecraftError, ValueError):
    """Input data does not fit the vocabulary: a missing column, a wrong type, a value that is not finite."""

    def __init__(self, message: str, column: str | None = None, row=None):
        self.message = message
        self.column = column
        self.row = row  # the row's label in a table (its index), when one row is at fault
        super().__init__(message)


class BundleError(RulecraftError, ValueError):
    """A bundle file is not a Rulecraft bundle, or its content does not match its hash."""


def normalize_name(name: str) -> str:
    """The form in which two names count as the same: Unicode NFKC, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


# Letters of other scripts that look like Latin ones (from Unicode's confusables, after case folding): a rule called
# "Сase" with a Cyrillic С must not sit beside "Case" as if it were another rule.
_LOOK_ALIKES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "з": "3", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l",
    "һ": "h", "ү": "y", "α": "a", "β": "b", "ε": "e", "ζ": "z", "η": "h", "ι": "i", "κ": "k", "μ": "m",
    "ν": "n", "ο": "o", "ρ": "p", "τ": "t", "υ": "y", "χ": "x", "ϲ": "c", "ϳ": "j",
})


@lru_cache(maxsize=32_768)  # a rule set's names are checked on every read of a new version (10,000 rules: 0.2 s)
def name_key(name: str) -> str:
    """The form in which two names of rules or rule sets count as the same name: ``normalize_name`` without
    accents, with letters of other scripts that look like Latin ones read as those (Cyrillic "Сase" is "Case")."""
    decomposed = unicodedata.normalize("NFKD", normalize_name(name))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", plain).translate(_LOOK_ALIKES)


_INVISIBLE = ("Cc", "Cf", "Zl", "Zp", "Cs", "Co")  # control, format (bidi, zero-width), separators, surrogates, private


def invisible_character(text: str) -> int | None:
    """Where ``text`` holds a character that does not show (a control or format character: NUL, a line break,
    a direction override, a zero-width space), or None. Such characters make a name read differently from what
    it is. Spaces of every width (a no-break space pasted from a document) are allowed, and so are characters
    newer than this Python's Unicode tables (a new emoji is not invisible)."""
    for i, ch in enumerate(text):
        if unicodedata.category(ch) in _INVISIBLE:
            return i
    return None


def did_you_mean(word: str, candidates: Iterable[str], n: int = 1) -> list[str]:
    """Close matches for a misspelt name, best first (compared without case)."""
    by_key: dict[str, str] = {}
    for c in candidates:
        by_key.setdefault(normalize_name(c), c)
    keys = difflib.get_close_matches(normalize_name(word), list(by_key), n=n, cutoff=0.6)
    return [by_key[k] for k in keys]


def quote_list(items: Iterable[str], joiner: str = "or") -> str:
    """'"a", "b" or "c"' for messages."""
    items = [f"'{i}'" for i in items]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {joiner} {items[-1]}"
