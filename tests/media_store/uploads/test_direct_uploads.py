"""Direct uploads: the bucket enforces the policy; finalizing validates like any upload.

Runs on the test app's purposes (``tests.media_store.testapp``), not the shop's.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from media_store.errors import StorageUnavailable, UnknownUpload, UnsupportedMediaType
from media_store.models import PendingUpload, StoredFile
from media_store.sweeps import sweep_expired_uploads
from media_store.uploads.direct import claim_uploads, release_uploads
from tests.media_store.testapp.models import Attachment
from tests.media_store.testapp.services import BANNER, PRIVATE_NOTE, attach
from tests.support.clients import client_for
from tests.support.direct import issue, send
from tests.support.http import fetch
from tests.support.images import image_bytes
from tests.support.s3 import free_port, storages_for
from tests.support.tasks import drain

pytestmark = pytest.mark.django_db


@pytest.mark.s3
def test_direct_upload_then_finalize(user, s3, django_capture_on_commit_callbacks):
    data = image_bytes("PNG", size=(80, 60))
    grant = issue(user, purpose=PRIVATE_NOTE, size=len(data), content_type="image/png").json()
    assert grant["fields"]["key"].startswith("private/uploads/")
    assert send(grant, data)[0] == 204
    with django_capture_on_commit_callbacks(execute=True):
        [attachment] = attach(user=user, upload_ids=[grant["id"]])
    stored = attachment.file
    assert (stored.content_type, stored.original_name, stored.width) == (
        "image/png",
        "photo.jpg",
        80,
    )
    assert stored.key.startswith("notes/") and fetch(stored.url()).status == 200
    assert s3.keys("private/uploads/") == []  # staging object removed
    with pytest.raises(UnknownUpload, match="Upload the file again"):
        attach(user=user, upload_ids=[grant["id"]])  # an upload is consumed once


@pytest.mark.s3
def test_a_grant_posted_to_again_after_finalize_is_swept_when_its_window_closes(
    user, s3, django_capture_on_commit_callbacks
):
    data = image_bytes("PNG", size=(80, 60))
    grant = issue(user, purpose=PRIVATE_NOTE, size=len(data), content_type="image/png").json()
    send(grant, data)
    with django_capture_on_commit_callbacks(execute=True):
        attach(user=user, upload_ids=[grant["id"]])
    assert send(grant, data)[0] == 204  # the signed policy is still valid
    assert len(s3.keys("private/uploads/")) == 1
    sweep_expired_uploads.call()  # the window is still open: nothing to do yet
    assert len(s3.keys("private/uploads/")) == 1
    PendingUpload.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    sweep_expired_uploads.call()
    assert s3.keys("private/uploads/") == [] and not PendingUpload.objects.exists()


@pytest.mark.s3
def test_the_bucket_rejects_what_the_policy_forbids(user, s3):
    data = image_bytes()
    grant = issue(user, purpose=PRIVATE_NOTE, size=len(data)).json()
    status, body = send(grant, data, content_type="text/html")
    assert status == 403 and b"Content-Type" in body
    status, body = send(grant, data, key="private/uploads/someone-elses")
    assert status == 403 and b"key" in body
    status, body = send(grant, data, key="media/products/evil.jpg")
    assert status == 403
    tampered = dict(grant["fields"])
    tampered["x-amz-signature"] = "0" * 64
    status, _ = send({**grant, "fields": tampered}, data)
    assert status == 403
    assert s3.keys() == []


@pytest.mark.s3
def test_the_bucket_takes_exactly_the_declared_size(user, s3):
    data = image_bytes("PNG", size=(80, 60))
    grant = issue(user, purpose=PRIVATE_NOTE, size=len(data), content_type="image/png").json()
    assert grant["max_bytes"] == len(data)
    status, body = send(grant, data + b"\x00")
    assert status == 400 and b"EntityTooLarge" in body
    status, body = send(grant, data[:-1])
    assert status == 400 and b"EntityTooSmall" in body
    assert s3.keys() == []
    assert send(grant, data)[0] == 204
    assert len(attach(user=user, upload_ids=[grant["id"]])) == 1


@pytest.mark.s3
def test_direct_upload_names_are_cleaned_like_multipart_names(user, s3):
    hostile = "..\\..\\tmp/../photo\u202egpj.exe\u200b\x07.png"
    data = image_bytes("PNG")
    response = client_for(user).post(
        "/api/media/uploads/",
        {
            "purpose": PRIVATE_NOTE,
            "content_type": "image/png",
            "size": len(data),
            "filename": hostile,
        },
        format="json",
    )
    grant = response.json()
    assert PendingUpload.objects.get().filename == "photogpj.exe.png"
    assert send(grant, data)[0] == 204
    [direct] = attach(user=user, upload_ids=[grant["id"]])
    [multipart] = attach(user=user, files=[SimpleUploadedFile(hostile, data, "image/png")])
    assert direct.file.original_name == multipart.file.original_name == "photogpj.exe.png"


@pytest.mark.s3
def test_finalize_rejects_a_non_image_sent_as_jpeg(user, s3):
    html = b"<html><script>alert(1)</script></html>"
    grant = issue(user, purpose=PRIVATE_NOTE, size=len(html)).json()
    assert send(grant, html)[0] == 204  # the bucket cannot know; finalizing must
    with pytest.raises(UnsupportedMediaType):
        attach(user=user, upload_ids=[grant["id"]])
    assert Attachment.objects.count() == 0 and StoredFile.objects.count() == 0
    assert s3.keys() == []  # refused content is dropped, staging object included
    with pytest.raises(UnknownUpload):
        attach(user=user, upload_ids=[grant["id"]])


@pytest.mark.s3
def test_uploads_belong_to_their_owner_and_purpose(user, other_user, staff, s3):
    data = image_bytes()
    grant = issue(user, purpose=PRIVATE_NOTE, size=len(data)).json()
    send(grant, data)
    with pytest.raises(UnknownUpload):
        attach(user=other_user, upload_ids=[grant["id"]])
    with pytest.raises(UnknownUpload):
        attach(user=staff, purpose=BANNER, upload_ids=[grant["id"]])
    assert len(attach(user=user, upload_ids=[grant["id"]])) == 1


def test_a_purpose_rule_is_enforced_before_anything_else(user, staff):
    assert client_for().post("/api/media/uploads/", {}, format="json").status_code in (401, 403)
    refused = issue(user, purpose=BANNER)  # staff only: 403 even without S3
    assert refused.status_code == 403 and refused.json()["code"] == "upload_not_allowed"
    unavailable = issue(staff, purpose=BANNER)  # allowed, but local disk has no bucket
    assert unavailable.status_code == 409 and "USE_S3" in unavailable.json()["detail"]


@pytest.mark.s3
def test_request_validation(user, staff, s3, settings):
    assert issue(user, purpose=PRIVATE_NOTE, content_type="image/svg+xml").status_code == 415
    too_big = issue(user, purpose=PRIVATE_NOTE, size=settings.MEDIA_MAX_UPLOAD_BYTES + 1)
    assert too_big.status_code == 413
    empty = issue(user, purpose=PRIVATE_NOTE, size=0)
    assert empty.status_code == 400 and empty.json()["field"] == "size"
    assert "empty" in empty.json()["detail"]
    assert issue(user, purpose=BANNER).status_code == 403
    assert issue(staff, purpose=BANNER).status_code == 201
    unknown = issue(user, purpose="nope")
    assert unknown.status_code == 400 and unknown.json()["code"] == "unknown_purpose"


@pytest.mark.s3
def test_expired_uploads_are_cleaned_up(user, s3):
    data = image_bytes()
    grant = issue(user, purpose=PRIVATE_NOTE, size=len(data)).json()
    send(grant, data)
    assert len(s3.keys("private/uploads/")) == 1
    PendingUpload.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    call_command("media_cleanup_uploads", stdout=io.StringIO())
    assert s3.keys() == [] and PendingUpload.objects.count() == 0


@pytest.mark.s3
def test_an_upload_being_finalized_cannot_be_claimed_again(user, s3):
    grant = issue(user, purpose=PRIVATE_NOTE).json()
    [claimed] = claim_uploads(user, [grant["id"]], purpose=PRIVATE_NOTE)
    with pytest.raises(UnknownUpload, match="already used"):
        claim_uploads(user, [grant["id"]], purpose=PRIVATE_NOTE)
    release_uploads([claimed])
    assert claim_uploads(user, [grant["id"]], purpose=PRIVATE_NOTE)


def test_a_malformed_upload_id_is_an_unknown_upload(user):
    with pytest.raises(UnknownUpload, match="not an upload id"):
        attach(user=user, upload_ids=["1.5"])


@pytest.mark.s3
def test_a_store_outage_during_finalize_keeps_the_upload_for_a_retry(user, s3, settings, tmp_path):
    data = image_bytes()
    grant = issue(user, purpose=PRIVATE_NOTE, size=len(data)).json()
    assert send(grant, data)[0] == 204
    working = settings.STORAGES
    settings.STORAGES = storages_for(
        s3.s3_settings(endpoint_url=f"http://127.0.0.1:{free_port()}"), tmp_path
    )
    with pytest.raises(StorageUnavailable):
        attach(user=user, upload_ids=[grant["id"]])
    settings.STORAGES = working
    assert len(attach(user=user, upload_ids=[grant["id"]])) == 1


@pytest.mark.s3
def test_public_purposes_get_renditions(staff, s3, settings):
    settings.MEDIA_RENDITION_WIDTHS = [100, 200, 5000]
    [attachment] = attach(
        user=staff, purpose=BANNER, files=[io.BytesIO(image_bytes("JPEG", size=(400, 300)))]
    )
    renditions = attachment.file.renditions.all()
    assert [(r.width, r.height, r.state) for r in renditions] == [
        (100, 75, "pending"),
        (200, 150, "pending"),  # never wider than the original
    ]
    assert s3.keys("media/banners/") == [f"media/{attachment.file.key}"]
    drain()
    assert [r.state for r in renditions.all()] == ["ready", "ready"]
    assert sorted(s3.keys("media/banners/")) == sorted(
        [f"media/{attachment.file.key}"] + [f"media/{r.key}" for r in renditions.all()]
    )
