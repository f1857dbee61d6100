"""Journeys folders on disk: the atomic writer and the checked reader.

They do the work of :meth:`qualmodel.journeys.contract.Journeys.write` and
:meth:`~qualmodel.journeys.contract.Journeys.read` on plain frames and the meta dict, so
this module needs nothing from the contract. ``meta.json`` stores the SHA-256 of both data
files, checked on read.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from qualmodel.core.atomic import make_temp_dir, replace_folder
from qualmodel.core.errors import InputError
from qualmodel.core.safety import clean_stale, is_journeys_folder, temp_prefix

FILES = ("leads.parquet", "events.parquet", "meta.json")
DATA_FILES = ("leads.parquet", "events.parquet")
#: Key of ``meta.json`` holding ``{file name: "sha256:<hex>"}`` of the data files; written
#: by :meth:`Journeys.write`, checked by :meth:`Journeys.read`, never part of ``meta``.
CHECKSUMS_KEY = "checksums"


def file_sha256(path: str | os.PathLike[str]) -> str:
    """``"sha256:<hex digest>"`` of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def checksums_present(folder: str | os.PathLike[str]) -> bool:
    """Whether the ``meta.json`` of a journeys folder stores data-file checksums.

    Parameters
    ----------
    folder : path-like
        A journeys folder (already read successfully, so ``meta.json`` is valid JSON).

    Returns
    -------
    bool
        ``False`` for folders written before checksums existed (read without the check).
    """
    try:
        meta = json.loads((Path(folder) / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and isinstance(meta.get(CHECKSUMS_KEY), dict)


def verify_checksums(folder: Path, meta: dict[str, Any]) -> None:
    """Compare the data files with the checksums of ``meta.json`` (absent: older folder)."""
    sums = meta.pop(CHECKSUMS_KEY, None)
    if sums is None:
        return
    if not isinstance(sums, dict):
        raise InputError(
            f"{folder / 'meta.json'}: '{CHECKSUMS_KEY}' must map file names to sha256 "
            f"digests; re-create the folder (qualmodel simulate / qualmodel import)"
        )
    for name in DATA_FILES:
        want = sums.get(name)
        if want is not None and file_sha256(folder / name) != want:
            raise InputError(
                f"{folder / name}: checksum does not match meta.json (the file was changed or "
                f"corrupted after it was written); re-create the folder with qualmodel "
                f"simulate or re-import it with qualmodel import"
            )


def write_folder(
    leads: pd.DataFrame,
    events: pd.DataFrame,
    meta: dict[str, Any],
    path: str | os.PathLike[str],
    overwrite: bool,
) -> Path:
    """Write the parts of a journeys folder into ``path`` atomically; see ``Journeys.write``."""
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
    clean_stale(target.parent, (f".{target.name}.tmp-",))
    tmp = make_temp_dir(target.parent, temp_prefix(target.name, "tmp"))  # mode as mkdir's
    try:
        leads.to_parquet(tmp / "leads.parquet", index=False)
        events.to_parquet(tmp / "events.parquet", index=False)
        meta = dict(meta)
        meta[CHECKSUMS_KEY] = {name: file_sha256(tmp / name) for name in DATA_FILES}
        (tmp / "meta.json").write_text(
            json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        replace_folder(tmp, target)
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
            f"{', '.join(FILES)} (import a CRM CSV first with 'qualmodel import')"
        )
    if not folder.is_dir():
        raise InputError(
            f"{folder}: no such journeys folder; create one with 'qualmodel simulate' "
            f"or 'qualmodel import'"
        )
    for name in FILES:
        if not (folder / name).is_file():
            raise InputError(
                f"{folder / name}: missing; a journeys folder holds {', '.join(FILES)}"
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
    verify_checksums(folder, meta)
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
