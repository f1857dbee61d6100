"""CLI commands (survival)."""

from qualmodel.cli.app import app  # noqa: F401
