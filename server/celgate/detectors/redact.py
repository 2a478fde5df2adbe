"""Redaction: merge overlapping findings and rewrite the text with a replacement template.

Templates: ``[{type}]`` (default), a fixed string such as ``****``, or a keyed hash. ``{hash}``
is HMAC-SHA256 of the replaced value under a key derived from the configured key *and the
tenant*, hex-truncated, so the same value maps to the same token within one tenant (joins and
de-duplication still work on redacted logs) but tokens are not comparable across tenants. The
bare template ``{hash}`` is shorthand for ``[{type}:{hash}]`` (e.g. ``[email:3f9a1c2b]``).

When overlapping spans of different types merge, the merged span takes the type of the
highest-scoring member (ties: the earliest, then the longest) and the highest score.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence

from celgate.detectors.base import Finding

_PLACEHOLDER = re.compile(r"\{(\w*)\}")
_ALLOWED = {"type", "hash"}
MAX_TEMPLATE = 128


def validate_replacement(template: str) -> None:
    """Reject templates with unknown placeholders or stray braces (at policy compile time)."""
    if not isinstance(template, str):
        raise ValueError("redaction replacement must be a string")
    if len(template) > MAX_TEMPLATE:
        raise ValueError(f"redaction replacement longer than {MAX_TEMPLATE} characters")
    for name in _PLACEHOLDER.findall(template):
        if name not in _ALLOWED:
            raise ValueError(f"unknown placeholder '{{{name}}}' in redaction replacement; known: {{type}}, {{hash}}")
    rest = _PLACEHOLDER.sub("", template)
    if "{" in rest or "}" in rest:
        raise ValueError("stray '{' or '}' in redaction replacement (placeholders are {type}, {hash})")


def merge(findings: Sequence[Finding], length: int) -> list[Finding]:
    """Merge overlapping spans (touching spans stay separate); validates offsets."""
    items = []
    for f in findings:
        if not (0 <= f.start <= f.end <= length):
            raise ValueError(f"finding {f.type} [{f.start}, {f.end}) outside text of length {length}")
        if f.end > f.start:
            items.append(f)
    items.sort(key=lambda f: (f.start, -f.end))
    out: list[Finding] = []
    best: Finding | None = None
    cur_s = cur_e = -1
    for f in items:
        if best is not None and f.start < cur_e:
            cur_e = max(cur_e, f.end)
            if f.score > best.score:
                best = f
            continue
        if best is not None:
            out.append(Finding(best.type, cur_s, cur_e, best.score))
        best, cur_s, cur_e = f, f.start, f.end
    if best is not None:
        out.append(Finding(best.type, cur_s, cur_e, best.score))
    return out


class Redactor:
    """Applies templates; holds the HMAC key so callers never see it."""

    def __init__(self, key: bytes, hash_length: int = 8) -> None:
        self._key = key
        self._len = hash_length
        self._tenant_keys: dict[str, bytes] = {}

    def _tenant_key(self, tenant: str) -> bytes:
        k = self._tenant_keys.get(tenant)
        if k is None:
            k = hmac.new(self._key, b"celgate-redact-v1\x00" + tenant.encode("utf-8"), hashlib.sha256).digest()
            if len(self._tenant_keys) < 10_000:
                self._tenant_keys[tenant] = k
        return k

    def token(self, value: str, tenant: str) -> str:
        """The keyed hash of ``value`` for ``tenant`` (hex, truncated)."""
        mac = hmac.new(self._tenant_key(tenant), value.encode("utf-8", "surrogatepass"), hashlib.sha256)
        return mac.hexdigest()[: self._len]

    def redact(
        self, text: str, findings: Sequence[Finding], replacement: str = "[{type}]", *, tenant: str = ""
    ) -> tuple[str, list[Finding]]:
        validate_replacement(replacement)
        if replacement == "{hash}":
            replacement = "[{type}:{hash}]"
        merged = merge(findings, len(text))
        has_type, has_hash = "{type}" in replacement, "{hash}" in replacement
        parts: list[str] = []
        pos = 0
        for f in merged:
            parts.append(text[pos : f.start])
            rep = replacement
            if has_type:
                rep = rep.replace("{type}", f.type)
            if has_hash:
                rep = rep.replace("{hash}", self.token(text[f.start : f.end], tenant))
            parts.append(rep)
            pos = f.end
        parts.append(text[pos:])
        return "".join(parts), merged
