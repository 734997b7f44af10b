"""Mutation fuzzing of the whole pipeline: whatever the bytes, only our media errors come out.

Small seeds of every accepted format (JPEG, progressive JPEG, PNG, APNG, GIF, WebP,
animated WebP, HEIC, and a JPEG full of metadata segments) are mutated by Hypothesis
(bytes flipped, overwritten, inserted, deleted, duplicated, the file cut short) and
sent through validation on both paths, then through renditions when accepted. Any
exception other than a :class:`~media_store.errors.MediaError` fails the test: it
would be a 500. ``make test`` runs a few hundred mutants (derandomized, so a failure
reproduces); ``make fuzz`` runs thousands with fresh randomness.
"""

from __future__ import annotations

import io
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from media_store.conf import UploadLimits
from media_store.errors import MediaError
from media_store.imaging.prepare import prepare_image
from media_store.imaging.renditions import make_renditions
from tests.support import bombs, metadata

LIMITS = UploadLimits(max_bytes=1_000_000, max_pixels=4_000_000, max_files=1)
SEEDS = {
    "jpeg": bombs.flat("JPEG", (48, 32)),
    "progressive-jpeg": bombs.progressive_jpeg_with_scans((48, 32), 12),
    "jpeg-with-metadata": metadata.jpeg((48, 32), progressive=True),
    "png": metadata.png(1, (24, 16)),
    "apng": metadata.png(3, (24, 16)),
    "gif": metadata.gif(3, (24, 16)),
    "webp": metadata.webp(1, (24, 16)),
    "animated-webp": metadata.webp(3, (24, 16)),
    "heic": metadata.heic((48, 32)),
}


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to four random edits: bits flipped, bytes overwritten, inserted, deleted or
    repeated, or the file cut short."""
    mutant = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not mutant:  # deleted or cut to nothing: an empty upload is a mutant too
            break
        at = rng.randrange(len(mutant))
        kind = rng.choice(["flip", "set", "insert", "delete", "duplicate", "cut"])
        if kind == "flip":
            mutant[at] ^= 1 << rng.randrange(8)
        elif kind == "set":
            mutant[at] = rng.choice([0x00, 0xFF, 0x7F, 0x80, rng.randrange(256)])
        elif kind == "insert":
            mutant[at:at] = rng.randbytes(rng.randint(1, 16))
        elif kind == "delete":
            del mutant[at : at + rng.randint(1, 16)]
        elif kind == "duplicate":
            span = rng.randint(1, 64)
            mutant[at:at] = mutant[at : at + span] * rng.randint(1, 8)
        else:
            del mutant[max(1, at) :]
    return bytes(mutant)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(sorted(SEEDS)), rng=st.randoms(use_true_random=True))
def test_a_mutated_image_is_stored_or_refused_with_a_media_error(seed, rng):
    data = mutate(SEEDS[seed], rng)
    for reencode in (True, False):
        try:
            prepared = prepare_image(io.BytesIO(data), limits=LIMITS, reencode=reencode)
            make_renditions(prepared.content, [8, 16])
        except MediaError:
            pass
