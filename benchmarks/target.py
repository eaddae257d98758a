"""Quality-target search: the K found and its cost against one quantize at that K.

    python benchmarks/target.py                    # corpus images x PSNR 25/30/35 dB and MSE 1e-3
    python benchmarks/target.py --images astronaut --repeat 1
    python benchmarks/target.py --repeat 2 --clock cpu   # CPU time, for a busy machine

For each image and target: the K `quantize_to_target` lands on, how many full
`quantize` runs it made (2 is the least: K and K - 1), its time, the time of
a single `quantize` at that K (both the best of --repeat runs), and the ratio
of the two (issue 6 asks for at most 3x).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import ccodec

TARGETS = {
    "PSNR 25 dB": {"min_psnr": 25},
    "PSNR 30 dB": {"min_psnr": 30},
    "PSNR 35 dB": {"min_psnr": 35},
    "MSE 1e-3": {"max_mse": 1e-3},
}


# Wall time unless --clock cpu: on a machine other jobs share, this
# process's own CPU time (time.process_time) moves far less.
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def _best_seconds(function, repeat: int, clock=time.perf_counter) -> float:
    times = []
    for _ in range(repeat):
        start = clock()
        function()
        times.append(clock() - start)
    return min(times)


def main() -> None:
    default_corpus = Path(__file__).resolve().parents[2] / "shared" / "corpus"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=default_corpus)
    parser.add_argument("--images", nargs="*", default=None, help="names without .png")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall")
    args = parser.parse_args()
    clock = CLOCKS[args.clock]

    paths = sorted(args.corpus.glob("*.png"))
    if args.images:
        paths = [p for p in paths if p.stem in args.images]
    ratios = []
    print(f"{args.clock} clock, best of {args.repeat}\n")
    print("| image | target | K | full runs | search s | one quantize s | ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for path in paths:
        pixels = ccodec.to_pixels(ccodec.open_image(path))
        for label, target in TARGETS.items():
            q = ccodec.quantize_to_target(pixels, **target)
            search = _best_seconds(
                lambda p=pixels, t=target: ccodec.quantize_to_target(p, **t), args.repeat, clock
            )
            single = _best_seconds(
                lambda p=pixels, k=q.k: ccodec.quantize(p, k), args.repeat, clock
            )
            ratios.append(search / single)
            print(
                f"| {path.stem} | {label} | {q.k} | {len(q.trials)} | {search:.3f} | {single:.3f} "
                f"| {search / single:.2f} |"
            )
    print(f"\nratio: median {statistics.median(ratios):.2f}, worst {max(ratios):.2f}")


if __name__ == "__main__":
    main()
