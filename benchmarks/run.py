"""Run every ``benchmarks/bench_*.py`` in its own process and collect the results.

Usage: ``python benchmarks/run.py [NAME ...]`` (names without ``bench_`` and ``.py``, e.g.
``history`` for the 1M-row stage-history import of ``bench_history.py``).
Each script prints human-readable lines and one final line ``BENCH_JSON {...}``; the
collected results go to ``benchmarks/results/latest.json`` (written atomically).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from qualmodel.core.atomic import write_text_atomic

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        wanted = {f"bench_{a}.py" for a in argv}
        scripts = [s for s in scripts if s.name in wanted]
    results: dict[str, object] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "benchmarks": {},
    }
    failed = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        proc = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, cwd=HERE.parent
        )
        payload = None
        for line in proc.stdout.splitlines():
            if line.startswith("BENCH_JSON "):
                payload = json.loads(line[len("BENCH_JSON ") :])
            else:
                print(line)
        if proc.returncode != 0 or payload is None:
            failed.append(script.name)
            print(proc.stderr[-3000:], file=sys.stderr)
            continue
        results["benchmarks"][script.stem] = payload
    out = HERE / "results" / "latest.json"  # not tracked (.gitignore): git status stays clean
    write_text_atomic(out, json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"results: {out}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
