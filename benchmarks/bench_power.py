"""Power sweep: in-process vs LocalCluster(1) vs LocalCluster(2) on one 5,000-lead size.

``BENCH_POWER_REPLICATES`` (default 1000) sets the replicate count; ``BENCH_POWER_LEADS``
(default 5000) the leads per arm.
"""

from __future__ import annotations

import json
import os
import time

from distributed import Client, LocalCluster

from qualmodel.power import power

REPS = int(os.environ.get("BENCH_POWER_REPLICATES", "1000"))
LEADS = int(os.environ.get("BENCH_POWER_LEADS", "5000"))
KW = dict(n_leads=[LEADS], n_replicates=REPS, seed=0)
ARGS = ("startup_saas", "bant_3_of_4", "score_60_decay_30d")


def main() -> None:
    res = {"replicates": REPS, "leads_per_arm": LEADS}
    t = time.perf_counter()
    ref = power(*ARGS, **KW)
    res["in_process_s"] = time.perf_counter() - t
    for n in (1, 2):
        with LocalCluster(n_workers=n, threads_per_worker=1) as lc, Client(lc) as client:
            t = time.perf_counter()
            tab = power(*ARGS, client=client, **KW)
            res[f"local_{n}_s"] = time.perf_counter() - t
        assert tab.equals(ref)
    res["per_replicate_s"] = res["in_process_s"] / REPS
    res["speedup_2_vs_1"] = res["local_1_s"] / res["local_2_s"]
    for k, v in res.items():
        print(f"{k}: {v:.3f}" if isinstance(v, float) else f"{k}: {v}")
    print("BENCH_JSON " + json.dumps(res))


if __name__ == "__main__":
    main()
