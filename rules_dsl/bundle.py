"""Bundles: one version of a rule set (settings, vocabulary, rules) in one JSON file.

A bundle records the language version and a SHA-256 hash of its content. The same inputs give byte-identical
bundles (sorted keys, rules sorted by id, fixed separators), so a hash names a version's behaviour exactly; loading
recomputes the hash and refuses a file that was changed after it was made.
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

from .errors import BundleError, Problem, RuleError
from .ruleset import RULE_ID, RuleSet, compile_rule
from .vocabulary import Settings, Vocabulary

FORMAT = "rulecraft-bundle"
FORMAT_VERSION = 1
LANGUAGE_VERSION = "1"
MAX_BUNDLE_BYTES = 64 * 1024 * 1024


def _canonical(data: dict) -> bytes:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def content_hash(data: dict) -> str:
    body = {k: v for k, v in data.items() if k != "hash"}
    return "sha256:" + hashlib.sha256(_canonical(body)).hexdigest()


def bundle_dict(ruleset: RuleSet) -> dict:
    data = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "language_version": LANGUAGE_VERSION,
        "ruleset": {"id": ruleset.id, **ruleset.settings.to_dict()},
        "vocabulary": {"features": ruleset.vocabulary.to_list()},  # a list keeps the author's order
        "rules": [{"id": r.id, "text": r.text} for r in sorted(ruleset.rules, key=lambda r: r.id)],
        "source": {"version": ruleset.version, "release": ruleset.release},
    }
    data["hash"] = content_hash(data)
    return data


def to_bundle(ruleset: RuleSet) -> bytes:
    """The bundle file's bytes."""
    return json.dumps(bundle_dict(ruleset), sort_keys=True, ensure_ascii=False, indent=1,
                      allow_nan=False).encode() + b"\n"


def bundle_hash(data: bytes) -> str:
    """The content hash recorded in a bundle's bytes (after checking it)."""
    return _verified(data)["hash"]


def _verified(data: bytes) -> dict:
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError("The bundle is too large to be a Rulecraft bundle.")
    try:
        # NaN, Infinity and numbers too large for a double are not JSON that Rulecraft writes (and cannot be
        # hashed): refused here as a foreign file, not as an error of the hashing below.
        document = json.loads(data, parse_constant=_not_a_number, parse_float=_finite)
    except (ValueError, UnicodeDecodeError):
        raise BundleError("This file is not a Rulecraft bundle (it is not JSON).") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise BundleError("This file is not a Rulecraft bundle (it has no 'format: rulecraft-bundle').")
    if document.get("format_version") != FORMAT_VERSION:
        raise BundleError(f"This bundle has format version {document.get('format_version')}; this Rulecraft reads "
                          f"version {FORMAT_VERSION}. Upgrade Rulecraft or export the bundle again.")
    if document.get("hash") != content_hash(document):
        raise BundleError("The bundle's content does not match its hash: it was changed after it was made. "
                          "Fetch or export it again.")
    return document


def _not_a_number(text: str):
    raise ValueError(f"{text} is not a number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is too large")
    return value


def from_bundle(data: bytes) -> RuleSet:
    """Load a bundle's bytes into a RuleSet; raises BundleError on a foreign or tampered file."""
    document = _verified(data)
    if document.get("language_version") != LANGUAGE_VERSION:
        raise BundleError(f"This bundle was made for language version {document.get('language_version')}; this "
                          f"Rulecraft reads version {LANGUAGE_VERSION}. Upgrade Rulecraft or export the bundle again.")
    try:
        settings = Settings.from_dict({k: v for k, v in document["ruleset"].items() if k != "id"})
        vocabulary = Vocabulary.from_dict(document["vocabulary"])
        _check_rule_ids(document["rules"])
        rules = [compile_rule(r["text"], vocabulary, settings, r["id"], f"rules/{r['id']}.rule")
                 for r in document["rules"]]
    except (KeyError, TypeError):
        raise BundleError("The bundle is missing parts (ruleset, vocabulary or rules).") from None
    except RuleError as e:
        raise RuleError([Problem(p.code, f"In the bundle: {p.message}", p.severity, p.line, p.column, p.end_line,
                                 p.end_column, p.suggestion, p.field, p.file) for p in e.problems]) from None
    source = document.get("source") or {}
    ruleset = RuleSet(settings, vocabulary, rules, id=document["ruleset"].get("id", ""),
                      version=source.get("version"), release=source.get("release"))
    ruleset.bundle_hash = document["hash"]
    return ruleset


def _check_rule_ids(rules: list) -> None:
    """A rule id becomes a file name (rules/<id>.rule): only slugs, each once, so a bundle never names a path."""
    seen = set()
    for rule in rules:
        rule_id = rule["id"]
        if not isinstance(rule_id, str) or not RULE_ID.fullmatch(rule_id):
            raise BundleError(f"The bundle has a bad rule id {rule_id!r}: a rule id is made of lower-case letters, "
                              "digits and hyphens.")
        if rule_id in seen:
            raise BundleError(f"The bundle has the rule id {rule_id!r} twice.")
        seen.add(rule_id)


def read_bundle(path: str | Path) -> RuleSet:
    return from_bundle(Path(path).read_bytes())
