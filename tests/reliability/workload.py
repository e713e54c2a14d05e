"""What the client processes of the concurrency suite do (each function runs in its own process, spawned).

Every function returns plain data (JSON-able dicts) describing each answer it got, so the test can hold the server
to account afterwards: an acknowledgement must be in history, a conflict must carry both texts.
"""
from __future__ import annotations

import random
import time

import requests

from bench.reliability.harness import RULESET, Client

BUSY_RULE = "sirs"


def busy_text(author: str, i: int) -> str:
    return (f'rule "Two or more SIRS criteria"\npriority 2\nwhen at least 2 of (temperature is above 38, '
            f'heart rate is above {91 + i}, respiratory rate is above 20, white cell count is missing)\n'
            f'then sepsis risk is "high" with confidence 0.8\nbecause "SIRS, edited by {author} #{i}"')


def own_text(author: str, i: int) -> str:
    return f'rule "Own rule of {author}"\nwhen respiratory rate is above {10 + i}\nthen sepsis risk is "low"'


def _put(client: Client, rule: str, text: str, base: str, why: str) -> requests.Response:
    return client.put(f"/api/rulesets/{RULESET}/rules/{rule}", json={"text": text, "why": why},
                      headers={"If-Match": f'"{base}"'})


def _answer(kind: str, response: requests.Response, **extra) -> dict:
    try:
        body = response.json()
    except ValueError:
        body = {"raw": response.text[:300]}
    return {"kind": kind, "status": response.status_code, "body": body, **extra}


def writer(url: str, token: str, author: str, saves: int, seed: int) -> list[dict]:
    """Edits the busy rule (fresh and stale bases) and the author's own rule, ``saves`` times."""
    rng = random.Random(seed)
    client = Client(url, token)
    out: list[dict] = []
    created = client.post(f"/api/rulesets/{RULESET}/rules", json={"text": own_text(author, 0), "why": "my rule"})
    out.append(_answer("create", created, author=author, rule=None, base=None, text=own_text(author, 0)))
    own = created.json().get("id") if created.status_code == 201 else None
    stale = None
    for i in range(1, saves + 1):
        choice = rng.random()
        if choice < 0.5 or own is None:
            opened = client.get(f"/api/rulesets/{RULESET}/rules/{BUSY_RULE}")
            base = opened.json()["version"]
            stale = stale or base
            text = busy_text(author, i)
            out.append(_answer("busy", _put(client, BUSY_RULE, text, base, f"busy edit {i}"), author=author,
                               rule=BUSY_RULE, base=base, text=text))
        elif choice < 0.7 and stale is not None:  # an editor left open for a while: probably a conflict
            text = busy_text(author, 1000 + i)
            out.append(_answer("stale", _put(client, BUSY_RULE, text, stale, f"stale edit {i}"), author=author,
                               rule=BUSY_RULE, base=stale, text=text))
        else:
            opened = client.get(f"/api/rulesets/{RULESET}/rules/{own}")
            base = opened.json()["version"]
            text = own_text(author, i)
            out.append(_answer("own", _put(client, own, text, base, f"own edit {i}"), author=author, rule=own,
                               base=base, text=text))
    client.close()
    return out


def releaser(url: str, token: str, author: str, rounds: int) -> list[dict]:
    """Asks for the latest version to be released, every little while."""
    client = Client(url, token)
    out = []
    for _ in range(rounds):
        out.append(_answer("request", client.post(f"/api/rulesets/{RULESET}/releases", json={}), author=author))
        time.sleep(0.2)
    client.close()
    return out


def reviewer(url: str, token: str, name: str, seconds: float) -> list[dict]:
    """Approves whatever is waiting, racing the other reviewer, for ``seconds``."""
    client = Client(url, token)
    out = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        listed = client.get(f"/api/rulesets/{RULESET}/releases").json()["releases"]
        for release in [r for r in listed if r["status"] == "requested"]:
            answer = client.post(f"/api/rulesets/{RULESET}/releases/{release['id']}/approve",
                                 json={"comment": f"approved by {name}"})
            out.append(_answer("approve", answer, author=name, release=release["id"]))
        time.sleep(0.05)
    client.close()
    return out


CASES = [{"temperature": 39, "heart rate": 120}, {"temperature": 36.5, "heart rate": 70},
         {"temperature": 38.5, "respiratory rate": 25}, {"lesion diameter": 3, "location": "margin", "age": 40,
                                                         "smoker": False, "notes": "none"},
         {}]


def predictor(url: str, token: str, version: str, seconds: float) -> list[dict]:
    """Predicts the same cases with a pinned version and fetches its bundle, again and again, for ``seconds``."""
    client = Client(url, token)
    out = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        predicted = client.post(f"/api/rulesets/{RULESET}/predict?version={version}", json={"cases": CASES})
        bundle = client.get(f"/api/rulesets/{RULESET}/bundle?version={version}")
        out.append({"status": predicted.status_code, "predictions": predicted.json().get("predictions"),
                    "bundle_status": bundle.status_code, "bundle": bundle.text})
    client.close()
    return out
