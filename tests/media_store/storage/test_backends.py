import base64
import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from storages.backends.s3 import S3Storage

from media_store.errors import StorageUnavailable
from media_store.models import StoredFile
from media_store.storage.backends import _LOADER, PublicS3Storage, load_store_models
from media_store.storage.config import S3Settings, s3_options
from media_store.storage.objects import write_object
from media_store.uploads.staging import _writer
from tests.support.catalog import post_product_with_image
from tests.support.s3 import storages_for
from tests.support.tcp_proxy import TcpProxy

KEYS = ["products/0f.jpg", "products/a b/ü ñ.png", "x/y_w320.webp", "odd/+&=?#.gif"]


@pytest.mark.parametrize(
    "settings_kwargs",
    [
        {"endpoint_url": "http://127.0.0.1:7480"},
        {"endpoint_url": "https://abc.r2.cloudflarestorage.com", "region_name": "auto"},
        {"region_name": "us-east-1"},
        {"region_name": "eu-central-1"},
        {"endpoint_url": "https://fra1.digitaloceanspaces.com", "addressing_style": "virtual"},
    ],
)
def test_fast_public_urls_equal_botocores(settings_kwargs):
    s3 = S3Settings(bucket_name="shop-media", access_key="a", secret_key="b", **settings_kwargs)
    options = s3_options(s3, location="media")
    fast = PublicS3Storage(**options)
    reference = S3Storage(**options, querystring_auth=False)
    for key in KEYS:
        assert fast.url(key) == reference.url(key)


def test_custom_domain_urls():
    s3 = S3Settings(bucket_name="shop-media", custom_domain="media.example.com")
    storage = PublicS3Storage(**s3_options(s3, location="media"), custom_domain="media.example.com")
    assert storage.url("products/a.jpg") == "https://media.example.com/media/products/a.jpg"


@pytest.mark.s3
def test_every_thread_reuses_one_loaded_s3_model(s3):
    """django-storages gives each thread its own boto3 session; they share what is loaded."""
    from media_store.models import storage_for

    storage = storage_for("private")
    clients = []
    threads = [
        threading.Thread(target=lambda: clients.append(storage.connection.meta.client))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
        thread.join()
    assert len({id(client) for client in clients}) == 3  # still one client per thread
    models = {id(client.meta.service_model._service_description) for client in clients}
    assert len(models) == 1  # loaded once, not once per thread
    storage.save("shared-loader-check.txt", ContentFile(b"works"))  # and they work
    with storage.open("shared-loader-check.txt") as stored:
        assert stored.read() == b"works"
    storage.delete("shared-loader-check.txt")


def test_the_preload_parses_every_model_file_a_connection_reads(s3):
    """What gunicorn's master loads before forking (``config/wsgi.py``) is all that a
    worker thread's first store connection reads: it parses no model file of its own."""
    from media_store.models import storage_for

    _LOADER._cache.clear()  # botocore's instance cache: as in a fresh process
    load_store_models()
    preloaded = set(_LOADER._cache)
    thread = threading.Thread(target=lambda: storage_for("private").connection.meta.client)
    thread.start()
    thread.join()
    assert preloaded and set(_LOADER._cache) == preloaded


#: What a request may take before common routers give up on it (Heroku: 30 s).
ROUTER_TIMEOUT_SECONDS = 30


@pytest.mark.s3
def test_at_the_default_timeouts_a_hanging_store_fails_a_write_before_the_router_does(
    s3, settings, tmp_path
):
    proxy = TcpProxy(s3.server.port)
    try:
        proxy.set_mode("blackhole")  # accepts, never answers
        defaults = {
            name: getattr(S3Settings, name)
            for name in ("connect_timeout", "read_timeout", "max_attempts")
        }
        settings.STORAGES = storages_for(
            s3.s3_settings(endpoint_url=proxy.url, **defaults), tmp_path
        )
        started = time.monotonic()
        with pytest.raises(StorageUnavailable):
            write_object("public", "media/t/hang.bin", ContentFile(b"x" * 1_000_000))
        assert time.monotonic() - started < ROUTER_TIMEOUT_SECONDS
    finally:
        proxy.close()


@pytest.mark.s3
def test_while_the_store_hangs_one_write_waits_and_the_others_fail_at_once(s3, settings, tmp_path):
    proxy = TcpProxy(s3.server.port)

    def write(n: int) -> None:
        write_object("public", f"media/t/{n}.bin", ContentFile(b"x" * 1000))

    try:
        proxy.set_mode("blackhole")
        settings.STORAGES = storages_for(
            s3.s3_settings(endpoint_url=proxy.url, read_timeout=3.0), tmp_path
        )
        with pytest.raises(StorageUnavailable):
            write(1)  # waits out the timeout: the store is now suspect
        with ThreadPoolExecutor(max_workers=1) as pool:
            trial = pool.submit(write, 2)  # one write may try it, and waits again
            time.sleep(0.5)
            started = time.monotonic()
            with pytest.raises(StorageUnavailable):
                write(3)  # meanwhile the others get the 503 at once
            assert time.monotonic() - started < 0.5
            with pytest.raises(StorageUnavailable):
                trial.result(timeout=30)
        proxy.set_mode("pass")
        write(4)  # the next trial finds the store back
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(write, range(5, 9)))  # and writes go through side by side again
        assert len(s3.keys()) == 5
    finally:
        proxy.close()


def _sent_puts(storage, operation: str = "PutObject") -> list[dict[str, str]]:
    """Headers of every ``operation`` sent from now on by this thread's client of
    ``storage`` and by that of the writer its uploads go through."""
    sent: list[dict[str, str]] = []

    def record(request, **_) -> None:
        sent.append({name: _text(value) for name, value in request.headers.items()})

    def listen() -> None:
        events = storage.connection.meta.client.meta.events
        events.register(f"before-send.s3.{operation}", record)

    listen()
    _writer().submit(listen).result()
    return sent


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _stored_checksum(s3, key: str) -> str:
    body = s3.server.client().get_object(Bucket=s3.bucket, Key=key)["Body"].read()
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def _over_tls(s3, settings, tmp_path, monkeypatch, **overrides) -> None:
    if s3.server.tls_endpoint_url is None:
        pytest.skip("the external S3 server has no HTTPS endpoint of ours")
    monkeypatch.setenv("AWS_CA_BUNDLE", s3.server.ca_bundle)
    settings.STORAGES = storages_for(
        s3.s3_settings(endpoint_url=s3.server.tls_endpoint_url, **overrides), tmp_path
    )


@pytest.mark.s3
def test_over_tls_an_upload_is_hashed_once_and_the_store_gets_that_hash(
    s3, settings, tmp_path, monkeypatch, staff
):
    _over_tls(s3, settings, tmp_path, monkeypatch, checksums=True)  # as for AWS S3
    sent = _sent_puts(storages["default"])
    post_product_with_image(staff, (64, 48))
    stored = StoredFile.objects.get()
    [headers] = sent
    assert headers["X-Amz-Content-SHA256"] == "UNSIGNED-PAYLOAD"  # no second pass for the signature
    checksum = headers["x-amz-checksum-sha256"]
    assert checksum == base64.b64encode(bytes.fromhex(stored.sha256)).decode()
    assert checksum == _stored_checksum(s3, f"media/{stored.key}")


@pytest.mark.s3
def test_a_body_without_a_known_hash_is_hashed_for_its_checksum(s3, settings, tmp_path):
    settings.STORAGES = storages_for(s3.s3_settings(checksums=True), tmp_path)
    storage = storages["default"]
    sent = _sent_puts(storage)
    storage.save("x/plain.bin", ContentFile(b"bytes nobody hashed yet"))
    [headers] = sent
    assert headers["x-amz-checksum-sha256"] == _stored_checksum(s3, "media/x/plain.bin")
    # Over plain HTTP the payload is still signed: nothing else protects it in transit.
    assert headers["X-Amz-Content-SHA256"] == hashlib.sha256(b"bytes nobody hashed yet").hexdigest()


@pytest.mark.s3
def test_with_checksums_off_nothing_extra_is_sent_and_the_payload_is_signed(
    s3, settings, tmp_path, monkeypatch
):
    _over_tls(s3, settings, tmp_path, monkeypatch, checksums=False)
    storage = storages["default"]
    sent = _sent_puts(storage)
    storage.save("x/off.bin", ContentFile(b"no checksum header"))
    [headers] = sent
    assert not any(name.lower().startswith("x-amz-checksum") for name in headers)
    assert headers["X-Amz-Content-SHA256"] == hashlib.sha256(b"no checksum header").hexdigest()


@pytest.mark.s3
def test_without_the_checksum_header_our_sha256_is_the_signed_payload_hash(
    s3, settings, tmp_path, monkeypatch, staff
):
    """Stores that refuse x-amz-checksum-sha256 (R2, B2) still get a body whose hash the
    signature covers, and it is the SHA-256 we made with the bytes: not computed again."""
    _over_tls(s3, settings, tmp_path, monkeypatch, checksums=False)
    sent = _sent_puts(storages["default"])
    post_product_with_image(staff, (64, 48))
    stored = StoredFile.objects.get()
    [headers] = sent
    assert not any(name.lower().startswith("x-amz-checksum") for name in headers)
    assert headers["X-Amz-Content-SHA256"] == stored.sha256 == headers["x-amz-meta-sha256"]
    assert (
        _stored_checksum(s3, f"media/{stored.key}")
        == base64.b64encode(bytes.fromhex(stored.sha256)).decode()
    )


@pytest.mark.s3
@pytest.mark.parametrize("checksums", [True, False])
def test_a_digest_that_does_not_match_the_body_is_refused_by_the_store(
    s3, settings, tmp_path, checksums
):
    """The digest we send is the one we hold (never recomputed from the body), and the
    store checks the body against it: a mismatch stores nothing."""
    settings.STORAGES = storages_for(s3.s3_settings(checksums=checksums), tmp_path)
    content = ContentFile(b"the bytes we validated")
    content.sha256 = hashlib.sha256(b"other bytes").hexdigest()
    with pytest.raises(StorageUnavailable):
        write_object("public", "x/mismatch.bin", content)
    assert s3.keys() == []


@pytest.mark.s3
@pytest.mark.parametrize("checksums", [True, False])
def test_a_body_changed_in_transit_is_refused_and_nothing_is_stored(
    s3, settings, tmp_path, checksums
):
    proxy = TcpProxy(s3.server.port)
    try:
        settings.STORAGES = storages_for(
            s3.s3_settings(endpoint_url=proxy.url, checksums=checksums), tmp_path
        )
        proxy.set_mode("corrupt")
        content = ContentFile(b"x" * 2_000_000)  # a body that waits for 100 Continue
        content.sha256 = hashlib.sha256(b"x" * 2_000_000).hexdigest()
        with pytest.raises(StorageUnavailable):  # damaged on the way: a retry may succeed
            write_object("public", "x/damaged.bin", content)
        assert s3.keys() == []
    finally:
        proxy.close()


@pytest.mark.s3
def test_over_tls_parts_of_a_large_object_keep_their_signed_payload(
    s3, settings, tmp_path, monkeypatch
):
    _over_tls(s3, settings, tmp_path, monkeypatch, checksums=True)
    storage = storages["default"]
    body = bytes(range(256)) * (36 * 1024 + 1)  # 9 MB: in parts, which carry no checksum
    assert len(body) > storage.transfer_config.multipart_threshold
    parts = _sent_puts(storage, "UploadPart")
    storage.save("x/large.bin", ContentFile(body))
    assert len(parts) == 2
    # Only what our checksum covers goes unsigned: a part's body is still signed.
    assert all(len(bytes.fromhex(headers["X-Amz-Content-SHA256"])) == 32 for headers in parts)
    stored = s3.server.client().get_object(Bucket=s3.bucket, Key="media/x/large.bin")["Body"]
    assert hashlib.sha256(stored.read()).digest() == hashlib.sha256(body).digest()
