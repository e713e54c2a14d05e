"""A server worker's peak memory for the largest CSV body a predict token may send to ``evaluate`` (issue 13, item 9).

    python -m bench.reliability.csv_memory            # prints one line per body; exits 1 above the target

Builds a throw-away data folder (``make_workspace``: the sepsis rule set, release v1, people with tokens), starts the
production server with ONE worker on loopback, and sends ``POST /api/rulesets/sepsis-triage/evaluate`` bodies of
just under 16 MB (the body limit) as an ML engineer would: 4 million tiny rows (before the fix this took a worker to
about 1.5 GB), 2,000 columns of short distinct texts, and the rule set's own columns. After each, it reads the
worker's peak resident memory (VmHWM in /proc) and the answer's status. Target: under 300 MB.
"""
from __future__ import annotations

import argparse
import string
import sys
import tempfile
from pathlib import Path

from bench.reliability.harness import RULESET, ServerProcess, make_workspace

TARGET_MB = 300
BODY = 16 * 1024 * 1024 - 4096  # just under the server's MAX_CONTENT_LENGTH


def bodies() -> dict[str, bytes]:
    letters = string.ascii_letters
    words = [a + b for a in letters for b in letters]
    tiny = b"temperature\n" + b"39\n" * ((BODY - 12) // 3)
    header = ",".join(f"c{i}" for i in range(1999)) + ",temperature\n"
    lines, size, k = [header], len(header), 0
    while size < BODY:
        line = ",".join(words[(k * 31 + j) % len(words)] for j in range(1999)) + ",39\n"
        lines.append(line)
        size += len(line)
        k += 1
    wide = "".join(lines).encode()[:BODY]
    wide = wide[:wide.rfind(b"\n") + 1]
    used = b"temperature,heart rate,respiratory rate,white cell count\n"
    rules = used + b"39.5,120,30,5\n" * ((BODY - len(used)) // 14)
    return {"4 million tiny rows": tiny, "2,000 columns of text": wide, "the rules' columns": rules}


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    import requests

    with tempfile.TemporaryDirectory(prefix="rulecraft-csv-memory-") as folder:
        ws = make_workspace(Path(folder) / "data")
        with ServerProcess(ws.data_dir, workers=1) as server:
            (worker,) = server.worker_pids()
            headers = {"Authorization": f"Bearer {ws.tokens['Mia']}", "Content-Type": "text/csv"}
            url = f"{server.url}/api/rulesets/{RULESET}/evaluate?version=v1"
            requests.post(url, data=b"temperature\n39\n", headers=headers, timeout=60).raise_for_status()
            print(f"worker after start and one small request: peak {peak_mb(worker):.0f} MB")
            worst = 0.0
            for label, body in bodies().items():
                response = requests.post(url, data=body, headers=headers, timeout=300)
                worst = max(worst, peak_mb(worker))
                print(f"{label:<24} {len(body) / 2**20:5.1f} MB body -> {response.status_code}; worker peak so far "
                      f"{peak_mb(worker):.0f} MB")
            print(f"target: under {TARGET_MB} MB -> {'met' if worst < TARGET_MB else 'NOT met'}")
            return 0 if worst < TARGET_MB else 1


if __name__ == "__main__":
    sys.exit(main())
