"""Server memory and throughput under bursts of 16 concurrent uploads of a 30-megapixel photo.

    uv run python bench/bench_concurrency.py [--uploads 16] [--rounds 2] [--idle 60]
        [--runs 1] [--baseline-ref REF]

The server is started with the Procfile's own ``web`` command (gunicorn, its worker
and thread counts, its environment) in S3 mode against a fresh Ceph gateway, and
measured as a small instance's memory limit sees it: the summed RSS of the gunicorn
master and its workers, and their summed PSS (proportional set size: pages shared
between the processes counted once), sampled every 20 ms. **No warm-up**: the first
burst hits a fresh server, as after every deploy. For each of ``--rounds`` bursts:
the peak growth against the fresh server, and the growth still held after
``--idle`` seconds of rest. With ``--baseline-ref`` the same is run, in the same run,
on that commit's code (exported with ``git archive``) and the throughputs are printed
as a ratio.
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

from common import REPO, report, start_gateway, workdir

from tests.support.images import photo_jpeg

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


@dataclass(frozen=True)
class Memory:
    rss: int
    pss: int

    def __sub__(self, other: Memory) -> Memory:
        return Memory(self.rss - other.rss, self.pss - other.pss)

    def __str__(self) -> str:
        return f"RSS {self.rss / MB:+.0f} MB, PSS {self.pss / MB:+.0f} MB"


def memory_of(pids: list[int]) -> Memory:
    """Summed RSS and PSS (``/proc/<pid>/smaps_rollup``) of ``pids``."""
    rss = pss = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
        except OSError:
            pass
    return Memory(rss, pss)


class MemorySampler:
    """Samples the memory of a process tree every 20 ms in a thread; keeps the peaks."""

    def __init__(self, root_pid: int) -> None:
        self.root_pid = root_pid
        self.peak = Memory(0, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def now(self) -> Memory:
        return memory_of(process_tree(self.root_pid))

    def _run(self) -> None:
        while not self._stop.is_set():
            now = self.now()
            self.peak = Memory(max(self.peak.rss, now.rss), max(self.peak.pss, now.pss))
            time.sleep(0.02)

    def __enter__(self) -> MemorySampler:
        self.peak = self.now()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Burst:
    peak: Memory
    idle: Memory
    seconds: float
    statuses: list[int]


@dataclass
class LoadResult:
    fresh: Memory
    bursts: list[Burst]

    @property
    def throughput(self) -> float:
        return sum(len(b.statuses) for b in self.bursts) / sum(b.seconds for b in self.bursts)


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


def run_load(
    tree: Path, gateway, tmp: Path, photo: bytes, uploads: int, rounds: int, idle: float
) -> LoadResult:
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
        time.sleep(2)  # the workers have booted; no request has been served
        fresh = MemorySampler(server.pid).now()
        bursts = []
        for _ in range(rounds):
            sampler = MemorySampler(server.pid)
            with sampler, ThreadPoolExecutor(uploads) as pool:
                started = time.monotonic()
                statuses = list(
                    pool.map(lambda _: upload(port, token, product, photo), range(uploads))
                )
                seconds = time.monotonic() - started
            time.sleep(idle)
            bursts.append(Burst(sampler.peak, sampler.now(), seconds, statuses))
        return LoadResult(fresh, bursts)
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
    fresh = result.fresh
    rows = [
        (
            f"{name}: a fresh server (no request yet)",
            f"RSS {fresh.rss / MB:.0f} MB, PSS {fresh.pss / MB:.0f} MB",
        )
    ]
    for number, burst in enumerate(result.bursts, start=1):
        ok = sum(status == 201 for status in burst.statuses)
        rows += [
            (f"{name}: burst {number}: uploads answered 201", f"{ok} of {uploads}"),
            (
                f"{name}: burst {number}: peak (target: PSS <= 450 MB in all)",
                f"RSS {burst.peak.rss / MB:.0f} MB, PSS {burst.peak.pss / MB:.0f} MB "
                f"({burst.peak - fresh})",
            ),
            (
                f"{name}: burst {number}: still held after the idle wait (target <= +64 MB)",
                str(burst.idle - fresh),
            ),
            (
                f"{name}: burst {number}: throughput",
                f"{len(burst.statuses) / burst.seconds:.2f} uploads/s "
                f"({uploads} in {burst.seconds:.1f} s)",
            ),
        ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--uploads", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--idle", type=float, default=60)
    parser.add_argument("--runs", type=int, default=1, help="fresh servers, one after another")
    parser.add_argument("--baseline-ref", default="", help="commit to compare against")
    args = parser.parse_args()
    tmp = workdir()
    photo = photo_jpeg(6720, 4480, megabytes=6.6)
    rows = [("photo", f"6720x4480 (30.1 MP) JPEG, {len(photo) / MB:.1f} MB")]
    rows.append(("server command (Procfile)", shlex.quote(procfile_web_command(REPO))))
    gateway = start_gateway(tmp)
    try:
        for run in range(1, args.runs + 1):
            here = tmp / f"run-{run}"  # a database and logs of its own
            here.mkdir()
            ours = run_load(REPO, gateway, here, photo, args.uploads, args.rounds, args.idle)
            rows += rows_for(f"this code, run {run}", ours, args.uploads)
        if args.baseline_ref:
            tree = export_tree(args.baseline_ref, tmp / "baseline")
            theirs = run_load(tree, gateway, tmp, photo, args.uploads, args.rounds, args.idle)
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
