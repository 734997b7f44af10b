"""Every decode is priced before it runs: frames, canvases, containers, scans and memory."""

from __future__ import annotations

import dataclasses
import io
import threading

import pillow_heif
import pytest
from django.core.files.base import ContentFile
from PIL import Image, ImageFile

from media_store.conf import UploadLimits, media_setting
from media_store.errors import InvalidImage
from media_store.imaging.prepare import prepare_image
from media_store.imaging.renditions import make_renditions
from media_store.imaging.slots import decode_slot
from tests.support import bombs

LIMITS = UploadLimits(max_bytes=20_000_000, max_pixels=40_000_000, max_files=5)


def prepare(data: bytes, *, reencode: bool = True, **limits: int):
    return prepare_image(
        io.BytesIO(data), limits=dataclasses.replace(LIMITS, **limits), reencode=reencode
    )


def test_a_gif_growing_its_canvas_is_charged_before_the_frame_is_decoded():
    growing = bombs.gif_canvas_growth([(1, 1), (50, 50), (400, 400)])
    assert Image.open(io.BytesIO(growing)).size == (1, 1)  # the header says one pixel
    with pytest.raises(InvalidImage, match="too many pixels"):
        prepare(growing, max_pixels=100_000)
    stored = prepare(growing, max_pixels=200_000)
    assert (stored.width, stored.height) == (1, 1)  # frames cut to the logical screen


def test_a_frame_declaring_a_huge_size_is_refused_before_it_is_decoded():
    with pytest.raises(InvalidImage, match="too many pixels"):
        prepare(bombs.gif_declared_canvas((65535, 65535)))


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP"])
def test_frames_are_capped(fmt):
    assert prepare(bombs.animation(fmt, 5, (8, 8)), max_frames=5).content_type.endswith(fmt.lower())
    with pytest.raises(InvalidImage, match="more than 5 frames"):
        prepare(bombs.animation(fmt, 6, (8, 8)), max_frames=5)


@pytest.mark.parametrize(("fmt", "weight"), [("GIF", 1), ("PNG", 1), ("WEBP", 2.5)])
def test_all_frames_together_count_against_the_pixel_limit(fmt, weight):
    """WebP frames count 2.5 times: encoding them costs that much more CPU."""
    four_frames = bombs.animation(fmt, 4, (50, 50))  # 2,500 pixels each
    with pytest.raises(InvalidImage, match="all its frames"):
        prepare(four_frames, max_pixels=int(9_000 * weight))
    prepare(four_frames, max_pixels=int(10_000 * weight))


def test_an_animation_is_charged_for_the_memory_its_encoder_holds():
    two_frames = bombs.animation("PNG", 2, (400, 400))
    with pytest.raises(InvalidImage, match="too much memory"):
        prepare(two_frames, max_decode_memory=4_000_000)  # 8 canvases of 640 KB
    prepare(two_frames, max_decode_memory=6_000_000)


def test_a_progressive_jpeg_is_charged_for_its_coefficients():
    progressive = bombs.flat("JPEG", (800, 600), progressive=True, subsampling=0)
    baseline = bombs.flat("JPEG", (800, 600), subsampling=0)
    # Decoded, either is 1.9 MB; the progressive one also holds 2.9 MB of coefficients.
    for reencode in (True, False):
        prepare(baseline, reencode=reencode, max_decode_memory=2_500_000)
        with pytest.raises(InvalidImage, match="too much memory"):
            prepare(progressive, reencode=reencode, max_decode_memory=2_500_000)


@pytest.mark.parametrize("reencode", [True, False])
def test_a_scan_bomb_is_refused_before_libjpeg_sees_it(reencode):
    bomb = bombs.progressive_jpeg_with_scans((64, 64), 500)
    with pytest.raises(InvalidImage, match="more than 24 progressive scans"):
        prepare(bomb, reencode=reencode)
    assert prepare(bombs.progressive_jpeg_with_scans((64, 64), 24), reencode=reencode)


def test_a_heic_second_image_is_never_decoded():
    # Decoding the second image would fail: it declares 30000x30000 and holds 160x96.
    data = bombs.heic_with_second_image((64, 48), (30000, 30000))
    image = Image.open(io.BytesIO(data))
    assert image.n_frames == 2
    image.seek(1)
    with pytest.raises(ValueError, match="size"):
        image.load()
    prepared = prepare(data, max_pixels=10_000)
    assert (prepared.width, prepared.height, prepared.content_type) == (64, 48, "image/jpeg")


def test_heic_thumbnails_depth_maps_and_auxiliary_images_are_never_read():
    assert not (
        pillow_heif.options.THUMBNAILS
        or pillow_heif.options.DEPTH_IMAGES
        or pillow_heif.options.AUX_IMAGES
    )


def test_a_heic_is_charged_for_libheifs_own_buffer():
    heic = bombs.flat("HEIF", (600, 400), quality=50)
    with pytest.raises(InvalidImage, match="too much memory"):
        prepare(heic, max_decode_memory=1_500_000)  # 0.96 MB decoded + 0.96 MB in libheif
    prepare(heic, max_decode_memory=2_000_000)


def test_a_webp_is_charged_for_libwebps_decoder_and_encoder():
    """25 bytes a pixel: a 10 MP noise WebP took 400 MB when this said 21 (and the
    encoder ran at method 4); at the default 200 MB about 8 MP fit."""
    with pytest.raises(InvalidImage, match="too much memory"):
        prepare(bombs.flat("WEBP", (3160, 3160)), max_decode_memory=200 * 1024 * 1024)
    prepare(bombs.flat("WEBP", (2800, 2800)), max_decode_memory=200 * 1024 * 1024)


def test_a_webp_with_transparency_is_charged_for_its_alpha_plane_too():
    """41 bytes a pixel: libwebp compresses the alpha plane with buffers of its own (an
    8 MP WebP with noisy alpha took 334 MB when only 25 were charged)."""

    def translucent(side: int) -> bytes:
        buffer = io.BytesIO()
        Image.new("RGBA", (side, side), (90, 140, 200, 128)).save(buffer, "WEBP")
        return buffer.getvalue()

    budget = 200 * 1024 * 1024
    with pytest.raises(InvalidImage, match="too much memory"):
        prepare(translucent(2300), max_decode_memory=budget)
    prepare(translucent(2250), max_decode_memory=budget)


def test_pillow_refuses_images_over_our_limit_on_its_own(settings):
    settings.MEDIA_MAX_IMAGE_PIXELS = 1_000_000
    assert Image.MAX_IMAGE_PIXELS == 500_000  # Pillow errors above twice this
    Image.open(io.BytesIO(bombs.flat("PNG", (1000, 1000))))
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(bombs.flat("PNG", (1001, 1000))))


def test_re_encoded_images_are_stored_at_most_the_maximum_dimension():
    jpeg, png = bombs.flat("JPEG", (1000, 600)), bombs.flat("PNG", (1000, 600))
    # JPEG: decoded straight at 1/4 scale (1/2 would still be 500 wide).
    assert prepare(jpeg, max_dimension=300).width == 250
    assert prepare(png, max_dimension=300).width == 250  # averaged by a factor of 4
    assert prepare(png, max_dimension=1000).width == 1000
    assert prepare(jpeg, reencode=False, max_dimension=300).width == 1000  # lossless copy


@pytest.mark.parametrize("size", [(1, 4097), (3, 9000), (9000, 1), (9000, 3)])
def test_a_narrow_jpeg_over_the_maximum_dimension_is_stored_scaled(size):
    stored = prepare(bombs.flat("JPEG", size), max_dimension=4096)
    assert max(stored.width, stored.height) <= 4096 and min(stored.width, stored.height) >= 1


def test_the_lossless_path_decodes_the_bytes_it_stores_and_nothing_else(monkeypatch):
    loaded = []
    original_load = ImageFile.ImageFile.load

    def recording_load(self):
        if self.fp is not None and self.tile:
            position = self.fp.tell()
            self.fp.seek(0)
            loaded.append(self.fp.read())
            self.fp.seek(position)
        return original_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", recording_load)
    jpeg = bombs.flat("JPEG", (320, 240)) + b"trailing bytes"
    prepared = prepare(jpeg, reencode=False)
    assert loaded == [prepared.content.read()]  # one decode, of the stored copy


def test_a_copy_that_does_not_decode_is_never_stored():
    jpeg = bombs.flat("JPEG", (64, 64))
    sos = jpeg.index(b"\xff\xda")
    # The scan asks for Huffman tables 3, never defined: structurally fine, not decodable.
    broken = jpeg[: sos + 6] + b"\x33" + jpeg[sos + 7 :]
    with pytest.raises(InvalidImage, match="corrupt"):
        prepare(broken, reencode=False)


def test_renditions_raise_invalid_image_when_the_content_cannot_be_read():
    png = bombs.flat("PNG", (400, 300))
    with pytest.raises(InvalidImage):
        make_renditions(ContentFile(png[: len(png) // 2]), [100])


def test_at_most_the_configured_number_of_decodes_run_at_once():
    slots = media_setting("MEDIA_DECODE_CONCURRENCY")
    holding, release, third_in = threading.Barrier(slots + 1), threading.Event(), threading.Event()

    def hold() -> None:
        with decode_slot():
            holding.wait(timeout=10)
            release.wait(timeout=10)

    def third() -> None:
        with decode_slot():
            third_in.set()

    holders = [threading.Thread(target=hold) for _ in range(slots)]
    for thread in holders:
        thread.start()
    holding.wait(timeout=10)  # every slot is taken
    waiting = threading.Thread(target=third)
    waiting.start()
    assert not third_in.wait(timeout=0.5)
    release.set()
    assert third_in.wait(timeout=10)
    for thread in [*holders, waiting]:
        thread.join(timeout=10)
