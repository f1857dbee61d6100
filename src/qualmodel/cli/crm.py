"""CLI commands (crm)."""

from qualmodel.cli.app import app  # noqa: F401
