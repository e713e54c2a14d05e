"""Bundles: one version of a rule set (settings, vocabulary, rules) in one JSON file.

A bundle records the language version and a SHA-256 hash of its content. The same inputs give byte-identical
bundles (sorted keys, rules sorted by id, fixed separators), so a hash names a version's behaviour exactly; loading
recomputes the hash and refuses a file that was changed after it was made.

The hash alone proves nothing against someone who edits a file and recomputes it. A Rulecraft server therefore
signs the bundles it serves: ``"signature": {"algorithm": "Ed25519", "key": <key id>, "value": <base64>}``, an
Ed25519 signature of the hash text (``sha256:<hex>``, ASCII). ``from_bundle(data, public_key=...)`` refuses a bundle
whose signature does not verify with that key (the server's, from ``/api/signing-key``). The ``cryptography``
package is imported only then, inside ``verify_signature``. What is hashed: every key of the bundle except
``hash`` and ``signature``, as canonical JSON (``_canonical``); docs/api.md shows how to recompute it.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from pathlib import Path

from .errors import BundleError, Problem, RuleError
from .layout import RULE_ID, rule_file
from .ruleset import RuleSet, compile_rule
from .vocabulary import Settings, Vocabulary

FORMAT = "rulecraft-bundle"
FORMAT_VERSION = 1
LANGUAGE_VERSION = "1"
MAX_BUNDLE_BYTES = 64 * 1024 * 1024


def _canonical(data: dict) -> bytes:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


UNHASHED = ("hash", "signature")
SIGNATURE_ALGORITHM = "Ed25519"


def content_hash(data: dict) -> str:
    """``sha256:`` + the SHA-256 (hex) of the canonical JSON of every key but ``hash`` and ``signature``."""
    body = {k: v for k, v in data.items() if k not in UNHASHED}
    return "sha256:" + hashlib.sha256(_canonical(body)).hexdigest()


def key_id(public_key) -> str:
    """A short name for an Ed25519 public key: ``ed25519:`` + the first 16 hex digits of the SHA-256 of its 32 raw
    bytes (the same on the server and in every client)."""
    raw = _raw_public_key(public_key)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


def _raw_public_key(public_key) -> bytes:
    """The 32 raw bytes of an Ed25519 public key given as PEM (text or bytes, as /api/signing-key serves it), as
    raw bytes, or as a cryptography key object."""
    if hasattr(public_key, "public_bytes_raw"):
        return public_key.public_bytes_raw()
    if isinstance(public_key, str):
        public_key = public_key.encode()
    if isinstance(public_key, bytes) and len(public_key) == 32:
        return public_key
    if isinstance(public_key, bytes) and b"BEGIN PUBLIC KEY" in public_key:
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        try:
            loaded = load_pem_public_key(public_key)
            return loaded.public_bytes_raw()
        except (ValueError, TypeError, AttributeError):
            pass
    raise BundleError("The public key is not an Ed25519 key (give the PEM text the server serves at "
                      "/api/signing-key).")


def verify_signature(document: dict, public_key) -> str:
    """Check that ``document`` (a bundle whose hash was already checked) is signed with ``public_key``; returns the
    key id. Raises BundleError when it is unsigned, signed with another key, or the signature does not verify."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    expected = key_id(public_key)
    signature = document.get("signature")
    if not isinstance(signature, dict) or not isinstance(signature.get("value"), str):
        raise BundleError("This bundle is not signed, so it cannot be shown to come from the Rulecraft server. "
                          "Fetch it from the server again (servers sign every bundle they serve).")
    if signature.get("algorithm") != SIGNATURE_ALGORITHM or signature.get("key") != expected:
        raise BundleError(f"This bundle was signed with key {str(signature.get('key'))[:40]}, not with the "
                          f"server key {expected}: it did not come from that server.")
    try:
        value = base64.b64decode(signature["value"], validate=True)
        Ed25519PublicKey.from_public_bytes(_raw_public_key(public_key)).verify(value, document["hash"].encode())
    except (InvalidSignature, ValueError, binascii.Error):
        raise BundleError("The bundle's signature does not verify: it was changed after the server signed it. "
                          "Fetch it from the server again.") from None
    return expected


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
    """The bundle file's bytes (unsigned: the server adds its signature, see ``bundle_bytes``)."""
    return bundle_bytes(bundle_dict(ruleset))


def bundle_bytes(document: dict) -> bytes:
    """A bundle document (from ``bundle_dict``, perhaps with a ``signature``) as the file's bytes."""
    return json.dumps(document, sort_keys=True, ensure_ascii=False, indent=1, allow_nan=False).encode() + b"\n"


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


def from_bundle(data: bytes, public_key=None) -> RuleSet:
    """Load a bundle's bytes into a RuleSet; raises BundleError on a foreign or tampered file, and, with
    ``public_key`` (the server's, as PEM), on a bundle that this key did not sign."""
    document = _verified(data)
    signed_by = verify_signature(document, public_key) if public_key is not None else None
    if document.get("language_version") != LANGUAGE_VERSION:
        raise BundleError(f"This bundle was made for language version {document.get('language_version')}; this "
                          f"Rulecraft reads version {LANGUAGE_VERSION}. Upgrade Rulecraft or export the bundle again.")
    try:
        settings = Settings.from_dict({k: v for k, v in document["ruleset"].items() if k != "id"})
        vocabulary = Vocabulary.from_dict(document["vocabulary"])
        _check_rule_ids(document["rules"])
        rules = [compile_rule(r["text"], vocabulary, settings, r["id"], rule_file(r["id"]))
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
    ruleset.signed_by = signed_by  # the key id that was checked, None when no key was given
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


def read_bundle(path: str | Path, public_key=None) -> RuleSet:
    """A bundle file as a RuleSet; with ``public_key``, only if that key signed it (see ``from_bundle``)."""
    return from_bundle(Path(path).read_bytes(), public_key=public_key)
