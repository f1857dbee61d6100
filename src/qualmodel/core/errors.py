"""Error types with one-line, actionable messages.

Every error raised for bad user input (files, YAML, parameters, data that breaks the
journey contract) is a :class:`QualmodelError`. The CLI prints ``str(err)`` on one line
to stderr and exits with code 2; nothing else is printed.
"""

from __future__ import annotations


class QualmodelError(Exception):
    """Base class for user-facing errors; ``str()`` is a single line naming the fix."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class ContractError(QualmodelError, ValueError):
    """A :class:`~qualmodel.Journeys` object breaks the data contract."""


class ConfigError(QualmodelError, ValueError):
    """A scenario, criterion, mapping or parameter file is invalid."""


class InputError(QualmodelError, ValueError):
    """An input file (CSV, Parquet, folder) is missing or malformed."""


def preview(values: object, k: int = 5) -> str:
    """Format the first ``k`` items of ``values`` for an error message.

    Parameters
    ----------
    values : iterable
        Items (lead ids, row numbers, ...) to show.
    k : int, default 5
        How many to show before summarising the rest as ``(+N more)``.

    Returns
    -------
    str
        For example ``"L001, L007, L009 (+12 more)"``.
    """
    items = [str(v) for v in list(values)]
    head = ", ".join(items[:k])
    return head + (f" (+{len(items) - k} more)" if len(items) > k else "")
