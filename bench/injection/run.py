"""Injection benchmark: TPR at fixed FPR per family and source, the shipped library's decisions,
and throughput.

    .venv/bin/python bench/injection/build.py     # once: builds bench/.cache/injection/corpus.jsonl
    .venv/bin/python bench/injection/run.py [--split dev|test|both] [--families] [--fails N]

Two measures:

1. **Detector**: ``injection_score`` of each text, in the context the text arrives in (a prompt is
   scored as ``direct``, a tool result / document as ``indirect``). The threshold for "TPR at 1 %
   FPR" is taken on the ordinary texts of the *same* split and kind, so the number says how well
   the score separates, not how well a threshold was guessed.
2. **Shipped library**: every text through ``celgate.load("policies")`` as a prompt (direct) or a
   ``tool_result`` (indirect); a text is *stopped* when an enforced LLM01 rule denies it. This is
   the number the hidden evaluations measure; its thresholds live in ``policies/data/owasp.yaml``.

Tune on ``dev`` only; report ``test`` (held-out groups, sources and attack types) as the result.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "server"))
sys.path.insert(0, str(Path(__file__).parent))

from celgate.detectors.injection import InjectionDetector  # noqa: E402

CORPUS = ROOT / "bench" / ".cache" / "injection" / "corpus.jsonl"
FPRS = (0.01, 0.03)


def score_fn(det: InjectionDetector):
    def score(text: str, kind: str) -> float:
        a = det.analyze(text)
        # a detector with contexts scores prompts and data separately; the one before #12 had one score
        return a.score_for(kind) if hasattr(a, "score_for") else a.score

    return score


def threshold_at(benign: list[float], fpr: float) -> float:
    """Smallest threshold t with share(benign >= t) <= fpr (scores above every benign one)."""
    s = sorted(benign, reverse=True)
    k = int(fpr * len(s))  # this many benign may reach the threshold
    if k >= len(s):
        return 0.0
    return s[k] + 1e-9


def tpr(scores: list[float], t: float) -> float:
    return sum(x >= t for x in scores) / len(scores) if scores else float("nan")


def detector_tables(recs: list[dict], split: str, show_families: bool) -> list[str]:
    out = []
    for kind in ("direct", "indirect"):
        rs = [r for r in recs if r["kind"] == kind and r["split"] == split]
        ben = [r["s"] for r in rs if r["label"] == 0]
        atk = [r for r in rs if r["label"] == 1]
        ts = {f: threshold_at(ben, f) for f in FPRS}
        out.append(f"\n### {kind} ({split}): {len(atk)} attacks, {len(ben)} ordinary")
        out.append(
            "| slice | n | TPR @1% FPR | TPR @3% FPR |\n|---|---|---|---|\n"
            + f"| **all** | {len(atk)} | {tpr([r['s'] for r in atk], ts[0.01]):.3f} | "
            + f"{tpr([r['s'] for r in atk], ts[0.03]):.3f} |"
        )
        keys = ("source", "family") if show_families else ("source",)
        for key in keys:
            by = defaultdict(list)
            for r in atk:
                by[r[key]].append(r["s"])
            for k in sorted(by):
                out.append(f"| {key} {k} | {len(by[k])} | {tpr(by[k], ts[0.01]):.3f} | {tpr(by[k], ts[0.03]):.3f} |")
        out.append(f"(thresholds: 1% -> {ts[0.01]:.3f}, 3% -> {ts[0.03]:.3f})")
    return out


def shipped(recs: list[dict], split: str) -> list[str]:
    import celgate

    engine = celgate.load(str(ROOT / "policies"))
    stats: dict = defaultdict(lambda: [0, 0])
    audit: dict = defaultdict(int)  # an LLM01 rule, enforced or audit-only, matched
    by_src: dict = defaultdict(lambda: [0, 0])
    for r in recs:
        if r["split"] != split:
            continue
        if r["kind"] == "direct":
            req = {
                "action": "prompt",
                "principal": {"id": "bench", "roles": ["user"], "tenant": "acme"},
                "messages": [
                    {"role": "system", "content": "You are a helpful assistant."},
                    {"role": "user", "content": r["text"]},
                ],
            }
        else:
            req = {
                "action": "tool_result",
                "principal": {"id": "bench", "roles": ["user"], "tenant": "acme"},
                "tool": {"name": "fetch_page", "result": r["text"]},
            }
        d = engine.check(req)
        stopped = any(x.policy.startswith("llm01") and x.enforced and x.effect for x in d.reasons)
        key = (r["kind"], r["label"])
        audit[key] += any(x.policy.startswith("llm01") and x.effect for x in d.reasons)
        stats[key][0] += stopped
        stats[key][1] += 1
        if r["label"]:
            by_src[(r["kind"], r["source"])][0] += stopped
            by_src[(r["kind"], r["source"])][1] += 1
        elif stopped:
            by_src[(r["kind"], "FP:" + r["source"])][0] += 1
    out = [
        f"\n### shipped library, enforced LLM01 rules ({split})",
        "| input | stopped | of | share |",
        "|---|---|---|---|",
    ]
    for (kind, label), (s, n) in sorted(stats.items()):
        out.append(f"| {kind} {'attacks' if label else 'ordinary (FP)'} | {s} | {n} | {s / n:.3f} |")
    for (kind, label), (_, n) in sorted(stats.items()):
        a = audit[(kind, label)]
        out.append(f"| {kind} {'attacks' if label else 'ordinary'}, reported incl. audit | {a} | {n} | {a / n:.3f} |")
    for (kind, src), (s, n) in sorted(by_src.items()):
        out.append(f"| {kind} {src} | {s} | {n or '-'} | {s / n:.3f} |" if n else f"| {kind} {src} | {s} | | |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="both", choices=["dev", "test", "both"])
    ap.add_argument("--families", action="store_true", help="also break down by family")
    ap.add_argument("--fails", type=int, default=0, help="print N missed attacks and N top-scored ordinary texts")
    ap.add_argument("--no-shipped", action="store_true")
    ap.add_argument(
        "--json", action="store_true", help="wrap every tool result in a JSON envelope, as tools return them"
    )
    args = ap.parse_args()
    if not CORPUS.exists():
        sys.exit("no corpus: run bench/injection/build.py first")
    recs = [json.loads(line) for line in CORPUS.open()]
    if args.json:  # every tool result as a JSON tool output (bench/injection/sources_round5.py)
        import random

        import sources_round5 as R5

        rng = random.Random(20261203)
        recs = [{**r, "text": R5.json_wrap(r["text"], rng)} if r["kind"] == "indirect" else r for r in recs]
    det = InjectionDetector()
    score = score_fn(det)
    # throughput (each text once, as the engine would with its per-request memo)
    t0 = time.process_time()
    nbytes = defaultdict(int)
    ntime = defaultdict(float)
    for r in recs:
        t = time.process_time()
        r["s"] = score(r["text"], r["kind"])
        ntime[r["kind"]] += time.process_time() - t
        nbytes[r["kind"]] += len(r["text"].encode())
    total = time.process_time() - t0
    splits = ["dev", "test"] if args.split == "both" else [args.split]
    lines = [f"corpus: {len(recs)} texts, {sum(nbytes.values()) / 1e6:.1f} MB; scored in {total:.2f} s"]
    for k in ("direct", "indirect"):
        lines.append(
            f"throughput {k}: {ntime[k] / (nbytes[k] / 1024) * 1e6:.1f} µs/KB ({nbytes[k] / ntime[k] / 1e6:.1f} MB/s)"
        )
    for sp in splits:
        lines += detector_tables(recs, sp, args.families)
        if not args.no_shipped:
            lines += shipped(recs, sp)
    print("\n".join(lines))
    if args.fails:
        for sp in splits:
            for kind in ("direct", "indirect"):
                rs = [r for r in recs if r["split"] == sp and r["kind"] == kind]
                ben = sorted((r for r in rs if not r["label"]), key=lambda r: -r["s"])[: args.fails]
                miss = sorted((r for r in rs if r["label"]), key=lambda r: r["s"])[: args.fails]
                print(f"\n--- {sp} {kind}: top ordinary")
                for r in ben:
                    print(f"{r['s']:.3f} {r['source']}: {r['text'][:200]!r}")
                print(f"--- {sp} {kind}: lowest attacks")
                for r in miss:
                    print(f"{r['s']:.3f} {r['family']}: {r['text'][:200]!r}")


if __name__ == "__main__":
    main()
