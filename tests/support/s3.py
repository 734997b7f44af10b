"""The real S3 server the suite talks to: our local Ceph gateway, or S3_TEST_ENDPOINT."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from media_store.storage.config import S3Settings, build_storages

REPO = Path(__file__).resolve().parents[2]
CEPH_SCRIPT = REPO / "scripts" / "ceph_s3.sh"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class S3Server:
    endpoint_url: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    env: dict[str, str] | None = None  # set when we run the gateway ourselves
    #: The same gateway over HTTPS, and the certificate to trust for it (ours only).
    tls_endpoint_url: str | None = None
    ca_bundle: str | None = None

    @property
    def port(self) -> int:
        return int(self.endpoint_url.rsplit(":", 1)[1])

    def client(self, *, tls: bool = False, **config: Any) -> Any:
        """A plain boto3 client (over HTTPS with ``tls``), as a script would make one."""
        return boto3.client(
            "s3",
            endpoint_url=self.tls_endpoint_url if tls else self.endpoint_url,
            verify=self.ca_bundle if tls else None,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                **config,
            ),
        )

    def ceph(self, command: str) -> None:
        if self.env is None:
            raise RuntimeError("the S3 server is external; it cannot be stopped or started")
        subprocess.run([str(CEPH_SCRIPT), command], env=self.env, check=True, timeout=300)

    def new_bucket(self) -> str:
        name = f"test-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def drop_bucket(self, name: str) -> None:
        client = self.client()
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=name):
            for item in page.get("Contents", []):
                client.delete_object(Bucket=name, Key=item["Key"])
        client.delete_bucket(Bucket=name)

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        paginator = self.client().get_paginator("list_objects_v2")
        return [
            item["Key"]
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
            for item in page.get("Contents", [])
        ]


def start_s3_server(data_dir: Path) -> S3Server:
    """Use S3_TEST_ENDPOINT if set, else init and start a fresh Ceph gateway in ``data_dir``."""
    endpoint = os.environ.get("S3_TEST_ENDPOINT")
    if endpoint:
        return S3Server(
            endpoint_url=endpoint,
            access_key=os.environ["S3_TEST_ACCESS_KEY"],
            secret_key=os.environ["S3_TEST_SECRET_KEY"],
            region=os.environ.get("S3_TEST_REGION", "us-east-1"),
        )
    port, tls_port = free_port(), free_port()
    env = {
        **os.environ,
        "CEPH_S3_DIR": str(data_dir),
        "CEPH_S3_PORT": str(port),
        "CEPH_S3_TLS_PORT": str(tls_port),
        "CEPH_MON_PORT": str(free_port()),
        "CEPH_S3_ACCESS_KEY": "testaccess" + uuid.uuid4().hex[:10],
        "CEPH_S3_SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex[:8],
    }
    server = S3Server(
        endpoint_url=f"http://127.0.0.1:{port}",
        access_key=env["CEPH_S3_ACCESS_KEY"],
        secret_key=env["CEPH_S3_SECRET_KEY"],
        env=env,
        tls_endpoint_url=f"https://127.0.0.1:{tls_port}",
        ca_bundle=str(data_dir / "tls" / "cert.pem"),
    )
    server.ceph("init")
    server.ceph("start")
    return server


@dataclass
class S3Mode:
    server: S3Server
    bucket: str

    def keys(self, prefix: str = "") -> list[str]:
        return self.server.keys(self.bucket, prefix)

    def s3_settings(self, **overrides: object) -> S3Settings:
        values: dict[str, object] = {
            "bucket_name": self.bucket,
            "access_key": self.server.access_key,
            "secret_key": self.server.secret_key,
            "region_name": self.server.region,
            "endpoint_url": self.server.endpoint_url,
            "provider": "ceph",
            "connect_timeout": 2.0,
            "read_timeout": 5.0,
            "max_attempts": 1,
        }
        values.update(overrides)
        return S3Settings(**values)  # type: ignore[arg-type]


def storages_for(s3: S3Settings, tmp: Path) -> dict:
    return build_storages(use_s3=True, s3=s3, media_root=tmp / "m", private_root=tmp / "p")
