"""ccodec.cluster: a --scheduler that is not a Dask scheduler fails in one line, in bounded time.

Every server here listens on 127.0.0.1 only, and stops with its test.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import ccodec
from ccodec import cluster
from ccodec.cli import main

if os.environ.get("CCODEC_REQUIRE_DASK"):  # CI: a skipped Dask test would hide a problem
    import distributed
else:
    distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[1]
# Far above the 1-2 s timeouts the tests ask for: only a hang reaches it.
BOUND = 60


@contextlib.contextmanager
def listener(reply: bytes | None) -> Iterator[str]:
    """A TCP server that accepts, sends `reply` and hangs up; with None it never says a word."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            if reply is None:
                held.append(conn)
            else:
                conn.sendall(reply)
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(BOUND)
        for conn in held:
            conn.close()
        server.close()


@contextlib.contextmanager
def web_server() -> Iterator[str]:
    """An HTTP server, as `python3 -m http.server` is."""
    handler = http.server.SimpleHTTPRequestHandler
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(BOUND)


def closed_port() -> str:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return f"tcp://127.0.0.1:{probe.getsockname()[1]}"


def connect(address: str, timeout: float = 1.0) -> BaseException | None:
    """What `dask_client` raises for `address`, waited for at most BOUND seconds."""
    outcome: dict[str, BaseException] = {}

    def attempt() -> None:
        try:
            with cluster.dask_client(address, timeout=timeout):
                pass
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(BOUND)
    assert not thread.is_alive(), f"dask_client({address!r}) still waiting after {BOUND} s"
    return outcome.get("error")


def test_a_listener_that_never_answers_times_out():
    with listener(None) as address:
        error = connect(address)
    assert isinstance(error, ccodec.CczError)
    assert str(error) == f"{address}: no answer from a Dask scheduler within 1 s"


def test_a_server_with_a_banner_is_not_a_scheduler():
    with listener(b"SSH-2.0-OpenSSH_9.2\r\n") as address:
        error = connect(address)
    assert isinstance(error, ccodec.CczError)
    assert str(error) == f"{address}: not a Dask scheduler (it does not speak Dask's protocol)"


def test_a_web_server_is_not_a_scheduler():
    with web_server() as address:
        error = connect(address)
    assert isinstance(error, ccodec.CczError)
    assert str(error).startswith(f"{address}: ")
    assert "not a Dask scheduler" in str(error) or "no answer from a Dask scheduler" in str(error)


def test_nothing_listening_is_said_at_once():
    address = closed_port()
    error = connect(address, timeout=BOUND / 2)  # refused: no waiting for the timeout
    assert isinstance(error, ccodec.CczError)
    assert str(error) == f"cannot reach the Dask scheduler at {address}: Connection refused"


def test_a_workers_address_is_not_the_schedulers():
    with distributed.LocalCluster(
        n_workers=1, processes=False, protocol="tcp", dashboard_address=None
    ) as local:
        worker = next(iter(local.scheduler_info["workers"]))
        error = connect(worker)
        assert connect(local.scheduler_address) is None
    assert isinstance(error, ccodec.CczError)
    assert str(error) == f"{worker}: a Dask Worker, not the scheduler; give the scheduler's address"


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("", "the address is empty"),
        ("  ", "the address is empty"),
        ("tcp://h :1", "an address has no spaces"),
        ("nonsense://x", "nonsense://x: not a Dask address (unknown address scheme"),
        ("tcp://", "tcp://: not a Dask address (missing port number"),
        ("tcp://h:99999", "tcp://h:99999: not a Dask address (port 99999 is not in 1-65535)"),
    ],
)
def test_an_empty_or_malformed_address_is_an_option_error(address, message):
    with pytest.raises(ccodec.OptionError, match=re.escape(message)):
        cluster.check_address(address)


# -- through the command -------------------------------------------------------------------


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    path = tmp_path / "a.png"
    pixels = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def encode_on(picture: Path, address: str, *options: str) -> subprocess.CompletedProcess:
    """`ccodec encode` in a child process; a hang fails the test instead of stopping it."""
    command = [sys.executable, "-m", "ccodec", "encode", str(picture), "-k", "4"]
    command += ["-o", str(picture.parent / "out"), "--scheduler", address, *options]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=BOUND)


def assert_one_line(result: subprocess.CompletedProcess, message: str) -> None:
    assert result.returncode == 1, result.stderr
    assert result.stderr == f"ccodec: error: {message}\n"
    assert result.stdout == ""


@pytest.mark.parametrize("server", [listener(None), web_server()], ids=["silent", "http"])
def test_a_silent_server_fails_the_command_in_one_line(picture, server):
    with server as address:
        result = encode_on(picture, address, "--scheduler-timeout", "2")
    assert_one_line(result, f"{address}: no answer from a Dask scheduler within 2 s")
    assert not (picture.parent / "out").exists()


def test_a_banner_fails_the_command_in_one_line(picture):
    with listener(b"SSH-2.0-OpenSSH_9.2\r\n") as address:
        result = encode_on(picture, address)
    assert_one_line(result, f"{address}: not a Dask scheduler (it does not speak Dask's protocol)")


def test_a_workers_address_fails_the_command_in_one_line(picture):
    with distributed.LocalCluster(
        n_workers=1, processes=False, protocol="tcp", dashboard_address=None
    ) as local:
        worker = next(iter(local.scheduler_info["workers"]))
        result = encode_on(picture, worker)
    message = f"{worker}: a Dask Worker, not the scheduler; give the scheduler's address"
    assert_one_line(result, message)


@pytest.mark.parametrize("address", ["", "nonsense://x"])
def test_an_empty_or_malformed_address_is_a_usage_error(picture, address):
    args = ["encode", str(picture), "-k", "4", "-o", str(picture.parent / "out")]
    result = CliRunner().invoke(main, [*args, "--scheduler", address])
    assert result.exit_code == 2
    assert "Invalid value for '--scheduler'" in result.stderr
    assert not (picture.parent / "out").exists()
