"""Schema of a fitted scenario (a "funnel twin"): a scenario file with ``kind: twin``.

A twin describes the funnel a data set shows, not a latent world: leads arrive over the
window (``arrivals``), carry a segment drawn from its observed mix (``segment``), and move
through a tree of stages (``stages``). Each stage is reached from one earlier stage
(``after``) by a share of the leads that reached that one, after a delay drawn from its
own family (:mod:`qualmodel.simulation.delays`). Stages with the same ``after`` compete:
a lead reaches at most one of them, so ``share`` × ``delay`` CDF is that outcome's
cumulative incidence from ``after``. Optional blocks: touchpoint rates (``touchpoints``),
BANT shares (``bant``), and the outcome names the data declare (``outcomes``).
``source`` holds the fit notes (journeys hash, fit distances, bootstrap spread); the
generative model is written out in ``docs/twin.md``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from qualmodel.journeys.contract import STAGE_COLUMNS
from qualmodel.simulation.delays import Delay
from qualmodel.simulation.twin_blocks import ClassName, TwinBant, TwinIntent, TwinTimeline

__all__ = ["Arrivals", "TwinScenario", "TwinStage"]

Share = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Source = Annotated[str, Field(min_length=3)]
NonNegFloat = Annotated[float, Field(ge=0.0, le=1_000.0, allow_inf_nan=False)]
Days = Annotated[float, Field(gt=0.0, le=10_950.0, allow_inf_nan=False)]
#: Standard stage stems a twin may hold (extra outcomes come from ``outcomes``).
STANDARD_STAGES: tuple[str, ...] = tuple(c.removesuffix("_at") for c in STAGE_COLUMNS)
#: Most arrival bins (a weekly profile over 30 years stays below it).
MAX_BINS = 2_000


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TwinWindow(_Model):
    """Observation window: leads arrive over ``arrival_days`` and are observed until ``days``."""

    start: date
    days: Days
    arrival_days: Days
    source: Source

    @model_validator(mode="after")
    def _inside(self) -> TwinWindow:
        if self.arrival_days > self.days:
            raise ValueError("arrival_days must not exceed days")
        return self


class Arrivals(_Model):
    """Arrival profile: share of leads created in each bin ``[edges[i], edges[i+1])`` days."""

    edges_days: Annotated[list[float], Field(min_length=2, max_length=MAX_BINS + 1)]
    shares: Annotated[list[Share], Field(min_length=1, max_length=MAX_BINS)]
    source: Source

    @model_validator(mode="after")
    def _bins(self) -> Arrivals:
        e = self.edges_days
        if len(e) != len(self.shares) + 1:
            raise ValueError("edges_days needs one more entry than shares")
        if e[0] != 0.0 or any(b <= a for a, b in zip(e, e[1:], strict=False)):
            raise ValueError("edges_days must start at 0 and increase")
        if abs(sum(self.shares) - 1.0) > 1e-6:
            raise ValueError(f"shares must sum to 1, got {sum(self.shares):.6g}")
        return self


class TwinSegment(_Model):
    """Mix of one lead attribute, written to the ``segment`` column (and under its name)."""

    column: Annotated[str, Field(min_length=1)]
    shares: dict[str, Share]
    #: optional mix per outcome class (``target``, ``start``, ``other``), drawn when present
    by_class: dict[ClassName, dict[str, Share]] | None = None
    source: Source

    @model_validator(mode="after")
    def _sum(self) -> TwinSegment:
        if len(self.shares) < 2:
            raise ValueError("a segment needs at least two values")
        if abs(sum(self.shares.values()) - 1.0) > 1e-6:
            raise ValueError("segment shares must sum to 1")
        for cls, mix in (self.by_class or {}).items():
            if list(mix) != list(self.shares):
                raise ValueError(f"by_class.{cls}: list the values of shares, in the same order")
            if abs(sum(mix.values()) - 1.0) > 1e-6:
                raise ValueError(f"by_class.{cls}: shares must sum to 1")
        return self


class CohortFit(_Model):
    """Share and delay of a stage for the leads of one arrival cohort."""

    share: Share
    delay: Delay


class TwinStage(_Model):
    """A stage reached from ``after`` by ``share`` of its leads after a ``delay``.

    With arrival cohorts (``TwinScenario.cohorts_days``), ``by_cohort`` gives the share
    and delay of each cohort; ``share`` and ``delay`` are then the pooled fit (reported,
    not simulated).
    """

    after: Annotated[str, Field(min_length=1)]
    share: Share
    delay: Delay
    by_cohort: list[CohortFit] | None = None
    source: Source

    def cohort(self, c: int) -> CohortFit | TwinStage:
        """Share and delay for arrival cohort ``c``."""
        return self if self.by_cohort is None else self.by_cohort[c]


class TwinEvent(_Model):
    """A touchpoint: Poisson rates per 30 days of follow-up, target leads vs the others.

    The ratio of the two rates carries the association of the touchpoint with conversion.
    """

    rate_per_30d_target: NonNegFloat
    rate_per_30d_other: NonNegFloat
    source: Source


class Plan(_Model):
    """The analysis the twin was fitted for: clock start and target (stage stems)."""

    start: str
    target: str


class TwinScenario(_Model):
    """A fitted scenario; load with :func:`~qualmodel.simulation.scenario.load_scenario`."""

    kind: Literal["twin"]
    name: Annotated[str, Field(min_length=1)]
    description: Annotated[str, Field(min_length=1)]
    n_leads: Annotated[int, Field(ge=1, le=50_000_000)]
    window: TwinWindow
    resolution: Literal["day", "second"]
    arrivals: Arrivals
    cohorts_days: list[float] | None = None
    segment: TwinSegment | None = None
    stages: Annotated[dict[str, TwinStage], Field(min_length=1)]
    outcomes: dict[str, str] = Field(default_factory=dict)
    touchpoints: dict[str, TwinEvent] = Field(default_factory=dict)
    bant: dict[Literal["budget_confirmed", "authority", "need"], TwinBant] = Field(
        default_factory=dict
    )
    timeline: TwinTimeline | None = None
    intent: TwinIntent | None = None
    plan: Plan
    source: dict[str, Any]

    @model_validator(mode="after")
    def _consistent(self) -> TwinScenario:
        if abs(self.arrivals.edges_days[-1] - self.window.arrival_days) > 1e-6:
            raise ValueError("arrivals.edges_days must end at window.arrival_days")
        self._check_cohorts()
        known = set(STANDARD_STAGES) | {c.removesuffix("_at") for c in self.outcomes.values()}
        for stem, st in self.stages.items():
            if stem not in known:
                raise ValueError(
                    f"stages.{stem}: unknown stage; use one of {', '.join(sorted(known))} "
                    f"or declare it under outcomes"
                )
            if st.after != "created" and st.after not in self.stages:
                raise ValueError(f"stages.{stem}.after: '{st.after}' is not created or a stage")
        self.stage_order()  # raises on cycles
        for parent in {"created", *self.stages}:
            kids = [s for s in self.stages.values() if s.after == parent]
            for c in range(self.n_cohorts):
                total = sum(k.cohort(c).share for k in kids)
                if total > 1.0 + 1e-9:
                    raise ValueError(f"stages after {parent}: shares sum to {total:.6g} > 1")
        for stem in (self.plan.start, self.plan.target):
            if stem != "created" and stem not in self.stages:
                raise ValueError(f"plan: '{stem}' is not created or a stage")
        self._check_anchors()
        return self

    def _check_anchors(self) -> None:
        """Intent anchors are stages every lead of the class passes in this twin."""
        if self.intent is None:
            return
        lines = {"target": self.lineage(self.plan.target), "start": self.lineage(self.plan.start)}
        for cls, block in self.intent.classes().items():
            ok = lines.get(cls, ["created"])
            odd = set(block.patterns_by_outcome or {}) - {*self.children(self.plan.target), "open"}
            if odd:
                raise ValueError(
                    f"intent.{cls}.patterns_by_outcome.{sorted(odd)[0]}: not a stage after "
                    f"{self.plan.target} nor open; use one of "
                    f"{', '.join([*self.children(self.plan.target), 'open'])}"
                )
            for ev, stem in block.anchors.items():
                if stem not in ok:
                    raise ValueError(
                        f"intent.{cls}.anchors.{ev}: '{stem}' is not a stage every {cls} lead "
                        f"passes; use one of {', '.join(ok)}"
                    )

    def lineage(self, stem: str) -> list[str]:
        """Return ``created``, the stages before ``stem`` in the tree and ``stem`` (in order)."""
        out = [stem]
        while out[-1] != "created" and out[-1] in self.stages:
            out.append(self.stages[out[-1]].after)
        return out[::-1] if out[-1] == "created" else ["created", *out[::-1]]

    def _check_cohorts(self) -> None:
        edges = self.cohorts_days
        if edges is None:
            if any(st.by_cohort is not None for st in self.stages.values()):
                raise ValueError("stages: by_cohort needs cohorts_days")
            return
        if (
            len(edges) < 3
            or edges[0] != 0.0
            or any(b <= a for a, b in zip(edges, edges[1:], strict=False))
        ):
            raise ValueError("cohorts_days: at least 3 increasing edges starting at 0")
        if abs(edges[-1] - self.window.arrival_days) > 1e-6:
            raise ValueError("cohorts_days must end at window.arrival_days")
        for stem, st in self.stages.items():
            if st.by_cohort is None or len(st.by_cohort) != len(edges) - 1:
                raise ValueError(f"stages.{stem}.by_cohort: give one entry per cohort")

    @property
    def n_cohorts(self) -> int:
        """Number of arrival cohorts (1 without ``cohorts_days``)."""
        return 1 if self.cohorts_days is None else len(self.cohorts_days) - 1

    def stage_order(self) -> list[str]:
        """Stage stems so that every stage comes after its ``after`` stage."""
        order: list[str] = []
        done = {"created"}
        pending = list(self.stages)
        while pending:
            ready = [s for s in pending if self.stages[s].after in done]
            if not ready:
                raise ValueError(f"stages: 'after' links form a cycle among {pending}")
            order.extend(ready)
            done.update(ready)
            pending = [s for s in pending if s not in done]
        return order

    def children(self, parent: str) -> list[str]:
        """Stages reached from ``parent`` (competing outcomes), in declaration order."""
        return [s for s, st in self.stages.items() if st.after == parent]


def twin_yaml(twin: TwinScenario) -> str:
    """Return the YAML text of a fitted scenario (loads back equal with ``load_scenario``).

    Parameters
    ----------
    twin : TwinScenario

    Returns
    -------
    str
        Keys in schema order; numbers written exactly (``repr`` of the floats).
    """
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def _list(dumper: yaml.SafeDumper, items: list) -> yaml.Node:
        flow = all(not isinstance(x, dict | list) for x in items)
        return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=flow)

    _Dumper.add_representer(list, _list)
    data = twin.model_dump(mode="json", exclude_none=True)
    head = (
        f"# Funnel twin fitted by qualmodel fit-scenario to {twin.source.get('journeys', '?')}"
        f" (journeys hash {twin.source.get('journeys_hash', '?')}).\n"
        "# An ordinary scenario file: qualmodel simulate --scenario THIS_FILE. See docs/twin.md.\n"
    )
    return head + yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
