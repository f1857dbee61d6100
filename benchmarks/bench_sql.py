"""A ~1M-row stage history imported from Parquet, a DuckDB file and PostgreSQL.

The log is the simulated ``startup_saas`` history of 100,000 leads (as in bench_history.py),
written once as Parquet, loaded into a DuckDB file and into a PostgreSQL server started for
the run (tests/pg_server.py), then imported through the same history-only mapping
(``history.table`` for the databases). Each import runs in its own process; wall and CPU
seconds and peak RSS are those of the import alone.
Targets: DuckDB <= 1.5x the Parquet import, PostgreSQL <= 3x.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import emit, peak_rss_mb

ROOT = Path(__file__).resolve().parents[1]
N_LEADS = 100_000
SEED = 11


def generate(folder: Path) -> None:
    """Write history.parquet, history.duckdb and the mapping."""
    import duckdb

    import qualmodel as qm
    from qualmodel.crm import write_history

    j = qm.simulate("startup_saas", n_leads=N_LEADS, seed=SEED)
    write_history(j, folder, format="parquet", leads_table=False)
    con = duckdb.connect(str(folder / "history.duckdb"))
    con.execute(f"CREATE TABLE history AS SELECT * FROM read_parquet('{folder}/history.parquet')")
    con.close()


def to_postgres(folder: Path, url: str) -> None:
    """Load the Parquet history into PostgreSQL."""
    import adbc_driver_postgresql.dbapi as pgdb
    import pyarrow.parquet as pq

    with pgdb.connect(url) as pg, pg.cursor() as cur:
        cur.adbc_ingest("history", pq.read_table(folder / "history.parquet"), mode="create")
        pg.commit()


def run_import(folder: Path, source: str) -> None:
    """Import the log from ``source`` (a file name in ``folder`` or a URL); print JSON."""
    from qualmodel.crm import import_crm, load_mapping

    mp = load_mapping(folder / "mapping.yaml").model_dump()
    if "://" in source:
        mp["history"]["table"] = "history"
    else:
        source = str(folder / source)
        mp["history"]["file"] = source
    t0, c0 = time.perf_counter(), time.process_time()
    j = import_crm(source, mp)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    out = {"s": round(seconds, 2), "cpu_s": round(cpu, 2), "rows": j.meta["import"]["history"]}
    out["rows"] = out["rows"]["rows"]
    out |= {"events": j.n_events, "peak_rss_mb": round(peak_rss_mb(), 1)}
    print(json.dumps(out))


def _child(*args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from tests import pg_server

    result: dict[str, object] = {"n_leads": N_LEADS}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        subprocess.run([sys.executable, __file__, "generate", tmp], check=True)
        url, root, _ = pg_server.start()
        try:
            to_postgres(folder, url)
            runs = {
                "parquet": _child("import", tmp, "history.parquet"),
                "duckdb": _child("import", tmp, f"duckdb:///{folder / 'history.duckdb'}"),
                "postgresql": _child("import", tmp, url),
            }
        finally:
            pg_server.stop(root)
    base = runs["parquet"]["s"]
    for name, r in runs.items():
        r["x_parquet"] = round(r["s"] / base, 2)
        print(
            f"{name:10s} {r['s']:6.2f} s wall {r['cpu_s']:6.2f} s CPU  x{r['x_parquet']}  "
            f"{r['rows']} rows  peak {r['peak_rss_mb']} MB"
        )
    result["runs"] = runs
    emit(result)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "generate":
        generate(Path(sys.argv[2]))
    elif len(sys.argv) > 1 and sys.argv[1] == "import":
        run_import(Path(sys.argv[2]), sys.argv[3])
    else:
        main()
