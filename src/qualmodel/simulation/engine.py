"""Vectorised simulator of lead journeys with a known ground truth.

:func:`simulate` draws a population of leads from a :class:`~qualmodel.simulation.scenario.Scenario`
and returns validated :class:`~qualmodel.journeys.contract.Journeys`. Everything is vectorised
numpy (loops run over event types, never over leads) and every random component draws
from its own ``numpy.random.Generator`` derived from the seed and the component's name,
so the same seed gives byte-identical output and adding a component does not shift the
draws of the others.

The generative model (intent, BANT, funnel, cure fraction, competing Weibull
proportional hazards from SAL, close, touchpoint processes, censoring) is written out in
``docs/simulation.md``.
"""

from __future__ import annotations

import functools
import os
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from qualmodel.core.errors import ConfigError
from qualmodel.simulation.events import background_events, events_table, sorted_signals, type_codes
from qualmodel.simulation.scenario import Scenario, load_scenario, scenario_hash

if TYPE_CHECKING:
    from qualmodel.journeys.contract import Journeys

__all__ = ["N_STEPS", "covariate_matrix", "simulate", "simulate_steps", "weibull_ph_times"]

_DAY_S = 86_400
_NS = 1_000_000_000
_MAX_DAYS = 36_500.0  # latent times beyond 100 years are clipped before conversion
_BANT = ("budget", "authority", "need")
_BANT_EVENTS = ("bant_budget", "bant_authority", "bant_need", "bant_timeline")
_BANT_COL = {"budget": "budget_confirmed", "authority": "authority", "need": "need"}


# ---------------------------------------------------------------------- randomness
def _rng(seed: int, component: str) -> np.random.Generator:
    """Independent generator for one named component of the simulation."""
    key = zlib.crc32(component.encode("ascii"))
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(key,)))


#: ``meta["generator"]`` of simulations: the public function's name, stable across releases.
GENERATOR = "qualmodel.simulate"


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _calibrate_intercept(offset: np.ndarray, share: float) -> float:
    """Intercept ``a`` with ``mean(sigmoid(a + offset)) == share`` (safeguarded Newton).

    Solving on the simulated population makes the scenario's stated marginal share the
    expected share of that population, whatever the covariate effects.
    """
    target = float(share)
    if offset.size == 0:
        return float(np.log(target / (1.0 - target)))
    lo, hi = -40.0, 40.0
    a = float(np.log(target / (1.0 - target)) - offset.mean())
    for _ in range(100):
        p = _sigmoid(a + offset)
        f = float(p.mean()) - target
        if abs(f) < 1e-12:
            break
        if f > 0:
            hi = min(hi, a)
        else:
            lo = max(lo, a)
        slope = float((p * (1.0 - p)).mean())
        step = a - f / slope if slope > 0 else (lo + hi) / 2
        a = step if lo < step < hi else (lo + hi) / 2
    return a


def weibull_ph_times(
    rng: np.random.Generator, lp: np.ndarray, shape: float, scale: float
) -> np.ndarray:
    """Draw times from a Weibull proportional-hazards model by inversion.

    With cumulative hazard ``H(t | x) = (t / scale) ** shape * exp(lp)``, the time is
    ``scale * (E / exp(lp)) ** (1 / shape)`` for ``E ~ Exponential(1)``.

    Parameters
    ----------
    rng : numpy.random.Generator
    lp : numpy.ndarray
        Linear predictor ``x·β`` per subject.
    shape, scale : float
        Weibull shape ``k`` and scale ``λ`` (days).

    Returns
    -------
    numpy.ndarray
        Event times in days.
    """
    e = rng.standard_exponential(lp.shape[0])
    return scale * (e * np.exp(-lp)) ** (1.0 / shape)


def covariate_matrix(
    segment_codes: np.ndarray,
    segments: list[str],
    values: dict[str, np.ndarray],
    names: list[str],
) -> np.ndarray:
    """Columns of the hazard covariates ``names`` (segment dummies or named values).

    Parameters
    ----------
    segment_codes : numpy.ndarray
        Integer segment code per lead (position in ``segments``).
    segments : list of str
        Segment names; a name in ``names`` becomes a 0/1 dummy of that segment.
    values : dict
        Other covariates by name (``intent``, ``nurtured``, ``budget``, ...).
    names : list of str
        Covariates wanted, in column order.

    Returns
    -------
    numpy.ndarray
        ``(n, len(names))`` float64 matrix.
    """
    n = segment_codes.shape[0]
    out = np.empty((n, len(names)), dtype=np.float64)
    for j, name in enumerate(names):
        if name in segments:
            out[:, j] = segment_codes == segments.index(name)
        else:
            out[:, j] = values[name]
    return out


def _lp(coefs: dict[str, float], seg: np.ndarray, segs: list[str], vals: dict) -> np.ndarray:
    names = list(coefs)
    if not names:
        return np.zeros(seg.shape[0])
    x = covariate_matrix(seg, segs, vals, names)
    return x @ np.array([coefs[k] for k in names], dtype=np.float64)


def _seg_effect(effects: dict[str, float], segs: list[str], seg: np.ndarray) -> np.ndarray:
    table = np.array([effects.get(s, 0.0) for s in segs], dtype=np.float64)
    return table[seg]


# ---------------------------------------------------------------------- helpers
def check_params(n_leads: Any, seed: Any) -> tuple[int, int]:
    if isinstance(n_leads, bool) or not isinstance(n_leads, int | np.integer) or n_leads < 1:
        raise ConfigError(f"n_leads must be a positive integer, got {n_leads!r}; pass e.g. 10000")
    if n_leads > 50_000_000:
        raise ConfigError(f"n_leads={n_leads} is too large (max 50,000,000); simulate in parts")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < 2**63:
        raise ConfigError(f"seed must be a whole number 0 … 2**63 - 1, got {seed!r}; pass e.g. 0")
    return int(n_leads), int(seed)


def _lead_ids(n: int, reuse: bool = False) -> np.ndarray:
    """Zero-padded ids ``L0000000`` … so that string order equals numeric order.

    With ``reuse``, a copy of the array kept from the last call of this size (the same
    string objects): loops that simulate the same number of leads again and again skip
    formatting them.
    """
    if reuse:
        return _kept_lead_ids(n).copy()
    fmt = f"L%0{max(7, len(str(n - 1)))}d"
    return np.array([fmt % i for i in range(n)], dtype=object)


@functools.lru_cache(maxsize=2)
def _kept_lead_ids(n: int) -> np.ndarray:
    return _lead_ids(n)


def _days_to_ns(days: np.ndarray, start_ns: int, cutoff: float) -> np.ndarray:
    """Days since window start → datetime64[ns] (whole seconds); NaT when > cutoff or inf."""
    ok = np.isfinite(days) & (days <= cutoff)
    sec = np.floor(np.where(ok, np.minimum(days, _MAX_DAYS), 0.0) * _DAY_S).astype(np.int64)
    ns = np.where(ok, start_ns + sec * _NS, np.iinfo(np.int64).min)
    return ns.view("datetime64[ns]")


def _nullable_bool(values: np.ndarray, known: np.ndarray) -> pd.arrays.BooleanArray:
    return pd.arrays.BooleanArray(values.astype(bool), ~known)


# ---------------------------------------------------------------------- main
def simulate(
    scenario: Scenario | str | os.PathLike[str],
    n_leads: int | None = None,
    seed: int = 0,
    *,
    nurture: bool | None = None,
    progress: bool = False,
) -> Journeys:
    """Simulate lead journeys from a scenario.

    Parameters
    ----------
    scenario : Scenario, str or path-like
        A :class:`~qualmodel.simulation.scenario.Scenario`, a built-in name or a YAML path.
    n_leads : int, optional
        Number of leads; defaults to the scenario's ``n_leads``.
    seed : int, default 0
        Seed of every random component; the same seed gives identical journeys.
    nurture : bool, optional
        Switch the nurture program on or off; ``None`` keeps the scenario's
        ``nurture.enabled``. Both settings share the population, BANT, funnel and sales
        draws (common random numbers), so the same leads reach SAL; touchpoint streams
        are redrawn.
    progress : bool, default False
        Show a tqdm progress bar over the simulation steps.

    Returns
    -------
    Journeys
        Validated journeys. Observable columns: ``lead_id``, ``created_at``,
        ``observed_until``, ``segment``, ``nurtured``, stage timestamps (``mql_at``,
        ``sal_at``, ``sqo_at``, ``disqualified_at``, ``won_at``, ``lost_at``), BANT
        (``budget_confirmed``, ``authority``, ``need`` as nullable booleans and
        ``timeline_days``, known only once discovered). Truth columns ``true_*``:
        ``true_intent``, ``true_buyer``, ``true_ready_at``, ``true_never_convert``,
        ``true_budget``, ``true_authority``, ``true_need``, ``true_timeline_days``,
        ``true_sqo_lp`` and ``true_dq_lp`` (hazard linear predictors) and ``true_sal``.

    Raises
    ------
    ConfigError
        Unknown scenario, invalid YAML, or invalid ``n_leads`` / ``seed``.
    """
    sc = load_scenario(scenario)
    n, seed = check_params(sc.n_leads if n_leads is None else n_leads, seed)
    bar: Any = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=N_STEPS, desc=f"simulate {sc.name}", unit="step", leave=False)
    try:
        return simulate_steps(sc, n, seed, nurture, None if bar is None else _bar_step(bar))
    finally:
        if bar is not None:
            bar.close()


#: Number of progress steps reported by :func:`simulate_steps`.
N_STEPS = 6


def _bar_step(bar: Any) -> Callable[[str], None]:
    def step(label: str) -> None:
        bar.set_postfix_str(f"{label} done", refresh=False)
        bar.update(1)

    return step


def simulate_steps(
    scenario: Scenario,
    n_leads: int,
    seed: int,
    nurture: bool | None = None,
    step: Callable[[str], None] | None = None,
    *,
    reuse_ids: bool = False,
) -> Journeys:
    """Run :func:`simulate`, calling ``step(label)`` after each of :data:`N_STEPS` steps.

    Parameters
    ----------
    scenario : Scenario or TwinScenario
    n_leads, seed : int
        Already checked values.
    nurture : bool, optional
        As for :func:`simulate`.
    step : callable, optional
        Progress callback (e.g. advancing a progress bar); not called for a fitted
        scenario, whose ``nurture`` is always off.
    reuse_ids : bool, default False
        Reuse the lead-id strings of the last simulation of this size (kept for the two
        most recent sizes) instead of formatting them again; for callers that simulate
        the same size many times (the power replicates). Same output either way.

    Returns
    -------
    Journeys
    """
    from qualmodel import __version__
    from qualmodel.journeys.contract import Journeys
    from qualmodel.simulation.twin import simulate_twin

    sc, (n, seed) = scenario, check_params(n_leads, seed)
    if getattr(sc, "kind", None) == "twin":  # a fitted scenario (docs/twin.md)
        return simulate_twin(sc, n, seed)
    nurture_on = sc.nurture.enabled if nurture is None else bool(nurture)
    report = step if step is not None else (lambda label: None)
    lead_table, event_table = _simulate_arrays(sc, n, seed, nurture_on, report, reuse_ids)
    meta = {
        "source": sc.name,
        "generator": GENERATOR,
        "seed": seed,
        "config_hash": scenario_hash(sc),
        "time_unit": "days",
        "qualmodel_version": __version__,
        "n_leads": n,
        "nurture": nurture_on,
        "window_start": sc.window.start.isoformat(),
        "window_days": sc.window.days,
    }
    journeys = Journeys.trusted(lead_table, event_table, meta)  # contract form by construction
    report("validation")
    return journeys


def _population(sc: Scenario, n: int, seed: int, nurture_on: bool) -> dict[str, Any]:
    """Draw segment, latent intent, arrival, true BANT and the nurture assignment."""
    segs = sc.segment_names
    rng = _rng(seed, "population")
    seg = rng.choice(len(segs), size=n, p=[s.share for s in sc.segments]).astype(np.int8)
    mu = np.array([s.intent_mean for s in sc.segments])
    z = mu[seg] + sc.intent.sd * rng.standard_normal(n)
    created = rng.random(n) * sc.window.arrival_days

    # true BANT attributes, correlated with intent and segment
    rng = _rng(seed, "bant")
    truth: dict[str, np.ndarray] = {}
    for attr in _BANT:
        spec = getattr(sc.bant, attr)
        off = spec.intent_log_odds * z + _seg_effect(spec.segment_log_odds, segs, seg)
        a = _calibrate_intercept(off, spec.share)
        truth[attr] = rng.random(n) < _sigmoid(a + off)
    tl = sc.bant.timeline
    timeline = np.round(
        tl.median_days * np.exp(tl.intent_log_effect * z + tl.sigma * rng.standard_normal(n))
    )
    timeline = np.maximum(timeline, 1.0)

    # nurture assignment (randomised)
    rng = _rng(seed, "nurture")
    nurtured = (rng.random(n) < sc.nurture.share) & nurture_on
    return {
        "seg": seg,
        "z": z,
        "created": created,
        "truth": truth,
        "timeline": timeline,
        "nurtured": nurtured,
    }


def _funnel(sc: Scenario, n: int, seed: int, z: np.ndarray, created: np.ndarray) -> dict:
    """Draw created → MQL → SAL (latent, before censoring) and the stage times."""
    rng = _rng(seed, "funnel")
    f_mql, f_sal = sc.funnel.mql, sc.funnel.sal
    off = f_mql.intent_log_odds * z
    mql = rng.random(n) < _sigmoid(_calibrate_intercept(off, f_mql.share) + off)
    mql_t = created + rng.exponential(f_mql.delay_mean_days, n)
    off = f_sal.intent_log_odds * z
    a = _calibrate_intercept(off[mql], f_sal.share)
    sal = mql & (rng.random(n) < _sigmoid(a + off))
    sal_t = mql_t + rng.exponential(f_sal.delay_mean_days, n)
    return {"mql": mql, "mql_t": mql_t, "sal": sal, "sal_t": sal_t}


def _sales(sc: Scenario, n: int, seed: int, lat: dict[str, Any]) -> dict[str, np.ndarray]:
    """Draw the sales process from SAL: cure fraction and competing Weibull PH hazards."""
    segs = sc.segment_names
    seg, z, truth, sal, sal_t = lat["seg"], lat["z"], lat["truth"], lat["sal"], lat["sal_t"]
    rng = _rng(seed, "sales")
    nc = sc.sales.never_convert
    off = (
        nc.no_budget_log_odds * ~truth["budget"]
        + nc.no_authority_log_odds * ~truth["authority"]
        + nc.no_need_log_odds * ~truth["need"]
        + nc.intent_log_odds * z
    )
    a = _calibrate_intercept(off[sal], nc.share)
    cured = rng.random(n) < _sigmoid(a + off)
    values = {
        "intent": z,
        "nurtured": lat["nurtured"].astype(np.float64),
        **{k: v.astype(np.float64) for k, v in truth.items()},
    }
    w_sqo, w_dq = sc.sales.sqo, sc.sales.disqualification
    lp_sqo = _lp(w_sqo.log_hr, seg, segs, values)
    lp_dq = _lp(w_dq.log_hr, seg, segs, values) + w_dq.never_convert_log_hr * cured
    t_sqo = weibull_ph_times(rng, lp_sqo, w_sqo.shape, w_sqo.scale_days)
    t_sqo[cured] = np.inf
    t_dq = weibull_ph_times(rng, lp_dq, w_dq.shape, w_dq.scale_days)
    sqo_latent = sal & (t_sqo < t_dq)
    dq_latent = sal & (t_dq <= t_sqo)
    ready_t = np.where(sal & ~cured, sal_t + t_sqo, np.inf)
    return {
        "cured": cured,
        "lp_sqo": lp_sqo,
        "lp_dq": lp_dq,
        "sqo_latent": sqo_latent,
        "ready_t": ready_t,
        "sqo_t": np.where(sqo_latent, ready_t, np.inf),
        "dq_t": np.where(dq_latent, sal_t + t_dq, np.inf),
    }


def _close(sc: Scenario, n: int, seed: int, lat: dict[str, Any]) -> dict[str, np.ndarray]:
    """Draw the close after SQO: won vs lost and the time to close."""
    segs = sc.segment_names
    seg, z = lat["seg"], lat["z"]
    rng = _rng(seed, "close")
    cl = sc.sales.close
    off = cl.intent_log_odds * z + _seg_effect(cl.segment_log_odds, segs, seg)
    a = _calibrate_intercept(off[lat["sqo_latent"]], cl.win_share)
    won_latent = rng.random(n) < _sigmoid(a + off)
    med = np.array([cl.days_median[s] for s in segs])
    close_t = lat["sqo_t"] + med[seg] * np.exp(cl.days_sigma * rng.standard_normal(n))
    return {"won_latent": won_latent, "close_t": close_t}


def _touchpoint_stream(
    sc: Scenario, n: int, seed: int, lat: dict[str, Any], cutoff: float, signals: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Draw background touchpoints (declared events + nurture emails), merged with signals."""
    segs = sc.segment_names
    seg, z, nurtured = lat["seg"], lat["z"], lat["nurtured"]
    tp_names = list(sc.touchpoints)
    rates = np.empty((n, len(tp_names) + 1), dtype=np.float64)
    for j, ev in enumerate(tp_names):
        tp = sc.touchpoints[ev]
        log_rr = (
            tp.intent_log_rr * z
            + tp.nurture_log_rr * nurtured
            + _seg_effect(tp.segment_log_rr, segs, seg)
        )
        rates[:, j] = tp.rate_per_30d / 30.0 * np.exp(log_rr)
    rates[:, -1] = np.where(nurtured, sc.nurture.email_rate_per_30d / 30.0, 0.0)
    rng = _rng(seed, "touchpoints")
    codes = type_codes([*tp_names, "nurture_email", *_BANT_EVENTS])
    return background_events(rng, rates, lat["created"], cutoff, signals, codes)


def _signal_parts(
    sc: Scenario, n: int, seed: int, lat: dict[str, Any], cutoff: float, all_names: list[str]
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], list[np.ndarray], dict]:
    """Draw readiness bursts of SQO-type events and BANT discovery events, per event name.

    Returns lists of lead codes, times (days), type codes and values, plus which BANT
    attributes each lead has disclosed by the cutoff.
    """
    b_codes, b_t, b_type, b_val = [], [], [], []

    def add(idx: np.ndarray, t: np.ndarray, name: str, val: np.ndarray) -> None:
        b_codes.append(idx)
        b_t.append(t[idx])
        b_type.append(np.full(idx.size, all_names.index(name), dtype=np.int16))
        b_val.append(val)

    rng = _rng(seed, "bursts")
    for ev in sc.touchpoints:
        tp = sc.touchpoints[ev]
        if tp.kind != "sqo":
            continue
        emit = lat["sqo_latent"] & (rng.random(n) < tp.p_ready)
        t = np.maximum(lat["ready_t"] - rng.exponential(tp.ready_lead_mean_days, n), lat["created"])
        emit &= t <= cutoff
        idx = np.flatnonzero(emit)
        add(idx, t, ev, np.full(idx.size, np.nan))
    rng = _rng(seed, "discovery")
    known: dict[str, np.ndarray] = {}
    for attr in (*_BANT, "timeline"):
        spec = getattr(sc.bant, attr)
        t = lat["sal_t"] + rng.exponential(spec.discovery_mean_days, n)
        found = lat["sal"] & (t <= cutoff) & (t < lat["dq_t"])
        known[attr] = found
        idx = np.flatnonzero(found)
        val = lat["timeline"] if attr == "timeline" else lat["truth"][attr].astype(np.float64)
        add(idx, t, f"bant_{attr}", val[idx])
    return b_codes, b_t, b_type, b_val, known


def _leads_table(
    sc: Scenario, ids: np.ndarray, lat: dict[str, Any], known: dict, start_ns: int
) -> pd.DataFrame:
    """Build the leads table: observed stage timestamps, disclosed BANT and the truth."""
    n = ids.size
    cutoff = float(sc.window.days)
    truth, timeline, sal, cured = lat["truth"], lat["timeline"], lat["sal"], lat["cured"]
    sqo_latent, won_latent, close_t = lat["sqo_latent"], lat["won_latent"], lat["close_t"]
    end = np.full(n, start_ns + int(round(cutoff * _DAY_S)) * _NS).view("datetime64[ns]")
    end_sec = np.floor(cutoff * _DAY_S) / _DAY_S

    def ts(days: np.ndarray, cond: np.ndarray | None = None) -> np.ndarray:
        d = days if cond is None else np.where(cond, days, np.inf)
        return _days_to_ns(d, start_ns, end_sec)

    return pd.DataFrame(
        {
            "lead_id": ids,
            "created_at": ts(lat["created"]),
            "observed_until": end,
            "segment": pd.Categorical.from_codes(
                lat["seg"], dtype=pd.CategoricalDtype(sc.segment_names)
            ),
            "nurtured": lat["nurtured"],
            "mql_at": ts(lat["mql_t"], lat["mql"]),
            "sal_at": ts(lat["sal_t"], sal),
            "sqo_at": ts(lat["sqo_t"]),
            "disqualified_at": ts(lat["dq_t"]),
            "won_at": ts(close_t, sqo_latent & won_latent),
            "lost_at": ts(close_t, sqo_latent & ~won_latent),
            "budget_confirmed": _nullable_bool(truth["budget"], known["budget"]),
            "authority": _nullable_bool(truth["authority"], known["authority"]),
            "need": _nullable_bool(truth["need"], known["need"]),
            "timeline_days": np.where(known["timeline"], timeline, np.nan),
            "true_intent": lat["z"],
            "true_buyer": won_latent & ~cured,
            "true_ready_at": _days_to_ns(
                np.where(sal & ~cured, lat["ready_t"], np.inf), start_ns, _MAX_DAYS
            ),
            "true_never_convert": cured,
            "true_sal": sal,
            "true_budget": truth["budget"],
            "true_authority": truth["authority"],
            "true_need": truth["need"],
            "true_timeline_days": timeline,
            "true_sqo_lp": lat["lp_sqo"],
            "true_dq_lp": lat["lp_dq"],
        },
        copy=False,
    )


def _simulate_arrays(
    sc: Scenario,
    n: int,
    seed: int,
    nurture_on: bool,
    step: Callable[[str], None],
    reuse_ids: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    cutoff = float(sc.window.days)
    start_ns = int(pd.Timestamp(sc.window.start).value)

    lat = _population(sc, n, seed, nurture_on)
    step("population")
    lat.update(_funnel(sc, n, seed, lat["z"], lat["created"]))
    lat.update(_sales(sc, n, seed, lat))
    lat.update(_close(sc, n, seed, lat))
    step("sales process")
    all_names = [*sc.touchpoints, "nurture_email", *_BANT_EVENTS]
    *parts, known = _signal_parts(sc, n, seed, lat, cutoff, all_names)
    signals = sorted_signals(tuple(parts))
    del parts
    step("signals")
    merged = _touchpoint_stream(sc, n, seed, lat, cutoff, signals)
    del signals
    step("touchpoints")
    ids = _lead_ids(n, reuse_ids)
    events = events_table(merged, pd.Index(ids, dtype=object, name="lead_id"), all_names, start_ns)
    del merged
    leads = _leads_table(sc, ids, lat, known, start_ns)
    step("tables")
    return leads, events
