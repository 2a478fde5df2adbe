"""The detector suite: CEL function table, redaction selectors and the redactor, built from settings."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from celgate.detectors._re import UNSCANNED
from celgate.detectors.base import CelFunction, CelOverload, Finding
from celgate.detectors.classify import Classifiers
from celgate.detectors.exfiltration import extract_urls, markdown_exfil
from celgate.detectors.html import HtmlDetector
from celgate.detectors.injection import Analysis, InjectionDetector
from celgate.detectors.overlap import overlap
from celgate.detectors.pii import PII_TYPES, PiiDetector
from celgate.detectors.redact import Redactor, validate_replacement
from celgate.detectors.secrets import SECRET_TYPES, SecretsDetector
from celgate.detectors.settings import Settings
from celgate.detectors.tokens import estimate_tokens

_CACHE = 16  # recent texts per detector: pii() and pii([..]) on one text scan once


def _context(context: str) -> str:
    """``"prompt"`` is accepted for ``"direct"``, ``"untrusted"`` for ``"indirect"``; anything else
    is an evaluation error (which the engine turns into a deny)."""
    c = _CONTEXT_ALIASES.get(context)
    if c is None:
        raise ValueError(f"unknown injection context {context!r}; known: direct, indirect, prompt, untrusted")
    return c


_CONTEXT_ALIASES = {"direct": "direct", "prompt": "direct", "indirect": "indirect", "untrusted": "indirect"}


class DetectorSuite:
    """Everything the engine needs; impls take and return plain Python values."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        mc = settings.max_scan_chars
        self._pii = PiiDetector(settings.custom, mc, settings.max_scan_seconds)
        self._secrets = SecretsDetector(settings.min_entropy, mc, settings.max_scan_seconds)
        self._html = HtmlDetector(mc)
        self._injection = InjectionDetector(mc, settings.max_decode_depth, settings.max_decoded_chars)
        self._redactor = Redactor(settings.hash_key, settings.hash_length)
        self._classifiers = Classifiers(settings.classifiers, mc)
        self.custom_types = frozenset(c.name for c in settings.custom)
        # Per-instance bounded caches (thread-safe: functools.lru_cache locks internally).
        self._pii_scan: Callable[[str], tuple[Finding, ...]] = functools.lru_cache(_CACHE)(
            lambda s: tuple(self._pii.scan(s))
        )
        self._secrets_scan: Callable[[str], tuple[Finding, ...]] = functools.lru_cache(_CACHE)(
            lambda s: tuple(self._secrets.scan(s))
        )
        self._analyze: Callable[[str], Analysis] = functools.lru_cache(_CACHE)(self._injection.analyze)
        self._selectors = self._build_selectors()
        self.functions = self._build_functions()

    # --- CEL impls -----------------------------------------------------------------------
    def pii(self, text: str) -> list[Finding]:
        return list(self._pii_scan(text))

    def pii_types(self, text: str, types: list[str]) -> list[Finding]:
        wanted = set(types)
        unknown = wanted - self._pii.types
        if unknown:
            raise ValueError(f"unknown PII type(s) {sorted(unknown)}; known: {', '.join(sorted(self._pii.types))}")
        return [f for f in self._pii_scan(text) if f.type in wanted or f.type == UNSCANNED]

    def secrets(self, text: str) -> list[Finding]:
        return list(self._secrets_scan(text))

    def injection_score(self, text: str) -> float:
        return self._analyze(text).score

    def injection_score_in(self, text: str, context: str) -> float:
        return self._analyze(text).score_for(_context(context))

    def injection_signals(self, text: str) -> list[str]:
        return list(self._analyze(text).signals)

    def injection_signals_in(self, text: str, context: str) -> list[str]:
        return list(self._analyze(text).signals_for(_context(context)))

    def injection(self, text: str) -> list[Finding]:
        return self._injection.scan(text)

    def contains_invisible(self, text: str) -> bool:
        return "invisible_text" in self._analyze(text).signals

    def classify(self, text: str, name: str) -> float:
        return self._classifiers.classify(text, name)

    def urls(self, text: str) -> list[str]:
        return extract_urls(text, self.settings.max_scan_chars)

    def markdown_exfil(self, text: str, allowed_hosts: list[str]) -> list[Finding]:
        return markdown_exfil(text, allowed_hosts, self.settings.max_scan_chars)

    def html(self, text: str) -> list[Finding]:
        return self._html.scan(text)

    def overlap(self, text: str, other: str) -> float:
        return overlap(text, other, self.settings.overlap_ngram, self.settings.max_scan_chars)

    def tokens(self, text: str) -> int:
        return estimate_tokens(text)

    # --- redaction ------------------------------------------------------------------------
    def _build_selectors(self) -> dict[str, tuple[str, frozenset[str]]]:
        sel: dict[str, tuple[str, frozenset[str]]] = {
            "pii": ("pii", PII_TYPES | self.custom_types),
            "secrets": ("secrets", SECRET_TYPES),
            "html": ("html", self._html.types),
        }
        if self.custom_types:
            sel["custom"] = ("pii", self.custom_types)
        for t in PII_TYPES:
            sel[f"pii.{t}"] = ("pii", frozenset({t}))
        for t in SECRET_TYPES:
            sel[f"secrets.{t}"] = ("secrets", frozenset({t}))
        for t in self._html.types:
            sel[f"html.{t}"] = ("html", frozenset({t}))
        for t in self.custom_types:
            sel[f"custom.{t}"] = ("pii", frozenset({t}))
        return sel

    def validate_selector(self, selector: str) -> None:
        if selector not in self._selectors:
            raise ValueError(f"unknown detector selector '{selector}'; known: {', '.join(sorted(self._selectors))}")

    def find(self, text: str, selectors: Sequence[str]) -> list[Finding]:
        by_detector: dict[str, set[str]] = {}
        for s in selectors:
            self.validate_selector(s)
            det, types = self._selectors[s]
            by_detector.setdefault(det, set()).update(types)
        out: list[Finding] = []
        for det, types in by_detector.items():
            scan = {"pii": self._pii_scan, "secrets": self._secrets_scan, "html": self._html.scan}[det]
            out.extend(f for f in scan(text) if f.type in types or f.type == UNSCANNED)
        out.sort(key=lambda f: (f.start, f.end))
        return out

    def validate_replacement(self, replacement: str) -> None:
        validate_replacement(replacement)

    def redact(
        self, text: str, findings: Sequence[Finding], replacement: str = "[{type}]", *, tenant: str = ""
    ) -> tuple[str, list[Finding]]:
        return self._redactor.redact(text, findings, replacement, tenant=tenant)

    # --- CEL table ------------------------------------------------------------------------
    def _build_functions(self) -> list[CelFunction]:
        def f(name: str, *ovs: tuple[str, tuple[str, ...], str, Callable[..., object]]) -> CelFunction:
            return CelFunction(name, [CelOverload(i, p, r, impl) for i, p, r, impl in ovs])

        return [
            f(
                "pii",
                ("string_pii", ("string",), "findings", self.pii),
                ("string_pii_types", ("string", "list_string"), "findings", self.pii_types),
            ),
            f("secrets", ("string_secrets", ("string",), "findings", self.secrets)),
            f(
                "injection_score",
                ("string_injection_score", ("string",), "double", self.injection_score),
                ("string_injection_score_string", ("string", "string"), "double", self.injection_score_in),
            ),
            f(
                "injection_signals",
                ("string_injection_signals", ("string",), "list_string", self.injection_signals),
                ("string_injection_signals_string", ("string", "string"), "list_string", self.injection_signals_in),
            ),
            f("contains_invisible", ("string_contains_invisible", ("string",), "bool", self.contains_invisible)),
            f("classify", ("string_classify_string", ("string", "string"), "double", self.classify)),
            f("urls", ("string_urls", ("string",), "list_string", self.urls)),
            f(
                "markdown_exfil",
                ("string_markdown_exfil_list_string", ("string", "list_string"), "findings", self.markdown_exfil),
            ),
            f("html", ("string_html", ("string",), "findings", self.html)),
            f("overlap", ("string_overlap_string", ("string", "string"), "double", self.overlap)),
            f("tokens", ("string_tokens", ("string",), "int", self.tokens)),
        ]
