"""Periodic tasks without a scheduler process: each run schedules the next with ``run_after``.

A periodic task has one ``Schedule`` row naming its pending run. After a run, the
next one is enqueued ``every`` later unless a run is already waiting; workers call
:func:`ensure_scheduled` when they start and on every heartbeat, which re-creates a
pending run that went missing (first deploy, a pruned or failed result). Claiming
the row with a conditional UPDATE keeps it to one pending instance even when several
workers do this at once.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .django_api import Task, TaskResultDoesNotExist, TaskResultStatus
from .models import Schedule

logger = logging.getLogger(__name__)

WAITING = (TaskResultStatus.READY, TaskResultStatus.RUNNING)


@dataclass(frozen=True)
class Periodic:
    task: Task
    every: timedelta


_PERIODIC: dict[str, Periodic] = {}


def register_periodic(the_task: Task, every: timedelta) -> None:
    _PERIODIC[the_task.module_path] = Periodic(the_task, every)


def periodic_tasks() -> list[Periodic]:
    return list(_PERIODIC.values())


def ensure_scheduled() -> None:
    """Give every periodic task a pending run if it has none (cheap; safe to repeat)."""
    for periodic in periodic_tasks():
        _schedule(periodic, waiting=WAITING, run_at=None)


def reschedule(the_task: Task) -> None:
    """Called at the end of a periodic run: enqueue the next one, unless one is waiting."""
    periodic = _PERIODIC[the_task.module_path]
    _schedule(periodic, waiting=(TaskResultStatus.READY,), run_at=timezone.now() + periodic.every)


def _schedule(periodic: Periodic, *, waiting: tuple, run_at: object) -> None:
    name = periodic.task.module_path
    with transaction.atomic():
        row, _ = Schedule.objects.get_or_create(name=name)
        if _status(periodic.task, row.pending_result_id) in waiting:
            return
        claim = f"claim-{uuid.uuid4().hex}"
        claimed = Schedule.objects.filter(
            name=name, pending_result_id=row.pending_result_id
        ).update(pending_result_id=claim)
        if not claimed:
            return  # another worker is scheduling it right now
        when = run_at or row.next_run_at or timezone.now()
        result = periodic.task.using(run_after=when).enqueue()
        Schedule.objects.filter(name=name, pending_result_id=claim).update(
            pending_result_id=str(result.id), next_run_at=when
        )
    logger.info("scheduled %s at %s", periodic.task.name, when.isoformat())


def _status(the_task: Task, result_id: str) -> str | None:
    if not result_id or result_id.startswith("claim-"):
        return None
    try:
        return the_task.get_backend().get_result(result_id).status
    except (TaskResultDoesNotExist, ValueError):
        return None
