"""``manage.py run_worker``: the database worker, plus heartbeats, recovery and periodic tasks."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from typing import Any

from django.core.management.base import CommandParser
from django.db import DatabaseError, InterfaceError, OperationalError, connection, connections
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands import db_worker

from jobs.conf import jobs_setting
from jobs.heartbeat import beat, recover_stale_tasks, requeue_tasks_of
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
            self._run_through_outages(*args, **options)
        finally:
            if pulse is not None:
                pulse.stop()

    def _run_through_outages(self, *args: Any, **options: Any) -> None:
        """django-tasks' worker loop, started again when it loses the database (a restart
        or failover of a managed PostgreSQL) instead of ending the process.

        It is tried again every heartbeat; the task it was running, if any, is queued
        again first. A signal during the wait ends the process as it would between two
        tasks (the loop's own handler is still installed). ``--batch`` runs (tests,
        one-off drains) still stop at the first error.
        """
        lost = False
        while True:
            try:
                if lost:
                    requeue_tasks_of(options["worker_id"])
                super().handle(*args, **options)
                return
            except (OperationalError, InterfaceError) as exc:
                if options["batch"]:
                    raise
                lost = True
                wait = float(jobs_setting("JOBS_HEARTBEAT_SECONDS"))
                logger.warning(
                    "worker %s lost the database (%s); trying again in %g s",
                    options["worker_id"],
                    exc,
                    wait,
                )
                connections.close_all()
                time.sleep(wait)
