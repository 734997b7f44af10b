"""Copying one object from one store to another, streamed and verified.

Used by the mirror, ``manage.py media_migrate`` and ``media_verify --repair-from``.
The object goes through a temporary file (in memory while small), never whole in
memory; its SHA-256 is computed on the way and checked against the one its row holds
before anything is written, and the write carries it as its signed payload hash (or
checksum), so the target refuses bytes that changed in transit. Content-Type,
Cache-Control and Content-Disposition go with it. Between two buckets of one store
(same endpoint and key) the store copies the object itself; we read the source first
and the copy after to check them. No copy ever deletes or replaces what the target
held before, except a repair (``replace``) with bytes verified first.
"""

from __future__ import annotations

import hashlib
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import IO, Any

from botocore.exceptions import ClientError

from media_store.errors import ObjectExists

from .backends import overwriting
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


def copy_object(
    source: Any, target: Any, key: str, *, sha256: str = "", replace: bool = False
) -> Copied:
    """Copy ``key`` (relative to each storage's location) from ``source`` to ``target``.

    Nothing is written unless the source's bytes are ``sha256`` (when given), and an
    object already on the target is never deleted: the same bytes there count as
    copied; other bytes raise :class:`ObjectExists`, or are replaced by the verified
    copy with ``replace`` (a repair) and on stores that cannot refuse an overwrite
    (asking first would cost a request per object, and the bytes are verified).

    Raises :class:`ObjectMissing` when the source has no such object,
    :class:`CopyMismatch` when its bytes are not ``sha256``, and the store errors of
    :func:`~media_store.storage.diagnosis.store_error` when a store fails.
    """
    if same_store(source, target):
        return _server_side(source, target, key, sha256, replace)
    with _fetch(source, key) as (body, digest, size, served):
        if sha256 and digest != sha256:
            raise CopyMismatch(key, sha256, digest)
        served.pop("ETag", None)
        replace = replace or (bool(sha256) and not target.conditional_writes)
        with _store_errors(key, "write", target):
            return _put(target, key, body, digest, size, served, replace)


def object_sha256(storage: Any, key: str) -> tuple[str, int]:
    """The SHA-256 and size of what ``storage`` holds under ``key`` (read in full);
    raises :class:`ObjectMissing` and the store errors as :func:`copy_object` does."""
    with _fetch(storage, key) as (_, digest, size, _served):
        return digest, size


def _sha256_if_there(storage: Any, key: str) -> str | None:
    try:
        return object_sha256(storage, key)[0]
    except ObjectMissing:
        return None


@contextmanager
def _store_errors(key: str, doing: str, storage: Any) -> Iterator[None]:
    """A missing object as :class:`ObjectMissing`, any other store failure as ours
    (naming the mirror's settings when ``storage`` is the mirror)."""
    mirror = getattr(storage, "role", "primary") == "mirror"
    what = f"the {doing} of {key}" + (" on the mirror" if mirror else "")
    try:
        yield
    except ClientError as exc:
        if s3_error_code(exc) in NO_SUCH_OBJECT:
            raise ObjectMissing(key) from exc
        raise store_error(exc, what=what, mirror=mirror) from exc
    except STORE_FAILURES as exc:
        raise store_error(exc, what=what, mirror=mirror) from exc


@contextmanager
def _fetch(storage: Any, key: str) -> Iterator[tuple[IO[bytes], str, int, dict[str, str]]]:
    """The object in a temporary file, with its SHA-256, size and served headers (and
    ``ETag``, which names these very bytes to a later request)."""
    client = storage.connection.meta.client
    digest, size = hashlib.sha256(), 0
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
        with _store_errors(key, "read", storage):
            answer = client.get_object(Bucket=storage.bucket_name, Key=s3_key(storage, key))
            served = {name: answer[name] for name in (*SERVED_HEADERS, "ETag") if answer.get(name)}
            for chunk in answer["Body"].iter_chunks(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                spool.write(chunk)
        spool.seek(0)
        yield spool, digest.hexdigest(), size, served


def _put(
    target: Any,
    key: str,
    body: IO[bytes],
    digest: str,
    size: int,
    served: dict[str, str],
    replace: bool,
) -> Copied:
    client = target.connection.meta.client
    params: dict[str, Any] = {**served, "Metadata": {"sha256": digest}}
    if target.checksums:
        params["ChecksumSHA256"] = base64_digest(digest)
    if not replace and target.conditional_writes:
        params["IfNoneMatch"] = "*"
    elif not replace:  # unverified bytes, and the store cannot refuse an overwrite: ask
        found = _sha256_if_there(target, key)
        if found is not None:
            return _existing(key, size, digest, found)
    try:
        with overwriting() if replace else nullcontext():
            client.put_object(
                Bucket=target.bucket_name, Key=s3_key(target, key), Body=body, **params
            )
    except ClientError as exc:
        if s3_error_code(exc) != "PreconditionFailed":
            raise
        return _existing(key, size, digest, object_sha256(target, key)[0])
    return Copied(key, size, digest)


def _existing(key: str, size: int, digest: str, found: str) -> Copied:
    """An object already under ``key`` on the target: the same bytes, or left alone."""
    if found != digest:
        raise ObjectExists(key)
    return Copied(key, size, digest, already_there=True)


def _server_side(source: Any, target: Any, key: str, sha256: str, replace: bool) -> Copied:
    """The store copies; we check the source first and the copy after. A copy that came
    out wrong is deleted only where the target held nothing; an object being replaced
    (a repair) is replaced only by a copy checked under a key of its own first, since a
    store may ignore ``CopySourceIfMatch`` (Ceph does) and the source may change between
    our check and the store's copy."""
    with _fetch(source, key) as (_, digest, size, served):
        checked = served["ETag"]
    if sha256 and digest != sha256:
        raise CopyMismatch(key, sha256, digest)
    before = _sha256_if_there(target, key)
    if before is not None and not replace:
        return _existing(key, size, digest, before)
    if before is None:
        _store_copy(source, key, target, key, checked)
        _check_or_delete(target, key, digest)
        return Copied(key, size, digest)
    scratch = f"{key}.repair-{uuid.uuid4().hex}"
    _store_copy(source, key, target, scratch, checked)
    try:
        _check_or_delete(target, scratch, digest)
        _store_copy(target, scratch, target, key, None)
    finally:
        _delete(target, scratch)
    return Copied(key, size, digest)


def _store_copy(source: Any, key: str, target: Any, to: str, etag: str | None) -> None:
    """A copy made by the store (``etag``: only of the bytes that carried it)."""
    params = {"CopySourceIfMatch": etag} if etag else {}
    try:
        target.connection.meta.client.copy_object(
            Bucket=target.bucket_name,
            Key=s3_key(target, to),
            CopySource={"Bucket": source.bucket_name, "Key": s3_key(source, key)},
            MetadataDirective="COPY",
            **params,
        )
    except STORE_FAILURES as exc:
        if isinstance(exc, ClientError) and s3_error_code(exc) == "PreconditionFailed":
            raise CopyMismatch(key, etag or "", "(changed since it was checked)") from exc
        with _store_errors(key, "copy", target):
            raise


def _check_or_delete(target: Any, key: str, digest: str) -> None:
    """Read back what the store made under ``key``; delete it when it is not ``digest``."""
    made, _ = object_sha256(target, key)
    if made != digest:  # the source changed between our read and the store's copy
        _delete(target, key)
        raise CopyMismatch(key, digest, made)


def _delete(target: Any, key: str) -> None:
    with _store_errors(key, "delete", target):
        target.connection.meta.client.delete_object(
            Bucket=target.bucket_name, Key=s3_key(target, key)
        )
