"""Limits hold across processes: two instances of two gunicorn workers each share them."""

from __future__ import annotations

import itertools
import json
import uuid
from functools import partial

import pytest

from tests.support.concurrency import at_once
from tests.support.multipart import request
from tests.support.redis_server import REDIS_URL, drop_keys
from tests.support.throttles import wait_for_room_in_window

pytestmark = pytest.mark.s3


def two_instances(deployment, **env: str):
    return [deployment.start(WEB_CONCURRENCY="2", **env) for _ in range(2)]


ORDER = {"lines": json.dumps([{"product": 999999, "quantity": 1}]), "uploads": []}


def try_uploads(servers, token: str, count: int, *, together: bool) -> list[int]:
    """``count`` order POSTs spread over the instances (each answered by either worker),
    one after another or all at the same moment."""
    targets = itertools.islice(itertools.cycle(servers), count)
    sends = [
        partial(request, "POST", server.url("/api/core/orders/"), token=token, json_body=ORDER)
        for server in targets
    ]
    responses = at_once(sends) if together else [send() for send in sends]
    return [response.status for response in responses]


@pytest.mark.parametrize("together", [False, True], ids=["one-by-one", "at-once"])
@pytest.mark.parametrize("store", ["database", "redis"])
def test_the_upload_throttle_holds_across_instances_and_workers(
    deployment, figures, store, together
):
    prefix = f"e2e-{uuid.uuid4().hex[:8]}"  # this run's counts only
    env = {"UPLOAD_THROTTLE_RATE": "4/hour", "CACHE_KEY_PREFIX": prefix}
    if store == "redis":
        env["REDIS_URL"] = REDIS_URL
    servers = two_instances(deployment, **env)
    try:
        wait_for_room_in_window(3600, needed=60)  # all 12 in one fixed window
        statuses = try_uploads(servers, deployment.tokens["alice"], 12, together=together)
    finally:
        for server in servers:
            server.kill()
        if store == "redis":
            drop_keys(prefix)
    allowed = sum(status != 429 for status in statuses)
    how = "12 at once" if together else "12 one by one"
    figures(f"{store} cache, 4/hour, {how} over 2 instances x 2 workers: {allowed} let through")
    assert allowed == 4 and statuses.count(429) == 8, statuses


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
            assert right.status == 429 and 590 <= int(right.headers["Retry-After"]) <= 600
            assert "Try again in 10 minutes" in right.json()["detail"]
        figures("lockout: 4 failures over 2 instances x 2 workers lock bob out on both")
        # signing in is locked; a token bob already holds keeps working
        orders = request("GET", servers[0].url("/api/core/orders/"), token=deployment.tokens["bob"])
        assert orders.status == 200
    finally:
        for server in servers:
            server.kill()
