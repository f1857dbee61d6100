"""Power answer of a funnel twin vs its truth, for the three built-in scenarios.

For each built-in scenario: simulate 20,000 leads (seed 1), fit a twin on them
(``fit_scenario``, seed 0, no access to the truth's parameters), then run ``power`` for the
scenario's default criterion pair (its first two built-in SQO definitions) on the truth and
on the twin with the same seeds, and print the leads per arm for 80% power
(``leads_needed``, normal approximation at the simulated effect) per metric with the
twin / truth ratio. Goal: ratio within [0.75, 1.25].
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit  # noqa: E402

SCENARIOS = ("startup_saas", "consultancy", "digital_agency")
N_FIT = 20_000
N_ARM = 4_000
N_REP = 20


def _leads(scenario, pair) -> dict:
    from qualmodel.experiment.mde import leads_needed
    from qualmodel.experiment.power import power

    table = power(scenario, pair[0], pair[1], n_leads=[N_ARM], n_replicates=N_REP, seed=3)
    need = leads_needed(table)
    return dict(zip(need["metric"], need["leads_analytic"], strict=True))


def main() -> None:
    import qualmodel as qm
    from qualmodel.experiment.power import criteria_pair

    out = {}
    for name in SCENARIOS:
        c0, t0 = time.process_time(), time.perf_counter()
        pair = criteria_pair(name)
        obs = qm.simulate(name, n_leads=N_FIT, seed=1)
        twin, _ = qm.fit_scenario(obs, seed=0, n_boot=0, segment="segment")
        truth = _leads(name, pair)
        try:
            fitted = _leads(twin, pair)
        except qm.QualmodelError as exc:  # the twin lacks a column the criteria read
            print(f"{name}: the twin cannot run the pair: {exc}")
            fitted = {}
        print(
            f"{name}: {pair[0].name} vs {pair[1].name}  "
            f"({time.perf_counter() - t0:.1f} s wall, {time.process_time() - c0:.1f} s CPU)"
        )
        for m, n_true in truth.items():
            n_twin = fitted.get(m, float("nan"))
            ratio = n_twin / n_true if n_true else float("nan")
            flag = "ok" if 0.75 <= ratio <= 1.25 else "OFF"
            print(
                f"  {m:24s} truth {n_true:12,.0f}  twin {n_twin:12,.0f}  ratio {ratio:6.2f} {flag}"
            )
            out[f"{name}.{m}.ratio"] = round(float(ratio), 3)
    emit(out)


if __name__ == "__main__":
    main()
