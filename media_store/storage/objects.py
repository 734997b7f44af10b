"""Reading, writing and deleting single objects, with store failures turned into our errors."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from typing import IO

from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError

from media_store.errors import ObjectExists, StorageUnavailable
from media_store.models import storage_for

from .breaker import store_writes
from .diagnosis import STORE_FAILURES, store_error
from .s3 import NO_SUCH_OBJECT, is_s3, s3_error_code, s3_key

logger = logging.getLogger(__name__)


def write_object(visibility: str, key: str, content: IO[bytes]) -> None:
    """Write one object; store failures become :class:`StorageUnavailable` (503), or
    :class:`StorageMisconfigured` when the store refuses for good (logged with the
    setting to change, :mod:`media_store.storage.diagnosis`).

    When the request reached the store but no answer came back, the store may still
    complete the write: ``may_have_landed`` is set on the error. While the store is
    hanging, at most one write per process waits for it (:mod:`media_store.storage.breaker`).
    """
    with store_writes.write():
        try:
            stored_as = storage_for(visibility).save(key, content)
        except FileExistsError:
            raise
        except (*STORE_FAILURES, OSError) as exc:
            error = store_error(exc, what=f"the write of {key}", operation="PutObject")
            if isinstance(error, StorageUnavailable):
                # Set by the S3 backend from every attempt; a local disk write never lands late.
                error.may_have_landed = getattr(exc, "may_have_landed", False)
                error.timed_out = isinstance(exc, (ReadTimeoutError, ConnectTimeoutError))
            raise error from exc
    if stored_as != key:  # local disk renames instead of refusing: same outcome as S3's 412
        storage_for(visibility).delete(stored_as)
        raise ObjectExists(key)


def delete_object(visibility: str, key: str) -> bool:
    """Delete one object; returns False (and logs) if the store refused."""
    try:
        storage_for(visibility).delete(key)
    except (*STORE_FAILURES, OSError) as exc:
        logger.warning("could not delete %s object %s: %s", visibility, key, exc)
        return False
    return True


def abort_unfinished_uploads(visibility: str, key: str) -> bool:
    """Abort the multipart uploads of ``key`` that were never completed (a large write
    cut off by an outage leaves its parts in the store, billed, and s3transfer's own
    abort fails while the store is away). False (and logged) if the store refused."""
    storage = storage_for(visibility)
    if not is_s3(storage):
        return True
    client, bucket, full_key = (
        storage.connection.meta.client,
        storage.bucket_name,
        s3_key(storage, key),
    )
    try:
        listed = client.list_multipart_uploads(Bucket=bucket, Prefix=full_key)
        for upload in listed.get("Uploads", []):
            if upload["Key"] == full_key:
                client.abort_multipart_upload(
                    Bucket=bucket, Key=full_key, UploadId=upload["UploadId"]
                )
    except STORE_FAILURES as exc:
        logger.warning("could not abort unfinished uploads of %s %s: %s", visibility, key, exc)
        return False
    return True


#: Downloads stay in memory up to this size, then spill to a temporary file.
SPOOL_IN_MEMORY = 2 * 1024 * 1024
CHUNK = 1024 * 1024


class ObjectMissing(LookupError):
    """The store has no object under the key."""


class ObjectTooLarge(ValueError):
    """The object is larger than the caller allows (it was not read further)."""


def download(visibility: str, key: str, *, max_bytes: int | None = None) -> IO[bytes]:
    """The object's bytes in a temporary file (in memory while small), positioned at 0.

    Raises :class:`ObjectMissing` when there is no such object,
    :class:`ObjectTooLarge` as soon as more than ``max_bytes`` arrive, and
    :class:`StorageUnavailable` when the store cannot be read.
    """
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - returned
    try:
        received = 0
        for chunk in _chunks(visibility, key):
            received += len(chunk)
            if max_bytes is not None and received > max_bytes:
                raise ObjectTooLarge(f"{key} is larger than {max_bytes} bytes")
            spool.write(chunk)
    except BaseException as exc:
        spool.close()
        if isinstance(exc, FileNotFoundError) or (
            isinstance(exc, ClientError) and s3_error_code(exc) in NO_SUCH_OBJECT
        ):
            raise ObjectMissing(key) from exc
        if isinstance(exc, (*STORE_FAILURES, OSError)):
            raise store_error(exc, what=f"the read of {key}", operation="GetObject") from exc
        raise
    spool.seek(0)
    return spool


def _chunks(visibility: str, key: str) -> Iterator[bytes]:
    storage = storage_for(visibility)
    if is_s3(storage):  # streamed straight from GetObject (no HEAD, no second copy)
        client = storage.connection.meta.client
        response = client.get_object(Bucket=storage.bucket_name, Key=s3_key(storage, key))
        yield from response["Body"].iter_chunks(CHUNK)
    else:
        with storage.open(key, "rb") as handle:
            yield from iter(lambda: handle.read(CHUNK), b"")
