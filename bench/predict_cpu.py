"""CPU per prediction in the application alone: the WSGI app called in-process, no HTTP server, no client.

    python -m bench.predict_cpu [--n 3000] [--profile]

Sets up the same workspace as ``bench.server_bench`` (people, tokens, the 50-rule set, a release), then calls the
app's WSGI entry point with prebuilt requests for one-case predictions on the latest release, as the server's
workers would. Prints the process CPU per prediction for five rounds (or, with ``--profile``, the cProfile
functions by own time). Comparing it with server_bench's "CPU per prediction" separates the application's share
from the HTTP server's and the kernel's.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import tempfile
import time
from pathlib import Path

from .server_bench import setup
from .workload import frame_to_rows, generate_frame, generate_rules


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    from werkzeug.test import EnvironBuilder

    from server import create_app

    cases = frame_to_rows(generate_frame(200, seed=23))
    with tempfile.TemporaryDirectory(prefix="rulecraft-predict-cpu-") as folder:
        data_dir = Path(folder) / "data"
        tokens = setup(data_dir, generate_rules(50))
        ruleset = tokens["ruleset"]
        app = create_app({"DATA_DIR": data_dir})
        client = app.test_client()
        requested = client.post(f"/api/rulesets/{ruleset}/releases", json={},
                                headers={"Authorization": f"Bearer {tokens['author']}"})
        approved = client.post(f"/api/rulesets/{ruleset}/releases/{requested.get_json()['id']}/approve",
                               json={"comment": "benchmark"}, headers={"Authorization": f"Bearer {tokens['reviewer']}"})
        if approved.status_code != 200:
            raise RuntimeError(f"release approval: {approved.status_code} {approved.get_data()[:300]!r}")
        requests = []
        for case in cases:
            body = json.dumps({"case": case}).encode()
            environ = EnvironBuilder(path=f"/api/rulesets/{ruleset}/predict", method="POST", data=body,
                                     content_type="application/json",
                                     headers={"Authorization": f"Bearer {tokens['ml-engineer']}"}).get_environ()
            requests.append((environ, body))
        statuses = []

        def start_response(status, headers, exc_info=None):
            statuses.append(status)

        def run(n: int) -> None:
            for i in range(n):
                environ, body = requests[i % len(requests)]
                environ = {**environ, "wsgi.input": io.BytesIO(body)}
                response = app.wsgi_app(environ, start_response)
                b"".join(response)
                getattr(response, "close", lambda: None)()

        run(500)  # warm: the release compiled, the statements' compiled forms cached
        if not all(s.startswith("200") for s in statuses):
            raise RuntimeError(f"predictions failed: {sorted(set(statuses))}")
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            run(args.n)
            profile.disable()
            pstats.Stats(profile).sort_stats("tottime").print_stats(30)
            return
        rounds = []
        for _ in range(5):
            started = time.process_time()
            run(args.n)
            rounds.append((time.process_time() - started) / args.n * 1000)
        print("CPU per prediction, app alone (ms), 5 rounds:", " ".join(f"{r:.3f}" for r in rounds))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
