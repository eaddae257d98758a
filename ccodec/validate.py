"""Argument checks the public functions share, each with one message style."""

from __future__ import annotations

import operator
from typing import SupportsIndex

import numpy as np

from .errors import OptionError

__all__ = ["check_int", "check_pixels"]


def check_int(
    name: str, value: object, low: int, high: int | None = None, *, scope: str = ""
) -> int:
    """`value` as an int if it is an integer (not a bool) in low..high, else an OptionError.

    `scope` ends the message (" for JPEG"): every integer option fails in these words.

    >>> check_int("k", 3, 1, 16)
    3
    >>> check_int("k", 0, 1, 16)
    Traceback (most recent call last):
    ccodec.errors.OptionError: k=0 should be an integer in 1..16.
    """
    shown: object = repr(value)
    if isinstance(value, SupportsIndex) and not isinstance(value, bool):
        number = operator.index(value)
        if number >= low and (high is None or number <= high):
            return number
        shown = number
    bounds = f">= {low}" if high is None else f"in {low}..{high}"
    raise OptionError(f"{name}={shown} should be an integer {bounds}{scope}.")


def check_pixels(pixels: object) -> np.ndarray:
    """`pixels` as a contiguous (H, W, C) uint8 array, C in 1..4, else an OptionError."""
    array = np.asarray(pixels)
    shape = array.shape
    if array.dtype != np.uint8:
        raise OptionError(f"pixels must be uint8, not {array.dtype}.")
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or not 1 <= array.shape[2] <= 4:
        raise OptionError(
            f"pixels must have shape (H, W) or (H, W, C) with C in 1..4, not {shape}."
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise OptionError(f"pixels must not be empty, got shape {shape}.")
    return np.ascontiguousarray(array)
