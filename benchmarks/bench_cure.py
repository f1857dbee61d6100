"""Mixture cure fit: ``cure_model`` against lifelines' ``MixtureCureFitter`` (same data).

Weibull mixture data with a cured share of 0.3 and uniform censoring, at 5,000, 100,000
and 1,000,000 leads. Reported per size: the best wall time of each fit, and how much
higher qualmodel's maximised log-likelihood is (lifelines stops a little short of the
maximum). Also the time a fresh interpreter takes to import lifelines' fitters, which
``cure_model`` no longer needs.
"""

from __future__ import annotations

import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import best_of, emit  # noqa: E402

from qualmodel.survival.models import cure_model  # noqa: E402

SIZES = (5_000, 100_000, 1_000_000)
SEED = 5


def make_data(n: int, seed: int = SEED) -> pd.DataFrame:
    """A cured share of 0.3; the others Weibull(scale 40, shape 1.3); censored in 30–365."""
    rng = np.random.default_rng(seed)
    cured = rng.random(n) < 0.3
    t = np.where(cured, np.inf, 40.0 * rng.weibull(1.3, n))
    c = rng.uniform(30.0, 365.0, n)
    return pd.DataFrame({"duration": np.minimum(t, c), "event": (t <= c).astype(int)})


def _lifelines(data: pd.DataFrame):
    from lifelines import MixtureCureFitter, WeibullFitter

    fitter = MixtureCureFitter(WeibullFitter())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fitter.fit(data["duration"], data["event"])


def _import_seconds() -> float:
    code = "import time; t = time.perf_counter(); import lifelines; print(time.perf_counter() - t)"
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            for _ in range(3)]  # fmt: skip
    return min(float(r.stdout) for r in runs)


def main() -> None:
    row: dict[str, object] = {"bench": "cure"}
    _lifelines(make_data(1000))  # warm-up: imports, autograd tracing
    for n in SIZES:
        data = make_data(n)
        t_ours, fit = best_of(lambda d=data: cure_model(d), repeat=3)
        t_ll, ref = best_of(lambda d=data: _lifelines(d), repeat=1 if n >= 1_000_000 else 2)
        gain = fit.summary["log_likelihood"] - ref.log_likelihood_
        pi = fit.summary["cured_fraction"]
        print(f"{n:>9,} leads: cure_model {t_ours * 1000:8.1f} ms, lifelines {t_ll * 1000:8.1f} "
              f"ms ({t_ll / t_ours:5.0f}x); cured fraction {pi:.4f} (lifelines "
              f"{ref.cured_fraction_:.4f}); log-likelihood higher by {gain:.2e}")  # fmt: skip
        row.update({f"cure_{n}_s": round(t_ours, 4), f"lifelines_{n}_s": round(t_ll, 4),
                    f"loglik_gain_{n}": gain})  # fmt: skip
    t0 = time.perf_counter()
    row["lifelines_import_s"] = round(_import_seconds(), 3)
    print(f"import lifelines in a fresh interpreter: {row['lifelines_import_s']:.2f} s "
          f"(measured in {time.perf_counter() - t0:.1f} s)")  # fmt: skip
    emit(row)


if __name__ == "__main__":
    main()
