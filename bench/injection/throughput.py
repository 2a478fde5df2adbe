"""Throughput of the injection detector (``InjectionDetector.analyze(text).score_for(context)``) over bench/injection's
corpus, in µs per KB of UTF-8, prompts and tool results apart: process time, the corpus scored
``--runs`` times, median. Pin it to one core and take the bench lock so others' jobs do not
share the core:

    flock /tmp/celgate-bench.lock taskset -c 1 .venv/bin/python bench/injection/throughput.py
    # the same corpus through another checkout's detector (e.g. main, for a before/after):
    flock /tmp/celgate-bench.lock taskset -c 1 .venv/bin/python bench/injection/throughput.py --code /work/main

``--round2`` / ``--round4`` limit the texts to the corpus of that round, so numbers stay
comparable as the corpus grows.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "bench" / ".cache" / "injection" / "corpus.jsonl"
ROUND2 = ("garak.", "pyrit.", "agentdojo", "python.", "cpython.", "debian.fortunes", "celgate.obfuscations")
ROUND4_TEXTS = 12_614  # the corpus before round 5 added ordinary tool output (its first lines, unchanged)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--code", default=str(ROOT), help="checkout whose server/celgate is measured")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--round2", action="store_true", help="only the sources of round 2 (7,639 texts)")
    ap.add_argument("--round4", action="store_true", help="only the texts of round 4's corpus (12,614)")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(args.code) / "server"))
    from celgate.detectors.injection import InjectionDetector

    recs = [json.loads(line) for line in CORPUS.open()]
    if args.round4:
        recs = recs[:ROUND4_TEXTS]
    if args.round2:
        recs = [r for r in recs if r["source"].startswith(ROUND2)]
    det = InjectionDetector()
    for r in recs[:200]:  # warm the DFA caches
        det.analyze(r["text"])
    cells = []
    for kind in ("direct", "indirect"):
        texts = [r["text"] for r in recs if r["kind"] == kind]
        kb = sum(len(t.encode()) for t in texts) / 1024
        runs = []
        for _ in range(args.runs):
            t0 = time.process_time()
            for t in texts:
                det.analyze(t).score_for(kind)  # the score is what policies ask (and what runs the lexical model)
            runs.append((time.process_time() - t0) / kb * 1e6)
        cells.append(f"{kind} {statistics.median(runs):.1f} µs/KB ({', '.join(f'{x:.0f}' for x in runs)})")
    print(f"{args.code}: {len(recs)} texts; " + "; ".join(cells))


if __name__ == "__main__":
    main()
