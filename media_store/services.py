"""Writing and deleting single objects, with store failures turned into our errors."""

from __future__ import annotations

import logging
from typing import IO

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    ReadTimeoutError,
)

from .breaker import store_writes
from .errors import StorageUnavailable
from .models import storage_for

logger = logging.getLogger(__name__)


def write_object(visibility: str, key: str, content: IO[bytes]) -> None:
    """Write one object; store failures become :class:`StorageUnavailable` (503).

    When the request reached the store but no answer came back, the store may still
    complete the write: ``may_have_landed`` is set on the error. While the store is
    hanging, at most one write per process waits for it (:mod:`media_store.breaker`).
    """
    with store_writes.write():
        try:
            stored_as = storage_for(visibility).save(key, content)
        except FileExistsError:
            raise
        except (BotoCoreError, ClientError, OSError) as exc:
            logger.error("media store write failed for %s: %s", key, exc)
            error = StorageUnavailable()
            # Set by the S3 backend from every attempt; a local disk write never lands late.
            error.may_have_landed = getattr(exc, "may_have_landed", False)
            error.timed_out = isinstance(exc, (ReadTimeoutError, ConnectTimeoutError))
            raise error from exc
    if stored_as != key:  # local disk renames instead of refusing: same outcome as S3's 412
        storage_for(visibility).delete(stored_as)
        raise FileExistsError(f"An object named {key!r} already exists.")


def delete_object(visibility: str, key: str) -> bool:
    """Delete one object; returns False (and logs) if the store refused."""
    try:
        storage_for(visibility).delete(key)
    except (BotoCoreError, ClientError, OSError) as exc:
        logger.warning("could not delete %s object %s: %s", visibility, key, exc)
        return False
    return True
