"""CRM import: turn a CRM export (CSV tables) into journeys through a mapping.

The mapping schema lives in :mod:`.mapping`, the CSV readers in :mod:`.readers` and the
journey building (``import_crm``) in :mod:`.build`.

``import_crm(source, mapping)`` turns a CRM export into :class:`~qualmodel.Journeys`; see
``docs/import.md`` for the mapping format.
"""

from __future__ import annotations

from qualmodel.crm.build import import_crm
from qualmodel.crm.mapping import Mapping, list_mappings, load_mapping

__all__ = [
    "Mapping",
    "import_crm",
    "list_mappings",
    "load_mapping",
]
