import pytest
from storages.backends.s3 import S3Storage

from media_store.backends import PublicS3Storage
from media_store.storage_config import S3Settings, s3_options

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
