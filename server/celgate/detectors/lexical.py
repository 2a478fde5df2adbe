"""A small learned lexical model of prompt injection: the ``lexical_model`` signal.

Regex signals name the phrasings we know; this model weighs the words and word pairs around
them, learned from labelled text (``bench/injection/train_lexical.py``, trained on the
development split of ``bench/injection`` only, seeded, so the shipped weights can be rebuilt
byte for byte). It is our own artefact: a JSON file of a few thousand weighted features
(``lexical_model.json`` beside this module), one model per context (``direct``: a user's prompt;
``indirect``: a tool result or document), nothing downloaded, no new dependency.

How a text is scored, all at C speed (no per-token Python code):

1. the text is cut to ``max_chars`` and lowercased; letters of scripts written without spaces
   (CJK, Japanese kana, Thai) are spaced apart, so each is a token; ASCII punctuation becomes a
   space (apostrophes vanish: "don't" is "dont"), and the UTF-8 bytes are split on white space
   (``bytes.translate`` and ``bytes.split``: 3x faster than a regex tokeniser);
2. features are every token and every pair of neighbouring tokens (``("ignore", "previous")``),
   looked up with ``map(dict.get, ...)`` (a pair is a tuple, hashed from its strings' cached
   hashes: 2x faster than joining strings);
3. the tokens are cut into half-windows of ``window // 2`` tokens; a half's sum is one
   ``sum(map(...))`` and a window is two neighbouring halves;
4. the score is the best window: ``bias + max_window_sum / sqrt(window)`` (a text of at most one
   window is one window, normalised by its own length, but never by fewer than ``min_tokens``:
   on the development split, three-word chat lines such as "You are jealous" otherwise reached
   jailbreak-like scores from two weighted words). The best window, not the whole text,
   because an injected instruction is a few sentences inside a long ordinary document.

A context is scored only when asked (a prompt is scored as ``direct`` only). The logit maps to
the ``lexical_model`` signal's weight through ``LexicalModel.contribution``.
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass
from itertools import pairwise, repeat
from operator import add
from pathlib import Path

MODEL_PATH = Path(__file__).with_name("lexical_model.json")
# ASCII punctuation -> space (apostrophes deleted): tokens are runs of letters and digits.
_PUNCT = b'!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'
_SPLIT = bytes.maketrans(_PUNCT, b" " * len(_PUNCT))
# Scripts written without spaces between words: every letter becomes a token of its own.
_UNSPACED = re.compile(r"([\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")
_ZERO = 0.0
CONTEXTS = ("direct", "indirect")


def tokens(text: str, max_chars: int) -> list[bytes]:
    """The model's tokens of ``text`` (its first ``max_chars`` characters): lowercased UTF-8."""
    text = text[:max_chars].lower()
    if not text.isascii():
        text = _UNSPACED.sub(r" \1 ", text)
    return text.encode("utf-8", "replace").translate(_SPLIT, b"'").split()


@dataclass(frozen=True, slots=True)
class ContextModel:
    """One context's weights (tokens, token pairs), the bias, and what maps a logit to a signal
    weight: ``center`` is the logit where the weight is 0.5 (chosen on the development split so
    the combined score stays under the false-positive budget there), ``scale`` how steeply it rises."""

    unigrams: dict[bytes, float]
    pairs: dict[tuple[bytes, bytes], float]
    bias: float
    center: float
    scale: float
    # below center + floor * scale the signal weighs nothing: a model far from sure must not nudge a
    # weak regex cue over the threshold (tool results: -1, a weight under 0.27 is no weight)
    floor: float = -2.0

    @classmethod
    def from_json(cls, m: dict) -> ContextModel:
        uni: dict[bytes, float] = {}
        pairs: dict[tuple[bytes, bytes], float] = {}
        for k, v in m["weights"].items():
            a, _, b = k.partition(" ")
            if b:
                pairs[(a.encode(), b.encode())] = float(v)
            else:
                uni[a.encode()] = float(v)
        return cls(uni, pairs, float(m["bias"]), float(m["center"]), float(m["scale"]), float(m.get("floor", -2.0)))

    def logit(self, toks: list[bytes], window: int, min_tokens: int) -> float:
        n = len(toks)
        if n == 0:
            return self.bias
        uni, pair, zero = self.unigrams.get, self.pairs.get, repeat(_ZERO)
        if n <= window:
            s = sum(map(uni, toks, zero)) + sum(map(pair, pairwise(toks), zero))
            return self.bias + s / math.sqrt(max(n, min_tokens))
        h = window // 2
        # a half's pairs start inside it (the last one reaches into the next half)
        halves = [
            sum(map(uni, toks[a : a + h], zero)) + sum(map(pair, pairwise(toks[a : a + h + 1]), zero))
            for a in range(0, n, h)
        ]
        return self.bias + max(map(add, halves, halves[1:])) / math.sqrt(window)


class LexicalModel:
    """Loads the shipped weights once; ``logit(text, context)`` and ``contribution``."""

    def __init__(self, path: Path = MODEL_PATH) -> None:
        raw = json.loads(path.read_text(encoding="utf-8"))
        self.window: int = int(raw["window"])
        self.max_chars: int = int(raw["max_chars"])
        self.min_tokens: int = int(raw["min_tokens"])
        self.contexts: dict[str, ContextModel] = {
            c: ContextModel.from_json(m) for c, m in raw["contexts"].items() if "weights_from" not in m
        }
        for c, m in raw["contexts"].items():  # a context reusing another's weights with its own centre
            if "weights_from" in m:
                src = self.contexts[m["weights_from"]]
                self.contexts[c] = ContextModel(
                    src.unigrams,
                    src.pairs,
                    float(m["bias"]),
                    float(m["center"]),
                    float(m["scale"]),
                    float(m.get("floor", -2.0)),
                )

    def logit(self, text: str, context: str) -> float:
        """The best window's logit of ``text`` in ``context`` (``direct`` or ``indirect``)."""
        if not isinstance(text, str):
            raise TypeError("lexical model input must be a string")
        return self.contexts[context].logit(tokens(text, self.max_chars), self.window, self.min_tokens)

    def contribution(self, logit: float, context: str) -> float:
        """The ``lexical_model`` signal's weight for a logit: 0.5 at the context's centre, a
        logistic curve around it, and nothing at all below its floor (two scales under the centre
        for prompts, one for tool results: ordinary text, far below, adds nothing to the score, so
        weak regex cues are not nudged over a threshold)."""
        m = self.contexts[context]
        z = (logit - m.center) / m.scale
        if z < m.floor:
            return 0.0
        return round(1.0 / (1.0 + math.exp(-z)), 4)

    def weight(self, text: str, context: str) -> float:
        """The signal's weight for ``text`` in ``context``; 0 in a known context the file ships
        no model for."""
        if context not in self.contexts:
            if context not in CONTEXTS:
                raise KeyError(context)
            return 0.0
        return self.contribution(self.logit(text, context), context)


@functools.cache
def shipped_model() -> LexicalModel:
    """The model shipped with celgate, loaded once per process (a worker shares it)."""
    return LexicalModel()
