"""How much smaller oxipng makes ccodec's palette PNGs than Pillow's ``optimize=True``, and at
what cost, for each oxipng preset.

    PYTHONPATH=. python benchmarks/png_optimizer.py --corpus ../shared/corpus

Each corpus image is quantized once per K; the same palette image is saved by Pillow
(``optimize=True``, what the png writer does without pyoxipng) and then recompressed by oxipng
at presets 2, 4 and 6 with the png writer's other settings. Sizes are exact; times are the best
of --repeat runs in this process, rough on a shared machine.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from pathlib import Path

import oxipng
from PIL import Image

import ccodec
from ccodec.writers import _palette

_REPO = Path(__file__).resolve().parent.parent
_IMAGES = ["astronaut", "chelsea", "coffee", "logo", "rocket"]
_LEVELS = (2, 4, 6)


def _pillow_png(q: ccodec.Quantized) -> bytes:
    image = _palette.palette_image(q)
    extra = {"transparency": image.info["transparency"]} if "transparency" in image.info else {}
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True, **extra)
    return buffer.getvalue()


def _best(function, repeat: int) -> tuple[float, bytes]:
    best, result = float("inf"), b""
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=_REPO.parent / "shared" / "corpus")
    parser.add_argument("--images", nargs="+", default=_IMAGES)
    parser.add_argument("-k", default="16,64,256", help="comma-separated palette sizes")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    names = ["pillow", *(f"oxipng {level}" for level in _LEVELS)]
    print("| image | K | " + " | ".join(f"{n} bytes | {n} ms" for n in names) + " |")
    print("| --- | --: |" + " --: | --: |" * len(names))
    ratios: dict[str, list[float]] = {name: [] for name in names}
    for image_name in args.images:
        with Image.open(args.corpus / f"{image_name}.png") as image:
            pixels = ccodec.to_pixels(image)
        for k in (int(k) for k in args.k.split(",")):
            q = ccodec.quantize(pixels, k)
            seconds, plain = _best(lambda q=q: _pillow_png(q), args.repeat)
            cells = {"pillow": (len(plain), seconds)}
            for level in _LEVELS:
                seconds, smaller = _best(
                    lambda level=level, plain=plain: oxipng.optimize_from_memory(
                        plain,
                        level=level,
                        strip=oxipng.StripChunks.none(),
                        color_type_reduction=False,
                    ),
                    args.repeat,
                )
                cells[f"oxipng {level}"] = (len(smaller), seconds)
            for name in names:
                ratios[name].append(cells[name][0] / cells["pillow"][0])
            row = " | ".join(f"{size:,} | {seconds * 1000:.0f}" for size, seconds in cells.values())
            print(f"| {image_name} | {k} | {row} |", flush=True)
    print()
    for name in names[1:]:
        r = ratios[name]
        print(
            f"{name} / pillow bytes: median {statistics.median(r):.3f}, "
            f"worst {max(r):.3f}, best {min(r):.3f}"
        )


if __name__ == "__main__":
    main()
