"""CLI commands (simulate)."""

from qualmodel.cli.app import app  # noqa: F401
