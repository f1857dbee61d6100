"""Array kernels of the criteria engine against plain numpy/pandas formulations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qualmodel.criteria.arrays import first_after, first_per_lead, kth_recent_scan, seg_cumsum


def _events(seed: int, n_leads: int = 60):
    rng = np.random.default_rng(seed)
    per = rng.integers(0, 9, n_leads)
    codes = np.repeat(np.arange(n_leads), per).astype(np.intp)
    ts = np.concatenate([np.sort(rng.integers(0, 50, k)) for k in per]).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(per)]).astype(np.intp)
    return rng, codes, ts, offsets


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("k", [1, 2, 3])
def test_kth_recent_matches_a_per_lead_loop(seed, k):
    rng, codes, ts, _ = _events(seed)
    mask = rng.random(codes.size) < 0.4
    got = kth_recent_scan(mask, codes, ts, k)
    never = np.iinfo(np.int64).min
    want = np.full(codes.size, never)
    for i in range(codes.size):
        same = [j for j in range(i + 1) if mask[j] and codes[j] == codes[i]]
        if len(same) >= k:
            want[i] = ts[same[-k]]
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("strict", [True, False])
def test_first_after_is_searchsorted_per_lead(seed, strict):
    rng, codes, ts, offsets = _events(seed)
    leads = rng.integers(0, offsets.size - 1, 200)
    t = rng.integers(-5, 55, leads.size)
    got = first_after(ts, offsets[leads], offsets[leads + 1], t, strict=strict)
    side = "right" if strict else "left"
    want = [
        offsets[lead] + np.searchsorted(ts[offsets[lead] : offsets[lead + 1]], x, side=side)
        for lead, x in zip(leads, t, strict=True)
    ]
    np.testing.assert_array_equal(got, want)
    # a float bound compares as numpy compares int64 with float64
    tf = t + 0.5
    got_f = first_after(ts, offsets[leads], offsets[leads + 1], tf, strict=strict)
    want_f = [
        offsets[lead] + int((ts[offsets[lead] : offsets[lead + 1]] <= x).sum())
        if strict
        else offsets[lead] + int((ts[offsets[lead] : offsets[lead + 1]] < x).sum())
        for lead, x in zip(leads, tf, strict=True)
    ]
    np.testing.assert_array_equal(got_f, want_f)


def test_seg_cumsum_and_first_per_lead():
    rng, codes, ts, _ = _events(7)
    values = rng.normal(size=codes.size)
    want = pd.Series(values).groupby(codes).cumsum().to_numpy()
    np.testing.assert_allclose(seg_cumsum(values, codes, int(codes.max()) + 1), want)
    rows = np.flatnonzero(rng.random(codes.size) < 0.3)
    leads, firsts = first_per_lead(rows, codes, ts, int(codes.max()) + 1)
    frame = pd.DataFrame({"lead": codes[rows], "ts": ts[rows]}).groupby("lead")["ts"].first()
    np.testing.assert_array_equal(leads, frame.index.to_numpy())
    np.testing.assert_array_equal(firsts, frame.to_numpy())
