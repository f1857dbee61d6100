"""Strict schema of a twin's per-class blocks: ``intent:``, ``bant:``, ``timeline:``, segment.

Each block holds what the data show for each outcome class of leads (``target``: reached
the plan's target in the window; ``start``: reached only its start; ``other``); the model
is written out in ``docs/twin.md``. Every key is checked here, so a hand-edited twin file
with a misspelt key, a share above 1, quantiles that decrease or a pattern of the wrong
length fails on load with one line naming the key and the fix.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["ClassName", "IntentClass", "TwinBant", "TwinIntent", "TwinTimeline"]

#: Outcome classes of leads (as :data:`~qualmodel.simulation.twin_intent.CLASSES`).
ClassName = Literal["target", "start", "other"]

Share = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Source = Annotated[str, Field(min_length=3)]
#: Most intent events (the fit keeps at most 12).
MAX_INTENT_EVENTS = 24
#: Largest |days| of an event offset or timeline value (30 years).
MAX_DAYS = 10_950.0


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def check_quantiles(q: list[float], nonneg: bool = False) -> list[float]:
    """Quantiles: at least 2 finite values, non-decreasing, within 30 years."""
    if len(q) < 2:
        raise ValueError("give at least 2 quantiles (values at probabilities 0 .. 1)")
    if any(not math.isfinite(x) or abs(x) > MAX_DAYS for x in q):
        raise ValueError(f"quantiles must be finite days within ±{MAX_DAYS:,.0f}")
    if any(b < a for a, b in zip(q, q[1:], strict=False)):
        raise ValueError("quantiles must not decrease; list them from probability 0 to 1")
    if nonneg and q[0] < 0:
        raise ValueError("timeline quantiles must be ≥ 0 days")
    return q


class _KnownSplit(_Model):
    """Share known (and, with ``event``, among the leads with / without that event)."""

    known_share: Share
    known_with_event: Share | None = None
    known_without_event: Share | None = None

    @model_validator(mode="after")
    def _pair(self) -> _KnownSplit:
        if (self.known_with_event is None) != (self.known_without_event is None):
            raise ValueError("give known_with_event and known_without_event together")
        return self


class BantClass(_KnownSplit):
    """A BANT fact for one outcome class: share known, share true among the known."""

    true_share: Share


class TimelineClass(_KnownSplit):
    """The timeline for one outcome class: share known, quantiles among the known."""

    quantiles_days: list[float]

    @field_validator("quantiles_days")
    @classmethod
    def _q(cls, q: list[float]) -> list[float]:
        return check_quantiles(q, nonneg=True)


def _check_event_split(event: str | None, by_class: dict | None) -> None:
    split = [c for c, v in (by_class or {}).items() if v.known_with_event is not None]
    if split and event is None:
        raise ValueError(
            f"by_class.{split[0]}: known_with_event needs 'event' (the event that records "
            f"when the fact became known, e.g. bant_budget); add it or drop the split"
        )


class TwinBant(_Model):
    """A BANT column: share of leads where it is known, share true among the known.

    ``by_class`` (optional): the same per outcome class; ``event`` (optional): the event
    recording when the fact became known — the class entries then give the share known
    among the leads with and without it (``known_with_event``, ``known_without_event``).
    """

    known_share: Share
    true_share: Share
    event: Annotated[str, Field(min_length=1)] | None = None
    by_class: dict[ClassName, BantClass] | None = None
    source: Source

    @model_validator(mode="after")
    def _event(self) -> TwinBant:
        _check_event_split(self.event, self.by_class)
        return self


class TwinTimeline(_Model):
    """The BANT timeline (days to a decision): share known, quantiles among the known.

    ``quantiles_days`` are the values at evenly spaced probabilities 0, 1/k, ..., 1; a
    simulated lead's timeline is their linear interpolation at a uniform draw. ``event``
    and ``by_class`` as for :class:`TwinBant`.
    """

    known_share: Share
    quantiles_days: list[float]
    event: Annotated[str, Field(min_length=1)] | None = None
    by_class: dict[ClassName, TimelineClass] | None = None
    source: Source

    @field_validator("quantiles_days")
    @classmethod
    def _q(cls, q: list[float]) -> list[float]:
        return check_quantiles(q, nonneg=True)

    @model_validator(mode="after")
    def _event(self) -> TwinTimeline:
        _check_event_split(self.event, self.by_class)
        return self


class IntentClass(_Model):
    """Intent events of one outcome class (see :mod:`~.twin_intent`)."""

    patterns: Annotated[dict[str, Share], Field(min_length=1)]
    #: optional: inner edges (days of follow-up, window end − arrival) of groups with their
    #: own pattern shares, one table per group
    follow_up_edges_days: list[float] | None = None
    patterns_by_follow_up: list[dict[str, Share]] | None = None
    #: optional (class ``target``): pattern shares per outcome of the target's leads — the
    #: stage after the target reached first in the window (e.g. won, lost) or ``open``
    patterns_by_outcome: dict[str, dict[str, Share]] | None = None
    extra: dict[str, Annotated[float, Field(ge=0.0, le=1_000.0, allow_inf_nan=False)]]
    anchors: dict[str, Annotated[str, Field(min_length=1)]]
    first_days: dict[str, list[float]]
    gap_days: dict[str, list[float]]
    #: per event: ``days`` (tables in days, the default) or ``follow_up`` (tables in shares
    #: of the lead's follow-up from the anchor, and of what is left of it after the first)
    timing: dict[str, Literal["days", "follow_up"]] = Field(default_factory=dict)

    @field_validator("first_days", "gap_days")
    @classmethod
    def _q(cls, table: dict[str, list[float]]) -> dict[str, list[float]]:
        for ev, q in table.items():
            try:
                check_quantiles(q)
            except ValueError as exc:
                raise ValueError(f"{ev}: {exc}") from None
        return table

    @field_validator("patterns")
    @classmethod
    def _patterns(cls, pats: dict[str, float]) -> dict[str, float]:
        bad = [k for k in pats if not k or set(k) - {"0", "1"}]
        if bad:
            raise ValueError(f"pattern '{bad[0]}' is not a string of 0/1 (one per event)")
        if abs(sum(pats.values()) - 1.0) > 1e-6:
            raise ValueError(f"pattern shares must sum to 1, got {sum(pats.values()):.6g}")
        return pats

    @model_validator(mode="after")
    def _groups(self) -> IntentClass:
        edges, tables = self.follow_up_edges_days, self.patterns_by_follow_up
        if (edges is None) != (tables is None):
            raise ValueError("give follow_up_edges_days and patterns_by_follow_up together")
        if edges is None:
            return self
        if any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
            raise ValueError("follow_up_edges_days must increase")
        if len(tables) != len(edges) + 1:
            raise ValueError("patterns_by_follow_up: give one table per group (edges + 1)")
        for g, table in enumerate(tables):
            try:
                type(self)._patterns(table)
            except ValueError as exc:
                raise ValueError(f"patterns_by_follow_up[{g}]: {exc}") from None
        return self

    @model_validator(mode="after")
    def _outcomes(self) -> IntentClass:
        for name, table in (self.patterns_by_outcome or {}).items():
            try:
                type(self)._patterns(table)
            except ValueError as exc:
                raise ValueError(f"patterns_by_outcome.{name}: {exc}") from None
        return self

    def check(self, events: list[str], where: str) -> None:
        """Every table names exactly ``events``; patterns have one digit per event."""
        for key in ("extra", "anchors", "first_days", "gap_days", "timing"):
            got = set(getattr(self, key))
            if got != set(events) and (key != "timing" or got - set(events)):
                odd = sorted(got ^ set(events))[0]
                raise ValueError(
                    f"{where}.{key}: '{odd}' {'is not' if odd in got else 'missing'} among "
                    f"intent.events; give one entry per event"
                )
        tables = [*(self.patterns_by_follow_up or []), *(self.patterns_by_outcome or {}).values()]
        keys = [*self.patterns, *(k for t in tables for k in t)]
        bad = [k for k in keys if len(k) != len(events)]
        if bad:
            raise ValueError(
                f"{where}.patterns: '{bad[0]}' has {len(bad[0])} digit(s) for "
                f"{len(events)} events; give one 0/1 per event, in the order of intent.events"
            )


class TwinIntent(_Model):
    """High-intent touchpoints per outcome class (``start`` optional: drawn as ``other``)."""

    events: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    target: IntentClass
    start: IntentClass | None = None
    other: IntentClass
    source: Source

    @model_validator(mode="after")
    def _tables(self) -> TwinIntent:
        if len(set(self.events)) != len(self.events) or len(self.events) > MAX_INTENT_EVENTS:
            raise ValueError(f"events: list at most {MAX_INTENT_EVENTS} distinct event names")
        for name in ("target", "start", "other"):
            block = getattr(self, name)
            if block is not None:
                block.check(self.events, name)
        return self

    def classes(self) -> dict[str, IntentClass]:
        """Return the class blocks present, by class name."""
        out = {"target": self.target, "start": self.start, "other": self.other}
        return {k: v for k, v in out.items() if v is not None}
