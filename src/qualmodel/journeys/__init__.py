"""The data contract every room reads and writes: :class:`Journeys` (leads + events + meta).

:mod:`~qualmodel.journeys.contract` (the dataclass, validation, normalisation),
:mod:`~qualmodel.journeys.store` (the Parquet folder: atomic write, checked read),
:mod:`~qualmodel.journeys.funnel` (stage counts, conversion, time in stage) and
:mod:`~qualmodel.journeys.outcomes` (which funnel the data describe: stage labels, start,
target and competing outcomes, the headline shares).
"""

from qualmodel.journeys.contract import Journeys

__all__ = ["Journeys"]
