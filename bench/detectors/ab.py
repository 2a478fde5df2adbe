"""PII + secrets throughput, two checkouts alternating in one run (process CPU time).

    flock /tmp/celgate-bench.lock taskset -c 1 python bench/detectors/ab.py --before /tmp/base --after . [--rounds 5]

Each round starts one worker process per checkout, alternating which goes first, so both see
the same machine load. A worker imports ``celgate`` from its checkout's ``server/``, builds the
same inputs as ``run.py`` (this checkout's ``corpus.py``: the 1,500 labelled documents, those
documents joined into 1 MiB, and 1 MiB of ordinary text) and reports MB/s as input bytes over
process CPU time: the best of ``--passes`` timed passes after one warm-up pass (RE2 builds its
DFA lazily). The table gives the median and the best round (the best is the one least disturbed
by other load on a shared machine). Each worker also hashes every finding on every input, so the
run says whether the two checkouts found exactly the same things.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def worker(checkout: str, docs_n: int, passes: int) -> dict:
    sys.path.insert(0, str(Path(checkout).resolve() / "server"))
    sys.path.insert(0, str(HERE))
    from corpus import clean_text, generate

    from celgate.detectors import build

    suite = build(None)
    texts = [d.text for d in generate(docs_n)]
    size = sum(len(t.encode()) for t in texts)
    blob = " ".join(texts * ((1 << 20) // size + 1))[: 1 << 20]
    clean = clean_text(1 << 20)
    pii, sec = suite._pii.scan, suite._secrets.scan
    fns = {"pii": pii, "secrets": sec, "pii + secrets": lambda t: (pii(t), sec(t))}
    inputs = {"documents": texts, "1 MiB of documents": [blob], "1 MiB of ordinary text": [clean]}
    out: dict = {"mbps": {}, "digest": {}}
    for iname, xs in inputs.items():
        nbytes = sum(len(x.encode()) for x in xs)
        h = hashlib.sha256()
        for x in xs:
            for f in (*pii(x), *sec(x)):
                h.update(f"{f.type},{f.start},{f.end},{f.score};".encode())
        out["digest"][iname] = h.hexdigest()[:16]
        for fname, fn in fns.items():
            for x in xs:  # warm-up
                fn(x)
            best = float("inf")
            for _ in range(passes):
                t0 = time.process_time()
                for x in xs:
                    fn(x)
                best = min(best, time.process_time() - t0)
            out["mbps"][f"{fname} | {iname}"] = nbytes / best / 1e6
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", help="checkout measured as 'before'")
    ap.add_argument("--after", default=str(HERE.parents[1]), help="checkout measured as 'after'")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--passes", type=int, default=5)
    ap.add_argument("--docs", type=int, default=1500)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.docs, args.passes)))
        return
    if not args.before:
        ap.error("--before is required")
    sides = {"before": args.before, "after": args.after}
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    for r in range(args.rounds):
        order = ["before", "after"] if r % 2 == 0 else ["after", "before"]
        for side in order:
            cmd = [sys.executable, __file__, "--worker", sides[side], "--docs", str(args.docs)]
            cmd += ["--passes", str(args.passes)]
            res = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=600)
            runs[side].append(json.loads(res.stdout))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    keys = list(runs["before"][0]["mbps"])
    print(
        f"MB/s of process CPU time (best of {args.passes} passes per round), {args.rounds} alternating rounds:"
        " the median round, and the best round (least disturbed by other load)\n"
    )
    print("| detector | input | before (median) | after (median) | ratio | before (best) | after (best) | ratio |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for k in keys:
        b = statistics.median(x["mbps"][k] for x in runs["before"])
        a = statistics.median(x["mbps"][k] for x in runs["after"])
        bb = max(x["mbps"][k] for x in runs["before"])
        ab = max(x["mbps"][k] for x in runs["after"])
        fname, iname = k.split(" | ")
        print(f"| {fname} | {iname} | {b:.1f} | {a:.1f} | {a / b:.2f}x | {bb:.1f} | {ab:.1f} | {ab / bb:.2f}x |")
    print()
    for iname, d in runs["before"][0]["digest"].items():
        same = all(x["digest"][iname] == d for side in runs.values() for x in side)
        print(f"findings on {iname}: {'identical' if same else 'DIFFERENT'} ({d})")


if __name__ == "__main__":
    main()
