"""CLI commands (criteria)."""

from qualmodel.cli.app import app  # noqa: F401
