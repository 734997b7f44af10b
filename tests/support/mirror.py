"""A mirror store beside the primary in tests: its STORAGES aliases, and object reads."""

from __future__ import annotations


def mirror_aliases(mirror_settings, tmp_path) -> dict:
    """The two mirror aliases built from ``mirror_settings`` (an ``S3Settings``)."""
    from media_store.storage.config import build_storages

    built = build_storages(
        use_s3=True, s3=mirror_settings, media_root=tmp_path, private_root=tmp_path,
        mirror=mirror_settings,
    )  # fmt: skip
    return {alias: built[alias] for alias in ("mirror-public", "mirror-private")}


def head(client, bucket: str, key: str) -> dict:
    return client.head_object(Bucket=bucket, Key=key)


def body(client, bucket: str, key: str) -> bytes:
    return client.get_object(Bucket=bucket, Key=key)["Body"].read()
