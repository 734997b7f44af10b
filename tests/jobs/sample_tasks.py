"""Module-level tasks for the jobs tests (tasks must be importable by path)."""

from __future__ import annotations

from datetime import timedelta

from jobs.tasks import background_task

#: Calls per key, and how many of them fail before one succeeds.
CALLS: dict[str, int] = {}
FAILURES_BEFORE_SUCCESS: dict[str, int] = {}


class Flaky(Exception):
    pass


def fail_first_calls(key: str) -> int:
    CALLS[key] = CALLS.get(key, 0) + 1
    if CALLS[key] <= FAILURES_BEFORE_SUCCESS.get(key, 0):
        raise Flaky(f"failure {CALLS[key]}")
    return CALLS[key]


@background_task(retry_on=(Flaky,))
def flaky(key: str) -> int:
    return fail_first_calls(key)


@background_task(retry_on=(Flaky,), max_attempts=2)
def flaky_twice_at_most(key: str) -> int:
    return fail_first_calls(key)


@background_task(retry_on=(Flaky,))
def broken(key: str) -> None:
    CALLS[key] = CALLS.get(key, 0) + 1
    raise ValueError("not a transient error")


@background_task(every=timedelta(hours=1))
def hourly() -> str:
    CALLS["hourly"] = CALLS.get("hourly", 0) + 1
    return "done"
