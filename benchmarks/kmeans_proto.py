"""Prototype of issue 17's quantizer changes, outside ccodec: the same pipeline with new steps.

`quantize_colors` follows the recipe `ccodec.quantize.quantize_colors` had
before issue 17 (restarts on the coarsest level, finalists, Lloyd level by
level, rounding) and adds, each switched by a `Recipe` field (carrying,
second-level restarts and the rounding search are in ccodec now, as
`--speed` settings; split-and-merge is still only here):

- more restarts at small K (`restarts`), and more finalists (`finalists`);
- every finalist carried to the full histogram, the best kept only there
  (`carry`, narrowed to the best `carry_keep` after each finer level);
- restarts on finer levels too, their finalists joining the carried ones
  (`also_restart_on`), or on a finer level only (`skip_levels`); greedy
  k-means++ with other candidate counts (`trials`);
- split-and-merge moves on chosen levels (`swaps`, `swap_level`): drop the
  centre whose removal costs least, add one where it gains most, converge,
  keep the move if the error fell;
- a last Lloyd on the full histogram with its own stopping fraction (`final_tol`);
- rounding-aware polish of the 8-bit palette (`round_search`, ccodec's): each entry's
  channels nudged by +-1 while that lowers the error.

Everything reuses ccodec's private helpers in `ccodec.kmeans`, so a recipe
that wins ports into ccodec as a few new steps.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import numpy as np

Q = importlib.import_module("ccodec.quantize")
H = importlib.import_module("ccodec.kmeans.histogram")
L = importlib.import_module("ccodec.kmeans.levels")
M = importlib.import_module("ccodec.model")
P = importlib.import_module("ccodec.kmeans.rounding")
R = importlib.import_module("ccodec.kmeans.restarts")
S = importlib.import_module("ccodec.kmeans.seeding")
Y = importlib.import_module("ccodec.kmeans.lloyd")


@dataclass(frozen=True)
class Recipe:
    restarts: tuple[tuple[int, int], ...] | None = None  # ((max K, runs), ...); None: ccodec's
    finalists: int = R._FINALISTS
    swaps: int = 0  # best-estimated moves converged per round; when all fail, it ends
    swap_level: int | tuple[int, ...] = -1  # level index(es), coarsest first; -1 the full one
    swap_pairs: int = 4  # cheapest removals x (2 x this) candidate points estimated per round
    swap_max: int = 0  # 0: no limit on kept moves; else at most this many
    final_tol: float | None = None  # the full histogram's stopping fraction; None: tol
    round_search: bool = False
    trials: tuple[int, float] | None = None  # greedy k-means++ (base, log factor); None: ccodec's
    skip_levels: int = 0  # drop this many of the coarsest levels (restart on a finer one)
    also_restart_on: tuple[int, ...] = ()  # finer levels that add their own restarts' finalists
    carry: bool = False  # every finalist runs to the full histogram; the best one is kept
    carry_keep: int = 0  # with carry: after each level but the first and last, keep this many


DEFAULT = Recipe()


def restarts_for(recipe: Recipe, k: int) -> int:
    if recipe.restarts is None:
        return R._restarts(k)
    for top, runs in recipe.restarts:
        if k <= top:
            return runs
    return 1


def quantize(pixels: np.ndarray, k: int, seed: int = 0, recipe: Recipe = DEFAULT):
    """(palette (K, C) uint8, labels (H, W)) like `ccodec.quantize`, by `recipe`."""
    flat = pixels.reshape(pixels.shape[0] * pixels.shape[1], -1)
    rng = np.random.default_rng(seed)
    keys, unique_keys, counts = H.histogram(flat)
    colors = H.unpack(unique_keys, flat.shape[1])
    palette, color_labels = quantize_colors(unique_keys, colors, counts, k, rng, recipe)
    labels = H.pixel_labels(keys, unique_keys, color_labels, flat.shape[1])
    return palette, labels.reshape(pixels.shape[:2])


def histogram_mse(colors, counts, palette, color_labels) -> float:
    """The image's MSE in [0, 1] units from its histogram (equal to `ccodec.mse`)."""
    diff = colors.astype(np.int64) - palette.astype(np.int64)[color_labels]
    return float(counts @ (diff * diff).sum(1)) / (counts.sum() * colors.shape[1] * 255.0**2)


def quantize_colors(unique_keys, colors, counts, k, rng, recipe: Recipe, max_iter=300, tol=None):
    tol = Q.DEFAULT_TOL if tol is None else tol
    space = "rgb"
    if len(colors) <= k:
        return colors, np.arange(len(colors), dtype=M.label_dtype(len(colors)))
    points = P.to_points(colors, space)
    weights = counts.astype(np.float64)
    bin_levels = L.coarse_bins(unique_keys, colors.shape[1], k)
    levels = L.level_means(bin_levels, points, weights)
    levels.append((points, weights))
    levels = levels[min(recipe.skip_levels, len(levels) - 1) :]
    candidates = best_of_restarts(*levels[0], k, rng, max_iter, recipe)
    chosen = recipe.swap_level if isinstance(recipe.swap_level, tuple) else (recipe.swap_level,)
    swap_levels = {level % len(levels) for level in chosen}
    also_restart_on = {level % len(levels) for level in recipe.also_restart_on}
    state = None
    for level, (level_points, level_weights) in enumerate(levels):
        last = level == len(levels) - 1
        if level in also_restart_on and level > 0:
            candidates = list(candidates) + best_of_restarts(
                level_points, level_weights, k, rng, max_iter, recipe
            )
        states = [Y.LloydState(level_points, level_weights, c, len(points)) for c in candidates]
        pick_rough = last and len(states) > 1 and not recipe.carry
        level_tol = recipe.final_tol if (last and recipe.final_tol is not None) else tol
        for s in states:
            s.iterate(max_iter, level_tol, rough=not last or pick_rough)
        state = min(states, key=Y.LloydState.inertia)
        if pick_rough:
            state.iterate(max_iter, level_tol)
        if recipe.swaps and level in swap_levels:
            index = states.index(state)
            state = states[index] = split_and_merge(state, recipe, max_iter, level_tol, not last)
        if recipe.carry:
            if recipe.carry_keep and 0 < level < len(levels) - 1:
                states = sorted(states, key=Y.LloydState.inertia)[: recipe.carry_keep]
            candidates = [s.centers for s in states]
        elif level == 0 and not (recipe.swaps and 0 in swap_levels):
            # As ccodec: the coarsest level ranks its runs only roughly, the next one decides.
            candidates = [s.centers for s in states]
        else:
            candidates = [state.centers]
    palette, labels = P.round_palette(state, space)
    if recipe.round_search:
        palette, labels = P.round_search(colors, weights, palette)
    return palette, labels


def best_of_restarts(points, weights, k, rng, max_iter, recipe: Recipe):
    restarts = restarts_for(recipe, k)
    saved = S._TRIALS_BASE, S._TRIALS_LOG
    if recipe.trials is not None:
        S._TRIALS_BASE, S._TRIALS_LOG = recipe.trials
    try:
        return _best_of_restarts(points, weights, k, rng, max_iter, recipe, restarts)
    finally:
        S._TRIALS_BASE, S._TRIALS_LOG = saved


def _best_of_restarts(points, weights, k, rng, max_iter, recipe, restarts):
    if len(points) * k <= R._PLAIN_UP_TO:
        starts = S.kmeans_plusplus(points, weights, k, rng, restarts)
        found = zip(*Y.plain_lloyd_batch(points, weights, starts, max_iter), strict=True)
    else:
        found = (R._rough_run(points, weights, k, rng, max_iter) for _ in range(restarts))
    runs = []
    for centers, inertia in found:
        if any(abs(inertia - other) <= R._SAME_RUN * other for other, _ in runs):
            break
        runs.append((float(inertia), centers))
    runs.sort(key=lambda run: run[0])
    return [centers for _, centers in runs[: recipe.finalists]]


def nearest_two(points: np.ndarray, centers: np.ndarray):
    """Labels, squared distance to the nearest and to the second nearest centre (float64)."""
    c = centers.astype(np.float64)
    p = points.astype(np.float64)
    d = (p * p).sum(1)[:, None] - 2 * p @ c.T + (c * c).sum(1)
    np.maximum(d, 0, out=d)
    order = np.argpartition(d, 1, axis=1)[:, :2]
    rows = np.arange(len(p))
    first, second = d[rows, order[:, 0]], d[rows, order[:, 1]]
    swap = first > second
    labels = np.where(swap, order[:, 1], order[:, 0])
    return labels, np.minimum(first, second), np.maximum(first, second)


def split_and_merge(state, recipe: Recipe, max_iter: int, tol: float, rough: bool):
    """Move centres from where they cost least to where they gain most while the error falls.

    A move drops centre j (its points go to their second-nearest centre: the
    cost is their weighted d2^2 - d1^2) and adds a centre at a point x (its
    gain is the weight it would take over, sum w * max(0, d^2 - |p - x|^2)
    with d the distances after the drop). Of the `swap_pairs` cheapest drops
    x 2 * `swap_pairs` candidate points (the largest weighted errors and draws
    by weighted error), the `swaps` moves with the best estimate are converged
    with Lloyd in turn; the first that lowers the error is kept and the
    search starts again; when all fail, it ends.
    """
    points, weights = state.points, state.weights
    k = state.k
    best_error = state.inertia()
    kept = 0
    rng = np.random.default_rng(0)
    p64 = points.astype(np.float64)
    p_sq = (p64 * p64).sum(1)
    while recipe.swap_max == 0 or kept < recipe.swap_max:
        centers = state.centers
        labels, d1, d2 = nearest_two(points, centers)
        removal = np.bincount(labels, weights * (d2 - d1), k)
        drops = np.argsort(removal, kind="stable")[: recipe.swap_pairs]
        cost = weights * d1
        top = np.argsort(-cost, kind="stable")[: recipe.swap_pairs]
        drawn = rng.choice(len(points), recipe.swap_pairs, p=cost / cost.sum())
        cands = np.unique(np.concatenate([top, drawn]))
        x = p64[cands]
        dist = p_sq[:, None] - 2 * p64 @ x.T + (x * x).sum(1)
        moves = []
        for j in drops:
            after = np.where(labels == j, d2, d1)
            gain = (weights[:, None] * np.maximum(after[:, None] - dist, 0)).sum(0)
            moves += [(g - removal[j], int(j), int(c)) for g, c in zip(gain, cands, strict=True)]
        moves.sort(key=lambda move: -move[0])
        improved = False
        for _, j, x_index in moves[: recipe.swaps]:
            trial = centers.copy()
            trial[j] = points[x_index]
            candidate = Y.LloydState(points, weights, trial, len(points))
            candidate.iterate(max_iter, tol, rough=rough)
            error = candidate.inertia()
            if error < best_error * (1 - 1e-7):
                state, best_error, improved = candidate, error, True
                kept += 1
                break
        if not improved:
            break
    return state


RECIPES = {
    "default": DEFAULT,
    # Both finalists run to the full histogram; exact last Lloyd; rounding search.
    "carry": Recipe(carry=True, final_tol=0.0, round_search=True),
    # ...and the 6-bit-or-so second level restarts too, its finalists joining in.
    "two-levels": Recipe(carry=True, also_restart_on=(1,), final_tol=0.0, round_search=True),
    # ...and split-and-merge moves on the full histogram.
    "max": Recipe(
        carry=True,
        also_restart_on=(1,),
        swaps=4,
        swap_level=-1,
        swap_pairs=6,
        final_tol=0.0,
        round_search=True,
    ),
}


def main(argv: list[str] | None = None) -> None:
    """MSE ratios to the best scikit-learn run (from kmeans_best.py --json) per recipe and cell."""
    import argparse
    import json
    import statistics
    import sys
    import time
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from quantize import DEFAULT_CORPUS, load

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("sklearn_json", type=Path)
    parser.add_argument("--corpus-dir", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--recipe", action="append", help="name in RECIPES or Recipe(...) text")
    parser.add_argument("--images", nargs="+")
    parser.add_argument("--k", type=int, action="append")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs, interleaved")
    args = parser.parse_args(argv)
    cells = json.loads(args.sklearn_json.read_text())
    recipes = {}
    for text in args.recipe or ["default"]:
        recipes[text] = RECIPES[text] if text in RECIPES else eval(text)  # noqa: S307
    images = {}
    ratios = {name: [] for name in recipes}
    times = {name: [] for name in recipes}
    for cell in cells:
        if args.images and cell["image"] not in args.images:
            continue
        if args.k and cell["k"] not in args.k:
            continue
        name, k = cell["image"], cell["k"]
        if name not in images:
            pixels = load(args.corpus_dir / f"{name}.png")
            flat = pixels.reshape(-1, pixels.shape[-1])
            _, uk, counts = H.histogram(flat)
            images[name] = (pixels, H.unpack(uk, flat.shape[1]), counts)
        pixels, colors, counts = images[name]
        best = min(cell["sklearn_mse"])
        row = [f"{name:9s} K={k:2d}"]
        seconds = {n: [] for n in recipes}
        errors = {}
        for _ in range(args.repeat):
            for label, recipe in recipes.items():
                start = time.perf_counter()
                palette, labels = quantize(pixels, k, 0, recipe)
                seconds[label].append(time.perf_counter() - start)
                diff = pixels.reshape(-1, pixels.shape[-1]).astype(np.int64) - palette[
                    labels.reshape(-1)
                ].astype(np.int64)
                errors[label] = float((diff * diff).sum()) / diff.size / 255.0**2
        base = statistics.median(seconds[next(iter(recipes))])
        for label in recipes:
            r = errors[label] / best
            ratios[label].append(r)
            t = statistics.median(seconds[label])
            sk = statistics.median(cell["sklearn_s"])
            times[label].append((t / sk, t / base))
            row.append(f"{r:.5f} {t * 1e3:6.1f}ms x{t / base:.2f}")
        print(" | ".join(row), flush=True)
    for label in recipes:
        rs = ratios[label]
        print(
            f"{label}: worst {max(rs):.4f}, cells above best {sum(r > 1 for r in rs)}/{len(rs)}, "
            f"mean {statistics.mean(rs):.4f}; time / default: median "
            f"{statistics.median(x for _, x in times[label]):.2f}, time / one sklearn run "
            f"(its time from the json): median {statistics.median(t for t, _ in times[label]):.3f}"
        )


if __name__ == "__main__":
    main()
