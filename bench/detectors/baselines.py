"""Side-by-side baselines: Presidio (pattern recognizers only, no spaCy model) and detect-secrets."""

from __future__ import annotations

import contextlib
from typing import Any

PRESIDIO_MAP = {
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "CREDIT_CARD": "credit_card",
    "IBAN_CODE": "iban",
    "US_SSN": "us_ssn",
    "IP_ADDRESS": "ip_address",
}
DS_MAP = {
    "AWS Access Key": "aws_access_key_id",
    "GitHub Token": "github_token",
    "GitLab Token": "gitlab_token",
    "Slack Token": "slack_token",
    "Stripe Access Key": "stripe_key",
    "JSON Web Token": "jwt",
    "Private Key": "private_key",
    "OpenAI Token": "openai_api_key",
    "Secret Keyword": "credential_assignment",
}


def presidio_analyzer() -> Any:
    """An AnalyzerEngine over the predefined *pattern* recognizers with a no-op NLP engine."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine

    class StubNlp(NlpEngine):
        def load(self) -> None: ...
        def is_loaded(self) -> bool:
            return True

        def process_text(self, text: str, language: str) -> NlpArtifacts:
            return NlpArtifacts(
                entities=[], tokens=[], tokens_indices=[], lemmas=[], nlp_engine=self, language=language
            )

        def process_batch(self, texts, language, batch_size=1, n_process=1, **kw):  # type: ignore[no-untyped-def]
            for t in texts:
                yield t, self.process_text(t, language)

        def is_stopword(self, word: str, language: str) -> bool:
            return False

        def is_punct(self, word: str, language: str) -> bool:
            return False

        def get_supported_entities(self) -> list[str]:
            return []

        def get_supported_languages(self) -> list[str]:
            return ["en"]

    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"])
    for name in ("SpacyRecognizer",):
        with contextlib.suppress(Exception):
            registry.remove_recognizer(name)
    return AnalyzerEngine(registry=registry, nlp_engine=StubNlp(), supported_languages=["en"])


def presidio_find(engine: Any, text: str) -> list[tuple[str, int, int]]:
    res = engine.analyze(text=text, language="en", entities=list(PRESIDIO_MAP))
    return [(PRESIDIO_MAP[x.entity_type], x.start, x.end) for x in res if x.entity_type in PRESIDIO_MAP]


def detect_secrets_find(text: str) -> list[tuple[str, int, int]]:
    from detect_secrets.core.scan import scan_line
    from detect_secrets.settings import default_settings

    out = []
    with default_settings():
        offset = 0
        for line in text.split("\n"):
            for s in scan_line(line):
                val = s.secret_value or ""
                i = line.find(val) if val else -1
                if i >= 0:
                    out.append((DS_MAP.get(s.type, "generic_secret"), offset + i, offset + i + len(val)))
            offset += len(line) + 1
    return out
