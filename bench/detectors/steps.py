"""Where PII + secrets time goes on the labelled documents: per step, per document, per RE2 call.

    flock /tmp/celgate-bench.lock taskset -c 1 python bench/detectors/steps.py [--checkout DIR] [--docs 1500]

Measured in one process on the same 1,500 documents as ``run.py`` (process CPU time, best of
``--passes`` passes after a warm-up): preparing the text (UTF-8 bytes, ASCII check), the bare
candidate scans (each detector's RE2 alternation called from Python until it finds nothing, with
no validation: the floor of the one-call-per-candidate design), each detector in full, and how
many RE2 calls each detector makes per document (counted by wrapping the compiled patterns).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkout", default=str(HERE.parents[1]))
    ap.add_argument("--docs", type=int, default=1500)
    ap.add_argument("--passes", type=int, default=7)
    args = ap.parse_args()
    sys.path.insert(0, str(Path(args.checkout).resolve() / "server"))
    sys.path.insert(0, str(HERE))
    from corpus import generate

    from celgate.detectors import _re, build, pii, secrets

    suite = build(None)
    texts = [d.text for d in generate(args.docs)]
    size = sum(len(t.encode()) for t in texts)
    unanchored = _re._UNANCHORED
    pii_rx, sec_rx = pii._PII_RX._regexp, secrets._RX._finder

    def bare(rx: object) -> None:
        for t in texts:
            data = t.encode()
            pos, n = 0, len(data)
            while pos <= n:
                s, e = rx.Match(unanchored, data, pos, n)[0]  # type: ignore[attr-defined]
                if s < 0:
                    break
                pos = e if e > s else e + 1

    steps = {
        "prepare the text (Text: UTF-8 bytes, ASCII check)": lambda: [_re.Text(t, 4_000_000) for t in texts],
        "PII: bare candidate scan (RE2 calls only)": lambda: bare(pii_rx),
        "PII: full detector": lambda: [suite._pii.scan(t) for t in texts],
        "secrets: bare candidate scan (RE2 calls only)": lambda: bare(sec_rx),
        "secrets: full detector": lambda: [suite._secrets.scan(t) for t in texts],
        "PII + secrets: full detectors": lambda: [(suite._pii.scan(t), suite._secrets.scan(t)) for t in texts],
    }
    print(f"{len(texts)} documents, {size / 1e6:.2f} MB; checkout {args.checkout}\n")
    print("| step | µs per document | MB/s if it were all |")
    print("|---|---:|---:|")
    for name, fn in steps.items():
        fn()
        best = float("inf")
        for _ in range(args.passes):
            t0 = time.process_time()
            fn()
            best = min(best, time.process_time() - t0)
        print(f"| {name} | {best / len(texts) * 1e6:.2f} | {size / best / 1e6:.1f} |")

    calls: Counter[str] = Counter()

    class Counted:
        """A compiled RE2 program that counts its Match calls under a label."""

        def __init__(self, raw: object, label: str) -> None:
            self.raw, self.label = raw, label

        def __getattr__(self, name: str) -> object:
            return getattr(self.raw, name)

        def Match(self, *a: object) -> object:  # the wrapped method's name
            calls[self.label] += 1
            return self.raw.Match(*a)  # type: ignore[attr-defined]

    for mod, label in ((pii, "PII"), (secrets, "secrets")):
        for obj in vars(mod).values():
            if isinstance(obj, _re.Alternation):
                for slot in ("_finder",):
                    setattr(obj, slot, Counted(getattr(obj, slot), label))
                obj._kinds = [Counted(k, label) for k in obj._kinds]
                obj._grouped = [Counted(g, label) if g is not None else None for g in obj._grouped]
            elif hasattr(obj, "_regexp"):
                obj._regexp = Counted(obj._regexp, label)
    for t in texts:
        suite._pii.scan(t)
    for t in texts:
        suite._secrets.scan(t)
    print("\n| detector | RE2 calls per document |")
    print("|---|---:|")
    for label in ("PII", "secrets"):
        print(f"| {label} | {calls[label] / len(texts):.2f} |")


if __name__ == "__main__":
    main()
