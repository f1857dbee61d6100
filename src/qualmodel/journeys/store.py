"""Journeys folders on disk: the atomic writer and the checked reader.

They do the work of :meth:`qualmodel.journeys.contract.Journeys.write` and
:meth:`~qualmodel.journeys.contract.Journeys.read`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from qualmodel.core.atomic import make_temp_dir
from qualmodel.core.errors import InputError
from qualmodel.journeys.contract import (
    _DATA_FILES,
    _FILES,
    CHECKSUMS_KEY,
    _verify_checksums,
    file_sha256,
)

if TYPE_CHECKING:
    from qualmodel.journeys.contract import Journeys


def write_folder(journeys: Journeys, path: str | os.PathLike[str], overwrite: bool) -> Path:
    """Write ``journeys`` into folder ``path`` atomically; see :meth:`Journeys.write`."""
    from qualmodel.core.safety import clean_stale, is_journeys_folder, temp_prefix

    target = Path(path)
    if target.exists() and not target.is_dir():
        raise InputError(f"{target}: exists and is not a folder; choose another path")
    if target.exists() and any(target.iterdir()):
        if not overwrite:
            raise InputError(f"{target}: folder exists; pass overwrite=True or choose another")
        if not is_journeys_folder(target):
            raise InputError(
                f"{target}: exists and is not a journeys folder written by qualmodel; "
                f"refusing to replace it — choose another path"
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(target.parent, (f".{target.name}.tmp-", f".{target.name}.old-"))
    tmp = make_temp_dir(target.parent, temp_prefix(target.name, "tmp"))  # mode as mkdir's
    try:
        journeys.leads.to_parquet(tmp / "leads.parquet", index=False)
        journeys.events.to_parquet(tmp / "events.parquet", index=False)
        meta = dict(journeys.meta)
        meta[CHECKSUMS_KEY] = {name: file_sha256(tmp / name) for name in _DATA_FILES}
        (tmp / "meta.json").write_text(
            json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=temp_prefix(target.name, "old"), dir=target.parent))
            old.rmdir()
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def read_parts(
    path: str | os.PathLike[str],
) -> tuple[Path, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Check and read a journeys folder: (folder, leads, events, meta); see :meth:`Journeys.read`.

    Raises a one-line :class:`~qualmodel.core.errors.InputError` for a missing or unreadable
    folder or file and for a data file that does not match its checksum.
    """
    folder = Path(path)
    if folder.is_file():
        raise InputError(
            f"{folder}: is a file, not a journeys folder; give the folder holding "
            f"{', '.join(_FILES)} (import a CRM CSV first with 'qualmodel import')"
        )
    if not folder.is_dir():
        raise InputError(
            f"{folder}: no such journeys folder; create one with 'qualmodel simulate' "
            f"or 'qualmodel import'"
        )
    for name in _FILES:
        if not (folder / name).is_file():
            raise InputError(
                f"{folder / name}: missing; a journeys folder holds {', '.join(_FILES)}"
            )
    meta_path = folder / "meta.json"
    try:
        meta = json.loads(meta_path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{meta_path}: not UTF-8 text (byte at offset {exc.start}); re-create the "
            f"folder or save meta.json as UTF-8"
        ) from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{meta_path}: invalid JSON at line {exc.lineno} column "
            f"{exc.colno} ({exc.msg}); fix or rewrite the file"
        ) from None
    if not isinstance(meta, dict):
        raise InputError(
            f"{meta_path}: expected a JSON object, got {type(meta).__name__}; fix or "
            f"rewrite the file"
        )
    _verify_checksums(folder, meta)
    try:
        leads = pd.read_parquet(folder / "leads.parquet")
        events = pd.read_parquet(folder / "events.parquet")
    except Exception as exc:  # pyarrow raises many types for corrupt files
        raise InputError(
            f"{folder}: cannot read Parquet ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}); re-create the folder "
            f"(qualmodel simulate) or re-import it (qualmodel import)"
        ) from None
    return folder, leads, events, meta
