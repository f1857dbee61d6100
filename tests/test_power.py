"""Power analysis: executor invariance, null rejection rate, monotone power, bad input."""

from __future__ import annotations

import pandas as pd
import pytest

from qualmodel.cli import main
from qualmodel.errors import ConfigError
from qualmodel.power import power

SC, A, B = "startup_saas", "bant_3_of_4", "score_60_decay_30d"


def test_identical_in_process_and_local_clusters():
    from distributed import Client, LocalCluster

    kw = dict(metric=["sqo_volume", "precision"], n_leads=[100], n_replicates=10, seed=3)
    ref = power(SC, A, B, **kw)
    for n in (1, 2):
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=False) as lc:
            with Client(lc) as client:
                pd.testing.assert_frame_equal(power(SC, A, B, client=client, **kw), ref)


def test_null_power_near_alpha_and_power_rises():
    null = power(SC, A, A, metric="sqo_volume", n_leads=[300], n_replicates=40, alpha=0.2)
    row = null.iloc[0]
    assert row["power_lo"] <= 0.2 <= row["power_hi"]
    alt = power(SC, A, B, metric="sqo_volume", n_leads=[100, 1000], n_replicates=20)
    assert alt["power"].iloc[1] > alt["power"].iloc[0]


@pytest.mark.parametrize(
    "kw",
    [dict(n_leads=[0]), dict(n_replicates=5), dict(alpha=1.5), dict(metric="nope")],
)
def test_bad_input_config_error(kw):
    with pytest.raises(ConfigError):
        power(SC, A, B, **{"n_leads": [50], "n_replicates": 10, **kw})


def test_unknown_criterion():
    with pytest.raises(ConfigError, match="unknown criterion"):
        power(SC, "nope", B, n_leads=[50], n_replicates=10)


@pytest.mark.parametrize(
    "extra",
    [
        ["--n-leads", "0"],
        ["--replicates", "3"],
        ["--alpha", "0"],
        ["--candidate", "nope"],
        ["--dask", "tcp://127.0.0.1:1"],
    ],
)
def test_cli_bad_input_exit_2_no_csv(tmp_path, capsys, extra):
    out = tmp_path / "p.csv"
    args = [
        "power",
        "-s",
        SC,
        "--baseline",
        A,
        "--candidate",
        B,
        "-o",
        str(out),
        "--n-leads",
        "50",
        "--replicates",
        "10",
        *extra,
    ]
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    assert not out.exists()
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_precision_power_matches_normal_ind_power():
    """MC power of the precision z-test vs statsmodels NormalIndPower at simulation truth."""
    import numpy as np
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    from qualmodel.criteria import load_criteria, qualify
    from qualmodel.simulate import simulate

    crits = {c.name: c for c in load_criteria(SC)}
    big = simulate(SC, n_leads=30000, seed=99)
    won = big.leads["won_at"].notna().to_numpy()
    truth = {}
    for name in (A, "mixed_score_and_bant"):
        q = qualify(big, crits[name])["qualified_at"].notna().to_numpy()
        truth[name] = (q.mean(), won[q].mean())
    n, reps = 5000, 40
    (qa, pa), (qb, pb) = truth[A], truth["mixed_score_and_bant"]
    analytic = NormalIndPower().power(
        proportion_effectsize(pa, pb), nobs1=n * qa, alpha=0.05, ratio=qb / qa
    )
    mc = power(SC, A, "mixed_score_and_bant", metric="precision", n_leads=[n], n_replicates=reps)
    got = mc["power"].iloc[0]
    tol = 3 * np.sqrt(analytic * (1 - analytic) / reps) + 0.05  # MC error + truth estimate
    assert abs(got - analytic) < tol, (got, analytic)
