"""Objects written before the transaction that records them, and deleted again if it fails.

Writes happen *before* the database transaction that records them, inside
:func:`staged_uploads`: if anything in the block fails (validation of a later
file, a constraint, the commit itself) every object written in it is deleted
again. Deletes of recorded files happen only once their rows' deletion commits
(a queued task, see ``signals``), so a rolled-back delete never loses a file.
``staged_uploads`` must not be nested in an outer transaction that could still
roll back after it returns.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from media_store.errors import StorageUnavailable
from media_store.imaging.prepare import PreparedImage
from media_store.imaging.renditions import formats_in_use, rendition_key, rendition_sizes
from media_store.models import MirrorChange, Rendition, StoredFile
from media_store.storage import mirror
from media_store.storage.objects import write_object
from media_store.tasks import delete_if_it_lands, delete_now_or_later, make_renditions_later

from .keys import new_key
from .purposes import Purpose


@dataclass
class StagedFile:
    """An object already in the store, with the row that will record it."""

    file: StoredFile
    rendition_widths: tuple[int, ...] = ()

    def save(self) -> StoredFile:
        """Record the file (call inside the caller's transaction); renditions follow.

        Rendition rows are created ``pending`` and made by a background task that is
        queued with this transaction, so a committed image always gets its renditions.
        """
        self.file.save()
        mirror.record(self.file.visibility, [self.file.key], MirrorChange.Action.COPY)
        sizes = rendition_sizes(self.file.width, self.file.height, self.rendition_widths)
        if sizes:
            formats = formats_in_use()
            Rendition.objects.bulk_create(
                Rendition(
                    file=self.file,
                    width=w,
                    height=h,
                    content_type=fmt.content_type,
                    key=rendition_key(self.file.key, w, fmt),
                )
                for w, h in sizes
                for fmt in formats
            )
            make_renditions_later(self.file)
        return self.file


class UploadStage:
    """Objects written so far in one :func:`staged_uploads` block."""

    def __init__(self) -> None:
        self.written: list[tuple[str, str]] = []

    def put(self, prepared: PreparedImage, purpose: Purpose) -> StagedFile:
        """Write ``prepared`` under a fresh key; return the unsaved row.

        A validation step left in ``prepared.check`` runs while the object is being
        written: the key is random and no row names it yet, and if the check fails
        the error propagates out of :func:`staged_uploads`, which deletes the object.
        """
        visibility = purpose.visibility
        key = new_key(purpose.prefix, prepared.extension)

        def write() -> None:
            try:
                write_object(visibility, key, prepared.content)
            except StorageUnavailable as exc:
                if exc.may_have_landed:
                    delete_if_it_lands(visibility, key)
                raise
            self.written.append((visibility, key))

        _while_checking(prepared.check, write)
        return StagedFile(
            StoredFile(
                visibility=visibility,
                key=key,
                original_name=prepared.original_name,
                content_type=prepared.content_type,
                size=prepared.size,
                width=prepared.width,
                height=prepared.height,
                sha256=prepared.sha256,
            ),
            rendition_widths=purpose.rendition_widths(),
        )

    def discard(self) -> None:
        """Delete what this stage wrote; what the store refuses now is deleted later."""
        for visibility, key in self.written:
            delete_now_or_later(visibility, [key])
        self.written.clear()


def _while_checking(check: Callable[[], None] | None, write: Callable[[], None]) -> None:
    """Run ``write`` here and ``check`` (mostly a decode, which releases the GIL) in a
    thread beside it; a failed check is raised over any failure of the write."""
    if check is None:
        write()
        return
    failures: list[BaseException] = []

    def run_check() -> None:
        try:
            check()
        except BaseException as exc:  # handed to the request's thread
            failures.append(exc)

    thread = threading.Thread(target=run_check, name="media-check")
    thread.start()
    try:
        write()
    finally:
        thread.join()
        if failures:
            raise failures[0]


@contextmanager
def staged_uploads() -> Iterator[UploadStage]:
    """Yield a stage; if the block raises, every object it wrote is deleted again."""
    stage = UploadStage()
    try:
        yield stage
    except BaseException:
        stage.discard()
        raise
