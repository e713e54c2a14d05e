"""The server's signing key: every bundle the server serves or exports carries its Ed25519 signature.

The key is made on first start and kept in the data folder as ``signing-key.pem`` (PKCS#8, owner-only 0600),
so it is backed up with the rest of the folder. Anyone can fetch the public key (``GET /api/signing-key``, also
printed by ``rulecraft serve``) and check a bundle with it, without the rules' source: ``rulecraft verify`` or
``rules_dsl.read_bundle(path, public_key=...)``. What is signed is the bundle's content hash (rules_dsl/bundle.py).
"""
from __future__ import annotations

import base64
import contextlib
import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rules_dsl.bundle import SIGNATURE_ALGORITHM, key_id

KEY_FILE = "signing-key.pem"


class SigningKey:
    """The private key, its public half as PEM text and the key id that names it in signatures."""

    def __init__(self, private: Ed25519PrivateKey):
        self._private = private
        self.public_pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        self.id = key_id(self.public_pem)

    def sign(self, document: dict) -> dict:
        """``document`` (a bundle with its hash) with the server's signature of that hash."""
        value = base64.b64encode(self._private.sign(document["hash"].encode())).decode()
        return {**document, "signature": {"algorithm": SIGNATURE_ALGORITHM, "key": self.id, "value": value}}


def load_or_create(folder: Path) -> SigningKey:
    """The data folder's key, made on first use. Several workers starting at once make one key between them: each
    writes a complete file under a temporary name and links it into place only if no key is there yet."""
    path = Path(folder) / KEY_FILE
    if not path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        descriptor, temporary = tempfile.mkstemp(prefix=".signing-key-", dir=folder)  # created 0600
        try:
            with os.fdopen(descriptor, "wb") as f:
                f.write(pem)
                f.flush()
                os.fsync(f.fileno())
            with contextlib.suppress(FileExistsError):  # another worker's key won
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise RuntimeError(f"{path} does not hold an Ed25519 key; move it away and start again to make a new one.")
    return SigningKey(private)
