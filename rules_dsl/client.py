"""Fetch a pinned version of a rule set from a Rulecraft server, verify it, keep it, and work offline afterwards.

    ruleset = rules_dsl.load_from_server("http://127.0.0.1:8000", "breast-mass-triage", version="v1",
                                         token=os.environ["RULECRAFT_TOKEN"])

- ``version`` is a release name ("v3") or a full version id; releases and ids never change meaning, so once
  fetched they are served from the local cache without asking the server again (the same bytes, the same
  predictions, on every machine, every day). Without ``version`` the latest release is asked for each time;
  when the server cannot be reached, the last one fetched is used and a warning says so.
- Every bundle's content hash AND the server's signature are verified before it is cached or used (and again each
  time it is read from the cache); the cache is keyed by hash. The signing key is the ``public_key`` given, else
  the server's, fetched from ``/api/signing-key`` on first use and kept in the cache folder (``keys/``): a bundle
  signed with another key, or edited and re-hashed, is refused. Pass ``public_key`` (the PEM text an
  administrator gave you) to trust nothing fetched.
- Only the standard library is used (urllib), and ``cryptography`` to check signatures.
The cache folder is RULECRAFT_CACHE, else ~/.cache/rulecraft.
"""
from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
import warnings
from pathlib import Path

from .bundle import bundle_hash, from_bundle
from .errors import BundleError, RulecraftError
from .ruleset import RuleSet

_SAFE = re.compile(r"[^A-Za-z0-9._-]")
TIMEOUT = 30


class ServerError(RulecraftError):
    """The server refused (with its own message) or could not be reached and nothing usable was cached."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status


def cache_folder(cache_dir: str | Path | None = None) -> Path:
    folder = Path(cache_dir or os.environ.get("RULECRAFT_CACHE") or Path.home() / ".cache" / "rulecraft")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _pin_file(folder: Path, url: str, ruleset: str, version: str | None) -> Path:
    server = _SAFE.sub("_", urllib.parse.urlsplit(url).netloc)
    return folder / "pins" / server / _SAFE.sub("_", ruleset) / f"{_SAFE.sub('_', version or 'latest')}.json"


def _bundle_file(folder: Path, digest: str) -> Path:
    return folder / "bundles" / f"{digest.split(':', 1)[-1]}.json"


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
    temporary.write_bytes(data)
    temporary.replace(path)


def _cached(folder: Path, pin: Path, public_key) -> RuleSet | None:
    if not pin.is_file() or public_key is None:
        return None
    try:
        digest = json.loads(pin.read_text())["hash"]
        data = _bundle_file(folder, digest).read_bytes()
    except (OSError, ValueError, KeyError):
        return None
    if bundle_hash(data) != digest:  # raises BundleError on a changed file, which is right
        raise BundleError("The cached bundle does not match its recorded hash; delete the cache folder.")
    if b'"signature"' not in data:
        return None  # kept by a Rulecraft that did not check signatures: fetched (signed) again
    return from_bundle(data, public_key=public_key)  # raises BundleError unless the server's key signed it


def _key_file(folder: Path, url: str) -> Path:
    return folder / "keys" / f"{_SAFE.sub('_', urllib.parse.urlsplit(url).netloc)}.pem"


def _known_key(folder: Path, url: str) -> str | None:
    try:
        return _key_file(folder, url).read_text()
    except OSError:
        return None


def fetch_signing_key(url: str) -> str:
    """The server's public key for bundles (PEM text), from ``/api/signing-key`` (no sign-in needed)."""
    address = f"{url.rstrip('/')}/api/signing-key"
    request = urllib.request.Request(address, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        try:
            key = json.loads(response.read())["public_key"]
        except (ValueError, KeyError, TypeError):
            key = None
    if not isinstance(key, str) or "BEGIN PUBLIC KEY" not in key:
        raise ServerError(f"The server at {url} did not send a signing key; is it a Rulecraft server?")
    return key


def _server_key(folder: Path, url: str) -> str:
    """The key kept from the first contact with this server, else fetched now and kept."""
    known = _known_key(folder, url)
    if known is not None:
        return known
    key = fetch_signing_key(url)
    _write(_key_file(folder, url), key.encode())
    return key


def fetch_bundle(url: str, ruleset: str, version: str | None, token: str | None) -> bytes:
    query = f"?{urllib.parse.urlencode({'version': version})}" if version else ""
    address = f"{url.rstrip('/')}/api/rulesets/{urllib.parse.quote(ruleset, safe='')}/bundle{query}"
    request = urllib.request.Request(address, headers={"Accept": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.read()
    except urllib.error.HTTPError as e:
        try:
            message = json.loads(e.read())["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = f"the server answered {e.code}"
        raise ServerError(f"Rulecraft server: {message}", status=e.code) from None


def load_from_server(url: str, ruleset: str, version: str | None = None, token: str | None = None,
                     cache_dir: str | Path | None = None, public_key: str | bytes | None = None) -> RuleSet:
    """The rule set at a release or exact version, from the cache when already fetched (see module docs). Every
    bundle must carry the server's signature: ``public_key`` (PEM), else the key kept from this server."""
    folder = cache_folder(cache_dir)
    pin = _pin_file(folder, url, ruleset, version)
    known = public_key if public_key is not None else _known_key(folder, url)
    if version:
        cached = _cached(folder, pin, known)
        if cached is not None:
            return cached
    try:
        key = known if known is not None else _server_key(folder, url)
        data = fetch_bundle(url, ruleset, version, token)
    except (urllib.error.URLError, OSError, ServerError) as e:
        if isinstance(e, ServerError) and e.status is not None:
            raise
        cached = _cached(folder, pin, known)
        if cached is None:
            raise ServerError(f"Cannot reach the Rulecraft server at {url} ({getattr(e, 'reason', e)}) and "
                              f"this version of '{ruleset}' is not in the local cache yet.") from None
        warnings.warn(f"Rulecraft server unreachable; using the cached latest release of '{ruleset}' "
                      f"({cached.release or cached.version}). Pin a version to make this explicit.",
                      RuntimeWarning, stacklevel=2)
        return cached
    digest = bundle_hash(data)  # verifies the content before anything is kept
    loaded = from_bundle(data, public_key=key)  # and the server's signature
    if version and version not in (loaded.release, loaded.version):
        raise BundleError(f"Asked for {version} of '{ruleset}' but the server sent "
                          f"{loaded.release or loaded.version}.")
    _write(_bundle_file(folder, digest), data)
    _write(pin, json.dumps({"hash": digest, "ruleset": ruleset, "version": loaded.version,
                            "release": loaded.release}).encode())
    return loaded
