from __future__ import annotations

from collections.abc import Sequence
from typing import IO, Any

from media_store.uploads.intake import accept_images

from .models import Attachment

PRIVATE_NOTE = "test-note"  # private, any signed-in user
BANNER = "test-banner"  # public with renditions, staff only


def attach(
    *,
    user: Any,
    purpose: str = PRIVATE_NOTE,
    files: Sequence[IO[bytes]] = (),
    upload_ids: Sequence[Any] = (),
) -> list[Attachment]:
    with accept_images(owner=user, purpose=purpose, files=files, upload_ids=upload_ids) as staged:
        return [Attachment.objects.create(owner=user, file=image.save()) for image in staged]
