"""The speed dial against pngquant: each `--speed`'s MSE and times beside pngquant's default speed.

Run from the repository root (issue 17's second goal; see benchmarks/README.md):

    python benchmarks/speed_dial.py --corpus ../shared/corpus
    python benchmarks/speed_dial.py --images astronaut --k 256 --speed 6 --speed 7 --repeat 5

Per image and K: pngquant's MSE at its default speed (``pngquant --nofs K``,
MSE measured as `benchmarks/quantize.py` does: its PNG decoded and compared
with the input) and its whole-process time; for each ccodec speed, the MSE,
the `ccodec.quantize` call's time in this process, and the whole
``python -m ccodec encode -k K --speed S`` process's time (reading the PNG,
Python's start-up and imports, quantizing, coding and writing the .ccz).
Each round runs pngquant, then every speed's process, then every speed's
call, `--repeat` rounds; each time is the best of its rounds, and the ratios
(ccodec process / pngquant process) come from times taken side by side.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

import ccodec
from ccodec.kmeans.effort import FASTEST
from ccodec.metrics import mse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quantize import DEFAULT_CORPUS, load  # noqa: E402

DEFAULT_KS = (64, 256)
REPO = Path(__file__).resolve().parent.parent


def pngquant_run(source: Path, k: int, target: Path) -> float:
    """Seconds of one whole ``pngquant --nofs K`` process at its default speed."""
    exe = shutil.which("pngquant")
    if exe is None:
        sys.exit("pngquant is not on PATH")
    start = time.perf_counter()
    subprocess.run(
        [exe, "--nofs", "--force", "--output", str(target), str(k), "--", str(source)],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def ccodec_process(source: Path, k: int, speed: int, target: Path) -> float:
    """Seconds of one whole ``python -m ccodec encode`` process."""
    command = [sys.executable, "-m", "ccodec", "encode", str(source), str(target)]
    command += ["-k", str(k), "--speed", str(speed), "--force", "--quiet"]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def ccodec_call(pixels: np.ndarray, k: int, speed: int) -> tuple[float, float]:
    """(MSE, seconds) of one `ccodec.quantize` call."""
    start = time.perf_counter()
    q = ccodec.quantize(pixels, k, seed=0, speed=speed)
    elapsed = time.perf_counter() - start
    return mse(q.to_array(), pixels), elapsed


def measure(path: Path, k: int, speeds: list[int], repeat: int, tmp: Path) -> None:
    pixels = load(path)
    source = tmp / "in.png"
    Image.fromarray(pixels).save(source)
    png = tmp / "out.png"
    png_times, process, call, errors = [], {s: [] for s in speeds}, {s: [] for s in speeds}, {}
    for _ in range(repeat):
        png_times.append(pngquant_run(source, k, png))
        for s in speeds:
            process[s].append(ccodec_process(source, k, s, tmp / "out.ccz"))
        for s in speeds:
            errors[s], seconds = ccodec_call(pixels, k, s)
            call[s].append(seconds)
    with Image.open(png) as image:
        png_mse = mse(np.asarray(image.convert(Image.fromarray(pixels).mode)), pixels)
    png_s = min(png_times)
    for s in speeds:
        row = [
            path.stem,
            str(k),
            str(s),
            f"{errors[s]:.7f}",
            f"{errors[s] / png_mse:.3f}",
            f"{min(call[s]) * 1e3:.0f}",
            f"{min(process[s]) * 1e3:.0f}",
            f"{min(process[s]) / png_s:.2f}",
            f"{png_mse:.7f}",
            f"{png_s * 1e3:.0f}",
        ]
        print("| " + " | ".join(row) + " |", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--images", nargs="+", help="image names without .png (default: photos)")
    parser.add_argument("--k", type=int, action="append", help="K to run (repeatable)")
    parser.add_argument("--speed", type=int, action="append", help="ccodec speed (repeatable)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; each time the best")
    args = parser.parse_args(argv)
    paths = sorted(args.corpus.glob("*.png"))
    # The goal names the photos; the RGBA logo runs when named.
    paths = (
        [p for p in paths if p.stem in args.images]
        if args.images
        else [p for p in paths if p.stem != "logo"]
    )
    speeds = args.speed or list(range(1, FASTEST + 1))
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    head = ["image", "K", "speed", "MSE", "MSE / pngquant", "quantize ms", "process ms"]
    head += ["process / pngquant", "pngquant MSE", "pngquant ms"]
    print("| " + " | ".join(head) + " |")
    print("|" + " --- |" * len(head))
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            for k in args.k or DEFAULT_KS:
                measure(path, k, speeds, args.repeat, Path(tmp))
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
