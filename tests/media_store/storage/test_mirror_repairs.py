"""Repairs and migrations never lose a good copy; a broken mirror says what to fix.

Found by an outside review: a repair deleted the primary's object before it knew the
mirror's copy was good, ``--store mirror --repair-from mirror`` deleted the primary's
good objects, and a copy between two buckets of one store overwrote (then deleted) the
mirror's only good copy. A misconfigured mirror named the primary's settings, held up
every other change, and passed ``storage_check``.
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from media_store.models import MirrorChange, Rendition, StoredFile, storage_for
from media_store.storage.mirror import backlog
from tests.support.catalog import post_product_with_image
from tests.support.clients import client_for
from tests.support.images import upload
from tests.support.mirror import body, mirror_aliases
from tests.support.providers import emulated_store
from tests.support.s3 import storages_for
from tests.support.tasks import drain

pytestmark = [pytest.mark.s3, pytest.mark.django_db]


def first_object(s3) -> str:
    return sorted(s3.keys("media/"))[0]


@pytest.fixture
def mirrored(mirror, s3, staff):
    """A product image and its renditions, on the primary and the mirror."""
    post_product_with_image(staff)
    drain()
    return mirror


def test_a_repair_from_the_checked_store_itself_is_refused(mirrored, s3):
    client = s3.server.client()
    key = first_object(s3)
    good = body(client, s3.bucket, key)
    client.delete_object(Bucket=mirrored.bucket, Key=key)  # the mirror lost its copy
    with pytest.raises(CommandError, match="--store mirror --repair-from primary"):
        call_command("media_verify", "--store", "mirror", "--repair-from", "mirror")
    assert body(client, s3.bucket, key) == good  # the primary is untouched


def test_the_mirror_is_repaired_from_the_primary(mirrored, s3):
    client = s3.server.client()
    lost, damaged = sorted(s3.keys("media/"))[:2]
    client.delete_object(Bucket=mirrored.bucket, Key=lost)
    client.put_object(Bucket=mirrored.bucket, Key=damaged, Body=b"damaged on the mirror")
    out = StringIO()
    call_command("media_verify", "--store", "mirror", "--repair-from", "primary", stdout=out)
    assert "2 of 2 restored from the primary" in out.getvalue()
    for key in (lost, damaged):
        assert body(client, mirrored.bucket, key) == body(client, s3.bucket, key)
    call_command("media_verify", "--store", "mirror", stdout=StringIO())  # clean


def test_a_bad_mirror_copy_leaves_the_primary_as_it_was(mirrored, s3):
    client = s3.server.client()
    key = first_object(s3)
    truncated = body(client, s3.bucket, key)[:-10]
    client.put_object(Bucket=s3.bucket, Key=key, Body=truncated)
    client.put_object(Bucket=mirrored.bucket, Key=key, Body=b"also bad")
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("media_verify", "--repair-from", "mirror", stdout=StringIO(), stderr=err)
    assert "not restored" in err.getvalue()
    assert body(client, s3.bucket, key) == truncated  # not deleted: nothing is lost


def test_a_copy_within_one_store_never_replaces_the_mirrors_good_copy(same_store_mirror, s3, staff):
    post_product_with_image(staff)
    drain()  # the mirror follows: it holds good copies
    client = s3.server.client()
    key = first_object(s3)
    good = body(client, same_store_mirror, key)
    client.put_object(Bucket=s3.bucket, Key=key, Body=good[:-10])  # the primary damaged
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("media_migrate", stdout=StringIO(), stderr=err)
    assert "SHA-256" in err.getvalue()
    assert body(client, same_store_mirror, key) == good


@pytest.fixture
def wrong_key_mirror(s3, s3_server, settings, tmp_path):
    """A mirror whose secret key has a typo (MEDIA_MIRROR_SECRET_ACCESS_KEY)."""
    with emulated_store(s3_server, "r2") as store:
        settings.STORAGES = storages_for(s3.s3_settings(), tmp_path) | mirror_aliases(
            store.s3_settings(secret_key="wrong-secret"), tmp_path
        )
        yield store


def test_storage_check_writes_to_the_mirror(wrong_key_mirror, s3):
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("storage_check", stdout=out, stderr=StringIO())
    assert "FAIL mirror reachable" in out.getvalue()
    assert "MEDIA_MIRROR_SECRET_ACCESS_KEY" in out.getvalue()


def test_migrate_names_the_mirror_setting_and_stops_at_the_first_refusal(
    wrong_key_mirror, s3, staff
):
    for _ in range(3):
        post_product_with_image(staff)
    drain()
    err = StringIO()
    with pytest.raises(CommandError, match="stopped early") as stopped:
        call_command("media_migrate", "--jobs", "1", stdout=StringIO(), stderr=err)
    assert "MEDIA_MIRROR_ACCESS_KEY_ID" in str(stopped.value)
    assert "AWS_ACCESS_KEY_ID" not in err.getvalue() + str(stopped.value)  # the primary is fine
    assert err.getvalue().count("MEDIA_MIRROR_") <= 2  # not one line per object


def test_verify_of_a_mirror_it_cannot_list_ends_in_a_message(wrong_key_mirror, s3, staff):
    post_product_with_image(staff)
    drain()
    with pytest.raises(CommandError, match="MEDIA_MIRROR_SECRET_ACCESS_KEY"):
        call_command("media_verify", "--store", "mirror", stdout=StringIO(), stderr=StringIO())


def test_one_bad_mirror_bucket_does_not_hold_up_the_other_changes(
    s3, s3_server, settings, tmp_path, staff, user, product
):
    with emulated_store(s3_server, "r2") as store:
        settings.STORAGES = storages_for(s3.s3_settings(), tmp_path) | mirror_aliases(
            store.s3_settings(private_bucket_name="no-such-bucket-typo"), tmp_path
        )
        order = client_for(user).post(
            "/api/core/orders/",
            {"lines": json.dumps([{"product": product.pk, "quantity": 1}]), "images": [upload()]},
            format="multipart",
        )
        assert order.status_code == 201
        post_product_with_image(staff)
        drain()
        assert sorted(store.keys(store.bucket, "media/")) == sorted(s3.keys("media/"))
        [waiting] = MirrorChange.objects.all()  # the order's image, refused for now
        assert "MEDIA_MIRROR_PRIVATE_BUCKET_NAME" in waiting.last_error
        in_sync, detail = backlog()
        assert not in_sync and "MEDIA_MIRROR_PRIVATE_BUCKET_NAME" in detail


def test_a_row_without_a_sha256_is_never_restored_unverified(mirrored, s3):
    client = s3.server.client()
    rendition = Rendition.objects.order_by("key").first()
    key = f"media/{rendition.key}"
    good = body(client, s3.bucket, key)
    Rendition.objects.filter(pk=rendition.pk).update(sha256="")  # made before hashes were kept
    client.put_object(Bucket=s3.bucket, Key=key, Body=good[:-10])
    client.put_object(Bucket=mirrored.bucket, Key=key, Body=bytes(len(good)))  # right size
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("media_verify", "--repair-from", "mirror", stdout=StringIO(), stderr=err)
    assert "no copy of it can be verified" in err.getvalue()
    assert body(client, s3.bucket, key) == good[:-10]


def test_a_source_changed_during_a_store_side_repair_leaves_the_target_as_it_was(
    same_store_mirror, s3, staff
):
    post_product_with_image(staff)
    drain()
    client = s3.server.client()
    key = first_object(s3)
    truncated = body(client, s3.bucket, key)[:-10]
    client.put_object(Bucket=s3.bucket, Key=key, Body=truncated)

    def swap_source(**_):  # the mirror's copy changes between the check and the copy
        client.put_object(Bucket=same_store_mirror, Key=key, Body=b"changed meanwhile")

    primary_client = storage_for("public").connection.meta.client
    primary_client.meta.events.register("before-call.s3.CopyObject", swap_source)
    try:
        err = StringIO()
        with pytest.raises(CommandError):
            call_command("media_verify", "--repair-from", "mirror", stdout=StringIO(), stderr=err)
    finally:
        primary_client.meta.events.unregister("before-call.s3.CopyObject", swap_source)
    assert "not restored" in err.getvalue()
    assert body(client, s3.bucket, key) == truncated  # not replaced by the swapped bytes


def test_a_delete_never_removes_the_mirror_copy_of_a_key_a_row_references(mirrored, s3):
    from media_store.storage.mirror import sync_mirror

    key = StoredFile.objects.get().key
    MirrorChange.objects.create(visibility="public", key=key, action="delete")
    sync_mirror()
    assert f"media/{key}" in mirrored.keys(mirrored.bucket, "media/")


def test_counts_and_rates_that_make_no_sense_are_refused(mirrored):
    for args in (["--jobs", "0"], ["--max-rate", "-1"], ["--max-rate", "nan"]):
        with pytest.raises(CommandError, match="give"):
            call_command("media_migrate", *args, stdout=StringIO(), stderr=StringIO())
