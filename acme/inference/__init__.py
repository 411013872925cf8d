"""What every inference function shares: runs, the flow of one series, and their events.

- :func:`run_series`: one completed series through a :class:`Scorer` (a pipeline's own
  loading and scoring): the superseded and not-yet-committed checks, the (series, method)
  lock, the run claimed once per series completion and method version, the result recorded
  with the study's state and ``inference.completed`` in one transaction, and the one retry
  budget: on the last delivery whatever failed ends the run ``failed`` with
  ``inference.failed``.
- :mod:`acme.inference._runs`: the ``inference_runs`` table (claim, complete, fail, lock).
- :func:`completed_data` / :func:`failed_data`: the events' data, with ids derived from
  the run.
- :func:`score_candidates`: the nodule model over a CT volume's candidates (infer-ct, the
  CT benchmark and the nodule model's held-out evaluation).
"""

import importlib
from typing import TYPE_CHECKING

from acme.inference._events import completed_data, completed_id, failed_data, failed_id
from acme.inference._flow import (
    LAST_WAIT_SECONDS,
    Clock,
    Method,
    Outcome,
    Scored,
    Scorer,
    Unusable,
    load_method,
    ms_since,
    run_series,
)
from acme.inference._runs import (
    RETRYABLE,
    Claim,
    CompletedRun,
    IndexedSeries,
    RunInProgress,
    SeriesNotReady,
    claim_for_failure,
    claim_run,
    complete_run,
    fail_run,
    indexed_series,
    series_lock,
)

__all__ = [
    "DEFAULT_HU_WINDOW",
    "LAST_WAIT_SECONDS",
    "RETRYABLE",
    "Claim",
    "Clock",
    "CompletedRun",
    "Detection",
    "IndexedSeries",
    "Method",
    "Outcome",
    "RunInProgress",
    "Scored",
    "Scorer",
    "SeriesNotReady",
    "Unusable",
    "claim_for_failure",
    "claim_run",
    "complete_run",
    "completed_data",
    "completed_id",
    "fail_run",
    "failed_data",
    "failed_id",
    "indexed_series",
    "load_method",
    "ms_since",
    "run_series",
    "score_candidates",
    "series_lock",
]

if TYPE_CHECKING:
    from acme.inference._nodules import DEFAULT_HU_WINDOW, Detection, score_candidates

_NODULES = ("DEFAULT_HU_WINDOW", "Detection", "score_candidates")
"""Imported on first use: the nodule search needs scipy, which only infer-ct runs."""


def __getattr__(name: str) -> object:
    if name in _NODULES:
        return getattr(importlib.import_module("acme.inference._nodules"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
