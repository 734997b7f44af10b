"""A bucket set up as our docs tell a user of each store to set it up, behind that store's emulator.

Stores without bucket policies (R2, B2) get two buckets, as the provider table says:
``AWS_STORAGE_BUCKET_NAME`` public, ``AWS_PRIVATE_STORAGE_BUCKET_NAME`` private. What
the docs say to do in the store's console is done here the way that console would
(:meth:`EmulatedStore.do_console_steps`); everything else goes through the app.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from media_store.storage.bucket import apply_cors
from media_store.storage.config import S3Settings
from media_store.storage.providers import PROVIDERS
from tests.support.s3 import S3Server
from tests.support.store_emulator import StoreEmulator

#: Every store the README names that we cannot run here, plus the generic profile.
EMULATED = ["aws", "r2", "b2", "spaces", "minio", "generic"]


@dataclass
class EmulatedStore:
    profile: str
    server: S3Server
    emulator: StoreEmulator
    bucket: str
    private_bucket: str | None

    @property
    def buckets(self) -> list[str]:
        return [self.bucket, *([self.private_bucket] if self.private_bucket else [])]

    @property
    def private(self) -> str:
        return self.private_bucket or self.bucket

    def s3_settings(self, **overrides: Any) -> S3Settings:
        values: dict[str, Any] = {
            "bucket_name": self.bucket,
            "private_bucket_name": self.private_bucket,
            "access_key": self.server.access_key,
            "secret_key": self.server.secret_key,
            "provider": self.profile,
            "endpoint_url": self.emulator.url,
            "custom_domain": self.emulator.public_url,
            "connect_timeout": 2.0,
            "read_timeout": 5.0,
            "max_attempts": 1,
        }
        values.update(overrides)
        return S3Settings(**values)

    def env(self) -> dict[str, str]:
        """The environment of an app process using this store, as the docs configure it."""
        env = {
            "AWS_S3_PROVIDER": self.profile,
            "AWS_S3_ENDPOINT_URL": self.emulator.url,
            "AWS_STORAGE_BUCKET_NAME": self.bucket,
        }
        if self.private_bucket:
            env["AWS_PRIVATE_STORAGE_BUCKET_NAME"] = self.private_bucket
        if self.emulator.public_url:
            env["AWS_S3_CUSTOM_DOMAIN"] = self.emulator.public_url
        return env

    def keys(self, bucket: str | None = None, prefix: str = "") -> list[str]:
        return self.server.keys(bucket or self.bucket, prefix)

    def all_keys(self) -> list[str]:
        return sorted(key for bucket in self.buckets for key in self.server.keys(bucket))

    def do_console_steps(self, origins: list[str]) -> None:
        """What ``configure_bucket`` prints for this store to do by hand, done by hand.

        B2: the public bucket's files are "Public" (a read policy on the whole bucket).
        R2: the public bucket domain is the emulator's second listener (nothing to do).
        MinIO: CORS is server-wide (MINIO_API_CORS_ALLOW_ORIGIN), set on the gateway.
        """
        client = self.server.client()
        if self.profile == "b2":
            policy = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": ["s3:GetObject"],
                        "Resource": [f"arn:aws:s3:::{self.bucket}/*"],
                    }
                ],
            }
            client.put_bucket_policy(Bucket=self.bucket, Policy=json.dumps(policy))
        if self.profile == "minio":
            for bucket in self.buckets:
                apply_cors(client, bucket, origins)


@contextmanager
def emulated_store(server: S3Server, profile: str) -> Iterator[EmulatedStore]:
    two_buckets = not PROVIDERS[profile].bucket_policy
    bucket = server.new_bucket()
    private_bucket = server.new_bucket() if two_buckets else None
    public_bucket = bucket if PROVIDERS[profile].public_needs_custom_domain else None
    emulator = StoreEmulator(
        server.port, profile, public_bucket=public_bucket, signer=server.client()
    )
    store = EmulatedStore(profile, server, emulator, bucket, private_bucket)
    try:
        yield store
    finally:
        emulator.close()
        for name in store.buckets:
            server.drop_bucket(name)
