"""Publish a run: ``summary.json`` per target and the cross-scenario ``index.html``."""

from __future__ import annotations

import html
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qualmodel.core.atomic import write_text_atomic
from qualmodel.core.i18n import t
from qualmodel.report.helpers import in_staging
from qualmodel.report.metrics import format_metric
from qualmodel.report.templates import CROSS_TARGET
from qualmodel.simulation.scenario import BUILTIN_SCENARIOS

if TYPE_CHECKING:
    from qualmodel.report.plan import Plan, Result


def _target_summary(
    target: str,
    results: Sequence[Result],
    scenario: str | None,
    journeys_path: Path | None,
    scenarios: Sequence[str],
) -> dict[str, Any]:
    metrics: dict[str, Any] = {}
    headline: list[str] = []
    notebooks: dict[str, Any] = {}
    for r in sorted(results, key=lambda r: r.job.template.name):
        metrics.update(r.metrics)
        headline.extend(h for h in r.headline if h not in headline)
        notebooks[r.job.template.name] = {
            "html": r.html.name if r.html else None,
            "pdf": r.pdf.name if r.pdf else None,
            "pages": r.pages,
            "ipynb": f"{r.job.template.name}.ipynb",
            "seconds": round(r.seconds, 2),
            "parameters": {
                k: v
                for k, v in r.job.parameters.items()
                if k != "figures_dir" and not in_staging(v if "journeys" in k else None)
            },
            "metrics": r.metrics,
        }
    kind = "cross" if target == CROSS_TARGET else ("journeys" if journeys_path else "scenario")
    return {
        "name": target,
        "kind": kind,
        "scenario": scenario or None,
        "scenarios": list(scenarios) if kind == "cross" else None,
        "journeys_dir": str(journeys_path) if journeys_path else None,
        "headline": headline,
        "metrics": metrics,
        "notebooks": notebooks,
    }


def _load_summaries(out_dir: Path) -> list[dict[str, Any]]:
    summaries = []
    for path in sorted(out_dir.glob("*/summary.json")):
        if path.parent.name.startswith((".", "_")):
            continue
        try:
            summaries.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError):
            continue
    order = {name: i for i, name in enumerate(BUILTIN_SCENARIOS)}
    summaries.sort(
        key=lambda s: (s.get("kind") == "cross", order.get(s.get("name"), 99), s.get("name"))
    )
    return summaries


def _index_lang(summaries: Sequence[Mapping[str, Any]]) -> str:
    """Return the language the reports were rendered in (their ``lang`` parameter)."""
    for s in summaries:
        for info in s.get("notebooks", {}).values():
            lang = info.get("parameters", {}).get("lang")
            if lang:
                return str(lang)
    return "en"


def _metrics_table(columns: Sequence[Mapping[str, Any]], lang: str) -> list[str]:
    """HTML of the key-metrics table; a report without headline shows all its metrics."""
    esc = html.escape
    heads: list[str] = []
    labels: dict[str, str] = {}
    notes: dict[str, str] = {}
    for s in columns:
        for h in s.get("headline") or list(s.get("metrics", {})):
            if h not in heads:
                heads.append(h)
            rec = s.get("metrics", {}).get(h) or {}
            labels.setdefault(h, rec.get("label") or h.replace("_", " "))
            if rec.get("note"):
                notes.setdefault(labels[h], rec["note"])
    if not heads:
        return []
    parts = [f"<h2>{esc(t('index.key_metrics', lang))}</h2><table><thead><tr>"]
    parts.append(f"<th>{esc(t('index.metric', lang))}</th>")
    parts += [
        f'<th><a href="{esc(s["name"])}/{esc(_main_report(s))}">{esc(s["name"])}</a></th>'
        for s in columns
    ]
    parts.append("</tr></thead><tbody>")
    for h in heads:
        parts.append(f"<tr><th>{esc(labels[h])}</th>")
        for s in columns:
            cell = format_metric(s.get("metrics", {}).get(h), lang=lang)
            parts.append(f'<td class="num">{esc(cell)}</td>')
        parts.append("</tr>")
    parts.append("</tbody></table>")
    if notes:
        parts.append('<dl class="definitions">')
        parts += [f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in notes.items()]
        parts.append("</dl>")
    return parts


def write_index(out: str | os.PathLike[str]) -> Path:
    """(Re)write ``<out>/index.html`` from every ``<out>/*/summary.json``.

    The page speaks the reports' language (their ``lang`` parameter, default English).

    Parameters
    ----------
    out : path
        Reports folder.

    Returns
    -------
    Path
        The index file.
    """
    out_dir = Path(out)
    summaries = _load_summaries(out_dir)
    lang = _index_lang(summaries)
    columns = [s for s in summaries if s.get("kind") != "cross"]
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{esc(lang)}"><head><meta charset="utf-8">',
        f"<title>{esc(t('index.title', lang))}</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:72rem}"
        "table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.3rem .6rem;"
        "text-align:left}th{background:#f3f3f3}td.num{text-align:right;white-space:nowrap}"
        "</style></head><body>",
        f"<h1>{esc(t('index.title', lang))}</h1>",
        f"<p>{esc(t('index.intro', lang))}</p>",
        *_metrics_table(columns, lang),
    ]
    parts.append(f"<h2>{esc(t('index.reports', lang))}</h2>")
    for s in summaries:
        title = t("index.cross", lang) if s.get("kind") == "cross" else s["name"]
        parts.append(f"<h3>{esc(title)}</h3>")
        shown: dict[str, Any] = {}
        for info in s.get("notebooks", {}).values():
            for key in ("n_leads", "seed", "n_boot", "horizon_days"):
                if key in info.get("parameters", {}):
                    shown.setdefault(key, info["parameters"][key])
        if s.get("journeys_dir"):
            shown = {"journeys": Path(s["journeys_dir"]).name, **shown}
        if shown:
            text = ", ".join(f"{k} = {v}" for k, v in shown.items())
            parts.append(f"<p>{esc(t('index.parameters', lang))}: {esc(text)}</p>")
        parts.append("<ul>")
        parts.extend(
            _notebook_item(s["name"], nb_name, info)
            for nb_name, info in sorted(s.get("notebooks", {}).items())
        )
        parts.append(
            f'<li><a href="{esc(s["name"])}/summary.json">summary.json</a> '
            f'· <a href="{esc(s["name"])}/figures/">figures</a></li></ul>'
            if (out_dir / s["name"] / "figures").is_dir()
            else f'<li><a href="{esc(s["name"])}/summary.json">summary.json</a></li></ul>'
        )
    parts.append("</body></html>\n")
    path = out_dir / "index.html"
    write_text_atomic(path, "\n".join(parts))
    return path


def _notebook_item(target: str, nb_name: str, info: Mapping[str, Any]) -> str:
    """One index line: the report (HTML, else PDF), its PDF beside it, the notebook."""
    esc = html.escape
    base = f"{esc(target)}/"
    main = info.get("html") or info.get("pdf") or info["ipynb"]
    extra = ""
    if info.get("html") and info.get("pdf"):
        extra = f'<a href="{base}{esc(info["pdf"])}">PDF</a>, '
    return (
        f'<li><a href="{base}{esc(main)}">{esc(nb_name)}</a> '
        f'({extra}<a href="{base}{esc(info["ipynb"])}">notebook</a>)</li>'
    )


def _main_report(summary: Mapping[str, Any]) -> str:
    """Return the report a column header links to (the client report when present)."""
    notebooks = summary.get("notebooks", {})

    def link(info: Mapping[str, Any]) -> str:
        return info.get("html") or info.get("pdf") or info["ipynb"]

    for name in sorted(notebooks):
        if "client" in name:
            return link(notebooks[name])
    return link(notebooks[sorted(notebooks)[0]]) if notebooks else "summary.json"


def write_summaries(stage: Path, results: Sequence[Result], plan: Plan) -> list[str]:
    """Write ``summary.json`` into every staged target folder; return the target names."""
    by_target: dict[str, list[Result]] = {}
    for r in results:
        by_target.setdefault(r.job.target, []).append(r)
    for target, res in by_target.items():
        summary = _target_summary(
            target, res, plan.targets.get(target), plan.journeys_path, plan.scenarios
        )
        write_text_atomic(stage / target / "summary.json", json.dumps(summary, indent=2) + "\n")
    return list(by_target)
