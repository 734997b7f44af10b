"""Run queued background tasks in the test's own process and transaction."""

from __future__ import annotations

from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

DRAINER = Worker(
    queue_names=["*"],
    interval=0,
    batch=True,
    backend_name="default",
    startup_delay=False,
    max_tasks=None,
    worker_id="test-drain",
    excluded_queue_names=[],
)


def drain(limit: int = 1000) -> int:
    """Run every task that is ready now (tasks they enqueue too); return how many ran.

    Unlike the worker's loop this never closes the database connection, which would
    end the test's transaction.
    """
    ran = 0
    while ran < limit and (result := DBTaskResult.objects.ready().first()) is not None:
        result.claim(DRAINER.worker_id)
        DRAINER.run_task(result)
        ran += 1
    return ran
