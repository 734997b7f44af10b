"""The project's periodic upkeep, run by the background worker."""

from __future__ import annotations

from datetime import timedelta

from jobs.tasks import background_task

from .throttles import prune_throttle_counts


@background_task(every=timedelta(hours=1))
def prune_ended_throttle_windows() -> int:
    """Forget the upload counts of throttle windows that have ended."""
    return prune_throttle_counts()
