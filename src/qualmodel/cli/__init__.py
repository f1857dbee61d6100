"""Command-line interface ``qualmodel`` (also ``python -m qualmodel``).

Each submodule registers its commands on the shared typer :data:`app`.
"""

import sys
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
    _skip_iri_grammar()
    run(argv)


def _skip_iri_grammar() -> None:
    """Keep jsonschema from compiling its optional IRI grammar in this command's process.

    Reading notebooks imports jsonschema, which imports ``rfc3987_syntax`` when it is
    installed (JupyterLab's server brings it): that module compiles an Earley grammar on
    import, 1.2 s of CPU in every ``qualmodel report``. The command validates notebooks,
    never IRI strings, and without the module jsonschema leaves that one format unchecked.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)


__all__ = ["app", "fail", "main"]
