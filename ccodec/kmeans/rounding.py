"""Points and palettes: colours to the space clustered in, and centres back to 8-bit sRGB.

With ``space="oklab"`` points are OKLab coordinates (`ccodec.colorspace`);
rounding turns centres into sRGB bytes and re-assigns and re-centres by
those bytes' OKLab coordinates, so every colour ends on the palette entry
nearest to it in OKLab.
"""

from __future__ import annotations

import numpy as np

from ..colorspace import oklab_palette_to_srgb, srgb_to_oklab
from ..model import label_dtype
from .lloyd import LloydState

__all__ = ["palette_error", "round_palette", "round_search", "search_pays", "to_points"]

# Re-centre-and-round steps after rounding the centres (each kept only if it
# lowers the error; rarely more than one helps).
_ROUNDING_STEPS = 3
# The +-1 search keeps a (K, colours) float32 distance table: at most this many entries.
_SEARCH_UP_TO = 1 << 24
# Passes of the +-1 search over every entry; a second one rarely finds more.
_SEARCH_PASSES = 2


def to_points(colors: np.ndarray, space: str) -> np.ndarray:
    """The float32 points clustered for (M, C) colours on 0..255 (uint8 or whole floats)."""
    if space == "rgb":
        return colors.astype(np.float32) / 255
    return srgb_to_oklab(colors.astype(np.float64) / 255).astype(np.float32)


def _to_palette(centers: np.ndarray, space: str) -> np.ndarray:
    """The nearest sRGB bytes (as float32 values 0..255) of centres in `space`."""
    if space == "rgb":
        return np.clip(np.rint(centers * 255), 0, 255)
    return oklab_palette_to_srgb(centers).astype(np.float32)


def round_palette(state: LloydState, space: str) -> tuple[np.ndarray, np.ndarray]:
    """Round centres to 8 bits, then re-assign and re-centre while the error falls.

    Rounding moves every centre by up to half a level per channel; assigning
    the colours to the rounded palette (not keeping the float labels) and
    re-centring once or twice wins back most of that loss. Assignments,
    means and the error are all measured in `space`, the one clustered; the
    error comes from the clusters' sums (`LloydState.inertia`), in O(K), not
    from another pass over every colour.
    """
    palette = _to_palette(state.centers, space)
    state.move(to_points(palette, space))
    error = state.inertia()
    for _ in range(_ROUNDING_STEPS):
        means, _ = state.means()
        candidate = _to_palette(means, space)
        if np.array_equal(candidate, palette):
            break
        labels = state.labels.copy()
        state.move(to_points(candidate, space))
        new_error = state.inertia()
        if new_error >= error:
            state.labels = labels
            break
        palette, error = candidate, new_error
    return palette.astype(np.uint8), state.labels.astype(label_dtype(len(palette)))


def palette_error(
    points: np.ndarray, weights: np.ndarray, palette: np.ndarray, labels: np.ndarray, space: str
) -> float:
    """The weighted squared error, in `space`, of colours (as `points`) mapped to a palette."""
    diff = points.astype(np.float64) - to_points(palette, space).astype(np.float64)[labels]
    return float(np.einsum("i,ij,ij->", weights, diff, diff))


def search_pays(k: int, n_colors: int) -> bool:
    """Whether the +-1 search's distance table for K entries and this many colours fits."""
    return k * n_colors <= _SEARCH_UP_TO


def round_search(
    colors: np.ndarray, weights: np.ndarray, palette: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Nudge palette channels by +-1 while the error falls; exact, on every distinct colour.

    Rounding each centre to the nearest bytes is not the best 8-bit palette:
    the colours' assignments change with it. Squared distances between 8-bit
    colours and entries are integers below 2^18, exact in float32, so every
    comparison is exact. A trial moves entry j by one level in one channel;
    it can only change the cost of colours in j's cluster or within one level
    of reaching j, so each trial looks at those alone. An entry takes its best
    trial if that lowers the error. Returns the palette and each colour's label.
    """
    values = colors.astype(np.float32)
    pal = palette.astype(np.float32)
    k, channels = pal.shape
    n = len(values)
    # (K, N): one entry's distances are a contiguous row. Row by row, not one
    # product: a product with 3-4 columns pays BLAS's thread hand-off.
    d = np.empty((k, n), np.float32)
    for j in range(k):
        diff = values - pal[j]
        d[j] = np.einsum("ij,ij->i", diff, diff)
    labels = np.argmin(d, axis=0)
    nearest = d[labels, np.arange(n)]
    reach = np.square(np.sqrt(nearest) + 1)
    for _ in range(_SEARCH_PASSES):
        improved = False
        for j in range(k):
            subset = np.flatnonzero((d[j] < reach) | (labels == j))
            if len(subset) == 0:
                continue
            step = _best_step(d, j, subset, values, pal[j], nearest, weights)
            if step is None:
                continue
            pal[j, step[0]] += step[1]
            _update_entry(d, j, values, pal[j], labels, nearest, reach)
            improved = True
        if not improved:
            break
    return pal.astype(np.uint8), labels.astype(label_dtype(k))


def _best_step(
    d: np.ndarray,
    j: int,
    subset: np.ndarray,
    values: np.ndarray,
    entry: np.ndarray,
    nearest: np.ndarray,
    weights: np.ndarray,
) -> tuple[int, int] | None:
    """The (channel, +-1) move of entry j that lowers the error most, or None."""
    sub = np.take(d, subset, axis=1)
    current = sub[j].copy()
    sub[j] = np.inf
    other = sub.min(axis=0)
    old = nearest[subset]
    w = weights[subset]
    offset = np.take(values, subset, axis=0) - entry
    best_delta, best = 0.0, None
    for c in range(len(entry)):
        for s in (-1, 1):
            if not 0 <= entry[c] + s <= 255:
                continue
            # |x - (p + s e_c)|^2 = |x - p|^2 - 2 s (x_c - p_c) + 1
            moved = current - (2 * s) * offset[:, c] + 1
            # einsum, not a BLAS dot: no thread hand-off for one short sum.
            delta = float(np.einsum("i,i->", w, np.minimum(moved, other) - old))
            if delta < best_delta:
                best_delta, best = delta, (c, s)
    return best


def _update_entry(
    d: np.ndarray,
    j: int,
    values: np.ndarray,
    entry: np.ndarray,
    labels: np.ndarray,
    nearest: np.ndarray,
    reach: np.ndarray,
) -> None:
    """Entry j moved: its distance row, the labels it wins or loses, and their reach."""
    diff = values - entry
    d[j] = np.einsum("ij,ij->i", diff, diff)
    closer = d[j] < nearest
    labels[closer], nearest[closer] = j, d[j, closer]
    # Colours of j's cluster that it moved away from may now be nearer another entry.
    mine = np.flatnonzero((labels == j) & ~closer)
    if len(mine):
        labels[mine] = np.argmin(d[:, mine], axis=0)
        nearest[mine] = d[labels[mine], mine]
    closer[mine] = True
    reach[closer] = np.square(np.sqrt(nearest[closer]) + 1)
