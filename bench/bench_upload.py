"""Upload and listing costs against the real Ceph gateway, as ratios measured in one run.

    uv run python bench/bench_upload.py [--repeat N]

Django runs in this process on PostgreSQL (a fresh database on the server named by
``DATABASE_URL``, the local one by default), as in production: the upload throttle's
shared cache and the task queue live there too.

1. A 1 MB and a 5 MB JPEG uploaded through the API as a product image, in the
   default configuration (three WebP renditions, made by the background worker after
   the response) vs a raw boto3 ``put_object`` of the same bytes, with each store
   profile's way of sending the body's SHA-256: the ``aws`` profile's checksum header
   (AWS S3, MinIO) and the ``ceph`` profile's signed payload hash (also R2, B2,
   Spaces). Measured over HTTPS, as every deployment reaches its store (the gateway's
   self-signed certificate trusted through ``AWS_CA_BUNDLE``), and again over plain
   HTTP. Also our storage's PUT of the same bytes alone, and the seed's naive
   configuration (plain ``S3Storage``, ``file_overwrite=False``, default querystring
   auth) doing the same app work with the 5 MB JPEG.
2. S3 requests per upload and per product-list page, counted by a proxy of ours.
3. The uploads of 1. again over HTTPS through a proxy of ours that puts the store at a
   network's distance (``--link-rtt-ms``, ``--link-mbit``; 10 ms and 200 Mbit/s by
   default), as a deployed app reaches its bucket: on loopback the gateway shares this
   machine's cores with the app, which no deployment does.
4. A product list of 100 items (with renditions), S3 mode vs local mode.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import os
import statistics
from collections.abc import Callable
from pathlib import Path

from common import (
    CountingProxy,
    LinkProxy,
    interleaved,
    median_seconds,
    noise_jpeg,
    postgres_database,
    report,
    setup_django,
    start_gateway,
    workdir,
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--link-rtt-ms", type=float, default=10.0)
    parser.add_argument("--link-mbit", type=float, default=200.0)
    args = parser.parse_args()
    tmp = workdir()
    database = postgres_database(tmp)
    setup_django(tmp, DATABASE_URL=database.url)
    gateway = start_gateway(tmp)
    try:
        run(gateway, tmp, args.repeat, args.link_rtt_ms, args.link_mbit)
    finally:
        if gateway.env is not None:
            gateway.ceph("stop")
        from django.db import connections

        connections.close_all()
        database.drop()


def run(gateway, tmp: Path, repeat: int, link_rtt_ms: float, link_mbit: float) -> None:
    from django.contrib.auth import get_user_model
    from django.core.files.base import ContentFile
    from django.core.files.storage import storages
    from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
    from django.test.utils import override_settings
    from rest_framework.test import APIClient

    from core.models import Product
    from media_store.storage.bucket import apply_public_read_policy
    from media_store.storage.config import S3Settings, build_storages
    from tests.support.catalog import make_catalog

    os.environ["AWS_CA_BUNDLE"] = gateway.ca_bundle  # read by every boto3 session made below
    bucket = gateway.new_bucket()
    client = gateway.client()
    apply_public_read_policy(client, bucket)
    port = gateway.port
    proxy = CountingProxy(port)

    def ours(endpoint: str, provider: str = "ceph") -> dict:
        s3 = S3Settings(
            bucket_name=bucket,
            access_key=gateway.access_key,
            secret_key=gateway.secret_key,
            region_name=gateway.region,
            endpoint_url=endpoint,
            provider=provider,
        )
        return build_storages(use_s3=True, s3=s3, media_root=tmp / "m", private_root=tmp / "p")

    def seed_baseline(endpoint: str) -> dict:
        from botocore.config import Config

        options = {
            "bucket_name": bucket,
            "access_key": gateway.access_key,
            "secret_key": gateway.secret_key,
            "region_name": gateway.region,
            "endpoint_url": endpoint,
            "file_overwrite": False,
            # The seed sets nothing else. Path style is needed to reach a gateway on an
            # IP; without "when_required" this gateway refuses the streamed CRC
            # trailers current boto3 sends over HTTPS (MissingContentLength).
            "client_config": Config(
                s3={"addressing_style": "path"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        }
        storages_ = ours(endpoint)
        storages_["default"] = {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {**options, "location": "media"},
        }
        return storages_

    staff = get_user_model().objects.create_user("bench", password="x", is_staff=True)
    api = APIClient()
    api.force_authenticate(staff)
    counter = {"n": 0}

    def api_upload_of(jpeg: bytes) -> Callable[[], None]:
        # Encoded once, outside the timing: building the multipart body is the
        # uploader's HTTP client's work, as signing is the raw put_object's.
        image = io.BytesIO(jpeg)
        image.name = "photo.jpg"
        body = encode_multipart(BOUNDARY, {"name": "Bench", "price": "1.00", "image": image})

        def api_upload() -> None:
            response = api.post("/api/core/products/", body, content_type=MULTIPART_CONTENT)
            assert response.status_code == 201, response.content

        return api_upload

    def raw_put_with(raw_client, jpeg: bytes) -> Callable[[], None]:
        # A plain client as a script makes one (checksums "when_required": this
        # gateway refuses the streamed CRC trailers newer boto3 sends by default).
        def raw_put() -> None:
            counter["n"] += 1
            raw_client.put_object(
                Bucket=bucket, Key=f"raw/{counter['n']}.jpg", Body=jpeg, ContentType="image/jpeg"
            )

        return raw_put

    def storage_put_of(jpeg: bytes) -> Callable[[], None]:
        """The same bytes through our storage alone: its PUT, checksum and signing."""
        digest = hashlib.sha256(jpeg).hexdigest()

        def storage_put() -> None:
            counter["n"] += 1
            content = ContentFile(jpeg)
            content.sha256 = digest  # as prepare_image leaves it
            storages["default"].save(f"raw/ours-{counter['n']}.jpg", content)

        return storage_put

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}x ({a * 1000:.0f} ms vs {b * 1000:.0f} ms, median of {repeat})"

    targets = {1: "1.8x", 5: "1.5x"}
    rows: list[tuple[str, str]] = []
    transports = (
        ("HTTPS", gateway.tls_endpoint_url, gateway.client(tls=True)),
        ("HTTP", gateway.endpoint_url, client),
    )
    for size, target in targets.items():
        jpeg = noise_jpeg(size)
        rows.append((f"{size} MB JPEG", f"{len(jpeg) / (1024 * 1024):.2f} MB"))
        for scheme, endpoint, raw_client in transports:
            for provider, how in (("aws", "checksum header"), ("ceph", "payload hash")):
                with override_settings(STORAGES=ours(endpoint, provider)):
                    timings = interleaved(
                        {
                            "raw": raw_put_with(raw_client, jpeg),
                            "api": api_upload_of(jpeg),
                            "put": storage_put_of(jpeg),
                        },
                        repeat,
                    )
                rows.append(
                    (
                        f"{size} MB, {provider} profile ({how}), {scheme}: API upload / raw "
                        f"put_object (target <= {target})",
                        ratio(timings["api"], timings["raw"]),
                    )
                )
                rows.append(
                    (
                        f"{size} MB, {provider} profile, {scheme}: our storage's PUT alone / raw",
                        ratio(timings["put"], timings["raw"]),
                    )
                )
    api_upload = api_upload_of(jpeg)  # the 5 MB one, from here on
    for scheme, endpoint, raw_client in transports:
        with override_settings(STORAGES=seed_baseline(endpoint)):
            try:
                api_upload()
            except Exception as exc:
                rows.append((f"seed baseline, {scheme}", f"fails on this store: {exc!r:.120}"))
                continue
            baseline = interleaved(
                {"raw": raw_put_with(raw_client, jpeg), "baseline": api_upload}, repeat
            )
        rows.append(
            (
                f"5 MB, seed baseline app / raw put_object, {scheme}",
                ratio(baseline["baseline"], baseline["raw"]),
            )
        )

    # The same over a network link, as from an app to its bucket: both requests now wait
    # for the wire, and the app's rows and check run while its bytes are on it.
    tls_port = int(gateway.tls_endpoint_url.rsplit(":", 1)[1])
    link = LinkProxy(tls_port, rtt_ms=link_rtt_ms, mbit=link_mbit)
    far = f"https://127.0.0.1:{link.port}"
    far_client = dataclasses.replace(gateway, tls_endpoint_url=far).client(tls=True)
    for size, target in targets.items():
        far_jpeg = noise_jpeg(size)
        for provider in ("aws", "ceph"):
            with override_settings(STORAGES=ours(far, provider)):
                timings = interleaved(
                    {"raw": raw_put_with(far_client, far_jpeg), "api": api_upload_of(far_jpeg)},
                    repeat,
                )
            rows.append(
                (
                    f"{size} MB, {provider} profile, HTTPS over a {link_rtt_ms:g} ms, "
                    f"{link_mbit:g} Mbit/s link: API upload / raw put_object (target <= {target})",
                    ratio(timings["api"], timings["raw"]),
                )
            )

    # Requests per upload, counted on the wire (renditions are the worker's, not counted).
    with override_settings(STORAGES=ours(proxy.url)):
        proxy.reset()
        api_upload()
        ours_counts = proxy.reset()
    rows.append(
        ("S3 requests per upload request (ours; target 1 PUT, 0 HEAD)", repr(dict(ours_counts)))
    )
    with override_settings(STORAGES=seed_baseline(proxy.url)):
        proxy.reset()
        api_upload()
        rows.append(("S3 requests per upload (seed baseline)", repr(dict(proxy.reset()))))

    # A 100-item page, every product with an image and three renditions.
    Product.objects.all().delete()
    make_catalog(100, rendition_widths=[320, 640, 1280])
    anonymous = APIClient()

    def list_page() -> None:
        response = anonymous.get("/api/core/products/?page_size=100")
        assert response.status_code == 200

    local = build_storages(use_s3=False, media_root=tmp / "m", private_root=tmp / "p")
    with override_settings(STORAGES=ours(proxy.url)):
        list_page()
        proxy.reset()
        list_page()
        rows.append(
            ("S3 requests per product-list page (target 0)", repr(dict(proxy.reset()) or 0))
        )
        s3_storages = ours(gateway.endpoint_url)

    # Storages are built once per process in real life: build (and warm) them outside
    # the timing, then alternate blocks of requests between the two modes.
    samples: dict[str, list[float]] = {"local": [], "s3": []}
    for _ in range(repeat):
        for mode, config in (("local", local), ("s3", s3_storages)):
            with override_settings(STORAGES=config):
                list_page()
                samples[mode].append(median_seconds(list_page, 5))
    pages = {mode: statistics.median(values) for mode, values in samples.items()}
    rows.append(
        (
            "100-item list, S3 mode / local mode (target <= 1.1x)",
            f"{pages['s3'] / pages['local']:.2f}x "
            f"({pages['s3'] * 1000:.1f} ms vs {pages['local'] * 1000:.1f} ms)",
        )
    )
    report("Uploads and listing", rows)


if __name__ == "__main__":
    main()
