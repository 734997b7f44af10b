"""Writing and removing objects so that no row points at nothing and no object is orphaned.

Writes happen *before* the database transaction that records them, inside
:func:`staged_uploads`: if anything in the block fails (validation of a later
file, a constraint, the commit itself) every object written in it is deleted
again. Deletes happen *after* the transaction commits (see ``signals``), so a
rolled-back delete never loses a file. ``staged_uploads`` must not be nested
in an outer transaction that could still roll back after it returns.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from botocore.exceptions import BotoCoreError, ClientError

from .conf import UploadLimits, upload_limits
from .errors import StorageUnavailable
from .images import PreparedImage, prepare_image
from .keys import new_key
from .models import StoredFile, storage_for

logger = logging.getLogger(__name__)

STORE_DOWN_MESSAGE = (
    "The file store is unavailable right now, so nothing was saved. Try again in a minute."
)


def _storage_error(action: str, key: str, exc: Exception) -> StorageUnavailable:
    logger.error("media store %s failed for %s: %s", action, key, exc)
    return StorageUnavailable(STORE_DOWN_MESSAGE)


def write_object(visibility: str, key: str, content: IO[bytes]) -> None:
    """Write one object; store failures become :class:`StorageUnavailable` (503)."""
    try:
        stored_as = storage_for(visibility).save(key, content)
    except FileExistsError:
        raise
    except (BotoCoreError, ClientError, OSError) as exc:
        raise _storage_error("write", key, exc) from exc
    if stored_as != key:  # pragma: no cover - our backends never rename
        raise RuntimeError(f"storage renamed {key!r} to {stored_as!r}")


def delete_object(visibility: str, key: str) -> bool:
    """Delete one object; returns False (and logs) if the store refused."""
    try:
        storage_for(visibility).delete(key)
    except (BotoCoreError, ClientError, OSError) as exc:
        logger.warning("could not delete %s object %s: %s", visibility, key, exc)
        return False
    return True


class UploadStage:
    """Objects written so far in one :func:`staged_uploads` block."""

    def __init__(self) -> None:
        self.written: list[StoredFile] = []

    def put(
        self,
        prepared: PreparedImage,
        *,
        visibility: str,
        prefix: str,
        original_name: str = "",
    ) -> StoredFile:
        """Write ``prepared`` under a fresh key; return its (unsaved) row."""
        key = new_key(prefix, prepared.extension)
        write_object(visibility, key, prepared.content)
        stored = StoredFile(
            visibility=visibility,
            key=key,
            original_name=(original_name or "")[:255],
            content_type=prepared.content_type,
            size=prepared.size,
            width=prepared.width,
            height=prepared.height,
            sha256=prepared.sha256,
        )
        self.written.append(stored)
        return stored

    def discard(self) -> None:
        for stored in self.written:
            delete_object(stored.visibility, stored.key)
        self.written.clear()


@contextmanager
def staged_uploads() -> Iterator[UploadStage]:
    """Yield a stage; if the block raises, every object it wrote is deleted again."""
    stage = UploadStage()
    try:
        yield stage
    except BaseException:
        stage.discard()
        raise


def prepare_images(
    uploads: list[IO[bytes]], *, limits: UploadLimits | None = None, reencode: bool = True
) -> list[PreparedImage]:
    """Validate every upload before anything is written, so one bad file stores nothing."""
    limits = limits or upload_limits()
    return [prepare_image(upload, limits=limits, reencode=reencode) for upload in uploads]
