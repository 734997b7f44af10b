"""The background queue on PostgreSQL: throughput, and how soon renditions are ready.

    uv run python bench/bench_tasks.py [--tasks 1500] [--uploads 20]

1. Queue throughput: tasks per second with one and with two ``run_worker`` processes,
   draining the same backlog of minimal tasks (a rendition task for an image that no
   longer exists: one claim, one query, one result). Two workers are reported as a
   ratio to one, measured in the same run.
2. Rendition latency in the default configuration: a 5 MB JPEG product upload through
   the API, then the time until its three WebP renditions are ready, with one worker
   waiting. p50/p95 over the uploads, and p95 as a ratio to making the same renditions
   inside the request (the old way), measured in the same run.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
import uuid

from common import noise_jpeg, postgres_database, report, setup_django, start_gateway, workdir

from tests.support.app_server import WorkerProcess, app_env


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=1500)
    parser.add_argument("--uploads", type=int, default=20)
    args = parser.parse_args()
    tmp = workdir()
    gateway = start_gateway(tmp)
    database = postgres_database(tmp)
    try:
        bucket = gateway.new_bucket()
        env = app_env(
            database.url,
            gateway,
            bucket,
            LOG_LEVEL="ERROR",
            ALLOWED_HOSTS="testserver,127.0.0.1",
            CONN_MAX_AGE="60",  # the production default (the test harness uses 0)
        )
        setup_django(tmp, **{k: v for k, v in env.items() if k not in ("PYTHONPATH",)})
        from media_store.storage.bucket import apply_public_read_policy

        apply_public_read_policy(gateway.client(), bucket)
        rows = throughput(env, tmp, args.tasks) + latency(env, tmp, args.uploads)
        report("Background queue (PostgreSQL, one machine)", rows)
    finally:
        from django.db import connections

        connections.close_all()
        database.drop()
        if gateway.env is not None:
            gateway.ceph("stop")


def wait_until(condition, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out")
        time.sleep(0.01)


def throughput(env: dict[str, str], tmp, count: int) -> list[tuple[str, str]]:
    from django.db import transaction
    from django_tasks_db.models import DBTaskResult

    from media_store.tasks import make_renditions_for

    mine = DBTaskResult.objects.filter(task_path=make_renditions_for.module_path)
    rates = {}
    for workers in (1, 2):
        mine.delete()
        processes = [
            WorkerProcess(env=env, workdir=tmp / "workers").start() for _ in range(workers)
        ]
        time.sleep(3)  # started and idle
        started = time.perf_counter()
        with transaction.atomic():
            for _ in range(count):
                make_renditions_for.enqueue(str(uuid.uuid4()))
        enqueued = time.perf_counter() - started
        wait_until(lambda: not mine.filter(status__in=["READY", "RUNNING"]).exists())
        elapsed = time.perf_counter() - started
        for process in processes:
            process.stop()
        done = mine.filter(status="SUCCESSFUL").count()
        assert done == count, f"{done} of {count} tasks succeeded"
        rates[workers] = count / elapsed
        if workers == 1:
            enqueue_rate = count / enqueued
    return [
        ("enqueue (one transaction)", f"{enqueue_rate:,.0f} tasks/s"),
        ("1 worker", f"{rates[1]:,.0f} tasks/s ({count} tasks)"),
        ("2 workers", f"{rates[2]:,.0f} tasks/s"),
        ("2 workers / 1 worker", f"{rates[2] / rates[1]:.2f}x (2 cores, shared with PostgreSQL)"),
    ]


def latency(env: dict[str, str], tmp, uploads: int) -> list[tuple[str, str]]:
    from django.contrib.auth import get_user_model
    from django.core.files.base import ContentFile
    from rest_framework.test import APIClient

    from media_store.conf import media_setting
    from media_store.imaging.renditions import make_renditions
    from media_store.models import Rendition

    staff = get_user_model().objects.create_user(f"bench-{uuid.uuid4().hex[:6]}", is_staff=True)
    api = APIClient()
    api.force_authenticate(staff)
    jpeg = noise_jpeg(5)
    widths = media_setting("MEDIA_RENDITION_WIDTHS")

    inline = []
    for _ in range(5):
        started = time.perf_counter()
        make_renditions(ContentFile(jpeg), widths)
        inline.append(time.perf_counter() - started)

    worker = WorkerProcess(env=env, workdir=tmp / "workers").start()
    time.sleep(3)
    samples = []
    try:
        for n in range(uploads):
            response = api.post(
                "/api/core/products/",
                {"name": f"Latency {n}", "price": "1.00", "image": io.BytesIO(jpeg)},
                format="multipart",
            )
            assert response.status_code == 201, response.content
            answered = time.perf_counter()
            pending = Rendition.objects.filter(
                file__key__endswith=response.json()["image"]["url"].rsplit("/", 1)[1],
                state=Rendition.State.PENDING,
            )
            wait_until(lambda pending=pending: not pending.exists(), timeout=60)
            samples.append(time.perf_counter() - answered)
    finally:
        worker.stop()
    samples.sort()
    p95 = samples[max(0, round(0.95 * len(samples)) - 1)]
    inline_median = statistics.median(inline)
    return [
        (
            f"renditions ready after the upload response (1 worker, {uploads} x 5 MB JPEG)",
            f"p50 {statistics.median(samples) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms "
            "(target p95 <= 2000 ms)",
        ),
        (
            "p95 / making them inside the request",
            f"{p95 / inline_median:.2f}x ({inline_median * 1000:.0f} ms inline)",
        ),
    ]


if __name__ == "__main__":
    main()
