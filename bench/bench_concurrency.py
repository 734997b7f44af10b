"""Server memory and throughput under 16 concurrent order uploads of a 30-megapixel photo.

    uv run python bench/bench_concurrency.py [--uploads 16] [--idle 60] [--baseline-ref REF]

The server is started with the Procfile's own ``web`` command (gunicorn, its worker
and thread counts) in S3 mode against a fresh Ceph gateway. The memory of the whole
server is the summed RSS of the gunicorn master and its workers, sampled every 20 ms.
After a warm-up with small photos at the same concurrency (imports done, S3 clients
made) comes the measured burst: its peak growth, and the growth left after
``--idle`` seconds of rest, against the memory before it. With ``--baseline-ref``
the same is run, in the same run, on that commit's code (exported with
``git archive``) and the throughputs are printed as a ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from common import REPO, photo_jpeg, report, start_gateway, workdir

MB = 1024 * 1024
SETUP = """
from decimal import Decimal
from django.apps import apps
from django.contrib.auth import get_user_model
from core.models import Product
user = get_user_model().objects.create_user("bench", password="bench-pw-123")
if apps.is_installed("knox"):  # expiring hashed tokens; the baseline has DRF's own
    from knox.models import AuthToken
    print("TOKEN", AuthToken.objects.create(user=user)[1])
else:
    from rest_framework.authtoken.models import Token
    print("TOKEN", Token.objects.create(user=user).key)
print("PRODUCT", Product.objects.create(name="Mug", slug="mug", price=Decimal("9.50")).pk)
"""


def procfile_web_command(tree: Path) -> str:
    for line in (tree / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.removeprefix("web:").strip()
    raise RuntimeError("the Procfile has no web process")


def process_tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        todo.extend(int(child) for child in children)
    return pids


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


class MemorySampler:
    """Samples the summed RSS of a process tree every 20 ms in a thread."""

    def __init__(self, root_pid: int) -> None:
        self.root_pid = root_pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def now(self) -> int:
        return rss_bytes(process_tree(self.root_pid))

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.now())
            time.sleep(0.02)

    def __enter__(self) -> MemorySampler:
        self.peak = self.now()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class LoadResult:
    fresh: int
    baseline: int
    peak: int
    idle: int
    seconds: float
    statuses: list[int]

    @property
    def throughput(self) -> float:
        return len(self.statuses) / self.seconds


def export_tree(ref: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "archive", ref], cwd=REPO, check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def server_env(tree: Path, gateway, bucket: str, database_url: str, port: int) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DJANGO_", "S3_"))}
    return {
        **base,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{base.get('PATH', '')}",
        "PYTHONPATH": str(tree),
        "PORT": str(port),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "False",
        "SECRET_KEY": "bench-" + "k" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "False",
        "DATABASE_URL": database_url,
        "USE_S3": "True",
        "STATIC_ON_S3": "False",
        "AWS_STORAGE_BUCKET_NAME": bucket,
        "AWS_ACCESS_KEY_ID": gateway.access_key,
        "AWS_SECRET_ACCESS_KEY": gateway.secret_key,
        "AWS_S3_ENDPOINT_URL": gateway.endpoint_url,
        "UPLOAD_THROTTLE_RATE": "1000000/hour",
        "LOG_LEVEL": "WARNING",
    }


def manage(tree: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=tree, env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(done.stderr)
    return done.stdout


def upload(port: int, token: str, product: int, photo: bytes) -> int:
    from tests.support.multipart import request

    response = request(
        "POST",
        f"http://127.0.0.1:{port}/api/core/orders/",
        token=token,
        fields={"lines": json.dumps([{"product": product, "quantity": 1}])},
        files=[("images", "photo.jpg", photo, "image/jpeg")],
        timeout=300,
    )
    if response.status != 201:
        print(f"upload answered {response.status}: {response.body[:300]!r}", file=sys.stderr)
    return response.status


def run_load(tree: Path, gateway, tmp: Path, photo: bytes, uploads: int, idle: float) -> LoadResult:
    from media_store.storage.bucket import apply_public_read_policy
    from tests.support.app_server import Database
    from tests.support.s3 import free_port

    bucket = gateway.new_bucket()
    apply_public_read_policy(gateway.client(), bucket)
    database = Database.create(os.environ.get("DATABASE_URL"), tmp)
    port = free_port()
    env = server_env(tree, gateway, bucket, database.url, port)
    manage(tree, env, "migrate", "--noinput")
    created = manage(tree, env, "shell", "-c", SETUP).split()
    token, product = created[created.index("TOKEN") + 1], int(created[created.index("PRODUCT") + 1])
    log = (tmp / f"gunicorn-{port}.log").open("ab")
    server = subprocess.Popen(
        ["bash", "-c", "exec " + procfile_web_command(tree)],
        cwd=tree,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_healthy(port, server)
        # Warm-up: small photos at the same concurrency, twice, so imports are done
        # and the worker threads hold their S3 clients; no large image yet.
        fresh = MemorySampler(server.pid).now()
        small = photo_jpeg(800, 600, megabytes=0.2)
        for _ in range(2):
            with ThreadPoolExecutor(uploads) as pool:
                list(pool.map(lambda _: upload(port, token, product, small), range(uploads)))
        time.sleep(5)
        sampler = MemorySampler(server.pid)
        baseline = sampler.now()
        with sampler, ThreadPoolExecutor(uploads) as pool:
            started = time.monotonic()
            statuses = list(pool.map(lambda _: upload(port, token, product, photo), range(uploads)))
            seconds = time.monotonic() - started
        time.sleep(idle)
        return LoadResult(fresh, baseline, sampler.peak, sampler.now(), seconds, statuses)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        database.drop()


def wait_healthy(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("gunicorn exited")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not become healthy")


def rows_for(name: str, result: LoadResult, uploads: int) -> list[tuple[str, str]]:
    ok = sum(status == 201 for status in result.statuses)
    return [
        (f"{name}: uploads answered 201", f"{ok} of {uploads}"),
        (f"{name}: server RSS just started", f"{result.fresh / MB:.0f} MB"),
        (
            f"{name}: after a warm-up with small photos (baseline)",
            f"{result.baseline / MB:.0f} MB (+{(result.baseline - result.fresh) / MB:.0f} MB)",
        ),
        (
            f"{name}: peak growth during the uploads (target <= 512 MB)",
            f"{(result.peak - result.baseline) / MB:.0f} MB",
        ),
        (
            f"{name}: growth after the idle wait (target <= 64 MB)",
            f"{(result.idle - result.baseline) / MB:.0f} MB",
        ),
        (
            f"{name}: throughput",
            f"{result.throughput:.2f} uploads/s ({uploads} in {result.seconds:.1f} s)",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--uploads", type=int, default=16)
    parser.add_argument("--idle", type=float, default=60)
    parser.add_argument("--baseline-ref", default="", help="commit to compare against")
    args = parser.parse_args()
    tmp = workdir()
    photo = photo_jpeg(6720, 4480, megabytes=6.6)
    rows = [("photo", f"6720x4480 (30.1 MP) JPEG, {len(photo) / MB:.1f} MB")]
    rows.append(("server command (Procfile)", shlex.quote(procfile_web_command(REPO))))
    gateway = start_gateway(tmp)
    try:
        ours = run_load(REPO, gateway, tmp, photo, args.uploads, args.idle)
        rows += rows_for("this code", ours, args.uploads)
        if args.baseline_ref:
            tree = export_tree(args.baseline_ref, tmp / "baseline")
            theirs = run_load(tree, gateway, tmp, photo, args.uploads, args.idle)
            rows += rows_for(args.baseline_ref, theirs, args.uploads)
            rows.append(
                (
                    f"throughput, this code / {args.baseline_ref} (target >= 1.0x)",
                    f"{ours.throughput / theirs.throughput:.2f}x",
                )
            )
    finally:
        if gateway.env is not None:
            gateway.ceph("stop")
    report(f"Memory under {args.uploads} concurrent uploads", rows)


if __name__ == "__main__":
    main()
