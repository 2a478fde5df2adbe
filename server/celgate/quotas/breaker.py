"""The Redis quota store's circuit breaker: per process, or shared by the workers of one server.

After a failure the circuit opens: for `seconds` every call fails at once, without a network round
trip; then one caller probes Redis, and a success closes the circuit. Kept in the process only,
each of `--workers N` finds a hung Redis out on its own — N timed-out calls per period instead of
one. Given a file (`celgate serve` makes one per run and hands it to its workers), the state lives
in 16 memory-mapped bytes of it, so one worker's failure opens the circuit for all of them and only
one of them probes.

Layout: two doubles, `open_until` (0: closed) and `probe_until` (a probe is under way until then),
on the system's monotonic clock, which every process of one host shares. Reading the state on the
hot path is one unpack of a double; changing it (only on failures and probes) holds a lock: a
thread lock, and `flock` on the file across processes.
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
import struct
import threading
import time
from collections.abc import Callable, Iterator

_STATE = struct.Struct("dd")  # open_until, probe_until


def create_shared_file(path: str) -> None:
    """Writes a closed circuit to `path` (the server's main process, before it starts workers)."""
    with open(path, "wb") as f:
        f.write(_STATE.pack(0.0, 0.0))


class Breaker:
    def __init__(
        self,
        seconds: float,
        *,
        probe_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        path: str | None = None,
    ) -> None:
        self.seconds = seconds
        self.probe_seconds = probe_seconds  # a probe that never settles frees the slot after this
        self._clock = clock
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._buf: mmap.mmap | bytearray
        if path is None:
            self._buf = bytearray(_STATE.size)
        else:
            self._fd = os.open(path, os.O_RDWR)
            self._buf = mmap.mmap(self._fd, _STATE.size)

    @property
    def open(self) -> bool:
        """Whether a failure was seen and not yet followed by a success (open or half-open)."""
        return _STATE.unpack_from(self._buf)[0] != 0.0

    def admit(self) -> bool:
        """True when the call may go to Redis; False while the circuit is open (or another caller
        is probing). Costs one read while the circuit is closed."""
        open_until, _ = _STATE.unpack_from(self._buf)
        if open_until == 0.0:
            return True
        with self._locked():
            open_until, probe_until = _STATE.unpack_from(self._buf)
            now = self._clock()
            if open_until == 0.0:
                return True
            if now < open_until or now < probe_until:
                return False
            _STATE.pack_into(self._buf, 0, open_until, now + self.probe_seconds)  # this caller probes
            return True

    def settle(self, ok: bool) -> None:
        """Records a call's outcome: a success closes the circuit, a failure (re)opens it."""
        if ok and not self.open:
            return
        with self._locked():
            _STATE.pack_into(self._buf, 0, 0.0 if ok else self._clock() + self.seconds, 0.0)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock:
            if self._fd is None:
                yield
                return
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            assert isinstance(self._buf, mmap.mmap)
            self._buf.close()
            os.close(self._fd)
            self._fd = None
