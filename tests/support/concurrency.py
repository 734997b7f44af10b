"""Many requests at the same moment, as from several clients."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
from django.db import connection

T = TypeVar("T")


def at_once(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Run every call in a thread of its own, all released together; their results in
    order (an exception in one is raised here). Each thread closes its own database
    connection when done."""
    start = threading.Barrier(len(calls), timeout=60)

    def run(call: Callable[[], T]) -> T:
        start.wait()
        try:
            return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def needs_concurrent_writers() -> None:
    """Skip on SQLite: it takes one writer at a time, and the test database answers
    concurrent writes with "table is locked" instead of waiting. CI runs these tests
    on PostgreSQL."""
    if connection.vendor == "sqlite":
        pytest.skip("concurrent writers need PostgreSQL (SQLite takes one writer at a time)")
