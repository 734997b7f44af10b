"""Copying one object from one store to another, streamed and verified.

Used by the mirror, ``manage.py media_migrate`` and ``media_verify --repair-from``.
The object goes through a temporary file (in memory while small), never whole in
memory; its SHA-256 is computed on the way and checked against the one its row holds
before anything is written, and the write carries it as its signed payload hash (or
checksum), so the target refuses bytes that changed in transit. Content-Type,
Cache-Control and Content-Disposition go with it. Between two buckets of one store
(same endpoint and key) the store copies the object itself, and we read the copy back
to check it.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

from botocore.exceptions import ClientError

from media_store.errors import ObjectExists

from .diagnosis import STORE_FAILURES, store_error
from .objects import CHUNK, SPOOL_IN_MEMORY, ObjectMissing
from .s3 import NO_SUCH_OBJECT, base64_digest, s3_error_code, s3_key

#: Headers an object is served with, kept by every copy.
SERVED_HEADERS = ("ContentType", "CacheControl", "ContentDisposition")


class CopyMismatch(Exception):
    """The bytes are not the ones the row describes (the source is damaged): not copied."""

    def __init__(self, key: str, expected: str, found: str) -> None:
        super().__init__(f"{key}: SHA-256 {found[:12]}... where its row says {expected[:12]}...")
        self.key = key


@dataclass(frozen=True)
class Copied:
    key: str
    size: int
    sha256: str
    #: The target held these very bytes already (a copy that was under way when the
    #: last run stopped): nothing was written.
    already_there: bool = False


def same_store(source: Any, target: Any) -> bool:
    """Both buckets on one store, reachable with one key: the store can copy itself."""
    return (source.endpoint_url, source.access_key, source.region_name) == (
        target.endpoint_url,
        target.access_key,
        target.region_name,
    )


def copy_object(source: Any, target: Any, key: str, *, sha256: str = "") -> Copied:
    """Copy ``key`` (relative to each storage's location) from ``source`` to ``target``.

    Raises :class:`ObjectMissing` when the source has no such object,
    :class:`CopyMismatch` when its bytes are not ``sha256``, :class:`ObjectExists` when
    the target holds other bytes under the key, and the store errors of
    :func:`~media_store.storage.diagnosis.store_error` when a store fails.
    """
    with _store_errors(key, "copy"):
        if same_store(source, target):
            return _server_side(source, target, key, sha256)
        with _fetch(source, key) as (body, digest, size, served):
            if sha256 and digest != sha256:
                raise CopyMismatch(key, sha256, digest)
            return _put(target, key, body, digest, size, served)


def object_sha256(storage: Any, key: str) -> tuple[str, int]:
    """The SHA-256 and size of what ``storage`` holds under ``key`` (read in full);
    raises :class:`ObjectMissing` and the store errors as :func:`copy_object` does."""
    with _store_errors(key, "read"), _fetch(storage, key) as (_, digest, size, _served):
        return digest, size


@contextmanager
def _store_errors(key: str, doing: str) -> Iterator[None]:
    """A missing object as :class:`ObjectMissing`, any other store failure as ours."""
    try:
        yield
    except ClientError as exc:
        if s3_error_code(exc) in NO_SUCH_OBJECT:
            raise ObjectMissing(key) from exc
        raise store_error(exc, what=f"the {doing} of {key}") from exc
    except STORE_FAILURES as exc:
        raise store_error(exc, what=f"the {doing} of {key}") from exc


@contextmanager
def _fetch(storage: Any, key: str) -> Iterator[tuple[IO[bytes], str, int, dict[str, str]]]:
    """The object in a temporary file, with its SHA-256, size and served headers."""
    client = storage.connection.meta.client
    answer = client.get_object(Bucket=storage.bucket_name, Key=s3_key(storage, key))
    served = {name: answer[name] for name in SERVED_HEADERS if answer.get(name)}
    digest, size = hashlib.sha256(), 0
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
        for chunk in answer["Body"].iter_chunks(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            spool.write(chunk)
        spool.seek(0)
        yield spool, digest.hexdigest(), size, served


def _put(
    target: Any, key: str, body: IO[bytes], digest: str, size: int, served: dict[str, str]
) -> Copied:
    client = target.connection.meta.client
    params: dict[str, Any] = {**served, "Metadata": {"sha256": digest}}
    if target.checksums:
        params["ChecksumSHA256"] = base64_digest(digest)
    if target.conditional_writes:
        params["IfNoneMatch"] = "*"
    try:
        client.put_object(Bucket=target.bucket_name, Key=s3_key(target, key), Body=body, **params)
    except ClientError as exc:
        if s3_error_code(exc) != "PreconditionFailed":
            raise
        found, _ = object_sha256(target, key)  # there already: the same bytes?
        if found != digest:
            raise ObjectExists(key) from exc
        return Copied(key, size, digest, already_there=True)
    return Copied(key, size, digest)


def _server_side(source: Any, target: Any, key: str, sha256: str) -> Copied:
    client = target.connection.meta.client
    client.copy_object(
        Bucket=target.bucket_name,
        Key=s3_key(target, key),
        CopySource={"Bucket": source.bucket_name, "Key": s3_key(source, key)},
        MetadataDirective="COPY",
    )
    digest, size = object_sha256(target, key)  # what the store made, read back
    if sha256 and digest != sha256:
        client.delete_object(Bucket=target.bucket_name, Key=s3_key(target, key))
        raise CopyMismatch(key, sha256, digest)
    return Copied(key, size, digest)
