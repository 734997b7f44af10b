"""The shop's periodic upkeep, run by the background worker."""

from __future__ import annotations

from datetime import timedelta

from jobs.tasks import background_task

from .idempotency import prune_idempotency_records


@background_task(every=timedelta(hours=1))
def prune_idempotency_keys() -> int:
    """Forget ``Idempotency-Key`` records older than the idempotency window."""
    return prune_idempotency_records()
