"""Running the app as a separate process for benchmarks (and the tests that do the same)."""

from __future__ import annotations

import socket
import subprocess
import time

import httpx


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(base: str, server: subprocess.Popen, timeout: float = 900) -> None:
    """Wait until ``base``/readyz answers 200; fail if ``server`` exits or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        assert server.poll() is None, "the server exited"
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the server did not become ready"
        time.sleep(1)
