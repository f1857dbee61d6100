"""Small generated funnels of the shapes real data comes in (seeded, a few hundred leads).

Every lead enters the start stage on its creation day; a share ``cure`` never reaches the
target, the others would reach it after a Weibull time (median about ``median`` days);
each competing outcome has an exponential time. Leads are created over ``span`` days and
observed until one cut-off, so early leads are followed long past every conversion (a
plateau the cure model can see). Timestamps carry hours and minutes (not day-rounded).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qualmodel import Journeys

T0 = pd.Timestamp("2024-01-01")

#: shape → (start column, target column, competing columns, meta["outcomes"])
SHAPES: dict[str, tuple[str, str, tuple[str, ...], dict[str, str]]] = {
    "no_sal": ("mql_at", "sqo_at", ("disqualified_at",), {}),
    "no_sqo": ("sal_at", "won_at", ("lost_at",), {}),
    "no_lost": ("mql_at", "won_at", (), {}),
    "three_competing": (
        "sal_at",
        "won_at",
        ("lost_at", "withdrawn_at", "expired_at"),
        {"approved": "won", "declined": "lost", "cancelled": "withdrawn", "expired": "expired"},
    ),
    # imported through a history mapping that sends A_CANCELLED to an extra outcome
    "history_extra": (
        "sal_at",
        "won_at",
        ("disqualified_at", "withdrawn_at"),
        {"approved": "won", "declined": "disqualified", "cancelled": "withdrawn"},
    ),
}
#: Activity names of the event log :func:`import_history_shape` writes.
LOG_ACTIVITIES = {
    "created": "A_SUBMITTED",
    "sal": "A_ACCEPTED",
    "won": "A_APPROVED",
    "disqualified": "A_DECLINED",
    "withdrawn": "A_CANCELLED",
}


def import_history_shape(folder, n: int = 250, seed: int = 3) -> Journeys:
    """The ``history_extra`` shape written as an event log and imported through a mapping.

    The mapping sends ``A_CANCELLED`` to the extra outcome ``withdrawn`` (declared under
    ``outcomes:`` as "cancelled"); every other activity is a funnel stage.
    """
    import yaml

    from qualmodel.crm import export_history, import_crm

    j = make_shape("history_extra", n=n, seed=seed)
    hist = export_history(j)["history"]
    hist["activity"] = hist["activity"].map(LOG_ACTIVITIES)
    hist = hist.rename(columns={"lead_id": "case", "ts": "time"})[["case", "activity", "time"]]
    hist.to_csv(folder / "log.csv", index=False)
    stages = {act: stage for stage, act in LOG_ACTIVITIES.items()}
    mapping = {
        "source": "loan-log",
        "observed_until": j.leads["observed_until"].iloc[0].to_pydatetime(),
        "history": {
            "file": "log.csv",
            "case_id": "case",
            "activity": "activity",
            "timestamp": "time",
            "stages": stages,
        },
        "outcomes": SHAPES["history_extra"][3],
    }
    (folder / "mapping.yaml").write_text(yaml.safe_dump(mapping, sort_keys=False))
    return import_crm(folder / "log.csv", str(folder / "mapping.yaml"))


def make_shape(
    shape: str,
    n: int = 400,
    seed: int = 1,
    cure: float = 0.6,
    median: float = 12.0,
    competing_rate: float = 0.01,
    span: float = 300.0,
    follow: float = 120.0,
) -> Journeys:
    """Generate journeys of one of :data:`SHAPES`.

    Parameters
    ----------
    shape : str
        Key of :data:`SHAPES`.
    n, seed : int
        Leads and seed.
    cure : float
        Share that never reaches the target.
    median : float
        Median days to the target among the others (Weibull, shape 1.3).
    competing_rate : float
        Daily hazard of each competing outcome.
    span, follow : float
        Leads are created over ``span`` days; the cut-off is ``follow`` days after the last.
    """
    start, target, competing, outcomes = SHAPES[shape]
    rng = np.random.default_rng(seed)
    created = T0 + pd.to_timedelta(np.sort(rng.uniform(0, span, n)), unit="D").round("min")
    cutoff = T0 + pd.Timedelta(days=span + follow)
    k = 1.3
    scale = median / np.log(2) ** (1 / k)
    t_target = np.where(rng.random(n) < cure, np.inf, scale * rng.weibull(k, n))
    t_comp = [rng.exponential(1 / competing_rate, n) for _ in competing]
    times = np.column_stack([t_target, *t_comp]) if t_comp else t_target[:, None]
    first = times.argmin(axis=1)
    t_first = times.min(axis=1)
    ends = created + pd.to_timedelta(np.minimum(t_first, 1e4), unit="D").round("min")
    seen = np.asarray(ends <= cutoff) & np.isfinite(t_first)
    leads = pd.DataFrame(
        {
            "lead_id": [f"L{i:04d}" for i in range(n)],
            "created_at": created,
            "observed_until": cutoff,
            start: created,
            "segment": np.where(rng.random(n) < 0.5, "smb", "enterprise"),
            "source": np.where(rng.random(n) < 0.1, None, "web"),
        }
    )
    for j, col in enumerate((target, *competing)):
        leads[col] = pd.Series(ends, index=leads.index).where(seen & (first == j))
    meta = {"source": f"shape-{shape}", "seed": seed}
    if outcomes:
        meta["outcomes"] = outcomes
    return Journeys.build(leads, None, meta)


def loan_log(n: int = 300, seed: int = 7) -> pd.DataFrame:
    """A loan-application event log with the activities of the built-in event_log mapping."""
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    rows = []
    for i in range(n):
        t = t0 + pd.Timedelta(days=float(rng.uniform(0, 200)))
        case = f"{200000 + i}"
        rows.append((case, "A_SUBMITTED", t))
        rows.append((case, "A_PARTLYSUBMITTED", t + pd.Timedelta(minutes=1)))
        if rng.random() < 0.2:  # declined straight away
            rows.append((case, "A_DECLINED", t + pd.Timedelta(hours=float(rng.uniform(1, 48)))))
            continue
        t += pd.Timedelta(hours=float(rng.uniform(2, 30)))
        rows.append((case, "A_PREACCEPTED", t))
        t += pd.Timedelta(days=float(rng.exponential(2)))
        rows.append((case, "A_ACCEPTED", t))
        u = rng.random()
        if u < 0.15:
            end = "A_DECLINED"
        elif u < 0.35:
            end = "A_CANCELLED"
        else:
            rows.append((case, "O_SENT", t + pd.Timedelta(days=float(rng.exponential(1)))))
            end = "A_APPROVED" if rng.random() < 0.7 else "A_CANCELLED"
            t += pd.Timedelta(days=1)
        if rng.random() < 0.9:  # the others are still open at the cut-off
            rows.append((case, end, t + pd.Timedelta(days=float(rng.gamma(2.0, 6.0)))))
    log = pd.DataFrame(rows, columns=["case:concept:name", "concept:name", "time:timestamp"])
    log["time:timestamp"] = log["time:timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S.%f%z")
    return log
