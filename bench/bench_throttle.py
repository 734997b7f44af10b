"""What the upload throttle costs per request, on the caches we support.

    uv run python bench/bench_throttle.py [--repeat 300]

Ours (``config.throttles.UploadThrottle``: atomic fixed windows, one increment per
request) against DRF's ``ScopedRateThrottle`` (the one it replaced,
which lets concurrent requests through), each with the same rate, measured
interleaved in the same run, on the database cache (PostgreSQL, the default) and on
Redis (``REDIS_TEST_URL``, default ``redis://127.0.0.1:6379/0``). "Allowed" is a
client's first request in its window; "refused" a request of a client whose 60
requests of the window are used up.
"""

from __future__ import annotations

import argparse
import itertools
import os
import uuid
from types import SimpleNamespace

from common import interleaved, postgres_database, report, setup_django, workdir

RATE = "60/hour"
#: The default CACHE_MAX_ENTRIES, less a little: the largest table that is not culled.
FULL_TABLE = 49_000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    tmp = workdir()
    database = postgres_database(tmp)
    try:
        setup_django(tmp, DATABASE_URL=database.url, UPLOAD_THROTTLE_RATE=RATE)
        rows = []
        for name, cache in caches_under_test().items():
            rows += measure(name, cache, args.repeat)
        fill_database_cache(FULL_TABLE)
        rows += measure(
            f"database cache holding {FULL_TABLE:,} entries",
            caches_under_test()["database cache"],
            args.repeat,
        )
        report(f"Upload throttle cost per request ({RATE})", rows)
    finally:
        from django.db import connections

        connections.close_all()
        database.drop()


def caches_under_test() -> dict[str, dict]:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    redis_url = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/0")
    return {
        "database cache": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "django_cache",
            "KEY_PREFIX": prefix,
        },
        "Redis": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": prefix,
        },
    }


def measure(name: str, cache: dict, repeat: int) -> list[tuple[str, str]]:
    from django.core.cache import caches
    from django.db import connection
    from django.test import override_settings
    from django.test.utils import CaptureQueriesContext
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory, force_authenticate
    from rest_framework.throttling import ScopedRateThrottle

    from config.throttles import UploadThrottle

    view = SimpleNamespace(throttle_scope="uploads")  # what ScopedRateThrottle reads
    pks = itertools.count(1)

    def request_of(pk: int) -> Request:
        django_request = APIRequestFactory().post("/api/media/uploads/")
        force_authenticate(django_request, SimpleNamespace(pk=pk, is_authenticated=True))
        request = Request(django_request)
        request.user  # noqa: B018 - authenticate, as DRF does before throttling
        return request

    def check(throttle_class, pk: int) -> bool:
        return throttle_class().allow_request(request_of(pk), view)

    with override_settings(CACHES={"default": cache}):
        used_up = {cls: next(pks) for cls in (ScopedRateThrottle, UploadThrottle)}
        for cls, pk in used_up.items():
            while check(cls, pk):
                pass
        allowed = interleaved(
            {
                "drf": lambda: check(ScopedRateThrottle, next(pks)),
                "ours": lambda: check(UploadThrottle, next(pks)),
            },
            repeat,
        )
        refused = interleaved(
            {
                "drf": lambda: check(ScopedRateThrottle, used_up[ScopedRateThrottle]),
                "ours": lambda: check(UploadThrottle, used_up[UploadThrottle]),
            },
            repeat,
        )
        queries = {}
        for label, cls, pk in (
            ("allowed", UploadThrottle, next(pks)),
            ("refused", UploadThrottle, used_up[UploadThrottle]),
        ):
            with CaptureQueriesContext(connection) as captured:
                check(cls, pk)
            queries[label] = len(captured)
        if "Redis" in name:
            drop_prefix(cache)  # a shared server: this run's keys only
        else:
            caches["default"].clear()  # the bench's own database
    rows = [
        (
            f"{name}: allowed request, ours / DRF's",
            f"{allowed['ours'] / allowed['drf']:.2f}x "
            f"({allowed['ours'] * 1e3:.2f} ms vs {allowed['drf'] * 1e3:.2f} ms)",
        ),
        (
            f"{name}: refused request, ours / DRF's",
            f"{refused['ours'] / refused['drf']:.2f}x "
            f"({refused['ours'] * 1e3:.2f} ms vs {refused['drf'] * 1e3:.2f} ms)",
        ),
    ]
    if "Redis" not in name:
        rows.append(
            (
                f"{name}: SQL queries per request, ours",
                f"{queries['allowed']} allowed, {queries['refused']} refused",
            )
        )
    return rows


def fill_database_cache(rows: int) -> None:
    """Live entries of other clients, as in a busy hour (every write counts the table)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO django_cache (cache_key, value, expires) "
            "SELECT 'filler:' || n, 'gAVLAS4=', now() + interval '1 hour' "
            "FROM generate_series(1, %s) AS n",
            [rows],
        )


def drop_prefix(cache: dict) -> None:
    import redis

    client = redis.Redis.from_url(cache["LOCATION"])
    keys = client.keys(f"{cache['KEY_PREFIX']}:*")
    if keys:
        client.delete(*keys)


if __name__ == "__main__":
    main()
