"""Rendition cost per megapixel, and the app's work per direct upload.

    uv run python bench/bench_renditions.py

1. Renditions (320/640/1280 px, AVIF and WebP) per megapixel of JPEG source, as a ratio
   to decoding the same JPEG fully once (the baseline, measured in the same run).
2. The rendition task's work per 12 MP photo with AVIF beside WebP, as a ratio to WebP
   only (the renditions before AVIF; goal: at most 2x), wall clock and CPU, and the
   bytes of each.
3. A direct upload: request bytes through the app (0: the browser sends the file to
   the bucket) and app CPU for issue + finalize, as a ratio to the CPU of the same
   image uploaded through the API.
"""

from __future__ import annotations

import io
import json
import resource
import statistics
import time

from common import noise_jpeg, report, setup_django, start_gateway, workdir

from tests.support.images import photo_jpeg


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    tmp = workdir()
    setup_django(tmp)
    from django.core.files.base import ContentFile
    from PIL import Image

    from media_store.imaging.renditions import make_renditions

    rows = []
    for megabytes in (1, 4, 12):
        data = noise_jpeg(megabytes)
        with Image.open(io.BytesIO(data)) as probe:
            megapixels = probe.width * probe.height / 1e6

        def decode(data: bytes = data) -> None:
            Image.open(io.BytesIO(data)).load()

        def renditions(data: bytes = data) -> None:
            make_renditions(ContentFile(data), [320, 640, 1280])

        samples = {"decode": [], "renditions": []}
        for _ in range(5):
            for name, fn in (("decode", decode), ("renditions", renditions)):
                started = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - started)
        decode_s, rend_s = (statistics.median(samples[k]) for k in ("decode", "renditions"))
        rows.append(
            (
                f"renditions of a {megapixels:.1f} MP JPEG",
                f"{rend_s * 1000 / megapixels:.1f} ms/MP; {rend_s / decode_s:.2f}x one full decode",
            )
        )

    rows += avif_rows()

    gateway = start_gateway(tmp)
    try:
        rows += direct_upload_rows(gateway, tmp)
    finally:
        if gateway.env is not None:
            gateway.ceph("stop")
    report("Renditions and direct uploads", rows)


def avif_rows() -> list[tuple[str, str]]:
    from media_store.imaging.formats import RENDITION_FORMATS
    from tests.support.images import phone_photo

    rows = []
    photos = {
        "grainy 12 MP phone photo": phone_photo(),
        "smooth 12 MP photo": photo_jpeg(4000, 3000, megabytes=4),
    }
    for label, data in photos.items():
        rows += _avif_rows(label, data, RENDITION_FORMATS)
    return rows


def _avif_rows(label: str, data: bytes, formats) -> list[tuple[str, str]]:
    from django.core.files.base import ContentFile

    from media_store.imaging.renditions import make_renditions

    webp_only = tuple(fmt for fmt in formats if fmt.name == "WEBP")
    variants = {"WebP only": webp_only, "AVIF and WebP": formats}
    wall: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    made = {}
    for _ in range(5):  # interleaved, so drift hits both alike
        for name, chosen in variants.items():
            started, started_cpu = time.perf_counter(), cpu_seconds()
            made[name] = make_renditions(ContentFile(data), [320, 640, 1280], chosen)
            wall[name].append(time.perf_counter() - started)
            cpu[name].append(cpu_seconds() - started_cpu)
    base_wall, base_cpu = (statistics.median(d["WebP only"]) for d in (wall, cpu))
    both_wall, both_cpu = (statistics.median(d["AVIF and WebP"]) for d in (wall, cpu))
    both = made["AVIF and WebP"]
    sizes = {(image.width, image.content_type): image.content.size for image in both.images}
    widths = sorted({width for width, _ in sizes})
    if both.dropped:
        kept = "AVIF dropped: the widest no smaller than its WebP"
    else:
        kept = ", ".join(
            f"{w}: {sizes[(w, 'image/avif')] / sizes[(w, 'image/webp')]:.2f}" for w in widths
        )
    return [
        (
            f"rendition task, {label}: AVIF and WebP / WebP only (goal <= 2x)",
            f"{both_wall / base_wall:.2f}x wall ({both_wall * 1000:.0f} / {base_wall * 1000:.0f}"
            f" ms), {both_cpu / base_cpu:.2f}x CPU",
        ),
        (f"AVIF bytes / WebP bytes per width, {label}", kept),
    ]


def direct_upload_rows(gateway, tmp) -> list[tuple[str, str]]:
    from django.contrib.auth import get_user_model
    from django.test.utils import override_settings
    from rest_framework.test import APIClient

    from core.models import Product
    from media_store.storage.bucket import apply_public_read_policy
    from media_store.storage.config import S3Settings, build_storages
    from tests.support.direct import send

    bucket = gateway.new_bucket()
    apply_public_read_policy(gateway.client(), bucket)
    s3 = S3Settings(
        bucket_name=bucket,
        access_key=gateway.access_key,
        secret_key=gateway.secret_key,
        endpoint_url=gateway.endpoint_url,
        provider="ceph",  # our gateway; POST grants
    )
    user = get_user_model().objects.create_user("direct", password="x")
    product = Product.objects.create(name="P", slug="p", price="1.00")
    api = APIClient()
    api.force_authenticate(user)
    jpeg = noise_jpeg(4)
    lines = json.dumps([{"product": product.pk, "quantity": 1}])
    through_app_bytes = {"direct": 0}

    def direct() -> None:
        grant = api.post(
            "/api/media/uploads/",
            {"purpose": "order", "content_type": "image/jpeg", "size": len(jpeg)},
            format="json",
        ).json()
        request_cpu = cpu_seconds()  # the browser's part: not the app's work
        status, _ = send(grant, jpeg, content_type="image/jpeg")
        assert status < 300, status
        direct.browser_cpu += cpu_seconds() - request_cpu
        response = api.post(
            "/api/core/orders/", {"lines": lines, "uploads": [grant["id"]]}, format="json"
        )
        assert response.status_code == 201, response.content

    direct.browser_cpu = 0.0

    def through_api() -> None:
        response = api.post(
            "/api/core/orders/",
            {"lines": lines, "images": [io.BytesIO(jpeg)]},
            format="multipart",
        )
        assert response.status_code == 201, response.content

    with override_settings(
        STORAGES=build_storages(use_s3=True, s3=s3, media_root=tmp / "m", private_root=tmp / "p")
    ):
        direct()
        through_api()
        cpu = {"direct": [], "api": []}
        for _ in range(5):
            direct.browser_cpu = 0.0
            started = cpu_seconds()
            direct()
            cpu["direct"].append(cpu_seconds() - started - direct.browser_cpu)
            started = cpu_seconds()
            through_api()
            cpu["api"].append(cpu_seconds() - started)
    direct_cpu, api_cpu = (statistics.median(cpu[k]) for k in ("direct", "api"))
    return [
        (
            "request bytes through the app, direct upload",
            f"{through_app_bytes['direct']} (of {len(jpeg):,})",
        ),
        (
            "app CPU per 4 MB order image: direct (issue + finalize) / through the API",
            f"{direct_cpu / api_cpu:.2f}x ({direct_cpu * 1000:.0f} ms vs {api_cpu * 1000:.0f} ms); "
            "finalize still downloads and re-encodes the image server-side",
        ),
    ]


if __name__ == "__main__":
    main()
