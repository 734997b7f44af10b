"""Worst-case CPU and memory of validating and processing one upload, bombs included.

    uv run python bench/bench_bombs.py [--only NAME ...]

Builds the costliest inputs we can fit in ``MEDIA_MAX_UPLOAD_BYTES`` (canvas-growing
and many-frame GIFs, many-frame APNG/WebP, HEIC with a huge second image, progressive
JPEGs with many scans, highly compressible PNG/WebP/JPEG at the pixel limit, and the
largest ordinary photos) and sends each, in a fresh process with the default
settings, through both paths an upload takes:

- ``private``: ``prepare_image(reencode=True)`` (order images: always re-encoded);
- ``public``: ``prepare_image(reencode=False)`` then ``make_renditions`` with the
  default widths (product images).

The child process first warms up (imports, codecs, one small image through both
paths), resets its peak RSS through /proc, then reports CPU seconds (user + system,
all threads) and peak RSS growth. Targets: at most 2 s of CPU and 256 MB. The
ordinary 12-megapixel photo is the baseline the worst cases are compared with.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from common import REPO, noise_jpeg, report

from tests.support.images import photo_jpeg

MB = 1024 * 1024
PATHS = ("private", "public")


def corpus() -> dict[str, bytes]:
    from PIL import Image, ImageChops

    from tests.support import bombs

    def noise_png(side: int) -> bytes:
        buffer = io.BytesIO()
        Image.effect_noise((side, side), 80).convert("RGB").save(buffer, format="PNG")
        return buffer.getvalue()

    def busy_animation(fmt: str, count: int, size: tuple[int, int]) -> bytes:
        """Every frame differs from the last everywhere (no delta to skip), yet compresses."""
        base = Image.linear_gradient("L").resize(size).convert("RGB")
        frames = [ImageChops.offset(base, i * 3, i) for i in range(count)]
        buffer = io.BytesIO()
        frames[0].save(buffer, format=fmt, save_all=True, append_images=frames[1:], duration=40)
        return buffer.getvalue()

    def photo_webp(width: int, height: int) -> bytes:
        buffer = io.BytesIO()
        Image.open(io.BytesIO(photo_jpeg(width, height, megabytes=6))).save(
            buffer, format="WEBP", quality=85
        )
        return buffer.getvalue()

    def noise_webp(size: tuple[int, int]) -> bytes:
        """Two-level RGBA noise, lossless: the costliest still WebP for libwebp's encoder."""
        two_levels = bytes((byte & 1) * 255 for byte in range(256))
        pixels = os.urandom(size[0] * size[1] * 4).translate(two_levels)
        buffer = io.BytesIO()
        Image.frombytes("RGBA", size, pixels).save(buffer, "WEBP", lossless=True, method=0)
        return buffer.getvalue()

    def noise_rgb_webp(size: tuple[int, int]) -> bytes:
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
        buffer = io.BytesIO()
        image.save(buffer, "WEBP", quality=90, method=0)
        return buffer.getvalue()

    def noisy_alpha_webp(size: tuple[int, int]) -> bytes:
        """A flat colour under noisy transparency, lossy: the alpha plane is the work."""
        image = Image.new("RGBA", size, (200, 30, 30, 255))
        image.putalpha(Image.frombytes("L", size, os.urandom(size[0] * size[1])))
        buffer = io.BytesIO()
        image.save(buffer, "WEBP", quality=90, method=0)
        return buffer.getvalue()

    def noise_animation(count: int, side: int) -> bytes:
        """Lossy noise frames at quality 5: small files, the most work to encode again."""
        frames = [
            Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)) for _ in range(count)
        ]
        buffer = io.BytesIO()
        frames[0].save(buffer, "WEBP", save_all=True, append_images=frames[1:], quality=5, method=0)
        return buffer.getvalue()

    def progressive_444_with_scans(size: tuple[int, int], scans: int) -> bytes:
        data = bombs.flat("JPEG", size, progressive=True, subsampling=0)
        last_scan = data.rindex(b"\xff\xda")
        return data[:-2] + data[last_scan:-2] * (scans - data.count(b"\xff\xda")) + b"\xff\xd9"

    return {
        "photo 12 MP (baseline)": photo_jpeg(4032, 3024, megabytes=3.5),
        "photo 30 MP": photo_jpeg(6720, 4480, megabytes=6.6),
        "noise JPEG at the size limit": noise_jpeg(9.6),
        "flat JPEG 40 MP": bombs.flat("JPEG", (7744, 5164)),
        "flat progressive JPEG 40 MP 4:2:0": bombs.flat("JPEG", (7744, 5164), progressive=True),
        "flat progressive JPEG 40 MP 4:4:4": bombs.flat(
            "JPEG", (7744, 5164), progressive=True, subsampling=0
        ),
        "progressive JPEG 40 MP, 24 scans": bombs.progressive_jpeg_with_scans((7744, 5164), 24),
        "progressive JPEG 4:4:4 29 MP, 24 scans": progressive_444_with_scans((5400, 5400), 24),
        "progressive JPEG 40 MP, 20000 scans": bombs.progressive_jpeg_with_scans(
            (7744, 5164), 20000
        ),
        "flat PNG 40 MP RGB": bombs.flat("PNG", (6324, 6324)),
        "flat PNG 40 MP RGBA": bombs.flat("PNG", (6324, 6324), "RGBA"),
        "flat PNG 22 MP RGBA": bombs.flat("PNG", (4690, 4690), "RGBA"),
        "flat palette PNG 33 MP": bombs.flat("PNG", (5744, 5744), "P"),
        "noise PNG at the size limit": noise_png(1800),
        "PNG zTXt bomb": bombs.png_text_bomb((100, 100), 200),
        "flat WebP 40 MP": bombs.flat("WEBP", (16383, 2441)),
        "flat WebP 10 MP": bombs.flat("WEBP", (3600, 2700)),
        "flat WebP 8 MP": bombs.flat("WEBP", (3264, 2448)),
        "photo-like WebP 8 MP": photo_webp(3264, 2448),
        "noise RGB WebP 8 MP, lossy": noise_rgb_webp((2828, 2828)),
        "noise RGBA WebP 5 MP, lossless": noise_webp((2236, 2236)),
        "WebP 8 MP with noisy alpha": noisy_alpha_webp((2850, 2850)),
        "WebP 5 MP with noisy alpha": noisy_alpha_webp((2236, 2236)),
        "WebP 6 busy frames 1600x1600": busy_animation("WEBP", 6, (1600, 1600)),
        "APNG 10 busy frames 1800x1800": busy_animation("PNG", 10, (1800, 1800)),
        "GIF 10 busy frames 1800x1800": busy_animation("GIF", 10, (1800, 1800)),
        "GIF canvas growth to 6300x6300": bombs.gif_canvas_growth(
            [(1, 1), (600, 600), (2000, 2000), (6300, 6300)]
        ),
        "GIF declaring 65535x65535": bombs.gif_declared_canvas((65535, 65535)),
        "GIF 20000 frames": bombs.animation("GIF", 20000, (2, 2)),
        "GIF 300 busy frames 360x360": busy_animation("GIF", 300, (360, 360)),
        "APNG 5000 frames": bombs.animation("PNG", 5000, (2, 2)),
        "APNG 150 busy frames 500x500": busy_animation("PNG", 150, (500, 500)),
        "WebP 5000 frames": bombs.animation("WEBP", 5000, (2, 2)),
        "WebP 60 busy frames 500x500": busy_animation("WEBP", 60, (500, 500)),
        "WebP 120 noise frames 360x360": noise_animation(120, 360),
        "WebP 300 noise frames 360x360": noise_animation(300, 360),
        "APNG 2 frames 4472x4472": bombs.animation("PNG", 2, (4472, 4472)),
        "HEIC 24 MP": bombs.flat("HEIF", (5712, 4284), quality=50),
        "HEIC 40 MP": bombs.flat("HEIF", (7296, 5472), quality=50),
        "HEIC, second image declaring 30000x30000": bombs.heic_with_second_image(
            (4032, 3024), (30000, 30000)
        ),
    }


def child(path: str, which: str) -> None:
    """Run one input through one path in this (fresh) process and print the figures."""
    sys.path.insert(0, str(REPO))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SECRET_KEY": "bench-" + "k" * 50,
            "DEBUG": "False",
        }
    )
    import django

    django.setup()
    from media_store.conf import media_setting, upload_limits
    from media_store.errors import MediaError
    from media_store.imaging.prepare import prepare_image
    from media_store.imaging.renditions import make_renditions
    from tests.support.images import image_bytes

    widths = media_setting("MEDIA_RENDITION_WIDTHS")

    def run(data: bytes) -> str:
        prepared = prepare_image(
            io.BytesIO(data), limits=upload_limits(), reencode=which != "public"
        )
        if which == "public":
            make_renditions(prepared.content, widths)
        return f"stored {prepared.width}x{prepared.height}"

    for warm in ("JPEG", "PNG", "GIF", "WEBP", "HEIF"):  # small: load the codecs only
        run(image_bytes(warm, size=(64, 48)))
    data = Path(path).read_bytes()
    Path("/proc/self/clear_refs").write_text("5")  # peak RSS := current RSS
    before = _status()["VmRSS"]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    try:
        outcome = run(data)
    except MediaError as exc:
        outcome = f"{exc.status_code} {exc.code}"
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
    peak = max(0, _status()["VmHWM"] - before)
    print(json.dumps({"outcome": outcome, "cpu": cpu, "peak": peak}))


def _status() -> dict[str, int]:
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) * 1024
    return values


def measure(data: bytes, which: str) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".bin") as file:
        file.write(data)
        file.flush()
        done = subprocess.run(
            [sys.executable, __file__, "--child", file.name, which],
            capture_output=True,
            text=True,
            timeout=600,
        )
    if done.returncode:
        return {"outcome": f"crashed: {done.stderr.strip().splitlines()[-1:]}", "cpu": 0, "peak": 0}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs=2, metavar=("FILE", "PATH"))
    parser.add_argument("--only", nargs="*", default=[])
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    from common import setup_django, workdir

    setup_django(workdir())
    from media_store.conf import upload_limits

    max_bytes = upload_limits().max_bytes
    inputs = {
        name: data
        for name, data in corpus().items()
        if not args.only or any(part in name for part in args.only)
    }
    rows, results = [], {}
    for name, data in inputs.items():
        assert len(data) <= max_bytes, f"{name} is {len(data)} bytes, over the upload limit"
        results[name] = {which: measure(data, which) for which in PATHS}
        cells = [
            f"{r['outcome']}, {r['cpu']:.2f} s, {r['peak'] / MB:.0f} MB"
            for r in results[name].values()
        ]
        rows.append((f"{name} ({len(data) / MB:.2f} MB)", " / ".join(cells)))
        print(name, cells, flush=True)
    figures = [(r, name, which) for name, by in results.items() for which, r in by.items()]
    cpu, cpu_name, cpu_path = max(figures, key=lambda f: f[0]["cpu"])
    rss, rss_name, rss_path = max(figures, key=lambda f: f[0]["peak"])
    baseline = results.get("photo 12 MP (baseline)", {}).get("private")
    rows.append(
        (
            "**worst CPU** (target <= 2 s)",
            f"{cpu['cpu']:.2f} s: {cpu_name}, {cpu_path}"
            + (f"; {cpu['cpu'] / baseline['cpu']:.1f}x the 12 MP photo" if baseline else ""),
        )
    )
    rows.append(
        (
            "**worst peak RSS growth** (target <= 256 MB)",
            f"{rss['peak'] / MB:.0f} MB: {rss_name}, {rss_path}"
            + (f"; {rss['peak'] / baseline['peak']:.1f}x the 12 MP photo" if baseline else ""),
        )
    )
    report(
        "Worst-case work per upload (private / public path: outcome, CPU, peak RSS growth)", rows
    )


if __name__ == "__main__":
    main()
