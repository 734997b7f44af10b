"""Suite-wide fixtures. Environment defaults for the settings are in pyproject.toml (pytest-env)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from hypothesis import settings as hypothesis_settings

from media_store.storage.breaker import store_writes
from media_store.storage.bucket import apply_public_read_policy
from media_store.storage.config import build_storages
from tests.support.s3 import S3Mode, S3Server, start_s3_server, storages_for

# Property and fuzz tests: reproducible and a few hundred examples in the suite;
# ``--hypothesis-profile=fuzz`` (``make fuzz``) runs thousands with fresh randomness.
hypothesis_settings.register_profile("suite", max_examples=400, derandomize=True, database=None)
hypothesis_settings.register_profile("fuzz", max_examples=5000, database=None)
hypothesis_settings.load_profile("suite")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = start_s3_server(tmp_path_factory.mktemp("ceph"))
    yield server
    if server.env is not None:
        server.ceph("stop")


@pytest.fixture
def local_media(settings, tmp_path: Path) -> Path:
    """Local-disk mode with media in a throwaway directory."""
    settings.USE_S3 = False
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    storages = build_storages(
        use_s3=False, media_root=settings.MEDIA_ROOT, private_root=settings.PRIVATE_MEDIA_ROOT
    )
    # No collectstatic in tests: the admin's pages need unhashed static names.
    storages["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    settings.STORAGES = storages
    return tmp_path


@pytest.fixture(autouse=True)
def _store_not_suspect() -> None:
    """Each test starts with no earlier test's store outage remembered in this process."""
    store_writes.reset()


@pytest.fixture(autouse=True)
def _default_local_media(request: pytest.FixtureRequest) -> None:
    if "s3" not in request.fixturenames:
        request.getfixturevalue("local_media")


@pytest.fixture
def s3(settings, s3_server: S3Server, tmp_path: Path) -> Iterator[S3Mode]:
    """S3 mode against a fresh bucket on the real gateway (public prefixes readable)."""
    bucket = s3_server.new_bucket()
    apply_public_read_policy(s3_server.client(), bucket)
    mode = S3Mode(server=s3_server, bucket=bucket)
    settings.USE_S3 = True
    settings.AWS_STORAGE_BUCKET_NAME = bucket
    settings.AWS_ACCESS_KEY_ID = s3_server.access_key
    settings.AWS_SECRET_ACCESS_KEY = s3_server.secret_key
    settings.STORAGES = storages_for(mode.s3_settings(), tmp_path)
    yield mode
    s3_server.drop_bucket(bucket)


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user("alice", "alice@example.com", "pw-alice-123")


@pytest.fixture
def other_user(db):
    return get_user_model().objects.create_user("bob", "bob@example.com", "pw-bob-123")


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user(
        "staff", "staff@example.com", "pw-staff-123", is_staff=True
    )


@pytest.fixture
def product(db):
    from core.models import Product

    return Product.objects.create(name="Mug", slug="mug", price=Decimal("9.50"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Keep each phase's report on the item, so fixtures can react to a failure."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
