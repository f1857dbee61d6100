"""Wall time of the whole report run (what ``make report`` does) and of each notebook.

Runs ``qualmodel report --scenario all`` in a subprocess (fresh interpreter, as from the
shell) into a temporary folder: 3 scenarios × 5 per-scenario notebooks + the
cross-scenario notebook = 16 papermill executions at the runner defaults (20,000 leads per
scenario, 500 bootstrap resamples), ``--jobs`` = number of cores unless given. Per-notebook
seconds (execution + HTML export) come from the ``summary.json`` files.

Usage: ``python benchmarks/bench_report.py [JOBS]``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
from common import emit  # noqa: E402


def main() -> None:
    jobs = int(sys.argv[1]) if len(sys.argv) > 1 else (os.cpu_count() or 1)
    exe = Path(sys.executable).with_name("qualmodel")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "reports"
        cmd = [str(exe), "report", "--scenario", "all", "--out", str(out), "--jobs", str(jobs)]
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            raise SystemExit(proc.returncode)
        per_notebook: dict[str, float] = {}
        for path in sorted(out.glob("*/summary.json")):
            summ = json.loads(path.read_text())
            for name, info in summ["notebooks"].items():
                per_notebook[f"{summ['name']}/{name}"] = info["seconds"]
    total = sum(per_notebook.values())
    print(f"qualmodel report --scenario all --jobs {jobs}: {wall:.1f} s wall (load {load:.2f})")
    for key, sec in per_notebook.items():
        print(f"  {key:<42} {sec:6.1f} s")
    print(f"  sum of notebook times {total:.1f} s over {len(per_notebook)} executions")
    emit(
        {
            "bench": "report",
            "jobs": jobs,
            "wall_s": round(wall, 2),
            "notebooks": len(per_notebook),
            "notebook_s_sum": round(total, 2),
            "notebook_s_max": round(max(per_notebook.values()), 2),
            "load_avg_1m_before": round(load, 2),
        }
    )


if __name__ == "__main__":
    main()
