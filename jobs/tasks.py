"""``background_task``: ``@task`` with bounded retries; ``defer``: enqueue with the transaction."""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from .conf import jobs_setting
from .django_api import Task, task
from .periodic import register_periodic, reschedule

logger = logging.getLogger(__name__)

#: Keyword the retry machinery adds when it re-enqueues a task.
ATTEMPT = "_attempt"


def backoff_seconds(attempt: int) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based): exponential, jittered."""
    base = float(jobs_setting("JOBS_RETRY_BASE_SECONDS"))
    ceiling = float(jobs_setting("JOBS_RETRY_MAX_SECONDS"))
    delay = min(ceiling, base * 2 ** (attempt - 1))
    return delay * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not security


def background_task(
    *,
    retry_on: tuple[type[BaseException], ...] = (),
    max_attempts: int | None = None,
    every: timedelta | None = None,
    **task_options: Any,
) -> Callable[[Callable[..., Any]], Task]:
    """Make a module-level function a task (it must be idempotent: it may run twice).

    ``retry_on``: errors that mean "try again later" (the store or database was down).
    On one of those the task re-enqueues itself with ``run_after`` after a backoff,
    up to ``max_attempts`` (default ``JOBS_MAX_ATTEMPTS``) attempts in all, then lets
    the error stand. This attempt's result is recorded as failed either way, with its
    traceback.

    ``every``: run periodically (see :mod:`jobs.periodic`).
    """

    def decorate(func: Callable[..., Any]) -> Task:
        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            attempt = int(kwargs.pop(ATTEMPT, 1))
            try:
                return func(*args, **kwargs)
            except retry_on as exc:
                limit = max_attempts or int(jobs_setting("JOBS_MAX_ATTEMPTS"))
                _retry_later(the_task, attempt, limit, args, kwargs, exc)
                raise
            finally:
                if every is not None:  # the next period is a periodic task's retry
                    reschedule(the_task)

        the_task: Task = task(**task_options)(run)
        if every is not None:
            register_periodic(the_task, every)
        return the_task

    return decorate


def _retry_later(
    the_task: Task,
    attempt: int,
    limit: int,
    args: tuple,
    kwargs: dict[str, Any],
    exc: BaseException,
) -> None:
    if attempt >= limit:
        logger.error("%s gave up after %d attempts: %s", the_task.name, attempt, exc)
        return
    delay = backoff_seconds(attempt)
    the_task.using(run_after=timezone.now() + timedelta(seconds=delay)).enqueue(
        *args, **kwargs, **{ATTEMPT: attempt + 1}
    )
    logger.warning(
        "%s failed (%s); attempt %d of %d in %.0f s", the_task.name, exc, attempt + 1, limit, delay
    )


def defer(the_task: Task, *args: Any, **kwargs: Any) -> None:
    """Enqueue ``the_task`` so that it exists exactly when the caller's transaction commits.

    With the database backend the queue row is written inside the open transaction
    (it commits or rolls back with the caller's rows: nothing is lost if the process
    dies right after the commit). Other backends get the task after the commit, so a
    worker never looks for rows that are not there yet.
    """
    if _queues_in_this_database(the_task):
        the_task.enqueue(*args, **kwargs)
    else:
        transaction.on_commit(lambda: the_task.enqueue(*args, **kwargs))


def _queues_in_this_database(the_task: Task) -> bool:
    try:
        from django_tasks_db.backend import DatabaseBackend
    except ImportError:  # pragma: no cover - the default backend is installed
        return False
    return isinstance(the_task.get_backend(), DatabaseBackend)
