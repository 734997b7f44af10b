"""Our small layer over Django's tasks API (``@task``, ``.enqueue()``, the ``TASKS`` setting).

The default backend, ``django_tasks_db.DatabaseBackend``, keeps the queue in the app's
own database and has no retries, no periodic tasks and no recovery of a task left
running by a worker that died. This app adds exactly that, in one place:

* :func:`jobs.tasks.background_task` -- ``@task`` plus bounded retries with backoff on
  the errors a task names as transient, and optional periodic re-scheduling;
* :mod:`jobs.periodic` -- periodic tasks re-schedule themselves with ``run_after``,
  with at most one pending instance each;
* :mod:`jobs.heartbeat` -- workers record a heartbeat; a task claimed by a worker
  whose heartbeat stopped goes back to the queue;
* ``manage.py run_worker`` -- the database worker with the above switched on;
* :func:`jobs.tasks.defer` -- enqueue in step with the caller's transaction.
"""
