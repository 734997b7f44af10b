from __future__ import annotations

import hashlib
import json
import threading
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from django.db import connection

from core.errors import InvalidOrder
from core.models import Order, OrderImage, Product
from core.services import LineRequest, order_create
from media_store.models import StoredFile
from tests.support.clients import client_for
from tests.support.concurrency import needs_concurrent_writers
from tests.support.http import fetch
from tests.support.images import image_bytes, upload
from tests.support.s3 import free_port, storages_for
from tests.support.tasks import drain
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.django_db


def post_order(user, product, images=None, **extra):
    data = {
        "lines": json.dumps([{"product": product.pk, "quantity": 2}]),
        "note": "Print these please",
        "images": images
        if images is not None
        else [upload("a.jpg"), upload("b.png", image_bytes("PNG"))],
    }
    data.update(extra)
    return client_for(user).post("/api/core/orders/", data, format="multipart")


def tamper(url: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    signature = query["X-Amz-Signature"]
    query["X-Amz-Signature"] = ("0" if signature[0] != "0" else "1") + signature[1:]
    return urlunsplit(parts._replace(query=urlencode(query)))


@pytest.mark.s3
def test_order_images_are_private_and_only_readable_with_a_valid_signature(user, product, s3):
    response = post_order(user, product)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["owner"] == "alice" and body["status"] == "received"
    assert body["total"] == "19.00"
    assert [line["quantity"] for line in body["lines"]] == [2]
    images = [item["image"] for item in body["images"]]
    assert [image["content_type"] for image in images] == ["image/jpeg", "image/png"]

    keys = s3.keys()
    assert len(keys) == 2 and all(key.startswith("private/orders/") for key in keys)
    for image in images:
        url = image["url"]
        assert "X-Amz-Signature=" in url and "X-Amz-Expires=600" in url
        signed = fetch(url)
        assert signed.status == 200
        assert hashlib.sha256(signed.body).hexdigest() in {
            f.sha256 for f in StoredFile.objects.all()
        }
        assert signed.headers["Cache-Control"] == "private, no-store"
        assert fetch(url.split("?")[0]).status == 403  # anonymous, unsigned
        assert fetch(tamper(url)).status == 403


@pytest.mark.s3
def test_expired_signature_is_rejected(user, product, s3, settings, tmp_path):
    settings.STORAGES = storages_for(s3.s3_settings(signed_url_expire=1), tmp_path)
    response = post_order(user, product, images=[upload()])
    url = response.json()["images"][0]["image"]["url"]
    time.sleep(2.5)
    assert fetch(url).status == 403


def test_customers_see_only_their_own_orders(user, other_user, staff, product):
    order_id = post_order(user, product).json()["id"]
    assert client_for(other_user).get(f"/api/core/orders/{order_id}/").status_code == 404
    assert client_for(other_user).get("/api/core/orders/").json()["count"] == 0
    assert client_for(user).get("/api/core/orders/").json()["count"] == 1
    assert client_for(staff).get(f"/api/core/orders/{order_id}/").status_code == 200
    assert client_for().get("/api/core/orders/").status_code in (401, 403)


def test_only_staff_change_status(user, staff, product):
    order_id = post_order(user, product).json()["id"]
    url = f"/api/core/orders/{order_id}/"
    assert client_for(user).patch(url, {"status": "shipped"}, format="json").status_code == 403
    response = client_for(staff).patch(url, {"status": "shipped"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "shipped"
    bad = client_for(staff).patch(url, {"status": "lost"}, format="json")
    assert bad.status_code == 400 and "status" in bad.json()


@pytest.mark.parametrize(
    ("body", "encoding"),
    [({}, "json"), ({"note": "x"}, "json"), ({}, "multipart")],
    ids=["empty-json", "other-field", "empty-form"],
)
def test_a_status_change_without_a_status_is_a_400(user, staff, product, body, encoding):
    order_id = post_order(user, product).json()["id"]
    response = client_for(staff).patch(f"/api/core/orders/{order_id}/", body, format=encoding)
    assert response.status_code == 400
    assert response.json() == {"status": ["This field is required."]}
    assert Order.objects.get(pk=order_id).status == "received"


def test_local_mode_private_urls_are_signed_and_expire(user, product, settings):
    response = post_order(user, product, images=[upload()])
    url = response.json()["images"][0]["image"]["url"]
    assert url.startswith("http://testserver/media-private/private/")
    client = client_for()
    download = client.get(url)
    assert download.status_code == 200
    assert download["Cache-Control"] == "private, no-store"
    assert (
        b"".join(download.streaming_content)
        == StoredFile.objects.get().storage.open(StoredFile.objects.get().key).read()
    )
    assert client.get(url[:-3] + "abc").status_code == 403
    settings.MEDIA_SIGNED_URL_EXPIRE = 0
    time.sleep(1.1)
    assert client.get(url).status_code == 403


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"lines": "not json"}, "lines"),
        ({"lines": "[]"}, "lines"),
        ({"lines": json.dumps([{"product": 999999, "quantity": 1}])}, "lines"),
        ({"lines": json.dumps([{"product": "PRODUCT", "quantity": 0}])}, "lines"),
        ({"images": []}, "images"),
    ],
)
def test_invalid_orders_get_field_errors_and_store_nothing(user, product, data, field):
    if "PRODUCT" in data.get("lines", ""):
        data["lines"] = data["lines"].replace('"PRODUCT"', str(product.pk))
    response = post_order(user, product, **data)
    assert response.status_code == 400
    body = response.json()  # a shape error keys the field; a broken order rule names it
    assert field in body or (body["code"] == "invalid_order" and body["field"] == field)
    assert Order.objects.count() == 0 and StoredFile.objects.count() == 0


def test_too_many_images_is_refused(user, product, settings):
    settings.ORDER_MAX_IMAGES = 2
    response = post_order(user, product, images=[upload(), upload(), upload()])
    assert response.status_code == 400
    assert "At most 2 images" in json.dumps(response.json())


def test_order_photos_are_kept_at_the_orders_own_longest_side(user, product, settings):
    settings.ORDER_IMAGE_MAX_DIMENSION = 300
    big = upload("big.png", image_bytes("PNG", size=(800, 600)), "image/png")
    response = post_order(user, product, images=[big])
    assert response.status_code == 201, response.content
    stored = StoredFile.objects.get()
    assert max(stored.width, stored.height) <= 300  # scaled by a whole factor: 800 / 3
    assert (stored.width, stored.height) == (267, 200)


def test_a_refused_file_is_named_among_several(user, product):
    photo = image_bytes("JPEG", size=(600, 400))
    cut = upload("cut-short.jpg", photo[: len(photo) * 2 // 3], "image/jpeg")
    response = post_order(user, product, images=[upload(), cut])
    assert response.status_code == 400, response.content
    assert response.json()["detail"].startswith("cut-short.jpg: "), response.json()
    assert Order.objects.count() == 0 and StoredFile.objects.count() == 0


@pytest.mark.s3
def test_one_bad_image_stores_nothing(user, product, s3):
    response = post_order(user, product, images=[upload(), upload("x.jpg", b"%PDF-1.7 fake")])
    assert response.status_code == 415
    assert response.json()["detail"].startswith("x.jpg: ") and "PDF" in response.json()["detail"]
    assert Order.objects.count() == 0 and StoredFile.objects.count() == 0
    assert s3.keys() == []


@pytest.mark.s3
def test_store_down_gives_503_json_and_writes_no_row(user, product, s3, settings, tmp_path):
    settings.STORAGES = storages_for(
        s3.s3_settings(endpoint_url=f"http://127.0.0.1:{free_port()}"), tmp_path
    )
    started = time.monotonic()
    response = post_order(user, product)
    assert time.monotonic() - started < 15
    assert response.status_code == 503
    assert response["Retry-After"]
    assert "Try again" in response.json()["detail"]
    assert Order.objects.count() == 0 and StoredFile.objects.count() == 0
    assert client_for().get("/api/core/products/").status_code == 200


@pytest.mark.s3
def test_database_failure_after_upload_removes_the_objects(user, product, s3):
    from django.db import IntegrityError

    duplicate_lines = [LineRequest(product, 1), LineRequest(product, 2)]  # violates a constraint
    with pytest.raises(IntegrityError):
        order_create(user=user, lines=duplicate_lines, images=[upload(), upload()])
    assert s3.keys() == []
    assert (
        Order.objects.count() == 0
        and StoredFile.objects.count() == 0
        and OrderImage.objects.count() == 0
    )


@pytest.mark.s3
def test_deleting_an_order_deletes_its_objects_after_commit(user, staff, product, s3):
    order_id = post_order(user, product).json()["id"]
    assert len(s3.keys("private/")) == 2
    assert client_for(user).delete(f"/api/core/orders/{order_id}/").status_code == 403
    assert client_for(staff).delete(f"/api/core/orders/{order_id}/").status_code == 204
    assert StoredFile.objects.count() == 0 and len(s3.keys("private/")) == 2  # queued
    assert drain() == 2
    assert s3.keys() == []


@pytest.mark.parametrize("change", ["archived", "deleted"])
def test_a_product_withdrawn_after_the_lines_were_checked_is_refused_by_name(user, product, change):
    lines = [LineRequest(product, 1)]  # checked with the product as it was then
    withdrawn = Product.objects.filter(pk=product.pk)
    withdrawn.update(archived=True) if change == "archived" else withdrawn.delete()
    with pytest.raises(InvalidOrder, match=f"{product.name} is no longer sold"):
        order_create(user=user, lines=lines, images=[upload()])
    assert not Order.objects.exists() and not StoredFile.objects.exists()


@pytest.mark.s3
@pytest.mark.django_db(transaction=True)
def test_a_product_archived_while_an_order_uploads_waits_for_the_order(
    user, product, s3, settings, tmp_path
):
    """The order's transaction lasts as long as its upload: archiving one of its
    products meanwhile waits until the order has committed, so no order commits for a
    product archived after its lines were checked."""
    needs_concurrent_writers()
    proxy = TcpProxy(s3.server.port)
    proxy.set_mode("delay", 0.5)  # the upload takes a second or so
    settings.STORAGES = storages_for(s3.s3_settings(endpoint_url=proxy.url), tmp_path)
    statuses: list[int] = []

    def place_order() -> None:
        statuses.append(post_order(user, product).status_code)
        connection.close()

    ordering = threading.Thread(target=place_order)
    try:
        ordering.start()
        deadline = time.monotonic() + 20
        while not _product_rows_held() and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        Product.objects.filter(pk=product.pk).update(archived=True)
        waited = time.monotonic() - started
        ordering.join()
    finally:
        proxy.close()
    assert statuses == [201]
    assert waited > 0.2  # until the order committed
    assert Order.objects.get().lines.get().product_id == product.pk


def _product_rows_held() -> bool:
    """Another connection holds product rows locked (an order being placed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = 'core_product' AND l.mode = 'RowShareLock' "
            "AND l.pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0
