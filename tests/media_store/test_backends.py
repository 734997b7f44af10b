import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.files.base import ContentFile
from storages.backends.s3 import S3Storage

from media_store.backends import PublicS3Storage
from media_store.errors import StorageUnavailable
from media_store.services import write_object
from media_store.storage_config import S3Settings, s3_options
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
