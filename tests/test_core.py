"""The compiled module: present, and its absence said in one line instead of a slow fallback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_compiled_module_is_built():
    import ccodec._core

    assert Path(ccodec._core.__file__).suffix in (".so", ".pyd")


def test_a_missing_compiled_module_is_one_clear_import_error():
    hide_core = "import sys; sys.modules['ccodec._core'] = None; import ccodec"
    result = subprocess.run(
        [sys.executable, "-c", hide_core],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: ccodec's compiled module ccodec._core cannot be loaded")
    assert "pip install ." in last
