"""CRM import: turn a CRM export into journeys through a mapping.

``import_crm`` (:mod:`.importer`) is the one entry point. The mapping schema lives in
:mod:`.mapping` (shared pieces in :mod:`.schema_base`), the CSV readers in :mod:`.readers`,
the wide-table import in :mod:`.build`. Long tables (stage histories, event logs,
touchpoints; CSV, Parquet or XES) have their schema in :mod:`.history_mapping`, their readers
in :mod:`.logs` and :mod:`.xes`, their rules in :mod:`.history` and their import in
:mod:`.history_import`; :mod:`.export` writes journeys back out as a stage history.

``import_crm(source, mapping)`` turns a CRM export into :class:`~qualmodel.Journeys`; see
``docs/import.md`` for the mapping format.
"""

from __future__ import annotations

from qualmodel.crm.export import export_history, write_history
from qualmodel.crm.importer import import_crm
from qualmodel.crm.mapping import Mapping, list_mappings, load_mapping

__all__ = [
    "Mapping",
    "export_history",
    "import_crm",
    "list_mappings",
    "load_mapping",
    "write_history",
]
