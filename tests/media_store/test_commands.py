from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from media_store.models import StoredFile
from tests.media_store.testapp.models import Attachment
from tests.media_store.testapp.services import BANNER, attach
from tests.support.images import image_bytes, upload
from tests.support.s3 import free_port, storages_for

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.s3
def test_storage_check_passes_on_a_configured_bucket(s3, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://shop.example.com"]
    run("configure_bucket")
    out, _ = run("storage_check")
    assert out.count("ok   ") == 6 and "All storage checks passed." in out
    assert s3.keys() == []  # its probe objects are gone


@pytest.mark.s3
def test_storage_check_reports_each_failure_with_its_fix(s3, settings, s3_server):
    settings.CORS_ALLOWED_ORIGINS = ["https://shop.example.com"]
    s3_server.client().delete_bucket_policy(Bucket=s3.bucket)  # media/ no longer public
    out = StringIO()
    with pytest.raises(CommandError, match="2 storage check"):
        call_command("storage_check", stdout=out)
    text = out.getvalue()
    assert "FAIL public round trip" in text and "configure_bucket" in text
    assert "FAIL CORS" in text and "https://shop.example.com" in text
    assert "ok   private round trip" in text


@pytest.mark.s3
def test_storage_check_detects_a_public_private_prefix(s3, s3_server):
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:aws:s3:::{s3.bucket}/*"],
            }
        ],
    }
    s3_server.client().put_bucket_policy(Bucket=s3.bucket, Policy=json.dumps(policy))
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("storage_check", stdout=out)
    assert "private object readable without a signature" in out.getvalue()


@pytest.mark.s3
def test_storage_check_fails_when_the_store_is_down(s3, settings, tmp_path):
    settings.STORAGES = storages_for(
        s3.s3_settings(endpoint_url=f"http://127.0.0.1:{free_port()}"), tmp_path
    )
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("storage_check", stdout=out)
    assert "FAIL bucket reachable" in out.getvalue() and "fix:" in out.getvalue()


def test_storage_check_local_mode_says_so(local_media):
    out, _ = run("storage_check")
    assert "USE_S3 is off" in out


@pytest.mark.s3
def test_media_push_copies_local_media_idempotently(s3, staff, settings, tmp_path):
    public, private = tmp_path / "old-media", tmp_path / "old-private"
    (public / "products").mkdir(parents=True)
    (private / "orders").mkdir(parents=True)
    (public / "products" / "a.jpg").write_bytes(image_bytes("JPEG"))
    (public / "products" / "b.png").write_bytes(image_bytes("PNG"))
    (private / "orders" / "c.jpg").write_bytes(image_bytes("JPEG", color="blue"))
    args = ("media_push", "--public-dir", str(public), "--private-dir", str(private))

    out, err = run(*args, "--dry-run")
    assert "3 would upload" in out and s3.keys() == []
    assert "[" in err and "100%" in err  # progress bar

    out, _ = run(*args)
    assert "3 uploaded" in out
    assert sorted(s3.keys()) == [
        "media/products/a.jpg",
        "media/products/b.png",
        "private/orders/c.jpg",
    ]
    head = s3.server.client().head_object(Bucket=s3.bucket, Key="media/products/b.png")
    assert head["ContentType"] == "image/png" and "sha256" in head["Metadata"]

    (public / "products" / "d.jpg").write_bytes(image_bytes("JPEG", color="green"))
    out, _ = run(*args)  # resumable: only the new file moves
    assert "1 uploaded, 3 already in the bucket" in out

    (public / "products" / "a.jpg").write_bytes(image_bytes("JPEG", color="yellow"))
    with pytest.raises(CommandError):
        run(*args)  # a different local file never overwrites the bucket's copy
    body = (
        s3.server.client().get_object(Bucket=s3.bucket, Key="media/products/a.jpg")["Body"].read()
    )
    assert body == image_bytes("JPEG")


@pytest.mark.s3
def test_media_orphans_finds_and_deletes(s3, staff):
    attach(user=staff, purpose=BANNER, files=[upload()])
    storage_key = StoredFile.objects.get().key
    s3.server.client().put_object(Bucket=s3.bucket, Key="media/products/stray.jpg", Body=b"x")
    ghost = StoredFile.objects.create(
        visibility="private",
        key="orders/ghost.jpg",
        content_type="image/jpeg",
        size=1,
        width=1,
        height=1,
        sha256="0" * 64,
    )

    out, _ = run("media_orphans", "--min-age-minutes", "0")
    assert "orphan object  public  products/stray.jpg" in out
    assert "missing object private orders/ghost.jpg" in out
    assert storage_key not in out
    with pytest.raises(CommandError):
        run("media_orphans", "--min-age-minutes", "0", "--check")

    fresh, _ = run("media_orphans")  # young objects may be uploads in flight
    assert "0 orphan object(s)" in fresh

    ghost.delete()
    out, _ = run("media_orphans", "--min-age-minutes", "0", "--delete", "--check")
    assert "1 orphan(s) deleted" in out
    assert s3.keys() == [f"media/{storage_key}"]
    assert Attachment.objects.get().file.key == storage_key


def test_healthz_and_readyz(client, local_media):
    from media_store.storage.probes import storage_probe

    storage_probe.reset()
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ok"}


@pytest.mark.s3
def test_readyz_reports_a_down_store(client, s3, settings, tmp_path):
    from media_store.storage.probes import storage_probe

    storage_probe.reset()
    assert client.get("/readyz").status_code == 200
    settings.STORAGES = storages_for(
        s3.s3_settings(endpoint_url=f"http://127.0.0.1:{free_port()}"), tmp_path
    )
    assert client.get("/readyz").status_code == 200  # cached for a few seconds
    storage_probe.reset()
    down = client.get("/readyz")
    assert down.status_code == 503 and down.json() == {"status": "unavailable"}
    assert client.get("/healthz").status_code == 200
    storage_probe.reset()


@pytest.mark.s3
def test_separate_private_bucket_for_whole_bucket_public_stores(
    s3, s3_server, settings, tmp_path, user
):
    private_bucket = s3_server.new_bucket()
    try:
        settings.CORS_ALLOWED_ORIGINS = ["https://shop.example.com"]
        settings.STORAGES = storages_for(
            s3.s3_settings(private_bucket_name=private_bucket), tmp_path
        )
        out, _ = run("configure_bucket")
        assert private_bucket in out
        out, _ = run("storage_check")
        assert "All storage checks passed." in out
        [attachment] = attach(user=user, files=[upload()])
        assert f"/{private_bucket}/private/notes/" in attachment.file.url()
        assert s3_server.keys(private_bucket, "private/notes/") and s3.keys("private/") == []
    finally:
        s3_server.drop_bucket(private_bucket)


@pytest.mark.s3
def test_storage_check_reports_a_missing_private_bucket(s3, settings, tmp_path):
    settings.STORAGES = storages_for(
        s3.s3_settings(private_bucket_name="no-such-private-bucket"), tmp_path
    )
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("storage_check", stdout=out)
    assert "FAIL bucket reachable: HEAD no-such-private-bucket answered 404" in out.getvalue()


@pytest.mark.s3
@pytest.mark.parametrize("whole_bucket", [True, False], ids=["whole-bucket", "public-paths"])
def test_storage_check_warns_when_the_cdn_serves_private_objects(
    s3, s3_server, settings, tmp_path, whole_bucket
):
    from tests.support.cdn import Cdn

    run("configure_bucket")
    cdn = Cdn(s3_server.client(), s3.bucket, None if whole_bucket else ["media/", "static/"])
    try:
        settings.STORAGES = storages_for(s3.s3_settings(custom_domain=cdn.domain), tmp_path)
        out, _ = run("storage_check")  # a warning, not a failure
    finally:
        cdn.close()
    assert "All storage checks passed." in out
    if whole_bucket:
        assert "WARN CDN does not serve private/" in out and "1 warning(s)" in out
        assert "restrict the CDN" in out and "media/ and static/" in out
    else:
        assert "ok   CDN does not serve private/" in out and "WARN" not in out
    assert s3.keys() == []
