"""Each refusal the emulators make is met by our handling, and without it a test fails.

For every rule of tests/support/store_emulator.py: take away the handling that avoids
it (a setting the provider profile sets, or the profile itself), and the store's
refusal reaches the user as a permanent misconfiguration that names the setting to
change (never a 503 "try again in a minute"), while ``storage_check`` prints the same
fix. The flows in test_providers.py show each store working with the handling in place.
"""

from __future__ import annotations

import logging
from io import StringIO

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from django.core.management import call_command
from django.core.management.base import CommandError

from media_store.storage.config import S3Settings
from media_store.storage.providers import PROVIDERS, detect, region_from_endpoint
from tests.support.clients import client_for
from tests.support.images import image_bytes, upload
from tests.support.providers import emulated_store
from tests.support.s3 import storages_for

pytestmark = [pytest.mark.s3, pytest.mark.django_db]


@pytest.fixture
def emulate(s3_server, settings, tmp_path):
    """``emulate(profile, **overrides)``: the app on that store, with settings overridden."""
    stores = []

    def start(profile: str, **overrides):
        store = emulated_store(s3_server, profile)
        stores.append(store)
        emulated = store.__enter__()
        settings.USE_S3 = True
        settings.AWS_STORAGE_BUCKET_NAME = emulated.bucket
        settings.CORS_ALLOWED_ORIGINS = ["https://shop.example.com"]
        settings.STORAGES = storages_for(emulated.s3_settings(**overrides), tmp_path)
        return emulated

    yield start
    for store in stores:
        store.__exit__(None, None, None)


def add_product(staff):
    return client_for(staff).post(
        "/api/core/products/",
        {"name": "Mug", "price": "3.00", "image": upload("mug.jpg", image_bytes("JPEG"))},
        format="multipart",
    )


def storage_check() -> str:
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("storage_check", stdout=out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("profile", "override", "setting", "rule"),
    [
        ("r2", {"checksums": True}, "AWS_S3_CHECKSUMS=False", "r2_full_object_checksums"),
        ("b2", {"checksums": True}, "AWS_S3_CHECKSUMS=False", "b2_no_checksum_headers"),
        (
            "b2",
            {"conditional_writes": True},
            "AWS_S3_CONDITIONAL_WRITES=False",
            "b2_no_conditional_writes",
        ),
    ],
)
def test_a_refused_header_is_a_misconfiguration_that_names_its_setting(
    emulate, staff, caplog, profile, override, setting, rule
):
    store = emulate(profile, **override)
    with caplog.at_level(logging.ERROR):
        response = add_product(staff)
    assert response.status_code == 500, response.content  # not 503: waiting never fixes it
    body = response.json()
    assert body["code"] == "storage_misconfigured" and "Retry-After" not in response
    assert setting in caplog.text  # the first failing upload's log says what to change
    assert rule in [name for name, _ in store.emulator.refused]
    assert store.all_keys() == []
    out = storage_check()
    assert "FAIL public round trip" in out and setting in out


@pytest.mark.parametrize("profile", ["r2", "b2"])
def test_without_put_grants_direct_uploads_fail_and_storage_check_names_the_setting(
    emulate, profile
):
    store = emulate(profile, direct_upload="post")
    out = storage_check()
    assert "FAIL direct upload by POST" in out and "AWS_S3_DIRECT_UPLOAD=put" in out
    assert f"{profile}_no_post_object" in [name for name, _ in store.emulator.refused]


@pytest.mark.parametrize(
    ("profile", "rule"), [("r2", "r2_no_bucket_policy"), ("b2", "b2_no_bucket_policy")]
)
def test_a_store_without_policies_gets_console_steps_not_a_failure(emulate, profile, rule):
    """Set up as "generic" (whose profile tries the policy): the store refuses it, and the
    command still succeeds, printing the step to do by hand."""
    store = emulate(profile, provider="generic")
    out = StringIO()
    call_command("configure_bucket", stdout=out)
    assert "refused by the store" in out.getvalue() and "Do by hand" in out.getvalue()
    assert rule in [name for name, _ in store.emulator.refused]


def test_minio_cors_is_left_to_the_server_not_a_failure(emulate):
    store = emulate("minio", provider="generic")
    out = StringIO()
    call_command("configure_bucket", stdout=out)
    assert "Do by hand" in out.getvalue()
    assert "minio_no_bucket_cors" in [name for name, _ in store.emulator.refused]
    # With its own profile the check says where CORS lives instead of failing on it.
    store_minio = emulate("minio")
    call_command("configure_bucket", stdout=StringIO())
    store_minio.do_console_steps(["https://shop.example.com"])
    out = StringIO()
    call_command("storage_check", stdout=out)
    assert "WARN CORS" in out.getvalue() and "MINIO_API_CORS_ALLOW_ORIGIN" in out.getvalue()


def test_bucket_settings_carry_content_md5_where_crc32_is_refused(emulate):
    """S3 requires a checksum on PutBucketCors; botocore sends CRC32, which B2 and R2 refuse."""
    store = emulate("b2", checksums=True)  # as if our Content-MD5 handling were not there
    with pytest.raises(CommandError, match="AWS_S3_CHECKSUMS=False"):
        call_command("configure_bucket", stdout=StringIO())
    assert "b2_no_checksum_headers" in [name for name, _ in store.emulator.refused]
    emulate("b2")
    call_command("configure_bucket", stdout=StringIO())  # with it: accepted


def _client(store, **config):
    return boto3.client(
        "s3",
        endpoint_url=store.emulator.url,
        aws_access_key_id=store.server.access_key,
        aws_secret_access_key=store.server.secret_key,
        region_name="us-east-1",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, **config),
    )


def test_botocores_default_checksums_are_refused_by_r2_which_is_why_ours_are_off(emulate):
    store = emulate("r2")
    client = _client(store)  # botocore's defaults: a CRC32 checksum on every upload
    with pytest.raises(ClientError, match="NotImplemented"):
        client.put_object(Bucket=store.bucket, Key="media/x.bin", Body=b"x")
    ours = _client(store, request_checksum_calculation="when_required")
    ours.put_object(Bucket=store.bucket, Key="media/x.bin", Body=b"x")


def test_r2_refuses_unequal_parts_and_our_parts_are_equal(emulate, settings, tmp_path):
    store = emulate("r2")
    client = _client(store, request_checksum_calculation="when_required")
    upload_id = client.create_multipart_upload(Bucket=store.bucket, Key="media/odd.bin")["UploadId"]
    parts = []
    for number, size in ((1, 5 * 1024 * 1024), (2, 6 * 1024 * 1024), (3, 10)):
        answer = client.upload_part(
            Bucket=store.bucket,
            Key="media/odd.bin",
            UploadId=upload_id,
            PartNumber=number,
            Body=b"o" * size,
        )
        parts.append({"PartNumber": number, "ETag": answer["ETag"]})
    with pytest.raises(ClientError, match="InvalidPart"):
        client.complete_multipart_upload(
            Bucket=store.bucket,
            Key="media/odd.bin",
            UploadId=upload_id,
            MultipartUpload={"Parts": parts},
        )
    client.abort_multipart_upload(Bucket=store.bucket, Key="media/odd.bin", UploadId=upload_id)
    from django.core.files.base import ContentFile
    from django.core.files.storage import storages

    storages["default"].save("big.bin", ContentFile(b"b" * (11 * 1024 * 1024)))  # 5 + 5 + 1 MB
    assert "media/big.bin" in store.all_keys()


def test_aws_refuses_acls_and_we_never_send_them(emulate, settings, tmp_path, staff):
    store = emulate("aws")
    assert add_product(staff).status_code == 201  # no ACL header: accepted
    storages = storages_for(store.s3_settings(), tmp_path)
    storages["default"]["OPTIONS"]["default_acl"] = "public-read"  # what many guides set
    settings.STORAGES = storages
    response = add_product(staff)
    assert response.status_code == 500 and response.json()["code"] == "storage_misconfigured"
    assert "aws_no_acls" in [name for name, _ in store.emulator.refused]


@pytest.mark.parametrize(
    ("endpoint", "provider", "region"),
    [
        (None, "aws", "us-east-1"),
        ("https://s3.eu-west-1.amazonaws.com", "aws", "eu-west-1"),
        ("https://0123abcd.r2.cloudflarestorage.com", "r2", "auto"),
        ("https://s3.us-west-004.backblazeb2.com", "b2", "us-west-004"),
        ("https://fra1.digitaloceanspaces.com", "spaces", "fra1"),
        ("https://minio.example.com", "generic", "us-east-1"),
    ],
)
def test_the_store_is_found_from_the_endpoint_host(endpoint, provider, region):
    assert detect(endpoint).name == provider
    resolved = S3Settings(bucket_name="b", endpoint_url=endpoint).resolved()
    assert (resolved.provider, resolved.region_name) == (provider, region)
    profile = PROVIDERS[provider]
    assert resolved.checksums == profile.checksum_header
    assert resolved.conditional_writes == profile.conditional_writes
    assert resolved.direct_upload == profile.direct_upload
    assert region_from_endpoint(endpoint) in (None, region)
    overridden = S3Settings(
        bucket_name="b", endpoint_url=endpoint, checksums=not resolved.checksums
    )
    assert overridden.resolved().checksums != resolved.checksums  # a setting beats the profile
