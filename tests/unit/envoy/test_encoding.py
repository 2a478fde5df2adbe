"""Compressed replies are inflated within a bound, or refused."""

from __future__ import annotations

import gzip
import zlib

import pytest

from celgate.api.envoy.encoding import Undecodable, decompress, encoding_of


def test_gzip_and_both_deflates() -> None:
    data = b'{"a": "4111 1111 1111 1111"}'
    assert decompress(gzip.compress(data), "gzip", 1000) == data
    assert decompress(zlib.compress(data), "deflate", 1000) == data
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    assert decompress(raw.compress(data) + raw.flush(), "deflate", 1000) == data


def test_a_bomb_stops_at_the_limit() -> None:
    bomb = gzip.compress(b"0" * 10_000_000)
    assert len(bomb) < 20_000
    with pytest.raises(Undecodable, match="inflates past"):
        decompress(bomb, "gzip", 1 << 20)


@pytest.mark.parametrize(
    ("data", "enc"), [(b"not gzip", "gzip"), (gzip.compress(b"x" * 100)[:-12], "gzip"), (b"x", "br")]
)
def test_bad_or_unknown_bodies_are_refused(data: bytes, enc: str) -> None:
    with pytest.raises(Undecodable):
        decompress(data, enc, 1000)


def test_encoding_of() -> None:
    assert encoding_of({}) == "" and encoding_of({"content-encoding": "identity"}) == ""
    assert encoding_of({"content-encoding": " GZIP "}) == "gzip"
