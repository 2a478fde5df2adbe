"""A git repository of policies (`git+URL#REF`), fetched with the git CLI and polled.

The git CLI, not a library: it speaks every transport and credential helper users already have,
and `git verify-commit` checks ssh signatures against an `allowed_signers` file. Each poll fetches
REF shallowly into a private bare cache, and only a new commit is unpacked (`git archive`) into a
directory of its own for the reloader to compile; the commit becomes the decision's
`policy_revision`. A token for https comes from `CELGATE_GIT_TOKEN` and is passed to git through
`GIT_CONFIG_*` environment variables, so it never shows in a process list or in the cache's config.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from celgate.scrub import scrub_text, scrub_url
from celgate.sources.base import Snapshot, SourceError

_TIMEOUT_S = 120
_KEEP_CHECKOUTS = 3


def parse_spec(spec: str) -> tuple[str, str]:
    """`git+file:///srv/p.git#main` → (`file:///srv/p.git`, `main`); REF defaults to HEAD."""
    url, _, ref = spec.removeprefix("git+").partition("#")
    if not url:
        raise SourceError(f"policy source {scrub_url(spec)!r}: expected git+URL#REF")
    return url, ref or "HEAD"


def redact_url(url: str) -> str:
    """Drops user:password@ and query values from a URL before it is logged or shown in /v1/status."""
    return scrub_url(url)


class GitSource:
    def __init__(
        self,
        spec: str,
        *,
        interval: float = 10.0,
        cache_dir: str = "",
        require_signed: bool = False,
        allowed_signers: str = "",
    ) -> None:
        self.url, self.ref = parse_spec(spec)
        self.interval = interval
        self.require_signed = require_signed
        self.allowed_signers = str(Path(allowed_signers).resolve()) if allowed_signers else ""
        self.description = f"git {redact_url(self.url)}#{self.ref}"
        tag = hashlib.sha256(self.url.encode()).hexdigest()[:12]
        if cache_dir:
            Path(cache_dir).mkdir(parents=True, exist_ok=True)
            self._root = Path(tempfile.mkdtemp(prefix=f"git-{tag}-", dir=cache_dir))
        else:
            self._root = Path(tempfile.mkdtemp(prefix=f"celgate-git-{tag}-"))
        self._git_dir = self._root / "cache.git"
        self._checkouts = self._root / "checkouts"
        self._checkouts.mkdir()
        self._last: str | None = None
        self._git("init", "--bare", "--quiet", str(self._git_dir), git_dir=False)

    def _env(self) -> dict[str, str]:
        env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="true", LC_ALL="C")
        token = os.environ.get("CELGATE_GIT_TOKEN", "")
        if token and self.url.startswith(("https://", "http://")):
            user = os.environ.get("CELGATE_GIT_USERNAME", "x-access-token")
            basic = base64.b64encode(f"{user}:{token}".encode()).decode()
            env.update(
                GIT_CONFIG_COUNT="1",
                GIT_CONFIG_KEY_0="http.extraHeader",
                GIT_CONFIG_VALUE_0=f"Authorization: Basic {basic}",
            )
        return env

    def _git(self, *args: str, git_dir: bool = True) -> bytes:
        cmd = ["git", *(("--git-dir", str(self._git_dir)) if git_dir else ()), *args]
        try:
            done = subprocess.run(cmd, capture_output=True, env=self._env(), timeout=_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise SourceError(f"{self.description}: git {args[0]} timed out after {_TIMEOUT_S} s") from None
        except OSError as e:
            raise SourceError(f"{self.description}: cannot run git: {e}") from None
        if done.returncode != 0:
            err = done.stderr.decode(errors="replace").strip().splitlines()
            # git repeats the URL (credentials and all) and local paths in its messages
            detail = scrub_text(err[-1], [self._root]) if err else str(done.returncode)
            raise SourceError(f"{self.description}: git {args[0]} failed: {detail}")
        return done.stdout

    def _verify(self, commit: str) -> None:
        cmd = [
            "git", "--git-dir", str(self._git_dir),
            "-c", "gpg.format=ssh",
            "-c", f"gpg.ssh.allowedSignersFile={self.allowed_signers}",
            "verify-commit", commit,
        ]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, env=self._env(), timeout=_TIMEOUT_S, check=False)
        if done.returncode != 0:
            lines = done.stderr.decode(errors="replace").strip().splitlines()
            why = lines[-1] if lines else "no signature"
            raise SourceError(f"commit {commit} is not signed by an allowed signer ({why})", revision=commit)

    def _checkout(self, commit: str) -> Path:
        dest = self._checkouts / commit
        if not dest.is_dir():
            tmp = Path(tempfile.mkdtemp(dir=self._checkouts, prefix=".tmp-"))
            with tarfile.open(fileobj=io.BytesIO(self._git("archive", "--format=tar", commit))) as tar:
                tar.extractall(tmp, filter="data")
            tmp.rename(dest)
        for old in sorted(self._checkouts.iterdir(), key=lambda p: p.stat().st_mtime)[:-_KEEP_CHECKOUTS]:
            shutil.rmtree(old, ignore_errors=True)
        return dest

    def poll(self) -> Snapshot | None:
        self._git("fetch", "--quiet", "--no-tags", "--depth=1", "--force", self.url, self.ref)
        commit = self._git("rev-parse", "--verify", "FETCH_HEAD^{commit}").decode().strip()
        if commit == self._last:
            return None
        self._last = commit
        if self.require_signed:
            self._verify(commit)
        return Snapshot(self._checkout(commit), commit, commit)

    def close(self) -> None:
        shutil.rmtree(self._root, ignore_errors=True)
