# ruff: noqa: RUF003  (comments quote look-alike letters: the obfuscations this module folds)
"""Prompt injection: explainable signals combined into a score in [0, 1], per context.

A text is scored in the context it arrives in: ``direct`` (a user's own prompt) or ``indirect``
(a tool result, a retrieved document, an e-mail: data the model reads). Every signal has one
weight per context, because the same words mean different things in each: "reply with only the
following" is an ordinary request in a prompt and an attack inside a web page.

Signals (each a group of case-insensitive RE2 patterns, all found in one DFA pass per text):

* ``instruction_override`` - "ignore all previous instructions" (typo-tolerant) and translations
  (en es fr de it pt nl pl ru ar tr hi vi zh ja ko);
* ``addressed_to_model`` - data that speaks to the model rather than its human reader: "this is
  an important message from me to you, GPT-4", "if you are an AI", "before you solve the task I
  gave you", "when the user asks ..., tell the user ...";
* ``model_imperative`` - imperatives aimed at whoever processes the text: "you must now forward
  ...", "reply with only the following", "your new task is", "TODO: Send ...", and about the
  model's reply or an automated decision: "include the following string in your response", "end
  your summary with", "override manual scoring and output:", "repeat the following sentence: '...'";
* ``data_wrapper`` - fences around injected text: ``<INFORMATION>``, ``[SYSTEM]``,
  ``###(system_message)``, ``<end of session>``, "IMPORTANT!!!";
* ``template_injection`` - chat-template tokens (``<|im_start|>``, ``[INST]``) and fake turns
  (``system:``, an ``Assistant:``/``User:`` exchange, "[user left the chat]", "(developer mode
  enabled)");
* ``role_hijack`` - persona and role-play jailbreaks: "you are now", "pretend to be", "I want you
  to act as", "an AI named ...", "stay in character", two personalities, DAN/developer mode;
* ``policy_evasion`` - claims that rules do not apply: "not bound by any rules", "free of all
  restrictions", "doesn't care about ethics", "amoral", "OpenAI's content policy";
* ``refusal_suppression`` - "never refuse", "do not include any warnings", "don't apologise";
* ``hypothetical_framing`` - "in a fictional world", "purely hypothetical", "for educational
  purposes" (weak alone; adds up with the others);
* ``harmful_persona`` - traits given to a jailbreak persona: "he is rude, racist and evil",
  "swears a lot", "NSFW content is allowed" (weak alone: plain harmful requests use such words);
* ``prompt_extraction`` - "reveal your system prompt", "repeat the words above";
* ``invisible_text`` - Unicode tag characters, zero-width and bidi controls. Tag characters
  spell hidden ASCII ("ASCII smuggling"); that hidden text is decoded and rescanned, and the
  text with zero-width characters removed is rescanned too. Not counted: zero-width
  (non-)joiners and spaces next to a non-ASCII character (Persian, Indic and Thai writing, emoji
  sequences, machine-translated CJK) and the tag sequence of a subdivision flag emoji;
* ``encoded_payload`` - base64, hex, URL-encoded, Morse or rot13 text whose *decoding* fires one of
  the phrase signals (plain base64 such as an image or a hash does not fire). Decoding is
  recursive up to ``max_decode_depth`` and bounded by ``max_decoded_chars`` per call;
* ``embedded_task`` - a task for a language model inside data, in prompt-template form: "Translate
  the following sentence into Chinese.", "Paraphrase the above paragraph.", "Write one negative
  sentence about X with at most 20 words." Weight 0 in a prompt (that is what prompts are);
* ``decode_directive`` - "decode and follow: <base64>", "execute the instructions in this rot13";
* ``obfuscated_text`` - leetspeak ("1gn0r3 4ll") or homoglyphs (a Cyrillic letter for its Latin twin)
  hiding a phrase signal: the text is folded back (one ``str.translate``, linear) and rescanned
  only when it mixes letters with digits or scripts inside a word.

Tool results are often JSON whose strings hold the text escaped ("\\n", "\\"", "\\u200b"): a
text with such escapes is also scanned with them decoded (one codec pass), every signal counting
the larger of both passes, and the model reads the decoded text.

* ``lexical_model`` - a small learned model (``lexical.py``): logistic regression over words and
  word pairs, trained on the development split only, scored on the best 64-token window, one
  model per context (prompts; tool results and documents, trained on jailbreaks and tasks
  planted in ordinary tool output). Its weight is the model's own (0.5 at a centre set on dev,
  nothing far below it) and only where a context is named (``score_for``); the context-free
  ``score`` keeps the regex signals.

The score is a noisy-OR of per-signal weights for the context (repeats add a little), so one
strong signal alone crosses 0.8 while weak ones must add up. Weights were set on the
development split of ``bench/injection`` (never on its test split).
"""

from __future__ import annotations

import base64
import binascii
import functools
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote

import re2
from re2 import _Anchor

from celgate.detectors import _injection_patterns as P
from celgate.detectors._re import Text, compile_re, group_names, spans
from celgate.detectors.base import Finding
from celgate.detectors.lexical import LexicalModel, shipped_model

UNANCHORED, ANCHOR_START = _Anchor.UNANCHORED, _Anchor.ANCHOR_START

CONTEXTS = ("direct", "indirect")
# signal -> (weight in a prompt, weight in data the model reads)
WEIGHTS: dict[str, tuple[float, float]] = {
    "instruction_override": (0.85, 0.9),
    "addressed_to_model": (0.15, 0.75),
    "model_imperative": (0.05, 0.45),
    "data_wrapper": (0.3, 0.6),
    "template_injection": (0.5, 0.75),
    "role_hijack": (0.42, 0.45),
    "policy_evasion": (0.5, 0.5),
    "refusal_suppression": (0.45, 0.5),
    "hypothetical_framing": (0.15, 0.15),
    "harmful_persona": (0.2, 0.2),
    "prompt_extraction": (0.6, 0.75),
    "invisible_text": (0.5, 0.5),
    "encoded_payload": (0.85, 0.9),
    "obfuscated_text": (0.7, 0.8),
    "embedded_task": (0.0, 0.45),
    "decode_directive": (0.5, 0.6),
    "exfiltration": (0.1, 0.45),
}
# The learned signal: its weight per context is the model's own (``LexicalModel.contribution``).
LEXICAL = "lexical_model"
SIGNALS = (*WEIGHTS, LEXICAL)
_PHRASE_GROUPS: dict[str, list[str]] = {
    "instruction_override": P.OVERRIDE + P.OVERRIDE_MORE + P.INTL_OVERRIDE + P.DE_MORE,
    "addressed_to_model": P.ADDRESSED,
    "model_imperative": P.IMPERATIVE + P.RESPONSE_IMPERATIVE,
    "data_wrapper": P.WRAPPER + P.HEADER + P.AUTHORITY_LABEL + P.TODO_TASK,
    "template_injection": P.TEMPLATE + P.FAKE_TURN + P.TEMPLATE_MORE,
    "role_hijack": P.ROLE
    + P.JAILBREAK[:1]
    + P.JAILBREAK[4:]
    + P.PERSONA
    + P.PERSONA_MORE
    + P.INTL_PERSONA
    + P.DE_PERSONA,
    "policy_evasion": P.JAILBREAK[1:4] + P.POLICY + P.POLICY_MORE,
    "refusal_suppression": P.REFUSAL + P.REFUSAL_MORE + P.REFUSAL_RULES,
    "hypothetical_framing": P.HYPOTHETICAL,
    "harmful_persona": P.HARMFUL_PERSONA + P.HARMFUL_PERSONA_MORE,
    "prompt_extraction": P.EXTRACT + P.EXTRACT_MORE + P.INTL_EXTRACT + P.COMPLETION_EXTRACT,
    "embedded_task": P.EMBEDDED_TASK,
    "decode_directive": P.DECODE_DIRECTIVE,
    "exfiltration": P.EXFIL,
}


def _non_ascii(pattern: str) -> bool:
    return any(ord(c) > 127 and unicodedata.category(c).startswith("L") for c in pattern)


def _non_latin(pattern: str) -> bool:
    """Spelled in another script (Cyrillic, CJK, Arabic, ...): cannot match ASCII text at all."""
    return any(ord(c) > 0x24F and unicodedata.category(c).startswith("L") for c in pattern)


def _ascii_only(pattern: str) -> str:
    """The pattern as it can match ASCII text: each non-ASCII letter becomes two NUL bytes (a
    caseless one-byte class ordinary text never has), so the DFA needs no Unicode case folding.
    The full patterns run in the second pass on text that has non-ASCII characters."""
    return "".join(r"\x00\x00" if ord(c) > 127 and unicodedata.category(c).startswith("L") else c for c in pattern)


def _alternation(patterns: list[str]):  # re2's private compiled type
    return compile_re("|".join(f"(?:{p})" for p in patterns), case_insensitive=True)._regexp


class _Signals:
    """Which patterns of which signals occur in a text, in one forward DFA pass (``RE2::Set``:
    no match starts to find, so no reverse DFA and no restart per match - a search loop over one
    big alternation cost ~30 µs per match on long jailbreaks). Offsets, needed only for
    findings, come from one search per *fired* signal."""

    def __init__(self, groups: list[tuple[str, list[str]]], late: frozenset[str] = frozenset()) -> None:
        # Several DFAs beat one: DFA states multiply across patterns, and the few patterns with long
        # bounded gaps ("if asked ... respond with", [^.\n]{0,80}) multiply them most, so they get
        # a set of their own (bench/injection prompts: 241 -> ~100 µs/KB for the whole detector;
        # tool results unchanged at ~75; three sets cost ordinary documents a third pass).
        # Round 3's patterns (``late``) are a third set: in the first one they pushed its DFA past
        # its 32 MB budget, and a DFA that keeps resetting its cache is 9x slower (phrase pass on
        # prompts 17 -> 149 µs/KB; as a third set, 18).
        flat = [(n, p) for n, pats in groups for p in pats]
        gappy = [(n, p) for n, p in flat if _LONG_GAP.search(p) and p not in late]
        rest = [(n, p) for n, p in flat if not _LONG_GAP.search(p) and p not in late]
        third = [(n, p) for n, p in flat if p in late]
        self.sets: list[tuple[re2.Set, list[str]]] = []
        for part in (rest, gappy, third):
            if not part:
                continue
            opts = re2.Options()
            opts.max_mem = 32 << 20
            opts.case_sensitive = False
            opts.log_errors = False
            rs = re2.Set.SearchSet(opts)
            for _, p in part:
                rs.Add(p)
            rs.Compile()
            self.sets.append((rs, [n for n, _ in part]))
        self.rx: dict[str, object] = {n: _alternation(pats) for n, pats in groups if pats}

    def counts(self, data: bytes) -> dict[str, int]:
        """Signal -> number of its distinct patterns found."""
        out: dict[str, int] = {}
        for rs, owner in self.sets:
            for i in rs.Match(data) or ():
                n = owner[i]
                out[n] = out.get(n, 0) + 1
        return out

    def spans(self, name: str, data: bytes) -> list[tuple[int, int]]:
        rx = self.rx.get(name)
        out: list[tuple[int, int]] = []
        end, pos = len(data), 0
        while rx is not None and pos <= end and len(out) < _MAX_FINDINGS:
            s, e = rx.Match(UNANCHORED, data, pos, end)[0]  # type: ignore[attr-defined]
            if s < 0:
                break
            out.append((s, e))
            pos = e if e > s else e + 1
        return out


_LONG_GAP = re2.compile(r"\{0,[0-9]{2}\}")
_MAX_FINDINGS = 64  # per signal and text: enough to point at the attack, bounded on hostile input
# Two sets: every pattern as it can match ASCII (run on all text; one case-folded Unicode DFA of
# all patterns is 2-3x slower), and the patterns spelled with non-ASCII letters (Cyrillic, CJK,
# accented Latin), run only on text that has non-ASCII characters.
_LATE = frozenset(P.ROUND3 + P.ROUND3B + P.ROUND3C)
_PHRASES = _Signals(
    [(n, [_ascii_only(p) for p in pats if not _non_latin(p)]) for n, pats in _PHRASE_GROUPS.items()],
    frozenset(_ascii_only(p) for p in _LATE),
)
_PHRASES_INTL = _Signals([(n, [p for p in pats if _non_ascii(p)]) for n, pats in _PHRASE_GROUPS.items()])
_DASHES_UTF8 = tuple(
    (a.encode(), b.encode())
    for a, b in (("\u2013", "-"), ("\u2014", "-"), ("\u2212", "-"), ("\u00a0", " "), ("\u2019", "'"))
)
# Strong signals: an obfuscation or encoding wrapper only counts when its payload fires one.
_STRONG = frozenset({"instruction_override", "addressed_to_model", "role_hijack", "policy_evasion",
                     "refusal_suppression", "prompt_extraction", "template_injection", "data_wrapper"})  # fmt: skip

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

_STRIP_ZW_UTF8 = tuple(chr(c).encode() for c in _STRIP_ZW)
# Zero-width (non-)joiners and spaces are part of ordinary writing in Persian, Arabic, Indic and
# Thai script, machine-translated CJK and emoji sequences (a family, a rainbow flag): there a
# neighbour is non-ASCII. Smuggling splits *ASCII* words ("i\u200bg\u200bn\u200bo\u200br\u200be").
_SCRIPT_JOINERS = frozenset(c.encode() for c in ("\u200b", "\u200c", "\u200d"))
_BLACK_FLAG = "\U0001f3f4".encode()
_CANCEL_TAG = "\U000e007f".encode()


def _joiner_in_script(data: bytes, s: int, e: int) -> bool:
    """A run of ZWSP/ZWNJ/ZWJ (3 UTF-8 bytes each) next to a non-ASCII character (Persian puts a
    ZWNJ after a letter and before a space; hiding a phrase needs them between ASCII letters)."""
    before = s > 0 and data[s - 1] >= 0x80
    after = e < len(data) and data[e] >= 0x80
    if not (before or after):
        return False
    return all(data[i : i + 3] in _SCRIPT_JOINERS for i in range(s, e, 3))


def _emoji_flag(data: bytes, s: int, e: int) -> bool:
    """U+1F3F4, up to 6 tag letters, U+E007F: how England/Scotland/Wales flags are spelled."""
    return data[max(0, s - 4) : s] == _BLACK_FLAG and data[e - 4 : e] == _CANCEL_TAG and e - s <= 7 * 4


_ENCODED = compile_re(
    r"(?P<b64>[A-Za-z0-9+/]{16,}={0,2}|[A-Za-z0-9_-]{16,}={0,2})"
    r"|(?P<hex>\b(?:[0-9a-fA-F]{2}[ :]?){12,}|(?:\\x[0-9a-fA-F]{2}){8,})"
    r"|(?P<url>[^\s%]*(?:%[0-9A-Fa-f]{2}[^\s%]{0,24}){3,})"
    r"|(?P<morse>(?:[.-]{1,7}(?:[ \t]{1,3}|[ \t]*/[ \t]*)){11,}[.-]{1,7})"
)
_ENC_NAMES = group_names(_ENCODED)
_HEXONLY = compile_re(r"[0-9a-fA-F]+")
_MAX_CANDIDATES = 64


# Leetspeak and homoglyph folding (applied only when a word mixes letters with digits or scripts).
_LEET = bytes.maketrans(b"013457@$|", b"oieastasl")
_ROT13 = bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", b"NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm"
)
_HOMO = str.maketrans(
    dict(
        zip(
            "АВЕКМНОРСТУХаеорсухіјѕԁԛԝӏΑΒΕΖΗΙΚΜΝΟΡΤΥΧαορτυνικİı",
            "ABEKMHOPCTYXaeopcyxijsdqwlABEZHIKMNOPTYXaoptuvikIi",
            strict=True,
        )
    )
)
# Look-alike letters: Greek, Cyrillic, and the Turkish dotted capital I ("İGNORE ALL PREVİOUS
# İNSTRUCTİONS"; the dotless ı is in every other Turkish word, so it does not trigger a fold).
_LOOKALIKE = r"[\x{0370}-\x{03FF}\x{0400}-\x{052F}\x{0130}]"
_MIXED = compile_re(rf"[a-zA-Z][0-9@$|]+[a-zA-Z]|[a-zA-Z]{_LOOKALIKE}|{_LOOKALIKE}[a-zA-Z]")
_MIXED_SCRIPT = compile_re(rf"[a-zA-Z]{_LOOKALIKE}|{_LOOKALIKE}[a-zA-Z]")
# Where one JSON string value ends and the next begins: `", "key": "` (keys up to 40 characters).
_JSON_SEAM_PATTERN = r'"[ \t]*,[ \t\r\n]*"[A-Za-z0-9_ .-]{1,40}"[ \t]*:[ \t]*"'
_JSON_SEAM = compile_re(_JSON_SEAM_PATTERN)
_JSON_SEAM_RE = re2.compile(_JSON_SEAM_PATTERN.encode())
# JSON string escapes: tool results are often JSON whose strings carry the text as "\n", "\"" and
# "\u200b" escapes. A payload's line structure and quotes, and its invisible characters, are then
# hidden from the patterns and the model ("\nIgnore" is one token "nignore"). Text with at least
# _MIN_ESCAPES of them is also scanned unescaped (one codec pass, C speed).
_ESCAPES = (b"\\n", b'\\"', b"\\u", b"\\t", b"\\r")
_MIN_ESCAPES = 1
_SURROGATE = compile_re(r"\\u[dD][89abAB][0-9a-fA-F]{2}")


def _json_unescaped(t: Text) -> str | None:
    """``t``'s text with JSON string escapes decoded, or ``None`` when it has fewer than
    ``_MIN_ESCAPES`` (a stray backslash is not JSON). Python's ``unicode_escape`` codec decodes
    the JSON escapes (and a few more, harmless for a rescan); non-ASCII characters round-trip
    through ``backslashreplace``; escaped surrogate pairs (emoji) are joined."""
    data = t.data
    if data.count(b"\\") < _MIN_ESCAPES or sum(data.count(e) for e in _ESCAPES) < _MIN_ESCAPES:
        return None
    raw = t.text.encode("latin-1", "backslashreplace")
    out = raw.decode("unicode_escape", "replace").replace("\\/", "/")
    if next(spans(_SURROGATE, data), None) is not None:
        out = out.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return out


# Fullwidth and mathematical alphanumerics ("ｉｇｎｏｒｅ", "𝐢𝐠𝐧𝐨𝐫𝐞"): NFKC folds them to ASCII.
_FONT_LETTERS = compile_re(r"[\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{1D400}-\x{1D7FF}]{3}")


@dataclass(frozen=True, slots=True)
class Analysis:
    hits: dict[str, int]
    signals: list[str]
    findings: list[Finding]
    # context -> weight of the lexical_model signal there, computed when first asked (a prompt is
    # only ever scored as direct); None when the model is off
    lexical: Callable[[str], float] | None = None
    _memo: dict[str, float] = field(default_factory=dict)

    def lexical_weight(self, context: str) -> float:
        if self.lexical is None:
            return 0.0
        w = self._memo.get(context)
        if w is None:
            w = self._memo[context] = self.lexical(context)
        return w

    def score_for(self, context: str) -> float:
        """Noisy-OR of the context's weights; each repeat of a signal adds 30 % of its weight;
        the learned ``lexical_model`` signal adds its own weight for the context."""
        return self._regex_score(context, 1.0 - self.lexical_weight(context))

    def _regex_score(self, context: str, keep: float = 1.0) -> float:
        i = CONTEXTS.index(context)
        for sig, n in self.hits.items():
            w = WEIGHTS[sig][i]
            keep *= 1 - w
            for _ in range(min(n, 4) - 1):
                keep *= 1 - w * 0.35
        return round(1 - keep, 4)

    def signals_for(self, context: str) -> list[str]:
        """Signals that carry weight in this context (>= 0.3): weak cues stay out of the list."""
        i = CONTEXTS.index(context)
        out = [s for s in self.signals if WEIGHTS[s][i] >= 0.3]
        return [*out, LEXICAL] if self.lexical_weight(context) >= 0.3 else out

    @property
    def score(self) -> float:
        """Context-free score: the higher of the two contexts' regex scores (what
        ``injection_score()`` returns). The ``lexical_model`` signal weighs in only where a
        context is named (its models know one context each), and the engine's injected-source
        check scores tool results with this context-free score."""
        return max(self._regex_score(c) for c in CONTEXTS)


def _printable(s: str) -> bool:
    if not s:
        return False
    good = sum(1 for c in s if c.isprintable() or c in "\n\r\t")
    return good / len(s) >= 0.9


_MORSE = {
    ".-": "A",
    "-...": "B",
    "-.-.": "C",
    "-..": "D",
    ".": "E",
    "..-.": "F",
    "--.": "G",
    "....": "H",
    "..": "I",
    ".---": "J",
    "-.-": "K",
    ".-..": "L",
    "--": "M",
    "-.": "N",
    "---": "O",
    ".--.": "P",
    "--.-": "Q",
    ".-.": "R",
    "...": "S",
    "-": "T",
    "..-": "U",
    "...-": "V",
    ".--": "W",
    "-..-": "X",
    "-.--": "Y",
    "--..": "Z",
    "-----": "0",
    ".----": "1",
    "..---": "2",
    "...--": "3",
    "....-": "4",
    ".....": "5",
    "-....": "6",
    "--...": "7",
    "---..": "8",
    "----.": "9",
    ".-.-.-": ".",
    "--..--": ",",
    "..--..": "?",
    ".----.": "'",
    "-.-.--": "!",
    "-..-.": "/",
    "-.--.": "(",
    "-.--.-": ")",
    "---...": ":",
    "-....-": "-",
    ".-..-.": '"',
}


def _morse(raw: str) -> str | None:
    """Morse code (letters by one space, words by '/' or two or more spaces) to text; ``None``
    if a code is not Morse or the result has fewer than three distinct letters (dashed rules)."""
    words = []
    for w in raw.replace("/", "  ").replace("\t", " ").split("  "):
        letters = [_MORSE.get(c) for c in w.split()]
        if None in letters:
            return None
        if letters:
            words.append("".join(letters))  # type: ignore[arg-type]
    text = " ".join(words)
    return text if len(set(text) - set(" .,-")) >= 3 else None


def _decode(kind: str, raw: str) -> str | None:
    """Best-effort decode to printable text; ``None`` if it is not text."""
    if kind == "morse":
        return _morse(raw)
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


# Words strong payloads carry, rot13-encoded ("you", "ignore", "instructions", "system",
# "prompt", "rules", "pretend", "act as", "never", "refuse", "forget", "disregard", "reveal",
# "previous", "restrictions", "from now on", "todo", "send", ...). A rotated rescan is a full phrase pass; only text
# that has one of these (a few substring searches) pays for it.
_STEM_WORDS = ("you ignore instruct system prompt rules pretend never refuse forget disregard reveal previous restrict "
               "jailbr persona todo send transfer forward important password")  # fmt: skip
_ROT13_STEMS = compile_re(
    "|".join(w.translate(_ROT13) for w in [*_STEM_WORDS.split(), "act as", "from now on"]), case_insensitive=True
)


def _rot13_words(data: bytes) -> bool:
    return next(spans(_ROT13_STEMS, data), None) is not None


def _merge(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    """Counts of both passes (a pattern with an ASCII branch may be counted by both: max)."""
    out = dict(a)
    for k, v in b.items():
        out[k] = max(out.get(k, 0), v)
    return out


class InjectionDetector:
    """Scores text for prompt injection; ``scan`` returns one finding per signal hit."""

    name = "injection"
    types = frozenset(SIGNALS)

    def __init__(
        self,
        max_chars: int = 4_000_000,
        max_depth: int = 3,
        max_decoded: int = 65_536,
        lexical: LexicalModel | bool | None = True,
    ) -> None:
        self.max_chars = max_chars
        self.max_depth = max_depth
        self.max_decoded = max_decoded
        # True: the shipped model (loaded once per process); False/None: regex signals only.
        self.lexical: LexicalModel | None = shipped_model() if lexical is True else (lexical or None)

    def scan(self, text: str) -> list[Finding]:
        return self.analyze(text, with_offsets=True).findings

    def analyze(self, text: str, *, with_offsets: bool = False) -> Analysis:
        """Signals and scores; phrase findings (offsets) only ``with_offsets`` (one search per
        fired signal), since scores and signal lists do not need them."""
        hits: dict[str, int] = {}
        findings: list[Finding] = []
        budget = [self.max_decoded]
        t = Text(text, self.max_chars)
        self._scan(t, 0, hits, findings, budget, outer=True)
        self._folded(t, hits, budget)
        self._joined(t, hits, budget)
        unescaped = _json_unescaped(t)
        if unescaped is not None:
            self._unescaped(Text(unescaped, self.max_chars), hits, budget)
        if with_offsets:
            for name in [n for n in hits if n in _PHRASE_GROUPS]:
                for sp in _PHRASES.spans(name, t.data) + ([] if t.ascii else _PHRASES_INTL.spans(name, t.data)):
                    findings.append(Finding(name, t.cp(sp[0]), t.cp(sp[1]), WEIGHTS[name][1]))
        signals = sorted(hits, key=SIGNALS.index)
        findings.sort(key=lambda f: (f.start, f.end))
        # the model reads the text as the assistant will (JSON escapes decoded)
        lex_text = t.text if unescaped is None else unescaped
        lexical = None if self.lexical is None else functools.partial(self.lexical.weight, lex_text)
        return Analysis(hits, signals, findings, lexical)

    def _phrases(self, t: Text) -> dict[str, int]:
        """Signal -> distinct patterns found. Non-ASCII text is scanned with its dashes,
        no-break spaces and curly apostrophes folded to ASCII (1:1 in code points, so offsets
        still map), then once more for the patterns of other scripts."""
        if t.ascii:
            return _PHRASES.counts(t.data)
        for a, b in _DASHES_UTF8:  # 1:1 in code points, so t.cp still maps to the original text
            if a in t.data:
                t.data = t.data.replace(a, b)
        return _merge(_PHRASES.counts(t.data), _PHRASES_INTL.counts(t.data))

    def _folded(self, t: Text, hits: dict[str, int], budget: list[int]) -> None:
        """Rescan leetspeak/homoglyph/font-folded text; count only strong signals the folding revealed."""
        fonts = not t.ascii and next(spans(_FONT_LETTERS, t.data), None) is not None
        if budget[0] <= 0 or (not fonts and next(spans(_MIXED, t.data), None) is None):
            return
        data = t.data
        text = unicodedata.normalize("NFKC", t.text) if fonts else t.text  # linear; only with such letters
        if fonts or (not t.ascii and next(spans(_MIXED_SCRIPT, data), None) is not None):
            data = Text(text.translate(_HOMO), self.max_chars).data
        # Leet characters are ASCII and never occur inside a UTF-8 multi-byte sequence, so the
        # bytes can be folded directly (bytes.translate: a table lookup per byte, in C).
        data = data.translate(_LEET)
        if data == t.data:
            return
        _count_revealed(data, t.ascii, hits)

    def _unescaped(self, u: Text, hits: dict[str, int], budget: list[int]) -> None:
        """Scan a JSON-unescaped text as a text of its own (phrases, invisible characters,
        encodings, folding); a signal counts the larger of both passes' hits. Offsets of what
        only the unescaped text shows are not reported (they do not map back)."""
        inner: dict[str, int] = {}
        self._scan(u, 0, inner, [], budget, outer=True)
        self._folded(u, inner, budget)
        self._joined(u, inner, budget)
        for k, v in inner.items():
            hits[k] = max(hits.get(k, 0), v)

    def _joined(self, t: Text, hits: dict[str, int], budget: list[int]) -> None:
        """A payload split across JSON fields ({"note": "Ignore your previous", "more":
        "instructions"}): rescan with the string values joined; count only strong signals the
        joining revealed (like folding). One RE2 replace, linear; only text with such a seam."""
        if budget[0] <= 0 or next(spans(_JSON_SEAM, t.data), None) is None:
            return
        joined = _JSON_SEAM_RE.sub(b" ", t.data)
        _count_revealed(joined, t.ascii, hits)

    def _scan(
        self, t: Text, depth: int, hits: dict[str, int], findings: list[Finding], budget: list[int], outer: bool
    ) -> bool:
        """Add hits for ``t``. Returns whether a strong phrase signal fired (so an encoding
        wrapper knows its payload was malicious)."""
        fired = False
        for name, n in self._phrases(t).items():
            fired |= name in _STRONG
            hits[name] = max(hits.get(name, 0), n) if outer else hits.get(name, 0) + n
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
            if kind == "zw" and _joiner_in_script(t.data, s, e):
                continue  # ZWNJ/ZWJ/ZWSP inside Persian, Indic, Thai or CJK words and emoji sequences
            if kind == "tags" and _emoji_flag(t.data, s, e):
                continue  # the tag sequence of a subdivision flag (England, Scotland, Wales)
            any_inv = True
            if outer:
                findings.append(Finding("invisible_text", t.cp(s), t.cp(e), WEIGHTS["invisible_text"][1]))
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
            data = t.data
            for seq in _STRIP_ZW_UTF8:  # bytes.replace per character: C speed, unlike str.translate
                if seq in data:
                    data = data.replace(seq, b"")
            if data != t.data:
                stripped = data.decode("utf-8", "replace")
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
                    findings.append(Finding("encoded_payload", t.cp(s), t.cp(e), WEIGHTS["encoded_payload"][1]))
        if depth == 0 and budget[0] > 0 and _rot13_words(t.data):
            # rot13 has no surface form to find, so rescan the whole rotated text once (linear).
            rot = t.data.translate(_ROT13)  # ASCII letters only: safe on UTF-8 bytes
            # Only strong signals the rotation revealed (a pattern without letters matches both).
            inner = {k: v for k, v in _PHRASES.counts(rot).items() if k in _STRONG and k not in hits}
            if inner:
                fired = True
                hits["encoded_payload"] = hits.get("encoded_payload", 0) + 1
                for k, v in inner.items():
                    hits[k] = hits.get(k, 0) + v
        return fired


def _count_revealed(data: bytes, ascii_only: bool, hits: dict[str, int]) -> None:
    """Rescans a rewritten text (folded, or with JSON fields joined) and counts only the strong
    signals the rewrite revealed, plus one `obfuscated_text` when it revealed any."""
    inner = _PHRASES.counts(data) if ascii_only else _merge(_PHRASES.counts(data), _PHRASES_INTL.counts(data))
    new = {k: v for k, v in inner.items() if k in _STRONG and v > hits.get(k, 0)}
    if new:
        hits["obfuscated_text"] = hits.get("obfuscated_text", 0) + 1
        hits.update(new)
