"""The queue's own upkeep: old task results and long-gone workers are pruned daily."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from .conf import jobs_setting
from .heartbeat import prune_heartbeats
from .tasks import background_task


@background_task(every=timedelta(days=1))
def prune_task_results() -> dict[str, int]:
    """Delete finished task results older than ``JOBS_RESULT_RETENTION_DAYS``."""
    from django_tasks_db.models import DBTaskResult

    cutoff = timezone.now() - timedelta(days=int(jobs_setting("JOBS_RESULT_RETENTION_DAYS")))
    results, _ = DBTaskResult.objects.finished().filter(finished_at__lt=cutoff).delete()
    return {"results": results, "workers": prune_heartbeats()}
