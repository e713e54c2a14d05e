"""The rule-set folder layout: the one owner of its file names, of a rule's file from its id, and of YAML in and out.

The same layout on disk (``load_folder``, ``write_folder``, the CLI) and in the server's Git store, so an auditor
can read a clone:

    <rule set>/
      ruleset.yaml      title, description, outcome (name, labels), policy, default
      vocabulary.yaml   the features
      rules/<id>.rule   one rule per file, canonical text
      examples.csv      optional example cases (one column per feature, by column name)
      tests.csv         optional expected outcomes: cases with the answer the rules must give (expected.py)

Paths here are relative to the rule-set folder; the server prefixes the rule set's id.

Layer rule: the standard library, PyYAML and this package's errors only.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from .errors import Problem, RuleError

SETTINGS_FILE = "ruleset.yaml"
VOCABULARY_FILE = "vocabulary.yaml"
EXAMPLES_FILE = "examples.csv"
TESTS_FILE = "tests.csv"
RULES_FOLDER = "rules"
RULE_SUFFIX = ".rule"

# Names Windows keeps for devices: a file or folder so named cannot be copied there (an operator may copy the
# repository to a Windows share for a backup). The store refuses them as path components on its own, as its last
# line of defence (server/store/checks.py, which imports nothing of rules_dsl); here they are refused as ids, so
# that a person hears it at the id they typed, and ids derived from names step around them.
DEVICE_NAME = re.compile(r"con|prn|aux|nul|com[0-9]|lpt[0-9]")
# A rule's id, and a rule set's: it becomes a file or folder name, so only a slug (never a path).
RULE_ID = re.compile(rf"(?!(?:{DEVICE_NAME.pattern})\Z)[a-z0-9](?:[a-z0-9-]{{0,62}}[a-z0-9])?")
# Ids never derived from a name: /rulesets/<id>/rules/new is the editor's page for a new rule, so a rule called
# "New" with the id "new" could not be opened there.
NOT_DERIVED = frozenset({"new"})
ID_WORDS = ("lower-case letters, digits and hyphens, starting and ending with a letter or digit, at most 64 "
            "characters, and not a name Windows keeps for a device (con, prn, aux, nul, com1-com9, lpt1-lpt9)")


def rule_file(rule_id: str) -> str:
    """The file of a rule, relative to the rule-set folder: ``rules/<id>.rule``."""
    return f"{RULES_FOLDER}/{rule_id}{RULE_SUFFIX}"


def rule_stem(name: str) -> str | None:
    """The file name without folder and suffix if ``name`` is a rule's file (``rules/<stem>.rule``), else None.
    The stem is not checked against RULE_ID."""
    prefix = RULES_FOLDER + "/"
    if name.startswith(prefix) and name.endswith(RULE_SUFFIX):
        return name[len(prefix):-len(RULE_SUFFIX)]
    return None


def dump_yaml(data) -> str:
    """ruleset.yaml and vocabulary.yaml as written everywhere: keys in the order given, text as written."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def parse_yaml(data: bytes | None, file: str):
    if data is None:
        raise RuleError(Problem("missing-file", f"{file} is missing from the rule set.", file=file))
    try:
        return yaml.safe_load(data.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        raise RuleError(Problem("bad-yaml", f"{file} is not valid YAML: {getattr(e, 'problem', None) or e}.",
                                line=line, column=column, file=file)) from None


def read_yaml(path: Path, file: str):
    return parse_yaml(path.read_bytes() if path.is_file() else None, file)
