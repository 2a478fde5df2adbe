"""A directory of policies, polled: a change is picked up on the next poll, no restart.

Polling (mtime, size and name of every file) costs a few hundred µs for a policy repo and needs no
inotify, works on bind mounts and ConfigMap volumes (whose atomic symlink swap changes mtimes).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from celgate.sources.base import Snapshot, SourceError

_MAX_FILES = 10_000


class DirectorySource:
    def __init__(self, path: str, *, interval: float = 0.5) -> None:
        self.path = Path(path).resolve()
        self.interval = interval
        self.description = f"directory {self.path.name}"  # shown in /v1/status: no local path
        self._last_key: str | None = None

    def fingerprint(self) -> str:
        if not self.path.is_dir():
            raise SourceError(f"policy directory {self.path} does not exist or is not a directory")
        digest = hashlib.sha256()
        count = 0
        for root, dirs, files in os.walk(self.path, followlinks=True):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.startswith("."):
                    continue
                full = os.path.join(root, name)
                try:
                    st = os.stat(full)
                except OSError:
                    continue
                digest.update(f"{os.path.relpath(full, self.path)}\0{st.st_mtime_ns}\0{st.st_size}\n".encode())
                count += 1
                if count > _MAX_FILES:
                    raise SourceError(f"{self.description} holds more than {_MAX_FILES} files")
        return digest.hexdigest()

    def poll(self) -> Snapshot | None:
        key = self.fingerprint()
        if key == self._last_key:
            return None
        self._last_key = key
        return Snapshot(self.path, None, key)

    def close(self) -> None:
        pass
