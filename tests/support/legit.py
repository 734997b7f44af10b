"""Ordinary images of every accepted format and of varied content, made from a seed.

Noise (including raw random bytes, the content most likely to hold any byte sequence
once compressed), blurred noise, gradients, photo-like pictures, flat areas, stripes
and pixels whose bytes spell HTML; grey, colour, palette and transparent; from a few
pixels to several megapixels; still and animated.
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterator

import pillow_heif
from PIL import Image, ImageChops, ImageFilter, ImageOps

pillow_heif.register_heif_opener()

ANIMATED = {"GIF", "PNG", "WEBP"}


def _size(rng: random.Random, large: bool) -> tuple[int, int]:
    if large:
        return rng.randint(1200, 3000), rng.randint(900, 2200)
    return rng.randint(1, 400), rng.randint(1, 400)


def _content(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    width, height = size
    kinds = ["random", "noise", "blur", "gradient", "photo", "flat", "stripes", "markup"]
    kind = rng.choice(kinds)
    if kind == "markup":  # pixels whose bytes spell markup, as any data can
        text = b"<svg onload=alert(1)><script>javascript:</script><html>"
        return Image.frombytes(
            "L", size, (text * (width * height // len(text) + 1))[: width * height]
        )
    if kind == "random":
        return Image.frombytes("RGB", size, rng.randbytes(width * height * 3))
    if kind == "noise":
        return Image.effect_noise(size, rng.uniform(5, 120)).convert("RGB")
    if kind == "blur":
        noise = Image.effect_noise(size, 100).convert("RGB")
        return noise.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 6)))
    if kind == "gradient":
        ramp = Image.linear_gradient("L") if rng.random() < 0.5 else Image.radial_gradient("L")
        ramp = ramp.resize(size).rotate(rng.uniform(0, 360))
        return ImageOps.colorize(ramp, _colour(rng), _colour(rng))
    if kind == "photo":
        coarse = Image.effect_noise((max(1, width // 16), max(1, height // 16)), 90)
        coarse = coarse.convert("RGB").resize(size, Image.Resampling.BICUBIC)
        return ImageChops.add(coarse, Image.effect_noise(size, 4).convert("RGB"), offset=-128)
    if kind == "flat":
        return Image.new("RGB", size, _colour(rng))
    stripes = Image.new("RGB", size, _colour(rng))
    step = rng.randint(1, 16)
    for x in range(0, width, 2 * step):
        stripes.paste(_colour(rng), (x, 0, min(width, x + step), height))
    return stripes


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return rng.randrange(256), rng.randrange(256), rng.randrange(256)


def _mode(image: Image.Image, fmt: str, rng: random.Random) -> Image.Image:
    choices = {
        "JPEG": ["RGB", "L", "CMYK"],
        "PNG": ["RGB", "RGBA", "L", "LA", "P", "1"],
        "GIF": ["P", "L", "RGB"],
        "WEBP": ["RGB", "RGBA"],
        "HEIF": ["RGB", "RGBA"],
    }[fmt]
    mode = rng.choice(choices)
    if mode in ("RGBA", "LA"):
        alpha = Image.linear_gradient("L").resize(image.size)
        converted = image.convert(mode[:-1])
        converted.putalpha(alpha)
        return converted
    return image.convert(mode)


def _save(fmt: str, frames: list[Image.Image], rng: random.Random) -> bytes:
    buffer = io.BytesIO()
    options: dict[str, object] = {}
    if fmt == "JPEG":
        options.update(quality=rng.randint(40, 98), progressive=rng.random() < 0.3)
        options["subsampling"] = rng.choice([0, 1, 2])
    elif fmt == "WEBP":
        options.update(quality=rng.randint(40, 98), lossless=rng.random() < 0.3)
    elif fmt == "HEIF":
        options.update(quality=rng.randint(40, 95))
    elif fmt == "PNG":
        options.update(compress_level=rng.choice([0, 1, 6, 9]))  # 0: pixels stored as they are
    if len(frames) > 1:
        options.update(save_all=True, append_images=frames[1:], duration=rng.randint(20, 200))
    frames[0].save(buffer, format=fmt, **options)
    return buffer.getvalue()


def legit_images(
    fmt: str, count: int, *, max_bytes: int, seed: int = 0
) -> Iterator[tuple[str, bytes]]:
    """``count`` varied images in ``fmt`` of at most ``max_bytes``: (description, bytes)."""
    rng = random.Random(f"{fmt}-{seed}")
    index = 0
    large_every = 100 if fmt == "HEIF" else 30  # x265 takes seconds per large image
    while index < count:
        large = index % large_every == 0
        size = _size(rng, large)
        frames = 1
        if fmt in ANIMATED and not large and rng.random() < 0.3:
            frames = rng.randint(2, 6)
        image = _mode(_content(rng, size), fmt, rng)
        if fmt == "WEBP" and "A" in image.mode:
            # Within the default memory budget's 5 MP for a transparent WebP: a larger
            # one is refused by design, with a message that says so.
            image.thumbnail((2236, 2236))
        sequence = [image] + [image.rotate(90 * i) for i in range(1, frames)]
        data = _save(fmt, sequence, rng)
        if len(data) <= max_bytes:  # a larger one would rightly be refused
            yield f"{fmt} #{index} {size[0]}x{size[1]} {image.mode} x{frames}", data
            index += 1
