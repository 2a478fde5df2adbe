"""Starts a real, throwaway `redis-server` on a free loopback port in a temp dir (tests only)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_redis_server() -> str:
    path = shutil.which("redis-server")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is not installed (apt-get install -y redis-server)")
        pytest.skip("redis-server is not installed")
    return path


@contextmanager
def redis_server() -> Iterator[str]:
    """Yields `redis://127.0.0.1:PORT/0`; stops the server and removes its directory afterwards."""
    import redis

    binary = require_redis_server()
    with tempfile.TemporaryDirectory(prefix="celgate-redis-") as tmp:
        port = free_port()
        proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--dir",
                tmp,
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=0.2)
            for _ in range(200):  # bounded: about 10 s at most
                try:
                    if client.ping():
                        break
                except redis.exceptions.ConnectionError:
                    if proc.poll() is not None:
                        raise RuntimeError("redis-server exited during start-up") from None
                    time.sleep(0.05)
            else:
                raise RuntimeError("redis-server did not answer PING")
            client.close()
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
