"""The one entry point for storing images a user sent: uploaded files, direct uploads, or both.

A project calls :func:`accept_images` with what the user sent and records the
yielded files in the block, which runs in a database transaction of its own::

    with accept_images(owner=user, purpose="order", files=files, upload_ids=ids) as staged:
        order = Order.objects.create(owner=user)
        for position, image in enumerate(staged):
            OrderImage.objects.create(order=order, file=image.save(), position=position)

Before yielding it checks that ``owner`` may store images for the purpose, claims
the direct uploads (so two requests cannot both use one), validates every image
(so one bad file stores nothing) and starts writing the objects under fresh keys.
The block's rows are written while the bytes go up; the transaction commits only
once every object is in the store and its last check has passed, so a committed row
always names a stored, valid object. If the block, a write or a check fails, the
transaction rolls back and every object written is deleted again (a failed write
or check is raised over the block's own error); a direct upload whose content was
refused is dropped for good, any other failure releases it so the same id can be
retried. Once the block has finished, the used uploads' staging objects go.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import IO, Any

from django.db import transaction

from media_store.errors import TooManyFiles, naming_the_file
from media_store.imaging.prepare import PreparedImage, prepare_image

from .direct import claim_uploads, finalizing
from .names import clean_filename
from .purposes import Purpose, get_purpose
from .staging import StagedFile, staged_uploads

ImageSource = IO[bytes] | PreparedImage


@contextmanager
def accept_images(
    *,
    owner: Any,
    purpose: str,
    files: Sequence[ImageSource] = (),
    upload_ids: Sequence[uuid.UUID | str] = (),
) -> Iterator[list[StagedFile]]:
    """Validate and store what ``owner`` sent for ``purpose``; yield rows to save.

    ``files`` are uploaded files (or images already prepared by
    :class:`media_store.web.forms.ImageUploadField`); ``upload_ids`` name direct
    uploads. The yielded list holds files first, then uploads, in the order given.
    """
    spec = get_purpose(purpose)
    spec.check_allowed(owner)
    limits = spec.limits()
    if len(files) + len(upload_ids) > limits.max_files:
        raise TooManyFiles(f"At most {limits.max_files} files can be stored at once.")
    claimed = claim_uploads(owner, upload_ids, purpose=spec.name)
    with finalizing(claimed) as downloaded:
        prepared = [prepare_for(spec, source, defer_check=True) for source in [*files, *downloaded]]
        with staged_uploads() as stage:
            staged = [stage.put(item, spec) for item in prepared]
            stage.start()
            with transaction.atomic():
                yield staged
                stage.finish()  # a failed write or check rolls the block's rows back


def prepare_for(
    purpose: Purpose, source: ImageSource, *, defer_check: bool = False
) -> PreparedImage:
    """Validate one image by the rules of ``purpose`` (a prepared image passes as it is).

    ``defer_check`` lets the last decode run while the bytes are written (see
    :meth:`media_store.uploads.staging.UploadStage.put`).
    """
    if isinstance(source, PreparedImage):
        return source
    name = clean_filename(getattr(source, "name", "") or "")
    with naming_the_file(name):
        prepared = prepare_image(
            source, limits=purpose.limits(), reencode=purpose.reencode, defer_check=defer_check
        )
    return replace(prepared, original_name=name)
