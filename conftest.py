"""pytest settings shared by ``tests/`` and the notebook checks.

``make test`` also runs ``pytest --nbval-lax src/qualmodel/report/notebooks``: nbval runs the
cells of one notebook in one kernel, in order. With pytest-xdist (``-n N``) the default
``load`` scheduling would spread the cells of one notebook over several workers (each with
its own kernel), so cells would miss the variables defined by earlier ones. Group the items
per notebook file instead.

Each pytest-xdist worker, and every kernel and process it starts, gets its share of the
CPUs for linear algebra (``qualmodel.core.threads``): set here, before numpy loads in the
worker. With one OpenBLAS thread per CPU in every worker and kernel, the 2-core machine's
test run took about 30 s more CPU.
"""

from __future__ import annotations

import os

from qualmodel.core.threads import thread_share

if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):  # in a worker
    os.environ.update(thread_share(int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))


def pytest_configure(config):
    """Switch pytest-xdist to per-file (``loadscope``) scheduling when nbval runs notebooks."""
    nbval = getattr(config.option, "nbval_lax", False) or getattr(config.option, "nbval", False)
    if nbval and getattr(config.option, "dist", "no") == "load":
        config.option.dist = "loadscope"
