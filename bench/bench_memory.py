"""Peak RSS growth of a gunicorn worker while it takes a 50 MB upload (target <= 32 MB).

    uv run python bench/bench_memory.py [--megabytes 50]

The worker's peak RSS (VmHWM) is reset through /proc before the request, so the
figure is the growth caused by this one upload. Printed beside it: the upload's size
and the growth for a small upload in the same run (the baseline).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from common import noise_jpeg, report, start_gateway, workdir


def _status(pid: int) -> dict[str, int]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) * 1024
    return values


def _worker_pid(server) -> int:
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text()
    return int(children.split()[0])


def _growth(server, token: str, data: bytes) -> float:
    from tests.support.multipart import request

    worker = _worker_pid(server)
    Path(f"/proc/{worker}/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = _status(worker)["VmRSS"]
    response = request(
        "POST",
        server.url("/api/core/products/"),
        token=token,
        fields={"name": f"Big {time.time()}", "price": "1.00"},
        files=[("image", "big.jpg", data, "image/jpeg")],
        timeout=300,
    )
    assert response.status == 201, response.body[:300]
    return (_status(worker)["VmHWM"] - before) / (1024 * 1024)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=float, default=50)
    args = parser.parse_args()
    from media_store.storage.bucket import apply_public_read_policy
    from tests.support.app_server import AppServer, app_env, manage

    tmp = workdir()
    gateway = start_gateway(tmp)
    try:
        bucket = gateway.new_bucket()
        apply_public_read_policy(gateway.client(), bucket)
        env = app_env(
            f"sqlite:///{tmp / 'memory.sqlite3'}",
            gateway,
            bucket,
            MEDIA_MAX_UPLOAD_BYTES=str(int(args.megabytes * 1.3 * 1024 * 1024)),
            MEDIA_MAX_IMAGE_PIXELS="200000000",
        )
        assert manage(env, "migrate", "--noinput").returncode == 0
        created = manage(
            env,
            "shell",
            "-c",
            "from django.contrib.auth.models import User; from knox.models "
            "import AuthToken; u = User.objects.create_user('m', password='x', is_staff=True); "
            "print('TOKEN', AuthToken.objects.create(user=u)[1])",
        )
        token = next(
            line.split()[1] for line in created.stdout.splitlines() if line.startswith("TOKEN")
        )
        server = AppServer(env={**env}, workdir=tmp / "app")
        server.env["WEB_CONCURRENCY"] = "1"
        server.start()
        big = noise_jpeg(args.megabytes)
        small = noise_jpeg(0.5)
        _growth(server, token, small)  # warm up imports and connections
        small_growth = _growth(server, token, small)
        big_growth = _growth(server, token, big)
        server.kill()
        report(
            "Worker memory during one upload",
            [
                ("upload size", f"{len(big) / (1024 * 1024):.1f} MB (JPEG, renditions on)"),
                ("peak RSS growth, large upload (target <= 32 MB)", f"{big_growth:.1f} MB"),
                ("peak RSS growth, 0.5 MB upload (baseline)", f"{small_growth:.1f} MB"),
                ("growth / upload size", f"{big_growth / (len(big) / (1024 * 1024)):.2f}x"),
            ],
        )
    finally:
        if gateway.env is not None:
            gateway.ceph("stop")


if __name__ == "__main__":
    main()
