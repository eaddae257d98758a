"""The adaptive context coder of payload coding 2: one binary range-coded stream for the labels.

`formats/context.md` is the byte-level specification. This module validates
the arguments and allocates every table, from K alone; the loops are compiled
(`ccodec/_core_coder.pxi`). Each index is predicted from its decoded neighbours
(a flag per distinct neighbour: "is it this one?"), and an index that is none
of them is coded by its rank among the palette's colours sorted by distance
from the left neighbour's colour, so that near colours cost few bits.
"""

from __future__ import annotations

import numpy as np

from . import _core
from .errors import CorruptError, OptionError
from .model import MAX_COLORS, label_dtype

__all__ = ["MIN_STREAM", "decode_labels", "encode_labels", "max_stream_size"]

#: The shortest stream: the encoder's final flush alone is 4 bytes.
MIN_STREAM = 4
# Context counts (formats/context.md section 4): flags, then the literal's trees.
_FLAG_CONTEXTS = 6 * 256 * 9 * 4 * 2
_RANK_CONTEXTS = 9 * 16 + 9 * 256
_BYTE_CONTEXTS = 2 * 256 * 256
# The decoder's results (see context_decode in _core_coder.pxi).
_ERRORS = {
    1: "a literal's rank lies beyond the palette",
    2: "a literal index is not below K",
}


def max_stream_size(pixels: int) -> int:
    """A bound no stream of `pixels` indices exceeds: at most 22 binary decisions a pixel
    (6 flags, 16 literal bits), each at most 11.1 bits, and the 4-byte flush."""
    return 32 * pixels + 8


def encode_labels(labels: np.ndarray, palette: np.ndarray) -> bytes:
    """The coder's stream for (H, W) `labels`, all below K = len(`palette`) (OptionError if not:
    the compiled loop indexes tables with them)."""
    k = len(palette)
    if labels.ndim != 2 or 0 in labels.shape or not 1 <= k <= MAX_COLORS:
        raise OptionError(f"labels of shape {labels.shape} and K={k} cannot be coded")
    if labels.min() < 0 or labels.max() >= k:
        raise OptionError(f"labels must lie in 0..{k - 1}.")
    labels = np.ascontiguousarray(labels, dtype=label_dtype(k))
    order, position, prob, count = _tables(palette)
    return _core.context_encode(labels, k, order, position, prob, count)


def decode_labels(stream, width: int, height: int, palette: np.ndarray) -> np.ndarray:
    """The (H, W) labels `stream` codes (uint8 for K <= 256, uint16 above); CorruptError if
    it does not decode to exactly `width` x `height` indices below K, consuming every byte."""
    k = len(palette)
    view = np.frombuffer(stream, np.uint8)
    if len(view) < MIN_STREAM:
        raise CorruptError(f"context stream of {len(view)} bytes: at least {MIN_STREAM} needed")
    order, position, prob, count = _tables(palette)
    labels: np.ndarray = np.empty((height, width), label_dtype(k))
    escapes = np.zeros(2 * width, np.uint8)
    error, where = _core.context_decode(view, labels, k, order, position, prob, count, escapes)
    if error == 3:
        raise CorruptError(
            f"context stream is {len(view)} bytes, its decoding consumed {where}: "
            "the stream is damaged"
        )
    if error:
        raise CorruptError(f"context stream: {_ERRORS[error]} (row {where})")
    return labels


def _tables(palette: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The model's tables for a (K, C) palette: for K <= 256 the palette sorted by distance
    from each colour (`order`) and its inverse (`position`); the probabilities and counts."""
    k = len(palette)
    if k <= 256:
        # One channel at a time, in place: several times faster than an einsum over a
        # (K, K, C) array of differences.
        distances = np.zeros((k, k), np.int32)
        step = np.empty((k, k), np.int32)
        for channel in np.ascontiguousarray(palette.T, np.int32):
            np.subtract(channel[:, None], channel[None, :], out=step)
            step *= step
            distances += step
        # Sort keys distance * 256 + index (below 2^26): ties go to the smaller index, and
        # sorting plain integers is several times faster than a stable argsort.
        keys = distances << 8
        keys |= np.arange(k, dtype=np.int32)
        keys.sort(axis=1)
        order = (keys & 0xFF).astype(np.uint8)
        # The inverse permutation of each row, scattered through flat indices (a 2-D fancy
        # index costs twice as much).
        flat = order + np.arange(0, k * k, k, dtype=np.intp)[:, None]
        inverse = np.empty(k * k, np.uint8)
        inverse[flat.ravel()] = np.tile(np.arange(k, dtype=np.uint8), k)
        position = inverse.reshape(k, k)
        contexts = _FLAG_CONTEXTS + _RANK_CONTEXTS
    else:
        order = position = np.zeros((1, 1), np.uint8)
        contexts = _FLAG_CONTEXTS + _BYTE_CONTEXTS
    prob = np.full(contexts, 32768, np.uint16)
    count = np.zeros(contexts, np.uint8)
    return order, position, prob, count
