"""A database check: is any worker running? (``manage.py check --database default``)."""

from __future__ import annotations

from typing import Any

from django.core.checks import Tags, Warning, register
from django.db import DatabaseError

from .heartbeat import worker_status


@register(Tags.database)
def check_worker_seen(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[Warning]:
    if not databases:
        return []  # database checks run only when asked for (`check --database default`)
    try:
        status = worker_status()
    except DatabaseError:
        return []  # the database checks report that
    if status.ok:
        return []
    return [
        Warning(
            status.detail,
            hint="Start one with `python manage.py run_worker` (the Procfile's worker process, "
            "a second Koyeb service). Until then renditions stay pending and clean-up waits.",
            id="jobs.W001",
        )
    ]
