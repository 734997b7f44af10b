"""Idempotency-Key on order and product creation: one result per key, however often it is sent."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from core.idempotency import CLAIM_TIMEOUT, prune_idempotency_records
from core.models import IdempotencyRecord, Order, Product
from media_store.models import StoredFile
from tests.support.clients import client_for
from tests.support.concurrency import at_once, needs_concurrent_writers
from tests.support.images import image_bytes, upload
from tests.support.multipart import encode_multipart
from tests.support.throttles import limit_uploads

pytestmark = pytest.mark.django_db

ORDERS = "/api/core/orders/"


def order_body(product, quantity=1, image=None):
    lines = json.dumps([{"product": product.pk, "quantity": quantity}])
    files = [("images", "a.jpg", image or image_bytes(), "image/jpeg")]
    return encode_multipart({"lines": lines, "note": "hi"}, files)  # a fresh boundary each time


def post(client, body_and_type, key="key-1"):
    body, content_type = body_and_type
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(ORDERS, body, content_type=content_type, **headers)


def test_the_same_key_twice_creates_one_order_and_replays_it(user, product):
    client = client_for(user)
    first = post(client, order_body(product))
    again = post(client, order_body(product))  # same request, another multipart boundary
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert (
        again.json()["images"][0]["image"]["sha256"] == first.json()["images"][0]["image"]["sha256"]
    )
    assert Order.objects.count() == 1 and StoredFile.objects.count() == 1


def test_the_same_key_with_another_body_is_a_422(user, product):
    client = client_for(user)
    assert post(client, order_body(product)).status_code == 201
    other_quantity = post(client, order_body(product, quantity=2))
    other_image = post(client, order_body(product, image=image_bytes(color="blue")))
    for response in (other_quantity, other_image):
        assert response.status_code == 422
        assert response.json()["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1


def test_keys_belong_to_one_user(user, other_user, product):
    assert post(client_for(user), order_body(product)).status_code == 201
    theirs = post(client_for(other_user), order_body(product))
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs
    assert Order.objects.count() == 2


def test_without_a_key_every_request_creates(user, product):
    client = client_for(user)
    for _ in range(2):
        assert post(client, order_body(product), key=None).status_code == 201
    assert Order.objects.count() == 2 and not IdempotencyRecord.objects.exists()


def test_a_failed_request_frees_its_key_for_a_retry(user, product):
    client = client_for(user)
    refused = post(client, order_body(product, image=b"<html>not an image</html>"))
    assert refused.status_code == 415 and not IdempotencyRecord.objects.exists()
    assert post(client, order_body(product)).status_code == 201


def test_a_key_in_progress_gets_a_409_and_a_stale_claim_is_taken_over(user, product):
    client = client_for(user)
    body = order_body(product)
    assert post(client, body, key="probe").status_code == 201  # learn the fingerprint
    record = IdempotencyRecord.objects.get()
    IdempotencyRecord.objects.create(
        user=user,
        key="busy",
        scope=record.scope,
        fingerprint=record.fingerprint,
        claimed_at=timezone.now(),
    )
    busy = post(client, body, key="busy")
    assert busy.status_code == 409 and busy.json()["code"] == "idempotency_in_progress"
    assert busy["Retry-After"] == "2"
    IdempotencyRecord.objects.filter(key="busy").update(
        claimed_at=timezone.now() - CLAIM_TIMEOUT - timedelta(seconds=1)
    )
    taken_over = post(client, body, key="busy")  # the first request died: run it now
    assert taken_over.status_code == 201 and "Idempotent-Replayed" not in taken_over
    assert Order.objects.count() == 2


def test_a_replay_is_not_throttled_and_creates_nothing(user, product, monkeypatch):
    """A client that lost the answer gets it again even over its quota."""
    limit_uploads(monkeypatch, "1/hour")
    client = client_for(user)
    first = post(client, order_body(product), key="k1")
    assert first.status_code == 201
    assert post(client, order_body(product, quantity=2), key="k2").status_code == 429
    for _ in range(3):
        replay = post(client, order_body(product), key="k1")
        assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
        assert replay.json()["id"] == first.json()["id"]
    IdempotencyRecord.objects.create(
        user=user, key="busy", scope="order.create", fingerprint="-", claimed_at=timezone.now()
    )
    assert post(client, order_body(product), key="busy").status_code == 429  # no result yet
    IdempotencyRecord.objects.filter(key="k1").update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    assert post(client, order_body(product), key="k1").status_code == 429  # expired: new work
    assert Order.objects.count() == 1


def test_keys_expire_after_the_window_and_are_pruned(user, product, settings):
    client = client_for(user)
    first = post(client, order_body(product)).json()["id"]
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert prune_idempotency_records() == 1
    assert post(client, order_body(product)).json()["id"] != first
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    again = post(client, order_body(product))  # expired but not yet pruned: a new request
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert Order.objects.count() == 3


def test_a_replay_of_a_deleted_order_is_a_409(user, staff, product):
    client = client_for(user)
    order_id = post(client, order_body(product)).json()["id"]
    client_for(staff).delete(f"{ORDERS}{order_id}/")
    gone = post(client, order_body(product))
    assert gone.status_code == 409 and gone.json()["code"] == "idempotency_result_gone"


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\tinside", "ключ"])
def test_a_malformed_key_is_a_400(user, product, key):
    response = post(client_for(user), order_body(product), key=key)
    assert response.status_code == 400 and response.json()["code"] == "idempotency_key_invalid"
    assert Order.objects.count() == 0


def test_product_creation_is_idempotent_too(staff):
    client = client_for(staff)
    data = {"name": "Poster", "price": "5.00", "image": None}
    responses = []
    for _ in range(2):
        data["image"] = upload("p.png", image_bytes("PNG"))
        responses.append(
            client.post(
                "/api/core/products/", data, format="multipart", HTTP_IDEMPOTENCY_KEY="prod-1"
            )
        )
    assert [r.status_code for r in responses] == [201, 201]
    assert responses[0].json()["id"] == responses[1].json()["id"]
    assert Product.objects.count() == 1 and StoredFile.objects.count() == 1
    other = client.post(
        "/api/core/products/",
        {"name": "Other", "price": "5.00"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="prod-1",
    )
    assert other.status_code == 422


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_create_one_order(user, product):
    needs_concurrent_writers()
    body = order_body(product)

    def send():
        client = APIClient()
        client.force_authenticate(user)
        return post(client, body, key="double-click")

    responses = at_once([send] * 6)
    ids = {r.json()["id"] for r in responses if r.status_code == 201}
    others = [r for r in responses if r.status_code != 201]
    assert Order.objects.count() == 1 and len(ids) == 1
    assert all(r.json()["code"] == "idempotency_in_progress" for r in others)
    assert post(client_for(user), body, key="double-click").json()["id"] in ids
