"""One update of the SQO explorer at 20,000 leads: control moved → numbers, figure, table.

The explorer's population (startup_saas, 20,000 leads, seed 2026, nurture on) is simulated
once; then the points threshold slider is moved through ``N_UPDATES`` positions it has not
visited yet (so nothing comes from the cache), as a student would. Each update is timed
three ways, in the same run:

* ``compute`` — :func:`qualmodel.report.explorer.explore` alone (qualify + compare_criteria
  + curves + weekly counts + naive and competing-risk estimates), pure numbers;
* ``render`` — refilling the figure and encoding the PNG, plus the summary table;
* ``widget`` — the whole callback of the widget (``controls["threshold"].value = x``),
  which is what the student waits for.

Medians over the updates, wall and CPU (process) time. A revisited position (cache hit)
is timed too. Usage: ``python benchmarks/bench_explorer.py [N_LEADS] [N_UPDATES]``.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from common import emit, peak_rss_mb  # noqa: E402

from qualmodel.report import explorer as ex  # noqa: E402
from qualmodel.report.explorer_plot import draw, figure_png  # noqa: E402
from qualmodel.report.explorer_widgets import Explorer  # noqa: E402

TARGET_SECONDS = 0.3


def _timed(fn) -> tuple[float, float]:
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def _median(pairs: list[tuple[float, float]]) -> dict[str, float]:
    return {
        "wall_s": round(statistics.median(p[0] for p in pairs), 4),
        "cpu_s": round(statistics.median(p[1] for p in pairs), 4),
        "max_wall_s": round(max(p[0] for p in pairs), 4),
    }


def _move(explorer: Explorer, threshold: float) -> None:
    """What the front end does when the slider is released: set the value (callbacks run)."""
    explorer.controls["threshold"].value = threshold


def main(n_leads: int = 20_000, n_updates: int = 20) -> None:
    t0 = time.perf_counter()
    explorer = Explorer("startup_saas", n_leads, 2026)  # simulates, first update, warm-up
    setup_s = time.perf_counter() - t0
    pop = ex.load_population("startup_saas", True, n_leads, 2026)
    fig = draw(explorer.result)
    # thresholds not visited before: 61, 62, ... (the slider's own steps are all cached soon)
    thresholds = [61.0 + i for i in range(3 * n_updates)]
    compute, render, widget, cached = [], [], [], []
    for i in range(n_updates):
        s = ex.Settings(threshold=thresholds[3 * i])
        result = None

        def one(s=s):
            nonlocal result
            result = ex.explore(pop, s)

        compute.append(_timed(one))
        render.append(_timed(lambda r=result: (figure_png(draw(r, fig=fig)), ex.summary_table(r))))
        widget.append(_timed(lambda x=thresholds[3 * i + 1]: _move(explorer, x)))
        cached.append(_timed(lambda s=s: ex.explore(pop, s)))
    out = {
        "n_leads": n_leads,
        "n_updates": n_updates,
        "setup_s": round(setup_s, 3),
        "compute": _median(compute),
        "render": _median(render),
        "widget_update": _median(widget),
        "cached_compute": _median(cached),
        "target_s": TARGET_SECONDS,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    print(f"explorer at {n_leads:,} leads, median of {n_updates} updates (wall / CPU):")
    for key in ("compute", "render", "widget_update", "cached_compute"):
        m = out[key]
        print(f"  {key:15s} {m['wall_s']:.3f} s / {m['cpu_s']:.3f} s (max {m['max_wall_s']:.3f} s)")
    print(f"  target: one widget update ≤ {TARGET_SECONDS} s; set-up {setup_s:.2f} s")
    emit(out)


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)
