"""The readiness probe of the store never holds its callers for the client's timeouts."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from media_store.storage.probes import storage_probe
from tests.support.s3 import storages_for
from tests.support.tcp_proxy import TcpProxy


@pytest.mark.s3
def test_a_store_that_never_answers_costs_each_caller_a_few_seconds_and_one_probe(
    s3, settings, tmp_path
):
    proxy = TcpProxy(s3.server.port)
    try:
        proxy.set_mode("blackhole")  # accepts, never answers: the worst case
        settings.STORAGES = storages_for(
            s3.s3_settings(endpoint_url=proxy.url, read_timeout=20.0), tmp_path
        )
        storage_probe.reset()
        started = time.monotonic()

        def probe(_: int) -> tuple[bool, float]:
            result = storage_probe()
            return result.ok, time.monotonic() - started

        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(probe, range(8)))
        assert all(not ok for ok, _ in results)
        assert max(seconds for _, seconds in results) < storage_probe.wait + 2
        assert proxy.connections == 1  # one probe for all eight callers
        proxy.set_mode("pass")
        time.sleep(0.5)
    finally:
        storage_probe.reset()
        proxy.close()
