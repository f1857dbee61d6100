"""Thread counts of the linear-algebra libraries when several processes share the CPUs.

OpenBLAS, MKL and OpenMP start one thread per CPU in every process that loads them (numpy
and scipy each bring their own OpenBLAS). Where several such processes work at once — the
kernels of a report run with ``--jobs N``, the workers of a parallel test run — each
process's threads wait for the others'. :func:`thread_share` gives each process its share
of the CPUs instead, as Dask does for its workers; a variable the user has set is kept.
The libraries read the variables when they load, so they are set in the environment a
process starts with.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["THREAD_ENV", "available_cpus", "thread_share"]

#: Variables that set the thread count of OpenMP, OpenBLAS and MKL.
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def available_cpus() -> int:
    """Return the CPUs this process may run on (its affinity where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def thread_share(processes: int, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the :data:`THREAD_ENV` variables that ``environ`` lacks, each set to a share.

    Parameters
    ----------
    processes : int
        Processes working at the same time; each gets ``available_cpus() // processes``
        threads (at least 1).
    environ : mapping, optional
        The environment the processes start from (default: this process's).

    Returns
    -------
    dict
        Variable name → thread count as text; empty where every variable is set.
    """
    environ = os.environ if environ is None else environ
    share = str(max(1, available_cpus() // max(1, int(processes))))
    return {var: share for var in THREAD_ENV if var not in environ}
