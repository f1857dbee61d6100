"""Metric records of the reports: what notebooks record and how cells show them.

:func:`metric` builds a record (value, interval, unit, label), :func:`record_metrics`
emits the records of a notebook (collected into ``summary.json`` and the index page),
:func:`format_metric` and :func:`ci_table` show them in tables.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from qualmodel.core.errors import ConfigError
from qualmodel.report.templates import METRICS_MIMETYPE

if TYPE_CHECKING:
    pass

__all__ = ["ci_table", "format_metric", "metric", "metrics_payload", "record_metrics"]


def _finite(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # numpy scalar → Python
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def metric(
    value: Any,
    lower: Any = None,
    upper: Any = None,
    *,
    unit: str = "",
    label: str = "",
    note: str = "",
) -> dict[str, Any]:
    """Build one metric record for :func:`record_metrics`.

    Parameters
    ----------
    value : float, int or str
        The estimate.
    lower, upper : float, optional
        Confidence interval bounds.
    unit : str
        ``"share"`` (a rate in [0, 1], shown as %), ``"days"``, ``"leads"``, ... .
    label : str
        Human-readable name shown on the index page.
    note : str
        Definition of the metric, listed under the index page's table when the metric is a
        headline (e.g. :func:`qualmodel.report.wording.median_definition`); left out when empty.

    Returns
    -------
    dict
        ``{value, lower, upper, unit, label}`` (plus ``note`` when given) with plain
        Python numbers.
    """
    rec = {
        "value": _finite(value),
        "lower": _finite(lower),
        "upper": _finite(upper),
        "unit": unit,
        "label": label,
    }
    if note:
        rec["note"] = note
    return rec


def _normalise_metrics(metrics: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key, val in metrics.items():
        if not isinstance(key, str) or not key:
            raise ConfigError(f"record_metrics: metric names must be non-empty str, got {key!r}")
        if isinstance(val, Mapping):
            rec = metric(
                val.get("value", val.get("estimate")),
                val.get("lower"),
                val.get("upper"),
                unit=str(val.get("unit", "")),
                label=str(val.get("label", "")),
                note=str(val.get("note", "")),
            )
        else:
            rec = metric(val)
        out[key] = rec
    json.dumps(out)  # fail here, not in the runner, when something is not serialisable
    return out


def metrics_payload(
    metrics: Mapping[str, Any], *, headline: bool | Iterable[str] = False
) -> dict[str, Any]:
    """Validate metrics and build the payload that :func:`record_metrics` displays.

    Parameters
    ----------
    metrics : mapping
        name → number, string, or :func:`metric` record.
    headline : bool or iterable of str, default False
        Which metrics appear in the cross-scenario table of ``index.html`` (True: all).

    Returns
    -------
    dict
        ``{"metrics": {name: record}, "headline": [names]}``.
    """
    records = _normalise_metrics(metrics)
    if headline is True:
        heads = list(records)
    elif headline is False:
        heads = []
    else:
        heads = list(headline)
        unknown = [h for h in heads if h not in records]
        if unknown:
            raise ConfigError(f"record_metrics: headline names {unknown} are not metrics")
    return {"metrics": records, "headline": heads}


def record_metrics(metrics: Mapping[str, Any], *, headline: bool | Iterable[str] = False) -> None:
    """Record key metrics of a notebook so that the report runner can collect them.

    Emits a display output of MIME type :data:`METRICS_MIMETYPE` (plus a one-line
    ``text/plain``); ``qualmodel report`` moves it into the executed notebook's metadata
    (``metadata.qualmodel.metrics``), the target's ``summary.json`` and the index page,
    and removes the output from the notebook.

    Parameters
    ----------
    metrics : mapping
        name → number, string, or :func:`metric` record.
    headline : bool or iterable of str, default False
        Which metrics appear in the cross-scenario table of ``index.html`` (True: all).
    """
    payload = metrics_payload(metrics, headline=headline)
    from IPython.display import display

    text = f"qualmodel metrics recorded: {', '.join(payload['metrics'])}"
    display({METRICS_MIMETYPE: payload, "text/plain": text}, raw=True)


def format_metric(rec: Mapping[str, Any] | None, lang: str = "en") -> str:
    """Format a metric record for a table cell (``23.4% [21.0%, 25.9%]``, ``14.8 d``).

    Durations (unit ``days``) under two days are shown in hours (``5.3 h [4.2 h, 6.9 h]``);
    rates (unit ``per_week``) with one decimal (``8.2 [7.4, 9.0]``).

    Parameters
    ----------
    rec : mapping or None
        A :func:`metric` record.
    lang : str, default "en"
        Report language: numbers in its conventions (German ``23,4 % [21,0 %; 25,9 %]``).

    Returns
    -------
    str
    """
    from qualmodel.core.i18n import duration_unit, fmt_duration, localize_number_text, value_label

    if not rec or rec.get("value") is None:
        return "–"
    unit = rec.get("unit", "")
    value = rec["value"]
    # durations: days, or hours (" h") when the estimate is under two days; bounds alike
    span = duration_unit(value) if unit == "days" and isinstance(value, int | float) else None

    def fmt(v: Any) -> str:
        if isinstance(v, str):
            return v
        if isinstance(v, bool):
            return value_label("bool", v, lang) if lang != "en" else ("yes" if v else "no")
        if unit == "share":
            return localize_number_text(f"{v:.1%}", lang)
        if unit == "days":
            return fmt_duration(v, lang, span) + (" h" if span == "hours" else " d")
        if unit == "per_week":  # rates: one decimal throughout ("8.2 [7.4, 9.0]")
            return localize_number_text(f"{v:,.1f}", lang)
        if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) >= 100):
            return localize_number_text(f"{v:,.0f}", lang)
        return localize_number_text(f"{v:,.3g}", lang)

    text = fmt(rec["value"])
    lo, hi = rec.get("lower"), rec.get("upper")
    if lo is not None and hi is not None:
        text += f" [{fmt(lo)}{', ' if lang == 'en' else '; '}{fmt(hi)}]"
    return text


def ci_table(
    table: Any,
    columns: Mapping[str, str],
    *,
    index: str | None = None,
    lower: str = "{}_lo",
    upper: str = "{}_hi",
    lang: str = "en",
) -> Any:
    """Format estimate columns with their interval columns as display strings.

    Parameters
    ----------
    table : pandas.DataFrame
        Holds ``<col>`` and, when present, ``<col>_lo`` / ``<col>_hi`` (see ``lower`` /
        ``upper``), e.g. the output of :func:`qualmodel.criteria.compare.compare_criteria`.
    columns : mapping
        Column → unit (``"share"``, ``"days"``, ``"per_week"``, ``""``) for
        :func:`format_metric`.
    index : str, optional
        Column to use as the row index of the result.
    lower, upper : str
        Name patterns of the bound columns.
    lang : str, default "en"
        Report language of the numbers (:func:`format_metric`).

    Returns
    -------
    pandas.DataFrame
        Strings such as ``"23.4% [21.0%, 25.9%]"``, one column per entry of ``columns``.
    """
    import pandas as pd

    out = pd.DataFrame(index=table.index)
    for col, unit in columns.items():
        lo_col, hi_col = lower.format(col), upper.format(col)
        out[col] = [
            format_metric(
                metric(
                    row[col],
                    row[lo_col] if lo_col in table.columns else None,
                    row[hi_col] if hi_col in table.columns else None,
                    unit=unit,
                ),
                lang,
            )
            for _, row in table.iterrows()
        ]
    if index is not None:
        out.index = pd.Index(table[index].to_numpy(), name=index)
    return out
