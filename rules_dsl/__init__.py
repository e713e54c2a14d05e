"""Rulecraft's rule language as a library: parse, check, format and run plain-language rules.

    import rules_dsl
    ruleset = rules_dsl.load("breast-mass-triage/")      # a rule-set folder or a bundle file
    fired = ruleset.matches(df)                          # one boolean column per rule
    ruleset.matches_row({"worst radius": 18.2})          # ids of the rules that fire
    rules_dsl.format_rule('RULE "x" WHEN age > 5')       # canonical text

Layer rule: this package imports no Flask and no Git. SQLAlchemy is imported only by backends/sql.py and
scikit-learn only by the ml/ package (and by demo.reference_data, for the data set); see README.md in this
folder.
"""
from __future__ import annotations

from pathlib import Path

from .bundle import LANGUAGE_VERSION, from_bundle, read_bundle, to_bundle
from .checker import Checked, check
from .errors import BundleError, DataError, Problem, RulecraftError, RuleError
from .formatter import format_syntax
from .parser import parse_rule
from .policy import Decision
from .ruleset import CompiledRule, RuleSet, compile_rule, load_folder, slugify, write_folder
from .structured import rule_from_json, rule_to_json
from .vocabulary import Feature, Outcome, Policy, Settings, Vocabulary

__version__ = "0.1.0"

__all__ = [
    "load", "load_from_server", "format_rule", "parse_rule", "check", "compile_rule", "rule_from_json",
    "rule_to_json", "format_syntax", "to_bundle", "from_bundle", "read_bundle", "load_folder", "write_folder",
    "slugify", "RuleSet", "CompiledRule", "Checked", "Decision", "Vocabulary", "Feature", "Outcome", "Policy",
    "Settings", "RuleError", "DataError", "BundleError", "RulecraftError", "Problem", "LANGUAGE_VERSION",
]


def load(path: str | Path) -> RuleSet:
    """A RuleSet from a rule-set folder or a bundle file.

    Raises RuleError when a rule has an error: the first one, with all of them in ``.problems``, each naming its
    file; BundleError when a bundle was tampered with.
    """
    path = Path(path)
    if path.is_dir():
        return load_folder(path)
    if not path.is_file():
        raise RuleError(Problem("missing", f"'{path}' is neither a rule-set folder nor a bundle file."))
    return read_bundle(path)


def format_rule(text: str | bytes) -> str:
    """The canonical text of a rule (syntax only: names stay as written). Raises RuleError on a syntax error."""
    return format_syntax(parse_rule(text))


def load_from_server(url: str, ruleset: str, version: str | None = None, token: str | None = None,
                     cache_dir: str | Path | None = None, public_key: str | bytes | None = None) -> RuleSet:
    """Fetch a released (or exactly pinned) version from a Rulecraft server, checking the server's signature;
    see rules_dsl.client."""
    from .client import load_from_server as _load

    return _load(url, ruleset, version=version, token=token, cache_dir=cache_dir, public_key=public_key)
