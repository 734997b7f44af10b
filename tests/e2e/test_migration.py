"""Moving media to another store while the shop keeps serving, with real processes.

A shop on PostgreSQL (CI) and the Ceph gateway holds 2,000 objects; a mirror on another
provider (an R2 emulator in front of the gateway) is added, and ``media_migrate`` copies
everything while customers keep ordering: nobody sees an error, and at the end
``media_verify`` finds every object on both stores. A migration killed with SIGKILL
half way finishes on the next run without copying anything twice.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest

from media_store.storage.bucket import apply_public_read_policy
from tests.support.app_server import REPO, Database, app_env, manage
from tests.support.images import image_bytes
from tests.support.multipart import request
from tests.support.providers import emulated_store

pytestmark = pytest.mark.s3

OBJECTS = 2000
SEED = f"""
import hashlib, os
from concurrent.futures import ThreadPoolExecutor
from django.core.files.base import ContentFile
from media_store.models import StoredFile, storage_for

def put(n):
    visibility = "public" if n % 2 else "private"
    data = os.urandom(2048) + str(n).encode()
    key = f"seed/{{n:05d}}.bin"
    storage_for(visibility).save(key, ContentFile(data))
    return StoredFile(visibility=visibility, key=key, content_type="application/octet-stream",
                      size=len(data), width=1, height=1, sha256=hashlib.sha256(data).hexdigest())

with ThreadPoolExecutor(16) as pool:
    StoredFile.objects.bulk_create(pool.map(put, range({OBJECTS})))
print("SEEDED", StoredFile.objects.count())
"""
USERS = """
from django.contrib.auth import get_user_model
from knox.models import AuthToken
from core.models import Product
user = get_user_model().objects.create_user("carol", password="pw-carol-e2e")
product = Product.objects.create(name="Poster", slug="poster", price="5.00")
print("TOKEN", AuthToken.objects.create(user=user)[1], product.pk)
"""


@pytest.fixture(scope="module")
def shop(s3_server, tmp_path_factory):
    """A shop whose primary store holds 2,000 objects, with nothing mirrored yet."""
    root = tmp_path_factory.mktemp("migration")
    database = Database.create(os.environ.get("DATABASE_URL"), root)
    bucket = s3_server.new_bucket()
    apply_public_read_policy(s3_server.client(), bucket)
    env = app_env(database.url, s3_server, bucket)
    assert manage(env, "migrate", "--noinput").returncode == 0
    seeded = manage(env, "shell", "-c", SEED)
    assert f"SEEDED {OBJECTS}" in seeded.stdout, seeded.stderr
    users = manage(env, "shell", "-c", USERS)
    token, product = next(line.split()[1:] for line in users.stdout.splitlines() if "TOKEN" in line)
    yield {"env": env, "database": database, "token": token, "product": int(product), "root": root}
    s3_server.drop_bucket(bucket)
    database.drop()


def mirrored(env: dict, store) -> dict:
    """The shop's environment with ``store`` as its mirror, as KOYEB_S3_SETUP.md says."""
    return {
        **env,
        "MEDIA_MIRROR_PROVIDER": store.profile,
        "MEDIA_MIRROR_ENDPOINT_URL": store.emulator.url,
        "MEDIA_MIRROR_BUCKET_NAME": store.bucket,
        "MEDIA_MIRROR_PRIVATE_BUCKET_NAME": store.private,
        "MEDIA_MIRROR_ACCESS_KEY_ID": store.server.access_key,
        "MEDIA_MIRROR_SECRET_ACCESS_KEY": store.server.secret_key,
    }


def migrate(env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(REPO / "manage.py"), "media_migrate", "--jobs", "4", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for_backlog(database: Database, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while database.fetch("SELECT COUNT(*) FROM media_store_mirrorchange")[0][0]:
        assert time.monotonic() < deadline, "the mirror's backlog did not drain"
        time.sleep(0.5)


def test_migration_while_customers_keep_ordering(shop, s3_server, tmp_path):
    from tests.support.app_server import AppServer, WorkerProcess

    with emulated_store(s3_server, "r2") as store:
        env = mirrored(shop["env"], store)
        server = AppServer(env=env, workdir=tmp_path / "web").start()
        worker = WorkerProcess(env=env, workdir=tmp_path / "worker").start()
        answers: list[int] = []
        stop = threading.Event()

        def customers() -> None:
            lines = json.dumps([{"product": shop["product"], "quantity": 1}])
            while not stop.is_set():
                files = [("images", "p.jpg", image_bytes("JPEG", (320, 200)), "image/jpeg")]
                answers.append(
                    request(
                        "POST",
                        server.url("/api/core/orders/"),
                        token=shop["token"],
                        fields={"lines": lines},
                        files=files,
                    ).status
                )
                answers.append(request("GET", server.url("/api/core/products/")).status)
                time.sleep(0.3)

        shoppers = threading.Thread(target=customers)
        shoppers.start()
        try:
            run = migrate(env)
            out, err = run.communicate(timeout=600)
        finally:
            stop.set()
            shoppers.join()
        try:
            assert run.returncode == 0, out + err
            copied, there = map(
                int, re.search(r"(\d+) copied .* (\d+) already there", out).groups()
            )
            assert copied + there >= OBJECTS and "0 failed" in out, out
            orders = answers.count(201)
            assert orders >= 3 and set(answers) <= {200, 201}, Counter(answers)  # no errors
            wait_for_backlog(shop["database"])  # uploads made meanwhile reach the mirror too
            for store_name in ("mirror", "primary"):
                verified = manage(env, "media_verify", "--store", store_name)
                assert verified.returncode == 0, verified.stdout + verified.stderr
                assert "0 missing or damaged, 0 no row references" in verified.stdout
        finally:
            server.kill()
            worker.kill()


def test_a_migration_killed_half_way_finishes_without_copying_twice(shop, s3_server):
    with emulated_store(s3_server, "b2") as store:
        env = mirrored(shop["env"], store)
        first = migrate(env, "--max-rate", "400")
        deadline = time.monotonic() + 120
        while True:
            done = shop["database"].fetch(
                "SELECT COUNT(*) FROM media_store_copiedobject "
                f"WHERE done AND target LIKE '{store.emulator.url}/%'"
            )[0][0]
            if done >= OBJECTS // 3:
                break
            assert time.monotonic() < deadline and first.poll() is None, first.stderr.read()
            time.sleep(0.05)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        second = migrate(env)
        out, err = second.communicate(timeout=600)
        assert second.returncode == 0, out + err
        puts = Counter(path for method, path in store.emulator.forwarded if method == "PUT")
        twice = {path: n for path, n in puts.items() if n > 1}
        assert not twice, twice  # what the first run copied was not copied again
        [(referenced,)] = shop["database"].fetch(
            "SELECT (SELECT COUNT(*) FROM media_store_storedfile) + "
            "(SELECT COUNT(*) FROM media_store_rendition WHERE state = 'ready')"
        )
        assert len(puts) == referenced  # every object copied, once
        verified = manage(env, "media_verify", "--store", "mirror")
        assert verified.returncode == 0, verified.stdout + verified.stderr
