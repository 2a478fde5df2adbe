"""Refuses to start on ports another process already serves.

The workers of one `celgate serve` share their ports with SO_REUSEPORT, and the kernel would just
as happily let a second `celgate serve` (or anything else with SO_REUSEPORT) join them: traffic
would then be split silently between two policy sets. So before any worker binds, the main
process binds each port once *without* SO_REUSEPORT — which fails while anyone listens there —
and lets it go. SO_REUSEADDR is kept so connections lingering in TIME_WAIT from a previous run
do not count as "in use".
"""

from __future__ import annotations

import errno
import socket

from celgate.config import ConfigError, parse_addr


def ensure_free(addr: str, flag: str) -> None:
    """Raises ConfigError, naming the flag, when something already listens on `addr`."""
    host, port = parse_addr(addr, flag)
    if port == 0:  # the kernel picks a free one
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"{flag} {addr}: already in use by another process (another celgate serve?); "
                    f"stop it or choose another address with --{flag}"
                ) from None
            raise ConfigError(f"{flag} {addr}: cannot bind: {e.strerror}") from None
