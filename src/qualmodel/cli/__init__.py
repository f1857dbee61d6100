"""Command-line interface ``qualmodel`` (also ``python -m qualmodel``).

Each submodule registers its commands on the shared typer :data:`app`.
"""

from collections.abc import Sequence

from qualmodel.cli import criteria as _criteria  # noqa: F401
from qualmodel.cli import crm as _crm  # noqa: F401
from qualmodel.cli import cure as _cure  # noqa: F401
from qualmodel.cli import power as _power  # noqa: F401
from qualmodel.cli import report as _report  # noqa: F401
from qualmodel.cli import scoring as _scoring  # noqa: F401
from qualmodel.cli import search as _search  # noqa: F401
from qualmodel.cli import simulate as _simulate  # noqa: F401
from qualmodel.cli import survival as _survival  # noqa: F401
from qualmodel.cli import twin as _twin  # noqa: F401
from qualmodel.cli.app import app, fail, run


def main(argv: Sequence[str] | None = None) -> None:
    """Run the ``qualmodel`` command; every user error is one stderr line and exit code 2.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; defaults to ``sys.argv[1:]``.
    """
    run(argv)


__all__ = ["app", "fail", "main"]
