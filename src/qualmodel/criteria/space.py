"""Declared search spaces of SQO definitions and their vectorised evaluation.

A *space* lists the choices a definition may make; every combination is a candidate
criterion ``all_of`` (score part, BANT part, events part), any part optional:

``score``
    Event and attribute points (the ``events`` / ``attributes`` schema of a ``score``
    criterion), a set of ``threshold`` values (a list, or ``{min, max, step}``) and a set of
    ``half_life_days`` values (``null`` = no decay). ``optional: true`` adds candidates
    without a score part.
``bant``
    ``choose_from`` facts (budget, authority, need, timeline) and ``max_size``: every subset
    of at most ``max_size`` facts is required by some candidate (the empty subset = no BANT
    part); or an explicit list ``options`` of subsets. ``timeline_days`` bounds the
    timeline fact.
``events``
    The same for required events (``all`` of the subset, at least once each).

Vectorised evaluation (:class:`CandidateGrid`): ``all_of`` is met at the latest of its
parts' first times, so a candidate's ``qualified_at`` is the element-wise maximum of three
per-lead vectors. The score part needs one score trajectory per half-life
(:func:`qualmodel.criteria.engine.score_trajectory` with the points of the space, evaluated at
every candidate instant of :func:`qualmodel.qualify`); its running maximum per lead gives
the first crossing of *every* threshold at once. The BANT part is the latest of the
required facts' known times, the events part the latest of the required events' first
occurrences; both per-fact / per-event vectors are built once from the sorted events.
"""

from __future__ import annotations

import itertools
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from qualmodel.core.errors import ConfigError, preview
from qualmodel.core.safety import load_yaml, read_text
from qualmodel.criteria.engine import (
    AttributePoints,
    BantRule,
    Criterion,
    Decay,
    EventsRule,
    ScoreRule,
    qualify,
    score_trajectory,
)
from qualmodel.journeys.contract import Journeys

__all__ = [
    "BantSpace",
    "CandidateGrid",
    "EventsSpace",
    "ScoreSpace",
    "SearchSpace",
    "list_search_spaces",
    "load_search_space",
    "search_space_for",
]

INF = np.iinfo(np.int64).max  # "never" in int64 ns
#: Default of a space's ``max_candidates``: larger spaces are refused before any work.
MAX_CANDIDATES = 20_000
#: Counts stop here (far above any ``max_candidates``), so counting stays instant however
#: large the declared ranges are.
COUNT_CAP = 10**18
_NAT = np.iinfo(np.int64).min


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Range(_Model):
    """Evenly spaced values ``min, min + step, …, ≤ max``."""

    min: float = Field(allow_inf_nan=False)
    max: float = Field(allow_inf_nan=False)
    step: float = Field(gt=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _order(self) -> Range:
        if self.max < self.min:
            raise ValueError(f"max ({self.max:g}) is below min ({self.min:g})")
        return self

    def count(self) -> int:
        """Count the grid values without listing them."""
        steps = (self.max - self.min) / self.step  # inf when the range overflows a float
        return COUNT_CAP if not steps < COUNT_CAP else int(np.floor(steps + 1e-9)) + 1

    def values(self) -> list[float]:
        """Return the grid values (``max`` included when it lies on the grid)."""
        return [round(self.min + i * self.step, 10) for i in range(self.count())]


class ScoreSpace(_Model):
    """Score part: fixed points, a grid of thresholds and of decay half-lives."""

    events: dict[str, Any] = Field(default_factory=dict)
    attributes: list[AttributePoints] = Field(default_factory=list)
    threshold: list[Annotated[float, Field(allow_inf_nan=False)]] | Range
    half_life_days: list[Annotated[float, Field(allow_inf_nan=False)] | None] = Field(
        default_factory=lambda: [None], min_length=1
    )
    optional: bool = False

    @field_validator("threshold", mode="before")
    @classmethod
    def _range(cls, value: Any) -> Any:
        if isinstance(value, dict):
            try:
                return Range.model_validate(value)
            except ValidationError as exc:
                err = exc.errors()[0]
                key = ".".join(str(p) for p in err["loc"])
                raise ValueError(
                    f"{key + ': ' if key else ''}{err['msg'].removeprefix('Value error, ')}"
                ) from None
        return value

    @field_validator("half_life_days")
    @classmethod
    def _positive(cls, value: list[float | None]) -> list[float | None]:
        bad = [v for v in value if v is not None and not v > 0]
        if bad:
            raise ValueError(f"half-lives must be > 0 days or null (got {bad[0]})")
        return list(dict.fromkeys(value))

    def count(self) -> int:
        """Count the score parts (threshold × half-life) without listing them."""
        n = self.threshold.count() if isinstance(self.threshold, Range) else len(self.threshold)
        return n * len(self.half_life_days)

    def thresholds(self) -> np.ndarray:
        """Sorted unique thresholds."""
        vals = self.threshold.values() if isinstance(self.threshold, Range) else self.threshold
        if not vals:
            raise ConfigError("search space: score.threshold: give at least one value")
        return np.unique(np.asarray(vals, dtype=np.float64))

    def rule(self, threshold: float, half_life: float | None) -> ScoreRule:
        """Return the score rule of one grid point."""
        decay = None if half_life is None else Decay(half_life_days=half_life)
        return ScoreRule(
            threshold=threshold, events=self.events, attributes=self.attributes, decay=decay
        )


class _SubsetSpace(_Model):
    choose_from: list[str] = Field(default_factory=list)
    max_size: int | None = Field(default=None, ge=0)
    options: list[list[str]] | None = None

    def subsets(self) -> list[tuple[str, ...]]:
        """Candidate subsets, smallest first; the empty subset means "no such part"."""
        if self.options is not None:
            out = [tuple(dict.fromkeys(o)) for o in self.options]
        else:
            items = list(dict.fromkeys(self.choose_from))
            top = len(items) if self.max_size is None else min(self.max_size, len(items))
            out = [c for k in range(top + 1) for c in itertools.combinations(items, k)]
        return list(dict.fromkeys(out))

    def count(self) -> int:
        """Count the subsets (the empty one included) without listing them."""
        if self.options is not None:
            return len({tuple(dict.fromkeys(o)) for o in self.options})
        items = len(dict.fromkeys(self.choose_from))
        top = items if self.max_size is None else min(self.max_size, items)
        total = term = 1  # C(items, 0); stop once the count is beyond any limit
        for k in range(top):
            term = term * (items - k) // (k + 1)
            total += term
            if total >= COUNT_CAP:
                return COUNT_CAP
        return total


class BantSpace(_SubsetSpace):
    """BANT part: subsets of facts to require, and the timeline bound in days."""

    choose_from: list[Literal["budget", "authority", "need", "timeline"]] = Field(
        default_factory=list
    )
    options: list[list[Literal["budget", "authority", "need", "timeline"]]] | None = None
    timeline_days: float | None = Field(default=None, ge=0, allow_inf_nan=False)


class EventsSpace(_SubsetSpace):
    """Events part: subsets of events that must all have happened."""


class SearchSpace(_Model):
    """A declared space of SQO definitions (see the module docstring and docs/search.md).

    ``scenario`` names the built-in criteria file holding the current definition
    (``seed``, default its first criterion) and the built-in alternatives compared with
    the winner; ``name`` prefixes candidate names.
    """

    name: str = "search"
    description: str = ""
    scenario: str | None = None
    seed: str | None = None
    score: ScoreSpace | None = None
    bant: BantSpace | None = None
    events: EventsSpace | None = None
    max_candidates: int = Field(MAX_CANDIDATES, ge=1, le=10_000_000)

    def n_candidates(self) -> int:
        """Count the candidates the space defines from its declared choices."""
        score = 1 if self.score is None else self.score.count() + self.score.optional
        bant = 1 if self.bant is None else self.bant.count()
        events = 1 if self.events is None else self.events.count()
        if max(score, bant, events) >= COUNT_CAP:
            return COUNT_CAP
        return min(score * bant * events - (self.score is None or self.score.optional), COUNT_CAP)


# ---------------------------------------------------------------------------- loading
def _spaces_dir() -> Path:
    return Path(str(resources.files("qualmodel.criteria"))) / "spaces"


def list_search_spaces() -> list[str]:
    """Names of the built-in search spaces (one per simulated scenario).

    Returns
    -------
    list of str
    """
    return sorted(p.stem for p in _spaces_dir().glob("*.yaml"))


def search_space_for(journeys: Journeys) -> str | None:
    """Return the built-in search space name of simulated journeys, else ``None``.

    Parameters
    ----------
    journeys : Journeys
        Simulated journeys carry the scenario name in ``meta['source']``.

    Returns
    -------
    str or None
    """
    source = str(journeys.meta.get("source", ""))
    return source if source in list_search_spaces() else None


def _where(err: dict[str, Any]) -> str:
    out = ""
    for p in err["loc"]:
        if isinstance(p, str) and ("[" in p or p[:1].isupper()):
            continue  # pydantic's union member tags (list[...], Range), not YAML keys
        out += f"[{p}]" if isinstance(p, int) else ("." if out else "") + str(p)
    return out or "(top level)"


def _space_data(source: dict | str | Path) -> tuple[str, Any]:
    """Label and parsed document of a space given as a mapping, a path, a name or YAML text.

    Files are read as UTF-8 and parsed without anchors or aliases
    (:func:`qualmodel.core.safety.load_yaml`), so an alias "bomb" cannot expand.
    """
    if isinstance(source, dict):
        return "<search space>", source
    where, text = "<search space>", str(source)
    if isinstance(source, Path) or "\n" not in text:
        if not isinstance(source, Path) and text in list_search_spaces():
            path = _spaces_dir() / f"{text}.yaml"
        elif isinstance(source, Path) or text.endswith((".yaml", ".yml")):
            path = Path(text)
        else:
            raise ConfigError(
                f"{text}: not a search space file or built-in name; use a .yaml path or one "
                f"of {', '.join(list_search_spaces())}"
            )
        if not path.is_file():
            raise ConfigError(f"{path}: no such search space file; check the path")
        where, text = path.name, read_text(path, "search space file", ConfigError)
    return where, load_yaml(text, where)


def load_search_space(source: SearchSpace | dict | str | Path) -> SearchSpace:
    """Load and validate a search space.

    Parameters
    ----------
    source : SearchSpace, dict, str or path
        A space object, a mapping, a ``.yaml`` path, a built-in name (see
        :func:`list_search_spaces`) or YAML text.

    Returns
    -------
    SearchSpace

    Raises
    ------
    ConfigError
        One line naming the file, the key path and the fix.
    """
    if isinstance(source, SearchSpace):
        return source
    where, data = _space_data(source)
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping with score/bant/events keys")
    try:
        space = SearchSpace.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        if err["type"] == "extra_forbidden":
            msg = "unknown key; fix the spelling or remove it"
        elif err["type"] == "missing":
            msg = "missing required key; add it"
        else:
            msg = f"{err['msg'].removeprefix('Value error, ')}; fix the value"
        raise ConfigError(f"{where}: {_where(err)}: {msg}") from None
    if space.score is None and space.bant is None and space.events is None:
        raise ConfigError(f"{where}: give at least one of 'score', 'bant', 'events'")
    n = space.n_candidates()
    if n > space.max_candidates:
        raise ConfigError(
            f"{where}: the space defines {'over ' if n >= COUNT_CAP else ''}{n:,} candidates, "
            f"more than max_candidates "
            f"({space.max_candidates:,}); narrow it (a coarser score.threshold step, fewer "
            f"half-lives or subsets) or raise max_candidates"
        )
    if space.score is not None:
        try:
            space.score.rule(0.0, None)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ConfigError(
                f"{where}: score.{_where(err)}: {err['msg'].removeprefix('Value error, ')}; "
                f"fix the value"
            ) from None
    return space


# ---------------------------------------------------------------------------- grid
def _lead_positions(journeys: Journeys, ids: np.ndarray) -> np.ndarray:
    index = pd.Index(journeys.leads["lead_id"].to_numpy(), dtype=object)
    return index.get_indexer(pd.Index(ids, dtype=object))


def _fmt(x: float | None) -> str:
    return "none" if x is None else f"{x:g}"


class CandidateGrid:
    """Every candidate of a space, evaluated on one :class:`~qualmodel.Journeys`.

    Parameters
    ----------
    journeys : Journeys
    space : SearchSpace

    Attributes
    ----------
    table : pandas.DataFrame
        One row per candidate (grid order: simplest first): ``name``, ``threshold``,
        ``half_life_days``, ``bant``, ``events``, ``n_parts`` and the integer part indices
        ``i_score`` (-1 = none), ``i_bant``, ``i_events``.
    """

    def __init__(self, journeys: Journeys, space: SearchSpace) -> None:
        self.journeys = journeys
        self.space = space
        leads = journeys.leads
        self.until = leads["observed_until"].to_numpy().view(np.int64)
        self.n = journeys.n_leads
        self._check_events()
        self._score_times()
        self._bant_times()
        self._event_times()
        # a part met after observed_until never counts, so clip every part once: the latest
        # of the parts is after observed_until exactly when one of them is
        for parts in (self.score_t, self.bant_t, self.event_t):
            parts[parts > self.until] = INF
        # every (BANT subset, events subset) pair combined once
        self._base = np.maximum(self.bant_t[:, None, :], self.event_t[None, :, :]).reshape(
            -1, self.n
        )
        self.table = self._table()

    # -- parts ------------------------------------------------------------------
    def _score_times(self) -> None:
        sp = self.space.score
        self.score_opts: list[tuple[float, float | None]] = []
        blocks: list[np.ndarray] = []
        if sp is not None:
            thr = sp.thresholds()
            ids = self.journeys.leads["lead_id"].to_numpy()
            for hl in sp.half_life_days:
                crit = Criterion(name="trajectory", score=sp.rule(float(thr[0]), hl))
                traj = score_trajectory(self.journeys, crit, ids, n_grid=0)
                blocks.append(self._first_crossings(traj, thr))
                self.score_opts += [(float(t), hl) for t in thr]
        self.score_t = np.concatenate(blocks) if blocks else np.zeros((0, self.n), np.int64)

    def _first_crossings(self, traj: pd.DataFrame, thr: np.ndarray) -> np.ndarray:
        """First instant with score ≥ threshold, per threshold (rows) and lead (columns)."""
        lead = _lead_positions(self.journeys, traj["lead_id"].to_numpy())
        t = traj["ts"].to_numpy().view(np.int64)
        score = traj["score"].to_numpy()
        runmax = pd.Series(score).groupby(lead, sort=False).cummax().to_numpy()
        counts = np.bincount(lead, minlength=self.n)
        offsets = np.zeros(self.n + 1, dtype=np.intp)
        np.cumsum(counts, out=offsets[1:])
        out = np.full((len(thr), self.n), INF, dtype=np.int64)
        for i, th in enumerate(thr):
            # the same tolerance as qualify: rounding of the decay arithmetic
            below = runmax < th - 1e-9 * max(1.0, abs(th))
            k = np.bincount(lead, weights=below, minlength=self.n).astype(np.intp)
            hit = k < counts
            out[i, hit] = t[offsets[:-1][hit] + k[hit]]
        return out

    def _bant_times(self) -> None:
        sp = self.space.bant
        self.bant_opts: list[tuple[str, ...]] = sp.subsets() if sp is not None else [()]
        known: dict[str, np.ndarray] = {}
        for fact in {f for s in self.bant_opts for f in s}:
            rule = BantRule(require=[fact], timeline_days=sp.timeline_days if sp else None)
            q = qualify(self.journeys, Criterion(name=f"bant_{fact}", bant=rule))
            v = q["qualified_at"].to_numpy().view(np.int64).copy()
            v[v == _NAT] = INF
            known[fact] = v
        self.bant_t = np.stack([self._latest(known, s) for s in self.bant_opts])

    def _event_times(self) -> None:
        sp = self.space.events
        self.event_opts: list[tuple[str, ...]] = sp.subsets() if sp is not None else [()]
        ev = self.journeys.events
        codes = self.journeys.event_lead_codes
        ts = ev["ts"].to_numpy().view(np.int64)
        names = ev["event"].astype(str).to_numpy() if len(ev) else np.zeros(0, dtype=object)
        first: dict[str, np.ndarray] = {}
        for name in {e for s in self.event_opts for e in s}:
            out = np.full(self.n, INF, dtype=np.int64)
            rows = np.flatnonzero(names == name)
            if len(rows):
                lead = codes[rows]
                keep = np.r_[True, lead[1:] != lead[:-1]]  # rows sorted by (lead, ts)
                out[lead[keep]] = ts[rows[keep]]
            first[name] = out
        self.event_t = np.stack([self._latest(first, s) for s in self.event_opts])

    def _latest(self, times: dict[str, np.ndarray], subset: tuple[str, ...]) -> np.ndarray:
        out = np.full(self.n, _NAT, dtype=np.int64)
        for item in subset:
            out = np.maximum(out, times[item])
        return out

    # -- candidates ---------------------------------------------------------------
    def _table(self) -> pd.DataFrame:
        sp = self.space.score
        score_idx = list(range(len(self.score_opts)))
        if sp is None or sp.optional:
            score_idx = [-1, *score_idx]
        rows = []
        for i_s, i_b, i_e in itertools.product(
            score_idx, range(len(self.bant_opts)), range(len(self.event_opts))
        ):
            bant, events = self.bant_opts[i_b], self.event_opts[i_e]
            parts = (i_s >= 0) + bool(bant) + bool(events)
            if parts == 0:
                continue
            thr, hl = self.score_opts[i_s] if i_s >= 0 else (np.nan, None)
            rows.append(
                {
                    "name": self._name(thr if i_s >= 0 else None, hl, bant, events),
                    "threshold": thr,
                    "half_life_days": np.nan if hl is None else hl,
                    "bant": "+".join(bant),
                    "events": "+".join(events),
                    "n_parts": parts,
                    "i_score": i_s,
                    "i_bant": i_b,
                    "i_events": i_e,
                }
            )
        if not rows:
            raise ConfigError("search space: it defines no candidate; add score/bant/events")
        return pd.DataFrame(rows)

    def _name(self, thr: float | None, hl: float | None, bant: tuple, events: tuple) -> str:
        bits = [self.space.name]
        if thr is not None:
            bits.append(f"score{thr:g}_hl{_fmt(hl)}")
        if bant:
            bits.append("bant-" + "-".join(bant))
        if events:
            bits.append("ev-" + "-".join(events))
        return "__".join(bits)

    def times(self, idx: np.ndarray | list[int]) -> np.ndarray:
        """``qualified_at`` (int64 ns, ``INF`` = never by ``observed_until``) of candidates.

        Parameters
        ----------
        idx : array of int
            Row positions in :attr:`table`.

        Returns
        -------
        ndarray, shape (len(idx), n_leads)
        """
        tab = self.table.iloc[np.asarray(idx, dtype=np.intp)]
        i_s = tab["i_score"].to_numpy()
        pair = tab["i_bant"].to_numpy() * len(self.event_opts) + tab["i_events"].to_numpy()
        out = self._base[pair]
        has = i_s >= 0
        if has.all():
            np.maximum(out, self.score_t[i_s], out=out)
        elif has.any():
            out[has] = np.maximum(out[has], self.score_t[i_s[has]])
        return out

    def criterion(self, i: int, description: str = "") -> Criterion:
        """Candidate ``i`` as a regular :class:`~qualmodel.Criterion` (one part, or ``all_of``)."""
        row = self.table.iloc[int(i)]
        parts: list[Criterion] = []
        text: list[str] = []
        if row["i_score"] >= 0:
            thr, hl = self.score_opts[int(row["i_score"])]
            parts.append(Criterion(score=self.space.score.rule(thr, hl)))
            text.append(
                f"score ≥ {thr:g} ("
                + ("no decay" if hl is None else f"half-life {hl:g} days")
                + ")"
            )
        bant = self.bant_opts[int(row["i_bant"])]
        if bant:
            td = self.space.bant.timeline_days if self.space.bant else None
            parts.append(Criterion(bant=BantRule(require=list(bant), timeline_days=td)))
            text.append(f"BANT {', '.join(bant)}")
        events = self.event_opts[int(row["i_events"])]
        if events:
            parts.append(Criterion(events=EventsRule(all=list(events))))
            text.append(f"events {', '.join(events)}")
        desc = description or "Searched definition: " + " and ".join(text) + "."
        if len(parts) == 1:
            kind = parts[0].kind
            return Criterion(name=row["name"], description=desc, **{kind: getattr(parts[0], kind)})
        return Criterion(name=row["name"], description=desc, all_of=parts)

    def _check_events(self) -> None:
        """Raise :class:`ConfigError` for event names the journeys do not know."""
        known = set(self.journeys.event_names)
        sp = self.space.events
        used = {e for s in (sp.subsets() if sp else []) for e in s}
        if self.space.score is not None:
            used |= set(self.space.score.events)
        bad = sorted(used - known)
        if bad:
            raise ConfigError(
                f"search space: unknown event(s) {preview(bad)} (known: "
                f"{preview(sorted(known), k=12)}); fix the names"
            )
