"""Direct-to-bucket uploads: the browser sends bytes straight to the bucket, presigned.

1. :func:`issue_upload` picks the key (``uploads/<uuid>`` in the private prefix) and
   returns a :class:`Grant`: a POST policy, or on stores without POST uploads a
   presigned PUT, pinning that exact key, the Content-Type and the size declared by
   the browser; the bucket itself enforces all three.
2. :func:`media_store.uploads.intake.accept_images` later claims the upload
   (:func:`claim_uploads`), downloads it and hands it to the same validation and
   re-encoding as any upload (:func:`finalizing`). The staging object is removed
   afterwards; never-finalized ones are removed by ``manage.py media_cleanup_uploads``.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.core.files import File
from django.db import transaction
from django.utils import timezone

from media_store.conf import megabytes, upload_limits
from media_store.errors import (
    DirectUploadsUnavailable,
    EmptyFile,
    MediaError,
    StoreError,
    UnknownUpload,
    UnsupportedMediaType,
    UploadTooLarge,
)
from media_store.imaging.formats import ACCEPTED_CONTENT_TYPES, ACCEPTED_DESCRIPTION
from media_store.models import PendingUpload, StoredFile, storage_for
from media_store.storage.objects import ObjectMissing, ObjectTooLarge, download
from media_store.storage.providers import POST, get_provider
from media_store.storage.s3 import is_s3, s3_key
from media_store.tasks import delete_now_or_later

from .names import clean_filename
from .purposes import get_purpose

STAGING_PREFIX = "uploads"
#: How the private storage's object parameters travel as request headers.
_HEADER_NAMES = {"CacheControl": "Cache-Control", "ContentDisposition": "Content-Disposition"}
UPLOAD_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class Grant:
    """How the browser sends one file straight to the bucket.

    ``POST``: an HTML form upload (``fields`` first, then the file) under a policy
    pinning the key, the Content-Type and the size. ``PUT``: the file as the body of a
    presigned PUT whose signature covers the key, the ``headers`` (send them as given)
    and the ``Content-Length``, so the store refuses another key, type or size. Which
    one depends on the store (``AWS_S3_DIRECT_UPLOAD``; R2 and B2 have no POST).
    """

    method: str
    url: str
    fields: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


def issue_upload(
    owner: Any, *, purpose: str, content_type: str, size: int, filename: str = ""
) -> tuple[PendingUpload, Grant]:
    """Create a pending upload and the presigned request (:class:`Grant`) for it."""
    spec = get_purpose(purpose)
    spec.check_allowed(owner)
    storage = storage_for(StoredFile.Visibility.PRIVATE)
    if not is_s3(storage):
        raise DirectUploadsUnavailable(
            "Direct uploads need USE_S3=True; send the file to the API instead."
        )
    if content_type not in ACCEPTED_CONTENT_TYPES:
        raise UnsupportedMediaType(
            f"Only {ACCEPTED_DESCRIPTION} images can be uploaded.", field="content_type"
        )
    limits = upload_limits()
    if size == 0:
        raise EmptyFile(field="size")
    if size < 0 or size > limits.max_bytes:
        raise UploadTooLarge(
            f"Files must be between 1 byte and {megabytes(limits.max_bytes)}.",
            field="size",
        )
    pending = PendingUpload.objects.create(
        owner=owner,
        purpose=spec.name,
        key=f"{STAGING_PREFIX}/{uuid.uuid4().hex}",
        filename=clean_filename(filename),
        content_type=content_type,
        max_bytes=size,  # the declared size, exactly: the grant pins it
        expires_at=timezone.now() + UPLOAD_WINDOW,
    )
    return pending, grant_for(storage, s3_key(storage, pending.key), content_type, size)


def grant_for(storage: Any, key: str, content_type: str, size: int) -> Grant:
    """The presigned request that lets a browser write exactly ``size`` bytes of
    ``content_type`` under ``key`` (signing is local: no request to the store)."""
    client = storage.connection.meta.client
    expires = int(UPLOAD_WINDOW.total_seconds())
    if storage.direct_upload == POST:
        post = client.generate_presigned_post(
            storage.bucket_name,
            key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", size, size]],
            ExpiresIn=expires,
        )
        return Grant("POST", post["url"], fields=post["fields"])
    # Every header that says how the object is served is signed in, with the private
    # storage's own values: an uploader cannot make it public (an ACL) or cacheable, or
    # have it shown inline.
    served = dict(storage.object_parameters)
    headers = {"Content-Type": content_type, **{_HEADER_NAMES[k]: v for k, v in served.items()}}
    params = {
        "Bucket": storage.bucket_name,
        "Key": key,
        "ContentType": content_type,
        "ContentLength": size,
        **served,
    }
    if get_provider(storage.provider).private_acl:
        headers["x-amz-acl"] = params["ACL"] = "private"
    if storage.conditional_writes:  # a second PUT to the same grant is refused (412)
        headers["If-None-Match"] = params["IfNoneMatch"] = "*"
    url = client.generate_presigned_url("put_object", Params=params, ExpiresIn=expires)
    return Grant("PUT", url, headers=headers)


def claim_uploads(
    owner: Any, ids: Iterable[uuid.UUID | str], *, purpose: str
) -> list[PendingUpload]:
    """Claim the caller's own, unexpired, unclaimed pending uploads, in the order given.

    The claim is a single conditional UPDATE, so of two requests finalizing the same
    upload only one gets it; :func:`release_uploads` gives it back for a retry.
    """
    ids = [_as_uuid(i) for i in ids]
    if not ids:
        return []
    token = uuid.uuid4()
    PendingUpload.objects.filter(
        id__in=ids, owner=owner, purpose=purpose, expires_at__gt=timezone.now(), claim=None
    ).update(claim=token)
    found = {p.id: p for p in PendingUpload.objects.filter(claim=token)}
    missing = [str(i) for i in ids if i not in found]
    if missing:
        release_uploads(found.values())
        raise UnknownUpload(
            f"Unknown, expired or already used upload(s): {', '.join(missing)}. "
            "Upload the file again.",
            field="uploads",
        )
    return [found[i] for i in ids]


def _as_uuid(value: uuid.UUID | str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise UnknownUpload(f"{value!r} is not an upload id.", field="uploads") from None


def release_uploads(pendings: Iterable[PendingUpload]) -> None:
    PendingUpload.objects.filter(pk__in=[p.pk for p in pendings]).update(claim=None)


def forget_expired_uploads() -> int:
    """Remove direct uploads never finalized before their window closed; returns how many."""
    expired = list(PendingUpload.objects.filter(expires_at__lte=timezone.now()))
    forget_uploads(expired)
    return len(expired)


def forget_uploads(pendings: Iterable[PendingUpload]) -> None:
    """Delete the staging objects (after a finalize, successful or not, or on expiry).

    A row goes only once its upload window has closed. Until then it stays claimed,
    so its id cannot be used again, and the browser may still post to the same grant:
    the expired-upload sweep then deletes the key once more, with the row.
    """
    pendings = list(pendings)
    if not pendings:  # nothing to do: not even an empty transaction
        return
    delete_now_or_later(StoredFile.Visibility.PRIVATE, [p.key for p in pendings])
    PendingUpload.objects.filter(
        pk__in=[p.pk for p in pendings], expires_at__lte=timezone.now()
    ).delete()


@contextmanager
def finalizing(claimed: Sequence[PendingUpload]) -> Iterator[list[File]]:
    """Open claimed uploads as files; drop or release them once the block is done.

    The keep-or-drop rule: an upload whose content was refused is dropped for good;
    on any other failure (store or database down) it is released, so the same id
    can be retried. After success its staging object goes once the caller's
    transaction has committed.
    """
    try:
        files = [_download(item) for item in claimed]
    except BaseException:
        release_uploads(claimed)
        raise
    try:
        yield files
    except BaseException as exc:
        refused = isinstance(exc, MediaError) and not isinstance(exc, StoreError)
        (forget_uploads if refused else release_uploads)(claimed)
        raise
    else:
        transaction.on_commit(lambda: forget_uploads(claimed))
    finally:
        for file in files:
            file.close()


def _download(pending: PendingUpload) -> File:
    """Download the staged object into a temporary file (at most ``max_bytes``)."""
    try:
        spool = download(StoredFile.Visibility.PRIVATE, pending.key, max_bytes=pending.max_bytes)
    except ObjectMissing:
        raise UnknownUpload(
            f"The upload {pending.id} never reached the store. Upload the file again.",
            field="uploads",
        ) from None
    except ObjectTooLarge:  # the grant already refuses this
        raise UploadTooLarge("The uploaded file is larger than allowed.", field="uploads") from None
    upload = File(spool, name=pending.filename)
    upload.size = spool.seek(0, io.SEEK_END)
    spool.seek(0)
    return upload
