"""`celgate serve` refuses ports another process already serves (SO_REUSEPORT would silently share them)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from celgate.cli import main
from celgate.config import ConfigError
from celgate.service.ports import ensure_free


@pytest.fixture
def listener() -> Iterator[int]:
    """Another process's server, as `celgate serve` binds it: SO_REUSEPORT, listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


def test_a_port_someone_listens_on_is_refused(listener: int) -> None:
    with pytest.raises(ConfigError, match="already in use by another process"):
        ensure_free(f"127.0.0.1:{listener}", "http-addr")


def test_a_free_port_and_port_zero_pass() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ensure_free(f"127.0.0.1:{port}", "grpc-addr")  # free again once closed
    ensure_free("127.0.0.1:0", "grpc-addr")


def test_serve_exits_with_a_clear_message(listener: int, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    status = main(["serve", "--http-addr", f"127.0.0.1:{free}", "--grpc-addr", f"127.0.0.1:{listener}"])
    assert status == 2
    err = capsys.readouterr().err
    assert f"grpc-addr 127.0.0.1:{listener}: already in use by another process" in err
    assert "--grpc-addr" in err
