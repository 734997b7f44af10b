"""Writing while validating and recording: a lossless copy is decoded while it is being
written, the rows are recorded meanwhile and commit only once it is stored, and an object
whose check fails is deleted again (real S3 gateway)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import threading
import time
from datetime import timedelta

import pytest
from botocore.exceptions import EndpointConnectionError
from django.db import IntegrityError
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from media_store.conf import upload_limits
from media_store.errors import InvalidImage, StorageUnavailable
from media_store.imaging.prepare import prepare_image
from media_store.models import StoredFile
from media_store.uploads.intake import accept_images
from tests.media_store.testapp.models import Attachment
from tests.media_store.testapp.services import BANNER, PRIVATE_NOTE, attach
from tests.support import bombs
from tests.support.images import photo_jpeg
from tests.support.s3 import free_port, storages_for
from tests.support.tasks import drain
from tests.support.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.django_db, pytest.mark.s3]

NOTE_PNG = bombs.flat("PNG", (64, 48))


def test_a_copy_that_fails_its_check_is_deleted_from_the_store(staff, s3, settings):
    settings.MEDIA_REENCODE_PUBLIC = False  # the lossless path, as for products
    with pytest.raises(InvalidImage, match="corrupt"):
        attach(user=staff, purpose=BANNER, files=[io.BytesIO(bombs.undecodable_jpeg())])
    assert s3.keys() == []
    assert not Attachment.objects.exists()


def test_the_check_is_left_to_the_writer_only_when_asked():
    limits = upload_limits()
    with pytest.raises(InvalidImage, match="corrupt"):
        prepare_image(io.BytesIO(bombs.undecodable_jpeg()), limits=limits, reencode=False)
    deferred = prepare_image(
        io.BytesIO(bombs.undecodable_jpeg()), limits=limits, reencode=False, defer_check=True
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


def test_the_rows_are_recorded_while_the_bytes_go_up_and_commit_after_them(
    user, s3, settings, tmp_path
):
    proxy = TcpProxy(s3.server.port)
    proxy.set_mode("delay", 0.3)  # the write takes a second or so
    settings.STORAGES = storages_for(s3.s3_settings(endpoint_url=proxy.url), tmp_path)
    try:
        png = io.BytesIO(NOTE_PNG)
        with accept_images(owner=user, purpose=PRIVATE_NOTE, files=[png]) as new:
            attachment = Attachment.objects.create(owner=user, file=new[0].save())
            in_the_store_meanwhile = s3.keys()
        in_the_store_after = s3.keys()
    finally:
        proxy.close()
    assert in_the_store_meanwhile == []
    assert in_the_store_after == [f"private/{attachment.file.key}"]
    assert Attachment.objects.get().file.key == attachment.file.key


def test_a_write_that_fails_after_the_block_rolls_its_rows_back(user, s3, settings, tmp_path):
    proxy = TcpProxy(s3.server.port)
    proxy.set_mode("delay", 0.3)
    settings.STORAGES = storages_for(s3.s3_settings(endpoint_url=proxy.url), tmp_path)
    try:
        png = io.BytesIO(NOTE_PNG)
        with (
            pytest.raises(StorageUnavailable),
            accept_images(owner=user, purpose=PRIVATE_NOTE, files=[png]) as new,
        ):
            Attachment.objects.create(owner=user, file=new[0].save())
            proxy.set_mode("reset")  # the store goes away while the bytes go up
    finally:
        proxy.close()
    assert not Attachment.objects.exists()
    assert not StoredFile.objects.exists()


def test_a_refused_file_is_raised_over_the_blocks_own_error(staff, s3, settings):
    settings.MEDIA_REENCODE_PUBLIC = False  # only the check beside the write finds the fault
    bad = io.BytesIO(bombs.undecodable_jpeg())
    with (
        pytest.raises(InvalidImage, match="corrupt"),
        accept_images(owner=staff, purpose=BANNER, files=[bad]),
    ):
        raise IntegrityError("the block failed too")
    assert s3.keys() == []


def test_uploads_from_one_thread_reuse_its_connection_to_the_store(user, s3, settings, tmp_path):
    """Each request thread writes through a writer thread it keeps, with the store
    connection that thread made: a thread made per write would open one each time."""
    proxy = TcpProxy(s3.server.port)
    settings.STORAGES = storages_for(s3.s3_settings(endpoint_url=proxy.url), tmp_path)
    try:
        for _ in range(3):
            attach(user=user, purpose=PRIVATE_NOTE, files=[io.BytesIO(NOTE_PNG)])
    finally:
        proxy.close()
    assert len(s3.keys()) == 3
    assert proxy.connections == 1


@pytest.mark.parametrize("where", ["blackhole", "closed-port"])
def test_a_write_that_may_still_land_has_its_key_deleted_later(where, user, s3, settings, tmp_path):
    """No answer after the body was sent: the store may still complete the write, so
    the key's delete is queued for a few minutes later. A refused connection sent
    nothing, so there is nothing to delete."""
    proxy = TcpProxy(s3.server.port)
    proxy.set_mode("blackhole")
    endpoint = proxy.url if where == "blackhole" else f"http://127.0.0.1:{free_port()}"
    try:
        settings.STORAGES = storages_for(s3.s3_settings(endpoint_url=endpoint), tmp_path)
        png = io.BytesIO(bombs.flat("PNG", (64, 48)))
        with pytest.raises(StorageUnavailable):
            attach(user=user, purpose=PRIVATE_NOTE, files=[png])
    finally:
        proxy.close()
    assert not Attachment.objects.exists()
    deletes = DBTaskResult.objects.filter(task_path__endswith="discard_failed_write")
    if where == "closed-port":
        assert not deletes.exists()
        return
    [delete] = deletes
    visibility, key = delete.args_kwargs["args"]
    assert visibility == "private" and key.startswith("notes/")
    assert timedelta(minutes=4) < delete.run_after - timezone.now() <= timedelta(minutes=5)


def _once_it_lands(s3, prefix: str, then) -> threading.Thread:
    """Call ``then`` as soon as an object under ``prefix`` is in the bucket."""

    def watch() -> None:
        deadline = time.monotonic() + 20
        while not s3.keys(prefix) and time.monotonic() < deadline:
            time.sleep(0.05)
        then()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_a_write_whose_answer_was_lost_and_whose_retry_finds_it_there_succeeds(
    user, s3, settings, tmp_path
):
    """The store completed the first attempt but its answer never came; botocore's retry
    is refused by If-None-Match because the object (ours: keys are random) is there."""
    proxy = TcpProxy(s3.server.port)
    proxy.set_mode("lose-answers")
    settings.STORAGES = storages_for(
        s3.s3_settings(endpoint_url=proxy.url, max_attempts=2, read_timeout=10), tmp_path
    )
    # Cutting the connection once the object is there ends the first attempt early.
    watcher = _once_it_lands(s3, "private/notes/", lambda: proxy.set_mode("pass"))
    try:
        [attachment] = attach(user=user, purpose=PRIVATE_NOTE, files=[io.BytesIO(NOTE_PNG)])
    finally:
        watcher.join()
        proxy.close()
    key = f"private/{attachment.file.key}"
    assert s3.keys() == [key]
    body = s3.server.client().get_object(Bucket=s3.bucket, Key=key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == attachment.file.sha256
    assert not DBTaskResult.objects.filter(task_path__endswith="discard_failed_write").exists()


def test_a_write_that_landed_before_the_store_went_away_is_deleted_later(
    user, s3, settings, tmp_path
):
    """The first attempt landed and timed out waiting for its answer, and the retry could
    not even connect: the error is about the retry, but the key must be deleted later."""
    proxy = TcpProxy(s3.server.port)
    proxy.set_mode("lose-answers")
    settings.STORAGES = storages_for(
        s3.s3_settings(endpoint_url=proxy.url, max_attempts=2, read_timeout=2), tmp_path
    )
    watcher = _once_it_lands(s3, "private/notes/", proxy.stop_listening)
    try:
        with pytest.raises(StorageUnavailable) as raised:
            attach(user=user, purpose=PRIVATE_NOTE, files=[io.BytesIO(NOTE_PNG)])
    finally:
        watcher.join()
        proxy.close()
    assert isinstance(raised.value.__cause__, EndpointConnectionError)  # what the retry met
    [landed] = s3.keys()
    assert not Attachment.objects.exists()
    [delete] = DBTaskResult.objects.filter(task_path__endswith="discard_failed_write")
    assert delete.args_kwargs["args"] == ["private", landed.removeprefix("private/")]


def test_a_multipart_write_cut_off_halfway_leaves_no_parts_behind(staff, s3, settings, tmp_path):
    """The store goes away after the multipart upload began: s3transfer cannot abort it,
    so the clean-up queued for later aborts it (and deletes the key) once the store is back."""
    settings.MEDIA_REENCODE_PUBLIC = False  # stored as sent: a body over the threshold
    proxy = TcpProxy(s3.server.port)
    proxy.set_mode("delay", 0.02)  # its part takes a second or more: cut while it is sent
    through = s3.s3_settings(endpoint_url=proxy.url, multipart_threshold=1024 * 1024)
    settings.STORAGES = storages_for(through, tmp_path)
    client, bucket = s3.server.client(), s3.bucket

    def cut_once_it_began() -> None:
        deadline = time.monotonic() + 20
        while not client.list_multipart_uploads(Bucket=bucket).get("Uploads"):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        proxy.stop_listening()
        proxy.set_mode("reset")

    watcher = threading.Thread(target=cut_once_it_began, daemon=True)
    watcher.start()
    try:
        with pytest.raises(StorageUnavailable):
            attach(user=staff, purpose=BANNER, files=[io.BytesIO(photo_jpeg())])
    finally:
        watcher.join()
        proxy.close()
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads")  # left unfinished
    assert not Attachment.objects.exists()

    settings.STORAGES = storages_for(s3.s3_settings(), tmp_path)  # the store is back
    [cleanup] = DBTaskResult.objects.filter(task_path__endswith="discard_failed_write")
    cleanup.run_after = timezone.now()
    cleanup.save()
    drain()
    assert not client.list_multipart_uploads(Bucket=bucket).get("Uploads")
    assert s3.keys() == []
