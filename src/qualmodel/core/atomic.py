"""Atomic writers: write a temporary file in the destination folder, then rename.

Every writer of the package (CLI outputs, journeys, reports) goes through these so that a
reader never sees a half-written file. Temporary files and folders are created private
(``tempfile`` uses modes 600/700); the writers here give them the modes an ordinary
``open``/``mkdir`` would (``0o666``/``0o777`` minus the process umask) before they are
renamed into place, so outputs can be shared like any other file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd

from qualmodel.core.errors import ConfigError
from qualmodel.core.safety import clean_stale, temp_prefix

__all__ = [
    "current_umask",
    "make_temp_dir",
    "open_atomic",
    "replace_folder",
    "replace_folders",
    "share_like_umask",
    "temp_paths",
    "write_bytes_atomic",
    "write_csv_atomic",
    "write_text_atomic",
]


def current_umask() -> int:
    """Return the process umask without changing it for other threads.

    Reads ``/proc/self/status`` where available (Linux); elsewhere sets and restores the
    mask with :func:`os.umask` (a short window in which other threads see mask 0).

    Returns
    -------
    int
        The umask, e.g. ``0o022``.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def share_like_umask(path: str | os.PathLike[str]) -> None:
    """Give ``path`` the mode ``open``/``mkdir`` would: 0o666 (files) or 0o777 minus umask.

    Parameters
    ----------
    path : path-like
        A file or folder made by :mod:`tempfile` (private modes 600/700).
    """
    base = 0o777 if os.path.isdir(path) else 0o666
    os.chmod(path, base & ~current_umask())


def make_temp_dir(parent: str | os.PathLike[str], prefix: str) -> Path:
    """Create a uniquely named folder in ``parent`` with the umask's ordinary mode.

    Parameters
    ----------
    parent : path-like
        Existing folder to create it in (the destination's folder, so a rename is atomic).
    prefix : str
        Name prefix (e.g. ``".journeys.tmp-"``).

    Returns
    -------
    pathlib.Path
        The new, empty folder (mode ``0o777 & ~umask``, e.g. 755).
    """
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    share_like_umask(tmp)
    return tmp


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder, then rename.

    Readers never see a half-written file: on any error the temporary file is removed and
    an existing ``path`` is left untouched. The temporary is named
    ``.<name>.tmp-<pid>-<random>``; ones left by a killed process are removed on the next
    write to the same path (:func:`qualmodel.core.safety.clean_stale`).

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
    """Write ``data`` to ``path`` atomically; see :func:`write_text_atomic`.

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
    with open_atomic(path) as fh:
        fh.write(data)
    return Path(path)


@contextmanager
def open_atomic(path: str | Path) -> Iterator[BinaryIO]:
    """Open a temporary binary file next to ``path``; rename it to ``path`` on success.

    For writers that stream large outputs piece by piece. On any error inside the ``with``
    block the temporary file is removed and an existing ``path`` is left untouched.

    Parameters
    ----------
    path : str or pathlib.Path
        Destination file; its folder is created when missing.

    Yields
    ------
    BinaryIO
        The open temporary file.

    Raises
    ------
    ConfigError
        When ``path`` is an existing folder.
    """
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder; give a file path")
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(path.parent, (f".{path.name}.tmp-",))  # left by a killed writer
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path.name, "tmp"), dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
        share_like_umask(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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


@contextmanager
def temp_paths(*paths: str | Path) -> Iterator[tuple[Path, ...]]:
    """Temporary file paths next to ``paths``, renamed onto them together on success.

    For a writer of several files that must appear together or not at all (a CSV and its
    figure): everything is written to the temporaries inside the ``with`` block; only when
    the block ends without error are they renamed into place, in the order given. On any
    error every temporary is removed and the destinations are left untouched.

    Parameters
    ----------
    *paths : str or pathlib.Path
        Destination files; their folders are created when missing.

    Yields
    ------
    tuple of pathlib.Path
        One empty temporary file per destination (mode as ``open`` would give).

    Raises
    ------
    ConfigError
        When a destination is an existing folder.
    """
    dests = [Path(p) for p in paths]
    for dest in dests:
        if dest.is_dir():
            raise ConfigError(f"{dest}: is a folder; give a file path")
        dest.parent.mkdir(parents=True, exist_ok=True)
        clean_stale(dest.parent, (f".{dest.name}.tmp-",))
    temps: list[Path] = []
    try:
        for dest in dests:
            fd, tmp = tempfile.mkstemp(prefix=temp_prefix(dest.name, "tmp"), dir=dest.parent)
            os.close(fd)
            temps.append(Path(tmp))
        yield tuple(temps)
        for tmp, dest in zip(temps, dests, strict=True):
            share_like_umask(tmp)
            os.replace(tmp, dest)
    except BaseException:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
        raise


def replace_folders(moves: Sequence[tuple[Path, Path]]) -> None:
    """Move finished folders into place, all or none (renames only).

    Each ``(source, destination)`` pair renames the finished ``source`` folder (written
    under a temporary name in the destination's folder) to ``destination``; an existing
    destination is first set aside and removed once every move succeeded. When a rename
    fails, the moves already made are rolled back and every set-aside folder is put back
    before the error is raised, so the destinations look as they did before.

    Parameters
    ----------
    moves : sequence of (pathlib.Path, pathlib.Path)
        Finished folders and their destinations (same file system).

    Raises
    ------
    OSError
        The rename that failed, after the roll-back.
    """
    if not moves:
        return
    first = Path(moves[0][1])
    for _, dest in moves:  # set-aside folders of a killed earlier swap
        clean_stale(Path(dest).parent, (f".{Path(dest).name}.old-",))
    trash = Path(tempfile.mkdtemp(prefix=temp_prefix(first.name, "old"), dir=first.parent))
    moved: list[tuple[Path, Path]] = []
    aside: list[tuple[Path, Path]] = []
    try:
        for i, (source, dest) in enumerate(moves):
            if dest.exists():
                keep = trash / f"{i}-{dest.name}"
                os.replace(dest, keep)
                aside.append((keep, dest))
            os.replace(source, dest)
            moved.append((source, dest))
    except OSError:
        for source, dest in reversed(moved):
            os.replace(dest, source)
        for keep, dest in aside:
            if not dest.exists():
                os.replace(keep, dest)
        shutil.rmtree(trash, ignore_errors=True)
        raise
    shutil.rmtree(trash, ignore_errors=True)


def replace_folder(source: Path, dest: Path) -> None:
    """Move the finished folder ``source`` to ``dest``, replacing it; see :func:`replace_folders`.

    Parameters
    ----------
    source : pathlib.Path
        Finished folder, written under a temporary name next to ``dest``.
    dest : pathlib.Path
        Destination folder (replaced when it exists).
    """
    replace_folders([(Path(source), Path(dest))])
