"""Shared helpers for real peers: free loopback ports, readiness waits."""
from __future__ import annotations

import socket
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_banner(port: int, prefix: bytes, timeout: float = 10.0) -> None:
    """Wait until a TCP server on 127.0.0.1:port greets with ``prefix``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(200).startswith(prefix):
                    return
        except OSError as exc:
            last = exc
        time.sleep(0.05)
    raise RuntimeError(f"no {prefix!r} banner on port {port}: {last}")


def wait_until(predicate, timeout: float = 30.0, every: float = 0.2) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes; never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return bool(predicate())


async def until(predicate, timeout: float = 30.0, every: float = 0.02) -> bool:
    """``wait_until`` inside an event loop: the loop goes on while it waits."""
    import asyncio
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(every)
    return bool(predicate())


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")
