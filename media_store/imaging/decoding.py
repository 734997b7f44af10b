"""Decode untrusted images with bounded work: every decode is priced before it runs.

A file's bytes say little about what decoding it costs: a 300 KB GIF can grow its
canvas frame by frame, a HEIC can hold a huge second image, a progressive JPEG makes
libjpeg keep every DCT coefficient of the picture. So each decode is checked, before
it runs, against the upload's :class:`DecodeBudget`:

- every frame, every image decoded from a container and the whole canvas against
  ``MEDIA_MAX_IMAGE_PIXELS``, and all frames together against the same number;
- the number of frames against ``MEDIA_MAX_FRAMES``;
- the memory the decoders and encoders will hold at once against
  ``MEDIA_MAX_DECODE_MEMORY`` (see :meth:`DecodeBudget.still` and :meth:`frame`).

Pillow's own decompression-bomb limit is set from ``MEDIA_MAX_IMAGE_PIXELS`` too
(:func:`apply_pillow_limits`), so allocations made inside the decoders before we get
a say are refused by Pillow itself. How many decodes run at once is
:mod:`media_store.imaging.slots`' business.
"""

from __future__ import annotations

import itertools
import logging
import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import pillow_heif
from PIL import GifImagePlugin, Image

from media_store.conf import UploadLimits, megabytes
from media_store.errors import InvalidImage, MediaError

from .formats import ImageFormat, stored_format

logger = logging.getLogger(__name__)

# HEIC/HEIF photos from phones. Thumbnails, depth maps and auxiliary images are never
# stored, so they are never read: only the primary image is decoded.
pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)
# Frames sharing the global palette stay palette images instead of being expanded to
# RGB (and quantised back when re-encoded).
GifImagePlugin.LOADING_STRATEGY = GifImagePlugin.LoadingStrategy.RGB_AFTER_DIFFERENT_PALETTE_ONLY
# Pillow warns from half its limit (see apply_pillow_limits); it is our limit that counts.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

#: Pillow keeps images of three or four channels at four bytes per pixel.
_BYTES_PER_PIXEL = 4
#: Modes Image.reduce averages as they are, without a full-size copy first (it
#: premultiplies alpha modes into a copy; palette, bilevel and 16-bit ones need converting).
_SCALABLE_MODES = ("L", "RGB", "CMYK", "I", "F")
_ALPHA_MODES = ("LA", "RGBA")
#: Canvas-sized buffers an animation's decoder and encoder hold besides the frames
#: kept for the encoder: current and previous canvas, disposal area, the encoder's
#: own canvases and frame differences (measured by bench/bench_bombs.py).
_ANIMATION_CANVASES = 6

CORRUPT = (
    "The image is truncated or corrupt and cannot be decoded. "
    "Export it again from your photo app and retry."
)


def apply_pillow_limits(max_pixels: int) -> None:
    """Make Pillow refuse on its own any image over ``max_pixels``.

    Pillow raises :class:`~PIL.Image.DecompressionBombError` above *twice*
    ``MAX_IMAGE_PIXELS`` (it only warns above it), so it is set to half our limit.
    """
    Image.MAX_IMAGE_PIXELS = math.ceil(max_pixels / 2)


def too_many_pixels(limits: UploadLimits) -> str:
    return (
        f"The image has too many pixels; the limit is {limits.max_pixels:,}. "
        "Resize it and try again."
    )


@contextmanager
def image_errors(limits: UploadLimits) -> Iterator[None]:
    """Turn any failure while reading, transposing or encoding into :class:`InvalidImage`.

    The bytes are untrusted and go through several C decoders and encoders: whatever
    they raise (``OSError``, ``SyntaxError``, ``struct.error``, ``MemoryError``, ...)
    means the image cannot be used, never that the server is broken. Our own media
    errors pass through unchanged.
    """
    try:
        yield
    except MediaError:
        raise
    except Image.DecompressionBombError as exc:
        raise InvalidImage(too_many_pixels(limits)) from exc
    except Exception as exc:
        logger.info("image refused as undecodable: %s: %s", type(exc).__name__, exc)
        raise InvalidImage(CORRUPT) from exc


class DecodeBudget:
    """What decoding one upload may cost, charged before each decode."""

    def __init__(self, limits: UploadLimits, fmt: ImageFormat) -> None:
        self.limits = limits
        self.fmt = fmt
        self.frames = 0
        self.pixels = 0
        self.weighted_pixels = 0.0
        self.canvas = 0

    def _count(self, size: tuple[int, int], weight: float = 1.0) -> None:
        pixels = size[0] * size[1]
        if pixels > self.limits.max_pixels:
            raise InvalidImage(too_many_pixels(self.limits))
        self.frames += 1
        if self.frames > self.limits.max_frames:
            raise InvalidImage(
                f"The animation has more than {self.limits.max_frames} frames, the limit. "
                "Shorten it and try again."
            )
        self.pixels += pixels
        self.weighted_pixels += pixels * weight
        if self.weighted_pixels > self.limits.max_pixels:
            limit = int(self.limits.max_pixels / weight)
            raise InvalidImage(
                f"The animation has too many pixels in all its frames together; the limit is "
                f"{limit:,} for an animated {self.fmt.label}. Make it smaller or shorter and "
                "try again."
            )
        self.canvas = max(self.canvas, pixels)

    def still(
        self,
        size: tuple[int, int],
        *,
        decoded: tuple[int, int],
        mode: str,
        extra_bytes: int = 0,
        scale: bool = True,
    ) -> None:
        """Charge one image of ``size`` decoded at ``decoded`` (smaller for a JPEG
        decoded at a reduced scale) in ``mode``.

        Memory: the decoded image, plus whichever is larger of what the decoder holds
        while decoding (the format's own buffers, and ``extra_bytes`` such as a
        progressive JPEG's coefficients) and, with ``scale``, the copy scaled down to
        the stored size (after a conversion to a mode that can be scaled).
        """
        self._count(size)
        pixels = decoded[0] * decoded[1]
        working = self.fmt.working_bytes_per_pixel
        if "A" in mode:
            working += self.fmt.alpha_working_bytes_per_pixel
        while_decoding = working * pixels + extra_bytes
        scaling = 0
        factor = reduction(decoded, self.limits.max_dimension) if scale else 1
        if factor > 1:
            converted = 0 if mode in _SCALABLE_MODES else _BYTES_PER_PIXEL * pixels
            scaled = math.ceil(decoded[0] / factor) * math.ceil(decoded[1] / factor)
            scaling = converted + _BYTES_PER_PIXEL * scaled
        self._memory(_pixel_bytes(mode) * pixels + max(while_decoding, scaling))

    def frame(self, size: tuple[int, int]) -> None:
        """Charge the next frame of an animation that is re-encoded with all its frames:
        the encoder keeps every frame, the decoder and encoder a few canvases."""
        self._count(size, stored_format(self.fmt).frame_pixel_weight)
        self._memory(_BYTES_PER_PIXEL * (self.pixels + _ANIMATION_CANVASES * self.canvas))

    def _memory(self, needed: int) -> None:
        if needed > self.limits.max_decode_memory:
            raise InvalidImage(
                f"The image needs too much memory to process (about {megabytes(needed)}; "
                f"the limit is {megabytes(self.limits.max_decode_memory)}). "
                "Save it smaller, or as a plain (baseline) JPEG, and try again."
            )


def _pixel_bytes(mode: str) -> int:
    if mode in ("1", "L", "P"):
        return 1
    if mode.startswith("I;16"):
        return 2
    return _BYTES_PER_PIXEL


def reduction(size: tuple[int, int], max_dimension: int) -> int:
    """The whole factor ``size`` is divided by to fit ``max_dimension`` (1: it fits)."""
    return max(1, math.ceil(max(size) / max_dimension))


def fit(image: Image.Image, max_dimension: int) -> Image.Image:
    """``image`` scaled down to the stored size, or ``image`` itself when it fits.

    Scaling is a box average by a whole factor (:meth:`~PIL.Image.Image.reduce`):
    one pass, no intermediate image for most modes, like a JPEG's DCT scaling. Modes
    it cannot average (palette, bilevel, 16-bit) are converted first.
    """
    factor = reduction(image.size, max_dimension)
    if factor == 1:
        return image
    if image.mode not in (*_SCALABLE_MODES, *_ALPHA_MODES):
        if image.mode == "1":
            target = "L"
        elif image.mode.startswith("I;16"):
            target = "I"
        else:
            has_alpha = "A" in image.mode or "transparency" in image.info
            target = "RGBA" if has_alpha else "RGB"
        image = image.convert(target)
    return image.reduce(factor)


def decoded_frames(image: Image.Image, budget: DecodeBudget) -> Iterator[Image.Image]:
    """Each frame of ``image`` in turn, decoded after it was charged to ``budget``.

    Frames are counted as they come (a GIF's frame count is only known by walking
    the whole file); seeking reads the next frame's header, which is where a GIF may
    grow its canvas, and the charge happens before its pixels are decoded.
    """
    for index in itertools.count():
        if index:
            try:
                image.seek(index)
            except EOFError:
                return
        budget.frame(image.size)
        image.load()
        yield image
