"""pytest settings shared by ``tests/`` and the notebook checks.

``make test`` also runs ``pytest --nbval-lax src/qualmodel/report/notebooks``: nbval runs the
cells of one notebook in one kernel, in order. With pytest-xdist (``-n N``) the default
``load`` scheduling would spread the cells of one notebook over several workers (each with
its own kernel), so cells would miss the variables defined by earlier ones. Group the items
per notebook file instead.
"""

from __future__ import annotations


def pytest_configure(config):
    """Switch pytest-xdist to per-file (``loadscope``) scheduling when nbval runs notebooks."""
    nbval = getattr(config.option, "nbval_lax", False) or getattr(config.option, "nbval", False)
    if nbval and getattr(config.option, "dist", "no") == "load":
        config.option.dist = "loadscope"
