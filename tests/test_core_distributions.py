"""Normal and chi-squared tails, binomial distribution, Wilson interval: scipy.stats' values.

The functions exist so that processes need not import ``scipy.stats``; the values must be
those of ``scipy.stats`` (to the bit where scipy computes them with the same special
function) and of statsmodels' Wilson interval, and match published table values.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from qualmodel.core.distributions import (
    binom_cdf,
    chi2_sf,
    norm_cdf,
    norm_ppf,
    norm_sf,
    wilson_interval,
)

Q = np.array([0.0, 1e-300, 1e-10, 0.025, 0.05, 0.5, 0.8, 0.975, 1 - 1e-16, 1.0, -0.1, 1.1, np.nan])
X = np.array([-np.inf, -40, -8.5, -1.96, -1e-9, 0.0, 1e-12, 0.5, 1.96, 8.5, 40, np.inf, np.nan])


def test_normal_functions_equal_scipy_stats_to_the_bit():
    np.testing.assert_array_equal(norm_ppf(Q), stats.norm.ppf(Q))
    np.testing.assert_array_equal(norm_cdf(X), stats.norm.cdf(X))
    np.testing.assert_array_equal(norm_sf(X), stats.norm.sf(X))
    for q in (0.025, 0.975, 0.9):  # scalars stay scalars
        assert norm_ppf(q) == stats.norm.ppf(q) and np.ndim(norm_ppf(q)) == 0


def test_chi2_sf_equals_scipy_stats_including_below_zero():
    x = np.array([-np.inf, -1.0, 0.0, 1e-12, 0.3, 3.841458820694124, 10, 100, 1e3, np.inf, np.nan])
    for df in (1, 2, 3.5, 10, 40):
        np.testing.assert_array_equal(chi2_sf(x, df), stats.chi2.sf(x, df))
    assert chi2_sf(-2.0, 1) == 1.0 and np.ndim(chi2_sf(2.0, 1)) == 0


def test_published_values():
    # two-sided 5% critical values: z 1.959964, chi-square (1 df) 3.841459
    assert norm_ppf(0.975) == pytest.approx(1.959963984540054, abs=1e-15)
    assert chi2_sf(3.841458820694124, 1) == pytest.approx(0.05, abs=1e-15)
    assert chi2_sf(5.991464547107979, 2) == pytest.approx(0.05, abs=1e-15)
    assert norm_cdf(1.0) == pytest.approx(0.8413447460685429, abs=1e-15)
    assert binom_cdf(2, 5, 0.5) == pytest.approx(0.5)  # (1 + 5 + 10) / 32


def test_binom_cdf_matches_scipy_stats():
    k = np.array([-1, 0, 1, 2, 5, 12, 24])
    for n in (0, 1, 5, 24):
        for p in (0.5, 0.1):
            kk = k[k <= n]
            np.testing.assert_allclose(binom_cdf(kk, n, p), stats.binom.cdf(kk, n, p), rtol=1e-13)


@pytest.mark.parametrize(
    ("count", "nobs"), [(0, 10), (10, 10), (3, 7), (250, 500), (499, 500), (1, 20_000)]
)
@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.01])
def test_wilson_interval_is_statsmodels_wilson(count, nobs, alpha):
    lo, hi = wilson_interval(count, nobs, alpha=alpha)
    ref = proportion_confint(count, nobs, alpha=alpha, method="wilson")
    assert (lo, hi) == ref
    assert 0.0 <= lo <= count / nobs <= hi <= 1.0 + 1e-15


def test_wilson_interval_vectorised():
    lo, hi = wilson_interval(np.array([0, 5, 9]), np.array([9, 9, 9]))
    ref_lo, ref_hi = proportion_confint(np.array([0, 5, 9]), 9, method="wilson")
    np.testing.assert_array_equal(lo, ref_lo)
    np.testing.assert_array_equal(hi, ref_hi)


def test_importing_them_leaves_scipy_stats_unloaded():
    code = (
        "import sys, qualmodel.core.distributions as d\n"
        "d.norm_ppf(0.9), d.chi2_sf(1.0, 1), d.wilson_interval(1, 3)\n"
        "assert 'scipy.stats' not in sys.modules, 'scipy.stats was imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
