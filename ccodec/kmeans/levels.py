"""Coarse levels of the histogram: colours merged by their top 4-7 bits, coarsest first.

Restarts run on the coarsest level and each finer one only polishes; a
coarse bin is a run of the sorted interleaved keys, and levels nest.
"""

from __future__ import annotations

import numpy as np

from .seeding import SPLIT_ABOVE

__all__ = ["coarse_bins", "level_means", "parents"]

# Above this many distinct colours, restart on a coarse histogram (4 to 7
# bits a channel, when that leaves enough bins per cluster).
_COARSE_ABOVE = 1 << 11
_COARSE_BITS = (4, 5, 6, 7)
_COARSE_PER_CLUSTER = 32
# Above SPLIT_ABOVE a coarse level needs only this many bins per cluster to
# start on: the split start needs no room for random draws.
_SPLIT_PER_CLUSTER = 8


def coarse_bins(
    unique_keys: np.ndarray, channels: int, k: int, split: bool = False
) -> list[np.ndarray]:
    """Each colour's bin in histograms with fewer bits, coarsest first; some may be skipped.

    `split` says the start will be cluster splitting (always so above
    SPLIT_ABOVE), which needs fewer bins per cluster.

    A level is kept when it has enough bins per cluster to place them well
    and clearly fewer bins than the next finer one; a skipped level is kept
    after all when every coarser one has too few bins.
    """
    found = []
    previous = len(unique_keys)
    skipped = None
    for bits in reversed(_COARSE_BITS):
        if previous <= _COARSE_ABOVE:
            break
        # Sorted interleaved keys: a coarse bin is a run of equal prefixes.
        prefixes = unique_keys >> np.uint32(channels * (8 - bits))
        bins = np.empty(len(prefixes), np.intp)
        bins[0] = 0
        np.cumsum(prefixes[1:] != prefixes[:-1], out=bins[1:])
        count = int(bins[-1]) + 1
        if count < _per_cluster(k, split) * k:
            if skipped is not None:
                # Too coarse: restart on the skipped finer level, not on every colour.
                found.append(skipped)
            break
        if count > previous // 2:
            skipped = bins
            continue
        found.append(bins)
        previous, skipped = count, None
    return found[::-1]


def _per_cluster(k: int, split: bool) -> int:
    """Bins per cluster a coarse level needs: fewer for the split start, which is not random."""
    return _SPLIT_PER_CLUSTER if split or k > SPLIT_ABOVE else _COARSE_PER_CLUSTER


def parents(bin_levels: list[np.ndarray]) -> list[np.ndarray]:
    """For each level after the coarsest, the bin of the level before that each point is in."""
    pairs = zip(bin_levels, bin_levels[1:], strict=False)
    return [coarse[_run_starts(fine)] for coarse, fine in pairs] + bin_levels[-1:]


def level_means(
    levels: list[np.ndarray], points: np.ndarray, weights: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The weighted mean point and total weight of each bin of each level, coarsest first.

    Each level is summed from the next finer one's bins, not from every
    colour: bins are runs of the sorted colours, nested across levels.
    """
    found = []
    totals = weights
    sums = [weights * points[:, c] for c in range(points.shape[1])]
    finer = None
    for bins in reversed(levels):
        index = bins if finer is None else bins[_run_starts(finer)]
        totals = np.bincount(index, weights=totals)
        sums = [np.bincount(index, weights=s) for s in sums]
        found.append(((np.stack(sums, axis=1) / totals[:, None]).astype(np.float32), totals))
        finer = bins
    return found[::-1]


def _run_starts(bins: np.ndarray) -> np.ndarray:
    """Where each run of equal values in a non-decreasing array begins."""
    return np.flatnonzero(np.concatenate(([True], bins[1:] != bins[:-1])))
