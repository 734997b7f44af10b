from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    """A running ``run_worker`` process; ``last_seen`` moves every few seconds while it lives."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    hostname = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return f"worker {self.worker_id} on {self.hostname} (pid {self.pid})"


class Schedule(models.Model):
    """The one pending run of a periodic task (see :mod:`jobs.periodic`)."""

    name = models.CharField(max_length=200, primary_key=True)
    pending_result_id = models.CharField(max_length=64, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} next at {self.next_run_at}"
