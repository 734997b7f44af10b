"""Every store we name, configured only as our docs say, passes the same core flows.

Each store runs behind its emulator (tests/support/store_emulator.py): the real Ceph
gateway, with what that provider refuses refused as it answers. The browser's direct
upload runs per store in tests/e2e/test_providers_browser.py. docs/PROVIDERS.md is
the matrix these tests fill.
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from core.models import Order, Product
from media_store.models import Rendition, StoredFile
from media_store.storage.providers import PROVIDERS
from tests.support.catalog import post_product_with_image
from tests.support.clients import client_for
from tests.support.direct import issue, send
from tests.support.http import fetch
from tests.support.images import image_bytes, upload
from tests.support.providers import EMULATED, emulated_store
from tests.support.s3 import storages_for
from tests.support.tasks import drain

pytestmark = [pytest.mark.s3, pytest.mark.django_db]

ORIGIN = "https://shop.example.com"


@pytest.fixture(params=EMULATED)
def store(request, s3_server, settings, tmp_path):
    with emulated_store(s3_server, request.param) as store:
        settings.USE_S3 = True
        settings.AWS_STORAGE_BUCKET_NAME = store.bucket
        settings.CORS_ALLOWED_ORIGINS = [ORIGIN]
        settings.STORAGES = storages_for(store.s3_settings(), tmp_path)
        yield store


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def set_up(store) -> str:
    """``configure_bucket``, then the console steps it prints (as a user following it)."""
    out = run("configure_bucket")
    store.do_console_steps([ORIGIN])
    return out


def test_bucket_setup_does_what_the_api_allows_and_lists_the_rest(store):
    provider = PROVIDERS[store.profile]
    out = run("configure_bucket")
    assert "Bucket configuration applied." in out
    client = store.server.client()
    for bucket in store.buckets:
        cors = client.get_bucket_cors(Bucket=bucket)["CORSRules"] if provider.cors_api else []
        assert bool(cors) == provider.cors_api
        if cors:
            assert "PUT" in cors[0]["AllowedMethods"] and cors[0]["AllowedOrigins"] == [ORIGIN]
        rules = (
            client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
            if (provider.lifecycle_api)
            else []
        )
        assert bool(rules) == provider.lifecycle_api
    policy = (
        json.dumps(client.get_bucket_policy(Bucket=store.bucket))
        if (provider.bucket_policy)
        else ""
    )
    assert ("media/*" in policy) == provider.bucket_policy
    for step in (provider.console_public, provider.console_cors, provider.console_lifecycle):
        if step and not (step is provider.console_public and provider.bucket_policy):
            assert step in out  # what the API cannot do is printed as steps


def test_storage_check_passes(store):
    set_up(store)
    out = run("storage_check")
    assert "All storage checks passed." in out, out
    assert f"AWS_S3_PROVIDER={store.profile}" in out
    assert f"direct upload by {PROVIDERS[store.profile].direct_upload.upper()}" in out
    assert store.all_keys() == []  # its probe objects are gone


def test_product_upload_renditions_and_delete(store, staff):
    set_up(store)
    image = post_product_with_image(staff).json()["image"]
    assert fetch(image["url"]).status == 200  # public, anonymously
    assert drain() >= 1
    ready = Rendition.objects.filter(state=Rendition.State.READY)
    assert ready.count() == 2  # 320 and 640
    assert all(fetch(r.url()).status == 200 for r in ready)
    product = Product.objects.get()
    assert client_for(staff).delete(f"/api/core/products/{product.pk}/").status_code == 204
    drain()
    assert store.all_keys() == []


def test_order_images_are_private_behind_signed_urls(store, user, product):
    set_up(store)
    response = client_for(user).post(
        "/api/core/orders/",
        {
            "lines": json.dumps([{"product": product.pk, "quantity": 1}]),
            "images": [upload("a.jpg"), upload("b.png", image_bytes("PNG"), "image/png")],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    for item in response.json()["images"]:
        signed = item["image"]["url"]
        assert fetch(signed).status == 200
        assert fetch(signed.split("?")[0]).status in (401, 403)
    assert store.keys(store.private, "private/orders/")


def test_direct_upload_end_to_end_through_the_api(
    store, user, product, django_capture_on_commit_callbacks
):
    set_up(store)
    provider = PROVIDERS[store.profile]
    data = image_bytes("PNG", size=(120, 80))
    grant = issue(user, purpose="order", size=len(data), content_type="image/png").json()
    assert grant["method"] == provider.direct_upload.upper()
    status, answer = send(grant, data)
    assert status in (200, 201, 204), answer
    if grant["method"] == "PUT" and provider.conditional_writes:
        assert send(grant, data)[0] == 412  # a PUT grant writes once
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(user).post(
            "/api/core/orders/",
            {"lines": [{"product": product.pk, "quantity": 1}], "uploads": [grant["id"]]},
            format="json",
        )
    assert response.status_code == 201, response.content
    assert Order.objects.get().images.get().file.width == 120
    assert store.keys(store.private, "private/uploads/") == []


def test_media_push_copies_local_media_into_the_right_buckets(store, tmp_path):
    public, private = tmp_path / "old-media", tmp_path / "old-private"
    (public / "products").mkdir(parents=True)
    (private / "orders").mkdir(parents=True)
    (public / "products" / "a.jpg").write_bytes(image_bytes("JPEG"))
    (private / "orders" / "c.png").write_bytes(image_bytes("PNG"))
    args = ("media_push", "--public-dir", str(public), "--private-dir", str(private))
    assert "2 uploaded" in run(*args)
    assert store.keys(store.bucket, "media/") == ["media/products/a.jpg"]
    assert store.keys(store.private, "private/") == ["private/orders/c.png"]
    assert "2 already in the bucket" in run(*args)
    assert StoredFile.objects.count() == 0  # rows are not media_push's business


@pytest.mark.parametrize(
    "override",
    [
        {"x-amz-acl": "public-read"},
        {"Cache-Control": "public, max-age=31536000"},
        {"Content-Disposition": "inline"},
    ],
    ids=["acl", "cache-control", "disposition"],
)
def test_a_put_grant_cannot_make_its_object_public_or_served_otherwise(
    store, user, product, override
):
    if PROVIDERS[store.profile].direct_upload != "put":
        pytest.skip("this store's grants are POST policies (checked field by field)")
    data = image_bytes("PNG", size=(40, 30))
    grant = issue(user, purpose="order", size=len(data), content_type="image/png").json()
    assert send(grant, data, **override)[0] == 403  # not what was signed
    assert store.keys(store.private, "private/uploads/") == []
    assert send(grant, data)[0] in (200, 201)  # as granted
    [key] = store.keys(store.private, "private/uploads/")
    head = store.server.client().head_object(Bucket=store.private, Key=key)
    assert head["CacheControl"] == "private, no-store"
    assert head["ContentDisposition"] == "attachment"
    public_url = f"{store.server.endpoint_url}/{store.private}/{key}"
    assert fetch(public_url).status == 403


def test_an_unfinished_multipart_upload_is_aborted_by_the_late_clean_up(store):
    """What a large write cut off by an outage leaves: the clean-up lists and aborts it
    through each store's API (tests/media_store/uploads/test_staging.py cuts it for real)."""
    from media_store.storage.objects import abort_unfinished_uploads
    from media_store.tasks import discard_failed_write

    set_up(store)
    storage = StoredFile(visibility="public", key="products/cut.jpg").storage
    client = storage.connection.meta.client
    full_key = f"{storage.location}/products/cut.jpg"
    client.create_multipart_upload(Bucket=store.bucket, Key=full_key)
    assert [u["Key"] for u in client.list_multipart_uploads(Bucket=store.bucket)["Uploads"]] == [
        full_key
    ]
    discard_failed_write.call("public", "products/cut.jpg")
    assert not client.list_multipart_uploads(Bucket=store.bucket).get("Uploads")
    assert abort_unfinished_uploads("public", "products/cut.jpg")  # nothing left: still fine
