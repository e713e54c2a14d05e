"""rules_dsl.load_from_server against the real server process: fetch, verify, cache, offline."""
from __future__ import annotations

import json

import pytest

import rules_dsl
from rules_dsl.client import ServerError
from tests.server.test_process import FIXTURE, Server, rulecraft


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    data = tmp_path_factory.mktemp("client") / "data"
    rulecraft("create-user", "Ana", "--role", "author", data_dir=data, stdin="a long password 1\n")
    rulecraft("create-user", "Rui", "--role", "reviewer", data_dir=data, stdin="a long password 2\n")
    rulecraft("create-user", "Mia", "--role", "ml-engineer", data_dir=data, stdin="a long password 3\n")
    rulecraft("import", str(FIXTURE), "--as", "Ana", "--why", "Initial rules", data_dir=data)
    tokens = {n: rulecraft("create-token", n, "--scope", s, data_dir=data).stdout.strip()
              for n, s in (("Ana", "write"), ("Rui", "write"), ("Mia", "predict"))}
    server = Server(data)
    import requests

    requested = requests.post(f"{server.url}/api/rulesets/sepsis-triage/releases", json={},
                              headers={"Authorization": f"Bearer {tokens['Ana']}"}, timeout=10).json()
    requests.post(f"{server.url}/api/rulesets/sepsis-triage/releases/{requested['id']}/approve", json={},
                  headers={"Authorization": f"Bearer {tokens['Rui']}"}, timeout=10).raise_for_status()
    yield server, tokens
    server.stop()


def test_a_tampered_cache_is_refused(released, tmp_path):
    server, tokens = released
    cache = tmp_path / "cache"
    rules_dsl.load_from_server(server.url, "sepsis-triage", version="v1", token=tokens["Mia"], cache_dir=cache)
    bundle = next((cache / "bundles").glob("*.json"))
    document = json.loads(bundle.read_bytes())
    document["rules"][0]["text"] = document["rules"][0]["text"].replace("is above", "is below")
    bundle.write_text(json.dumps(document))
    with pytest.raises(rules_dsl.BundleError):
        rules_dsl.load_from_server(server.url, "sepsis-triage", version="v1", cache_dir=cache)


def test_server_refusals_are_plain(released, tmp_path):
    server, tokens = released
    with pytest.raises(ServerError, match="not a version"):
        rules_dsl.load_from_server(server.url, "sepsis-triage", version="HEAD~1", token=tokens["Mia"],
                                   cache_dir=tmp_path)
    with pytest.raises(ServerError, match="token"):
        rules_dsl.load_from_server(server.url, "sepsis-triage", version="v1", token="rc_wrong", cache_dir=tmp_path)
    with pytest.raises(ServerError, match="Cannot reach"):
        rules_dsl.load_from_server("http://127.0.0.1:9", "sepsis-triage", version="v9", cache_dir=tmp_path)


def test_fetch_verify_cache_and_offline(released, tmp_path):
    server, tokens = released
    cache = tmp_path / "cache"
    first = rules_dsl.load_from_server(server.url, "sepsis-triage", version="v1", token=tokens["Mia"],
                                       cache_dir=cache)
    assert first.release == "v1" and {r.id for r in first.rules} == {"sirs", "dot"}
    case = {"temperature": 39, "heart rate": 120}
    latest = rules_dsl.load_from_server(server.url, "sepsis-triage", token=tokens["Mia"], cache_dir=cache)
    assert latest.release == "v1"
    server.stop()  # offline from here on (this is why this test comes last in the file)
    offline = rules_dsl.load_from_server(server.url, "sepsis-triage", version="v1", cache_dir=cache)
    assert rules_dsl.to_bundle(offline) == rules_dsl.to_bundle(first)
    assert offline.matches_row(case) == first.matches_row(case) == ["sirs"]
    with pytest.warns(RuntimeWarning, match="unreachable"):
        fallback = rules_dsl.load_from_server(server.url, "sepsis-triage", cache_dir=cache)
    assert fallback.release == "v1"
