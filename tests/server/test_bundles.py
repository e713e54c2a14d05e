"""Bundles an auditor can verify (issue 13, item 6): the content hash recorded at approval (database, tag message,
release page, audit log), bundles signed by the server with its Ed25519 key, refused when edited and re-hashed,
and `rulecraft verify`."""
from __future__ import annotations

import json
import stat

import pytest
import sqlalchemy as sa

import rules_dsl
from rules_dsl.bundle import content_hash
from server import migrate
from server.signing import KEY_FILE
from tests.server.conftest import close_app, make_app

RS = "/api/rulesets/sepsis-triage"


def release(ws) -> dict:
    requested = ws.as_("Bea").post(f"{RS}/releases", json={"notes": "first"})
    approved = ws.as_("Rui").post(f"{RS}/releases/{requested.get_json()['id']}/approve", json={})
    assert approved.status_code == 200, approved.get_json()
    return approved.get_json()


def edited(data: bytes, rehash: bool = True) -> bytes:
    """The bundle with one rule's meaning turned round, its hash recomputed (what a forger would do)."""
    document = json.loads(data)
    document["rules"][0]["text"] = document["rules"][0]["text"].replace("above", "below")
    if rehash:
        document["hash"] = content_hash(document)
    return json.dumps(document).encode()


def test_the_bundle_hash_is_recorded_at_approval(ws):
    v1 = release(ws)
    served = ws.as_("Mia").get(f"{RS}/bundle", query_string={"version": "v1"})
    digest = json.loads(served.data)["hash"]
    assert v1["bundle_hash"] == digest == served.headers["ETag"].strip('"')
    listed = ws.as_("Alex").get(f"{RS}/releases").get_json()["releases"][0]
    assert listed["bundle_hash"] == digest
    tag = ws.app.extensions["rulecraft.store"].tags("sepsis-triage")[0]
    assert f"Rulecraft-Bundle-Hash: {digest}" in tag.message
    audit = ws.as_("Alex").get("/api/audit", query_string={"action": "release.approve"}).get_json()["events"]
    assert audit[0]["details"]["bundle_hash"] == digest
    latest = ws.as_("Mia").get(f"{RS}/bundle")  # the latest release: the same bytes' hash
    assert json.loads(latest.data)["hash"] == digest


def test_served_bundles_are_signed_and_an_edited_one_is_refused(ws, tmp_path):
    release(ws)
    key = ws.as_(None).get("/api/signing-key")
    assert key.status_code == 200  # public: no sign-in needed
    public = key.get_json()["public_key"]
    assert "BEGIN PUBLIC KEY" in public and key.get_json()["key_id"].startswith("ed25519:")
    data = ws.as_("Mia").get(f"{RS}/bundle", query_string={"version": "v1"}).data
    loaded = rules_dsl.from_bundle(data, public_key=public)
    assert loaded.release == "v1" and loaded.signed_by == key.get_json()["key_id"]

    # docs/api.md, "Verifying a bundle": the hash and the signature recomputed by hand, as documented
    import base64
    import hashlib

    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    document = json.loads(data)
    body = {k: v for k, v in document.items() if k not in ("hash", "signature")}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    assert document["hash"] == "sha256:" + hashlib.sha256(canonical).hexdigest()
    load_pem_public_key(public.encode()).verify(base64.b64decode(document["signature"]["value"]),
                                                document["hash"].encode())

    forged = edited(data)
    assert rules_dsl.from_bundle(forged).release == "v1"  # the hash alone cannot tell: this is the old hole
    with pytest.raises(rules_dsl.BundleError, match="signature does not verify"):
        rules_dsl.from_bundle(forged, public_key=public)
    path = tmp_path / "forged.json"
    path.write_bytes(forged)
    with pytest.raises(rules_dsl.BundleError, match="signature"):
        rules_dsl.read_bundle(path, public_key=public)
    with pytest.raises(rules_dsl.BundleError, match="hash"):
        rules_dsl.from_bundle(edited(data, rehash=False), public_key=public)
    unsigned = rules_dsl.to_bundle(loaded)
    with pytest.raises(rules_dsl.BundleError, match="not signed"):
        rules_dsl.from_bundle(unsigned, public_key=public)
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other = Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(rules_dsl.BundleError, match="not with the server key"):
        rules_dsl.from_bundle(data, public_key=other)


def test_the_signing_key_is_made_once_owner_only_and_kept(tmp_path):
    data = tmp_path / "data"
    first = make_app(data, f"sqlite:///{tmp_path / 'one.db'}")
    key = first.extensions["rulecraft.signing_key"]
    close_app(first)
    assert stat.S_IMODE((data / KEY_FILE).stat().st_mode) == 0o600
    again = make_app(data, f"sqlite:///{tmp_path / 'one.db'}")
    try:
        assert again.extensions["rulecraft.signing_key"].id == key.id
        assert again.test_client().get("/api/signing-key").get_json()["public_key"] == key.public_pem
    finally:
        close_app(again)
    assert [p.name for p in data.iterdir() if p.name.startswith(".signing-key")] == []


def test_migration_0002_adds_the_bundle_hash_and_keeps_releases(database_url):
    migrate.upgrade(database_url, "0001")
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as c:
            c.execute(sa.text("INSERT INTO users (id, name, name_key, email, role, password_hash, "
                              "must_change_password, active, created_at) VALUES (1, 'Ana', 'ana', 'a@b.org', "
                              "'author', 'x', false, true, CURRENT_TIMESTAMP)"))
            c.execute(sa.text("INSERT INTO releases (id, ruleset, name, version, status, notes, requested_by, "
                              "requested_at, comment) VALUES (1, 'r', 'v1', :v, 'approved', '', 1, "
                              "CURRENT_TIMESTAMP, '')"), {"v": "a" * 40})
        migrate.upgrade(database_url)
        columns = {c["name"] for c in sa.inspect(engine).get_columns("releases")}
        assert "bundle_hash" in columns
        with engine.connect() as c:
            assert c.execute(sa.text("SELECT name, bundle_hash FROM releases")).all() == [("v1", None)]
        migrate.downgrade(database_url, "0001")
        engine.dispose()
        assert "bundle_hash" not in {c["name"] for c in sa.inspect(engine).get_columns("releases")}
        with engine.connect() as c:
            assert c.execute(sa.text("SELECT name FROM releases")).all() == [("v1",)]
        migrate.upgrade(database_url)
        assert migrate.current(engine) == migrate.head(database_url)
    finally:
        engine.dispose()


def test_rulecraft_verify_and_the_client_check_the_servers_signature(tmp_path):
    """Against the real server process: `rulecraft verify` passes a served bundle and refuses an edited one; the
    client refuses an edited cache entry whose hash was recomputed."""
    import requests
    from test_process import FIXTURE, rulecraft

    from bench.reliability.harness import ServerProcess

    data = tmp_path / "data"
    for name, role in (("Ana", "author"), ("Rui", "reviewer"), ("Mia", "ml-engineer")):
        rulecraft("create-user", name, "--role", role, data_dir=data, stdin=f"a long password {name}\n")
    rulecraft("import", str(FIXTURE), "--as", "Ana", "--why", "Initial rules", data_dir=data)
    tokens = {n: rulecraft("create-token", n, "--scope", s, data_dir=data).stdout.strip()
              for n, s in (("Ana", "write"), ("Rui", "write"), ("Mia", "predict"))}
    server = ServerProcess(data)  # waits for a worker to answer, however loaded the machine
    try:
        def call(method, path, who, **kw):
            response = requests.request(method, f"{server.url}{path}", timeout=30,
                                        headers={"Authorization": f"Bearer {tokens[who]}"}, **kw)
            response.raise_for_status()
            return response

        requested = call("POST", f"{RS}/releases", "Ana", json={}).json()
        call("POST", f"{RS}/releases/{requested['id']}/approve", "Rui", json={})
        bundle = tmp_path / "v1.json"
        bundle.write_bytes(call("GET", f"{RS}/bundle?version=v1", "Mia").content)

        good = rulecraft("verify", str(bundle), "--server", server.url, "--token", tokens["Mia"], data_dir=data)
        assert "Signature: valid" in good.stdout and "the same as recorded" in good.stdout
        assert good.stdout.strip().splitlines()[-1].startswith("VERIFIED")
        assert "VERIFIED" in rulecraft("verify", str(bundle), data_dir=data).stdout  # the data folder's key
        forged = tmp_path / "forged.json"
        forged.write_bytes(edited(bundle.read_bytes()))
        refused = rulecraft("verify", str(forged), "--server", server.url, data_dir=data, check=False)
        assert refused.returncode == 1 and "NOT VERIFIED" in refused.stderr and "signature" in refused.stderr

        cache = tmp_path / "cache"
        first = rules_dsl.load_from_server(server.url, "sepsis-triage", version="v1", token=tokens["Mia"],
                                           cache_dir=cache)
        assert first.release == "v1" and first.signed_by
        # A forger edits the cached bundle, recomputes its hash and points the pin at it.
        [kept] = (cache / "bundles").glob("*.json")
        document = json.loads(edited(kept.read_bytes()))
        (cache / "bundles" / f"{document['hash'].split(':')[1]}.json").write_text(json.dumps(document))
        [pin] = (cache / "pins").rglob("v1.json")
        pin.write_text(json.dumps({**json.loads(pin.read_text()), "hash": document["hash"]}))
        with pytest.raises(rules_dsl.BundleError, match="signature"):
            rules_dsl.load_from_server(server.url, "sepsis-triage", version="v1", token=tokens["Mia"],
                                       cache_dir=cache)
    finally:
        server.stop()
