"""Nothing that came from a file or a name reaches the terminal as a control character."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import ccodec
from ccodec.cli import main
from ccodec.safetext import safe_text
from ccodec.writers import Writer

ROOT = Path(__file__).resolve().parents[1]

# Window title (OSC 0), clipboard (OSC 52), reset (ESC c), hidden text, C1 CSI, bidi override.
HOSTILE = {
    "Title": "\x1b]0;pwned\x07",
    "Clip": "\x1b]52;c;ZWNobyBoaQ==\x07",
    "Reset\x1bc": "\x1bc",
    "Hide": "real\rfake\b\b\bmore",
    "C1": "\x9b31mred\x9b0m",
    "Bidi": "abc\u202eevil\u2028next\x7f",
}
EVIL_NAME = "evil\x1b]0;title\x07\nname"
# Anything but a newline that a terminal acts on.
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069]")


def assert_no_controls(text: str) -> None:
    found = RAW_CONTROL.search(text)
    assert found is None, f"raw {found.group()!r} in {text!r}"


def hostile_ccz(folder: Path, name: str = "hostile") -> Path:
    pixels = np.random.default_rng(1).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    q = ccodec.quantize(pixels, 4, seed=0)
    path = folder / f"{name}.ccz"
    path.write_bytes(ccodec.encode_quantized(dataclasses.replace(q, info=dict(HOSTILE))))
    return path


def test_safe_text_escapes_every_control_and_keeps_the_rest():
    assert safe_text("\x00\x08\t\n\r\x1b\x7f") == "\\x00\\x08\\t\\n\\r\\x1b\\x7f"
    assert safe_text("\x80\x9b\x9f") == "\\u0080\\u009b\\u009f"
    assert safe_text("\u202e\u2066\u2028\u2029") == "\\u202e\\u2066\\u2028\\u2029"
    assert safe_text("a\\b") == "a\\\\b"  # a backslash doubles, so "\\x1b" cannot pass for ESC
    assert safe_text("bad\udc9bbyte") == "bad\\x9bbyte"  # os.fsdecode of the byte 0x9b
    assert safe_text("café ☕ 東京.png") == "café ☕ 東京.png"
    assert_no_controls(safe_text("".join(map(chr, range(0x3000)))))


def test_stats_text_chunks_are_escaped(tmp_path):
    path = hostile_ccz(tmp_path)
    result = CliRunner().invoke(main, ["stats", str(path)])
    assert result.exit_code == 0, result.output
    assert_no_controls(result.output)
    assert "text Title      \\x1b]0;pwned\\x07" in result.output
    assert "text Reset\\x1bc" in result.output
    assert "real\\rfake\\x08\\x08\\x08more" in result.output
    assert "\\u009b31mred" in result.output
    assert "abc\\u202eevil\\u2028next\\x7f" in result.output


def test_stats_json_keeps_the_exact_strings_escaped_by_json(tmp_path):
    path = hostile_ccz(tmp_path)
    result = CliRunner().invoke(main, ["stats", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert_no_controls(result.output)
    assert json.loads(result.output)["text"] == HOSTILE


def test_file_names_are_escaped_in_success_lines(tmp_path):
    path = hostile_ccz(tmp_path, EVIL_NAME)
    decoded = tmp_path / f"{EVIL_NAME}.png"
    encoded = tmp_path / f"{EVIL_NAME}2.ccz"
    runs = [
        ["stats", str(path)],
        ["decode", str(path), str(decoded)],
        ["encode", str(decoded), "-k", "2", str(encoded)],
        ["encode", str(decoded), "-k", "2", "-o", str(tmp_path / "out")],
        ["stats", str(decoded), "-k", "2"],
    ]
    for args in runs:
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        assert_no_controls(result.output)
        assert "evil\\x1b]0;title\\x07\\nname" in result.output
    assert ccodec.decode(encoded.read_bytes()).k == 2


def test_file_names_are_escaped_in_error_and_warning_lines(tmp_path):
    path = hostile_ccz(tmp_path, EVIL_NAME)
    missing = str(tmp_path / f"{EVIL_NAME}.png")
    runs = [
        (["decode", missing, str(tmp_path / "x.png")], 1),
        (["encode", missing, "-k", "2", str(tmp_path / "x.ccz")], 1),
        (["encode", missing, "-k", "2", "-o", str(tmp_path / "out")], 1),
        (["decode", str(path), str(path)], 1),  # already exists
        (["stats", missing], 1),
        (["stats", str(path), missing], 2),  # extra argument
        ([missing], 2),  # no such command
    ]
    for args, code in runs:
        result = CliRunner().invoke(main, args)
        assert result.exit_code == code, result.output
        assert_no_controls(result.output)
        # A one-line error folds a newline to a space; the ESC is what matters.
        assert "evil\\x1b]0;title\\x07" in result.output


def test_writers_escapes_plugin_names_and_descriptions(monkeypatch):
    evil = Writer(
        "evil\x1b[2J",
        (".ev\x9b",),
        "desc \x1b]52;c;eA==\x07",
        lossy=False,
        target=lambda q, fp: None,
        source="plugin (x\u202e)",
    )
    monkeypatch.setattr(ccodec.writers, "_plugins", lambda: ((evil,), (("b", "bad \x1bc"),)))
    result = CliRunner().invoke(main, ["writers"])
    assert result.exit_code == 0, result.output
    assert_no_controls(result.output)
    assert "evil\\x1b[2J" in result.output
    assert "desc \\x1b]52;c;eA==\\x07" in result.output
    assert "bad \\x1bc" in result.output


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file names are bytes")
def test_undecodable_file_name_bytes_reach_no_terminal(tmp_path):
    """A real process: a name with the byte 0x9b (C1 CSI in 8-bit terminals) and ESC."""
    path = hostile_ccz(tmp_path)
    evil = os.fsencode(tmp_path) + b"/bad\x9b\x1b[31m.ccz"
    os.rename(path, evil)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LC_ALL": "C.UTF-8"}
    for args in ([b"stats", evil], [b"decode", evil, evil + b".png"], [b"stats", evil + b"x"]):
        done = subprocess.run(
            [sys.executable.encode(), b"-m", b"ccodec", *args], capture_output=True, env=env
        )
        for stream in (done.stdout, done.stderr):
            assert not re.search(rb"[\x00-\x09\x0b-\x1f\x7f-\x9f]", stream), stream
            assert b"\\x9b\\x1b[31m" in done.stdout + done.stderr
