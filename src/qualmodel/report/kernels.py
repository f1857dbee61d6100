"""Notebook kernels: start-up in a private folder, and warm kernels that serve several notebooks.

Starting a Python kernel and importing pandas, matplotlib, lifelines and qualmodel costs
about 2.5 s of CPU per notebook. :class:`KernelPool` keeps one kernel per worker thread of
a report run and hands it the next notebook, after :func:`reset_kernel` (run inside the
kernel, not as a notebook cell) has put it back into the state a fresh kernel would have
for that notebook: empty namespace, execution counter at 1, no open figures, default
matplotlib settings, default ``display.*`` options of pandas, the warning filters and
"shown once" memory of start-up, the notebook's working folder and its own stderr log. The
imported modules stay, which is the point. A kernel whose notebook failed is shut down,
never reused.

What survives a reset (modules and their caches) is moved out of the cyclic garbage
collector's sight (:func:`gc.freeze`), so the collections of the next notebook, and of the
next reset, scan only what that notebook made: a full collection over pandas, matplotlib,
lifelines and numba costs about 0.1 s per pass.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from qualmodel.core.safety import clean_stale
from qualmodel.core.threads import thread_share

__all__ = [
    "KEEP_KERNELS_ENV",
    "KERNEL_DIR_PREFIX",
    "KernelPool",
    "execute_notebook",
    "kernel_dir",
    "kernel_env",
    "report_kernels",
    "reset_kernel",
]

#: Environment variable: ``1`` keeps the warm kernels of a report run for the next run in
#: the same process (see :func:`report_kernels`).
KEEP_KERNELS_ENV = "QUALMODEL_KEEP_KERNELS"

#: Name prefix of the private folder holding this process's kernel connection files.
KERNEL_DIR_PREFIX = "qualmodel-kernels-"
_KERNEL_DIR: list[Path] = []
_ENGINE = "qualmodel-warm"
#: What :func:`reset_kernel` restores; taken in the kernel before its first notebook.
_START_STATE: dict[str, Any] = {}
_REGISTERED: list[str] = []
_SESSION: list[KernelPool] = []
_CLIENT: list[type] = []


def kernel_dir() -> Path:
    """Private folder (mode 700) of this process's kernel connection files (key material).

    Named ``qualmodel-kernels-<pid>-files`` in the temporary folder and removed when the
    process ends; the folder of a killed run (its pid gone) is removed by the next run.
    """
    if not _KERNEL_DIR:
        root = Path(tempfile.gettempdir())
        clean_stale(root, (KERNEL_DIR_PREFIX,))
        folder = root / f"{KERNEL_DIR_PREFIX}{os.getpid()}-files"
        folder.mkdir(mode=0o700, exist_ok=True)
        atexit.register(shutil.rmtree, folder, True)
        _KERNEL_DIR.append(folder)
    return _KERNEL_DIR[0]


def kernel_env(jobs: int) -> dict[str, str]:
    """Environment of a kernel that runs beside ``jobs - 1`` others: its share of the CPUs.

    This process's environment plus :func:`~qualmodel.core.threads.thread_share`: the
    linear-algebra libraries of each of ``jobs`` kernels start ``CPUs // jobs`` threads
    instead of one per CPU (a variable set already is kept).

    Parameters
    ----------
    jobs : int
        Kernels running at the same time.
    """
    return {**os.environ, **thread_share(jobs)}


def _kernel_manager_class(cwd: Path, stderr_file: Any, env: dict[str, str] | None = None):
    """Build an AsyncKernelManager subclass: kernel started in ``cwd``, stderr to a file.

    Papermill's own ``cwd`` changes the directory of the whole process (unsafe with
    threads); starting the kernel process itself in ``cwd`` is equivalent for the notebook.
    Kernel start-up chatter on stderr (ipykernel's TCP notice) goes into the log file. The
    connection file goes into :func:`kernel_dir`, so a killed run leaves no key material
    behind for long.
    """
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class _ReportKernelManager(AsyncKernelManager):
        @default("client_factory")
        def _client_factory_default(self) -> type:
            return _ready_client_class()

        async def _start(self, **kw: Any) -> None:
            self.connection_file = str(kernel_dir() / f"kernel-{uuid.uuid4().hex}.json")
            kw.setdefault("cwd", str(cwd))
            kw.setdefault("stderr", stderr_file)
            if env is not None:
                kw.setdefault("env", env)
            await AsyncKernelManager._async_start_kernel(self, **kw)

        start_kernel = _start

    return _ReportKernelManager


async def _reply_to(channel: Any, msg_id: str, wait: float) -> dict[str, Any] | None:
    """Return the reply to request ``msg_id`` on ``channel`` (None after ``wait`` s of quiet).

    Replies to earlier requests that were never read are skipped.
    """
    from queue import Empty

    try:
        while True:
            msg = await channel.get_msg(timeout=wait)
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg
    except Empty:
        return None


async def _idle_after(channel: Any, msg_id: str, wait: float) -> bool:
    """Read IOPub up to the kernel's "idle" for request ``msg_id``; False on ``wait`` s of quiet."""
    from queue import Empty

    try:
        while True:
            msg = await channel.get_msg(timeout=wait)
            if (
                msg["msg_type"] == "status"
                and msg["parent_header"].get("msg_id") == msg_id
                and msg["content"].get("execution_state") == "idle"
            ):
                return True
    except Empty:
        return False


def _ready_client_class() -> type:
    """AsyncKernelClient whose readiness check ends as soon as the kernel has answered.

    jupyter_client's ``wait_for_ready`` ends by reading the IOPub channel until it has been
    quiet for 0.2 s: 0.2 s of every notebook on a warm kernel. This one asks for the
    kernel's info and waits for the kernel's "idle" status that follows the request on
    IOPub: once it arrives the subscription is live and every earlier message has been
    read. Without it (IOPub not yet subscribed) it asks again, as jupyter_client does.
    """
    if _CLIENT:
        return _CLIENT[0]
    import time

    from jupyter_client.asynchronous import AsyncKernelClient

    class _ReadyClient(AsyncKernelClient):
        async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
            deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
            while True:
                msg_id = self.kernel_info()
                reply = await _reply_to(self.shell_channel, msg_id, 1.0)
                if reply is not None and await _idle_after(self.iopub_channel, msg_id, 0.2):
                    self._handle_kernel_info_reply(reply)
                    return
                if not await self._async_is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

        # AsyncKernelClient binds wait_for_ready to the base class's function itself
        wait_for_ready = _async_wait_for_ready

    _CLIENT.append(_ReadyClient)
    return _ReadyClient


def reset_kernel(cwd: str, log_path: str | None) -> None:
    """Run inside a kernel before each notebook: give it a fresh kernel's state.

    Restores what the kernel had before its first notebook: IPython's input and AST
    transformers and event callbacks, environment variables, ``sys.path``, matplotlib's
    settings and the warning filters; then
    empties the namespace, sets the execution counter to 1, closes all figures, resets
    pandas' ``display.*`` options, changes to ``cwd`` and sends the kernel's own stderr to
    ``log_path``.

    Parameters
    ----------
    cwd : str
        The notebook's working folder.
    log_path : str or None
        File that receives the kernel's stderr from now on (None: discarded).
    """
    import gc
    import sys
    import warnings

    import matplotlib
    import matplotlib.pyplot as plt
    import pandas as pd
    from IPython import get_ipython

    os.chdir(cwd)  # first: the previous notebook's folder may be gone (getcwd would fail)
    shell = get_ipython()
    hooks = (
        shell.input_transformers_cleanup,
        shell.input_transformers_post,
        shell.ast_transformers,
    )
    if not _START_STATE:
        _START_STATE["rc"] = dict(matplotlib.rcParams)
        _START_STATE["filters"] = list(warnings.filters)
        _START_STATE["hooks"] = [list(h) for h in hooks]
        _START_STATE["events"] = {k: list(v) for k, v in shell.events.callbacks.items()}
        _START_STATE["environ"] = dict(os.environ)
        _START_STATE["path"] = list(sys.path)
    for hook, saved in zip(hooks, _START_STATE["hooks"], strict=True):
        hook[:] = saved  # e.g. report.skip_rest's transformer that empties every later cell
    for name, saved in _START_STATE["events"].items():
        shell.events.callbacks[name][:] = saved
    if dict(os.environ) != _START_STATE["environ"]:
        os.environ.clear()
        os.environ.update(_START_STATE["environ"])
    sys.path[:] = _START_STATE["path"]
    shell.run_line_magic("reset", "-f")
    shell.execution_count = 1
    plt.close("all")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        matplotlib.rcParams.update(_START_STATE["rc"])
    pd.reset_option("^display\\.", silent=True)
    # changing the filters invalidates every module's "already shown" registry; the
    # "once" action keeps its own
    warnings.resetwarnings()
    warnings.filters[:] = _START_STATE["filters"]
    warnings.onceregistry.clear()
    # When ipykernel captures fd 2 into the notebook, it echoes it to the descriptor that
    # ``sys.stderr.fileno()`` returns (the process's own stderr); else fd 2 is that stderr.
    sys.stderr.flush()
    try:
        target = sys.stderr.fileno()
    except (OSError, ValueError):  # io.UnsupportedOperation is an OSError and a ValueError
        target = 2
    fd = os.open(log_path or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, target)
    os.close(fd)
    # %reset collected the last notebook's garbage; what is left is the kernel's own, and
    # later collections need not scan it
    gc.freeze()


def _warm_engine():
    """Papermill engine that runs a notebook on the kernel of a :class:`_Kernel`."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.log import logger

    class _WarmClient(PapermillNotebookClient):
        def execute(self, **kwargs: Any) -> Any:
            self.reset_execution_trackers()
            with self.setup_kernel(**kwargs):
                # a user expression is evaluated as it is, past any input transformer a
                # previous notebook left behind (the reset removes them)
                msg_id = self.kc.execute(
                    "", silent=True, store_history=False, user_expressions={"reset": self.prelude}
                )
                reply = self.wait_for_reply(msg_id)["content"]
                done = reply.get("user_expressions", {}).get("reset", {})
                if reply.get("status") != "ok" or done.get("status") != "ok":
                    err = done if done.get("status") == "error" else reply
                    raise RuntimeError(f"kernel reset: {err.get('ename')}: {err.get('evalue')}")
                self.papermill_execute_cells()
                info_msg = self.wait_for_reply(self.kc.kernel_info())
                self.nb.metadata["language_info"] = info_msg["content"]["language_info"]
                self.set_widgets_metadata()
            self.kc.stop_channels()
            self.kc = None
            return self.nb

    class _WarmEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(
            cls, nb_man: Any, kernel_name: str, log_output: bool = False, **kwargs: Any
        ) -> Any:
            kernel: _Kernel = kwargs.pop("warm_kernel")
            client = _WarmClient(
                nb_man,
                km=kernel.km,
                timeout=kwargs.get("execution_timeout"),
                startup_timeout=kwargs.get("start_timeout", 60),
                kernel_name=kernel_name,
                log=logger,
                log_output=log_output,
            )
            client.prelude = kernel.prelude
            nb_man.save = _throttled_save(nb_man)  # papermill writes after every cell
            try:
                return client.execute()
            finally:
                del nb_man.save  # the final save of notebook_complete writes in full

    papermill_engines.register(_ENGINE, _WarmEngine)
    _REGISTERED.append(_ENGINE)


def _throttled_save(nb_man: Any) -> Any:
    """``nb_man.save`` that writes at most every ``autosave_cell_every`` seconds.

    Papermill rewrites (and validates) the whole output notebook at the start and end of
    every cell; the runner reads it only when the notebook has ended, which always saves.
    A notebook that runs for long is still written every ``autosave_cell_every`` seconds
    (papermill's 30 s), so its progress can be followed.
    """
    save = type(nb_man).save.__get__(nb_man)

    def throttled(**kwargs: Any) -> None:
        every = nb_man.autosave_cell_every or 30
        if (nb_man.now() - nb_man.last_save_time).total_seconds() >= every:
            save(**kwargs)

    return throttled


class _Kernel:
    """One kernel manager and the reset code for the notebook it runs next."""

    def __init__(self, cwd: Path, log_file: Any, env: dict[str, str] | None = None) -> None:
        self.km = _kernel_manager_class(cwd, log_file, env)(kernel_name="python3")
        self.prelude = ""

    def shutdown(self) -> None:
        """Kill the kernel process (if it was started) and remove its connection file."""
        if self.km.has_kernel:
            from jupyter_core.utils import run_sync

            run_sync(self.km.shutdown_kernel)(now=True)


class KernelPool:
    """Warm kernels of one report run, each serving many notebooks one after the other.

    A notebook takes an idle kernel (or starts one), runs on it after :func:`reset_kernel`
    and gives it back; so a run with ``jobs`` notebooks at once keeps at most ``jobs``
    kernels. A kernel whose notebook failed is shut down instead.

    Parameters
    ----------
    reuse : bool, default True
        False: a new kernel for every notebook (papermill's own behaviour; slower, for
        isolating a suspected state leak between notebooks).
    jobs : int, default 1
        Notebooks run at the same time; each kernel's linear algebra gets its share of
        the CPUs (:func:`kernel_env`).
    """

    def __init__(self, reuse: bool = True, jobs: int = 1) -> None:
        self.reuse = reuse
        self.jobs = jobs
        self._idle: list[_Kernel] = []
        self._all: list[_Kernel] = []
        self._lock = threading.Lock()
        self._stderr = open(os.devnull, "ab")  # kernel start-up chatter before the first reset

    def run(
        self,
        template: str | os.PathLike[str],
        output: str | os.PathLike[str],
        parameters: Mapping[str, Any] | None = None,
        *,
        cwd: str | os.PathLike[str] | None = None,
        log_path: str | os.PathLike[str] | None = None,
        progress_bar: bool | dict[str, Any] = False,
    ) -> Any:
        """Execute one notebook (same arguments and result as :func:`execute_notebook`)."""
        if not self.reuse:
            return execute_notebook(
                template, output, parameters, cwd=cwd, log_path=log_path,
                progress_bar=progress_bar, jobs=self.jobs,
            )  # fmt: skip
        import papermill

        run_dir = Path(cwd) if cwd is not None else Path(output).parent
        run_dir.mkdir(parents=True, exist_ok=True)
        kernel = self._take(run_dir)
        log = str(log_path) if log_path is not None else None
        kernel.prelude = (  # an expression: binds no name in the notebook's namespace
            "__import__('qualmodel.report.kernels', fromlist=['reset_kernel'])"
            f".reset_kernel({str(run_dir)!r}, {log!r})"
        )
        if not _REGISTERED:
            _warm_engine()
        try:
            nb = papermill.execute_notebook(
                str(template),
                str(output),
                parameters=dict(parameters or {}),
                engine_name=_ENGINE,
                kernel_name="python3",
                progress_bar=progress_bar,
                warm_kernel=kernel,
            )
        except BaseException:
            self._discard(kernel)
            raise
        with self._lock:
            self._idle.append(kernel)
        return nb

    def _take(self, run_dir: Path) -> _Kernel:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            kernel = _Kernel(run_dir, self._stderr, kernel_env(self.jobs))
            self._all.append(kernel)
            return kernel

    def _discard(self, kernel: _Kernel) -> None:
        with self._lock:
            if kernel in self._all:
                self._all.remove(kernel)
        kernel.shutdown()

    def close(self) -> None:
        """Shut every kernel down (idempotent)."""
        with self._lock:
            kernels, self._all, self._idle = self._all, [], []
        for kernel in kernels:
            kernel.shutdown()
        if not self._stderr.closed:
            self._stderr.close()

    def __enter__(self) -> KernelPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def report_kernels(reuse: bool = True, jobs: int = 1) -> tuple[KernelPool, bool]:
    """Return the kernel pool a report run uses, and whether the run must close it.

    With :data:`KEEP_KERNELS_ENV` set to ``1`` (and ``reuse``), every run in this process
    shares one pool whose kernels stay warm between runs (a session that renders reports
    again and again, or a test suite) and are shut down when the process exits; otherwise
    each run gets its own pool, closed at its end.

    Parameters
    ----------
    reuse : bool, default True
        As :class:`KernelPool`; False always gives a run-own pool of fresh kernels.
    jobs : int, default 1
        Notebooks the run executes at once (:class:`KernelPool`; a kept pool keeps the
        share its kernels started with).

    Returns
    -------
    pool : KernelPool
    owned : bool
        True when the caller closes the pool after its run.
    """
    if not reuse or os.environ.get(KEEP_KERNELS_ENV, "") != "1":
        return KernelPool(reuse=reuse, jobs=jobs), True
    if not _SESSION:
        _SESSION.append(KernelPool(jobs=jobs))
        atexit.register(_SESSION[0].close)
    return _SESSION[0], False


def execute_notebook(
    template: str | os.PathLike[str],
    output: str | os.PathLike[str],
    parameters: Mapping[str, Any] | None = None,
    *,
    cwd: str | os.PathLike[str] | None = None,
    log_path: str | os.PathLike[str] | None = None,
    progress_bar: bool | dict[str, Any] = False,
    jobs: int = 1,
) -> Any:
    """Execute one notebook with papermill on a new ``python3`` kernel of this interpreter.

    Parameters
    ----------
    template : path
        Input notebook.
    output : path
        Executed notebook to write (written even when a cell fails).
    parameters : mapping, optional
        Injected parameters.
    cwd : path, optional
        Working folder of the kernel (default: the output's folder).
    log_path : path, optional
        File receiving the kernel process's stderr (default: discarded).
    progress_bar : bool or dict
        Papermill's tqdm progress bar (a dict passes tqdm options).
    jobs : int, default 1
        Notebooks running at the same time (the kernel's share of the CPUs,
        :func:`kernel_env`).

    Returns
    -------
    nbformat.NotebookNode
        The executed notebook.

    Raises
    ------
    papermill.PapermillExecutionError
        When a cell raises.
    """
    import papermill

    output = Path(output)
    run_dir = Path(cwd) if cwd is not None else output.parent
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(log_path or os.devnull, "ab") as err:
        return papermill.execute_notebook(
            str(template),
            str(output),
            parameters=dict(parameters or {}),
            kernel_name="python3",
            progress_bar=progress_bar,
            kernel_manager_class=_kernel_manager_class(run_dir, err, kernel_env(jobs)),
        )
