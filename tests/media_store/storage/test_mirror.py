"""A mirror store follows the primary: writes and deletes repeated in the background.

The primary is a bucket on the Ceph gateway; the mirror is another provider (an R2
emulator in front of the same gateway: another endpoint, so every copy streams through
us and is verified), or a bucket on the same gateway (the store copies by itself).
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from media_store.models import MirrorChange, Rendition
from media_store.sweeps import sweep_mirror_backlog
from tests.support.catalog import post_product_with_image
from tests.support.clients import client_for
from tests.support.images import upload
from tests.support.mirror import body, head, mirror_aliases
from tests.support.providers import emulated_store
from tests.support.s3 import storages_for
from tests.support.tasks import drain
from tests.support.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.s3, pytest.mark.django_db]

SERVED = ("ContentType", "CacheControl", "ContentDisposition")


def add_product(staff):
    return post_product_with_image(staff).json()


def test_writes_and_deletes_follow_on_the_mirror_byte_for_byte(mirror, s3, staff, user, product):
    created = add_product(staff)
    order = client_for(user).post(
        "/api/core/orders/",
        {"lines": json.dumps([{"product": product.pk, "quantity": 1}]), "images": [upload()]},
        format="multipart",
    )
    assert order.status_code == 201
    drain()  # renditions, then the mirror's copies
    client = s3.server.client()
    primary = sorted(s3.keys())
    assert len(primary) == 4  # product image, two renditions, the order image
    for key in primary:
        bucket = mirror.private if key.startswith("private/") else mirror.bucket
        assert body(client, bucket, key) == body(client, s3.bucket, key), key
        there, here = head(client, bucket, key), head(client, s3.bucket, key)
        assert {h: there.get(h) for h in SERVED} == {h: here.get(h) for h in SERVED}, key
    assert MirrorChange.objects.count() == 0
    assert Rendition.objects.exclude(sha256="").count() == 2  # renditions keep their hash

    assert client_for(staff).delete(f"/api/core/products/{created['id']}/").status_code == 204
    drain()
    assert mirror.keys(mirror.bucket, "media/") == []
    assert len(mirror.keys(mirror.private, "private/")) == 1  # the order's image stays


def test_a_mirror_outage_never_fails_an_upload_and_its_backlog_drains(
    s3, s3_server, settings, tmp_path, staff, client
):
    with emulated_store(s3_server, "generic") as store:
        proxy = TcpProxy(store.emulator.port)
        try:
            settings.STORAGES = storages_for(s3.s3_settings(), tmp_path) | mirror_aliases(
                store.s3_settings(endpoint_url=proxy.url), tmp_path
            )
            proxy.set_mode("reset")  # the mirror is down
            for _ in range(3):
                add_product(staff)
            drain()
            assert MirrorChange.objects.count() == 9  # 3 originals, 6 renditions waiting
            settings.HEALTH_DETAILS_TOKEN = "ops"
            ready = client.get("/readyz", HTTP_AUTHORIZATION="Bearer ops").json()
            assert (
                ready["status"] == "ok"
                and "9 change(s) waiting" in (ready["checks"]["mirror"]["detail"])
            )
            proxy.set_mode("pass")  # back
            assert sweep_mirror_backlog.call() == 9
            assert MirrorChange.objects.count() == 0
            assert sorted(store.keys(store.bucket, "media/")) == sorted(s3.keys("media/"))
        finally:
            proxy.close()


def test_on_one_store_the_store_copies_by_itself(same_store_mirror, s3, s3_server, staff):
    add_product(staff)
    drain()
    assert sorted(s3_server.keys(same_store_mirror)) == sorted(s3.keys())


def test_migrate_copies_what_the_rows_reference_and_verify_finds_and_repairs(
    s3, s3_server, settings, tmp_path, staff
):
    for _ in range(2):
        add_product(staff)
    drain()  # renditions (no mirror yet: nothing recorded)
    with emulated_store(s3_server, "b2") as store:
        settings.STORAGES = storages_for(s3.s3_settings(), tmp_path) | mirror_aliases(
            store.s3_settings(), tmp_path
        )
        out, err = StringIO(), StringIO()
        call_command("media_migrate", "--dry-run", stdout=out, stderr=err)
        assert "6 object(s) to copy" in out.getvalue()
        call_command("media_migrate", "--jobs", "3", stdout=out, stderr=err)
        assert "6 copied" in out.getvalue()
        assert "copying" in err.getvalue()  # the progress bar
        again = StringIO()
        call_command("media_migrate", stdout=again, stderr=StringIO())
        assert "0 object(s) to copy, 6 already copied" in again.getvalue()
        clean = StringIO()
        call_command("media_verify", "--store", "mirror", stdout=clean)
        assert "6 object(s) checked, 0 missing or damaged, 0 no row references" in clean.getvalue()

        lost = sorted(s3.keys("media/"))[:2]
        client = s3.server.client()
        originals = {key: body(client, s3.bucket, key) for key in lost}
        client.delete_object(Bucket=s3.bucket, Key=lost[0])
        client.put_object(Bucket=s3.bucket, Key=lost[1], Body=b"rotten")
        found = StringIO()
        with pytest.raises(CommandError):
            call_command("media_verify", stdout=found)
        assert f"missing        public  {lost[0].removeprefix('media/')}" in found.getvalue()
        assert "wrong size" in found.getvalue()
        repaired = StringIO()
        call_command("media_verify", "--repair-from", "mirror", stdout=repaired)
        assert "2 of 2 restored from the mirror" in repaired.getvalue()
        assert {key: body(client, s3.bucket, key) for key in lost} == originals
        call_command("media_verify", stdout=StringIO())  # clean again


def test_a_copy_whose_row_went_meanwhile_leaves_nothing_on_the_mirror(mirror, s3):
    """Workers share the backlog: the delete of a key may run before its copy ends."""
    from media_store.storage.mirror import sync_mirror

    s3.server.client().put_object(Bucket=s3.bucket, Key="media/gone/x.bin", Body=b"x")
    MirrorChange.objects.create(visibility="public", key="gone/x.bin", action="copy")
    assert sync_mirror() == 1
    assert mirror.keys(mirror.bucket, "media/gone/") == []
