"""Background-job settings: defaults written once here; ``config/settings.py`` reads them."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # A task that fails with an error its task calls transient is retried this many
    # times in all, waiting base * 2**(attempt-1) seconds (with jitter, capped) between.
    "JOBS_MAX_ATTEMPTS": 8,
    "JOBS_RETRY_BASE_SECONDS": 5.0,
    "JOBS_RETRY_MAX_SECONDS": 600.0,
    # Workers beat every JOBS_HEARTBEAT_SECONDS; a task whose worker has not beaten
    # for JOBS_WORKER_STALE_SECONDS goes back to the queue.
    "JOBS_HEARTBEAT_SECONDS": 10.0,
    "JOBS_WORKER_STALE_SECONDS": 60.0,
    # The system check and /readyz warn when no worker was seen for this long.
    "JOBS_WORKER_MISSING_SECONDS": 180.0,
    # Finished task results are kept this long, then pruned by a periodic task.
    "JOBS_RESULT_RETENTION_DAYS": 7,
}


def jobs_setting(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])
