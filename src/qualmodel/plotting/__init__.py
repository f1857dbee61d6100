"""Matplotlib figures: every ``plot_*(..., ax=None) -> Axes`` draws on ``ax`` or a new one.

Functions live in topic submodules and are re-exported here, so ``qualmodel.plotting``
is the one import path.
"""

from qualmodel.plotting.base import legend_outside as legend_outside
from qualmodel.plotting.criteria import *  # noqa: F403
from qualmodel.plotting.funnel import *  # noqa: F403
from qualmodel.plotting.models import *  # noqa: F403
from qualmodel.plotting.power import *  # noqa: F403
from qualmodel.plotting.search import *  # noqa: F403
from qualmodel.plotting.survival import *  # noqa: F403
from qualmodel.plotting.twin import *  # noqa: F403
