"""Backwards-compatible aliases: the CRM importer now lives in :mod:`qualmodel.crm`.

The atomic writers live in :mod:`qualmodel.atomic`. New code imports from those modules
(or uses ``qualmodel.import_crm`` etc.); this module only keeps old imports working.
"""

from __future__ import annotations

from qualmodel.atomic import write_csv_atomic, write_text_atomic
from qualmodel.crm import Mapping, import_crm, list_mappings, load_mapping

__all__ = [
    "Mapping",
    "import_crm",
    "list_mappings",
    "load_mapping",
    "write_csv_atomic",
    "write_text_atomic",
]
