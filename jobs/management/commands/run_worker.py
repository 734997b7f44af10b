"""``manage.py run_worker``: the database worker, plus heartbeats, recovery and periodic tasks."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from typing import Any

from django.core.management.base import CommandParser
from django.db import DatabaseError, connection
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands import db_worker

from jobs.conf import jobs_setting
from jobs.heartbeat import beat, recover_stale_tasks
from jobs.periodic import ensure_scheduled

logger = logging.getLogger("jobs")


class Pulse(threading.Thread):
    """Beats for the worker, recovers dead workers' tasks and keeps periodic tasks scheduled."""

    def __init__(self, worker_id: str) -> None:
        super().__init__(name="jobs-pulse", daemon=True)
        self.worker_id = worker_id
        self.stopped = threading.Event()

    def tick(self) -> None:
        try:
            beat(self.worker_id)
            recover_stale_tasks()
            ensure_scheduled()
        except DatabaseError as exc:  # the database may be restarting; try next time
            logger.warning("worker %s could not reach the database: %s", self.worker_id, exc)
        finally:
            connection.close()

    def run(self) -> None:
        while not self.stopped.wait(float(jobs_setting("JOBS_HEARTBEAT_SECONDS"))):
            self.tick()

    def stop(self) -> None:
        """A last beat: the worker was alive until now (a redeploy is not an outage)."""
        self.stopped.set()
        with contextlib.suppress(DatabaseError):  # else its heartbeat simply goes stale
            beat(self.worker_id)


class Command(db_worker.Command):
    help = (
        "Run background tasks (the django-tasks database worker) with heartbeats, recovery "
        "of tasks left running by workers that died, and periodic tasks kept scheduled."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        # Half a second between polls of an empty queue: renditions appear quickly,
        # and an idle poll is one indexed query.
        parser.set_defaults(interval=0.5)

    def handle(self, *args: Any, **options: Any) -> None:
        reloading = options["reload"] and not options["batch"]
        pulse = None
        if not reloading or os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
            pulse = Pulse(options["worker_id"])
            pulse.tick()  # registered before it claims anything
            pulse.start()
        try:
            super().handle(*args, **options)
        finally:
            if pulse is not None:
                pulse.stop()
