"""Tables shown in the analyst notebooks, formatted through :mod:`qualmodel.core.i18n`.

:func:`show_table` turns a result table into strings a reader can take as they are: counts
as integers with thousands separators (never ``340445.0``), p-values as ``0.025`` or
``< 0.001`` (never ``2.457e-02``), other numbers with three significant digits, no
negative zero, booleans and column names through the locale's labels, and no column that
holds nothing (an all-missing column is dropped; a single missing cell reads ``—``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from qualmodel.core.i18n import check_lang, fmt_number, value_label

MISSING = "—"
P_VALUE_FLOOR = 0.001
_P_WORDS = ("p_value", "p", "pvalue", "p_adj", "p_value_adj")


def fmt_p(value: Any, lang: str = "en") -> str:
    """Format a p-value: three decimals, or ``< 0.001`` below that.

    Examples
    --------
    >>> fmt_p(0.02457), fmt_p(2e-9), fmt_p(float("nan"))
    ('0.025', '< 0.001', '—')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if float(value) < P_VALUE_FLOOR:
        return "< " + fmt_number(P_VALUE_FLOOR, lang, ".3f")
    return fmt_number(float(value), lang, ".3f")


def p_clause(value: Any, lang: str = "en") -> str:
    """Return ``p = 0.025`` or ``p < 0.001`` for a sentence.

    Examples
    --------
    >>> p_clause(0.02457), p_clause(1e-12)
    ('p = 0.025', 'p < 0.001')
    """
    shown = fmt_p(value, lang)
    return f"p {shown}" if shown.startswith("<") else f"p = {shown}"


def _is_p_column(name: Any) -> bool:
    text = str(name).lower()
    return text in _P_WORDS or text.endswith("_p") or text.startswith("p_value")


def _is_whole(values: Any) -> bool:
    finite = values.dropna()
    return len(finite) > 0 and bool((finite == finite.round()).all())


def _fmt_cell(value: Any, lang: str, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    return fmt_number(float(value), lang, spec)


def _format_column(values: Any, name: Any, lang: str, counts: set[Any]) -> Any:
    import pandas as pd

    counted = name in counts or (isinstance(name, tuple) and name[0] in counts)
    if counted and values.dtype == object:
        values = pd.to_numeric(values, errors="coerce")
    if pd.api.types.is_bool_dtype(values):
        return values.map(lambda v: value_label("bool", v, lang))
    if not pd.api.types.is_numeric_dtype(values):
        return values.map(lambda v: _label(v, lang, None))
    if _is_p_column(name):
        return values.map(lambda v: fmt_p(v, lang))
    if (
        counted
        or pd.api.types.is_integer_dtype(values)
        or (_is_whole(values) and values.abs().max() >= 100)
    ):
        return values.map(lambda v: _fmt_cell(v, lang, ",.0f"))
    return values.map(lambda v: _fmt_cell(v, lang, ",.3g"))


def show_table(
    table: Any,
    lang: str = "en",
    counts: Iterable[Any] = (),
    columns: Iterable[Any] | None = None,
) -> Any:
    """Return ``table`` as strings ready for display in a notebook.

    Parameters
    ----------
    table : pandas.DataFrame
    lang : str, default "en"
    counts : iterable of column names, optional
        Columns holding counts (leads, events) even where stored as floats.
    columns : iterable of column names, optional
        The columns to show, in this order; default all.

    Returns
    -------
    pandas.DataFrame
        Every cell a string; all-missing columns dropped; the index kept and its labels
        formatted the same way; column names through the locale's ``values.columns``.
    """
    check_lang(lang)
    out = table if columns is None else table[list(columns)]
    out = out.loc[:, [not out[c].isna().all() for c in out.columns]].copy()
    count_set = set(counts)
    for col in out.columns:
        out[col] = _format_column(out[col], col, lang, count_set)
    out.index = out.index.map(lambda v: _label(v, lang))
    out.columns = [_label(c, lang, "columns") for c in out.columns]
    return out


def _label(value: Any, lang: str, group: str | None = "columns") -> Any:
    """Show a label or a text cell: whole floats as integers, missing as ``—``, words looked up."""
    if value is None or value is _pd_na() or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, tuple):
        return tuple(_label(v, lang, group) for v in value)
    if isinstance(value, bool):
        return value_label("bool", value, lang)
    if isinstance(value, float) and value.is_integer():
        return fmt_number(value, lang, ",.0f")
    if isinstance(value, str) and group is not None:
        return value_label(group, value, lang, default=value)
    return value


def _pd_na() -> Any:
    import pandas as pd

    return pd.NA
