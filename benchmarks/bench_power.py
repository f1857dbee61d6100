"""Power sweep: in-process vs LocalCluster(1) vs LocalCluster(2) on one 5,000-lead size.

``BENCH_POWER_REPLICATES`` (default 1000) sets the replicate count; ``BENCH_POWER_LEADS``
(default 5000) the leads per arm; ``BENCH_POWER_CHUNK`` the replicates per Dask task
(default: :func:`qualmodel.experiment.power.auto_chunk_size`). Each cluster is
:func:`~qualmodel.experiment.power.local_cluster` (what ``--dask local:N`` starts: process
workers with
one thread each, profiler and monitors turned down) and is warmed up (imports, first
simulation) by a 10-replicate call before the timed run, so the timings compare
steady-state throughput; the cluster start-up and warm-up time is reported separately.
The three tables must be identical. CPU seconds (in-process: this process; on a cluster: all
worker processes, via ``client.run(time.process_time)``, and the client process that hosts
the scheduler) are reported next to wall time: on a shared machine wall time mostly
measures the other jobs (with ``sched_autogroup`` all processes of one session share one
scheduling weight, so a second worker adds no CPU share under load), CPU time the overhead.
``speedup_2_vs_1_cpu_bound`` = 1-worker CPU / CPU of the busier of the 2 workers: the
speed-up 2 free cores would give.
"""

from __future__ import annotations

import os
import time

from common import emit

from qualmodel.experiment.power import auto_chunk_size, local_cluster, power

REPS = int(os.environ.get("BENCH_POWER_REPLICATES", "1000"))
LEADS = int(os.environ.get("BENCH_POWER_LEADS", "5000"))
CHUNK = int(os.environ["BENCH_POWER_CHUNK"]) if os.environ.get("BENCH_POWER_CHUNK") else None
KW = dict(n_leads=[LEADS], n_replicates=REPS, seed=0)
ARGS = ("startup_saas", "bant_3_of_4", "score_60_decay_30d")


def _cpu_seconds(client) -> list[float]:
    """CPU seconds used so far by each worker process (every thread), in worker order."""
    got = client.run(time.process_time)
    return [got[w] for w in sorted(got)]


def _on_cluster(n_workers: int, ref) -> dict[str, object]:
    """Time the sweep on a new warmed-up cluster: wall, worker CPU, client CPU, start-up."""
    t0 = time.perf_counter()
    with local_cluster(n_workers) as client:
        power(*ARGS, n_leads=[100], n_replicates=10, client=client)  # warm-up
        cpu0, own0 = _cpu_seconds(client), time.process_time()
        t1 = time.perf_counter()
        tab = power(*ARGS, client=client, chunk_size=CHUNK, **KW)
        t2 = time.perf_counter()
        own = time.process_time() - own0
        per_worker = [b - a for a, b in zip(cpu0, _cpu_seconds(client), strict=True)]
    if not tab.equals(ref):
        raise SystemExit(f"LocalCluster({n_workers}) table differs from the in-process table")
    p = f"local_{n_workers}"
    return {
        f"{p}_startup_s": t1 - t0,
        f"{p}_s": t2 - t1,
        f"{p}_cpu_s": sum(per_worker),
        f"{p}_cpu_per_worker_s": [round(c, 3) for c in per_worker],
        f"{p}_client_cpu_s": own,  # scheduler + client (LocalCluster runs them here)
    }


def main() -> None:
    res: dict[str, object] = {
        "replicates": REPS,
        "leads_per_arm": LEADS,
        "chunk_size_2_workers": CHUNK or auto_chunk_size(REPS, 2),
        "load_average_start": round(os.getloadavg()[0], 2),
    }
    power(*ARGS, n_leads=[100], n_replicates=10)  # warm-up of this process
    t, cpu = time.perf_counter(), time.process_time()
    ref = power(*ARGS, **KW)
    res["in_process_s"] = time.perf_counter() - t
    res["in_process_cpu_s"] = time.process_time() - cpu
    for n in (1, 2):
        res.update(_on_cluster(n, ref))
    res["per_replicate_s"] = res["in_process_s"] / REPS
    res["per_replicate_cpu_s"] = res["in_process_cpu_s"] / REPS
    res["per_replicate_cpu_local_2_s"] = res["local_2_cpu_s"] / REPS
    res["per_replicate_local_2_s"] = res["local_2_s"] / REPS
    res["speedup_2_vs_1"] = res["local_1_s"] / res["local_2_s"]
    res["speedup_2_vs_in_process"] = res["in_process_s"] / res["local_2_s"]
    # what 2 workers would give with a free core each: the busier worker sets the pace
    res["speedup_2_vs_1_cpu_bound"] = res["local_1_cpu_s"] / max(res["local_2_cpu_per_worker_s"])
    res["load_average_end"] = round(os.getloadavg()[0], 2)
    for k, v in res.items():
        print(f"{k}: {v:.3f}" if isinstance(v, float) else f"{k}: {v}")
    emit(res)


if __name__ == "__main__":
    main()
