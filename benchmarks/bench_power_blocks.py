"""Power replicates in blocks against one simulation of the same leads and the old loop.

One run measures, wall and CPU seconds: ``power(200 replicates × 5,000 leads per arm)``
(2M leads simulated in all) in-process; ``simulate`` of the same 2M leads (goal: power ≤
1.5 × simulate); and the per-replicate loop the power engine ran before the blocks (each
replicate simulates its two arms of 5,000 leads, qualifies them, builds the durations and
runs ``logrank`` and statsmodels' z-tests, with today's functions). Best of 2 each.
``simulate`` is also timed with memory written just before each run, as in
``bench_simulate_floor`` (whose docstring says why).
``BENCH_POWER_BLOCKS_REPLICATES`` changes the replicate count. ``BENCH_POWER_BLOCKS_OLD_SRC``
(the ``src`` folder of an older checkout, e.g. a ``git worktree`` of the commit before the
blocks) times the same ``power`` call with that code, in a child process, in the same run:
the engine as it was, with the simulator and everything else as they were (goal: power ≤
0.5 × that).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import best_wall_cpu, emit, peak_rss_mb, touch_memory  # noqa: E402

SC, A, B = "startup_saas", "bant_3_of_4", "score_60_decay_30d"
LEADS = 5000
REPS = int(os.environ.get("BENCH_POWER_BLOCKS_REPLICATES", "200"))


def _old_arm(sc, crit, ss):
    from qualmodel.criteria.engine import qualify
    from qualmodel.simulation.engine import simulate
    from qualmodel.survival.durations import time_to_event

    jr = simulate(sc, n_leads=LEADS, seed=int(ss.generate_state(1)[0]))
    qa = qualify(jr, crit)["qualified_at"]
    q, won = qa.notna().to_numpy(), jr.leads["won_at"].notna().to_numpy()
    target = pd.Series(qa.to_numpy(), index=jr.leads.index)
    tte = time_to_event(jr, target=target, competing=(), before_start="zero")
    return (int(q.sum()), int(won.sum()), int((q & won).sum())), tte


def old_loop(sc, base, cand) -> list[dict]:
    """The per-replicate engine as it was: two simulations and tests per replicate."""
    from statsmodels.stats.proportion import proportions_ztest

    from qualmodel.survival.estimators import logrank

    rows = []
    for i in range(REPS):
        seeds = np.random.SeedSequence(0, spawn_key=(i,)).spawn(2)
        (qa, wa, qwa), ta = _old_arm(sc, base, seeds[0])
        (qb, wb, qwb), tb = _old_arm(sc, cand, seeds[1])
        data = pd.concat([ta.assign(arm="a"), tb.assign(arm="b")], ignore_index=True)
        rows.append(
            {
                "precision": proportions_ztest([qwa, qwb], [qa, qb])[1],
                "recall": proportions_ztest([qwa, qwb], [wa, wb])[1],
                "sqo_volume": proportions_ztest([qa, qb], [LEADS, LEADS])[1],
                "time": logrank(data, by="arm")["p_value"].iloc[0],
            }
        )
    return rows


_SAME_CALL = (
    "import time, warnings\n"
    "warnings.simplefilter('ignore')\n"
    "from qualmodel import power\n"
    "call = lambda n: power({sc!r}, {a!r}, {b!r}, n_leads=[{leads}], n_replicates=n)\n"
    "call(10)\n"
    "best = []\n"
    "for _ in range(2):\n"
    "    t, c = time.perf_counter(), time.process_time()\n"
    "    call({reps})\n"
    "    best.append((time.perf_counter() - t, time.process_time() - c))\n"
    "print('SAME_CALL', min(w for w, _ in best), min(c for _, c in best))\n"
)


def same_call(src: str) -> tuple[float, float]:
    """Best wall and CPU seconds of the same ``power`` call with the code under ``src``."""
    code = _SAME_CALL.format(sc=SC, a=A, b=B, leads=LEADS, reps=REPS)
    env = {**os.environ, "PYTHONPATH": str(Path(src).resolve())}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    line = [x for x in out.splitlines() if x.startswith("SAME_CALL ")][-1].split()
    return float(line[1]), float(line[2])


def main() -> None:
    from qualmodel.criteria.engine import load_criteria
    from qualmodel.experiment.power import power
    from qualmodel.simulation.engine import simulate
    from qualmodel.simulation.scenario import load_scenario

    load = os.getloadavg()[0]
    sc = load_scenario(SC)
    crits = {c.name: c for c in load_criteria(SC)}
    power(SC, A, B, n_leads=[100], n_replicates=10)  # warm-up (imports, first simulation)
    tp, cp, _ = best_wall_cpu(lambda: power(SC, A, B, n_leads=[LEADS], n_replicates=REPS), 2)
    ts, cs, _ = best_wall_cpu(lambda: simulate(SC, n_leads=2 * LEADS * REPS, seed=0), 2)
    # simulate again with memory written just before each run (bench_simulate_floor: a
    # virtual machine's host may take back freed memory, which makes first writes slow)
    tw, cw, _ = best_wall_cpu(
        lambda: simulate(SC, n_leads=2 * LEADS * REPS, seed=0), 2, lambda: touch_memory(3000)
    )
    to, co, _ = best_wall_cpu(lambda: old_loop(sc, crits[A], crits[B]), 2)
    print(f"load average before start {load:.2f}")
    print(f"power {REPS} × {LEADS:,} leads per arm: {tp:.2f} s (CPU {cp:.2f} s)")
    print(f"simulate {2 * LEADS * REPS:,} leads: {ts:.2f} s (CPU {cs:.2f} s); power / simulate "
          f"{tp / ts:.2f}, CPU {cp / cs:.2f} (goal ≤ 1.5)")  # fmt: skip
    print(f"simulate with 3,000 MiB written just before each run: {tw:.2f} s (CPU {cw:.2f} s); "
          f"power / simulate {tp / tw:.2f}, CPU {cp / cw:.2f}")  # fmt: skip
    print(f"per-replicate loop (the engine before blocks): {to:.2f} s (CPU {co:.2f} s); power / "
          f"loop {tp / to:.2f}, CPU {cp / co:.2f} (with today's faster functions)")  # fmt: skip
    old_src = os.environ.get("BENCH_POWER_BLOCKS_OLD_SRC")
    old = same_call(old_src) if old_src else None
    if old is not None:
        print(f"the same call with {old_src}: {old[0]:.2f} s (CPU {old[1]:.2f} s); power / that "
              f"{tp / old[0]:.2f}, CPU {cp / old[1]:.2f} (goal ≤ 0.5)")  # fmt: skip
    emit(
        {
            "bench": "power_blocks",
            "load_avg_1m": round(load, 2),
            "replicates": REPS,
            "leads_per_arm": LEADS,
            "power_s": round(tp, 3),
            "power_cpu_s": round(cp, 3),
            "simulate_s": round(ts, 3),
            "simulate_cpu_s": round(cs, 3),
            "simulate_warm_s": round(tw, 3),
            "simulate_warm_cpu_s": round(cw, 3),
            "ratio_power_simulate_warm": round(tp / tw, 3),
            "old_loop_s": round(to, 3),
            "old_loop_cpu_s": round(co, 3),
            "ratio_power_simulate": round(tp / ts, 3),
            "ratio_power_simulate_cpu": round(cp / cs, 3),
            "ratio_power_old": round(tp / to, 3),
            "ratio_power_old_cpu": round(cp / co, 3),
            **(
                {}
                if old is None
                else {
                    "old_src_s": round(old[0], 3),
                    "old_src_cpu_s": round(old[1], 3),
                    "ratio_power_old_src": round(tp / old[0], 3),
                    "ratio_power_old_src_cpu": round(cp / old[1], 3),
                }
            ),
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }
    )


if __name__ == "__main__":
    main()
