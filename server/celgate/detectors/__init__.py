"""Detectors: PII, secrets, prompt injection, exfiltration, HTML, overlap and token estimates.

The engine calls :func:`build` with the ``detectors:`` mapping of ``celgate.yaml`` and registers
``DetectorSuite.functions`` as CEL member functions on strings. All offsets are Unicode code
points. Every pattern is RE2 (linear time); every detector caps the text it scans
(``detectors.limits.max_scan_chars``) and bounds its decoding work.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from celgate.detectors.base import CelFunction, CelOverload, Finding
from celgate.detectors.settings import Settings, parse
from celgate.detectors.suite import DetectorSuite

__all__ = ["CelFunction", "CelOverload", "DetectorSuite", "Finding", "Settings", "build"]


def build(settings: Mapping[str, Any] | None) -> DetectorSuite:
    """Validate ``settings`` (raises ``ValueError`` naming any unknown key) and build the suite."""
    return DetectorSuite(parse(settings))
