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
from dataclasses import dataclass, field
from typing import IO

from botocore.exceptions import BotoCoreError, ClientError

from .errors import StorageUnavailable
from .images import PreparedImage
from .keys import new_key
from .models import Rendition, StoredFile, storage_for
from .purposes import Purpose
from .renditions import make_renditions

logger = logging.getLogger(__name__)


def write_object(visibility: str, key: str, content: IO[bytes]) -> None:
    """Write one object; store failures become :class:`StorageUnavailable` (503)."""
    try:
        stored_as = storage_for(visibility).save(key, content)
    except FileExistsError:
        raise
    except (BotoCoreError, ClientError, OSError) as exc:
        logger.error("media store write failed for %s: %s", key, exc)
        raise StorageUnavailable() from exc
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


@dataclass
class StagedFile:
    """An object already in the store, with the rows that will record it."""

    file: StoredFile
    renditions: list[Rendition] = field(default_factory=list)

    def save(self) -> StoredFile:
        """Record the file and its renditions (call inside the caller's transaction)."""
        self.file.save()
        for rendition in self.renditions:
            rendition.file = self.file
        Rendition.objects.bulk_create(self.renditions)
        return self.file


class UploadStage:
    """Objects written so far in one :func:`staged_uploads` block."""

    def __init__(self) -> None:
        self.written: list[tuple[str, str]] = []

    def _write(self, visibility: str, key: str, content: IO[bytes]) -> None:
        write_object(visibility, key, content)
        self.written.append((visibility, key))

    def put(self, prepared: PreparedImage, purpose: Purpose) -> StagedFile:
        """Write ``prepared`` (and its renditions) under fresh keys; return unsaved rows."""
        visibility = purpose.visibility
        key = new_key(purpose.prefix, prepared.extension)
        self._write(visibility, key, prepared.content)
        staged = StagedFile(
            StoredFile(
                visibility=visibility,
                key=key,
                original_name=prepared.original_name,
                content_type=prepared.content_type,
                size=prepared.size,
                width=prepared.width,
                height=prepared.height,
                sha256=prepared.sha256,
            )
        )
        stem = key.rsplit(".", 1)[0]
        for made in make_renditions(prepared.content, purpose.rendition_widths()):
            rendition_key = f"{stem}_w{made.width}.webp"
            self._write(visibility, rendition_key, made.content)
            staged.renditions.append(
                Rendition(
                    width=made.width, height=made.height, key=rendition_key, size=made.content.size
                )
            )
        return staged

    def discard(self) -> None:
        for visibility, key in self.written:
            delete_object(visibility, key)
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
