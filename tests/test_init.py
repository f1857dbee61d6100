"""The package namespace: lazy public names that share their submodule's name."""

from __future__ import annotations

import subprocess
import sys


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
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
