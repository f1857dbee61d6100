"""CRM import wall time on the two real exports (and a 100x-replicated Maven pipeline)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
from common import best_of, emit, peak_rss_mb

from qualmodel.crm import import_crm

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main() -> None:
    result: dict[str, object] = {}
    if not DATA.is_dir():
        print(f"skipped: no real data at {DATA}")
        emit({"skipped": True})
        return
    maven = DATA / "maven_crm" / "sales_pipeline.csv"
    t, j = best_of(lambda: import_crm(maven, "maven_crm"), repeat=5)
    print(f"maven_crm: {j.n_leads} leads in {t * 1000:.0f} ms (best of 5)")
    result["maven_s"] = round(t, 4)
    xed = DATA / "x_education" / "Leads.csv"
    t, j = best_of(lambda: import_crm(xed, "x_education"), repeat=5)
    print(f"x_education: {j.n_leads} leads, {j.n_events} events in {t * 1000:.0f} ms (best of 5)")
    result["x_education_s"] = round(t, 4)
    with tempfile.TemporaryDirectory() as tmp:
        raw = pd.read_csv(maven, dtype=str)
        big = pd.concat(
            [raw.assign(opportunity_id=raw["opportunity_id"] + f"{k:03d}") for k in range(100)],
            ignore_index=True,
        )
        for name in ("accounts.csv", "products.csv", "sales_teams.csv"):
            (Path(tmp) / name).write_bytes((maven.parent / name).read_bytes())
        big.to_csv(Path(tmp) / "sales_pipeline.csv", index=False)
        t, j = best_of(lambda: import_crm(Path(tmp) / "sales_pipeline.csv", "maven_crm"), 2)
        print(f"maven_crm x100: {j.n_leads} leads in {t:.2f} s (best of 2)")
        result["maven_x100_s"] = round(t, 3)
        result["maven_x100_leads"] = j.n_leads
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    emit(result)


if __name__ == "__main__":
    main()
