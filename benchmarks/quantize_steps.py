"""Where one quantization's Lloyd steps go: per level, how many steps, points re-checked, time.

    python benchmarks/quantize_steps.py astronaut 256
    python benchmarks/quantize_steps.py coffee 64 --corpus ../shared/corpus

For each level (its number of points, coarsest first) it prints the number of
Lloyd steps (`LloydState.move` calls, restarts' rough runs included), their total
wall time, the mean number of points whose bounds failed and were searched
again against every centre, and the labels (or, on the last level, the pixels)
that changed per step. A diagnostic of the quantizer's private steps, for
whoever tunes it; it wraps two private functions and changes no result.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

# benchmarks/quantize.py, beside this script: the benchmark's corpus and loading.
from quantize import DEFAULT_CORPUS, load

import ccodec
from ccodec.kmeans import lloyd


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("image", help="corpus image name without .png")
    parser.add_argument("k", type=int)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args(argv)
    pixels = load(args.corpus / f"{args.image}.png")

    steps: dict[int, list[tuple[float, int, float]]] = defaultdict(list)
    searched: list[int] = []
    move, nearest_two = lloyd.LloydState.move, lloyd.nearest_two

    def timed_move(state, centers, weights=None):
        searched.clear()
        start = time.perf_counter()
        changed = move(state, centers, weights)
        steps[len(state.points)].append(
            (time.perf_counter() - start, sum(searched), float(changed))
        )
        return changed

    def counted_nearest_two(points, *rest):
        searched.append(len(points))
        return nearest_two(points, *rest)

    lloyd.LloydState.move = timed_move
    lloyd.nearest_two = counted_nearest_two
    try:
        start = time.perf_counter()
        ccodec.quantize(pixels, args.k, seed=0)
        total = time.perf_counter() - start
    finally:
        lloyd.LloydState.move = move
        lloyd.nearest_two = nearest_two

    print(f"{args.image} at K = {args.k}: {total * 1e3:.0f} ms in all (wall, this one run)")
    print("| points | steps | ms in steps | ms a step | searched a step | changed a step |")
    print("| --- | --- | --- | --- | --- | --- |")
    for points in sorted(steps):
        rows = steps[points]
        spent = sum(row[0] for row in rows)
        print(
            f"| {points:,} | {len(rows)} | {spent * 1e3:.1f} | {spent / len(rows) * 1e3:.2f} "
            f"| {sum(row[1] for row in rows) / len(rows):,.0f} "
            f"| {sum(row[2] for row in rows) / len(rows):,.0f} |"
        )


if __name__ == "__main__":
    main()
