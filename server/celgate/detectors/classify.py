"""``text.classify("name")``: a score in [0, 1] from a text classifier run with ONNX Runtime.

The slot for a model (a prompt-injection classifier such as Prompt Guard 2 or a DeBERTa
injection model) next to the regex signals, for policies that can afford ~10-100 ms of CPU per
check. Optional: ``pip install 'celgate[classify]'`` (``onnxruntime``, ``tokenizers``); the
shipped library never calls it. Models are named in ``celgate.yaml`` by path and never
downloaded::

    detectors:
      classifiers:
        prompt_guard:
          model: /models/prompt-guard-2-22m/model.onnx
          tokenizer: /models/prompt-guard-2-22m/tokenizer.json
          positive: [1]            # logit indices whose softmax probabilities sum to the score
          max_tokens: 512          # per window (the model's context)
          max_windows: 16          # longer text: more windows, beyond this -> fail closed
          timeout_seconds: 0.5     # per check; beyond it -> fail closed
          threads: 1

How a check runs: the text (capped at ``limits.max_scan_chars``) is tokenized into windows of
``max_tokens`` with a 32-token overlap (the tokenizer adds the model's special tokens to each),
the windows go through the model in batches of ``batch`` (padded to the longest), and the score
is the highest window's probability of the positive classes. Fail closed, like the other
detectors' ``unscanned``: a text over the scan cap or needing more than ``max_windows`` windows
scores 1.0; a run past ``timeout_seconds`` (ONNX Runtime's ``RunOptions.terminate``) or a
runtime error is an evaluation error, which the engine turns into a deny. The time also counts
toward the decision's detector budget (250 ms by default): size both.

Sessions are loaded once per worker process and shared by every bundle that names the same
files (keyed by path, size and modification time), so a policy reload does not reload a model.
"""

from __future__ import annotations

import math
import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_KEYS = {"model", "tokenizer", "positive", "max_tokens", "max_windows", "timeout_seconds", "threads", "batch"}
_STRIDE = 32


@dataclass(frozen=True, slots=True)
class ClassifierSpec:
    name: str
    model: str
    tokenizer: str
    positive: tuple[int, ...] = (1,)
    max_tokens: int = 512
    max_windows: int = 16
    timeout_seconds: float = 0.5
    threads: int = 1
    batch: int = 8


def parse_classifiers(raw: Any) -> tuple[ClassifierSpec, ...]:
    """Validate ``detectors.classifiers``: files must exist and the runtime must be installed."""
    if not isinstance(raw, Mapping):
        raise ValueError("detectors.classifiers: expected a mapping of name -> {model, tokenizer, ...}")
    out = []
    for name, spec in raw.items():
        where = f"detectors.classifiers.{name}"
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"{where}: name must be lower snake case ([a-z][a-z0-9_]*)")
        if not isinstance(spec, Mapping):
            raise ValueError(f"{where}: expected a mapping")
        unknown = set(spec) - _KEYS
        if unknown:
            raise ValueError(f"unknown key '{where}.{sorted(unknown)[0]}'; known: {', '.join(sorted(_KEYS))}")
        kw: dict[str, Any] = {}
        for key in ("model", "tokenizer"):
            path = spec.get(key)
            if not isinstance(path, str) or not path:
                raise ValueError(f"{where}.{key}: a file path is required")
            if not os.path.isfile(path):
                raise ValueError(f"{where}.{key}: no such file")  # the path itself is not echoed
            kw[key] = path
        pos = spec.get("positive", [1])
        if not isinstance(pos, list) or not pos or not all(isinstance(i, int) and 0 <= i < 64 for i in pos):
            raise ValueError(f"{where}.positive: expected a non-empty list of class indices")
        kw["positive"] = tuple(pos)
        for key, lo, hi in (("max_tokens", 8, 8192), ("max_windows", 1, 256), ("threads", 1, 64), ("batch", 1, 256)):
            if key in spec:
                v = spec[key]
                if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
                    raise ValueError(f"{where}.{key}: expected an integer in [{lo}, {hi}]")
                kw[key] = v
        if "timeout_seconds" in spec:
            v = spec["timeout_seconds"]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.001 <= v <= 60:
                raise ValueError(f"{where}.timeout_seconds: expected a number in [0.001, 60]")
            kw["timeout_seconds"] = float(v)
        out.append(ClassifierSpec(name, **kw))
    if out:
        _require_runtime()
    return tuple(out)


def _require_runtime() -> None:
    try:
        import onnxruntime  # noqa: F401
        import tokenizers  # noqa: F401
    except ImportError as exc:  # third-party, optional: say how to get it
        raise ValueError(
            "detectors.classifiers needs onnxruntime and tokenizers: pip install 'celgate[classify]'"
        ) from exc


class _Model:
    """One loaded model + tokenizer; ``run`` is thread-safe (ONNX Runtime sessions are)."""

    def __init__(self, spec: ClassifierSpec) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = spec.threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(spec.model, sess_options=opts, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(spec.tokenizer)
        self.tokenizer.enable_truncation(spec.max_tokens, stride=min(_STRIDE, spec.max_tokens // 4))
        self.tokenizer.no_padding()


_MODELS: dict[tuple[str, str, int, float, int], _Model] = {}
_MODELS_LOCK = threading.Lock()


def _load(spec: ClassifierSpec) -> _Model:
    st = os.stat(spec.model)
    key = (spec.model, spec.tokenizer, st.st_size, st.st_mtime, spec.threads, spec.max_tokens)
    with _MODELS_LOCK:
        m = _MODELS.get(key)  # type: ignore[call-overload]
        if m is None:
            try:
                m = _Model(spec)
            except Exception as exc:
                raise ValueError(
                    f"detectors.classifiers.{spec.name}: cannot load the model ({type(exc).__name__})"
                ) from None
            _MODELS[key] = m  # type: ignore[index]
        return m


class Classifiers:
    """The configured classifiers of one detector suite."""

    def __init__(self, specs: tuple[ClassifierSpec, ...], max_chars: int) -> None:
        self.specs = {s.name: s for s in specs}
        self.models = {s.name: _load(s) for s in specs}
        self.max_chars = max_chars

    def classify(self, text: str, name: str) -> float:
        spec = self.specs.get(name)
        if spec is None:
            known = ", ".join(sorted(self.specs)) or "none configured"
            raise ValueError(f"unknown classifier '{name}'; known: {known}")
        model = self.models[name]
        if len(text) > self.max_chars:
            return 1.0  # the rest was not looked at: fail closed
        enc = model.tokenizer.encode(text)
        windows = [enc, *enc.overflowing]
        if len(windows) > spec.max_windows:
            return 1.0
        try:
            return _score(model, spec, windows)
        except Exception as exc:  # a terminated (timed out) run or a runtime error
            # An evaluation error, not a score: the rule denies (fail closed) and, unlike a
            # result, an error is not kept in the engine's cross-decision result cache, so a
            # transient timeout does not stick to the text.
            raise ValueError(f"classifier '{name}' did not finish ({type(exc).__name__})") from None


def _score(model: _Model, spec: ClassifierSpec, windows: list[Any]) -> float:
    import numpy as np
    import onnxruntime as ort

    run = ort.RunOptions()
    # Two guards: the timer terminates a run in progress; the deadline, checked between batches,
    # does not depend on the timer thread getting the GIL (its interval is 5 ms: a loop of short
    # runs could finish first and a check would pass its time limit unnoticed).
    deadline = time.monotonic() + spec.timeout_seconds
    timer = threading.Timer(spec.timeout_seconds, lambda: setattr(run, "terminate", True))
    timer.start()
    best = 0.0
    try:
        for i in range(0, len(windows), spec.batch):
            if time.monotonic() > deadline:
                raise TimeoutError(f"over {spec.timeout_seconds} s")
            chunk = windows[i : i + spec.batch]
            width = max(len(w.ids) for w in chunk)
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.int64)
            types = np.zeros((len(chunk), width), dtype=np.int64)
            for r, w in enumerate(chunk):
                ids[r, : len(w.ids)] = w.ids
                mask[r, : len(w.ids)] = 1
                types[r, : len(w.type_ids)] = w.type_ids
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            feed = {k: v for k, v in feed.items() if k in model.inputs}
            logits = model.session.run(None, feed, run)[0]
            for row in logits:
                best = max(best, _positive(row, spec.positive))
    finally:
        timer.cancel()
    return best


def _positive(row: Any, positive: tuple[int, ...]) -> float:
    """Softmax probability mass of the positive classes (one logit: a sigmoid)."""
    vals = [float(x) for x in row]
    if len(vals) == 1:
        return 1.0 / (1.0 + math.exp(-vals[0]))
    if max(positive) >= len(vals):
        raise ValueError("positive class index beyond the model's outputs")
    m = max(vals)
    exps = [math.exp(v - m) for v in vals]
    return sum(exps[i] for i in positive) / sum(exps)
