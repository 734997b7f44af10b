"""Idempotent creation: the same ``Idempotency-Key`` from the same user does the work once.

:func:`run_once` claims the key by inserting a row (unique per user and key)
*before* the work runs, so of two concurrent duplicates only one does the work;
the other is told the first is still in progress (409, retry shortly). The work
records its result's id on the row inside its own transaction
(:meth:`Claim.record`), so a key is marked done exactly when its result is
committed. Later requests with the key, within ``IDEMPOTENCY_WINDOW``, get that
result again (the caller re-reads it, so signed URLs are fresh) and create nothing.

Only successes are remembered: if the work fails, the claim is released and the
same request can be retried. A request with the key but a different body (its
:func:`fingerprint`) is refused with 422, since replaying would answer something
else than what was asked. A claim left by a process that died mid-request (no
result, older than ``CLAIM_TIMEOUT``) is taken over: its work cannot have committed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, is_dataclass
from datetime import timedelta
from decimal import Decimal
from typing import IO, Any, Generic, TypeVar

from django.conf import settings
from django.db import DatabaseError, IntegrityError, models, transaction
from django.utils import timezone

from .errors import IdempotencyKeyInvalid, IdempotencyKeyReused, RequestInProgress, ResultGone
from .models import IdempotencyRecord

logger = logging.getLogger(__name__)

#: Longer than any request may run (gunicorn's timeout is 60 s).
CLAIM_TIMEOUT = timedelta(minutes=5)
MAX_KEY_LENGTH = 255

T = TypeVar("T", bound=models.Model)


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What :func:`run_once` produced, and whether it is an earlier request's result."""

    result: T
    replayed: bool


@dataclass(frozen=True)
class Claim:
    record_id: int | None

    def record(self, result: models.Model) -> None:
        """Mark the key done with ``result``; call inside the transaction that creates it."""
        if self.record_id is not None:
            IdempotencyRecord.objects.filter(pk=self.record_id).update(result_id=result.pk)


#: For work run without a key.
NO_CLAIM = Claim(record_id=None)


def run_once(
    *,
    user: Any,
    key: str | None,
    scope: str,
    fingerprint: Callable[[], str],
    create: Callable[[Claim], T],
    load: Callable[[int], T | None],
) -> Outcome[T]:
    """``create`` once per (user, key); later calls get ``load(result id)`` back.

    ``fingerprint`` is only computed when there is a key (it reads every file).
    """
    if key is None:
        return Outcome(create(NO_CLAIM), replayed=False)
    check_key(key)
    record = _claim(user, key, scope, fingerprint())
    if record.result_id is not None:
        result = load(record.result_id)
        if result is None:
            raise ResultGone(
                "What this Idempotency-Key created has since been deleted; use a new key."
            )
        return Outcome(result, replayed=True)
    try:
        return Outcome(create(Claim(record.pk)), replayed=False)
    except BaseException:
        _release(record)
        raise


def _release(record: IdempotencyRecord) -> None:
    """Free the key after a failure, so the same request can be retried."""
    try:
        IdempotencyRecord.objects.filter(pk=record.pk, result_id=None).delete()
    except DatabaseError:
        logger.warning("could not release idempotency claim %s; it times out", record.pk)


def completed(user: Any, key: str) -> bool:
    """Whether ``key`` names a result ``user`` already has (a replay creates nothing)."""
    if not is_valid_key(key):
        return False
    return IdempotencyRecord.objects.filter(
        user=user,
        key=key,
        result_id__isnull=False,
        created_at__gte=timezone.now() - settings.IDEMPOTENCY_WINDOW,
    ).exists()


def is_valid_key(key: str) -> bool:
    return bool(key) and len(key) <= MAX_KEY_LENGTH and key.isprintable() and key.isascii()


def check_key(key: str) -> None:
    if not is_valid_key(key):
        raise IdempotencyKeyInvalid(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters "
            "(a UUID is a good choice)."
        )


def _claim(user: Any, key: str, scope: str, fingerprint: str) -> IdempotencyRecord:
    now = timezone.now()
    fields = {"scope": scope, "fingerprint": fingerprint, "claimed_at": now}
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(user=user, key=key, **fields)
    except IntegrityError:
        pass  # the key exists: decide from the existing row
    existing = IdempotencyRecord.objects.filter(user=user, key=key).first()
    if existing is None:  # released or pruned meanwhile
        return _claim(user, key, scope, fingerprint)
    if existing.created_at < now - settings.IDEMPOTENCY_WINDOW:
        IdempotencyRecord.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
        return _claim(user, key, scope, fingerprint)
    if existing.scope != scope or existing.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used for a different request. "
            "Send a new key for a new request."
        )
    if existing.result_id is not None:
        return existing
    if existing.claimed_at < now - CLAIM_TIMEOUT:
        taken = IdempotencyRecord.objects.filter(
            pk=existing.pk, result_id=None, claimed_at=existing.claimed_at
        ).update(claimed_at=now)
        if taken:
            existing.claimed_at = now
            return existing
    raise RequestInProgress(
        "A request with this Idempotency-Key is still being processed. "
        "Retry in a moment to get its result."
    )


def fingerprint(**fields: Any) -> str:
    """A digest of a request's meaning: parsed fields, model ids, file contents.

    Independent of how the body was encoded (multipart boundaries, field order,
    JSON or form), so a retry of the same request always matches.
    """
    canonical = json.dumps(fields, sort_keys=True, default=_canonical, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, models.Model):
        return [value._meta.label, value.pk]
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return {f: getattr(value, f) for f in value.__dataclass_fields__}
    if hasattr(value, "read"):
        return {"sha256": _file_digest(value)}
    raise TypeError(f"cannot fingerprint {type(value).__name__}")


def _file_digest(file: IO[bytes]) -> str:
    file.seek(0)
    digest = hashlib.file_digest(file, "sha256").hexdigest()
    file.seek(0)
    return digest


def prune_idempotency_records() -> int:
    """Delete records older than ``IDEMPOTENCY_WINDOW``; returns how many. Run periodically."""
    cutoff = timezone.now() - settings.IDEMPOTENCY_WINDOW
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
