"""Power answer of a funnel twin vs its truth, for the three built-in scenarios.

For each built-in scenario: simulate 20,000 leads (seed 1), fit a twin on them
(``fit_scenario``, seed 0, no access to the truth's parameters), then run ``power`` for the
scenario's default criterion pair (its first two built-in SQO definitions) on the truth and
on the twin with the same seeds, and print the leads per arm for 80% power
(``leads_needed``, normal approximation at the simulated effect) per metric with the
twin / truth ratio. Goal: ratio within [0.75, 1.25].

``QUALMODEL_BENCH_TWIN_REPLICATES`` (default 20) sets the replicates per arm size: at 20 the
Monte-Carlo error of a recall or time answer is itself about ±20%, so the table in
``docs/twin.md`` also gives a run at 100. ``QUALMODEL_BENCH_TWIN_FIT_SEEDS`` (default ``1``)
lists the seeds of the fitted samples: one 20,000-lead sample holds ~1,400 SQOs, whose own
sampling error moves an answer by ~±15%, so the docs average the ratio (geometric mean)
over several fitted samples.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit  # noqa: E402

SCENARIOS = ("startup_saas", "consultancy", "digital_agency")
N_FIT = 20_000
N_ARM = 4_000
N_REP = int(os.environ.get("QUALMODEL_BENCH_TWIN_REPLICATES", "20"))
#: Seeds of the simulated samples the twins are fitted to (one twin per seed).
FIT_SEEDS = tuple(
    int(s) for s in os.environ.get("QUALMODEL_BENCH_TWIN_FIT_SEEDS", "1").split(",") if s
)


def _leads(scenario, pair) -> dict:
    from qualmodel.experiment.mde import leads_needed
    from qualmodel.experiment.power import power

    table = power(scenario, pair[0], pair[1], n_leads=[N_ARM], n_replicates=N_REP, seed=3)
    need = leads_needed(table)
    return dict(zip(need["metric"], need["leads_analytic"], strict=True))


def _twin_answers(name: str, pair, fit_seed: int) -> dict:
    import qualmodel as qm

    obs = qm.simulate(name, n_leads=N_FIT, seed=fit_seed)
    twin, _ = qm.fit_scenario(obs, seed=0, n_boot=0, segment="segment", criteria=[])
    try:
        return _leads(twin, pair)
    except qm.QualmodelError as exc:  # the twin lacks a column the criteria read
        print(f"{name}: the twin cannot run the pair: {exc}")
        return {}


def main() -> None:
    from qualmodel.experiment.power import criteria_pair

    out = {}
    for name in SCENARIOS:
        c0, t0 = time.process_time(), time.perf_counter()
        pair = criteria_pair(name)
        truth = _leads(name, pair)
        fitted = [_twin_answers(name, pair, s) for s in FIT_SEEDS]
        print(
            f"{name}: {pair[0].name} vs {pair[1].name}, twins fitted to seeds {FIT_SEEDS}  "
            f"({time.perf_counter() - t0:.1f} s wall, {time.process_time() - c0:.1f} s CPU)"
        )
        for m, n_true in truth.items():
            ratios = [f.get(m, float("nan")) / n_true if n_true else float("nan") for f in fitted]
            mean = float(np.exp(np.mean(np.log(ratios))))
            flag = "ok" if 0.75 <= mean <= 1.25 else "OFF"
            each = " ".join(f"{r:5.2f}" for r in ratios)
            print(
                f"  {m:24s} truth {n_true:12,.0f}  twin/truth {each}  "
                f"geometric mean {mean:5.2f} {flag}"
            )
            out[f"{name}.{m}.ratio"] = round(mean, 3)
    emit(out)


if __name__ == "__main__":
    main()
