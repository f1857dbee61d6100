"""Plan a report run: scenarios and targets, path parameters and the job list."""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qualmodel.core.checks import MAX_BOOT, MAX_SEED
from qualmodel.core.errors import ConfigError
from qualmodel.report.helpers import (
    SIMULATION_PARAMETERS,
    builtin_scenarios,
    has_builtin_criteria,
    journeys_for,
)
from qualmodel.report.templates import (
    CROSS_TARGET,
    FAILED_DIR,
    FORMATS,
    REPORT_DEFAULTS,
    Template,
    check_parameters,
    discover_templates,
    select_templates,
)
from qualmodel.simulation.engine import GENERATOR

if TYPE_CHECKING:
    pass


@dataclass
class Job:
    """One notebook execution: a template applied to one target folder."""

    template: Template
    target: str
    parameters: dict[str, Any]
    out_dir: Path
    cwd: Path
    log_path: Path
    depends_on: str | None = None
    html: bool = True
    pdf: bool = False

    @property
    def label(self) -> str:
        """``target/notebook`` as shown in progress output and errors."""
        return f"{self.target}/{self.template.name}"


# --------------------------------------------------------------------------------------
# the whole run
# --------------------------------------------------------------------------------------


def resolve_scenarios(scenario: str | Sequence[str] | None) -> list[str]:
    """Expand ``"all"`` to the built-in scenario names; make scenario YAML paths absolute.

    Kernels run inside the staging folder, so a YAML path relative to the caller's folder
    is resolved here, once.

    Parameters
    ----------
    scenario : str or sequence of str, optional

    Returns
    -------
    list of str
    """
    if scenario is None:
        return []
    names = [scenario] if isinstance(scenario, str) else list(scenario)
    out: list[str] = []
    for name in names:
        if name == "all":
            out.extend(builtin_scenarios())
        elif name.endswith((".yaml", ".yml")):
            out.append(str(Path(name).expanduser().resolve()))
        else:
            out.append(name)
    return list(dict.fromkeys(out))


#: Parameters holding a file the notebook reads: made absolute against the caller's
#: folder (kernels run inside the staging folder) and checked before any kernel starts.
PATH_PARAMETERS: tuple[str, ...] = ("criteria_file",)


def _resolve_path_parameters(typed: dict[str, dict[str, Any]]) -> None:
    for values in typed.values():
        for key in PATH_PARAMETERS:
            val = values.get(key)
            if not isinstance(val, str):
                continue
            path = Path(val).expanduser().resolve()
            if not path.is_file():
                raise ConfigError(
                    f"--param {key}={val}: no such file ({path}); give an existing file"
                )
            values[key] = str(path)


def _positive_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 50_000_000


def _seed(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_SEED


def _boot(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_BOOT


def _positive_days(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and 0 < v <= 36_500


#: Value rules of notebook parameters, the same as the CLI applies to its options
#: (``simulate --n-leads/--seed``, ``compare --horizon-days/--n-boot``), checked on
#: ``--param`` values before any kernel starts: name → (test, allowed values).
PARAMETER_RULES: dict[str, tuple[Any, str]] = {
    "n_leads": (_positive_int, "an integer from 1 to 50,000,000"),
    "seed": (_seed, "an integer from 0 to 2**63 - 1"),
    "n_boot": (_boot, "an integer from 0 to 100,000 (0: no bootstrap)"),
    "horizon_days": (_positive_days, "a number of days in (0, 36500]"),
    "ripe_days": (_positive_days, "a number of days in (0, 36500]"),
    "target": (
        lambda v: v is None or (isinstance(v, str) and bool(v.strip())),
        "a stage: its stem (won), column (won_at) or the data's label (approved), or None",
    ),
}


def check_parameter_values(typed: Mapping[str, Mapping[str, Any]]) -> None:
    """Apply :data:`PARAMETER_RULES` to typed ``--param`` values (nan and inf never pass).

    Parameters
    ----------
    typed : mapping
        Template name → typed parameters (from ``check_parameters``).

    Raises
    ------
    ConfigError
        One line naming the parameter, the value and the allowed values.
    """
    for values in typed.values():
        for key, value in values.items():
            rule = PARAMETER_RULES.get(key)
            bad_float = isinstance(value, float) and not math.isfinite(value)
            if bad_float or (rule is not None and not rule[0](value)):
                allowed = rule[1] if rule is not None else "a finite number"
                raise ConfigError(f"--param {key}={value!r}: must be {allowed}; fix the value")


def check_report_output(
    plan: Plan, out: str | os.PathLike[str], notebooks_dir: str | os.PathLike[str] | None
) -> None:
    """Refuse an ``--out`` that overlaps an input or is a foreign folder (before any kernel).

    Parameters
    ----------
    plan : Plan
        The checked plan (its journeys folder, scenario files and ``criteria_file`` values
        are inputs).
    out : path-like
        The reports folder.
    notebooks_dir : path-like, optional
        The templates folder (an input too).

    Raises
    ------
    ConfigError
        Overlap with an input, or an existing non-empty folder that holds neither the
        qualmodel marker nor a reports ``index.html``.
    """
    from qualmodel.core.safety import check_output, refuse_overlap
    from qualmodel.report.templates import find_notebooks_dir

    inputs: dict[str, Any] = {"--journeys": plan.journeys_path}
    inputs.update({f"--scenario {s}": Path(s) for s in plan.scenarios if Path(s).is_file()})
    for values in plan.typed.values():
        if isinstance(values.get("criteria_file"), str):
            inputs["--param criteria_file"] = Path(values["criteria_file"])
    inputs["--notebooks-dir"] = find_notebooks_dir(notebooks_dir)
    refuse_overlap({"--out": out}, inputs)
    if not (Path(out) / "index.html").is_file():  # reports written before the marker
        check_output(out, "--out", force=False, kind="report")


def _target_name(scenario: str) -> str:
    """Output folder for a scenario name or YAML path."""
    stem = Path(scenario).stem if scenario.endswith((".yaml", ".yml")) else scenario
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-.")
    if not name or name in (CROSS_TARGET, FAILED_DIR):
        raise ConfigError(f"--scenario {scenario!r}: cannot be used as a report folder name")
    return name


def _check_scenario(scenario: str) -> str:
    """Fail before any kernel starts when a scenario name / path is unknown; return its kind.

    The kind is ``"twin"`` for a fitted scenario (``docs/twin.md``), else ``"scenario"``.
    """
    from qualmodel.simulation.scenario import load_scenario

    return str(getattr(load_scenario(scenario), "kind", "scenario"))


def scenario_folder(root: str | os.PathLike[str], scenario: str) -> str:
    """Folder of one scenario's saved journeys under ``root`` (as ``qualmodel report`` writes).

    Parameters
    ----------
    root : path
        The ``journeys_root`` folder.
    scenario : str
        Built-in scenario name or scenario YAML path.

    Returns
    -------
    str
        ``<root>/<name>``, the name being the scenario name or the YAML file's stem.
    """
    return str(Path(root) / _target_name(scenario))


def simulate_to(scenario: str, n_leads: int, seed: int, folder: Path) -> float:
    """Simulate ``scenario`` into journeys folder ``folder``; return the seconds it took."""
    start = time.perf_counter()
    journeys = journeys_for(scenario, n_leads=n_leads, seed=seed)
    journeys.write(folder)
    return time.perf_counter() - start


def _effective(template: Template, typed: Mapping[str, Any]) -> dict[str, Any]:
    params = {k: v for k, v in REPORT_DEFAULTS.items() if k in template.parameters}
    params.update(typed)
    return params


@dataclass
class Result:
    """Outcome of a :class:`Job`."""

    job: Job
    ok: bool
    seconds: float
    ipynb: Path
    html: Path | None = None
    pdf: Path | None = None
    pages: int | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    headline: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class Plan:
    """What a run will do, decided (and checked) before any kernel starts."""

    targets: dict[str, str]
    scenarios: list[str]
    per: list[Template]
    cross: list[Template]
    typed: dict[str, dict[str, Any]]
    journeys_path: Path | None = None
    #: target → names of per-target templates not run on it (teaching material built on
    #: the built-in model is left out of fitted-scenario targets unless named).
    left_out: dict[str, set[str]] = field(default_factory=dict)
    #: ``--format``: see :data:`~qualmodel.report.templates.FORMATS`.
    format: str = "both"

    @property
    def selected(self) -> list[Template]:
        """Every template the run executes: per-target ones, then cross-scenario ones."""
        return self.per + self.cross


@dataclass
class Simulation:
    """Journeys the run simulates itself (once per target) before the notebooks read them."""

    needed: bool
    n_leads: int
    seed: int
    root: Path


def _plan_journeys(
    journeys: str | os.PathLike[str],
    templates: Sequence[Template],
    notebooks: Iterable[str] | None,
    raw: Mapping[str, str],
) -> tuple[Path, dict[str, str], list[Template], Any]:
    """Targets, per-dataset templates and the journeys of a saved or imported folder."""
    journeys_path = Path(journeys).expanduser().resolve()
    from qualmodel.journeys.contract import Journeys

    data = Journeys.read(journeys_path)  # validate before starting kernels
    meta = data.meta
    source = str(meta.get("scenario") or meta.get("source") or "")
    targets = {_target_name(journeys_path.name): source}
    has_criteria = has_builtin_criteria(meta) or str(raw.get("criteria_file")) not in (
        "None",
        "",
    )
    per = [
        t
        for t in templates
        if t.kind == "scenario"
        and (
            notebooks is not None
            or (not t.simulation_only and (has_criteria or not t.needs_criteria))
        )
    ]
    return journeys_path, targets, per, data


def check_target(typed: Mapping[str, Mapping[str, Any]], data: Any = None) -> None:
    """Resolve every ``target`` parameter as the notebooks will, before any kernel starts.

    On a journeys folder the name must be a stage those journeys hold (stem, column or the
    data's own label, as :func:`qualmodel.journeys.outcomes.resolve_stage`); on simulated
    scenarios one of the standard stages.

    Raises
    ------
    ConfigError
        One line listing the stages that can be named.
    """
    from qualmodel.journeys.contract import STAGE_COLUMNS
    from qualmodel.journeys.outcomes import DEFAULT_LABELS, resolve_stage

    for values in typed.values():
        name = values.get("target")
        if not isinstance(name, str):
            continue
        if data is not None:
            resolve_stage(data, name, "--param target")
            continue
        known = {c.lower() for c in STAGE_COLUMNS} | {c[:-3] for c in STAGE_COLUMNS}
        known |= {label.lower() for label in DEFAULT_LABELS.values()}
        if name.strip().lower() not in known:
            stems = ", ".join(c[:-3] for c in STAGE_COLUMNS if c != "created_at")
            raise ConfigError(f"--param target={name!r}: no such stage; use one of {stems}")


def _plan_scenarios(
    scenario: str | Sequence[str] | None, templates: Sequence[Template]
) -> tuple[list[str], dict[str, str], list[Template], list[Template]]:
    """Scenarios, targets, per-scenario and cross-scenario templates for simulated runs."""
    scenarios = resolve_scenarios(scenario)
    if not scenarios:
        raise ConfigError("nothing to run: pass --scenario NAME|all or --journeys DIR")
    targets = {_target_name(s): s for s in scenarios}
    if len(targets) != len(scenarios):
        raise ConfigError(f"--scenario {scenarios}: two scenarios share a report folder name")
    per = [t for t in templates if t.kind == "scenario"]
    cross = [t for t in templates if t.kind == "cross"] if len(scenarios) > 1 else []
    return scenarios, targets, per, cross


def plan_run(
    scenario: str | Sequence[str] | None,
    raw: Mapping[str, str],
    *,
    journeys: str | os.PathLike[str] | None,
    notebooks: Iterable[str] | None,
    notebooks_dir: str | os.PathLike[str] | None,
    fmt: str = "both",
) -> Plan:
    """Choose templates and targets and type-check every parameter; raises ConfigError."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
    templates = select_templates(discover_templates(notebooks_dir), notebooks)
    journeys_path: Path | None = None
    if journeys is not None:
        journeys_path, targets, per, data = _plan_journeys(journeys, templates, notebooks, raw)
        scenarios: list[str] = []
        cross: list[Template] = []
    else:
        data = None
        scenarios, targets, per, cross = _plan_scenarios(scenario, templates)
    selected = per + cross
    if not selected:
        raise ConfigError(
            "no notebook to run: cross-scenario notebooks need several scenarios and "
            "per-dataset notebooks need --scenario or --journeys"
        )
    typed = check_parameters(selected, raw)
    check_parameter_values(typed)
    check_target(typed, data)
    _resolve_path_parameters(typed)
    left_out: dict[str, set[str]] = {}
    for s in scenarios:
        if _check_scenario(s) == "twin" and notebooks is None:
            left_out[_target_name(s)] = {t.name for t in per if t.simulation_only}
    return Plan(targets, scenarios, per, cross, typed, journeys_path, left_out, fmt)


def plan_simulation(
    plan: Plan, scratch: Path, keep_journeys: str | os.PathLike[str] | None = None
) -> Simulation:
    """Whether the run simulates journeys, with which ``n_leads`` and ``seed``, and where.

    Parameters
    ----------
    plan : Plan
    scratch : Path
        The run's scratch folder (removed after the run): journeys go to
        ``scratch/journeys/<target>`` unless ``keep_journeys`` is given.
    keep_journeys : path, optional
        Folder that keeps the simulated journeys, one ``<keep_journeys>/<target>`` per
        scenario (created when missing; an existing one is replaced only when it holds a
        qualmodel simulation).

    Raises
    ------
    ConfigError
        A ``<keep_journeys>/<target>`` that exists but is not a saved qualmodel simulation.
    """
    merged: dict[str, Any] = dict(REPORT_DEFAULTS)
    for t in plan.selected:
        merged.update({k: v for k, v in plan.typed[t.name].items() if k in ("n_leads", "seed")})
    needed = plan.journeys_path is None and any(
        "journeys_dir" in t.parameters or "journeys_root" in t.parameters for t in plan.selected
    )
    root = scratch / "journeys"
    if keep_journeys is not None and needed:
        root = Path(keep_journeys).expanduser().resolve()
        for target in plan.targets:
            _check_replaceable(root / target)
    return Simulation(needed, int(merged["n_leads"]), int(merged["seed"]), root)


def _check_replaceable(folder: Path) -> None:
    """Refuse to replace anything but a journeys folder that ``qualmodel simulate`` wrote."""
    if not folder.exists():
        return
    meta = folder / "meta.json"
    try:
        generator = json.loads(meta.read_text(encoding="utf-8")).get("generator")
    except (OSError, ValueError, AttributeError):
        generator = None
    if generator != GENERATOR:
        raise ConfigError(
            f"--keep-journeys: {folder} exists and is not a saved qualmodel simulation; "
            "choose another --keep-journeys folder or move it away"
        )


def _cross_jobs(plan: Plan, sim: Simulation, stage: Path, scratch: Path) -> list[Job]:
    """One job per cross-scenario template."""
    job_list: list[Job] = []
    for t in plan.cross:
        params_t = _effective(t, plan.typed[t.name])
        if "scenarios" in t.parameters:
            params_t["scenarios"] = plan.scenarios
        if "journeys_root" in t.parameters and sim.needed:
            params_t["journeys_root"] = str(sim.root)
        if "figures_dir" in t.parameters:
            params_t["figures_dir"] = "figures"
        job_list.append(
            Job(
                t,
                CROSS_TARGET,
                params_t,
                stage / CROSS_TARGET,
                stage / CROSS_TARGET,
                scratch / "logs" / f"{CROSS_TARGET}-{t.name}.log",
                depends_on="*" if sim.needed else None,
            )
        )
    return job_list


def _target_job(
    plan: Plan, sim: Simulation, t: Template, target: str, scen: str, stage: Path, scratch: Path
) -> Job:
    """Build the job of one per-target template on one target."""
    journeys_path = plan.journeys_path
    params_t = _effective(t, plan.typed[t.name])
    if journeys_path is not None:  # a folder is read: runner defaults that simulate don't apply
        for key in SIMULATION_PARAMETERS:
            if key not in plan.typed[t.name]:
                params_t.pop(key, None)
    if "scenario" in t.parameters and scen and journeys_path is None:
        params_t["scenario"] = scen
    elif "scenario" in t.parameters and scen and scen in builtin_scenarios():
        params_t["scenario"] = scen
    depends = None
    if journeys_path is not None and "journeys_dir" in t.parameters:
        params_t["journeys_dir"] = str(journeys_path)
    elif sim.needed and "journeys_dir" in t.parameters:
        params_t["journeys_dir"] = str(sim.root / target)
        depends = target
    if "figures_dir" in t.parameters:
        params_t["figures_dir"] = "figures"
    return Job(
        t,
        target,
        params_t,
        stage / target,
        stage / target,
        scratch / "logs" / f"{target}-{t.name}.log",
        depends_on=depends,
        html=not (t.pdf and plan.format == "pdf"),
        pdf=t.pdf and plan.format != "html",
    )


def build_jobs(plan: Plan, sim: Simulation, stage: Path, scratch: Path) -> list[Job]:
    """Every job of the run: cross-scenario ones first, then per target and template."""
    job_list = _cross_jobs(plan, sim, stage, scratch)
    for target, scen in plan.targets.items():
        for t in plan.per:
            if t.name not in plan.left_out.get(target, ()):
                job_list.append(_target_job(plan, sim, t, target, scen, stage, scratch))
    return job_list
