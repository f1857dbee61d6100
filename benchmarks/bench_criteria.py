"""Score threshold with exponential decay: qualmodel.qualify vs DuckDB, same data, same run.

Synthetic journeys (built with numpy, already in (lead, ts) order): 1M leads, 10M events of
8 types (points 1, 2, 5, 10, 20, 30, -5, 0; the negative type is a penalty that does not
decay), half-life 14 days, threshold 60. DuckDB computes the same first-crossing times with
window functions over the same in-memory columns (score = decayed positive sum, rebased
per lead, plus undecayed negative sum; RANGE frame so events with equal timestamps act
together, as in qualmodel). The results must match: same set of qualified leads and
qualified_at equal within 1 µs.

Usage: ``python benchmarks/bench_criteria.py [N_LEADS] [EVENTS_PER_LEAD]``.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(__file__))
from common import best_of, emit, peak_rss_mb  # noqa: E402

from qualmodel import Journeys  # noqa: E402
from qualmodel.criteria.engine import Criterion, qualify  # noqa: E402

EVENTS = [
    "newsletter_signup",
    "email_open",
    "webinar_attended",
    "ebook_download",
    "demo_completed",
    "quote_requested",
    "unsubscribe",
    "website_visit",
]
POINTS = [1.0, 2.0, 5.0, 10.0, 20.0, 30.0, -5.0, 0.0]
HALF_LIFE_DAYS = 14.0
THRESHOLD = 60.0
DAY_NS = 86_400 * 10**9


def build(n_leads: int, per_lead: int, seed: int = 0) -> Journeys:
    rng = np.random.default_rng(seed)
    n_events = n_leads * per_lead
    # events per lead: every lead gets at least one, the rest spread at random
    counts = 1 + rng.multinomial(n_events - n_leads, np.full(n_leads, 1.0 / n_leads))
    codes = np.repeat(np.arange(n_leads, dtype=np.int32), counts)
    offsets = np.zeros(n_leads + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    # gaps in whole seconds (mean 3 days), integer cumsum rebased per lead: exact
    gaps = rng.exponential(3 * 86_400, n_events).astype(np.int64)
    cum = np.cumsum(gaps)
    rel_s = cum - cum[offsets[:-1]][codes]
    created = (
        np.datetime64("2025-01-01", "ns").astype(np.int64) + rng.integers(0, 365, n_leads) * DAY_NS
    )
    ts = created[codes] + rel_s * 10**9
    last = ts[offsets[1:] - 1]
    until = last + DAY_NS
    ev_codes = rng.choice(len(EVENTS), size=n_events, p=[0.2, 0.3, 0.1, 0.1, 0.1, 0.05, 0.05, 0.1])
    ids = np.char.add("L", np.char.zfill(np.arange(n_leads).astype(str), 7)).astype(object)
    leads = pd.DataFrame(
        {
            "lead_id": ids,
            "created_at": created.view("datetime64[ns]"),
            "observed_until": until.view("datetime64[ns]"),
        }
    )
    events = pd.DataFrame(
        {
            "lead_id": pd.Categorical.from_codes(codes, categories=pd.Index(ids)),
            "ts": ts.view("datetime64[ns]"),
            "event": pd.Categorical.from_codes(ev_codes.astype(np.int8), categories=EVENTS),
        }
    )
    return Journeys(leads, events, {"source": "bench_criteria", "seed": seed})


def duckdb_first_crossing(con, n_leads: int) -> np.ndarray:
    h = HALF_LIFE_DAYS * DAY_NS
    # per-lead origin by a hash aggregate + join (faster in DuckDB than MIN() OVER)
    sql = f"""
        WITH first AS (SELECT lead, MIN(t) AS t0 FROM ev GROUP BY lead),
        base AS (
            SELECT ev.lead, t, p, CAST(t - t0 AS DOUBLE) / {h} AS x
            FROM ev JOIN first USING (lead)
        ),
        scored AS (
            SELECT lead, t,
                   SUM(GREATEST(p, 0) * pow(2.0, x)) OVER w * pow(2.0, -x)
                   + SUM(LEAST(p, 0)) OVER w AS s
            FROM base
            WINDOW w AS (PARTITION BY lead ORDER BY t
                         RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
        )
        SELECT lead, MIN(t) AS first_t FROM scored WHERE s >= {THRESHOLD} GROUP BY lead
    """
    res = con.execute(sql).fetchnumpy()
    out = np.full(n_leads, np.iinfo(np.int64).min, dtype=np.int64)
    out[res["lead"].astype(np.int64)] = res["first_t"].astype(np.int64)
    return out


def main(argv: list[str]) -> None:
    import duckdb

    n_leads = int(argv[0]) if argv else 1_000_000
    per_lead = int(argv[1]) if len(argv) > 1 else 10
    t0 = time.perf_counter()
    journeys = build(n_leads, per_lead)
    print(
        f"built {journeys.n_leads:,} leads / {journeys.n_events:,} events in "
        f"{time.perf_counter() - t0:.1f} s (load avg {os.getloadavg()[0]:.2f})"
    )
    crit = Criterion(
        name="bench_score",
        score={
            "threshold": THRESHOLD,
            "decay": {"half_life_days": HALF_LIFE_DAYS},
            "events": dict(zip(EVENTS, POINTS, strict=True)),
        },
    )
    t_q, res = best_of(lambda: qualify(journeys, crit), repeat=3)
    ours = res["qualified_at"].to_numpy().view(np.int64)

    con = duckdb.connect()
    con.execute("SET threads TO 2")
    table = pd.DataFrame(
        {
            "lead": journeys.event_lead_codes.astype(np.int32),
            "t": journeys.events["ts"].to_numpy().view(np.int64),
            "p": np.asarray(POINTS)[journeys.events["event"].cat.codes.to_numpy()],
        }
    )
    con.register("ev_df", table)
    con.execute("CREATE TABLE ev AS SELECT * FROM ev_df")
    con.unregister("ev_df")
    t_d, theirs = best_of(lambda: duckdb_first_crossing(con, n_leads), repeat=3)

    nat = np.iinfo(np.int64).min
    q_ours, q_theirs = ours != nat, theirs != nat
    same_set = bool(np.array_equal(q_ours, q_theirs))
    both = q_ours & q_theirs
    max_diff_ns = int(np.abs(ours[both] - theirs[both]).max()) if both.any() else 0
    print(f"qualified: qualmodel {int(q_ours.sum()):,}, duckdb {int(q_theirs.sum()):,}")
    print(f"max |qualified_at difference| = {max_diff_ns} ns; same set: {same_set}")
    assert int(q_ours.sum()) == int(q_theirs.sum()), "qualified counts differ"
    assert same_set, "qualified leads differ"
    assert max_diff_ns <= 1_000, "qualified_at differs by more than 1 µs"
    ratio = t_q / t_d
    print(f"qualmodel.qualify: {t_q:.2f} s   duckdb: {t_d:.2f} s   ratio {ratio:.2f}x (best of 3)")
    emit(
        {
            "n_leads": n_leads,
            "n_events": journeys.n_events,
            "qualmodel_s": round(t_q, 3),
            "duckdb_s": round(t_d, 3),
            "ratio": round(ratio, 3),
            "n_qualified": int(q_ours.sum()),
            "max_diff_ns": max_diff_ns,
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "load_avg": round(os.getloadavg()[0], 2),
        }
    )


if __name__ == "__main__":
    main(sys.argv[1:])
