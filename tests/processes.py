"""Processes the tests and the benches start: free ports, readiness waits, `chroma run` servers (no heavy imports)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

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


def start_chroma(path: Path, port: int) -> subprocess.Popen:
    """Start a real ``chroma run`` server on 127.0.0.1:``port`` storing in ``path``; returns when it answers."""
    chroma = Path(sys.executable).parent / "chroma"
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("chroma run did not start")
        time.sleep(0.3)


@contextlib.contextmanager
def chroma_server(path: Path, port: int | None = None) -> Iterator[int]:
    """A real ``chroma run`` server on 127.0.0.1 storing in ``path``; yields its port."""
    port = port or free_port()
    proc = start_chroma(path, port)
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)
