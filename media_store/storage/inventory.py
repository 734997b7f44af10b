"""What is actually in a storage: keys with size and age, for S3 and local disk alike."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.core.files.storage import FileSystemStorage, Storage

from media_store.models import PendingUpload, Rendition, StoredFile, storage_for

from .s3 import is_s3, s3_key


@dataclass(frozen=True)
class ObjectInfo:
    key: str  # relative to the storage's location, as StoredFile.key
    size: int
    modified: datetime


def iter_objects(storage: Storage) -> Iterator[ObjectInfo]:
    if is_s3(storage):
        prefix = s3_key(storage, "")
        paginator = storage.connection.meta.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=storage.bucket_name, Prefix=prefix):
            for item in page.get("Contents", []):
                yield ObjectInfo(item["Key"][len(prefix) :], item["Size"], item["LastModified"])
    elif isinstance(storage, FileSystemStorage):
        root = Path(storage.location)
        for directory, _, files in os.walk(root):
            for name in sorted(files):
                path = Path(directory) / name
                stat = path.stat()
                modified = datetime.fromtimestamp(stat.st_mtime, tz=UTC)
                yield ObjectInfo(path.relative_to(root).as_posix(), stat.st_size, modified)
    else:  # pragma: no cover - only our two kinds are configured
        raise TypeError(f"cannot list {type(storage).__name__}")


@dataclass(frozen=True)
class Item:
    """An object a row references, with what the row says of it."""

    visibility: str
    key: str
    size: int
    sha256: str  # empty for renditions made before their hash was kept


def referenced_objects() -> Iterator[Item]:
    """Every object the rows say must exist: originals, and renditions that are ready."""
    files = StoredFile.objects.values_list("visibility", "key", "size", "sha256")
    for visibility, key, size, sha256 in files.iterator():
        yield Item(visibility, key, size, sha256)
    ready = Rendition.objects.filter(state=Rendition.State.READY).values_list(
        "file__visibility", "key", "size", "sha256"
    )
    for visibility, key, size, sha256 in ready.iterator():
        yield Item(visibility, key, size, sha256)


def storages_by_visibility() -> Iterator[tuple[str, Storage]]:
    for visibility in StoredFile.Visibility.values:
        yield visibility, storage_for(visibility)


def referenced_keys(visibility: str) -> tuple[set[str], set[str]]:
    """Keys the database expects in the store: (must exist, may exist).

    Files and ready renditions must exist; renditions still to be made and staging
    objects of pending direct uploads may (the browser may not have sent them yet).
    """
    required = set(StoredFile.objects.filter(visibility=visibility).values_list("key", flat=True))
    renditions = Rendition.objects.filter(file__visibility=visibility)
    required |= set(renditions.filter(state=Rendition.State.READY).values_list("key", flat=True))
    optional = set(renditions.exclude(state=Rendition.State.READY).values_list("key", flat=True))
    if visibility == StoredFile.Visibility.PRIVATE:
        optional |= set(PendingUpload.objects.values_list("key", flat=True))
    return required, optional


@dataclass(frozen=True)
class Discrepancies:
    #: Objects no row references (older than the minimum age), as (visibility, key).
    orphans: list[tuple[str, str]]
    #: Rows whose object is not in the store.
    missing: list[tuple[str, str]]


def find_orphans(*, min_age: timedelta) -> Discrepancies:
    """Compare the store with the database. Young objects are skipped: an upload in
    flight is written before the row that records it."""
    cutoff = datetime.now(tz=UTC) - min_age
    orphans: list[tuple[str, str]] = []
    missing: list[tuple[str, str]] = []
    for visibility, storage in storages_by_visibility():
        required, optional = referenced_keys(visibility)
        present = set()
        for item in iter_objects(storage):
            present.add(item.key)
            known = item.key in required or item.key in optional
            if not known and item.modified <= cutoff:
                orphans.append((visibility, item.key))
        missing += [(visibility, key) for key in sorted(required - present)]
    return Discrepancies(orphans, missing)
