"""The jobs layer on the real database backend, run in-process (see tests/e2e for processes)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core.checks import run_checks
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from jobs.heartbeat import beat, recover_stale_tasks, requeue_tasks_of, worker_status
from jobs.models import Schedule, WorkerHeartbeat
from jobs.periodic import ensure_scheduled
from jobs.tasks import backoff_seconds, defer
from tests.jobs import sample_tasks
from tests.jobs.sample_tasks import (
    CALLS,
    FAILURES_BEFORE_SUCCESS,
    broken,
    flaky,
    flaky_twice_at_most,
    hourly,
)
from tests.support.tasks import drain

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh(settings):
    CALLS.clear()
    FAILURES_BEFORE_SUCCESS.clear()
    settings.JOBS_RETRY_BASE_SECONDS = 0.01
    settings.JOBS_RETRY_MAX_SECONDS = 0.02


def drain_until_idle(seconds: float = 3.0) -> None:
    """Run tasks, including retries that become due, until nothing is waiting."""
    deadline = time.monotonic() + seconds
    while DBTaskResult.objects.filter(status="READY").exists():
        assert time.monotonic() < deadline, "tasks still waiting"
        drain()
        time.sleep(0.02)


def statuses(path_suffix: str) -> list[str]:
    return list(
        DBTaskResult.objects.filter(task_path__endswith=path_suffix)
        .order_by("enqueued_at")
        .values_list("status", flat=True)
    )


def test_a_transient_failure_is_retried_with_backoff_until_it_succeeds():
    FAILURES_BEFORE_SUCCESS["a"] = 3
    flaky.enqueue("a")
    drain_until_idle()
    assert CALLS["a"] == 4
    assert statuses("flaky") == ["FAILED", "FAILED", "FAILED", "SUCCESSFUL"]
    retries = DBTaskResult.objects.filter(task_path__endswith="flaky").order_by("enqueued_at")
    assert [r.args_kwargs["kwargs"].get("_attempt", 1) for r in retries] == [1, 2, 3, 4]


def test_retries_stop_after_the_configured_number_of_attempts(settings):
    settings.JOBS_MAX_ATTEMPTS = 3
    FAILURES_BEFORE_SUCCESS["b"] = 10
    flaky.enqueue("b")
    drain_until_idle()
    assert CALLS["b"] == 3 and statuses("flaky") == ["FAILED"] * 3


def test_a_task_may_set_its_own_number_of_attempts(settings):
    settings.JOBS_MAX_ATTEMPTS = 10
    FAILURES_BEFORE_SUCCESS["t"] = 10
    flaky_twice_at_most.enqueue("t")
    drain_until_idle()
    assert CALLS["t"] == 2 and statuses("flaky_twice_at_most") == ["FAILED"] * 2


def test_a_worker_that_stops_cleanly_counts_as_seen(settings):
    from jobs.management.commands.run_worker import Pulse

    beat("redeployed")
    WorkerHeartbeat.objects.update(last_seen=timezone.now() - timedelta(hours=1))
    Pulse("redeployed").stop()  # SIGTERM at a redeploy
    assert worker_status().ok


def test_other_errors_are_not_retried():
    broken.enqueue("c")
    drain_until_idle()
    assert CALLS["c"] == 1 and statuses("broken") == ["FAILED"]


def test_backoff_grows_exponentially_with_jitter_and_a_cap(settings):
    settings.JOBS_RETRY_BASE_SECONDS = 5
    settings.JOBS_RETRY_MAX_SECONDS = 60
    assert 4 <= backoff_seconds(1) <= 6
    assert 16 <= backoff_seconds(3) <= 24
    assert 48 <= backoff_seconds(10) <= 72


def test_deferred_tasks_exist_only_if_the_transaction_commits():
    with pytest.raises(RuntimeError), transaction.atomic():
        defer(flaky, "rolled-back")
        raise RuntimeError("the caller's transaction fails")
    with transaction.atomic():
        defer(flaky, "committed")
    assert [r.args_kwargs["args"] for r in DBTaskResult.objects.all()] == [["committed"]]


def test_periodic_tasks_have_at_most_one_pending_run():
    ensure_scheduled()
    ensure_scheduled()  # a second worker starting at the same time
    pending = DBTaskResult.objects.filter(task_path__endswith="sample_tasks.hourly")
    assert list(pending.values_list("status", flat=True)) == ["READY"]
    drain()
    assert CALLS["hourly"] == 1
    waiting = pending.filter(status="READY")
    assert waiting.count() == 1  # the next run, an hour later
    assert waiting.get().run_after > timezone.now() + timedelta(minutes=59)
    ensure_scheduled()
    assert pending.filter(status="READY").count() == 1
    name = hourly.module_path
    assert Schedule.objects.get(name=name).pending_result_id == str(waiting.get().id)


def test_a_missing_periodic_run_is_restored():
    ensure_scheduled()
    DBTaskResult.objects.filter(task_path__endswith="sample_tasks.hourly").delete()  # pruned
    ensure_scheduled()
    assert DBTaskResult.objects.filter(task_path__endswith="sample_tasks.hourly").count() == 1


def running_task(worker_id: str, started_ago: timedelta) -> DBTaskResult:
    result = DBTaskResult.objects.get(pk=flaky.enqueue("r").id)
    result.claim(worker_id)
    DBTaskResult.objects.filter(pk=result.pk).update(started_at=timezone.now() - started_ago)
    return result


def test_tasks_of_a_worker_that_stopped_beating_go_back_to_the_queue(settings):
    settings.JOBS_WORKER_STALE_SECONDS = 60
    beat("dead")
    WorkerHeartbeat.objects.filter(pk="dead").update(
        last_seen=timezone.now() - timedelta(minutes=5)
    )
    beat("alive")
    orphaned = running_task("dead", started_ago=timedelta(minutes=5))
    busy = running_task("alive", started_ago=timedelta(minutes=5))
    fresh = running_task("unknown", started_ago=timedelta(seconds=5))
    assert recover_stale_tasks() == 1
    statuses = dict(DBTaskResult.objects.values_list("id", "status"))
    assert statuses[orphaned.pk] == "READY"
    assert statuses[busy.pk] == statuses[fresh.pk] == "RUNNING"
    drain()
    orphaned.refresh_from_db()
    assert orphaned.status == "SUCCESSFUL" and len(orphaned.worker_ids) == 2


def test_a_worker_back_from_a_database_outage_queues_its_cut_off_task_again():
    beat("back")
    beat("other")
    cut_off = running_task("back", started_ago=timedelta(seconds=5))
    others = running_task("other", started_ago=timedelta(seconds=5))
    assert requeue_tasks_of("back") == 1
    statuses = dict(DBTaskResult.objects.values_list("id", "status"))
    assert statuses[cut_off.pk] == "READY" and statuses[others.pk] == "RUNNING"
    drain()
    cut_off.refresh_from_db()
    assert cut_off.status == "SUCCESSFUL"


def test_the_check_and_status_say_when_no_worker_was_seen(settings):
    settings.JOBS_WORKER_MISSING_SECONDS = 60
    assert not worker_status().ok
    ids = [m.id for m in run_checks(databases=["default"])]
    assert "jobs.W001" in ids
    assert "jobs.W001" not in [m.id for m in run_checks()]  # only when asked for the database
    beat("w1")
    assert worker_status().ok
    assert "jobs.W001" not in [m.id for m in run_checks(databases=["default"])]


def test_sample_tasks_module_is_importable_by_path():
    assert flaky.module_path == f"{sample_tasks.__name__}.flaky"
