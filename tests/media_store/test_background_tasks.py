"""media_store's tasks and sweeps, run in-process on the real queue (see tests/e2e for workers)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from media_store.imaging.renditions import RenditionData
from media_store.models import PendingUpload, Rendition, StoredFile
from media_store.sweeps import requeue_stuck_renditions, sweep_expired_uploads
from media_store.tasks import make_renditions_for, store_rendition
from tests.media_store.testapp.services import BANNER, attach
from tests.support.images import image_bytes
from tests.support.tasks import drain

pytestmark = pytest.mark.django_db


def banner(staff, size=(400, 300)) -> StoredFile:
    [attachment] = attach(
        user=staff, purpose=BANNER, files=[io.BytesIO(image_bytes("JPEG", size=size))]
    )
    return attachment.file


def test_renditions_of_a_missing_original_fail_once_instead_of_retrying(staff, settings):
    settings.MEDIA_RENDITION_WIDTHS = [100, 200]
    stored = banner(staff)
    stored.storage.delete(stored.key)  # lost outside the app
    drain()
    assert [r.state for r in stored.renditions.all()] == ["failed", "failed"]
    assert DBTaskResult.objects.filter(task_path__endswith="make_renditions_for").count() == 1


@pytest.mark.s3
def test_renditions_of_an_original_missing_from_the_bucket_fail(staff, s3, settings):
    settings.MEDIA_RENDITION_WIDTHS = [100]
    stored = banner(staff)
    s3.server.client().delete_object(Bucket=s3.bucket, Key=f"media/{stored.key}")
    drain()
    assert [r.state for r in stored.renditions.all()] == ["failed"]


def test_a_second_run_of_a_rendition_task_changes_nothing(staff, settings):
    settings.MEDIA_RENDITION_WIDTHS = [100, 200]
    stored = banner(staff)
    drain()
    assert make_renditions_for.call(str(stored.pk)) == {"made": 0}
    assert [r.state for r in stored.renditions.all()] == ["ready", "ready"]


def test_an_object_written_again_after_a_lost_mark_is_not_duplicated(staff, settings):
    settings.MEDIA_RENDITION_WIDTHS = [100]
    stored = banner(staff)
    drain()
    Rendition.objects.update(state=Rendition.State.PENDING)  # as if the worker died before

    assert make_renditions_for.call(str(stored.pk)) == {"made": 1}
    rendition = stored.renditions.get()
    assert rendition.state == "ready" and stored.storage.exists(rendition.key)
    folder = stored.storage.listdir("banners")[1]
    assert len(folder) == 2  # the original and one rendition, not a renamed copy


def test_stuck_pending_renditions_are_queued_again(staff, settings):
    settings.MEDIA_RENDITION_WIDTHS = [100]
    stored = banner(staff)
    DBTaskResult.objects.all().delete()  # the task was lost
    assert requeue_stuck_renditions.call() == 0  # too young to be stuck
    StoredFile.objects.filter(pk=stored.pk).update(created_at=timezone.now() - timedelta(hours=2))
    assert requeue_stuck_renditions.call() == 1
    drain()
    assert stored.renditions.get().state == "ready"


def test_expired_direct_uploads_are_swept(user):
    PendingUpload.objects.create(
        owner=user,
        purpose="test-note",
        key="uploads/expired",
        content_type="image/jpeg",
        max_bytes=10,
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    assert sweep_expired_uploads.call() == 1 and PendingUpload.objects.count() == 0


def rendition_data(width: int) -> RenditionData:
    content = ContentFile(image_bytes("WEBP", size=(width, width)))
    content.content_type = "image/webp"
    return RenditionData(width, width, content)


def test_a_late_second_run_never_deletes_what_the_first_marked_ready(staff, settings):
    """A worker paused past its heartbeat resumes after another worker finished its task."""
    settings.MEDIA_RENDITION_WIDTHS = [100]
    stored = banner(staff)
    rendition = stored.renditions.get()
    Rendition.objects.filter(pk=rendition.pk).update(state=Rendition.State.READY)  # the other
    assert store_rendition(stored, rendition, rendition_data(100)) == 0
    assert stored.storage.exists(rendition.key)  # written, and not removed again


def test_a_rendition_of_a_deleted_image_is_removed_again(staff, settings):
    settings.MEDIA_RENDITION_WIDTHS = [100]
    stored = banner(staff)
    rendition = stored.renditions.get()
    Rendition.objects.filter(pk=rendition.pk).delete()
    assert store_rendition(stored, rendition, rendition_data(100)) == 0
    assert not stored.storage.exists(rendition.key)


def test_an_original_that_is_not_an_image_anymore_fails_its_renditions_once(staff, settings):
    settings.MEDIA_RENDITION_WIDTHS = [100, 200]
    stored = banner(staff)
    with open(stored.storage.path(stored.key), "wb") as junk:
        junk.write(b"not an image any more" * 100)
    drain()
    assert [r.state for r in stored.renditions.all()] == ["failed", "failed"]
    assert DBTaskResult.objects.get(task_path__endswith="make_renditions_for").status == (
        "SUCCESSFUL"
    )
