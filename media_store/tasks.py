"""Background work on stored media: renditions, and deletes that retry while the store is down.

Every task is idempotent: running it twice (a retry, or a task recovered from a
worker that died) changes nothing more than running it once.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import IO, Any

from django.db import DatabaseError
from django.utils import timezone

from jobs.tasks import background_task, defer
from media_store.imaging.formats import RENDITION_FORMATS
from media_store.imaging.renditions import RenditionData, Renditions, make_renditions
from media_store.storage import mirror
from media_store.storage.objects import (
    ObjectMissing,
    abort_unfinished_uploads,
    delete_object,
    download,
    write_object,
)

from .errors import StorageUnavailable
from .models import MirrorChange, Rendition, StoredFile

logger = logging.getLogger(__name__)


@background_task(retry_on=(StorageUnavailable,))
def make_renditions_for(file_id: str) -> dict[str, int]:
    """Write the pending renditions of one stored image and mark them ready (or failed).

    Safe to run twice, even at the same time (a worker paused past its heartbeat
    while another took its task over): keys are fixed per rendition and width, the
    store refuses a second write, and only a write of our own whose rendition row
    has gone meanwhile (the image was deleted) is removed again.
    """
    stored = StoredFile.objects.filter(pk=file_id).first()
    pending = list(stored.renditions.filter(state=Rendition.State.PENDING)) if stored else []
    if not pending:
        return {"made": 0}
    original = _download(stored)
    made = _render(stored, original, pending) if original else Renditions()
    if made.dropped:  # not worth sending (larger than WebP): no such renditions
        stored.renditions.filter(
            state=Rendition.State.PENDING, content_type__in=made.dropped
        ).delete()
        pending = [r for r in pending if r.content_type not in made.dropped]
    if made.placeholder and not stored.placeholder:
        StoredFile.objects.filter(pk=stored.pk).update(
            placeholder=made.placeholder, color=made.color
        )
    by_kind = {(data.width, data.content_type): data for data in made.images}
    return {
        "made": sum(
            store_rendition(stored, r, by_kind.get((r.width, r.content_type))) for r in pending
        )
    }


def store_rendition(stored: StoredFile, rendition: Rendition, data: RenditionData | None) -> int:
    """Write one rendition and mark it ready (1), or failed when it could not be made (0)."""
    still_pending = Rendition.objects.filter(pk=rendition.pk, state=Rendition.State.PENDING)
    if data is None:
        still_pending.update(state=Rendition.State.FAILED)
        return 0
    try:
        write_object(stored.visibility, rendition.key, data.content)
        wrote = True
    except FileExistsError:  # another run wrote the same bytes first
        wrote = False
    marked = still_pending.update(
        state=Rendition.State.READY,
        size=data.content.size,
        sha256=getattr(data.content, "sha256", ""),  # set by make_renditions
    )
    if wrote and not Rendition.objects.filter(pk=rendition.pk).exists():
        delete_object(stored.visibility, rendition.key)  # its image was deleted meanwhile
    elif marked:
        mirror.record(stored.visibility, [rendition.key], MirrorChange.Action.COPY)
    return marked


def _render(stored: StoredFile, original: IO[bytes], pending: list[Rendition]) -> Renditions:
    types = {r.content_type for r in pending}
    formats = [fmt for fmt in RENDITION_FORMATS if fmt.content_type in types]
    try:
        return make_renditions(original, [r.width for r in pending], formats)
    except Exception as exc:  # derived images: any failure marks them failed, once
        logger.exception("renditions of %s failed: %s", stored.key, exc)
        return Renditions()
    finally:
        original.close()


def _download(stored: StoredFile) -> IO[bytes] | None:
    """The original's bytes in a temporary file, or None if the store has lost it."""
    try:
        return download(stored.visibility, stored.key)
    except ObjectMissing:
        logger.error("renditions of %s failed: the original is missing", stored.key)
        return None


def make_renditions_later(stored: StoredFile) -> None:
    defer(make_renditions_for, str(stored.pk))


#: With the default backoff (capped at 10 minutes) deletes keep trying for about
#: seven hours; what is still there after that is an orphan, and the orphan sweep
#: (every 6 hours) removes it.
DELETE_ATTEMPTS = 48


@background_task(retry_on=(StorageUnavailable,), max_attempts=DELETE_ATTEMPTS)
def delete_objects(visibility: str, keys: list[str]) -> int:
    """Delete objects (missing ones count as deleted); retried while the store is down."""
    for key in keys:
        if not delete_object(visibility, key):
            raise StorageUnavailable("The file store did not answer the delete; it is retried.")
    return len(keys)


def delete_now_or_later(visibility: str, keys: list[str]) -> None:
    """Delete now; whatever the store refuses is queued for a retrying delete."""
    refused = [key for key in keys if not delete_object(visibility, key)]
    if refused:
        delete_objects_later(visibility, refused)


#: How long after a failed write its key is cleaned up: the store may still
#: complete the write after we gave up on it.
LATE_WRITE_DELAY = timedelta(minutes=5)


@background_task(retry_on=(StorageUnavailable,), max_attempts=DELETE_ATTEMPTS)
def discard_failed_write(visibility: str, key: str) -> None:
    """Delete what a failed write may have left under ``key``: the object, or the
    unfinished multipart upload of it; retried while the store is down."""
    if not (abort_unfinished_uploads(visibility, key) and delete_object(visibility, key)):
        raise StorageUnavailable("The file store did not answer the clean-up; it is retried.")


def delete_if_it_lands(visibility: str, key: str) -> None:
    """Queue the clean-up of a key whose write failed after reaching the store, a few
    minutes from now (the store may still complete the write after we gave up)."""
    late = discard_failed_write.using(run_after=timezone.now() + LATE_WRITE_DELAY)
    _queue_cleanup(late, visibility, key)


def delete_objects_later(visibility: str, keys: list[str]) -> None:
    """Queue a retrying delete (with the current transaction, if there is one)."""
    _queue_cleanup(delete_objects, visibility, list(keys))


def _queue_cleanup(task: Any, visibility: str, keys: str | list[str]) -> None:
    try:
        defer(task, visibility, keys)
    except DatabaseError as exc:  # nowhere to queue it: the orphan sweep will find them
        logger.error("could not queue the clean-up of %s %s: %s", visibility, keys, exc)


@background_task(retry_on=(StorageUnavailable,), max_attempts=DELETE_ATTEMPTS)
def sync_mirror_now() -> int:
    """Repeat the mirror's backlog on it (retried while either store is down, about as
    long as deletes; the periodic sweep takes over after that)."""
    return mirror.sync_mirror()


def sync_mirror_later() -> None:
    defer(sync_mirror_now)
