"""Atomic writers: write a temporary file in the destination folder, then rename.

Every writer of the package (CLI outputs, journeys, reports) goes through these so that a
reader never sees a half-written file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from qualmodel.errors import ConfigError

__all__ = ["write_bytes_atomic", "write_csv_atomic", "write_text_atomic"]


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder, then rename.

    Readers never see a half-written file: on any error the temporary file is removed and
    an existing ``path`` is left untouched.

    Parameters
    ----------
    path : str or pathlib.Path
        Destination file; its folder is created when missing.
    text : str
        Content, written as UTF-8 with line endings as given.

    Returns
    -------
    pathlib.Path
        The destination path.

    Raises
    ------
    ConfigError
        When ``path`` is an existing folder.
    """
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (e.g. a PNG); see :func:`write_text_atomic`.

    Parameters
    ----------
    path : str or pathlib.Path
        Destination file; its folder is created when missing.
    data : bytes
        Content.

    Returns
    -------
    pathlib.Path
        The destination path.

    Raises
    ------
    ConfigError
        When ``path`` is an existing folder.
    """
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder; give a file path")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_csv_atomic(frame: pd.DataFrame, path: str | Path, **to_csv: Any) -> Path:
    """Write ``frame`` as CSV (no index) atomically; see :func:`write_text_atomic`.

    Parameters
    ----------
    frame : pandas.DataFrame
        Table to write.
    path : str or pathlib.Path
        Destination ``.csv`` file.
    **to_csv
        Extra keyword arguments of :meth:`pandas.DataFrame.to_csv` (e.g. ``date_format``).

    Returns
    -------
    pathlib.Path
        The destination path.
    """
    return write_text_atomic(path, frame.to_csv(index=False, **to_csv))
