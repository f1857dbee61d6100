"""The report's headline split and the stated cure-model rule, as numbers.

* :func:`headline` — the shares of the start-stage leads that reached the target, ended in
  each competing outcome or are still open at a horizon (Aalen–Johansen), plus "expected
  never to convert" from the mixture cure model when :func:`cure_support` says the data
  support it.
* :func:`cure_support` — the rule, stated so it can be challenged: a cure model is reported
  only when (1) there are at least ``min_events`` (20) target events, (2) the follow-up runs
  well past the last target event — at least ``min_after`` (10) leads are still observed
  after it and the longest follow-up is at least ``follow_up_ratio`` (1.5) times the last
  event time — (3) no competing outcome is observed among the start cohort (the cure model
  censors competing outcomes, i.e. treats a lost lead as if it could still convert, which
  contradicts the Aalen–Johansen split next to it; ``allow_competing`` opts out) — and (4)
  the fit converges with the cured fraction strictly inside (0, 1) and a finite confidence
  interval. It returns which condition decided and its numbers; the report layer
  (:func:`qualmodel.report.wording.cure_reason`) words them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from qualmodel.core.errors import ConfigError
from qualmodel.survival.common import check_conf_level
from qualmodel.survival.estimators import cumulative_incidence
from qualmodel.survival.models import ModelWarning, cure_model

__all__ = ["CureSupport", "cure_support", "headline"]


@dataclass(frozen=True)
class CureSupport:
    """Whether the mixture cure model is supported by the data (see :func:`cure_support`).

    Attributes
    ----------
    supported : bool
    fit : ModelFit or None
        The cure model fit when it was attempted.
    why : str
        Which condition decided: ``supported``, ``few_events``, ``short_follow_up``,
        ``competing``, ``no_fit`` or ``boundary`` (worded by
        :func:`qualmodel.report.wording.cure_reason`).
    details : dict
        The numbers behind it (e.g. ``n`` and ``need`` for ``few_events``).
    """

    supported: bool
    fit: Any = None
    why: str = "supported"
    details: dict[str, Any] = field(default_factory=dict)


def _support(supported: bool, why: str, fit: Any = None, **details: Any) -> CureSupport:
    return CureSupport(supported, fit, why, details)


def cure_support(
    data: pd.DataFrame,
    event: int = 1,
    *,
    min_events: int = 20,
    min_after: int = 10,
    follow_up_ratio: float = 1.5,
    conf_level: float = 0.95,
    allow_competing: bool = False,
) -> CureSupport:
    """Apply the stated rule that decides whether a cure model is reported.

    Parameters
    ----------
    data : pandas.DataFrame
        Duration table from :func:`qualmodel.survival.durations.time_to_event`.
    event : int, default 1
        Event code of the target.
    min_events : int, default 20
        Fewest target events.
    min_after : int, default 10
        Fewest leads still observed after the last target event (the plateau's support).
    follow_up_ratio : float, default 1.5
        The longest follow-up must be at least this multiple of the last event time.
    conf_level : float, default 0.95
        Level of the cured fraction's interval.
    allow_competing : bool, default False
        Fit even when competing outcomes (event codes other than 0 and ``event``) are
        observed. By default their presence fails the rule: the cure model censors them,
        i.e. treats a lost or disqualified lead as if it could still convert, so its
        "never converts" share does not fit next to the Aalen–Johansen split.

    Returns
    -------
    CureSupport
        ``supported`` is True when all four conditions hold (enough events; follow-up
        past the last event; no competing outcome observed unless ``allow_competing``; a
        converged fit with the cured fraction strictly inside (0, 1) and a finite
        interval); ``fit`` is the :func:`~qualmodel.survival.models.cure_model` result whenever it
        was fitted.
    """
    conf_level = check_conf_level(conf_level, "cure_support")
    dur = data["duration"].to_numpy(np.float64)
    codes = data["event"].to_numpy()
    hit = codes == event
    n_ev = int(hit.sum())
    if n_ev < min_events:
        return _support(False, "few_events", n=n_ev, need=min_events)
    last = float(dur[hit].max())
    after = int((dur > last).sum())
    longest = float(dur.max())
    if after < min_after or longest < follow_up_ratio * last:
        return _support(
            False, "short_follow_up", last=last, after=after, need=min_after,
            longest=longest, ratio=follow_up_ratio,
        )  # fmt: skip
    rivals = sorted({int(c) for c in codes} - {0, int(event)})
    if rivals and not allow_competing:
        return _support(False, "competing", codes=rivals)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ModelWarning)
            fit = cure_model(data, event=event, conf_level=conf_level)
    except ConfigError as exc:
        return _support(False, "no_fit", error=str(exc))
    s = fit.summary
    if not np.isfinite([s["cured_fraction_lower"], s["cured_fraction_upper"]]).all():
        return _support(False, "boundary", fit)
    return _support(True, "supported", fit)


def headline(
    data: pd.DataFrame,
    plan: dict[str, Any],
    horizon: float,
    *,
    cure: CureSupport | None = None,
    allow_competing: bool = False,
) -> pd.DataFrame:
    """Split the start-stage leads by outcome at a horizon: the report's headline.

    Parameters
    ----------
    data : pandas.DataFrame
        Duration table built with ``plan``'s start, target and competing outcomes.
    plan : dict
        From :func:`qualmodel.journeys.outcomes.plan_outcomes`.
    horizon : float
        Time (duration units) at which the Aalen–Johansen curves are read.
    cure : CureSupport, optional
        A precomputed :func:`cure_support` result; computed when omitted.
    allow_competing : bool, default False
        Passed to :func:`cure_support` when ``cure`` is omitted: show the cure model's
        "never" share even when competing outcomes are observed.

    Returns
    -------
    pandas.DataFrame
        Rows ``kind`` = ``"target"``, one ``"competing"`` per competing outcome,
        ``"open"`` (1 − the others at the horizon; no interval) and, only when the cure
        model is supported, ``"never"`` (the cure model's cured fraction and its limits,
        not tied to the horizon). Columns ``kind, outcome, key, share, lower, upper``.
        ``attrs["cure"]`` holds the :class:`CureSupport` used.
    """
    codes = list(range(1, len(plan["competing"]) + 2))
    cif = cumulative_incidence(data, events=codes)
    before = cif[cif["time"] <= horizon]
    last = before.groupby("event")[["cif", "lower", "upper"]].last().reindex(codes)
    last["cif"] = last["cif"].fillna(0.0)
    keys = [plan["key"], *plan["competing_keys"]]
    rows = [
        {
            "kind": "target" if code == 1 else "competing",
            "outcome": plan["event_labels"][code],
            "key": keys[code - 1],
            "share": float(last.loc[code, "cif"]),
            "lower": float(last.loc[code, "lower"]),
            "upper": float(last.loc[code, "upper"]),
        }
        for code in codes
    ]
    open_share = 1.0 - float(last["cif"].sum())
    rows.append(
        {"kind": "open", "outcome": "still open", "key": "open", "share": open_share,
         "lower": np.nan, "upper": np.nan}
    )  # fmt: skip
    if cure is None:
        cure = cure_support(data, allow_competing=allow_competing)
    if cure.supported:
        s = cure.fit.summary
        rows.append(
            {
                "kind": "never",
                "outcome": f"expected never to reach {plan['name']}",
                "key": f"never_{plan['key']}",
                "share": float(s["cured_fraction"]),
                "lower": float(s["cured_fraction_lower"]),
                "upper": float(s["cured_fraction_upper"]),
            }
        )
    out = pd.DataFrame(rows, columns=["kind", "outcome", "key", "share", "lower", "upper"])
    out.attrs["cure"] = cure
    return out
