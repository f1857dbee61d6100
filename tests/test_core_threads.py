"""Thread shares of the linear-algebra libraries."""

from __future__ import annotations

import pytest

from qualmodel.core import threads
from qualmodel.core.threads import THREAD_ENV, thread_share


@pytest.mark.parametrize(
    ("cpus", "processes", "share"),
    [(8, 4, "2"), (8, 3, "2"), (2, 2, "1"), (2, 5, "1"), (4, 1, "4"), (4, 0, "4")],
)
def test_share_is_cpus_over_processes_at_least_one(monkeypatch, cpus, processes, share):
    monkeypatch.setattr(threads, "available_cpus", lambda: cpus)
    assert thread_share(processes, environ={}) == dict.fromkeys(THREAD_ENV, share)


def test_a_variable_set_already_is_kept(monkeypatch):
    monkeypatch.setattr(threads, "available_cpus", lambda: 8)
    assert thread_share(2, environ={"MKL_NUM_THREADS": "7"}) == {
        "OMP_NUM_THREADS": "4",
        "OPENBLAS_NUM_THREADS": "4",
    }
    assert thread_share(2, environ=dict.fromkeys(THREAD_ENV, "1")) == {}


def test_available_cpus_is_the_affinity():
    import os

    assert 1 <= threads.available_cpus() <= (os.cpu_count() or 1)
    if hasattr(os, "sched_getaffinity"):
        assert threads.available_cpus() == len(os.sched_getaffinity(0))
