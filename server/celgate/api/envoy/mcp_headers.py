"""MCP `Mcp-Param-*` headers kept consistent with a `tools/call` body celgate rewrote.

Since MCP 2026-07-28 a client mirrors tool arguments whose input schema marks them with
`x-mcp-header` into `Mcp-Param-<token>` HTTP headers (so intermediaries can route on them), and the
server rejects a call whose headers and body arguments disagree. When a policy masks an argument in
the body, the header would still carry the raw value upstream — the very value the policy kept
from the server — and the server would refuse the mismatch. So after a rewrite:

- a header whose value is exactly a rewritten argument's original value is set to the rewritten
  value, encoded as the client would (plain, or the `=?base64?…?=` sentinel), so the server's check
  still passes;
- any other `Mcp-Param-*` header that still contains a redacted stretch is removed (the server then
  refuses the call as inconsistent: fail closed, and the raw value never leaves the gateway).

The door has no schema at hand (it sees one call at a time), so headers are matched by value, not by
the schema's property paths.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping

PREFIX = "mcp-param-"
_SENTINEL = re.compile(r"^=\?base64\?(?P<payload>.*)\?=$")
_HEADER_SAFE = re.compile(r"^[\x20-\x7E]*$")


def encode(value: str) -> str:
    """A value as an MCP client puts it in a header: verbatim when it survives as one, else base64."""
    if _HEADER_SAFE.fullmatch(value) and value == value.strip() and not _SENTINEL.fullmatch(value):
        return value
    return f"=?base64?{base64.b64encode(value.encode()).decode('ascii')}?="


def decode(value: str) -> str | None:
    """The value a header carries; None for a malformed base64 sentinel."""
    m = _SENTINEL.fullmatch(value)
    if m is None:
        return value
    try:
        raw = base64.b64decode(m.group("payload"), validate=True)
        return raw.decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def mutation(
    headers: Mapping[str, str], rewritten: Mapping[str, str], redacted: Iterable[str]
) -> tuple[dict[str, str], list[str]]:
    """(headers to set, headers to remove) for a call whose arguments were rewritten.

    `rewritten`: each rewritten argument's original value -> its new value; `redacted`: the original
    stretches the redactions covered (what must not reach the server in any header)."""
    stretches = [s for s in redacted if s]
    to_set: dict[str, str] = {}
    to_remove: list[str] = []
    for name, value in headers.items():
        if not name.lower().startswith(PREFIX):
            continue
        decoded = decode(value)
        text = decoded if decoded is not None else value
        if text in rewritten:
            to_set[name] = encode(rewritten[text])
        elif any(s in text for s in stretches):
            to_remove.append(name)
    return to_set, to_remove
