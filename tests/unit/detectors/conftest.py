from __future__ import annotations

import pytest

from celgate.detectors import DetectorSuite, build


@pytest.fixture(scope="session")
def suite() -> DetectorSuite:
    return build(
        {
            "pii": {"custom": {"employee_id": {"pattern": r"\bEMP-\d{6}\b", "score": 0.9}}},
            "redaction": {"hash_key": "test-key-0123456789abcdef"},
        }
    )
