"""Range checks of numeric parameters, shared by the API and the CLI.

Each check raises a one-line :class:`~qualmodel.core.errors.ConfigError` that names the
parameter, the value and the allowed range, so a wrong number is refused before any work
starts.
"""

from __future__ import annotations

import math
from typing import Any

from qualmodel.core.errors import ConfigError

__all__ = ["MAX_BOOT", "MAX_SEED", "check_count", "check_number", "check_seed"]

#: Largest seed: numpy's SeedSequence takes any non-negative integer; 2**63 - 1 keeps it
#: an int64 everywhere (CSV, JSON, Dask).
MAX_SEED = 2**63 - 1
#: Most bootstrap resamples per call (``compare``, ``search``): the CIs settle long before.
MAX_BOOT = 100_000


def check_seed(name: str, value: Any) -> int:
    """Return ``value`` as a seed: an integer 0 ≤ seed ≤ 2**63 − 1."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        raise ConfigError(f"{name}: a seed is a whole number from 0 to 2**63 - 1, got {value!r}")
    return value


def check_count(name: str, value: Any, *, low: int = 1, high: int | None = None) -> int:
    """Return ``value`` as a whole number in ``[low, high]``."""
    ok = isinstance(value, int) and not isinstance(value, bool)
    if not ok or value < low or (high is not None and value > high):
        bound = f"from {low:,} to {high:,}" if high is not None else f"≥ {low:,}"
        raise ConfigError(f"{name}: expected a whole number {bound}, got {value!r}")
    return value


def check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a finite float within the given bounds (open or closed)."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        x = math.nan
    bad = not math.isfinite(x)
    if low is not None:
        bad = bad or (x <= low if low_open else x < low)
    if high is not None:
        bad = bad or (x >= high if high_open else x > high)
    if bad:
        lo = "" if low is None else f"{'>' if low_open else '≥'} {low:g}"
        hi = "" if high is None else f"{'<' if high_open else '≤'} {high:g}"
        rng = " and ".join(p for p in (lo, hi) if p) or "finite"
        raise ConfigError(f"{name}: expected a finite number {rng}, got {value!r}")
    return x
