"""Never lose a user's data: one rule for every writer, one safe YAML loader, stale temp clean-up.

* :func:`refuse_overlap` — an output may not be an input file, an input folder, a folder
  that contains an input, or a path inside an input folder (and two outputs of one command
  may not overlap either).
* :func:`check_output` — the overwrite rule shared by every writer: an existing output is
  refused unless ``--force``; with ``--force`` a folder is replaced only when qualmodel
  wrote it (a journeys folder's ``meta.json``, or the :data:`MARKER` file of survival and
  report folders); a foreign folder is refused even with ``--force``.
* :func:`load_yaml` — ``yaml.safe_load`` without aliases (no "billion laughs" expansion)
  and with impossible dates reported at their line instead of a traceback.
* :func:`temp_prefix` / :func:`clean_stale` — temporary names carry the writer's process
  id, so leftovers of a killed run are removed by the next run once that process is gone.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from qualmodel.core.errors import ConfigError, InputError, QualmodelError

__all__ = [
    "MARKER",
    "check_output",
    "clean_stale",
    "is_journeys_folder",
    "load_yaml",
    "read_text",
    "refuse_overlap",
    "temp_prefix",
    "write_marker",
]

#: Marker file written into every survival / report output folder: ``--force`` replaces
#: such a folder, never one without it.
MARKER = ".qualmodel-output.json"
#: Start of this process (seconds since the epoch): unmarked temporaries older than this
#: cannot belong to a running writer of this process.
PROCESS_START = time.time()

_PathLike = str | os.PathLike[str]


# ----------------------------------------------------------------------------- YAML
class _NoAliasLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that rejects anchors/aliases and reports impossible dates."""

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: D102
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"alias '*{event.anchor}' is not allowed (aliases can expand without bound); "
                f"write the value out",
                event.start_mark,
            )
        return super().compose_node(parent, index)

    def construct_yaml_timestamp(self, node: Any) -> Any:  # noqa: D102
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"impossible date '{node.value}' ({exc}); write a real date or quote it",
                node.start_mark,
            ) from None


_NoAliasLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", _NoAliasLoader.construct_yaml_timestamp
)


#: Deepest nesting the libyaml path reads; deeper documents go to the pure-Python loader,
#: whose recursion limit gives the "nested too deeply" error.
_FAST_MAX_DEPTH = 200
_NO_FAST_PATH = object()


def _fast_load(text: str) -> Any:
    """Parse ``text`` with libyaml when it is valid, alias-free and shallow, else a sentinel.

    libyaml's parser reads a fitted scenario (75 kB) in 20 ms where the pure-Python
    ``SafeLoader`` takes 140 ms; the values are the same (same constructor and resolver).
    One pass over its event stream first refuses aliases and deep nesting; any problem at
    all returns :data:`_NO_FAST_PATH`, so that the pure-Python loader reads the text again
    and words the error exactly as before.
    """
    if not getattr(yaml, "__with_libyaml__", False):
        return _NO_FAST_PATH
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.CSafeLoader):
            if isinstance(event, yaml.AliasEvent):
                return _NO_FAST_PATH
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > _FAST_MAX_DEPTH:
                    return _NO_FAST_PATH
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        return yaml.load(text, Loader=yaml.CSafeLoader)  # noqa: S506 - the safe loader
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError):
        return _NO_FAST_PATH


#: Longest YAML document read (characters): criteria, scenario, mapping and search-space
#: files are a few kilobytes; parsing is slow enough that a huge file would take minutes.
MAX_YAML_CHARS = 1 << 20


def load_yaml(text: str, where: str, error: type[QualmodelError] = ConfigError) -> Any:
    """Parse YAML text safely (no Python objects, no aliases, checked dates).

    Parameters
    ----------
    text : str
        The YAML document.
    where : str
        File name (or label) for the error message.
    error : type, default ConfigError
        Error class raised for any problem.

    Returns
    -------
    object
        The parsed document (dict, list, scalar or None), a copy of its own.

    Raises
    ------
    QualmodelError
        One line naming ``where``, the line and column, the problem and the fix.

    Notes
    -----
    A text is parsed once per process (the pure-Python safe loader takes ~25 ms for a
    built-in scenario, and a report loads the same scenario, criteria and search space for
    every simulation); every call returns a deep copy, so no caller sees another's data.
    """
    return copy.deepcopy(_parsed_yaml(text, where, error))


@functools.lru_cache(maxsize=32)
def _parsed_yaml(text: str, where: str, error: type[QualmodelError]) -> Any:
    if len(text) > MAX_YAML_CHARS:
        raise error(
            f"{where}: {len(text):,} characters of YAML, more than {MAX_YAML_CHARS:,}; "
            f"criteria, scenario, mapping and search-space files are far smaller — check "
            f"that this is the right file, or split it"
        )
    fast = _fast_load(text)
    if fast is not _NO_FAST_PATH:
        return fast
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        pos = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or (str(exc).splitlines() or [""])[0]
        fix = "" if "; " in problem else "; fix the syntax"
        raise error(f"{where}: invalid YAML{pos} ({problem}){fix}") from None
    except RecursionError:
        raise error(f"{where}: YAML nested too deeply; flatten the document") from None


def read_text(path: _PathLike, what: str, error: type[QualmodelError] = InputError) -> str:
    """Read a UTF-8 text file; a missing, unreadable or non-UTF-8 file is one error line.

    Parameters
    ----------
    path : path-like
        The file.
    what : str
        What the file is (``"criteria file"``), for the message.
    error : type, default InputError
        Error class raised.

    Returns
    -------
    str
    """
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise error(
            f"{path}: {what} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
            f"{exc.start}); save it as UTF-8"
        ) from None
    except IsADirectoryError:
        raise error(f"{path}: is a folder, expected a {what}") from None
    except FileNotFoundError:
        raise error(f"{path}: no such {what}; check the path") from None
    except OSError as exc:
        raise error(f"{path}: cannot read {what} ({exc.strerror or exc}); check it") from None


# ----------------------------------------------------------------------------- overlap
def _resolved(path: _PathLike) -> Path:
    return Path(path).expanduser().resolve()


def _same(a: Path, b: Path) -> bool:
    if a == b:
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _overlap(out: Path, other: Path, other_is_dir: bool) -> str | None:
    """How ``out`` collides with ``other`` (``None`` when it does not)."""
    if _same(out, other):
        return "is"
    if out in other.parents:
        return "contains"
    if other_is_dir and other in out.parents:
        return "lies inside"
    return None


def refuse_overlap(
    outputs: Mapping[str, _PathLike | None], inputs: Mapping[str, _PathLike | None]
) -> None:
    """Refuse outputs that are, contain or lie inside an input (or another output).

    Parameters
    ----------
    outputs : mapping
        Option name (``"--out"``) → output path (``None`` entries are ignored).
    inputs : mapping
        Label (``"--journeys"``) → input file or folder (``None`` entries are ignored).

    Raises
    ------
    ConfigError
        One line naming the output option, both paths and the fix; nothing is written.
    """
    outs = {k: _resolved(v) for k, v in outputs.items() if v is not None}
    ins = {k: _resolved(v) for k, v in inputs.items() if v is not None}
    for opt, out in outs.items():
        for label, src in ins.items():
            how = _overlap(out, src, src.is_dir())
            if how is not None:
                kind = "folder" if src.is_dir() else "file"
                raise ConfigError(
                    f"{opt} {out} {how} the input {kind} {src} ({label}); writing there would "
                    f"destroy input data — choose another {opt}"
                )
    names = list(outs)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            how = _overlap(outs[a], outs[b], True) or _overlap(outs[b], outs[a], True)
            if how is not None:
                raise ConfigError(
                    f"{a} {outs[a]} and {b} {outs[b]} overlap; give them different paths"
                )


# ----------------------------------------------------------------------------- overwrite
def is_journeys_folder(path: _PathLike) -> bool:
    """Whether ``path`` is a journeys folder written by qualmodel (its ``meta.json`` says so)."""
    meta = Path(path) / "meta.json"
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "qualmodel_version" in data


def write_marker(folder: _PathLike, command: str) -> Path:
    """Write the :data:`MARKER` file that lets ``--force`` replace ``folder`` later.

    Parameters
    ----------
    folder : path-like
        Output folder (usually still the temporary one).
    command : str
        The command that wrote it (``"survival"``, ``"report"``).

    Returns
    -------
    pathlib.Path
        The marker file.
    """
    from qualmodel import __version__

    path = Path(folder) / MARKER
    text = json.dumps({"written_by": "qualmodel", "command": command, "version": __version__})
    path.write_text(text + "\n", encoding="utf-8")
    return path


def _has_marker(folder: Path, command: str) -> bool:
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("command") == command


def _visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def check_output(
    path: _PathLike,
    option: str,
    *,
    force: bool,
    kind: str,
    legacy: frozenset[str] | None = None,
) -> bool:
    """Apply the overwrite rule to one output before anything is computed or written.

    Parameters
    ----------
    path : path-like
        The output path.
    option : str
        Its option name, for the message (``"--out"``).
    force : bool
        Whether ``--force`` was given.
    kind : {"file", "journeys", "survival", "report"}
        ``"file"``: a single output file. ``"journeys"``: a journeys folder (recognised by
        its ``meta.json``). Otherwise a folder recognised by the :data:`MARKER` file with
        that command name.
    legacy : frozenset of str, optional
        File names a folder of this kind held before markers existed: a folder holding only
        such files is recognised too.

    Returns
    -------
    bool
        Whether ``path`` exists (and will be replaced).

    Raises
    ------
    ConfigError
        Existing output without ``force``; a folder where a file is expected or the other
        way round; a non-empty folder that qualmodel did not write (even with ``force``).
    """
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return False
    if kind == "file":
        if path.is_dir():
            raise ConfigError(f"{option} {path}: is a folder; give a file path")
        if not force:
            raise ConfigError(f"{option} {path}: already exists; pass --force to replace it")
        return True
    if not path.is_dir():
        raise ConfigError(f"{option} {path}: exists and is not a folder; choose another {option}")
    if not _visible(path) and not (path / MARKER).exists() and not (path / "meta.json").exists():
        return False  # an empty folder holds nothing to lose
    ours = (
        is_journeys_folder(path)
        if kind == "journeys"
        else _has_marker(path, kind) or (legacy is not None and set(_visible(path)) <= legacy)
    )
    if not ours:
        what = "a journeys folder" if kind == "journeys" else f"a qualmodel {kind} folder"
        raise ConfigError(
            f"{option} {path}: exists and is not {what} written by qualmodel (it holds "
            f"{', '.join(_visible(path)[:3]) or 'hidden files'}); refusing to replace it even "
            f"with --force — choose another {option}"
        )
    if not force and kind != "report":
        raise ConfigError(f"{option} {path}: already exists; pass --force to replace it")
    return True


# ----------------------------------------------------------------------------- temporaries
def temp_prefix(name: str, tag: str) -> str:
    """Prefix of a temporary file/folder next to output ``name``: ``.<name>.<tag>-<pid>-``."""
    return f".{name}.{tag}-{os.getpid()}-"


_PID_RE = re.compile(r"-(\d+)-[^-]*$")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def clean_stale(parent: _PathLike, prefixes: tuple[str, ...]) -> list[Path]:
    """Remove temporaries left by killed runs in ``parent``; return what was removed.

    A temporary whose name carries a process id (see :func:`temp_prefix`) is stale when
    that process no longer runs; one without a process id (older qualmodel versions) is
    stale when it was last modified before this process started.

    Parameters
    ----------
    parent : path-like
        Folder holding the temporaries (the output's parent folder).
    prefixes : tuple of str
        Name prefixes to consider, e.g. ``(".sim.tmp-", ".sim.old-")``.

    Returns
    -------
    list of pathlib.Path
    """
    parent = Path(parent)
    removed: list[Path] = []
    try:
        entries = list(parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(prefixes):
            continue
        m = _PID_RE.search(entry.name)
        try:
            stale = (
                not _pid_alive(int(m.group(1)))
                if m
                else entry.lstat().st_mtime < PROCESS_START - 1.0
            )
        except OSError:
            continue
        if not stale:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed
