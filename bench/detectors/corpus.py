"""Reproducible labelled corpus: seeded Faker values embedded in varied prose, plus hard negatives.

Every document is a list of segments; labelled segments carry their type, so gold spans are
exact code point offsets by construction.
"""

from __future__ import annotations

import base64
import json
import random
import string
from dataclasses import dataclass

from faker import Faker

LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL"]
PII = ["email", "phone", "credit_card", "iban", "us_ssn", "ip_address"]
SECRETS = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "github_token",
    "gitlab_token",
    "slack_token",
    "stripe_key",
    "google_api_key",
    "openai_api_key",
    "anthropic_api_key",
    "private_key",
    "jwt",
    "credential_assignment",
]

LEADS = {
    "email": ["Contact me at {}.", "Send the invoice to {} please.", "From: {}", "cc {} on the thread"],
    "phone": ["Call me on {} tomorrow.", "Tel.: {}", "My number is {}.", "reach the desk at {} after 5pm"],
    "credit_card": ["Card number {} exp 04/27.", "charge it to {}", "Visa: {}", "use card {} for the order"],
    "iban": ["Wire the funds to {}.", "IBAN: {}", "account {} (personal)"],
    "us_ssn": ["SSN {} on file.", "social security number: {}", "her ssn is {}"],
    "ip_address": ["Login from {} was blocked.", "server at {}", "client ip={} rejected"],
}
SECRET_LEADS = ["here is the key: {}", "export TOKEN={}", "config:\n  token: {}\n", "oops I pasted {} by mistake", "{}"]
NEGATIVES = [
    lambda r, f: f"Order #{r.randint(10**7, 10**9)} shipped on {f.date()}.",
    lambda r, f: f"Tracking {r.choice(['1Z', 'JD'])}{r.randint(10**13, 10**15)} is in transit.",
    lambda r, f: f"request id {f.uuid4()} failed",
    lambda r, f: f"commit {f.sha1()} fixed it; sha256 {f.sha256()}",
    lambda r, f: f"md5 {f.md5()}",
    lambda r, f: f"upgrade to v{r.randint(1, 20)}.{r.randint(0, 30)}.{r.randint(0, 99)}.{r.randint(0, 999)}",
    lambda r, f: f"version {r.randint(1, 9)}.{r.randint(0, 9)}.{r.randint(0, 9)} released {f.date()}",
    lambda r, f: f"near-miss card {_near_miss_card(r)} was declined",
    lambda r, f: f"total {r.randint(1, 99999):,}.{r.randint(0, 99):02d} EUR at {f.time()}",
    lambda r, f: f"ISBN 978-{r.randint(0, 9)}-{r.randint(100, 999)}-{r.randint(10000, 99999)}-{r.randint(0, 9)}",
    lambda r, f: "the password is required and the token expires daily",
    lambda r, f: "set api_key to your own value, e.g. api_key=<YOUR_KEY>",
    lambda r, f: f"ticket {r.randint(1000, 9999)}-{r.randint(100, 999)}-{r.randint(1000, 9999)}",
    lambda r, f: f"coordinates {f.latitude()}, {f.longitude()}",
    lambda r, f: f"build {''.join(r.choices(string.ascii_lowercase + string.digits, k=40))} passed",
]


def _near_miss_card(r: random.Random) -> str:
    digits = [4] + [r.randint(0, 9) for _ in range(15)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        d2 = d * 2 if i % 2 else d
        total += d2 - 9 if d2 > 9 else d2
    if total % 10 == 0:
        digits[-1] = (digits[-1] + 1) % 10
    return "".join(map(str, digits))


def _rand(r: random.Random, alphabet: str, n: int) -> str:
    return "".join(r.choices(alphabet, k=n))


AN = string.ascii_letters + string.digits
UP = string.ascii_uppercase + string.digits


def make_secret(kind: str, r: random.Random) -> tuple[str, str, str]:
    """(prefix, value, suffix): the gold span is ``value``."""
    b64 = lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")  # noqa: E731
    match kind:
        case "aws_access_key_id":
            return "", "AKIA" + _rand(r, UP, 16), ""
        case "aws_secret_access_key":
            return "aws_secret_access_key = ", _rand(r, AN + "/+", 40), ""
        case "github_token":
            return "", r.choice(["ghp_", "gho_", "ghs_"]) + _rand(r, AN, 36), ""
        case "gitlab_token":
            return "", "glpat-" + _rand(r, AN + "_-", 20), ""
        case "slack_token":
            return "", f"xoxb-{r.randint(10**11, 10**12)}-{r.randint(10**11, 10**12)}-{_rand(r, AN, 24)}", ""
        case "stripe_key":
            return "", "sk_live_" + _rand(r, AN, 24), ""
        case "google_api_key":
            return "", "AIza" + _rand(r, AN + "_-", 35), ""
        case "openai_api_key":
            return "", "sk-proj-" + _rand(r, AN, 20) + "T3BlbkFJ" + _rand(r, AN, 20), ""
        case "anthropic_api_key":
            return "", "sk-ant-api03-" + _rand(r, AN + "_-", 93) + "AA", ""
        case "private_key":
            body = "\n".join(_rand(r, AN + "+/", 64) for _ in range(4))
            return "", f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----", ""
        case "jwt":
            head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
            body = b64(json.dumps({"sub": str(r.randint(1, 10**9)), "name": "x"}).encode())
            return "", f"{head}.{body}.{_rand(r, AN + '_-', 43)}", ""
        case _:
            key = r.choice(["password", "db_password", "client_secret", "api_key", "secret"])
            val = _rand(r, AN, r.randint(8, 14)) + r.choice("!@#%&") + _rand(r, string.digits, 2)
            return f"{key}=", val, ""


@dataclass
class Doc:
    text: str
    gold: list[tuple[str, int, int]]


def pii_value(kind: str, f: Faker, r: random.Random) -> str:
    match kind:
        case "email":
            return f.email()
        case "phone":
            return f.phone_number()
        case "credit_card":
            return f.credit_card_number(card_type=r.choice(["visa", "mastercard", "amex", "discover"]))
        case "iban":
            return f.iban()
        case "us_ssn":
            return f.ssn()  # en_US Faker: valid area/group/serial ranges
        case _:
            return f.ipv4() if r.random() < 0.7 else f.ipv6()


def generate(n_docs: int = 1500, seed: int = 20240601) -> list[Doc]:
    r = random.Random(seed)
    fakers = {loc: Faker(loc) for loc in LOCALES}
    for i, fk in enumerate(fakers.values()):
        fk.seed_instance(seed + i)
    docs = []
    for _ in range(n_docs):
        loc = r.choice(LOCALES)
        f = fakers[loc]
        parts: list[tuple[str, str | None]] = []
        for _ in range(r.randint(2, 6)):
            roll = r.random()
            if roll < 0.35:
                parts.append((f.paragraph(nb_sentences=r.randint(1, 4)) + " ", None))
            elif roll < 0.6:
                kind = r.choice(PII)
                if kind == "us_ssn":
                    f_used = fakers["en_US"]
                elif kind == "phone":
                    f_used = fakers[r.choice(LOCALES)]
                else:
                    f_used = f
                lead = r.choice(LEADS[kind])
                pre, post = lead.split("{}")
                parts += [(pre, None), (pii_value(kind, f_used, r), kind), (post + " ", None)]
            elif roll < 0.8:
                kind = r.choice(SECRETS)
                pre0, val, post0 = make_secret(kind, r)
                lead = r.choice(SECRET_LEADS)
                pre, post = lead.split("{}")
                parts += [(pre + pre0, None), (val, kind), (post0 + post + " ", None)]
            else:
                parts.append((r.choice(NEGATIVES)(r, f) + " ", None))
        text, gold = "", []
        for seg, kind in parts:
            if kind:
                gold.append((kind, len(text), len(text) + len(seg)))
            text += seg
        docs.append(Doc(text, gold))
    return docs


def clean_text(n_chars: int, seed: int = 20240602) -> str:
    """Ordinary text without labelled values: Faker prose (all locales) and the hard negatives."""
    r = random.Random(seed)
    fakers = [Faker(loc) for loc in LOCALES]
    for i, fk in enumerate(fakers):
        fk.seed_instance(seed + i)
    parts: list[str] = []
    size = 0
    while size < n_chars:
        f = r.choice(fakers)
        seg = f.paragraph(nb_sentences=r.randint(1, 4)) if r.random() < 0.7 else r.choice(NEGATIVES)(r, f)
        parts.append(seg)
        size += len(seg) + 1
    return " ".join(parts)[:n_chars]
