"""CRM import: turn a CRM export (CSV tables) into journeys through a mapping.

The mapping schema lives in :mod:`.mapping`, the CSV readers in :mod:`.readers` and the
journey building (``import_crm``) in :mod:`.build`. Long tables (stage histories, event
logs, touchpoints; CSV, Parquet or XES) have their schema in :mod:`.history_mapping`, their
readers in :mod:`.logs` and :mod:`.xes`, their rules in :mod:`.history` and their import in
:mod:`.history_import`; :mod:`.export` writes journeys back out as a stage history.

``import_crm(source, mapping)`` turns a CRM export into :class:`~qualmodel.Journeys`; see
``docs/import.md`` for the mapping format.
"""

from __future__ import annotations

from qualmodel.crm.build import import_crm
from qualmodel.crm.export import export_history, write_history
from qualmodel.crm.mapping import Mapping, list_mappings, load_mapping

__all__ = [
    "Mapping",
    "export_history",
    "import_crm",
    "list_mappings",
    "load_mapping",
    "write_history",
]
