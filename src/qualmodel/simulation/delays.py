"""Delay families of a fitted scenario: how long a lead takes to reach a stage, given it does.

Each family is a small pydantic model (part of the twin scenario schema) with a CDF and a
quantile function, so the simulator draws delays by inversion (``quantile(U)``) and the
fitting code evaluates the CDF on a grid of days:

* ``point`` — every lead takes exactly ``days`` (0: the stage is reached at once);
* ``weibull`` — ``F(t) = 1 − exp(−(t/scale)^shape)``;
* ``lognormal`` — ``log T ~ Normal(log median, sigma)``;
* ``empirical`` — a piecewise-linear CDF through ``(knots_days, cdf)`` (piecewise-constant
  density between knots, an atom at the first knot when ``cdf[0] > 0``); follows
  heavy-tailed and bimodal delays, and ends at the last knot (no extrapolation).
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy import special

__all__ = ["Delay", "EmpiricalDelay", "LognormalDelay", "PointDelay", "WeibullDelay"]

#: Longest delay any family may describe (30 years), as for the built-in scenarios.
MAX_DELAY_DAYS = 10_950.0
Days = Annotated[float, Field(ge=0.0, le=MAX_DELAY_DAYS, allow_inf_nan=False)]
PositiveDays = Annotated[float, Field(gt=0.0, le=MAX_DELAY_DAYS, allow_inf_nan=False)]
Shape = Annotated[float, Field(gt=0.0, le=20.0, allow_inf_nan=False)]


class _Family(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def cdf(self, t: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def quantile(self, u: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


class PointDelay(_Family):
    """Every lead takes exactly ``days``."""

    family: Literal["point"]
    days: Days = 0.0

    def cdf(self, t: np.ndarray) -> np.ndarray:
        """Probability that the delay is ≤ ``t`` days."""
        return (np.asarray(t, dtype=np.float64) >= self.days).astype(np.float64)

    def quantile(self, u: np.ndarray) -> np.ndarray:
        """Delay in days at probability ``u``."""
        return np.full(np.shape(u), self.days, dtype=np.float64)


class WeibullDelay(_Family):
    """``F(t) = 1 − exp(−(t / scale_days)^shape)``."""

    family: Literal["weibull"]
    shape: Shape
    scale_days: PositiveDays

    def cdf(self, t: np.ndarray) -> np.ndarray:
        """Probability that the delay is ≤ ``t`` days."""
        x = np.maximum(np.asarray(t, dtype=np.float64), 0.0) / self.scale_days
        return -np.expm1(-(x**self.shape))

    def quantile(self, u: np.ndarray) -> np.ndarray:
        """Delay in days at probability ``u``."""
        u = np.clip(np.asarray(u, dtype=np.float64), 0.0, 1.0 - 1e-16)
        return self.scale_days * (-np.log1p(-u)) ** (1.0 / self.shape)


class LognormalDelay(_Family):
    """``log T ~ Normal(log median_days, sigma)``."""

    family: Literal["lognormal"]
    median_days: PositiveDays
    sigma: Shape

    def cdf(self, t: np.ndarray) -> np.ndarray:
        """Probability that the delay is ≤ ``t`` days."""
        t = np.asarray(t, dtype=np.float64)
        with np.errstate(divide="ignore"):
            z = (np.log(np.maximum(t, 0.0)) - np.log(self.median_days)) / self.sigma
        return special.ndtr(z)

    def quantile(self, u: np.ndarray) -> np.ndarray:
        """Delay in days at probability ``u``."""
        u = np.clip(np.asarray(u, dtype=np.float64), 1e-16, 1.0 - 1e-16)
        return self.median_days * np.exp(self.sigma * special.ndtri(u))


class EmpiricalDelay(_Family):
    """Piecewise-linear CDF through ``(knots_days[i], cdf[i])``, ending at 1."""

    family: Literal["empirical"]
    knots_days: Annotated[list[Days], Field(min_length=2, max_length=400)]
    cdf_at_knots: Annotated[
        list[Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]],
        Field(min_length=2, max_length=400),
    ]

    @model_validator(mode="after")
    def _shape(self) -> EmpiricalDelay:
        k, c = np.asarray(self.knots_days), np.asarray(self.cdf_at_knots)
        if k.size != c.size:
            raise ValueError("knots_days and cdf_at_knots must have the same length")
        if np.any(np.diff(k) <= 0):
            raise ValueError("knots_days must be strictly increasing")
        if np.any(np.diff(c) < 0):
            raise ValueError("cdf_at_knots must be non-decreasing")
        if abs(c[-1] - 1.0) > 1e-9:
            raise ValueError("cdf_at_knots must end at 1")
        return self

    def cdf(self, t: np.ndarray) -> np.ndarray:
        """Probability that the delay is ≤ ``t`` days."""
        t = np.asarray(t, dtype=np.float64)
        out = np.interp(t, self.knots_days, self.cdf_at_knots)
        return np.where(t < self.knots_days[0], 0.0, out)

    def quantile(self, u: np.ndarray) -> np.ndarray:
        """Delay in days at probability ``u`` (inverse of the piecewise-linear CDF)."""
        k = np.asarray(self.knots_days)
        c = np.asarray(self.cdf_at_knots)
        u = np.clip(np.asarray(u, dtype=np.float64), 0.0, 1.0)
        # on flat pieces take the right end; below cdf[0] the atom at the first knot
        idx = np.clip(np.searchsorted(c, u, side="left"), 1, len(c) - 1)
        c0, c1 = c[idx - 1], c[idx]
        k0, k1 = k[idx - 1], k[idx]
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(c1 > c0, (u - c0) / (c1 - c0), 1.0)
        out = k0 + np.clip(frac, 0.0, 1.0) * (k1 - k0)
        return np.where(u <= c[0], k[0], out)


#: A delay distribution of the twin scenario schema (chosen by its ``family`` key).
Delay = Annotated[
    PointDelay | WeibullDelay | LognormalDelay | EmpiricalDelay, Field(discriminator="family")
]
