"""Stage-history / event-log import: a ~1M-row log as CSV, Parquet and XES (gzip).

The log is the simulated ``startup_saas`` journeys of 100,000 leads exported with
``qualmodel.crm.write_history`` (one row per creation, stage reached and touchpoint: about
1.1M rows), imported back through the generated history-only mapping. Generation and each
import run in their own process, so each peak RSS is that of the import alone.
Targets (issue 11): the CSV log imports in <= 10 s with peak RSS <= 2 GiB.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import emit, peak_rss_mb

N_LEADS = 100_000
SEED = 11


def generate(folder: Path) -> None:
    """Write history.csv, history.parquet, history.xes.gz and their mappings."""
    import yaml

    import qualmodel as qm
    from qualmodel.crm import write_history
    from qualmodel.crm.xes import write_xes

    j = qm.simulate("startup_saas", n_leads=N_LEADS, seed=SEED)
    for fmt in ("csv", "parquet"):
        write_history(j, folder / fmt, format=fmt, leads_table=False)
    paths = write_history(j, folder / "xes", format="xes", leads_table=False)
    # the same log gzip-compressed, as process-mining logs are usually shipped
    from qualmodel.crm import export_history

    write_xes(
        export_history(j)["history"],
        folder / "xes" / "history.xes.gz",
        case="lead_id",
        activity="activity",
        ts="ts",
    )
    mapping = yaml.safe_load(paths["mapping"].read_text())
    mapping["history"]["file"] = "history.xes.gz"
    (folder / "xes" / "mapping.yaml").write_text(yaml.safe_dump(mapping, sort_keys=False))
    (paths["history"]).unlink()


def run_import(folder: Path) -> None:
    """Import one generated log and print its time, size and peak RSS as JSON."""
    from qualmodel.crm import import_crm, load_mapping

    mp = load_mapping(folder / "mapping.yaml")
    assert mp.history is not None
    path = folder / mp.history.file
    t0, c0 = time.perf_counter(), time.process_time()
    j = import_crm(path, mp)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    rows = j.meta["import"]["history"]["rows"]
    print(
        json.dumps(
            {
                "s": round(seconds, 2),
                "cpu_s": round(cpu, 2),
                "rows": rows,
                "leads": j.n_leads,
                "events": j.n_events,
                "peak_rss_mb": round(peak_rss_mb(), 1),
                "file_mb": round(path.stat().st_size / 2**20, 1),
            }
        )
    )


def _child(*args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {}


def main() -> None:
    result: dict[str, object] = {"n_leads": N_LEADS}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, __file__, "generate", tmp], check=True)
        print(f"generated the logs of {N_LEADS} leads in {time.perf_counter() - t0:.1f} s")
        for fmt in ("csv", "parquet", "xes"):
            r = _child("import", str(Path(tmp) / fmt))
            print(
                f"{fmt}: {r['rows']} rows ({r['file_mb']} MiB) -> {r['leads']} leads, "
                f"{r['events']} events in {r['s']} s (CPU {r['cpu_s']} s), peak RSS "
                f"{r['peak_rss_mb']} MiB"
            )
            result[fmt] = r
    emit(result)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "generate":
        generate(Path(sys.argv[2]))
    elif len(sys.argv) == 3 and sys.argv[1] == "import":
        run_import(Path(sys.argv[2]))
    else:
        main()
