"""Removes what must never reach a status page or a log line: URL credentials and local paths.

A git source URL can carry a secret in three places — `user:token@host`, a query string
(`?private_token=...`), a fragment — and git repeats the URL in its own error messages. A policy
error names a file by its absolute path inside a checkout (`/tmp/celgate-git-…/checkouts/…`),
which tells a caller about the host's layout. `scrub_url` and `scrub_text` cut both, leaving
enough to act on: the host, the repository path, the file's path inside the policy repository.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

_URL = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://)([^\s'\"<>]+)")
_QUERY_VALUE = re.compile(r"=[^&#\s]*")
REDACTED = "REDACTED"


def scrub_url(url: str) -> str:
    """The URL without `user:password@` and without the values of its query parameters."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = authority.rsplit("@", 1)[1]
    rest = authority + slash + path
    base, q, query = rest.partition("?")
    if q:
        fragment = ""
        if "#" in query:
            query, fragment = query.split("#", 1)
            fragment = "#" + fragment
        rest = base + "?" + _QUERY_VALUE.sub("=" + REDACTED, query) + fragment
    return f"{scheme}{sep}{rest}"


def scrub_text(text: str, roots: Iterable[str | Path] = ()) -> str:
    """`text` with every URL scrubbed and every path under one of `roots` made relative to it."""
    text = _URL.sub(lambda m: scrub_url(m.group(1) + m.group(2)), text)
    for root in roots:
        prefix = str(root).rstrip("/")
        if prefix:
            text = text.replace(prefix + "/", "").replace(prefix, ".")
    return text
