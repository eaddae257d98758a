"""The speed dial: what each `speed` (1 slowest and best .. `FASTEST`) spends its time on.

pngquant's convention: 1 is the slowest and best, higher is faster. Every
setting is deterministic per seed; only the work done differs.
"""

from __future__ import annotations

from dataclasses import dataclass

from .seeding import SPLIT_ABOVE

__all__ = ["DEFAULT_SPEED", "FASTEST", "SPEED_HELP", "Effort", "effort_for"]


@dataclass(frozen=True)
class Effort:
    """How much search one `quantize` call does."""

    #: Restart finalists carried through every finer level; the best rounded one is kept.
    finalists: int = 2
    #: Finer levels that run their own restarts, whose finalists join the carried ones.
    restart_levels: tuple[int, ...] = ()
    #: Restarts on the coarsest level as a fraction of the usual number (at least one).
    restart_share: float = 1.0
    #: Above this K the start is cluster splitting (no restarts, no seed), not k-means++.
    split_above: int = SPLIT_ABOVE
    #: Lloyd on the full histogram too (else only on the coarse levels, then rounding).
    full_lloyd: bool = True
    #: The full histogram's stopping fraction as a multiple of `tol` (0: until nothing moves).
    final_tol_scale: float = 1.0
    #: Lloyd steps at most on each level, below `max_iter` (0: no cap).
    step_cap: int = 0
    #: Exact +-1 search of every palette channel after rounding (RGB space only).
    round_search: bool = True
    #: The largest K that gets the +-1 search (its time grows with K times the colours):
    #: the write-up's range, K = 2 to 50.
    search_up_to_k: int = 50


_EFFORTS = (
    Effort(finalists=2, restart_levels=(1,), final_tol_scale=0.0, search_up_to_k=1 << 16),
    Effort(finalists=2, restart_levels=(1,), search_up_to_k=1 << 16),
    Effort(finalists=2),
    Effort(finalists=1),
    Effort(finalists=1, round_search=False),
    Effort(finalists=1, restart_share=0.5, full_lloyd=False, round_search=False),
    Effort(finalists=1, restart_share=0.0, split_above=64, step_cap=8, round_search=False),
)

#: The fastest setting; speeds run from 1 to this.
FASTEST = len(_EFFORTS)
#: The setting `quantize` uses unless told otherwise.
DEFAULT_SPEED = 3

#: One line per speed, for the command line's help.
SPEED_HELP = (
    "1: as 2, and the full histogram's Lloyd runs until no colour moves; "
    "2: as 3, and the second level runs its own restarts too; "
    "3 (default): the two best restarts each run through every level, the better "
    "after rounding is kept, and the rounded palette is searched +-1 per channel; "
    "4: only the best restart goes on; "
    "5: no +-1 search; "
    "6: half the restarts, Lloyd on the coarse levels only; "
    "7: one start (cluster splitting above K = 64), at most 8 Lloyd steps a level."
)


def effort_for(speed: int) -> Effort:
    """The `Effort` of a speed already checked to be in 1..FASTEST."""
    return _EFFORTS[speed - 1]
