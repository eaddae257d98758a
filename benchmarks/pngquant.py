"""ccodec's palette PNG against pngquant's, as their users run them.

    python benchmarks/pngquant.py                      # corpus at K = 16, 64, 256
    python benchmarks/pngquant.py --images logo -k 256 --repeat 5

For each corpus image and K, two whole processes write a palette PNG:
``ccodec encode IN -k K OUT.png`` and ``pngquant --nofs --speed 1 K``. Each
output is then put through the same optimizer (oxipng level 6 with
pyoxipng, else nothing) so that the size columns compare the palettes and
the pixels, not two PNG writers. MSE is over the visible image: each PNG
read back as RGB or RGBA against the input, pixels scaled to [0, 1], where a
pixel transparent (alpha 0) in both counts only its alpha, because its colour
cannot be seen (``ccodec.mse(..., ignore_transparent=True)``). Times are the
best of --repeat wall-clock runs of each command, interleaved; on a shared
machine they are rough, sizes and MSE are exact.

From a source tree, put it on the path: ``PYTHONPATH=. python benchmarks/pngquant.py
--corpus ../shared/corpus``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

import ccodec

try:  # benchmark-only peer
    import oxipng
except ImportError:  # pragma: no cover - optional
    oxipng = None

_REPO = Path(__file__).resolve().parent.parent
_IMAGES = ["astronaut", "chelsea", "coffee", "logo", "rocket"]


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        mode = "RGBA" if "A" in image.mode or "transparency" in image.info else "RGB"
        return np.asarray(image.convert(mode))


def _optimized_size(path: Path) -> int:
    data = path.read_bytes()
    if oxipng is not None:
        data = oxipng.optimize_from_memory(data, level=6)
    return len(data)


def _timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _commands(source: Path, k: int, work: Path) -> dict[str, tuple[list[str], Path]]:
    ours, theirs = work / "ccodec.png", work / "pngquant.png"
    return {
        "ccodec": (
            [sys.executable, "-m", "ccodec", "encode", str(source), "-k", str(k), str(ours), "-f"],
            ours,
        ),
        "pngquant": (
            [
                "pngquant",
                "--nofs",
                "--speed",
                "1",
                "--force",
                "--output",
                str(theirs),
                str(k),
                "--",
                str(source),
            ],
            theirs,
        ),
    }


def _cell(source: Path, k: int, repeat: int) -> dict[str, float]:
    original = _pixels(source)
    row: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        commands = _commands(source, k, Path(tmp))
        best = {name: float("inf") for name in commands}
        for _ in range(repeat):
            for name, (command, _) in commands.items():
                best[name] = min(best[name], _timed(command))
        for name, (_, output) in commands.items():
            row[f"{name} mse"] = ccodec.mse(original, _pixels(output), ignore_transparent=True)
            row[f"{name} bytes"] = _optimized_size(output)
            row[f"{name} s"] = best[name]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=_REPO.parent / "shared" / "corpus")
    parser.add_argument("--images", nargs="+", default=_IMAGES)
    parser.add_argument("-k", default="16,64,256", help="comma-separated palette sizes")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command, best kept")
    args = parser.parse_args()
    if shutil.which("pngquant") is None:
        sys.exit("pngquant is not installed (apt-get install pngquant)")
    ks = [int(k) for k in args.k.split(",")]
    print(
        f"ccodec {ccodec.__version__}, pngquant {_pngquant_version()}, "
        f"optimizer: {'oxipng level 6' if oxipng else 'none (pip install pyoxipng)'}, "
        f"best of {args.repeat} wall-clock runs\n"
    )
    print(
        "| image | K | ccodec MSE | pngquant MSE | MSE ratio | ccodec bytes | pngquant bytes "
        "| bytes ratio | ccodec s | pngquant s |"
    )
    print("| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: |")
    mse_ratios, byte_ratios = [], []
    for name in args.images:
        source = args.corpus / f"{name}.png"
        for k in ks:
            row = _cell(source, k, args.repeat)
            mse_ratio = row["ccodec mse"] / row["pngquant mse"]
            byte_ratio = row["ccodec bytes"] / row["pngquant bytes"]
            mse_ratios.append(mse_ratio)
            byte_ratios.append(byte_ratio)
            print(
                f"| {name} | {k} | {row['ccodec mse']:.6f} | {row['pngquant mse']:.6f} "
                f"| {mse_ratio:.3f} | {row['ccodec bytes']:,} | {row['pngquant bytes']:,} "
                f"| {byte_ratio:.3f} | {row['ccodec s']:.3f} | {row['pngquant s']:.3f} |"
            )
    print(
        f"\nMSE ratio: worst {max(mse_ratios):.3f}, median {statistics.median(mse_ratios):.3f}, "
        f"lower in {sum(r < 1 for r in mse_ratios)} of {len(mse_ratios)} cells"
    )
    print(f"bytes ratio: worst {max(byte_ratios):.3f}, median {statistics.median(byte_ratios):.3f}")


def _pngquant_version() -> str:
    result = subprocess.run(["pngquant", "--version"], capture_output=True, text=True)
    return result.stdout.strip().split()[0] if result.stdout else "?"


if __name__ == "__main__":
    main()
