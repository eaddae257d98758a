"""Connecting to a Dask scheduler: a checked address, a bounded wait, and a check it is one.

`distributed` alone would wait forever on a peer that accepts and never
answers, and would read a stranger's banner as a frame length; so the peer
is first asked who it is over one connection whose whole exchange is timed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Iterator

from .errors import CczError, OptionError

__all__ = ["DASK_HINT", "DEFAULT_TIMEOUT", "check_address", "dask_client"]

DASK_HINT = 'pip install "ccodec[dask]"'
DEFAULT_TIMEOUT = 10.0
# Loggers that report a failed or aborted connection with tracebacks of their own.
_NOISY_LOGGERS = ("distributed", "tornado", "asyncio")


def check_address(address: str) -> str:
    """`address` if it is a Dask address (``tcp://host:8786``); `OptionError` if not.

    An empty address or one with spaces is always refused; the rest is judged
    by Dask's own parser, when Dask is installed (`dask_client` says when not).
    """
    if not address.strip():
        raise OptionError("the address is empty; give the scheduler's, e.g. tcp://HOST:8786")
    if any(char.isspace() for char in address):
        raise OptionError(f"{address!r}: an address has no spaces")
    try:
        from distributed.comm import get_address_host_port, parse_address
    except ImportError:
        return address
    from distributed.comm.registry import get_backend

    try:
        scheme, _ = parse_address(address)
        get_backend(scheme)
        if scheme in ("tcp", "tls"):
            port = get_address_host_port(address)[1]
            if not 0 < port < 65536:
                raise ValueError(f"port {port} is not in 1-65535")
    except ValueError as exc:
        raise OptionError(f"{address}: not a Dask address ({exc})") from None
    return address


@contextlib.contextmanager
def dask_client(address: str, *, timeout: float = DEFAULT_TIMEOUT) -> Iterator:
    """A `distributed.Client` of the scheduler at `address`, closed afterwards.

    `OptionError` for a bad address or when Dask is missing; `CczError` when
    nothing answers at `address` within `timeout` seconds, or what answers is
    not a Dask scheduler (a Dask worker, a web server, ...).
    """
    try:
        from distributed import Client
    except ImportError:
        raise OptionError(f"--scheduler needs Dask: {DASK_HINT}") from None
    check_address(address)

    with _quiet_logs():
        _check_scheduler(address, timeout)
        try:
            client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise CczError(f"cannot reach the Dask scheduler at {address}: {_say(exc)}") from None
    with client:
        yield client


def _check_scheduler(address: str, timeout: float) -> None:
    """Raise `CczError` unless a Dask scheduler answers at `address` within `timeout` s."""
    outcome: dict[str, object] = {}

    def ask() -> None:
        try:
            outcome["identity"] = asyncio.run(asyncio.wait_for(_identity(address), timeout))
        except BaseException as exc:  # reported by the waiting thread
            outcome["error"] = exc

    # A thread of its own, so that a stuck name lookup cannot hold the caller past the bound.
    thread = threading.Thread(target=ask, name="ccodec-scheduler-check", daemon=True)
    thread.start()
    thread.join(timeout + 1)
    error = outcome.get("error")
    if thread.is_alive() or isinstance(error, TimeoutError):
        raise CczError(f"{address}: no answer from a Dask scheduler within {timeout:g} s")
    if isinstance(error, _Unreachable):
        raise CczError(f"cannot reach the Dask scheduler at {address}: {error}")
    identity = outcome.get("identity")
    if error is not None or not isinstance(identity, dict):
        raise CczError(f"{address}: not a Dask scheduler (it does not speak Dask's protocol)")
    kind = identity.get("type")
    if kind != "Scheduler" and "workers" not in identity:
        raise CczError(f"{address}: a Dask {kind}, not the scheduler; give the scheduler's address")


class _Unreachable(Exception):
    """Nothing accepts connections at the address."""


async def _identity(address: str) -> object:
    """What the server at `address` says it is (its ``identity`` reply)."""
    from distributed.comm import connect, get_address_host_port, parse_address

    if parse_address(address)[0] == "tcp":
        # Dask retries a refused connection until its timeout; a command should say so at once.
        host, port = get_address_host_port(address)
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError as exc:
            raise _Unreachable(os.strerror(exc.errno) if exc.errno else _say(exc)) from None
        writer.close()
    comm = await connect(address)  # the caller bounds the whole exchange
    try:
        await comm.write({"op": "identity", "reply": True})
        return await comm.read()
    finally:
        comm.abort()


def _say(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


@contextlib.contextmanager
def _quiet_logs() -> Iterator[None]:
    """Silence Dask's and asyncio's loggers while connecting: failures are reported in one line."""
    loggers = [logging.getLogger(name) for name in _NOISY_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
