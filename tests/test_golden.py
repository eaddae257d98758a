"""Byte-identical output: a fixed set of encodes against SHA-256 recorded at a known-good commit.

A refactoring must leave every .ccz byte as it was. Each case encodes a small
generated image through the Python API and through the command line; a
change of the quantizer, a coding or the container that is meant to change
the output updates the table below in the same commit, saying why.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import ccodec
from ccodec.cli import main

MODES = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}


def _image(mode: str, height: int = 40, width: int = 48) -> Image.Image:
    """Gradients with seeded noise: thousands of distinct colours, smooth and busy parts."""
    rng = np.random.default_rng(MODES[mode])
    y, x = np.mgrid[0:height, 0:width]
    channels = [
        (x * 5 + y * 2) % 256,
        (y * 6 + rng.integers(0, 40, (height, width))) % 256,
        (x * y // 7 + rng.integers(0, 20, (height, width))) % 256,
        np.where(x < width // 3, 255, (x * 9) % 256),
    ]
    picked = {"L": [0], "LA": [0, 3], "RGB": [0, 1, 2], "RGBA": [0, 1, 2, 3]}[mode]
    pixels = np.stack([channels[c] for c in picked], axis=-1).astype(np.uint8)
    return Image.fromarray(pixels[..., 0] if len(picked) == 1 else pixels, mode)


# (mode, options, SHA-256 of the .ccz): options are `encode`'s keywords, or a
# quality target ("max_mse"/"min_psnr", with "k" as the most K allowed).
CASES = [
    ("L", {"k": 2}, "4fa8fd7a20aac6a1fcc47dedaf136b507bc01f29bb950034f2908d2f27f07ed2"),
    ("L", {"k": 16}, "921580a80509e8d9f46bc4ec4e61b3936bd3c8e7b6562f69c2d25fa1b11ebe2a"),
    ("L", {"k": 256}, "13521aad64cdb5f1e929361355e0710a3667ca9610a1a5a397b3ff4ac5f4b127"),
    ("L", {"k": 300}, "13521aad64cdb5f1e929361355e0710a3667ca9610a1a5a397b3ff4ac5f4b127"),
    ("LA", {"k": 2}, "4b3f6108c642588004838ba6f5dfa13718ab43fb43ce68d9a2b09b378f54e783"),
    ("LA", {"k": 16}, "043cf50c25c44e94e614c324ae9ce14ea30f2777e88ea3c328920ca21ec9a12a"),
    ("LA", {"k": 256}, "578f9924ed40b455c6ed6c72580216d8690509a465d45ea4133bed7216139568"),
    ("LA", {"k": 300}, "4f31c291e41fdc19339ba90466d9c05f3d6db551575870d9ca07b6599db214b0"),
    ("RGB", {"k": 2}, "a17291fb3407e018d7604e208eb417c2c0ff700667d399a39d8424f3be6fe8a4"),
    ("RGB", {"k": 16}, "0af1edc52f7b68c2e788a538e0b12dfdb7a7e473c1e9eaadb94ababf8314778a"),
    ("RGB", {"k": 256}, "aba28cb1ccde5f4100efef3bef3aeb0f6c780c5bbfe15ae225a262db3e3987e8"),
    ("RGB", {"k": 300}, "8532ac5442d4514812c27a56e622e1a8ad0d7d7833b557a3689056b6b62b61bd"),
    ("RGBA", {"k": 2}, "2124fcadf2c0bb9e51a42473653d9b019d76e06fea47e9756bc0e71ae21fa12f"),
    ("RGBA", {"k": 16}, "af96e1475ad262dfe83013bc3f1d8d258158de2dc8579b1c9edaed12fcc6e171"),
    ("RGBA", {"k": 256}, "d29e5700a052eeff0a1e7cdcbc260f6830111fdf967a9ccd0c73c7497cade414"),
    ("RGBA", {"k": 300}, "8587a09083470f09b50089caedecc6e0d0a312011e6b86c13103891febb8147c"),
    (
        "RGB",
        {"k": 16, "dither_method": "floyd-steinberg"},
        "b6d28fc1686eecc118c42e51372c03bd4c8aca8ee5417407f7c1d5207c0ac195",
    ),
    (
        "RGB",
        {"k": 16, "dither_method": "ordered"},
        "376afb76e6ef16e6e66c020155a3ced5fff9dc7645660de720eb7b749119ada1",
    ),
    (
        "RGBA",
        {"k": 16, "dither_method": "floyd-steinberg"},
        "3c58e072946a1ee4832e599b6f269d2a52dc4d05b21c8004727d3d3bec55d152",
    ),
    (
        "RGBA",
        {"k": 16, "dither_method": "ordered"},
        "3fc97493005994150dd624964be3f088fdb3f774f4730c5bd44c1cb73a491c3f",
    ),
    (
        "L",
        {"k": 16, "dither_method": "floyd-steinberg"},
        "d787cbc36be1998fee76fa424f384ad3d2746724ff217559d653d1f2c57e4fde",
    ),
    (
        "L",
        {"k": 16, "dither_method": "ordered"},
        "5d00830467efcdf90c3e37b87ee94fb7726a6e73125d2f65dd9f70b6b27e0530",
    ),
    (
        "RGB",
        {"k": 300, "dither_method": "floyd-steinberg"},
        "dd2179ef6e5f62f9c66a0333c363519f647be0d60e9393dd3c65115dac31e387",
    ),
    (
        "RGB",
        {"k": 16, "coding": "zstd"},
        "dbbefc7b0ddc2764375e2742d709b222ce90cff203c8dd40516e0b9ca1457d59",
    ),
    (
        "RGB",
        {"k": 16, "coding": "context"},
        "0af1edc52f7b68c2e788a538e0b12dfdb7a7e473c1e9eaadb94ababf8314778a",
    ),
    (
        "RGB",
        {"k": 16, "coding": "rans"},
        "7d665008f03467f6fd82b72d994011615f5ad6ee670c31c7f35bff6a88a68a0a",
    ),
    (
        "LA",
        {"k": 16, "coding": "zstd"},
        "16d1a88455478d46b00dd6e42bfded07ba6f44f955c25e596f5e912e20bfcdea",
    ),
    (
        "LA",
        {"k": 16, "coding": "context"},
        "043cf50c25c44e94e614c324ae9ce14ea30f2777e88ea3c328920ca21ec9a12a",
    ),
    (
        "LA",
        {"k": 16, "coding": "rans"},
        "4a54c78226371a1fcc263d01dd8e16ae831d6280a3783756aaf4e5f0c939e872",
    ),
    (
        "RGBA",
        {"k": 300, "coding": "rans"},
        "a00608ea7406a318d32a3b3c353d9a688eab95a6c80fea5decc2cb457984bc55",
    ),
    (
        "RGB",
        {"k": 300, "coding": "zstd", "level": 3},
        "a8698daad6579498705cfe1cd38d30944e86ab3d1e67127a9373f820181d64e1",
    ),
    (
        "RGB",
        {"k": 16, "space": "oklab"},
        "32ffc83a1b2db830a15035cf0bd90d5a4b8edb96da3f763292d49154fcf089ef",
    ),
    (
        "RGBA",
        {"k": 16, "space": "oklab"},
        "ab82faae97f789d3b4fbad74de2a9e5f0f13bce84f8d1aee85edadfa99228223",
    ),
    (
        "L",
        {"k": 16, "space": "oklab"},
        "334d3098ad83c846c0e4816011c17d9b2c85c257635ac2476216be377cffbe62",
    ),
    (
        "RGB",
        {"k": 16, "space": "oklab", "dither_method": "ordered"},
        "cdb6d0623353aa89a821922a37a73bdce9e7d9d5e7e64b83a04aeab63e017540",
    ),
    (
        "RGB",
        {"k": 7, "seed": 5, "max_iter": 3},
        "b825a01099ec1f1f07575c5a9ba9e0384aa7ff7edee815044ec2765d724b24a3",
    ),
    ("RGB", {"max_mse": 0.002}, "888ffef2519de0e96785494199b4a6198baff15675b53b242a211ceff0f9d548"),
    ("RGBA", {"min_psnr": 30}, "5b6db142e89d47a978c28c8f1c012eef3ef7f396cdd2edeca9d4b26ea3d947bd"),
    (
        "L",
        {"max_mse": 0.0005, "coding": "rans"},
        "a8229f72884b81315d460ddc873eeacc33801a9438ff7c40523489da097941c4",
    ),
    (
        "RGB",
        {"min_psnr": 28, "space": "oklab", "k": 40},
        "a9fde6df78c0650f79a828252c76876e73ee71c8e5f8224218ee97f56934e39f",
    ),
    ("LA", {"max_mse": 0.0}, "578f9924ed40b455c6ed6c72580216d8690509a465d45ea4133bed7216139568"),
]


def _api(image: Image.Image, options: dict) -> bytes:
    return ccodec.encode(image, **options)


def _by_parts(image: Image.Image, options: dict) -> bytes:
    """The same bytes from the steps the API joins: quantize (or the target search), then the
    container; the generated images carry no metadata."""
    options = dict(options)
    coding, level = options.pop("coding", "auto"), options.pop("level", None)
    pixels = ccodec.to_pixels(image)
    if "max_mse" in options or "min_psnr" in options:
        q = ccodec.quantize_to_target(pixels, k_max=options.pop("k", 256), **options)
    else:
        assert options.get("dither_method", "none") == "none"
        q = ccodec.quantize(pixels, options.pop("k"), **options)
    return ccodec.encode_quantized(q, level=level, coding=coding)


def _cli_args(options: dict) -> list[str]:
    flags = {"dither_method": "--dither", "k": "-k", "max_mse": "--max-mse"}
    args = []
    for name, value in options.items():
        args += [flags.get(name, "--" + name.replace("_", "-")), str(value)]
    return args


def _case_id(case: tuple) -> str:
    mode, options, _ = case
    return mode + "-" + "-".join(f"{name}={value}" for name, value in options.items())


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_api_bytes_unchanged(case: tuple) -> None:
    mode, options, digest = case
    assert hashlib.sha256(_api(_image(mode), options)).hexdigest() == digest


@pytest.mark.parametrize(
    "case", [case for case in CASES if "dither_method" not in case[1]], ids=_case_id
)
def test_parts_give_the_same_bytes(case: tuple) -> None:
    mode, options, digest = case
    assert hashlib.sha256(_by_parts(_image(mode), options)).hexdigest() == digest


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_cli_bytes_unchanged(case: tuple, tmp_path: Path) -> None:
    mode, options, digest = case
    _image(mode).save(tmp_path / "in.png")
    args = ["encode", str(tmp_path / "in.png"), str(tmp_path / "out.ccz"), "-q"]
    result = CliRunner().invoke(main, args + _cli_args(options))
    assert result.exit_code == 0, result.output
    assert hashlib.sha256((tmp_path / "out.ccz").read_bytes()).hexdigest() == digest
