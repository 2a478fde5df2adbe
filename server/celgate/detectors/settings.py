"""The ``detectors:`` mapping of ``celgate.yaml``, parsed strictly.

Unknown keys raise ``ValueError`` naming the full key path: a typo in a security setting must
fail the policy load, not silently fall back to a default.
"""

from __future__ import annotations

import os
import re
import secrets as _secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from celgate.detectors._re import compile_re
from celgate.detectors.classify import ClassifierSpec, parse_classifiers

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass(frozen=True, slots=True)
class CustomPattern:
    name: str
    pattern: str
    score: float
    case_insensitive: bool


@dataclass(frozen=True, slots=True)
class Settings:
    max_scan_chars: int = 4_000_000
    max_scan_seconds: float = 2.0
    max_decode_depth: int = 3
    max_decoded_chars: int = 65_536
    custom: tuple[CustomPattern, ...] = ()
    min_entropy: float = 3.0
    overlap_ngram: int = 5
    hash_key: bytes = field(default_factory=lambda: _secrets.token_bytes(32))
    hash_key_configured: bool = False
    hash_length: int = 8
    classifiers: tuple[ClassifierSpec, ...] = ()
    # Detector time one decision may spend (engine/scope.py): past it, the next detector call in
    # that decision is an evaluation error, so its rule fails closed.
    budget_ms: float = 250.0


_SCHEMA: dict[str, Any] = {
    "limits": {"max_scan_chars": int, "max_scan_seconds": float, "max_decode_depth": int, "max_decoded_chars": int},
    "pii": {"custom": dict},
    "secrets": {"min_entropy": float},
    "overlap": {"ngram": int},
    "redaction": {"hash_key": str, "hash_key_env": str, "hash_length": int},
    "classifiers": {},  # name -> spec, validated by classify.parse_classifiers
    "budget_ms": None,  # a number, not a section
}
_MAX_BUDGET_MS = 10_000.0  # a decision's own deadline is 2 s (60 s on cel-python): more is no budget
_CUSTOM_KEYS = {"pattern", "score", "case_insensitive"}


def _check_keys(where: str, got: Mapping[str, Any], allowed: set[str] | dict[str, Any]) -> None:
    if not isinstance(got, Mapping):
        raise ValueError(f"{where}: expected a mapping, got {type(got).__name__}")
    for key in got:
        if key not in allowed:
            raise ValueError(f"unknown key '{where}.{key}' in detectors settings; known: {', '.join(sorted(allowed))}")


def _typed(where: str, value: Any, kind: type, lo: float, hi: float) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"{where}: expected {kind.__name__}, got {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{where}: {value!r} out of range [{lo}, {hi}]")
    return value


def parse(raw: Mapping[str, Any] | None) -> Settings:
    """Validate and normalise the ``detectors:`` mapping (``None`` means all defaults)."""
    if raw is None:
        return Settings()
    _check_keys("detectors", raw, _SCHEMA)
    kw: dict[str, Any] = {}
    for section, keys in _SCHEMA.items():
        sub = raw.get(section)
        if sub is None or section in ("classifiers", "budget_ms"):
            continue
        _check_keys(f"detectors.{section}", sub, keys)
    if "budget_ms" in raw:
        kw["budget_ms"] = _typed("detectors.budget_ms", raw["budget_ms"], float, 1.0, _MAX_BUDGET_MS)
    limits = raw.get("limits") or {}
    if "max_scan_chars" in limits:
        kw["max_scan_chars"] = _typed("detectors.limits.max_scan_chars", limits["max_scan_chars"], int, 1, 1 << 30)
    if "max_scan_seconds" in limits:
        kw["max_scan_seconds"] = _typed(
            "detectors.limits.max_scan_seconds", limits["max_scan_seconds"], float, 0.001, 60.0
        )
    if "max_decode_depth" in limits:
        kw["max_decode_depth"] = _typed("detectors.limits.max_decode_depth", limits["max_decode_depth"], int, 0, 8)
    if "max_decoded_chars" in limits:
        kw["max_decoded_chars"] = _typed(
            "detectors.limits.max_decoded_chars", limits["max_decoded_chars"], int, 0, 1 << 24
        )
    sec = raw.get("secrets") or {}
    if "min_entropy" in sec:
        kw["min_entropy"] = _typed("detectors.secrets.min_entropy", sec["min_entropy"], float, 0.0, 8.0)
    ov = raw.get("overlap") or {}
    if "ngram" in ov:
        kw["overlap_ngram"] = _typed("detectors.overlap.ngram", ov["ngram"], int, 1, 32)
    kw["custom"] = _parse_custom((raw.get("pii") or {}).get("custom") or {})
    kw.update(_parse_redaction(raw.get("redaction") or {}))
    if raw.get("classifiers") is not None:
        kw["classifiers"] = parse_classifiers(raw["classifiers"])
    return Settings(**kw)


def _parse_custom(custom: Mapping[str, Any]) -> tuple[CustomPattern, ...]:
    from celgate.detectors.pii import PII_TYPES  # local: avoid an import cycle

    if not isinstance(custom, Mapping):
        raise ValueError("detectors.pii.custom: expected a mapping of name -> {pattern, score}")
    out = []
    for name, spec in custom.items():
        where = f"detectors.pii.custom.{name}"
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"{where}: name must be lower snake case ([a-z][a-z0-9_]*)")
        if name in PII_TYPES:
            raise ValueError(f"{where}: name collides with built-in PII type '{name}'")
        if isinstance(spec, str):
            spec = {"pattern": spec}
        _check_keys(where, spec, _CUSTOM_KEYS)
        pattern = spec.get("pattern")
        if not isinstance(pattern, str) or not pattern:
            raise ValueError(f"{where}.pattern: a non-empty RE2 pattern is required")
        ci = spec.get("case_insensitive", False)
        if not isinstance(ci, bool):
            raise ValueError(f"{where}.case_insensitive: expected bool")
        try:
            rx = compile_re(pattern, case_insensitive=ci)
        except ValueError as exc:
            raise ValueError(f"{where}.pattern: {exc}") from None
        if rx.groups:
            # Groups would collide with the named groups of the combined alternation.
            raise ValueError(f"{where}.pattern: use non-capturing groups (?:...) only")
        score = _typed(f"{where}.score", spec.get("score", 0.8), float, 0.0, 1.0)
        out.append(CustomPattern(name, pattern, score, ci))
    return tuple(out)


def _parse_redaction(red: Mapping[str, Any]) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if "hash_key" in red and "hash_key_env" in red:
        raise ValueError("detectors.redaction: set hash_key or hash_key_env, not both")
    key: str | None = None
    if "hash_key" in red:
        key = red["hash_key"]
        if not isinstance(key, str):
            raise ValueError("detectors.redaction.hash_key: expected a string")
    elif "hash_key_env" in red:
        env = red["hash_key_env"]
        if not isinstance(env, str):
            raise ValueError("detectors.redaction.hash_key_env: expected an environment variable name")
        key = os.environ.get(env)
        if not key:
            raise ValueError(f"detectors.redaction.hash_key_env: environment variable {env} is not set")
    if key is not None:
        if len(key) < 16:
            raise ValueError("detectors.redaction: hash key must be at least 16 characters")
        kw["hash_key"] = key.encode("utf-8")
        kw["hash_key_configured"] = True
    if "hash_length" in red:
        kw["hash_length"] = _typed("detectors.redaction.hash_length", red["hash_length"], int, 4, 64)
    return kw
