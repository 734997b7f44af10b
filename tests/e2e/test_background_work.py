"""Background work with real processes: gunicorn, run_worker, PostgreSQL (in CI) and Ceph."""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image

from tests.support.app_server import manage
from tests.support.http import fetch
from tests.support.multipart import request
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.s3

# Quick heartbeats, recovery and retries, so the test does not wait for production timings.
FAST = {
    "JOBS_HEARTBEAT_SECONDS": "0.5",
    "JOBS_WORKER_STALE_SECONDS": "3",
    "JOBS_WORKER_MISSING_SECONDS": "2",
    "JOBS_RETRY_BASE_SECONDS": "0.5",
    "JOBS_RETRY_MAX_SECONDS": "2",
    "JOBS_MAX_ATTEMPTS": "50",
}
RENDER = "media_store.tasks.make_renditions_for"


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


def post_product(server, token, data, name="Lamp"):
    response = request(
        "POST",
        server.url("/api/core/products/"),
        token=token,
        fields={"name": name, "price": "3.00"},
        files=[("image", "photo.jpg", data, "image/jpeg")],
    )
    assert response.status == 201, response.body
    return response.json()


def task_rows(deployment, path: str, mentioning: str = "") -> list[tuple[str, int]]:
    """(status, number of workers that claimed it) of each result of task ``path``
    whose arguments mention ``mentioning``."""
    db = deployment.database
    claims = "worker_ids::json" if db.is_postgres else "worker_ids"
    return db.fetch(
        f"SELECT status, json_array_length({claims}) FROM django_tasks_database_dbtaskresult "
        f"WHERE task_path = '{path}' AND CAST(args_kwargs AS TEXT) LIKE '%{mentioning}%'"
    )


def rendition_states(deployment, file_id: str = "") -> dict[str, int]:
    where = f"WHERE file_id = '{file_id.replace('-', '')}'" if file_id else ""
    if file_id and deployment.database.is_postgres:
        where = f"WHERE file_id = '{file_id}'"
    return dict(
        deployment.database.fetch(
            f"SELECT state, COUNT(*) FROM media_store_rendition {where} GROUP BY state"
        )
    )


def file_id(deployment, product: dict) -> str:
    """The StoredFile id of a product's image, as the task arguments spell it."""
    [(value,)] = deployment.database.fetch(
        f"SELECT id FROM media_store_storedfile WHERE sha256 = '{product['image']['sha256']}'"
    )
    return str(uuid.UUID(str(value)))


def photo(width: int, height: int, seed: int) -> bytes:
    image = Image.effect_noise((width, height), 40 + seed % 50).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def test_no_worker_then_two_workers_render_each_image_exactly_once(deployment, figures):
    server = deployment.start(**FAST)
    staff = deployment.tokens["staff"]
    uploads = 240
    images = [photo(700, 500, n) for n in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        created = list(
            pool.map(lambda n: post_product(server, staff, images[n % 8], f"P{n}"), range(uploads))
        )
    # No worker yet: every upload succeeded, the originals serve, renditions wait.
    assert all(p["image"]["srcset"] == "" for p in created)
    assert rendition_states(deployment) == {"pending": uploads * 2}  # 320w and 640w
    ready = request("GET", server.url("/readyz"), token=staff).json()
    assert ready["status"] == "ok" and not ready["checks"]["worker"]["ok"]  # reported, not fatal
    check = manage({**deployment.env, **FAST}, "check", "--database", "default")
    assert "jobs.W001" in check.stderr

    started = time.monotonic()
    workers = [deployment.worker(**FAST).start() for _ in range(2)]
    wait_for(lambda: rendition_states(deployment) == {"ready": uploads * 2}, 180, "all renditions")
    elapsed = time.monotonic() - started
    for worker in workers:
        worker.stop()

    rows = task_rows(deployment, RENDER)
    assert len(rows) == uploads
    assert all(status == "SUCCESSFUL" and claims == 1 for status, claims in rows), rows
    logs = [worker.log_tail(100000) for worker in workers]
    assert all(RENDER in log for log in logs), "both workers took tasks"
    keys = deployment.keys("media/products/")
    assert len(keys) == len(set(keys)) == uploads * 3  # originals + 2 renditions, nothing else
    listed = request("GET", server.url("/api/core/products/?page_size=5")).json()["results"]
    for product in listed:
        for url_width in product["image"]["srcset"].split(", "):
            assert fetch(url_width.split(" ")[0]).status == 200
    figures(f"{uploads} rendition tasks, 2 workers: each ran once, in {elapsed:.1f}s")


def test_a_worker_killed_mid_task_is_replaced_and_the_task_completes(deployment, figures):
    widths = ",".join(str(w) for w in range(400, 4001, 400))
    server = deployment.start(MEDIA_RENDITION_WIDTHS=widths, **FAST)
    product = post_product(server, deployment.tokens["staff"], photo(4200, 2800, 7), "Big")
    stored = file_id(deployment, product)
    first = deployment.worker(**FAST).start()
    wait_for(
        lambda: task_rows(deployment, RENDER, stored) == [("RUNNING", 1)], 60, "the task to start"
    )
    first.kill()
    time.sleep(1)
    assert task_rows(deployment, RENDER, stored) == [("RUNNING", 1)]  # left by the dead worker

    started = time.monotonic()
    second = deployment.worker(**FAST).start()
    wait_for(lambda: task_rows(deployment, RENDER, stored) == [("SUCCESSFUL", 2)], 120, "recovery")
    recovered_in = time.monotonic() - started
    second.stop()
    assert rendition_states(deployment, stored) == {"ready": 10}
    image = request("GET", server.url(f"/api/core/products/{product['id']}/")).json()["image"]
    assert [r["state"] for r in image["renditions"]] == ["ready"] * 10
    stem = image["url"].rsplit("/", 1)[1].rsplit(".", 1)[0]
    mine = [key for key in deployment.keys("media/products/") if stem in key]
    assert len(mine) == len(set(mine)) == 11  # the original and ten renditions, no duplicates
    figures(f"worker SIGKILLed mid-task: another worker finished it after {recovered_in:.1f}s")


def test_deletes_queued_while_the_store_is_down_are_retried_until_done(
    deployment, figures, s3_server
):
    upstream_port = s3_server.port
    proxy = TcpProxy(upstream_port)
    try:
        through_proxy = {**FAST, "AWS_S3_ENDPOINT_URL": proxy.url}
        server = deployment.start(**through_proxy)
        staff = deployment.tokens["staff"]
        worker = deployment.worker(**through_proxy).start()
        products = [post_product(server, staff, photo(700, 500, n), f"D{n}") for n in range(5)]
        wait_for(lambda: "pending" not in rendition_states(deployment), 120, "renditions")
        stems = {p["image"]["url"].rsplit("/", 1)[1].split(".")[0] for p in products}
        before = {k for k in deployment.keys("media/products/") if k[15:47] in stems}
        assert len(before) == 15  # 5 originals, 10 renditions

        proxy.set_mode("reset")  # the store is unreachable for the app and the worker
        for product in products:
            deleted = request(
                "DELETE", server.url(f"/api/core/products/{product['id']}/"), token=staff
            )
            assert deleted.status == 204
        time.sleep(4)  # several failed attempts
        assert before <= set(deployment.keys("media/products/"))  # nothing deleted, nothing lost
        failed_attempts = [r for r in task_rows(deployment, "media_store.tasks.delete_objects")]
        assert any(status == "FAILED" for status, _ in failed_attempts)

        proxy.set_mode("pass")
        wait_for(lambda: not (before & set(deployment.keys("media/products/"))), 60, "deletes")
        worker.stop()
        orphans = manage(deployment.env, "media_orphans", "--min-age-minutes", "0", "--check")
        assert orphans.returncode == 0, orphans.stdout + orphans.stderr
        figures(
            f"store down while {len(before)} objects were queued for deletion: "
            f"{sum(s == 'FAILED' for s, _ in failed_attempts)} failed attempts, then 0 orphans"
        )
    finally:
        proxy.close()


def test_a_worker_that_loses_the_database_keeps_running_and_works_once_it_is_back(
    deployment, figures
):
    """A managed database restarts or fails over: the worker's connections are reset
    and new ones refused (our proxy between the worker and PostgreSQL) for a few
    seconds. The worker keeps running and renders what was queued meanwhile."""
    if not deployment.database.is_postgres:
        pytest.skip("the worker reaches SQLite through no network")
    database_url = deployment.env["DATABASE_URL"]
    host, port = database_url.split("@", 1)[1].split("/", 1)[0].rsplit(":", 1)
    proxy = TcpProxy(int(port))
    try:
        server = deployment.start(**FAST)
        staff = deployment.tokens["staff"]
        through_proxy = database_url.replace(f"{host}:{port}/", f"127.0.0.1:{proxy.port}/")
        worker = deployment.worker(**FAST, DATABASE_URL=through_proxy).start()
        before = post_product(server, staff, photo(700, 500, 11), "Before the outage")
        wait_for(
            lambda: set(rendition_states(deployment, file_id(deployment, before))) == {"ready"},
            60,
            "renditions before the outage",
        )
        proxy.set_mode("reset")  # the database goes away for the worker
        during = post_product(server, staff, photo(700, 500, 12), "During the outage")
        time.sleep(3)  # several polls and heartbeats fail meanwhile
        assert worker.process.poll() is None, "the worker exited when the database went away"
        proxy.set_mode("pass")
        wait_for(
            lambda: set(rendition_states(deployment, file_id(deployment, during))) == {"ready"},
            60,
            "renditions of what was queued during the outage",
        )
        assert worker.process.poll() is None
        worker.stop()
        figures("database away for 3 s: the worker stayed up and rendered the queued image")
    finally:
        proxy.close()
