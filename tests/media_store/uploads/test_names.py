"""Uploader file names are cleaned once, the same way for every upload path."""

from __future__ import annotations

import pytest

from media_store.uploads.names import MAX_LENGTH, clean_filename


@pytest.mark.parametrize(
    ("name", "cleaned"),
    [
        ("holiday.jpg", "holiday.jpg"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\alice\\Pictures\\cat.png", "cat.png"),
        ("invoice\u202egnp.exe", "invoicegnp.exe"),  # right-to-left override
        ("zero\u200bwidth\ufeff.jpg", "zerowidth.jpg"),
        ("bell\x07and\nnewline\t.gif", "bellandnewline.gif"),
        ("  spaced  .webp ", "spaced  .webp"),
        ("line\u2028separator.png", "lineseparator.png"),
        ("café ünïcode 写真.heic", "café ünïcode 写真.heic"),
        ("..", ""),
        ("dir/", ""),
        ("\u202e", ""),
    ],
)
def test_clean_filename(name, cleaned):
    assert clean_filename(name) == cleaned


def test_long_names_keep_their_extension():
    cleaned = clean_filename("a" * 400 + ".jpeg")
    assert len(cleaned) == MAX_LENGTH and cleaned.endswith("a.jpeg")
    assert len(clean_filename("b" * 400)) == MAX_LENGTH
