"""Report languages: message catalogues and locale-aware numbers, dates and figures.

The text of the localised reports lives in one YAML catalogue per language,
``qualmodel/locales/<lang>.yaml`` (package data), never in code. Keys are dotted paths
(``primer.intro``); values are Python format strings whose fields are formatted in the
language's conventions by :func:`t`:

* numbers — the format spec as usual (``{n:,}``, ``{x:.1f}``, ``{share:.1%}``), then in
  German the separators are swapped (``1,234.5`` → ``1.234,5``) and a percent sign is set
  off by a no-break space (``12,5 %``);
* dates — spec ``date`` (``{when:date}``): ``2026-12-31`` in English, ``31.12.2026`` in
  German.

English (``en``) is the default and reproduces the reports' original formats.
:func:`localize_figure` translates the texts matplotlib figures carry (axis labels,
legends, annotations) with the catalogue's ``figure`` phrases and formats tick labels;
:func:`localize_table` formats a table for display.
"""

from __future__ import annotations

import re
import string
from datetime import date, datetime
from functools import cache, lru_cache
from importlib import resources
from numbers import Number
from pathlib import Path
from typing import Any

import yaml

from qualmodel.core.errors import ConfigError

__all__ = [
    "LANGUAGES",
    "catalogue",
    "check_lang",
    "fmt_date",
    "fmt_number",
    "fmt_percent",
    "fmt_shares",
    "localize_figure",
    "display_value",
    "localize_table",
    "say",
    "t",
    "value_label",
]

#: Languages with a catalogue; the first is the default.
LANGUAGES: tuple[str, ...] = ("en", "de")
_NBSP = "\u00a0"
_DATE_FORMAT = {"en": "%Y-%m-%d", "de": "%d.%m.%Y"}


def check_lang(lang: str) -> str:
    """Return ``lang`` when a catalogue exists for it, else raise a one-line ConfigError."""
    if lang not in LANGUAGES:
        raise ConfigError(f"lang '{lang}' is not available; choose one of {', '.join(LANGUAGES)}")
    return lang


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        # ``figure`` and every ``values.<group>`` stay mappings (text → label)
        if isinstance(value, dict) and key != "figure" and prefix != "values.":
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


@cache
def catalogue(lang: str = "en") -> dict[str, Any]:
    """Return the flattened message catalogue of ``lang`` (dotted keys → texts or mappings).

    Parameters
    ----------
    lang : str, default "en"

    Returns
    -------
    dict
    """
    check_lang(lang)
    path = Path(str(resources.files("qualmodel.core"))) / "locales" / f"{lang}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return _flatten(data)


#: A formatted zero with a minus sign (``-0``, ``-0.0``, ``-0%``, ``-0.00%``): a rounding
#: artefact of a tiny negative value; shown without the sign.
_NEGATIVE_ZERO = re.compile(r"^-(0(?:\.0+)?%?)$")


def localize_number_text(text: str, lang: str) -> str:
    """Rewrite an English-formatted number (``1,234.5``, ``12.5%``) for ``lang``.

    A zero that formats with a minus sign (``-0%`` from a share of -0.001) loses the sign.
    """
    text = _NEGATIVE_ZERO.sub(r"\1", text)
    if lang == "en":
        return text
    swapped = text.translate(str.maketrans({",": ".", ".": ","}))
    if swapped.endswith("%") and not swapped.endswith(f"{_NBSP}%"):
        swapped = swapped[:-1].rstrip() + f"{_NBSP}%"
    return swapped


def fmt_number(value: float, lang: str = "en", spec: str = ",.1f") -> str:
    """Format a number with a Python format ``spec`` in the conventions of ``lang``.

    Examples
    --------
    >>> fmt_number(1234.5, "de")
    '1.234,5'
    """
    return localize_number_text(format(value, spec), lang)


def fmt_percent(share: float, lang: str = "en", decimals: int = 1) -> str:
    """Format a share (0.125) as a percentage (``12.5%`` / ``12,5 %``)."""
    return fmt_number(share, lang, f".{decimals}%")


def fmt_shares(
    share: float, *bounds: float, lang: str = "en", decimals: int = 0, most: int = 2
) -> list[str]:
    """Format a share and its interval bounds with the precision that tells them apart.

    The estimate and its bounds share one number of decimals: the fewest (from
    ``decimals`` up to ``most``) at which every bound that differs from the estimate is
    also printed differently (``98.1%`` with ``97.7%–98.5%``, not ``98%`` with
    ``98%–98%``). Missing bounds (NaN) are formatted as given.

    Parameters
    ----------
    share : float
        The estimate (a share: 0.981).
    *bounds : float
        Interval bounds (lower, upper, ...).
    lang : str, default "en"
    decimals, most : int, default 0 and 2
        Fewest and most decimals of the percentage.

    Returns
    -------
    list of str
        The estimate first, then each bound (``["98.1%", "97.7%", "98.5%"]``).

    Examples
    --------
    >>> fmt_shares(0.981, 0.977, 0.985)
    ['98.1%', '97.7%', '98.5%']
    >>> fmt_shares(0.59, 0.57, 0.61)
    ['59%', '57%', '61%']
    """
    values = [share, *bounds]
    d = decimals
    while d < most:
        text = [fmt_percent(v, lang, d) for v in values]
        if all(
            text[0] != shown or abs(v - share) < 1e-12 or v != v
            for v, shown in zip(values[1:], text[1:], strict=True)
        ):
            return text
        d += 1
    return [fmt_percent(v, lang, d) for v in values]


#: Durations below this many days are shown in hours (a median of a few hours reads
#: "5.3 hours", not "0.2 days").
HOURS_BELOW_DAYS = 2.0


def duration_unit(days: float) -> str:
    """Return ``"hours"`` for a duration under :data:`HOURS_BELOW_DAYS` days, else ``"days"``."""
    return "hours" if abs(days) < HOURS_BELOW_DAYS else "days"


def fmt_duration(days: float, lang: str = "en", unit: str | None = None) -> str:
    """Format a duration given in days with one decimal, in days or in hours.

    Parameters
    ----------
    days : float
    lang : str, default "en"
    unit : {"days", "hours"}, optional
        Force the unit (e.g. the estimate's, for its interval bounds); default
        :func:`duration_unit`.

    Returns
    -------
    str
        The number only (``"5.3"`` hours, ``"14.8"`` days); the unit's word comes from the
        catalogue (``units.hours`` / ``units.days``).
    """
    unit = unit or duration_unit(days)
    return fmt_number(days * 24.0 if unit == "hours" else days, lang, ",.1f")


def fmt_date(value: Any, lang: str = "en") -> str:
    """Format a date or timestamp (``2026-12-31`` / ``31.12.2026``)."""
    import pandas as pd

    if value is None or (not isinstance(value, (date, datetime)) and pd.isna(value)):
        return "–"
    return pd.Timestamp(value).strftime(_DATE_FORMAT[check_lang(lang)])


class _Formatter(string.Formatter):
    def __init__(self, lang: str) -> None:
        super().__init__()
        self.lang = lang

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec == "date":
            return fmt_date(value, self.lang)
        if isinstance(value, Number) and not isinstance(value, bool):
            return localize_number_text(format(value, format_spec), self.lang)
        return format(value, format_spec)


def t(key: str, lang: str = "en", /, **values: Any) -> str:
    """Look up ``key`` in the catalogue of ``lang`` and fill in ``values``.

    Parameters
    ----------
    key : str
        Dotted catalogue key, e.g. ``"primer.nurture_result"``.
    lang : str, default "en"
    **values
        Fields of the message (numbers and dates are formatted for ``lang``).

    Returns
    -------
    str

    Raises
    ------
    ConfigError
        Unknown key or a missing field (naming the catalogue and the key).
    """
    cat = catalogue(lang)
    if key not in cat:
        raise ConfigError(f"locales/{lang}.yaml: no message '{key}'; add it to the catalogue")
    text = cat[key]
    if not isinstance(text, str):
        raise ConfigError(f"locales/{lang}.yaml: '{key}' is a mapping, not a message")
    try:
        return _Formatter(lang).format(text, **values)
    except KeyError as exc:
        raise ConfigError(
            f"locales/{lang}.yaml: message '{key}' needs the value {exc}; pass it to t()"
        ) from None


def value_label(group: str, value: Any, lang: str = "en", default: Any = None) -> str:
    """Display label of a data value from the catalogue's ``values.<group>`` mapping.

    Unknown values give ``default`` (when given) or ``str(value)`` (identifiers such as
    criterion names stay as they are).
    """
    mapping = catalogue(lang).get(f"values.{group}") or {}
    key = str(value).lower() if isinstance(value, bool) else str(value)
    if key in mapping:
        return str(mapping[key])
    return str(value if default is None else default)


def display_value(value: Any, lang: str = "en") -> str:
    """Return a raw value (provenance, metadata) as text in ``lang``.

    English gives ``str(value)``. Otherwise booleans and ``None`` get the ``values.bool`` /
    ``values.none`` labels, numbers the language's separators, ISO dates the language's
    date format, and words listed in ``values.meta`` their label.
    """
    import re

    if lang == "en":
        return str(value)
    if value is None:
        return value_label("none", "none", lang)
    if isinstance(value, bool):
        return value_label("bool", value, lang)
    if isinstance(value, int):  # seeds, sizes of runs: plain digits
        return str(value)
    if isinstance(value, float):
        return fmt_number(value, lang, ",.6g")
    text = str(value)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return fmt_date(text, lang)
    return value_label("meta", text, lang)


def say(key: str, lang: str = "en", /, **values: Any) -> None:
    """Display the message ``key`` (see :func:`t`) as Markdown in a notebook."""
    from IPython.display import Markdown, display

    display(Markdown(t(key, lang, **values)))


def _translate(text: str, lang: str) -> str:
    if lang == "en" or not text:
        return text
    cat = catalogue(lang)
    phrases: dict[str, str] = cat.get("figure") or {}
    if text in phrases:
        return phrases[text]
    for group in ("values.stage", "values.columns"):  # whole texts only: tick labels, axes
        if text in (cat.get(group) or {}):
            return str(cat[group][text])
    for src in sorted(phrases, key=len, reverse=True):
        if src in text:  # whole words only: "date" is not replaced inside "Kandidaten"
            pattern = "(?<!\\w)" * src[0].isalnum() + re.escape(src) + "(?!\\w)" * src[-1].isalnum()
            text = re.sub(pattern, lambda _m, new=phrases[src]: new, text)
    stripped = text.replace(",", "").replace(".", "").replace("%", "").strip()
    if stripped.lstrip("−-").isdigit():
        return localize_number_text(text, lang)
    # numbers inside a text ("461  (30.7% of mql)"); dates and versions are left alone
    return _NUMBER_IN_TEXT.sub(lambda m: localize_number_text(m.group(), lang), text)


_NUMBER_IN_TEXT = re.compile(r"(?<![\w.,])\d+(?:,\d{3})*(?:\.\d+)?%?(?![\w.,]\d|\d)")


@lru_cache(maxsize=1)
def _local_formatter_class() -> Any:
    """Build the tick formatter class (lazily: matplotlib is imported only for figures)."""
    from matplotlib.ticker import Formatter

    class LocalFormatter(Formatter):
        """Tick labels of another formatter with the separators of a language."""

        def __init__(self, inner: Any, lang: str) -> None:
            self.inner, self.lang = inner, lang

        def set_axis(self, axis: Any) -> None:
            super().set_axis(axis)
            self.inner.set_axis(axis)

        def set_locs(self, locs: Any) -> None:
            self.inner.set_locs(locs)

        def __call__(self, x: float, pos: int | None = None) -> str:
            return _translate(self.inner(x, pos), self.lang)

        def format_ticks(self, values: Any) -> list[str]:
            return [_translate(v, self.lang) for v in self.inner.format_ticks(values)]

        def get_offset(self) -> str:
            return localize_number_text(self.inner.get_offset(), self.lang)

    return LocalFormatter


def localize_figure(fig: Any, lang: str = "en") -> Any:
    """Translate a matplotlib figure's texts and format its tick labels for ``lang``.

    Every text artist (titles, axis labels, legend entries and titles, annotations) is
    replaced by the catalogue's ``figure`` phrase of the same text, or has the phrases it
    contains replaced (longest first); plain numbers are reformatted. Tick labels of number
    axes get the language's separators, date axes the language's date format. English is
    returned unchanged.

    Parameters
    ----------
    fig : matplotlib.figure.Figure or matplotlib.axes.Axes
    lang : str, default "en"

    Returns
    -------
    The same figure (or axes).
    """
    check_lang(lang)
    if lang == "en":
        return fig
    import matplotlib.dates as mdates
    from matplotlib.text import Text

    local = _local_formatter_class()
    figure = getattr(fig, "figure", None) or fig
    for axes in figure.axes:
        for axis in (axes.xaxis, axes.yaxis):
            old = axis.get_major_formatter()
            if isinstance(old, (mdates.AutoDateFormatter, mdates.ConciseDateFormatter)):
                axis.set_major_formatter(mdates.DateFormatter(_DATE_FORMAT[lang]))
            elif not isinstance(old, local):
                axis.set_major_formatter(local(old, lang))
    for artist in figure.findobj(Text):
        text = artist.get_text()
        new = _translate(text, lang)
        if new != text:
            artist.set_text(new)
    return fig


def localize_table(
    table: Any,
    lang: str = "en",
    spec: str = ",.3g",
    values: dict[str, str] | None = None,
) -> Any:
    """Return a copy of ``table`` ready for display in ``lang``.

    In English the table is returned unchanged. Otherwise the index becomes columns, cells
    of the columns named in ``values`` are replaced by their catalogue labels
    (``values.<group>``), float cells become strings formatted with ``spec`` in the
    language's conventions, integers get thousands separators, timestamps the language's
    date format, booleans the ``values.bool`` labels, and column names their
    ``values.columns`` labels.

    Parameters
    ----------
    table : pandas.DataFrame
    lang : str, default "en"
    spec : str, default ",.3g"
    values : dict, optional
        Column name → catalogue value group, e.g. ``{"stage": "stage"}``.

    Returns
    -------
    pandas.DataFrame
    """
    import pandas as pd

    check_lang(lang)
    if lang == "en":
        return table
    named = [n for n in table.index.names if n is not None]
    out = table.reset_index() if named else table.copy()
    for col, group in (values or {}).items():
        if col in out.columns:
            out[col] = out[col].map(
                lambda v, g=group: "–" if v is None else value_label(g, v, lang)
            )
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_bool_dtype(s):
            out[col] = s.map(lambda v: value_label("bool", v, lang))
        elif pd.api.types.is_integer_dtype(s):
            out[col] = s.map(lambda v: fmt_number(v, lang, ","))
        elif pd.api.types.is_float_dtype(s):
            out[col] = s.map(lambda v: "–" if pd.isna(v) else fmt_number(v, lang, spec))
        elif pd.api.types.is_datetime64_any_dtype(s):
            out[col] = s.map(lambda v: fmt_date(v, lang))
    out.columns = [value_label("columns", c, lang) for c in out.columns]
    return out
