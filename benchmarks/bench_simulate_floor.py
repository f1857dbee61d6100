"""The simulator against its floor, measured in one run.

The floor is what any simulator of the same output must at least do: draw the same
numbers of leads and events as plain numpy arrays (one float column per lead column, and
per event a lead code, a timestamp, an event code and a value), wrap them as the same
DataFrame dtypes (categoricals from codes, no strings on the hot path) and, for the write
ratio, write the same Parquet files. Reported, wall and CPU seconds: ``simulate`` at 1M
leads against the floor (goal ≤ 2) and the bare draws alone (no tables); 2M against 1M
leads (goal ≤ 2.2; both best of 2 or more, so neither is the first run at its size); and,
each in its own fresh process, the CLI ``qualmodel simulate`` (Parquet write included)
against the floor script with its write (goal ≤ 2.5) with both peak RSS (goal ≤ 0.9 GB).

The 1M and 2M timings are taken twice: as they come, and with :data:`WARM_MIB` MiB of
memory written and freed right before each run. On a virtual machine whose host takes
back the memory the guest freed (about 2 s later on the one these numbers come from), a
run that needs more memory than the previous one pays for first writes to memory the host
must provide again, about 15 times the cost of a write to memory freed a moment ago; the
larger run pays more of it, so its ratio to the smaller one is not the simulator's own.
The bench prints that cost (``first write to fresh memory``) and both sets of ratios; the
2M / 1M goal is for the warm-memory ratio, which is what a long-running process sees.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import best_wall_cpu, emit, peak_rss_mb, touch_memory  # noqa: E402

from qualmodel import simulate  # noqa: E402

SCENARIO = "startup_saas"
#: MiB written (and freed) right before each run of the warm-memory timings: more than
#: the largest run (2M leads) uses.
WARM_MIB = 3000


def draws(n_leads: int, n_events: int, n_lead_cols: int, seed: int = 0) -> list[np.ndarray]:
    """The bare floor: numpy draws of the same sizes, no tables."""
    rng = np.random.default_rng(seed)
    cols = [rng.random(n_leads) for _ in range(n_lead_cols)]
    per_lead = rng.poisson(n_events / n_leads, n_leads)
    codes = np.repeat(np.arange(n_leads, dtype=np.int32), per_lead)
    return [*cols, codes, rng.integers(0, 365 * 86_400, codes.size),
            rng.integers(0, 12, codes.size), rng.random(codes.size)]  # fmt: skip


def floor(n_leads: int, n_events: int, n_lead_cols: int, seed: int = 0):
    """Numpy draws of the same sizes, wrapped as DataFrames with the same dtypes."""
    rng = np.random.default_rng(seed)
    ids = pd.Index([f"L{i:07d}" for i in range(n_leads)], dtype=object)
    leads = pd.DataFrame({f"c{k}": rng.random(n_leads) for k in range(n_lead_cols)})
    leads.insert(0, "lead_id", ids)
    per_lead = rng.poisson(n_events / n_leads, n_leads)
    codes = np.repeat(np.arange(n_leads, dtype=np.int32), per_lead)
    ts = rng.integers(0, 365 * 86_400, codes.size).astype("datetime64[s]").astype("datetime64[ns]")
    events = pd.DataFrame(
        {
            "lead_id": pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(ids)),
            "ts": ts,
            "event": pd.Categorical.from_codes(rng.integers(0, 12, codes.size), range(12)),
            "value": rng.random(codes.size),
        }
    )
    return leads, events


def _write(leads: pd.DataFrame, events: pd.DataFrame, folder: Path) -> None:
    leads.to_parquet(folder / "leads.parquet", index=False)
    events.to_parquet(folder / "events.parquet", index=False)


_CHILD = (
    "import resource, runpy, sys, time\n"
    "t0 = time.perf_counter()\n"
    "sys.argv = sys.argv[1:]\n"
    "try:\n"
    "    runpy.run_path(sys.argv[0], run_name='__main__') if sys.argv[0].endswith('.py') "
    "else runpy.run_module(sys.argv[0], run_name='__main__')\n"
    "except SystemExit:\n"
    "    pass\n"
    "ru = resource.getrusage(resource.RUSAGE_SELF)\n"
    "hwm = [x for x in open('/proc/self/status') if x.startswith('VmHWM:')][0].split()[1]\n"
    "print('CHILD', time.perf_counter() - t0, ru.ru_utime + ru.ru_stime, hwm)\n"
)


def _child(args: list[str]) -> tuple[float, float, float]:
    """Run a command in a fresh Python process: (wall s, CPU s, peak RSS MiB) of its body.

    The peak is the child's ``VmHWM`` (Linux): ``ru_maxrss`` would carry over the peak of
    this (larger) parent process across ``fork``/``exec``.
    """
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, *args], capture_output=True, text=True, check=True
    ).stdout
    line = [x for x in out.splitlines() if x.startswith("CHILD ")][-1].split()
    return float(line[1]), float(line[2]), float(line[3]) / 1024


def _floor_child(n_leads: int, n_events: int, n_cols: int, folder: str) -> None:
    """Body of the floor script run as a process: draws, tables and the same write."""
    leads, events = floor(n_leads, n_events, n_cols)
    _write(leads, events, Path(folder))


def _cli_vs_floor(n_ev: int, n_cols: int) -> dict[str, float]:
    """The CLI (simulate + Parquet write) and the floor script with its write, as processes."""
    with tempfile.TemporaryDirectory() as tmp:
        cli = ["qualmodel", "simulate", "-s", SCENARIO, "-n", "1000000", "--seed", "0"]
        cli += ["--no-progress", "--force", "-o", str(Path(tmp) / "cli")]
        flo = [__file__, "--floor-child", "1000000", str(n_ev), str(n_cols), tmp]
        runs = {"cli": [_child(cli) for _ in range(2)], "floor": [_child(flo) for _ in range(2)]}
    best = {k: (min(r[0] for r in v), min(r[1] for r in v), max(r[2] for r in v))
            for k, v in runs.items()}  # fmt: skip
    return {
        "cli_wall_s": round(best["cli"][0], 3),
        "cli_cpu_s": round(best["cli"][1], 3),
        "cli_peak_rss_mb": round(best["cli"][2], 1),
        "floor_script_wall_s": round(best["floor"][0], 3),
        "floor_script_cpu_s": round(best["floor"][1], 3),
        "floor_script_peak_rss_mb": round(best["floor"][2], 1),
        "ratio_cli_floor_script": round(best["cli"][0] / best["floor"][0], 3),
        "ratio_cli_floor_script_cpu": round(best["cli"][1] / best["floor"][1], 3),
    }


def first_touch(mib: int = 1024, idle_s: float = 3.0) -> tuple[float, float]:
    """ms per MiB of writing fresh memory: after ``idle_s`` idle seconds, then at once again.

    On this virtual machine the host takes back memory the guest freed about 2 s earlier;
    the first write to it costs an order of magnitude more than a write to memory freed a
    moment ago. The two numbers show how large that effect is when the benchmark runs.
    """
    time.sleep(idle_s)
    cold = touch_memory(mib)
    warm = touch_memory(mib)
    return 1000 * cold / mib, 1000 * warm / mib


def _timings(n_ev: int, n_cols: int, before) -> dict[str, tuple[float, float]]:
    """Best wall and CPU seconds of simulate and the floor at 1M and 2M leads."""
    sim = {n: (lambda n=n: simulate(SCENARIO, n_leads=n, seed=0)) for n in (10**6, 2 * 10**6)}
    out = {
        "sim1": best_wall_cpu(sim[10**6], 3, before)[:2],
        "floor1": best_wall_cpu(lambda: floor(10**6, n_ev, n_cols), 3, before)[:2],
        "sim2": best_wall_cpu(sim[2 * 10**6], 2, before)[:2],
        "floor2": best_wall_cpu(lambda: floor(2 * 10**6, 2 * n_ev, n_cols), 2, before)[:2],
    }
    again = best_wall_cpu(sim[10**6], 2, before)[:2]  # 1M again, after the 2M runs
    out["sim1"] = (min(out["sim1"][0], again[0]), min(out["sim1"][1], again[1]))
    return out


def _print(r: dict, w: dict, procs: dict, n_ev: int, td: float, touch: tuple) -> None:
    (t1, c1), (tf, cf), (t2, c2), (tf2, cf2) = (r[k] for k in ("sim1", "floor1", "sim2", "floor2"))
    print(f"simulate 1M leads ({n_ev:,} events): {t1:.2f} s (CPU {c1:.2f} s); floor {tf:.2f} s "
          f"(CPU {cf:.2f} s); ratio {t1 / tf:.2f}, CPU {c1 / cf:.2f} (goal ≤ 2)")  # fmt: skip
    print(f"bare draws only: {td:.2f} s; simulate / bare draws {t1 / td:.2f}")
    print(f"simulate 2M leads: {t2:.2f} s (CPU {c2:.2f} s); 2M / 1M {t2 / t1:.2f}, CPU "
          f"{c2 / c1:.2f}; the floor's own 2M / 1M {tf2 / tf:.2f}, CPU {cf2 / cf:.2f}")  # fmt: skip
    print(f"first write to fresh memory: {touch[0]:.2f} ms/MiB after 3 s idle, {touch[1]:.2f} "
          "ms/MiB at once again")  # fmt: skip
    (t1, c1), (tf, _), (t2, c2), (tf2, _) = (w[k] for k in ("sim1", "floor1", "sim2", "floor2"))
    print(f"with {WARM_MIB:,} MiB written just before each run: simulate 1M {t1:.2f} s, 2M "
          f"{t2:.2f} s; 2M / 1M {t2 / t1:.2f}, CPU {c2 / c1:.2f} (goal ≤ 2.2); the floor's own "
          f"2M / 1M {tf2 / tf:.2f}")  # fmt: skip
    print(f"CLI simulate + write, own process: {procs['cli_wall_s']:.2f} s (CPU "
          f"{procs['cli_cpu_s']:.2f} s), peak {procs['cli_peak_rss_mb']:.0f} MiB; floor script "
          f"+ write {procs['floor_script_wall_s']:.2f} s (CPU {procs['floor_script_cpu_s']:.2f}"
          f" s), peak {procs['floor_script_peak_rss_mb']:.0f} MiB; ratio "
          f"{procs['ratio_cli_floor_script']:.2f} (goal ≤ 2.5, peak ≤ 0.9 GB)")  # fmt: skip


def _ratios(prefix: str, r: dict) -> dict[str, float]:
    (t1, c1), (tf, cf), (t2, c2), (tf2, cf2) = (r[k] for k in ("sim1", "floor1", "sim2", "floor2"))
    return {
        f"{prefix}simulate_1m_s": round(t1, 3),
        f"{prefix}simulate_1m_cpu_s": round(c1, 3),
        f"{prefix}floor_1m_s": round(tf, 3),
        f"{prefix}floor_1m_cpu_s": round(cf, 3),
        f"{prefix}simulate_2m_s": round(t2, 3),
        f"{prefix}simulate_2m_cpu_s": round(c2, 3),
        f"{prefix}floor_2m_s": round(tf2, 3),
        f"{prefix}floor_2m_cpu_s": round(cf2, 3),
        f"{prefix}ratio_floor": round(t1 / tf, 3),
        f"{prefix}ratio_floor_cpu": round(c1 / cf, 3),
        f"{prefix}ratio_2m_1m": round(t2 / t1, 3),
        f"{prefix}ratio_2m_1m_cpu": round(c2 / c1, 3),
        f"{prefix}ratio_floor_2m_1m": round(tf2 / tf, 3),
    }


def main() -> None:
    load = os.getloadavg()[0]
    touch = first_touch()
    j1 = simulate(SCENARIO, n_leads=1_000_000, seed=0)
    n_ev, n_cols = j1.n_events, j1.leads.shape[1] - 1
    j1 = None
    raw = _timings(n_ev, n_cols, None)
    warm = _timings(n_ev, n_cols, lambda: touch_memory(WARM_MIB))
    td, cd, _ = best_wall_cpu(lambda: draws(1_000_000, n_ev, n_cols), 3)
    procs = _cli_vs_floor(n_ev, n_cols)
    print(f"load average before start {load:.2f}")
    _print(raw, warm, procs, n_ev, td, touch)
    emit(
        {
            "bench": "simulate_floor",
            "load_avg_1m": round(load, 2),
            "n_events_1m": int(n_ev),
            "first_touch_idle_ms_per_mib": round(touch[0], 3),
            "first_touch_again_ms_per_mib": round(touch[1], 3),
            "warm_mib": WARM_MIB,
            "bare_draws_1m_s": round(td, 3),
            "bare_draws_1m_cpu_s": round(cd, 3),
            "ratio_bare": round(raw["sim1"][0] / td, 3),
            **_ratios("", raw),
            **_ratios("warm_", warm),
            **procs,
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--floor-child"]:
        _floor_child(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    else:
        main()
