"""The package namespace: lazy public names that share their submodule's name."""

from __future__ import annotations

import subprocess
import sys


def _fresh_python(code: str) -> None:
    """Run ``code`` in a new interpreter (nothing imported yet); its asserts must hold."""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_submodule_import_does_not_shadow_public_function():
    code = (
        "import qualmodel as qm\n"
        "from qualmodel.simulation.engine import simulate as direct\n"
        "from qualmodel.journeys.funnel import stage_durations\n"
        "assert callable(qm.simulate) and qm.simulate is direct, qm.simulate\n"
        "assert callable(qm.funnel), qm.funnel\n"
        "import qualmodel.survival.durations as d\n"
        "assert d.time_to_event is qm.time_to_event\n"
    )
    _fresh_python(code)


def test_report_names_resolve_and_a_kernel_reset_imports_little():
    code = (
        "import sys\n"
        "import qualmodel.report.kernels\n"
        "heavy = sorted(m for m in ('scipy', 'statsmodels', 'lifelines', 'matplotlib',\n"
        "    'qualmodel.report.runner', 'qualmodel.survival') if m in sys.modules)\n"
        "assert heavy == [], heavy\n"
        "from qualmodel import report\n"
        "missing = [n for n in report.__all__ if getattr(report, n, None) is None]\n"
        "assert missing == [], missing\n"
        "assert set(report.__all__) <= set(dir(report))\n"
        "assert report.runner.run_reports is report.run_reports  # submodules too\n"
        "try:\n"
        "    report.no_such_name\n"
        "except AttributeError as exc:\n"
        "    assert 'no_such_name' in str(exc)\n"
        "else:\n"
        "    raise AssertionError('no AttributeError')\n"
    )
    _fresh_python(code)
