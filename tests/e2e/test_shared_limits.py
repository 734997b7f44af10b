"""Limits hold across processes: two instances of two gunicorn workers each share them."""

from __future__ import annotations

import itertools
import json
import uuid

import pytest

from tests.support.multipart import request
from tests.support.redis_server import REDIS_URL, drop_keys

pytestmark = pytest.mark.s3


def two_instances(deployment, **env: str):
    return [deployment.start(WEB_CONCURRENCY="2", **env) for _ in range(2)]


def try_uploads(servers, token: str, count: int) -> list[int]:
    """``count`` order POSTs spread over the instances (each answered by either worker)."""
    body = {"lines": json.dumps([{"product": 999999, "quantity": 1}]), "uploads": []}
    statuses = []
    for _, server in zip(range(count), itertools.cycle(servers), strict=False):
        statuses.append(
            request("POST", server.url("/api/core/orders/"), token=token, json_body=body).status
        )
    return statuses


@pytest.mark.parametrize("store", ["database", "redis"])
def test_the_upload_throttle_holds_across_instances_and_workers(deployment, figures, store):
    prefix = f"e2e-{uuid.uuid4().hex[:8]}"  # this run's counts only
    env = {"UPLOAD_THROTTLE_RATE": "3/hour", "CACHE_KEY_PREFIX": prefix}
    if store == "redis":
        env["REDIS_URL"] = REDIS_URL
    servers = two_instances(deployment, **env)
    try:
        statuses = try_uploads(servers, deployment.tokens["alice"], 12)
    finally:
        for server in servers:
            server.kill()
        if store == "redis":
            drop_keys(prefix)
    allowed = sum(status != 429 for status in statuses)
    figures(f"{store} cache, 3/hour over 2 instances x 2 workers: {allowed} of 12 let through")
    assert allowed == 3 and statuses.count(429) == 9, statuses


def test_login_lockout_holds_across_instances_and_workers(deployment, figures):
    servers = two_instances(deployment, LOGIN_FAILURE_LIMIT="4", LOGIN_LOCKOUT_MINUTES="10")
    try:
        urls = itertools.cycle(server.url("/api/auth/token/") for server in servers)
        statuses = [
            request("POST", next(urls), json_body={"username": "bob", "password": f"no-{n}"}).status
            for n in range(4)
        ]
        assert statuses == [400, 400, 400, 429]
        for url in (servers[0].url("/api/auth/token/"), servers[1].url("/api/auth/token/")):
            right = request("POST", url, json_body={"username": "bob", "password": "e2e-pw-bob"})
            assert right.status == 429 and right.headers["Retry-After"] == "600"
            assert "Try again in 10 minutes" in right.json()["detail"]
        figures("lockout: 4 failures over 2 instances x 2 workers lock bob out on both")
        # signing in is locked; a token bob already holds keeps working
        orders = request("GET", servers[0].url("/api/core/orders/"), token=deployment.tokens["bob"])
        assert orders.status == 200
    finally:
        for server in servers:
            server.kill()
