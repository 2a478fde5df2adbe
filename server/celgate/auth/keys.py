"""Static API keys: generated with 256 bits of randomness, stored only as their SHA-256.

A key is `cg_` followed by 43 base64url characters (32 random bytes). Only the hex SHA-256 of a key
goes into the configuration, so a leaked config file or log line gives nobody a working key. A
plain (unsalted, fast) hash is enough here because the key is high-entropy: there is nothing to
guess, unlike a password. Keys are looked up by their hash, so comparing is one dictionary probe on
a digest an attacker cannot steer towards a stored one.
"""

from __future__ import annotations

import hashlib
import re
import secrets

PREFIX = "cg_"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def generate() -> str:
    """A new API key (print it once; store only `hash_key(key)`)."""
    return PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def is_hash(text: str) -> bool:
    return bool(_HEX64.match(text))
