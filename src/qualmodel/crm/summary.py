"""Plain-text summary of an import, printed by ``qualmodel import --dry-run``.

:func:`describe_import` reads only the journeys and their ``meta["import"]`` counts, so it
works for wide exports and for stage histories alike.
"""

from __future__ import annotations

from typing import Any

from qualmodel.journeys.contract import STAGE_COLUMNS, Journeys

__all__ = ["describe_import"]


def _counts(d: dict[str, Any], k: int = 12) -> str:
    items = sorted(((str(n), int(v)) for n, v in d.items()), key=lambda x: (-x[1], x[0]))
    text = ", ".join(f"{n} {v}" for n, v in items[:k])
    return text + (f" (+{len(items) - k} more)" if len(items) > k else "")


def describe_import(journeys: Journeys) -> str:
    """Describe what an import produced: leads, stage counts, events, dropped rows and why.

    Parameters
    ----------
    journeys : Journeys
        The result of :func:`~qualmodel.crm.importer.import_crm`.

    Returns
    -------
    str
        Several lines: ``leads``, ``stages`` (leads reaching each stage), ``events`` (per
        name), then for each long table the rows read, dropped rows and cases with their
        reasons, ignored activities, re-entered and skipped stages; the cut-off.
    """
    leads, meta = journeys.leads, journeys.meta
    info = meta.get("import", {})
    stages = {c[:-3]: int(leads[c].notna().sum()) for c in STAGE_COLUMNS if c in leads}
    lines = [
        f"leads: {journeys.n_leads} (from {', '.join(meta.get('files', {})) or 'memory'})",
        f"stages reached: {_counts(stages) or 'none'}",
        f"events: {journeys.n_events}"
        + (
            f" ({_counts(journeys.events['event'].value_counts().to_dict())})"
            if journeys.n_events
            else ""
        ),
    ]
    if "main" in meta.get("files", {}):
        lines.append(f"leads table: dropped leads: {_counts(info.get('dropped', {})) or 'none'}")
    for role in ("history", "touchpoints"):
        h = info.get(role)
        if not h:
            continue
        lines.append(
            f"{role}: {h['rows']} rows, {h['cases']} cases; dropped rows: "
            f"{_counts(h['dropped_rows']) or 'none'}; dropped cases: "
            f"{_counts(h['dropped_cases']) or 'none'}"
        )
        if h.get("ignored"):
            lines.append(f"{role}: ignored activities (rows): {_counts(h['ignored'])}")
        if h.get("repeated"):
            lines.append(
                f"{role}: re-entered stages (extra occurrences not kept): {_counts(h['repeated'])}"
            )
        if h.get("skipped"):
            how = "filled" if h.get("filled") else "left empty"
            lines.append(f"{role}: skipped stages ({how}): {_counts(h['skipped'])}")
        if h.get("won_and_lost_kept_last"):
            lines.append(
                f"{role}: cases won and lost, later outcome kept: {h['won_and_lost_kept_last']}"
            )
    if info.get("observed_until"):
        lines.append(f"observed_until: {info['observed_until']}")
    return "\n".join(lines)
