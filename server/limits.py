"""Limits and patterns of what people and scripts give the server: each defined here once, and imported by the
store (which refuses to record anything else), the services and the views (which say so in their own words).

The rule language's own facts (the rule-id pattern, a rule's name, the folder layout) live in rules_dsl
(``rules_dsl/layout.py``, ``rules_dsl/checker.py``).

Layer rule: the standard library only, so every server module, the store included, may import it.
"""
from __future__ import annotations

import re

# A release of a rule set: v1, v2, ... (a tag's last component).
RELEASE_NAME = re.compile(r"v[1-9][0-9]{0,5}")

# Characters in a person's "why" for a change and in a release's note. The services refused more than 5,000 and
# the store more than 10,000: the stricter, the one people were told, is kept.
MAX_WHY = 5_000

# Characters in a person's name and e-mail address. The accounts and the database column allow 100 and 200; the
# store allowed 200 and 254: the stricter, the one people were told, is kept.
MAX_PERSON_NAME = 100
MAX_EMAIL = 200
# Characters in a key's name (the api_tokens column); a longer one was cut short without a word.
MAX_TOKEN_NAME = 100

# Characters of a value quoted inside an error message (an id, a revision, a path that was refused).
SHOWN_CHARS = 60


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """A value as it may appear inside an error message: printable, at most ``limit`` characters."""
    text = value if isinstance(value, str) else repr(value)
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= limit else text[:limit - 3] + "..."
