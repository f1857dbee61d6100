"""The CLI entry point: usage errors are one stderr line and exit code 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from qualmodel.cli import main


def test_help_exits_zero(capsys):
    try:
        main(["--help"])
    except SystemExit as exc:  # click may exit 0 after printing help
        assert exc.code in (0, None)
    assert "Lead-qualification modeling" in capsys.readouterr().out


def test_unknown_command_is_one_line_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["no-such-command"])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("error: ") and "no-such-command" in err[0]


def test_python_m_entry_point_no_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "qualmodel", "no-such-command"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_the_command_skips_the_iri_grammar_and_still_validates_notebooks():
    """A fresh ``qualmodel`` process never builds jsonschema's IRI grammar (1.2 s), and
    reading a notebook still validates it against the nbformat schema."""
    code = (
        "import sys\n"
        "from qualmodel.cli import main\n"
        "try:\n    main(['version'])\nexcept SystemExit:\n    pass\n"
        "import nbformat\n"
        "nb = nbformat.v4.new_notebook()\n"
        "nb.cells.append(nbformat.v4.new_code_cell('1'))\n"
        "nbformat.validate(nb)\n"
        "nb.cells[0]['execution_count'] = 'x'\n"
        "try:\n    nbformat.validate(nb)\nexcept nbformat.ValidationError:\n"
        "    print('invalid notebook refused')\n"
        "print('grammar', sys.modules['rfc3987_syntax'])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "invalid notebook refused" in proc.stdout
    assert "grammar None" in proc.stdout


def test_version_command(capsys):
    from qualmodel import __version__

    main(["version"])
    assert capsys.readouterr().out.strip() == __version__


def test_version_option(capsys):
    """``qualmodel --version`` prints the version and exits 0 without running a command."""
    from qualmodel import __version__

    try:
        main(["--version"])
    except SystemExit as exc:  # the entry point may end with exit code 0
        assert exc.code in (0, None)
    assert capsys.readouterr().out.strip() == __version__
