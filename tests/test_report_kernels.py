"""Warm kernels: one kernel serves several notebooks, each seeing a fresh kernel's state."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import papermill
import pytest

from qualmodel.report.kernels import KernelPool

#: Notebook that leaves every kind of state behind that a fresh kernel would not have.
LITTER = [
    "import os, warnings\nimport matplotlib\nmatplotlib.use('agg')\n"
    "import matplotlib.pyplot as plt\nimport pandas as pd",
    "leak = 1\npd.set_option('display.precision', 2)\nplt.figure()\n"
    "matplotlib.rcParams['lines.linewidth'] = 7.0\nwarnings.simplefilter('ignore')\n"
    "os.chdir('/'); os.environ['QM_LEAK'] = '1'; import sys; sys.path.insert(0, '/nowhere')",
    "from qualmodel.report import skip_rest\nskip_rest('every later cell is a no-op')",
    "leak_after_skip = 1",
]

#: Notebook that reports the state it starts with (one JSON line on stdout).
PROBE = [
    "import json, os, sys, warnings\nimport matplotlib\nmatplotlib.use('agg')\n"
    "import matplotlib.pyplot as plt\nimport pandas as pd",
    "with warnings.catch_warnings(record=True) as seen:\n"
    "    warnings.warn('once only', UserWarning)\n"
    "os.write(2, b'fd-level stderr\\n')\n"
    "print(json.dumps({'leak': 'leak' in globals(), 'pid': os.getpid(), 'cwd': os.getcwd(),"
    " 'precision': pd.get_option('display.precision'), 'figures': plt.get_fignums(),"
    " 'linewidth': matplotlib.rcParams['lines.linewidth'], 'warned': len(seen),"
    " 'env': os.environ.get('QM_LEAK'), 'path0': sys.path[0] == '/nowhere',"
    " 'filters_ignore_all': warnings.filters[0][0] == 'ignore' and warnings.filters[0][2] is"
    " Warning}))",
]

FAIL = ["raise ValueError('this notebook fails')"]


def _notebook(path: Path, cells: list[str]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def _probe(nb) -> dict:
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("name") == "stdout")
    return json.loads(text)


@pytest.fixture(scope="module")
def books(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("books")
    return {
        "litter": _notebook(root / "litter.ipynb", LITTER),
        "probe": _notebook(root / "probe.ipynb", PROBE),
        "fail": _notebook(root / "fail.ipynb", FAIL),
    }


def test_second_notebook_on_a_warm_kernel_sees_a_fresh_state(books, tmp_path):
    work = tmp_path / "work"
    with KernelPool() as pool:
        first = pool.run(
            books["probe"], tmp_path / "p0.ipynb", cwd=work, log_path=tmp_path / "a.log"
        )
        pool.run(books["litter"], tmp_path / "l.ipynb", cwd=tmp_path)
        nb = pool.run(books["probe"], tmp_path / "p1.ipynb", cwd=work, log_path=tmp_path / "b.log")
    before, after = _probe(first), _probe(nb)
    assert after["pid"] == before["pid"]  # the same kernel process served all three
    assert after == before  # …and the probe saw exactly what it saw on the fresh kernel
    assert after["leak"] is False and after["figures"] == [] and after["warned"] == 1
    assert after["cwd"] == str(work) and after["precision"] == 6
    assert [c.execution_count for c in nb.cells] == [1, 2]
    assert (tmp_path / "b.log").read_text().count("fd-level stderr") == 1
    assert (tmp_path / "a.log").read_text().count("fd-level stderr") == 1


def test_a_failed_notebook_retires_its_kernel(books, tmp_path):
    with KernelPool() as pool:
        first = _probe(pool.run(books["probe"], tmp_path / "p0.ipynb"))
        with pytest.raises(papermill.PapermillExecutionError, match="this notebook fails"):
            pool.run(books["fail"], tmp_path / "f.ipynb")
        second = _probe(pool.run(books["probe"], tmp_path / "p1.ipynb"))
        assert len(pool._all) == 1
    assert second["pid"] != first["pid"]
    assert pool._all == [] and pool._idle == []


def test_reuse_false_starts_a_kernel_per_notebook(books, tmp_path):
    with KernelPool(reuse=False) as pool:
        pids = {_probe(pool.run(books["probe"], tmp_path / f"p{i}.ipynb"))["pid"] for i in (0, 1)}
    assert len(pids) == 2


def test_keep_kernels_shares_one_pool_between_runs(monkeypatch):
    from qualmodel.report import kernels

    monkeypatch.setattr(kernels, "_SESSION", [])
    monkeypatch.delenv(kernels.KEEP_KERNELS_ENV, raising=False)
    first, owned = kernels.report_kernels()
    assert owned and kernels.report_kernels()[0] is not first  # a pool per run
    monkeypatch.setenv(kernels.KEEP_KERNELS_ENV, "1")
    shared, owned = kernels.report_kernels()
    assert not owned and kernels.report_kernels() == (shared, False)  # one pool, kept open
    fresh, owned = kernels.report_kernels(reuse=False)
    assert owned and fresh is not shared and fresh.reuse is False
    for pool in (first, shared, fresh):
        pool.close()


def test_the_previous_notebooks_folder_may_be_gone(books, tmp_path):
    import shutil

    with KernelPool() as pool:
        pool.run(books["probe"], tmp_path / "a" / "p0.ipynb", log_path=tmp_path / "a" / "x.log")
        shutil.rmtree(tmp_path / "a")  # a finished test's temporary folder, removed
        nb = pool.run(books["probe"], tmp_path / "b" / "p1.ipynb")
    assert _probe(nb)["cwd"] == str(tmp_path / "b")


class _Channel:
    """A channel whose ``get_msg`` hands out queued messages, then raises Empty."""

    def __init__(self, msgs: list[dict]) -> None:
        self.msgs = list(msgs)

    async def get_msg(self, timeout: float) -> dict:
        from queue import Empty

        if not self.msgs:
            raise Empty
        return self.msgs.pop(0)


def _msg(kind: str, parent: str, state: str | None = None) -> dict:
    content = {"execution_state": state} if state else {}
    return {"msg_type": kind, "parent_header": {"msg_id": parent}, "content": content}


def test_ready_check_reads_up_to_the_idle_of_its_own_request():
    import asyncio

    from qualmodel.report.kernels import _idle_after, _reply_to

    iopub = _Channel([_msg("status", "old", "idle"), _msg("stream", "new"),
                      _msg("status", "new", "busy"), _msg("status", "new", "idle"),
                      _msg("stream", "later")])  # fmt: skip
    assert asyncio.run(_idle_after(iopub, "new", 0.2)) is True
    assert iopub.msgs == [_msg("stream", "later")]  # nothing after the idle is read
    quiet = _Channel([_msg("status", "new", "busy")])  # IOPub joined late: idle lost
    assert asyncio.run(_idle_after(quiet, "new", 0.2)) is False
    shell = _Channel([_msg("kernel_info_reply", "first"), _msg("kernel_info_reply", "second")])
    assert asyncio.run(_reply_to(shell, "second", 1.0))["parent_header"]["msg_id"] == "second"
    assert asyncio.run(_reply_to(_Channel([]), "x", 1.0)) is None


def test_warm_kernels_use_the_ready_check(books, tmp_path, monkeypatch):
    """Every notebook's client (the kernel's first and its later ones) waits for its own
    request's idle status, not for 0.2 s of IOPub silence."""
    from qualmodel.report import kernels

    waited = []

    async def idle_after(channel, msg_id, wait):
        waited.append(msg_id)
        return await kernels_idle_after(channel, msg_id, wait)

    kernels_idle_after = kernels._idle_after
    monkeypatch.setattr(kernels, "_idle_after", idle_after)
    with KernelPool() as pool:
        pool.run(books["probe"], tmp_path / "p0.ipynb")
        nb = pool.run(books["probe"], tmp_path / "p1.ipynb")
        (kernel,) = pool._all
        assert isinstance(kernel.km.client(), kernels._ready_client_class())
    assert waited  # the readiness check ran
    assert _probe(nb)["leak"] is False


def test_kernels_get_their_share_of_the_cpus(tmp_path, monkeypatch):
    """``jobs`` kernels at once: each one's linear algebra gets CPUs // jobs threads; a
    variable set by the user is kept (a kept pool, a fresh kernel per notebook alike)."""
    from qualmodel.core import threads

    book = _notebook(tmp_path / "env.ipynb", [
        "import os\n"
        "print(*(os.environ.get(v) for v in "
        "('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS')))"
    ])  # fmt: skip
    monkeypatch.setattr(threads, "available_cpus", lambda: 8)
    for var in threads.THREAD_ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")
    seen = {}
    for reuse, jobs in ((True, 4), (False, 8)):
        with KernelPool(reuse=reuse, jobs=jobs) as pool:
            nb = pool.run(book, tmp_path / f"out-{reuse}.ipynb")
        seen[reuse, jobs] = nb.cells[0].outputs[0]["text"].split()
    assert seen == {(True, 4): ["2", "2", "3"], (False, 8): ["1", "1", "3"]}
