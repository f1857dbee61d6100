"""Power analysis: executor invariance, null rejection rate, monotone power, bad input."""

from __future__ import annotations

import contextlib
import os

import pandas as pd
import pytest

from qualmodel.core.errors import ConfigError
from qualmodel.experiment.power import power

SC, A, B = "startup_saas", "bant_3_of_4", "score_60_decay_30d"


def test_identical_in_process_and_local_clusters():
    from distributed import Client, LocalCluster

    kw = dict(metric=["sqo_volume", "precision", "time_to_qualification"], seed=3)
    kw.update(n_leads=[60, 100], n_replicates=10)
    ref = power(SC, A, B, **kw)
    for n, chunks in ((1, (None,)), (2, (None, 1, 7))):
        with LocalCluster(
            n_workers=n, threads_per_worker=1, processes=False, dashboard_address="127.0.0.1:0"
        ) as lc:
            with Client(lc) as client:
                for chunk in chunks:
                    got = power(SC, A, B, client=client, chunk_size=chunk, **kw)
                    pd.testing.assert_frame_equal(got, ref)


def test_local_cluster_process_workers_and_lean_config():
    import socket
    import warnings

    from qualmodel.experiment.power import LOCAL_CLUSTER_CONFIG, connect

    with socket.socket() as taken, contextlib.ExitStack() as stack:
        try:  # as if another cluster held Dask's default port
            taken.bind(("127.0.0.1", 8787))
            taken.listen()
        except OSError:
            pass  # it is held
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no "Port 8787 is already in use" on the way
            client = stack.enter_context(connect("local:1"))
        assert client.cluster.scheduler.http_server.port != 8787
        info = client.scheduler_info()["workers"]
        assert len(info) == 1
        assert [w["nthreads"] for w in info.values()] == [1]
        seen = client.run(
            lambda: __import__("dask").config.get("distributed.worker.profile.enabled")
        )
        assert list(seen.values()) == [LOCAL_CLUSTER_CONFIG["distributed.worker.profile.enabled"]]
        pids = client.run(os.getpid)
        assert os.getpid() not in pids.values()  # process workers
        if "MALLOC_TRIM_THRESHOLD_" not in os.environ:  # Dask's default trim is unset
            trim = client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
            assert list(trim.values()) == [None]


@pytest.mark.parametrize(
    ("items", "workers", "expected"),
    [(1000, 2, 10), (40, 2, 5), (3, 4, 1), (10, 1, 3)],
)
def test_auto_chunk_size(items, workers, expected):
    from qualmodel.experiment.power import MAX_CHUNK_SIZE, TASKS_PER_WORKER, auto_chunk_size

    assert (MAX_CHUNK_SIZE, TASKS_PER_WORKER) == (10, 4)
    assert auto_chunk_size(items, workers) == expected


def test_effect_and_mde_columns_against_simulation():
    """Normal-approximation power at the simulated effect matches the Monte-Carlo power."""
    from qualmodel.experiment.mde import mde_at, two_proportion_power

    tab = power(SC, A, B, metric="sqo_volume", n_leads=[300], n_replicates=100, seed=5)
    row = tab.iloc[0]
    assert row["n_baseline"] == row["n_candidate"] == 300
    pa, pb = row["baseline_value"], row["candidate_value"]
    assert row["effect"] == pytest.approx(pb - pa)
    analytic = two_proportion_power(pa, pb, 300, 300, 0.05)
    assert row["power_lo"] - 0.05 <= analytic <= row["power_hi"] + 0.05, (analytic, row)
    # the MDE gives exactly the MDE power; larger samples detect smaller effects
    sign = {"increase": 1, "decrease": -1}[row["mde_direction"]]
    assert row["mde"] > 0 and row["mde_note"] == ""
    assert sign == (1 if row["effect"] >= 0 else -1)
    assert two_proportion_power(pa, pa + sign * row["mde"], 300, 300, 0.05) == pytest.approx(0.8)
    far = mde_at(tab, 30000).iloc[0]
    assert abs(far["mde"]) < abs(row["mde"]) and far["weeks_of_flow"] == pytest.approx(
        row["weeks_of_flow"] * 100
    )
    assert bool(far["detectable"]) is bool(abs(row["effect"]) >= abs(far["mde"]))


def test_mde_power_knob():
    kw = dict(metric="sqo_volume", n_leads=[200], n_replicates=10, seed=1)
    lo = power(SC, A, B, mde_power=0.5, **kw).iloc[0]["mde"]
    hi = power(SC, A, B, mde_power=0.95, **kw).iloc[0]["mde"]
    assert abs(lo) < abs(hi)
    with pytest.raises(ConfigError, match="mde_power"):
        power(SC, A, B, mde_power=1.0, **kw)
    with pytest.raises(ConfigError, match="chunk_size"):
        power(SC, A, B, chunk_size=0, **kw)


def test_criteria_pair_defaults_and_errors(tmp_path):
    from qualmodel.criteria.engine import load_criteria
    from qualmodel.experiment.power import criteria_pair

    names = [c.name for c in load_criteria(SC)]
    assert [c.name for c in criteria_pair(SC)] == names[:2]
    assert [c.name for c in criteria_pair(SC, A, B)] == [A, B]
    assert [c.name for c in criteria_pair(SC, candidate=B)] == [names[0], B]
    assert criteria_pair("my_scenario.yaml") == []  # a custom scenario: nothing to compare
    with pytest.raises(ConfigError, match="unknown criterion"):
        criteria_pair(SC, "nope", B)


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


def test_precision_power_matches_normal_ind_power():
    """MC power of the precision z-test vs statsmodels NormalIndPower at simulation truth."""
    import numpy as np
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    from qualmodel.criteria.engine import load_criteria, qualify
    from qualmodel.simulation.engine import simulate

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


def test_mde_blank_only_with_its_reason_and_never_negative():
    """Tiny arms: the precision MDE cannot be reached, and the table says why."""
    tab = power(SC, A, B, metric=["precision", "sqo_volume"], n_leads=[40, 4000],
                n_replicates=10, seed=2)  # fmt: skip
    assert (tab["mde"].dropna() > 0).all()
    assert ((tab["power_lo"] <= tab["power"]) & (tab["power"] <= tab["power_hi"])).all()
    assert set(tab["mde_direction"]) <= {"increase", "decrease"}
    blank = tab[tab["mde"].isna()]
    assert (tab["mde"].notna() == (tab["mde_note"] == "")).all()
    assert len(blank) >= 1 and blank["mde_note"].str.contains("not detectable at this size").all()


def _dask_clients() -> set[int]:
    import gc

    return {id(o) for o in gc.get_objects() if type(o).__name__ == "Client"
            and type(o).__module__.startswith("distributed")}  # fmt: skip


def test_a_failed_connection_leaves_no_client_for_the_garbage_collector():
    """A scheduler that is not there: the half-built Dask client is collected at once.

    Left to a later collection, its ``__del__`` could run inside another thread that holds
    distributed's (global, not re-entrant) loop lock while starting a cluster: a hang.
    """
    import gc
    import socket
    import threading

    from qualmodel.experiment.power import connect

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    before = _dask_clients()
    gc.disable()
    try:
        with pytest.raises(ConfigError, match="no Dask scheduler answered"):
            connect(f"tcp://127.0.0.1:{port}", timeout=0.5)
        for thread in threading.enumerate():
            if thread.name == "qualmodel-dask-connect":
                thread.join(30)
        assert _dask_clients() - before == set()
    finally:
        gc.enable()
