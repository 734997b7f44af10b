"""Objects written while the transaction that records them runs, and deleted again if it fails.

Writes run in a thread beside the database transaction that records them, and that
transaction commits only after :meth:`UploadStage.finish` has seen every write and
check succeed (see :func:`media_store.uploads.intake.accept_images`). Inside
:func:`staged_uploads`, if anything fails (a write, a check, a constraint, the
commit itself) every object written is deleted again. Deletes of recorded files
happen only once their rows' deletion commits (a queued task, see ``signals``), so
a rolled-back delete never loses a file. ``staged_uploads`` must not be nested in
an outer transaction that could still roll back after it returns.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

from media_store.errors import StorageUnavailable, naming_the_file
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
    """Objects being written in one :func:`staged_uploads` block.

    :meth:`put` returns each row at once and :meth:`start` writes the objects in the
    request thread's writer, so the caller records the rows while the bytes go up;
    :meth:`finish` waits for every write (and the check beside it) and raises the
    first failure.
    """

    def __init__(self) -> None:
        self.written: list[tuple[str, str]] = []
        #: Keys whose write failed after reaching the store: it may still complete it.
        self.may_have_landed: list[tuple[str, str]] = []
        self._writes: list[tuple[PreparedImage, str, str]] = []
        self._writing: Future[None] | None = None

    def put(self, prepared: PreparedImage, purpose: Purpose) -> StagedFile:
        """Queue ``prepared`` for writing under a fresh key; return the unsaved row.

        A validation step left in ``prepared.check`` runs while the object is being
        written: the key is random and no committed row names it yet, and if the check
        fails :meth:`finish` raises it and :func:`staged_uploads` deletes the object.
        """
        visibility = purpose.visibility
        key = new_key(purpose.prefix, prepared.extension)
        self._writes.append((prepared, visibility, key))
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

    def start(self) -> None:
        """Start writing what was put, one object after another, in this thread's
        writer (:func:`_writer`).

        The writer touches no database (it would open a connection of its own): what
        a failed write needs there is done by :meth:`discard`.
        """
        if self._writes:
            self._writing = _writer().submit(contextvars.copy_context().run, self._write_all)

    def _write_all(self) -> None:
        """Runs in the writer; what it raises is raised again by :meth:`finish`."""
        for prepared, visibility, key in self._writes:
            with naming_the_file(prepared.original_name):  # its last check runs here
                _while_checking(prepared.check, partial(self._write, prepared, visibility, key))

    def _write(self, prepared: PreparedImage, visibility: str, key: str) -> None:
        try:
            write_object(visibility, key, prepared.content)
        except StorageUnavailable as exc:
            if exc.may_have_landed:
                self.may_have_landed.append((visibility, key))
            raise
        self.written.append((visibility, key))

    def finish(self) -> None:
        """Wait for the writes; raise the first failure (a check's over its write's)."""
        writing, self._writing = self._writing, None
        if writing is not None:
            writing.result()

    def discard(self) -> None:
        """Delete what this stage wrote; what the store refuses now is deleted later."""
        for visibility, key in self.written:
            delete_now_or_later(visibility, [key])
        self.written.clear()
        for visibility, key in self.may_have_landed:
            delete_if_it_lands(visibility, key)
        self.may_have_landed.clear()


_writers = threading.local()


def _writer() -> ThreadPoolExecutor:
    """The calling thread's writer: one thread of its own, kept for the next request.

    django-storages keeps a store connection per thread; a thread made per upload
    would build a new client and TLS connection each time (slower than the write),
    while this one reuses its own. It ends with the thread that owns it.
    """
    executor = getattr(_writers, "executor", None)
    if executor is None:
        executor = _writers.executor = ThreadPoolExecutor(1, thread_name_prefix="media-write")
    return executor


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
        except BaseException as exc:  # handed to the writing thread
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
    """Yield a stage; if the block raises, every object it wrote is deleted again.

    A write or check that failed is raised over the block's own error: it is what
    the uploader has to act on, as when the writes finished before the block began.
    """
    stage = UploadStage()
    try:
        yield stage
    except BaseException as exc:
        try:
            stage.finish()
        except BaseException as failure:
            raise failure from exc
        finally:
            stage.discard()
        raise
