"""The typer application object and the error-handling entry point.

Command modules (``qualmodel.cli.*``) register their commands on :data:`app`. Any
:class:`~qualmodel.core.errors.QualmodelError`, usage error or OS error ends the program with
one line on stderr and exit code 2 (never a traceback).
"""

from __future__ import annotations

import errno
import functools
import sys
from collections.abc import Sequence
from typing import Any

import typer

try:  # typer ≥ 0.20 vendors click under typer._click
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import exceptions as click_exceptions

from qualmodel.core.errors import QualmodelError

app = typer.Typer(
    name="qualmodel",
    help="Lead-qualification modeling: simulate, import, qualify, survival, compare, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

EXIT_USAGE = 2


def _print_version(value: bool) -> None:
    """Eager ``--version``: print the version and stop before any command runs."""
    if value:
        from qualmodel import __version__

        print(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        help="Print the qualmodel version and exit.",
        callback=_print_version,
        is_eager=True,
    ),
) -> None:
    """Lead-qualification modeling: simulate, import, qualify, survival, compare, report."""


@app.command("version")
def version() -> None:
    """Print the qualmodel version."""
    from qualmodel import __version__

    print(__version__)


#: Longest word (a run without spaces) quoted in full in an error line; longer ones, such as
#: a huge data value echoed back, are shortened to their start and their length.
MAX_ERROR_WORD = 200


def _short(word: str) -> str:
    if len(word) <= MAX_ERROR_WORD:
        return word
    body = word.rstrip(";,.:)'\"")
    return f"{body[:80]}…({len(body):,} characters){word[len(body) :]}"


def fail(message: str) -> None:
    """Print ``error: message`` as one line on stderr and exit with code 2."""
    print(f"error: {' '.join(_short(w) for w in str(message).split())}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


def os_error_message(exc: OSError) -> str:
    """One line for an operating-system error (read-only file system, disk full, ...)."""
    where = exc.filename or "output"
    if exc.errno == errno.EROFS:
        return f"{where}: read-only file system; choose a writable location for the output"
    if exc.errno == errno.ENOSPC:
        return f"{where}: no space left on the device; free space or write elsewhere"
    return f"{where}: {exc.strerror or exc}; check the path and its permissions"


@functools.cache
def _command() -> Any:
    """Return the click command of :data:`app`, built once per process.

    Typer rebuilds it on every call (inspecting each command's signature and type hints);
    a process that runs ``qualmodel`` many times, such as a test session, pays that once.
    """
    return typer.main.get_command(app)


def run(argv: Sequence[str] | None = None) -> None:
    """Run :data:`app`; map every user-facing error to one stderr line and exit code 2.

    The commands must be registered first (importing :mod:`qualmodel.cli` does it; its
    ``main`` is the program's entry point).

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; defaults to ``sys.argv[1:]``.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        rc = _command()(args=args, prog_name="qualmodel", standalone_mode=False)
    except QualmodelError as exc:
        fail(str(exc))
    except click_exceptions.UsageError as exc:
        hint = (
            f" (see 'qualmodel {exc.ctx.command_path.split(' ', 1)[-1]} --help')"
            if (exc.ctx and " " in exc.ctx.command_path)
            else " (see 'qualmodel --help')"
        )
        fail(f"{exc.format_message()}{hint}")
    except click_exceptions.ClickException as exc:
        fail(exc.format_message())
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        print("aborted", file=sys.stderr)
        raise SystemExit(130) from None
    except FileNotFoundError as exc:
        fail(f"{exc.filename}: no such file or folder; check the path")
    except PermissionError as exc:
        fail(f"{exc.filename}: permission denied; choose a writable location")
    except IsADirectoryError as exc:
        fail(f"{exc.filename}: is a folder, expected a file")
    except NotADirectoryError as exc:
        fail(f"{exc.filename}: is a file, expected a folder")
    except OSError as exc:
        fail(os_error_message(exc))
    if isinstance(rc, int) and rc != 0:
        raise SystemExit(rc)
