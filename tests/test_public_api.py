"""No public name lost: every name in ``qualmodel.__all__`` imports, every CLI --help works."""

from __future__ import annotations

import pytest

import qualmodel
from conftest import run_cli


@pytest.mark.parametrize("name", sorted(qualmodel.__all__))
def test_every_public_name_imports(name):
    assert getattr(qualmodel, name) is not None


def _commands() -> list[list[str]]:
    from qualmodel.cli import app

    info = __import__("typer").main.get_command(app)
    out = [[]]
    for name, cmd in info.commands.items():
        out.append([name])
        for sub in getattr(cmd, "commands", {}):
            out.append([name, sub])
    return out


@pytest.mark.parametrize("args", _commands(), ids=lambda a: " ".join(a) or "qualmodel")
def test_every_cli_command_help_exits_zero(args, capsys):
    """In-process (``python -m qualmodel`` itself: tests/test_cli_app.py)."""
    code, out = run_cli([*args, "--help"], capsys)
    assert code in (0, None), out.err
    assert "Usage" in out.out
