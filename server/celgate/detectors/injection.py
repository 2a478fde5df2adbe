"""Prompt injection: explainable signals combined into a score in [0, 1].

Signals (each a named group of one case-insensitive RE2 alternation, one pass per text):

* ``instruction_override`` - "ignore all previous instructions" and translations;
* ``role_hijack`` - "you are now ...", "pretend to be", DAN/developer-mode jailbreak phrasing;
* ``prompt_extraction`` - "reveal your system prompt", "repeat the words above";
* ``template_injection`` - chat-template tokens (``<|im_start|>``, ``[INST]``) and fake
  ``system:`` turns;
* ``invisible_text`` - Unicode tag characters, zero-width and bidi controls. Tag characters
  spell hidden ASCII ("ASCII smuggling"); that hidden text is decoded and rescanned, and the
  text with zero-width characters removed is rescanned too;
* ``encoded_payload`` - base64, hex, URL-encoded or rot13 text whose *decoding* fires one of
  the phrase signals (plain base64 such as an image or a hash does not fire). Decoding is
  recursive up to ``max_decode_depth`` and bounded by ``max_decoded_chars`` per call.

The score is a noisy-OR of per-signal weights (repeats add a little), so one strong signal
(override) alone crosses 0.8 while one weak signal (role-play phrasing) stays below 0.5.
"""

from __future__ import annotations

import base64
import binascii
import codecs
from dataclasses import dataclass
from urllib.parse import unquote

from celgate.detectors import _injection_patterns as P
from celgate.detectors._re import Text, compile_re, group_names, spans
from celgate.detectors.base import Finding

SIGNALS = (
    "instruction_override",
    "role_hijack",
    "prompt_extraction",
    "template_injection",
    "invisible_text",
    "encoded_payload",
)
WEIGHTS = {
    "instruction_override": 0.8,
    "prompt_extraction": 0.7,
    "role_hijack": 0.45,
    "jailbreak": 0.6,
    "template_injection": 0.7,
    "invisible_text": 0.5,
    "encoded_payload": 0.85,
}
_PHRASE_GROUPS = {
    "instruction_override": P.OVERRIDE,
    "role_hijack": P.ROLE,
    "jailbreak": P.JAILBREAK,
    "prompt_extraction": P.EXTRACT,
    "template_injection": P.TEMPLATE,
}
_PHRASES = compile_re(
    "|".join(f"(?P<{n}>{'|'.join(f'(?:{p})' for p in pats)})" for n, pats in _PHRASE_GROUPS.items()),
    case_insensitive=True,
)
_PHRASE_NAMES = group_names(_PHRASES)

_TAGS = r"[\x{E0000}-\x{E007F}]+"
_ZW = r"[\x{200B}-\x{200D}\x{2060}-\x{2064}\x{FEFF}\x{180E}\x{034F}]"
_BIDI = r"[\x{202A}-\x{202E}\x{2066}-\x{2069}]"
_INVISIBLE = compile_re(f"(?P<tags>{_TAGS})|(?P<zw>{_ZW}+)|(?P<bidi>{_BIDI}+)")
_INV_NAMES = group_names(_INVISIBLE)
_STRIP_ZW = dict.fromkeys(
    [
        *range(0x200B, 0x200E),
        *range(0x2060, 0x2065),
        0xFEFF,
        0x180E,
        0x034F,
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    ]
)

_ENCODED = compile_re(
    r"(?P<b64>[A-Za-z0-9+/]{16,}={0,2}|[A-Za-z0-9_-]{16,}={0,2})"
    r"|(?P<hex>\b(?:[0-9a-fA-F]{2}[ :]?){12,}|(?:\\x[0-9a-fA-F]{2}){8,})"
    r"|(?P<url>[^\s%]*(?:%[0-9A-Fa-f]{2}[^\s%]{0,24}){3,})"
)
_ENC_NAMES = group_names(_ENCODED)
_HEXONLY = compile_re(r"[0-9a-fA-F]+")
_MAX_CANDIDATES = 64


@dataclass(frozen=True, slots=True)
class Analysis:
    score: float
    signals: list[str]
    findings: list[Finding]


def _printable(s: str) -> bool:
    if not s:
        return False
    good = sum(1 for c in s if c.isprintable() or c in "\n\r\t")
    return good / len(s) >= 0.9


def _decode(kind: str, raw: str) -> str | None:
    """Best-effort decode to printable text; ``None`` if it is not text."""
    try:
        if kind == "b64":
            s = raw.rstrip("=")
            s += "=" * (-len(s) % 4)
            data = base64.b64decode(s, altchars=b"-_" if ("-" in s or "_" in s) else None, validate=False)
        elif kind == "hex":
            data = binascii.unhexlify(raw.replace("\\x", "").replace(" ", "").replace(":", "")[: 1 << 16])
        else:
            out = unquote(raw, errors="strict")
            return out if out != raw and _printable(out) else None
        text = data.decode("utf-8")
    except (ValueError, UnicodeDecodeError, binascii.Error):
        return None
    return text if _printable(text) else None


class InjectionDetector:
    """Scores text for prompt injection; ``scan`` returns one finding per signal hit."""

    name = "injection"
    types = frozenset(SIGNALS)

    def __init__(self, max_chars: int = 4_000_000, max_depth: int = 3, max_decoded: int = 65_536) -> None:
        self.max_chars = max_chars
        self.max_depth = max_depth
        self.max_decoded = max_decoded

    def scan(self, text: str) -> list[Finding]:
        return self.analyze(text).findings

    def analyze(self, text: str) -> Analysis:
        hits: dict[str, int] = {}
        findings: list[Finding] = []
        budget = [self.max_decoded]
        self._scan(Text(text, self.max_chars), 0, hits, findings, budget, outer=True)
        score = 1.0
        for sig, n in hits.items():
            w = WEIGHTS[sig]
            score *= 1 - w
            for _ in range(min(n, 4) - 1):
                score *= 1 - w * 0.3
        signals = sorted({("role_hijack" if s == "jailbreak" else s) for s in hits}, key=SIGNALS.index)
        findings.sort(key=lambda f: (f.start, f.end))
        return Analysis(round(1 - score, 4), signals, findings)

    def _phrases(self, t: Text) -> list[tuple[str, int, int]]:
        out = []
        for sp in spans(_PHRASES, t.data):
            s, e = sp[0]
            name = next(_PHRASE_NAMES[i] for i in range(1, len(sp)) if sp[i][0] >= 0)
            out.append((name, s, e))
        return out

    def _scan(
        self, t: Text, depth: int, hits: dict[str, int], findings: list[Finding], budget: list[int], outer: bool
    ) -> bool:
        """Add hits for ``t``; offsets are only recorded for the outermost text. Returns whether a
        phrase signal fired (so an encoding wrapper knows its payload was malicious)."""
        fired = False
        for name, s, e in self._phrases(t):
            fired = True
            hits[name] = hits.get(name, 0) + 1
            if outer:
                typ = "role_hijack" if name == "jailbreak" else name
                findings.append(Finding(typ, t.cp(s), t.cp(e), WEIGHTS[name]))
        if not t.ascii:
            fired |= self._invisible(t, depth, hits, findings, budget, outer)
        if depth < self.max_depth:
            fired |= self._encoded(t, depth, hits, findings, budget, outer)
        return fired

    def _invisible(
        self, t: Text, depth: int, hits: dict[str, int], findings: list[Finding], budget: list[int], outer: bool
    ) -> bool:
        fired = False
        tag_text = []
        any_inv = False
        for sp in spans(_INVISIBLE, t.data):
            s, e = sp[0]
            kind = next(_INV_NAMES[i] for i in range(1, len(sp)) if sp[i][0] >= 0)
            if kind == "zw" and s == 0 and t.data[s:e] == "\ufeff".encode():
                continue  # a leading byte-order mark is not hidden text
            any_inv = True
            if outer:
                findings.append(Finding("invisible_text", t.cp(s), t.cp(e), WEIGHTS["invisible_text"]))
            if kind == "tags":
                tag_text.append("".join(chr(ord(c) - 0xE0000) for c in t.s(s, e)))
        if not any_inv:
            return False
        hits["invisible_text"] = hits.get("invisible_text", 0) + 1
        if depth < self.max_depth:
            hidden = " ".join(tag_text)[: max(budget[0], 0)]
            if hidden:
                budget[0] -= len(hidden)
                fired |= self._scan(Text(hidden, self.max_chars), depth + 1, hits, [], budget, outer=False)
            stripped = t.text.translate(_STRIP_ZW)
            if stripped != t.text:
                inner: dict[str, int] = {}
                self._scan(Text(stripped, self.max_chars), depth + 1, inner, [], [0], outer=False)
                for k in inner:  # only signals the split-up text was hiding
                    if k not in hits:
                        hits[k] = inner[k]
                        fired = True
        return fired

    def _encoded(
        self, t: Text, depth: int, hits: dict[str, int], findings: list[Finding], budget: list[int], outer: bool
    ) -> bool:
        fired = False
        seen = 0
        for sp in spans(_ENCODED, t.data):
            if budget[0] <= 0 or seen >= _MAX_CANDIDATES:
                break
            s, e = sp[0]
            kind = next(_ENC_NAMES[i] for i in range(1, len(sp)) if sp[i][0] >= 0)
            raw = t.s(s, e)[: budget[0] * 2]
            seen += 1
            decoded = _decode(kind, raw)
            if kind == "b64" and not decoded and len(raw) % 2 == 0 and _HEXONLY.fullmatch(raw):
                decoded = _decode("hex", raw)  # an all-hex run also matches the base64 class
            if not decoded:
                continue
            budget[0] -= len(decoded)
            if self._scan(Text(decoded, self.max_chars), depth + 1, hits, [], budget, outer=False):
                fired = True
                hits["encoded_payload"] = hits.get("encoded_payload", 0) + 1
                if outer:
                    findings.append(Finding("encoded_payload", t.cp(s), t.cp(e), WEIGHTS["encoded_payload"]))
        if depth == 0 and budget[0] > 0 and any(c.isalpha() for c in t.text[:4096]):
            # rot13 has no surface form to find, so rescan the whole rotated text once (linear).
            rot = Text(codecs.encode(t.text, "rot13"), self.max_chars)
            inner: dict[str, int] = {}
            for name, s, e in self._phrases(rot):
                # rot13 only moves ASCII letters: a match without any was in the original too.
                if any(65 <= b <= 90 or 97 <= b <= 122 for b in rot.data[s:e]):
                    inner[name] = inner.get(name, 0) + 1
            if inner:
                fired = True
                hits["encoded_payload"] = hits.get("encoded_payload", 0) + 1
                for k, v in inner.items():
                    hits[k] = hits.get(k, 0) + v
        return fired
