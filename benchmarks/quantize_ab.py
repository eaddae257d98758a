"""A change to the quantizer against a git revision: time and output, cell by cell, interleaved.

    python benchmarks/quantize_ab.py HEAD~1                 # every corpus image x K, best of 5 CPU
    python benchmarks/quantize_ab.py main --images logo --k 256 --repeat 9
    python benchmarks/quantize_ab.py HEAD --clock wall      # for changes that use both cores

The revision's `ccodec/` is read with `git show` into a temporary folder and
imported as the package ``ccodec_base``; the work tree's `ccodec` is the new
side. Both sides use the work tree's compiled ``_core`` (copied beside the
revision's sources), so the script compares the Python code; a change to the
compiled loops needs its own benchmark. For each cell the two `quantize`
calls alternate --repeat times, so a change in the machine's load hits both
alike, and each side's best time counts. The CPU clock
(``time.process_time``) is the default: on a shared machine it moves far less
than the wall clock, but it adds up both cores, so a change that runs work on
two threads needs ``--clock wall``.

Each line gives both times, their ratio, and whether the palettes and labels
are byte-identical; when they are not, both MSEs. The last line gives the
median ratio, the summed times and whether every cell was identical. Only
ratios measured in one run mean anything: this VM moves single timings by
up to 1.5x from minute to minute.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
# The work tree's ccodec, not an installed copy, is the new side.
sys.path.insert(0, str(REPO))

# benchmarks/quantize.py, beside this script: the benchmark's corpus, cells and loading.
from quantize import DEFAULT_CORPUS, DEFAULT_KS, load  # noqa: E402

import ccodec  # noqa: E402
from ccodec.metrics import mse  # noqa: E402

CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


def import_revision(revision: str, folder: Path):
    """The `ccodec` package as it is at `revision`, imported as ``ccodec_base``."""
    listing = subprocess.run(
        ["git", "-C", str(REPO), "ls-tree", "-r", "--name-only", revision, "ccodec/"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in listing:
        target = folder / "ccodec_base" / Path(name).relative_to("ccodec")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(
            subprocess.run(
                ["git", "-C", str(REPO), "show", f"{revision}:{name}"],
                capture_output=True,
                check=True,
            ).stdout
        )
    for built in (REPO / "ccodec").glob("_core*.so"):
        (folder / "ccodec_base" / built.name).write_bytes(built.read_bytes())
    sys.path.insert(0, str(folder))
    return importlib.import_module("ccodec_base")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("revision", help="git revision to compare the work tree with")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--images", nargs="+", help="image names without .png (default: all)")
    parser.add_argument("--k", type=int, action="append", help="K to run (repeatable)")
    parser.add_argument("--repeat", type=int, default=5, help="calls per side and cell; best time")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu")
    args = parser.parse_args(argv)

    clock = CLOCKS[args.clock]
    paths = sorted(args.corpus.glob("*.png"))
    if args.images:
        paths = [p for p in paths if p.stem in args.images]
    if not paths:
        parser.error(f"no images found in {args.corpus}")
    with tempfile.TemporaryDirectory() as folder:
        base = import_revision(args.revision, Path(folder))
        print(f"{args.revision} -> work tree, best of {args.repeat}, {args.clock} clock, ms")
        ratios, totals, identical = [], [0.0, 0.0], True
        for path in paths:
            pixels = load(path)
            for k in args.k or DEFAULT_KS:
                best = [float("inf"), float("inf")]
                results = [None, None]
                for _ in range(args.repeat):
                    for side, module in enumerate((base, ccodec)):
                        start = clock()
                        results[side] = module.quantize(pixels, k, seed=0)
                        best[side] = min(best[side], clock() - start)
                old, new = results
                same = np.array_equal(old.palette, new.palette) and np.array_equal(
                    old.labels, new.labels
                )
                identical &= same
                ratios.append(best[1] / best[0])
                totals = [totals[0] + best[0], totals[1] + best[1]]
                old_ms, new_ms = best[0] * 1e3, best[1] * 1e3
                cell = f"{path.stem}:{k}"
                line = f"{cell:16s} {old_ms:8.1f} {new_ms:8.1f} {ratios[-1]:.3f}"
                if not same:
                    line += f"  differs: MSE {mse(old.to_array(), pixels):.7f}"
                    line += f" -> {mse(new.to_array(), pixels):.7f}"
                print(line, flush=True)
        print(
            f"median new/old {statistics.median(ratios):.3f}; total {totals[0]:.3f} -> "
            f"{totals[1]:.3f} s; identical in every cell: {identical}"
        )


if __name__ == "__main__":
    main()
