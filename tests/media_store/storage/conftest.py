from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.mirror import mirror_aliases
from tests.support.providers import emulated_store
from tests.support.s3 import storages_for


@pytest.fixture
def mirror(s3, s3_server, settings, tmp_path):
    """The primary (``s3``) with an R2 store as its mirror (two buckets, as on R2)."""
    with emulated_store(s3_server, "r2") as store:
        settings.STORAGES = storages_for(s3.s3_settings(), tmp_path) | mirror_aliases(
            store.s3_settings(), tmp_path
        )
        yield store


@pytest.fixture
def same_store_mirror(s3, s3_server, settings, tmp_path) -> Iterator[str]:
    """The primary with another bucket on the same gateway as its mirror (its name): the
    store copies objects by itself."""
    other = s3_server.new_bucket()
    try:
        settings.STORAGES = storages_for(s3.s3_settings(), tmp_path) | mirror_aliases(
            s3.s3_settings(bucket_name=other), tmp_path
        )
        yield other
    finally:
        s3_server.drop_bucket(other)
