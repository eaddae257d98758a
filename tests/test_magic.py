"""formats/ccz.magic: `file -m` names .ccz files, their MIME type and extension."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import ccodec

MAGIC = Path(__file__).resolve().parents[1] / "formats" / "ccz.magic"
FILE = shutil.which("file")
pytestmark = pytest.mark.skipif(FILE is None, reason="the file command is not installed")


def _file(*args: str) -> str:
    result = subprocess.run(
        [FILE, "-b", "-m", str(MAGIC), *args], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


@pytest.fixture
def ccz_path(tmp_path: Path) -> Path:
    pixels = np.random.default_rng(0).integers(0, 256, (6, 5, 4), dtype=np.uint8)
    path = tmp_path / "x.ccz"
    path.write_bytes(ccodec.encode_image(pixels, 3)[1])
    return path


def test_describes_the_header(ccz_path: Path) -> None:
    assert (
        _file(str(ccz_path))
        == "ccodec palette image, version 1.2, 5 x 6, 3 colours, RGBA, context coder"
    )


def test_mime_type_and_extension(ccz_path: Path) -> None:
    assert _file("--mime-type", str(ccz_path)) == "image/x-ccz"
    assert _file("--extension", str(ccz_path)) == "ccz"


def test_other_files_are_not_ccz(tmp_path: Path) -> None:
    png = tmp_path / "x.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(32))
    assert _file("--mime-type", str(png)) != "image/x-ccz"


def test_mime_type_matches_the_pillow_plugin() -> None:
    from PIL import Image

    assert Image.MIME["CCZ"] == "image/x-ccz"
