"""Worker heartbeats, and putting tasks of dead workers back on the queue.

``run_worker`` beats every ``JOBS_HEARTBEAT_SECONDS`` from a thread of its own.
A task still marked running whose worker has not beaten for
``JOBS_WORKER_STALE_SECONDS`` (killed, out of memory, its machine gone) is made
ready again; tasks are idempotent, so running it once more is safe.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Max
from django.utils import timezone

from .conf import jobs_setting
from .models import WorkerHeartbeat

logger = logging.getLogger(__name__)


def beat(worker_id: str) -> None:
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={
            "last_seen": timezone.now(),
            "hostname": socket.gethostname()[:255],
            "pid": os.getpid(),
        },
    )


def last_worker_seen() -> datetime | None:
    return WorkerHeartbeat.objects.aggregate(last=Max("last_seen"))["last"]


def _stale_before() -> datetime:
    return timezone.now() - timedelta(seconds=float(jobs_setting("JOBS_WORKER_STALE_SECONDS")))


def recover_stale_tasks() -> int:
    """Make tasks of workers that stopped beating ready again; returns how many."""
    cutoff = _stale_before()
    live = set(
        WorkerHeartbeat.objects.filter(last_seen__gte=cutoff).values_list("worker_id", flat=True)
    )
    return _queue_again(
        lambda owner: owner not in live, "was left running by worker {}, which is gone", cutoff
    )


def requeue_tasks_of(worker_id: str) -> int:
    """Make ready again the tasks ``worker_id`` left running when it lost the database
    (it runs one task at a time: between two, none of its tasks still runs)."""
    return _queue_again(
        lambda owner: owner == worker_id, "was cut off when worker {} lost the database"
    )


def _queue_again(
    owned: Callable[[str | None], bool], why: str, started_before: datetime | None = None
) -> int:
    """Make ready again the running tasks whose last worker ``owned`` picks (started
    before ``started_before``, if given); returns how many. Each is logged with ``why``."""
    from django_tasks_db.models import DBTaskResult

    from .django_api import TaskResultStatus

    running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING)
    if started_before is not None:
        running = running.filter(started_at__lt=started_before)
    queued = 0
    for result in running.only("id", "worker_ids", "started_at", "task_path"):
        owner = result.worker_ids[-1] if result.worker_ids else None
        if not owned(owner):
            continue
        queued += DBTaskResult.objects.filter(
            id=result.id, status=TaskResultStatus.RUNNING, started_at=result.started_at
        ).update(status=TaskResultStatus.READY, run_after=timezone.now(), started_at=None)
        logger.warning(
            "task %s (%s) %s: queued again", result.id, result.task_path, why.format(owner)
        )
    return queued


def prune_heartbeats() -> int:
    """Forget workers not seen for a day."""
    deleted, _ = WorkerHeartbeat.objects.filter(
        last_seen__lt=timezone.now() - timedelta(days=1)
    ).delete()
    return deleted


@dataclass(frozen=True)
class WorkerStatus:
    ok: bool
    detail: str


def worker_status() -> WorkerStatus:
    """Whether a worker has been seen within ``JOBS_WORKER_MISSING_SECONDS``."""
    last = last_worker_seen()
    limit = float(jobs_setting("JOBS_WORKER_MISSING_SECONDS"))
    if last is None:
        return WorkerStatus(False, "No background worker has ever been seen.")
    age = (timezone.now() - last).total_seconds()
    if age > limit:
        return WorkerStatus(
            False, f"No background worker seen for {age / 60:.0f} minutes (limit {limit:.0f} s)."
        )
    return WorkerStatus(True, f"worker seen {age:.0f} s ago")
