"""write_atomic: all or nothing, never over an input, never over a file without force."""

from __future__ import annotations

import os

import pytest

from ccodec.errors import OutputError
from ccodec.output import check_output, write_atomic


def _write(data: bytes):
    return lambda fp: fp.write(data)


def _fail(fp):
    fp.write(b"half")
    raise RuntimeError("disk on fire")


def _interrupt(fp):
    fp.write(b"half")
    raise KeyboardInterrupt


def test_writes_the_file(tmp_path):
    out = tmp_path / "out.bin"
    write_atomic(out, _write(b"data"))
    assert out.read_bytes() == b"data"
    assert os.listdir(tmp_path) == ["out.bin"]


@pytest.mark.parametrize(
    ("write_fn", "error"), [(_fail, RuntimeError), (_interrupt, KeyboardInterrupt)]
)
def test_failure_leaves_no_file_and_no_temp_file(tmp_path, write_fn, error):
    with pytest.raises(error):
        write_atomic(tmp_path / "out.bin", write_fn)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("write_fn", "error"), [(_fail, RuntimeError), (_interrupt, KeyboardInterrupt)]
)
def test_failure_keeps_the_old_file(tmp_path, write_fn, error):
    out = tmp_path / "out.bin"
    out.write_bytes(b"old")
    with pytest.raises(error):
        write_atomic(out, write_fn, force=True)
    assert out.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_os_errors_while_writing_become_output_errors(tmp_path):
    def full(fp):
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError, match="out.bin: cannot write: No space left on device"):
        write_atomic(tmp_path / "out.bin", full)
    assert os.listdir(tmp_path) == []


def test_refuses_to_overwrite_without_force(tmp_path):
    out = tmp_path / "out.bin"
    out.write_bytes(b"old")
    with pytest.raises(OutputError, match="already exists.*--force"):
        write_atomic(out, _write(b"new"))
    assert out.read_bytes() == b"old"
    write_atomic(out, _write(b"new"), force=True)
    assert out.read_bytes() == b"new"


@pytest.mark.parametrize("force", [False, True])
def test_refuses_to_write_over_an_input(tmp_path, monkeypatch, force):
    source = tmp_path / "in.png"
    source.write_bytes(b"precious")
    monkeypatch.chdir(tmp_path)
    for same in [source, "in.png", "./sub/../in.png"]:
        (tmp_path / "sub").mkdir(exist_ok=True)
        with pytest.raises(OutputError, match="same file as the input"):
            write_atomic(same, _write(b"x"), inputs=[source], force=force)
    os.link(source, tmp_path / "hard.png")
    with pytest.raises(OutputError, match="same file as the input"):
        write_atomic(tmp_path / "hard.png", _write(b"x"), inputs=[source], force=force)
    assert source.read_bytes() == b"precious"


def test_missing_folder(tmp_path):
    with pytest.raises(OutputError, match="folder .*nowhere does not exist"):
        write_atomic(tmp_path / "nowhere" / "out.bin", _write(b"x"))


def test_folder_is_a_file(tmp_path):
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(OutputError, match="is not a folder"):
        write_atomic(tmp_path / "file" / "out.bin", _write(b"x"))


def test_output_is_a_folder(tmp_path):
    with pytest.raises(OutputError, match="is a folder"):
        write_atomic(tmp_path, _write(b"x"), force=True)


def test_unwritable_folder(tmp_path, monkeypatch):
    # Root writes through chmod 0o500, so the access check is simulated there.
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    if os.geteuid() == 0:
        monkeypatch.setattr(os, "access", lambda path, mode: False)
    try:
        with pytest.raises(OutputError, match="permission denied"):
            write_atomic(folder / "out.bin", _write(b"x"))
    finally:
        folder.chmod(0o700)
    assert os.listdir(folder) == []


def test_new_file_mode_follows_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        write_atomic(tmp_path / "out.bin", _write(b"x"))
    finally:
        os.umask(old)
    assert (tmp_path / "out.bin").stat().st_mode & 0o777 == 0o640


def test_check_output_checks_without_writing(tmp_path):
    check_output(tmp_path / "out.bin")
    assert os.listdir(tmp_path) == []
    with pytest.raises(OutputError):
        check_output(tmp_path / "missing" / "out.bin")


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755])
def test_replacing_a_file_keeps_its_permissions(tmp_path, mode):
    out = tmp_path / "out.bin"
    out.write_bytes(b"old")
    out.chmod(mode)
    write_atomic(out, _write(b"new"), force=True)
    assert out.read_bytes() == b"new"
    assert out.stat().st_mode & 0o7777 == mode


def test_a_new_file_gets_the_permissions_open_gives(tmp_path):
    mask = os.umask(0o027)
    try:
        write_atomic(tmp_path / "out.bin", _write(b"new"))
    finally:
        os.umask(mask)
    assert (tmp_path / "out.bin").stat().st_mode & 0o777 == 0o640


def test_the_data_is_synced_before_the_rename(tmp_path, monkeypatch):
    import ccodec.output as output

    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        kind = "folder" if os.path.isdir(f"/proc/self/fd/{fd}") else "file"
        events.append(("fsync", kind, os.fstat(fd).st_size))
        real_fsync(fd)

    def replace(src, dst):
        events.append(("replace",))
        real_replace(src, dst)

    monkeypatch.setattr(output.os, "fsync", fsync)
    monkeypatch.setattr(output.os, "replace", replace)
    write_atomic(tmp_path / "out.bin", _write(b"data"))
    assert events[:2] == [("fsync", "file", 4), ("replace",)]
    if os.path.isdir("/proc/self/fd"):
        assert events[2][:2] == ("fsync", "folder")
