from __future__ import annotations

import pytest

from celgate.detectors.pii import card_brand, iban_ok, luhn_ok, ssn_ok


def spans_of(text: str, findings: list) -> list[tuple[str, str]]:
    return [(f.type, text[f.start : f.end]) for f in findings]


POSITIVES = [
    ("write to bob.smith@example.co.uk today", "email", "bob.smith@example.co.uk"),
    ("card 4111 1111 1111 1111.", "credit_card", "4111 1111 1111 1111"),
    ("amex 3782-822463-10005 ok", "credit_card", "3782-822463-10005"),
    ("mc 5555555555554444", "credit_card", "5555555555554444"),
    ("iban GB82 WEST 1234 5698 7654 32 please", "iban", "GB82 WEST 1234 5698 7654 32"),
    ("DE89370400440532013000", "iban", "DE89370400440532013000"),
    ("ssn 123-45-6789", "us_ssn", "123-45-6789"),
    ("SSN: 123456789", "us_ssn", "123456789"),
    ("from 192.168.10.1 at noon", "ip_address", "192.168.10.1"),
    ("v6 2001:db8::8a2e:370:7334 here", "ip_address", "2001:db8::8a2e:370:7334"),
    ("call +1 (415) 555-2671", "phone", "+1 (415) 555-2671"),
    ("call (555) 123-4567x890", "phone", "(555) 123-4567x890"),
    ("London 020 7946 0958", "phone", "020 7946 0958"),
    ("Paris 01 23 45 67 89", "phone", "01 23 45 67 89"),
    ("Berlin +49 30 1234567", "phone", "+49 30 1234567"),
    ("intl 001-555-123-4567x123", "phone", "001-555-123-4567x123"),
    ("Liverpool (0151) 12345678 ask for Jo", "phone", "(0151) 12345678"),
    ("Cardiff (029)-2018489.", "phone", "(029)-2018489"),
    ("Berlin +49 (0)30 1234567 office", "phone", "+49 (0)30 1234567"),
    ("mobile 07700900123 after six", "phone", "07700900123"),
]


@pytest.mark.parametrize(("text", "typ", "value"), POSITIVES)
def test_positive(suite, text: str, typ: str, value: str) -> None:
    assert (typ, value) in spans_of(text, suite.pii(text))


@pytest.mark.parametrize(
    "text",
    [
        "order ORD-2023-48213 shipped",
        "uuid 550e8400-e29b-41d4-a716-446655440000",
        "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "version 1.2.3.4 and v10.0.0.1 and 1.2.3.4.5",
        "near miss card 4111 1111 1111 1112",
        "bad ssn 666-12-3456 and 900-12-3456 and 123-00-4567",
        "iban GB82 WEST 1234 5698 7654 33",
        "meeting at 10:30:45 on 2024-01-05, price 1,234,567.89",
        "the address is a::b in C++ std::vector",
        "999.999.999.999",
        "batch 0101010101, (0) 1 and (01) 2",
    ],
)
def test_hard_negatives(suite, text: str) -> None:
    assert suite.pii(text) == []


def test_adjacent_phones_both_found(suite) -> None:
    text = "555-123-4567 555-987-6543"
    assert spans_of(text, suite.pii(text)) == [("phone", "555-123-4567"), ("phone", "555-987-6543")]


def test_offsets_are_code_points(suite) -> None:
    text = "Café 😀 naïve 你好 mail: zoë@example.com ssn 123-45-6789"
    found = spans_of(text, suite.pii(text))
    assert ("email", "ë@example.com") not in found  # local part is ASCII-only (documented)
    assert ("us_ssn", "123-45-6789") in found
    for f in suite.pii(text):
        assert 0 <= f.start < f.end <= len(text)


def test_types_filter_and_custom(suite) -> None:
    text = "EMP-123456 bob@example.com 123-45-6789"
    assert spans_of(text, suite.pii_types(text, ["email"])) == [("email", "bob@example.com")]
    assert ("employee_id", "EMP-123456") in spans_of(text, suite.pii(text))
    with pytest.raises(ValueError, match="unknown PII type"):
        suite.pii_types(text, ["emial"])


def test_validators() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert card_brand("378282246310005") == "amex"
    assert card_brand("1234567890123456") is None
    assert iban_ok("GB82WEST12345698765432") and not iban_ok("GB82WEST12345698765431")
    assert ssn_ok("123456789") and not ssn_ok("666456789") and not ssn_ok("123006789")
