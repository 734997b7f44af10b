"""Background work on stored media: renditions, and deletes that retry while the store is down.

Every task is idempotent: running it twice (a retry, or a task recovered from a
worker that died) changes nothing more than running it once.
"""

from __future__ import annotations

import contextlib
import logging

from botocore.exceptions import BotoCoreError, ClientError
from django.db import DatabaseError

from jobs.tasks import background_task, defer

from .errors import StorageUnavailable
from .models import Rendition, StoredFile
from .renditions import make_renditions
from .s3 import NOT_FOUND_CODES, s3_error_code
from .services import delete_object, write_object

logger = logging.getLogger(__name__)


@background_task(retry_on=(StorageUnavailable,))
def make_renditions_for(file_id: str) -> dict[str, int]:
    """Write the pending renditions of one stored image and mark them ready (or failed)."""
    stored = StoredFile.objects.filter(pk=file_id).first()
    pending = list(stored.renditions.filter(state=Rendition.State.PENDING)) if stored else []
    if not pending:
        return {"made": 0}
    try:
        with stored.storage.open(stored.key, "rb") as original:
            made = {r.width: r for r in make_renditions(original, [r.width for r in pending])}
    except (FileNotFoundError, ClientError) as exc:
        if isinstance(exc, ClientError) and s3_error_code(exc) not in NOT_FOUND_CODES:
            raise StorageUnavailable() from exc
        logger.error("renditions of %s failed: the original is missing", stored.key)
        made = {}
    except (BotoCoreError, OSError) as exc:
        raise StorageUnavailable() from exc
    except Exception as exc:  # derived images: any other failure marks them failed, once
        logger.exception("renditions of %s failed: %s", stored.key, exc)
        made = {}
    done = 0
    for rendition in pending:
        data = made.get(rendition.width)
        if data is None:
            Rendition.objects.filter(pk=rendition.pk).update(state=Rendition.State.FAILED)
            continue
        with contextlib.suppress(FileExistsError):  # an earlier run wrote the same bytes
            write_object(stored.visibility, rendition.key, data.content)
        marked = Rendition.objects.filter(pk=rendition.pk, state=Rendition.State.PENDING).update(
            state=Rendition.State.READY, size=data.content.size
        )
        if not marked:  # the image was deleted meanwhile: do not leave the object behind
            delete_object(stored.visibility, rendition.key)
        done += marked
    return {"made": done}


def make_renditions_later(stored: StoredFile) -> None:
    defer(make_renditions_for, str(stored.pk))


@background_task(retry_on=(StorageUnavailable,))
def delete_objects(visibility: str, keys: list[str]) -> int:
    """Delete objects (missing ones count as deleted); retried while the store is down."""
    for key in keys:
        if not delete_object(visibility, key):
            raise StorageUnavailable()
    return len(keys)


def delete_now_or_later(visibility: str, keys: list[str]) -> None:
    """Delete now; whatever the store refuses is queued for a retrying delete."""
    refused = [key for key in keys if not delete_object(visibility, key)]
    if refused:
        delete_objects_later(visibility, refused)


def delete_objects_later(visibility: str, keys: list[str]) -> None:
    """Queue a retrying delete (with the current transaction, if there is one)."""
    try:
        defer(delete_objects, visibility, list(keys))
    except DatabaseError as exc:  # nowhere to queue it: the orphan sweep will find them
        logger.error("could not queue the delete of %s %s: %s", visibility, keys, exc)
