"""Compressed reply bodies (gzip, deflate), decompressed with a bound so celgate can judge them.

The recipe removes `accept-encoding` toward the upstreams, but an upstream may compress anyway (or a
deployment may lack that line). A buffered JSON reply is then inflated here — never past `limit`
bytes, so a small compressed body cannot blow up into gigabytes — judged like any other, and sent
on uncompressed (`content-encoding` removed). Streams and other encodings (br, zstd) are refused.
"""

from __future__ import annotations

import zlib

SUPPORTED = frozenset({"gzip", "x-gzip", "deflate"})


class Undecodable(ValueError):
    """The body cannot be inflated within the bound (or is not what its encoding says)."""


def encoding_of(headers: dict[str, str]) -> str:
    """The body's content-encoding, lower-cased; "" for none or identity."""
    enc = headers.get("content-encoding", "").strip().lower()
    return "" if enc in ("", "identity") else enc


def decompress(data: bytes, encoding: str, limit: int) -> bytes:
    """Inflates `data`; raises `Undecodable` past `limit` bytes, for unknown encodings, or bad data."""
    if encoding not in SUPPORTED:
        raise Undecodable(f"{encoding} bodies cannot be checked")
    # deflate is zlib-wrapped per the HTTP spec, raw in some servers' hands: try both.
    modes = [16 + zlib.MAX_WBITS] if encoding != "deflate" else [zlib.MAX_WBITS, -zlib.MAX_WBITS]
    for wbits in modes:
        inflater = zlib.decompressobj(wbits)
        try:
            out = inflater.decompress(data, limit + 1)
        except zlib.error:
            continue
        if len(out) > limit or inflater.unconsumed_tail:
            raise Undecodable(f"the body inflates past {limit} bytes")
        if not inflater.eof:
            raise Undecodable(f"the {encoding} body is truncated")
        return out
    raise Undecodable(f"the body is not valid {encoding}")
