"""A throw-away PostgreSQL server for the tests (the ``pg_url`` fixture in conftest.py).

The server runs from the machine's PostgreSQL 15 binaries (``QUALMODEL_PG_BIN`` overrides the
folder) on a temporary data folder and a random 127.0.0.1 port, with password authentication;
as root (which ``initdb`` refuses) it runs as the user ``nobody``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

BIN = Path(os.environ.get("QUALMODEL_PG_BIN", "/usr/lib/postgresql/15/bin"))
PASSWORD = "qm-test-secret"


def _free_port() -> int:
    """Return a free 127.0.0.1 port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_user(cmd: list[str]) -> list[str]:
    """Run ``cmd`` as ``nobody`` when this process is root (initdb refuses root)."""
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "nobody", "--", *cmd]


def start() -> tuple[str, Path, int]:
    """Initialise and start a server; return (URL with password, its folder, port)."""
    if not (BIN / "initdb").is_file():
        raise RuntimeError(
            f"PostgreSQL server binaries not found in {BIN}; install postgresql (15) or set "
            f"QUALMODEL_PG_BIN to its bin folder"
        )
    root = Path(tempfile.mkdtemp(prefix="qm-pg-"))
    os.chmod(root, 0o777)
    data = root / "data"
    pw = root / "pw"
    pw.write_text(PASSWORD + "\n")
    os.chmod(pw, 0o644)
    port = _free_port()
    subprocess.run(
        _as_user(
            [
                str(BIN / "initdb"),
                "-D",
                str(data),
                "-U",
                "qm",
                "--auth=scram-sha-256",
                f"--pwfile={pw}",
                "-E",
                "UTF8",
                "--no-locale",
            ]
        ),
        check=True,
        capture_output=True,
        cwd=root,
    )
    subprocess.run(
        _as_user(
            [
                str(BIN / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(root / "log"),
                "-w",
                "-o",
                f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
        cwd=root,
    )
    return f"postgresql://qm:{PASSWORD}@127.0.0.1:{port}/postgres", root, port


def stop(root: Path) -> None:
    """Stop the server in ``root`` and remove its folder."""
    subprocess.run(
        _as_user([str(BIN / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "stop"]),
        capture_output=True,
        cwd=root,
    )
    shutil.rmtree(root, ignore_errors=True)
