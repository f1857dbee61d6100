"""Pieces every mapping schema shares: the strict pydantic base and YAML key handling.

Both the table mapping (:mod:`~qualmodel.crm.mapping`) and the long-table blocks
(:mod:`~qualmodel.crm.history_mapping`) build on these.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

__all__ = ["StrictModel", "yaml_key", "yaml_keys"]


class StrictModel(BaseModel):
    """Base model: unknown keys are errors that list the allowed keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            allowed = list(cls.model_fields)
            unknown = [str(k) for k in data if k not in cls.model_fields]
            if any(isinstance(k, bool) for k in data):
                unknown.append("(YAML reads on/off/yes/no keys as true/false: quote them)")
            if unknown:
                raise ValueError(
                    f"unknown key(s) {', '.join(unknown)}; allowed keys: {', '.join(allowed)}"
                )
        return data


def yaml_key(k: Any) -> str:
    """Return a YAML map key as the CSV text it matches (``null`` → ``""``, ``1`` → ``"1"``).

    Unquoted ``yes``/``no``/``on``/``off`` keys are read by YAML as booleans; the original
    spelling is lost, so they are rejected with a hint to quote them.
    """
    if k is None:
        return ""
    if isinstance(k, bool):
        raise ValueError(
            f"YAML read an unquoted key (yes/no/on/off/true/false) as {k}; quote it, "
            f'e.g. "yes": ...'
        )
    return str(k)


def yaml_keys(v: Any) -> Any:
    """Return a YAML map with its keys as CSV text (see :func:`yaml_key`); others as is."""
    if isinstance(v, dict):
        return {yaml_key(k): x for k, x in v.items()}
    return v
