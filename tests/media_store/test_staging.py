"""Writing while validating: a lossless copy is decoded while it is being written, and an
object whose check fails is deleted again (real S3 gateway)."""

from __future__ import annotations

import dataclasses
import io
import threading

import pytest

from media_store.conf import upload_limits
from media_store.errors import InvalidImage
from media_store.images import prepare_image
from tests.media_store.testapp.models import Attachment
from tests.media_store.testapp.services import BANNER, attach
from tests.support import bombs

pytestmark = [pytest.mark.django_db, pytest.mark.s3]


def undecodable_jpeg() -> bytes:
    """Structurally a JPEG (the segment walk accepts it), but its scan asks for a
    Huffman table that is never defined, so only decoding it finds the fault."""
    jpeg = bombs.flat("JPEG", (640, 480))
    sos = jpeg.index(b"\xff\xda")
    return jpeg[: sos + 6] + b"\x33" + jpeg[sos + 7 :]


def test_a_copy_that_fails_its_check_is_deleted_from_the_store(staff, s3, settings):
    settings.MEDIA_REENCODE_PUBLIC = False  # the lossless path, as for products
    with pytest.raises(InvalidImage, match="corrupt"):
        attach(user=staff, purpose=BANNER, files=[io.BytesIO(undecodable_jpeg())])
    assert s3.keys() == []
    assert not Attachment.objects.exists()


def test_the_check_is_left_to_the_writer_only_when_asked():
    limits = upload_limits()
    with pytest.raises(InvalidImage, match="corrupt"):
        prepare_image(io.BytesIO(undecodable_jpeg()), limits=limits, reencode=False)
    deferred = prepare_image(
        io.BytesIO(undecodable_jpeg()), limits=limits, reencode=False, defer_check=True
    )
    assert deferred.check is not None
    with pytest.raises(InvalidImage, match="corrupt"):
        deferred.check()


def test_the_check_runs_beside_the_write_without_moving_its_position(staff, s3, settings):
    settings.MEDIA_REENCODE_PUBLIC = False
    threads: set[str] = set()
    jpeg = bombs.flat("JPEG", (640, 480))
    prepared = prepare_image(
        io.BytesIO(jpeg), limits=upload_limits(), reencode=False, defer_check=True
    )

    def recording_check() -> None:
        threads.add(threading.current_thread().name)
        prepared.check()

    [attachment] = attach(
        user=staff, purpose=BANNER, files=[dataclasses.replace(prepared, check=recording_check)]
    )
    assert threads == {"media-check"}
    stored = attachment.file
    prepared.content.seek(0)
    assert stored.storage.open(stored.key).read() == prepared.content.read()
