from __future__ import annotations

import hashlib
import threading

import pytest
from django.core.files.storage import storages

from core import services
from core.models import Product
from media_store.models import StoredFile
from tests.support import bombs
from tests.support.catalog import make_catalog
from tests.support.clients import client_for
from tests.support.concurrency import at_once, needs_concurrent_writers
from tests.support.http import fetch
from tests.support.images import image_bytes, upload
from tests.support.s3 import free_port, storages_for
from tests.support.tasks import drain

pytestmark = pytest.mark.django_db


def create_product(staff, name="Poster", **files):
    data = {"name": name, "price": "12.00", "description": "A poster"}
    data.update(files)
    return client_for(staff).post("/api/core/products/", data, format="multipart")


@pytest.mark.s3
def test_upload_stores_object_with_sniffed_type_and_url_returns_same_bytes(staff, s3):
    png = image_bytes("PNG")
    # Named and declared as JPEG: the stored type must come from the bytes.
    response = create_product(staff, image=upload("photo.jpg", png, "image/jpeg"))
    assert response.status_code == 201, response.content
    image = response.json()["image"]
    assert image["content_type"] == "image/png"
    assert image["url"].startswith(f"{s3.server.endpoint_url}/{s3.bucket}/media/products/")
    assert image["url"].endswith(".png")
    assert (image["width"], image["height"]) == (64, 48)

    [key] = s3.keys("media/")
    head = s3.server.client().head_object(Bucket=s3.bucket, Key=key)
    assert head["ContentType"] == "image/png"
    assert "immutable" in head["CacheControl"]

    fetched = fetch(image["url"])  # anonymous: public product image
    assert fetched.status == 200
    stored = StoredFile.objects.get()
    assert hashlib.sha256(fetched.body).hexdigest() == stored.sha256
    assert len(fetched.body) == stored.size == image["size"]
    assert stored.original_name == "photo.jpg"
    assert stored.key == key.removeprefix("media/")


@pytest.mark.s3
def test_two_uploads_with_the_same_name_never_overwrite(staff, s3):
    first = create_product(staff, "A", image=upload("photo.jpg", image_bytes(color="red")))
    second = create_product(staff, "B", image=upload("photo.jpg", image_bytes(color="blue")))
    assert first.status_code == second.status_code == 201
    url_a, url_b = first.json()["image"]["url"], second.json()["image"]["url"]
    assert url_a != url_b
    assert len(s3.keys("media/products/")) == 2
    assert fetch(url_a).body != fetch(url_b).body


@pytest.mark.s3
def test_the_bucket_refuses_to_overwrite_an_existing_key(s3):
    from django.core.files.base import ContentFile

    storage = storages["default"]
    storage.save("products/fixed.jpg", ContentFile(b"first"))
    with pytest.raises(FileExistsError):
        storage.save("products/fixed.jpg", ContentFile(b"second"))
    body = s3.server.client().get_object(Bucket=s3.bucket, Key="media/products/fixed.jpg")["Body"]
    assert body.read() == b"first"


@pytest.mark.s3
def test_product_list_of_100_makes_no_s3_request(
    staff, s3, settings, tmp_path, django_assert_max_num_queries
):
    make_catalog(100, rendition_widths=[320, 640])
    # Point the storage at a closed port: any S3 request would now fail the listing.
    settings.STORAGES = storages_for(
        s3.s3_settings(endpoint_url=f"http://127.0.0.1:{free_port()}"), tmp_path
    )
    with django_assert_max_num_queries(3):  # count, products, renditions
        response = client_for().get("/api/core/products/?page_size=100")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 100 and len(body["results"]) == 100
    assert all(item["image"]["url"].startswith("http://127.0.0.1:") for item in body["results"])


def test_local_mode_serves_full_urls_from_local_disk(staff, local_media):
    response = create_product(staff, image=upload())
    assert response.status_code == 201, response.content
    url = response.json()["image"]["url"]
    assert url.startswith("http://testserver/media/products/") and url.endswith(".jpg")
    key = StoredFile.objects.get().key
    assert (local_media / "media" / key).is_file()


def test_only_staff_may_write_products(user, product):
    assert create_product(user).status_code == 403
    assert client_for().post("/api/core/products/", {"name": "x", "price": "1"}).status_code in (
        401,
        403,
    )
    assert client_for(user).delete(f"/api/core/products/{product.pk}/").status_code == 403
    assert client_for().get(f"/api/core/products/{product.pk}/").status_code == 200


@pytest.mark.s3
def test_rejected_upload_leaves_no_row_and_no_object(staff, s3):
    response = create_product(
        staff, image=upload("cat.jpg", b"<html><script>alert(1)</script>", "image/jpeg")
    )
    assert response.status_code == 415
    assert "HTML" in response.json()["detail"]
    assert Product.objects.count() == 0 and StoredFile.objects.count() == 0
    assert s3.keys() == []


@pytest.mark.s3
def test_replacing_and_deleting_images_removes_old_objects_after_commit(staff, s3):
    created = create_product(staff, image=upload())
    pk = created.json()["id"]
    [old_key] = s3.keys("media/")
    replaced = client_for(staff).patch(
        f"/api/core/products/{pk}/",
        {"image": upload("new.png", image_bytes("PNG"))},
        format="multipart",
    )
    assert replaced.status_code == 200, replaced.content
    assert len(s3.keys("media/")) == 2  # the old object goes with a task queued on commit
    drain()
    [new_key] = s3.keys("media/")
    assert new_key != old_key and new_key.endswith(".png")
    assert client_for(staff).delete(f"/api/core/products/{pk}/").status_code == 204
    drain()
    assert s3.keys() == []
    assert StoredFile.objects.count() == 0


def test_staff_can_update_fields_without_touching_the_image(staff, product):
    response = client_for(staff).patch(
        f"/api/core/products/{product.pk}/", {"price": "11.00"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["price"] == "11.00"
    assert response.json()["image"] is None


def test_the_next_free_slug_takes_one_query_however_many_share_the_name(
    staff, django_assert_num_queries
):
    taken = ["blue-mug", *(f"blue-mug-{n}" for n in range(2, 40)), "blue-mug-cake", "blue-mug-7x"]
    Product.objects.bulk_create(Product(name=slug, slug=slug, price=1) for slug in taken)
    Product.objects.filter(slug="blue-mug-17").delete()
    with django_assert_num_queries(1):
        assert services.unique_slug("Blue Mug") == "blue-mug-17"
    Product.objects.create(name="x", slug="blue-mug-17", price=1)
    assert services.unique_slug("Blue Mug") == "blue-mug-40"


def test_slug_is_generated_and_unique(staff):
    a = create_product(staff, "Blue Mug").json()
    b = create_product(staff, "Blue Mug").json()
    assert (a["slug"], b["slug"]) == ("blue-mug", "blue-mug-2")
    clash = client_for(staff).post(
        "/api/core/products/", {"name": "x", "price": "1", "slug": "blue-mug"}
    )
    assert clash.status_code == 409
    assert clash.json()["field"] == "slug" and "'blue-mug' already exists" in clash.json()["detail"]


def test_remove_image(staff, local_media):
    created = create_product(staff, image=upload()).json()
    response = client_for(staff).patch(
        f"/api/core/products/{created['id']}/", {"remove_image": True}, format="json"
    )
    assert response.status_code == 200 and response.json()["image"] is None
    assert StoredFile.objects.count() == 0
    drain()
    assert not any((local_media / "media" / "products").iterdir())


def post_at_once(staff, bodies: list[dict]) -> list:
    """POST the products from one thread (and client) each, all at the same moment."""

    def poster(body: dict):
        return lambda: client_for(staff).post("/api/core/products/", body, format="json")

    return at_once([poster(body) for body in bodies])


@pytest.mark.django_db(transaction=True)
def test_concurrent_products_with_one_name_all_get_their_own_slug(staff, monkeypatch):
    """Every request picks the same free slug before any has saved (each is held at a
    barrier after its first pick), so all but one hit the unique constraint: they must
    pick again, never answer 409."""
    needs_concurrent_writers()
    picked, real = threading.Barrier(8, timeout=30), services.unique_slug
    first = threading.local()

    def unique_slug(*args, **kwargs):
        slug = real(*args, **kwargs)
        if not getattr(first, "done", False):
            first.done = True
            picked.wait()
        return slug

    monkeypatch.setattr(services, "unique_slug", unique_slug)
    responses = post_at_once(staff, [{"name": "Race Auto", "price": "1.00"}] * 8)
    assert [r.status_code for r in responses] == [201] * 8, [r.content for r in responses]
    slugs = {r.json()["slug"] for r in responses}
    assert len(slugs) == 8 and all(slug.startswith("race-auto") for slug in slugs)
    assert Product.objects.count() == 8


@pytest.mark.django_db(transaction=True)
def test_a_chosen_slug_taken_by_a_concurrent_request_is_a_409(staff):
    needs_concurrent_writers()
    bodies = [{"name": f"Chosen {n}", "price": "1.00", "slug": "chosen"} for n in range(4)]
    statuses = sorted(r.status_code for r in post_at_once(staff, bodies))
    assert statuses == [201, 409, 409, 409]


def test_a_negative_zero_price_is_zero(staff):
    created = client_for(staff).post("/api/core/products/", {"name": "Free", "price": "-0"})
    assert created.status_code == 201 and created.json()["price"] == "0.00"
    assert str(Product.objects.get().price) == "0.00"
    changed = client_for(staff).patch(
        f"/api/core/products/{created.json()['id']}/", {"price": "-0.00"}, format="json"
    )
    assert changed.json()["price"] == "0.00"


def test_a_photo_refused_while_it_is_written_is_named_and_not_kept(staff):
    # An upright JPEG is stored as sent; only the decode beside its write finds the fault.
    bad = upload("undecodable.jpg", bombs.undecodable_jpeg(), "image/jpeg")
    response = create_product(staff, image=bad)
    assert response.status_code == 400, response.content
    assert response.json()["detail"].startswith("undecodable.jpg: "), response.json()
    assert Product.objects.count() == 0 and StoredFile.objects.count() == 0
