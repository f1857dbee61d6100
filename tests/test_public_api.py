"""No public name lost: every name in ``qualmodel.__all__`` imports, every CLI --help works."""

from __future__ import annotations

import subprocess
import sys

import pytest

import qualmodel


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
def test_every_cli_command_help_exits_zero(args):
    proc = subprocess.run(
        [sys.executable, "-m", "qualmodel", *args, "--help"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "Usage" in proc.stdout
