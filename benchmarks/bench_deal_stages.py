"""A leads table of 200,000 deals and a 1M-row stage history with the stage-label lookup.

The built-in ``hubspot_deal_stage`` mapping imports ``deal.csv`` (200,000 deals) and
``deal_stage.parquet`` (five stage entries per deal, stage ids of the default pipeline)
with ``history.labels`` reading ``deal_pipeline_stage.csv``; the same import with the ids
mapped directly (no lookup) runs in the same process, so the ratio is the lookup's cost.
Before the kept cases were matched by a hash lookup, this import took more than 600 s.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from common import best_wall_cpu, emit, peak_rss_mb

ROOT = Path(__file__).resolve().parents[1]
N_DEALS = 200_000
SEED = 3
_IDS = ("appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "contractsent")


def generate(folder: Path) -> dict[str, Path]:
    """Write deal.csv, deal_stage.parquet and deal_pipeline_stage.csv; return the tables."""
    sys.path.insert(0, str(ROOT))
    from tests.test_crm_mappings_hubspot import STAGES

    rng = np.random.default_rng(SEED)
    start = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 7200, N_DEALS), "h")
    deal = np.repeat(np.arange(N_DEALS), 5)
    step = np.tile(np.arange(5), N_DEALS)
    close = np.where(rng.random(N_DEALS) < 0.4, "closedwon", "closedlost")
    value = np.where(step == 4, close[deal], np.array(_IDS)[np.minimum(step, 3)])
    ts = start.values[deal] + (step * 86_400e9).astype("timedelta64[ns]")
    hist = pd.DataFrame({"deal_id": deal.astype(str), "value": value, "date_entered": ts})
    hist.to_parquet(folder / "deal_stage.parquet")
    (folder / "deal_pipeline_stage.csv").write_text(STAGES)
    pd.DataFrame(
        {
            "deal_id": np.arange(N_DEALS).astype(str),
            "is_deleted": "false",
            "property_createdate": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "property_pipeline": "default",
            "property_amount": rng.integers(1, 100, N_DEALS) * 100,
        }
    ).to_csv(folder / "deal.csv", index=False)
    names = ("main", "history", "labels")
    files = ("deal.csv", "deal_stage.parquet", "deal_pipeline_stage.csv")
    return {k: folder / f for k, f in zip(names, files, strict=True)}


def main() -> None:
    from qualmodel.crm import import_crm, load_mapping

    with tempfile.TemporaryDirectory() as tmp:
        tables = generate(Path(tmp))
        mp = load_mapping("hubspot_deal_stage")
        stages = pd.read_csv(tables["labels"], dtype=str)
        direct = mp.model_dump()
        direct["history"]["labels"] = None
        pairs = zip(stages["stage_id"], stages["label"], strict=True)
        direct["history"]["stages"] = {i: mp.history.stages[lb] for i, lb in pairs}
        no_labels = {k: v for k, v in tables.items() if k != "labels"}
        wall_d, cpu_d, ref = best_wall_cpu(lambda: import_crm(no_labels, direct), repeat=2)
        wall_l, cpu_l, got = best_wall_cpu(lambda: import_crm(tables, mp), repeat=2)
        pd.testing.assert_frame_equal(got.leads, ref.leads)
    print(f"direct ids : {wall_d:.2f} s wall, {cpu_d:.2f} s CPU")
    print(f"with labels: {wall_l:.2f} s wall, {cpu_l:.2f} s CPU ({cpu_l / cpu_d:.2f}x CPU)")
    emit(
        {
            "deals": N_DEALS,
            "history_rows": 5 * N_DEALS,
            "direct_s": round(wall_d, 2),
            "direct_cpu_s": round(cpu_d, 2),
            "labels_s": round(wall_l, 2),
            "labels_cpu_s": round(cpu_l, 2),
            "labels_cpu_ratio": round(cpu_l / cpu_d, 2),
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }
    )


if __name__ == "__main__":
    main()
