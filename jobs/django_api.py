"""Django's tasks API: ``django.tasks`` on Django 6, the ``django_tasks`` backport before."""

from __future__ import annotations

from importlib.util import find_spec

if find_spec("django.tasks"):  # pragma: no cover - Django 6
    from django.tasks import TaskResultStatus, task, task_backends
    from django.tasks.base import Task, TaskContext
    from django.tasks.exceptions import TaskResultDoesNotExist
else:
    from django_tasks import TaskResultStatus, task, task_backends
    from django_tasks.base import Task, TaskContext
    from django_tasks.exceptions import TaskResultDoesNotExist

__all__ = [
    "Task",
    "TaskContext",
    "TaskResultDoesNotExist",
    "TaskResultStatus",
    "task",
    "task_backends",
]
