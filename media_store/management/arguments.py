"""Argument types shared by the media commands: numbers that make sense, or a clear error."""

from __future__ import annotations

import argparse
import math


def at_least_one(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a count: give 1 or more")
    return number


def rate(value: str) -> float:
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise argparse.ArgumentTypeError(f"{value} is not a rate: give 0 (no limit) or more")
    return number
