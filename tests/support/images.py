"""Test images made on the fly with Pillow."""

from __future__ import annotations

import io
import random
import struct

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageChops


def image_bytes(
    fmt: str = "JPEG", size: tuple[int, int] = (64, 48), color: str = "red", **save: object
) -> bytes:
    buffer = io.BytesIO()
    mode = "RGBA" if fmt in ("PNG", "WEBP") else "RGB"
    Image.new(mode, size, color).save(buffer, format=fmt, **save)
    return buffer.getvalue()


def encode(frames: list[Image.Image], fmt: str, **options: object) -> bytes:
    """``frames`` saved as one image, or as an animation when there are several."""
    buffer = io.BytesIO()
    frames[0].save(
        buffer, format=fmt, save_all=len(frames) > 1, append_images=frames[1:], **options
    )
    return buffer.getvalue()


def upload(
    name: str = "photo.jpg",
    data: bytes | None = None,
    content_type: str = "image/jpeg",
) -> SimpleUploadedFile:
    return SimpleUploadedFile(
        name, image_bytes() if data is None else data, content_type=content_type
    )


def gps_jpeg_rotated() -> bytes:
    """40x20 JPEG, left half red, right half blue, EXIF orientation 6 and a GPS position."""
    image = Image.new("RGB", (40, 20), "red")
    image.paste(Image.new("RGB", (20, 20), "blue"), (20, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 0.0)})
    exif[0x010F] = "PhoneMaker"
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif.tobytes(), quality=95)
    return buffer.getvalue()


def rotated_jpeg_with_broken_exif() -> bytes:
    """40x20 JPEG, EXIF orientation 6, with a tag of the wrong type that Pillow reads but
    cannot write back (its ``exif_transpose`` raises ``struct.error`` on it)."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x0112] = 6
    data = bytearray(exif.tobytes())
    make = data.index(struct.pack(">H", 0x010F))
    data[make : make + 2] = struct.pack(">H", 0x0156)  # TransferRange, which holds numbers
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), "red").save(buffer, format="JPEG", exif=bytes(data))
    return buffer.getvalue()


def phone_photo(
    size: tuple[int, int] = (4000, 3000), orientation: int = 6, quality: int = 92, seed: int = 12
) -> bytes:
    """A camera-like JPEG (12 MP by default) that compresses as a phone photo does: broad
    shapes, fine detail and sensor grain (seeded, so the same bytes every run; another
    ``seed``, another photo), with an EXIF orientation (6: the phone was held upright, so
    it shows as portrait)."""
    rng = random.Random(seed)

    def noise(scale: int) -> Image.Image:
        small = (size[0] // scale, size[1] // scale)
        data = rng.randbytes(small[0] * small[1] * 3)
        return Image.frombytes("RGB", small, data).resize(size, Image.Resampling.BICUBIC)

    picture = Image.blend(noise(64), noise(4), 0.15)
    grain = Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))
    grain = grain.point(lambda v: 128 + (v - 128) // 8).convert("RGB")
    picture = ImageChops.add(picture, grain, offset=-128)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=quality, exif=exif.tobytes())
    return buffer.getvalue()


def photo_jpeg(width: int = 4000, height: int = 3000, *, megabytes: float = 4) -> bytes:
    """A photo-like JPEG (smooth shapes plus a little sensor noise) of about ``megabytes``:
    at 640 px and wider its AVIF renditions come out about a fifth smaller than its WebP
    ones (a grainy photo's do not: :func:`phone_photo`)."""
    coarse = Image.effect_noise((width // 16, height // 16), 90).convert("RGB")
    coarse = coarse.resize((width, height), Image.Resampling.BICUBIC)
    grain = Image.effect_noise((width, height), 3).convert("RGB")
    picture = ImageChops.add(coarse, grain, offset=-128)
    best = b""
    for quality in range(95, 50, -1):
        buffer = io.BytesIO()
        picture.save(buffer, format="JPEG", quality=quality)
        best = buffer.getvalue()
        if len(best) <= megabytes * 1024 * 1024:
            break
    return best
