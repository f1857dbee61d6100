"""Notebook helpers: which group columns one regression can hold together."""

from __future__ import annotations

import numpy as np
import pandas as pd

import qualmodel as qm
from qualmodel import report
from qualmodel.survival.models import fine_gray


def _nested_table(seed: int = 0, n: int = 600) -> pd.DataFrame:
    """Managers nested within regions (as in the Maven export), an independent channel."""
    rng = np.random.default_rng(seed)
    manager = rng.choice(["Ann", "Bob", "Cid", "Dee"], n)
    region = np.where(np.isin(manager, ["Ann", "Bob"]), "East", "West")
    return pd.DataFrame(
        {
            "duration": rng.exponential(30, n),
            "event": rng.choice([0, 1, 2], n, p=[0.3, 0.5, 0.2]),
            "region": region,
            "manager": manager,
            "channel": rng.choice(["web", "event"], n),
            "constant": "all",
        }
    )


def test_nested_and_constant_columns_are_left_out():
    tte = _nested_table()
    kept, left = report.model_covariates(tte, ["region", "manager", "channel", "constant"])
    assert kept == ["region", "channel"] and left == ["manager", "constant"]
    # the kept set fits; adding the nested column is what the model refuses
    fine_gray(tte, kept, cause=1)
    try:
        fine_gray(tte, ["region", "manager"], cause=1)
    except qm.ConfigError as exc:
        assert "collinear" in str(exc)
    else:  # pragma: no cover - the refusal is the reason for model_covariates
        raise AssertionError("fine_gray accepted collinear terms")


def test_order_decides_which_of_two_nested_columns_stays():
    tte = _nested_table(1)
    assert report.model_covariates(tte, ["manager", "region"]) == (["manager"], ["region"])
    assert report.model_covariates(tte, []) == ([], [])


def test_a_level_without_events_of_the_cause_is_left_out():
    tte = _nested_table(2)
    tte.loc[tte["channel"] == "event", "event"] = 2  # no event of cause 1 among "event"
    assert report.model_covariates(tte, ["region", "channel"], cause=1) == (
        ["region"],
        ["channel"],
    )
    assert report.model_covariates(tte, ["region", "channel"]) == (["region", "channel"], [])
