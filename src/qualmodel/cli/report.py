"""CLI commands (report)."""

from qualmodel.cli.app import app  # noqa: F401
