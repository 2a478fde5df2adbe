"""Policy sources: where revisions come from (a directory, a git repository).

A source only fetches; it never compiles. `poll()` returns a `Snapshot` (a directory on disk plus
the revision to stamp on decisions) when there is something new to try, None when nothing changed,
and raises `SourceError` when the newest revision may not be used (fetch failed, unsigned commit).
The reloader in `celgate.service.reloader` compiles, tests and swaps.
"""

from __future__ import annotations

from celgate.sources.base import Snapshot, Source, SourceError, default_policies_dir


def open_source(
    spec: str,
    *,
    poll_interval: float = 10.0,
    dir_poll_interval: float = 0.5,
    cache_dir: str = "",
    require_signed: bool = False,
    allowed_signers: str = "",
) -> Source:
    """`spec` is a directory, `git+URL#REF`, or "" for the embedded default library."""
    if spec.startswith("git+"):
        from celgate.sources.git import GitSource

        return GitSource(
            spec,
            interval=poll_interval,
            cache_dir=cache_dir,
            require_signed=require_signed,
            allowed_signers=allowed_signers,
        )
    from celgate.sources.directory import DirectorySource

    if require_signed:
        raise SourceError("--require-signed needs a git source (git+URL#REF)")
    return DirectorySource(spec or str(default_policies_dir()), interval=dir_poll_interval)


__all__ = ["Snapshot", "Source", "SourceError", "default_policies_dir", "open_source"]
