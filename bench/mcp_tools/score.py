"""How the injection scorer sees ordinary MCP tool descriptions (collected by collect.py).

Prints, per threshold, how many real tool definitions and how many servers' listings would be
refused if the shipped LLM01 scoring (`injection_score("indirect")`) were applied to offered tool
descriptions, and the definitions that reach the enforced threshold.

    python bench/mcp_tools/score.py
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

from celgate.detectors.injection import InjectionDetector

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "bench" / ".cache" / "mcp_tools" / "benign.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", type=Path, default=CACHE)
    opts = parser.parse_args()
    rows = [json.loads(line) for line in opts.input.read_text().splitlines() if line.strip()]
    knobs = yaml.safe_load((ROOT / "policies" / "data" / "owasp.yaml").read_text())["llm01"]
    enforced = float(knobs["untrusted_threshold"])
    detector = InjectionDetector()
    scored = [(detector.analyze(r["description"]).score_for("indirect"), r) for r in rows]
    servers = {r["server"] for r in rows}
    print(f"{len(rows)} tool definitions from {len(servers)} MCP servers\n")
    print("| threshold | definitions reaching it | servers whose listing would be refused |")
    print("|---:|---:|---:|")
    for t in sorted({0.3, float(knobs["audit_threshold"]), enforced, 0.7, 0.9}):
        hit = [r for s, r in scored if s >= t]
        share = f"{len(hit)} ({100 * len(hit) / len(rows):.1f} %)"
        print(f"| {t:.2f} | {share} | {len({r['server'] for r in hit})} of {len(servers)} |")
    print(f"\nat the enforced {enforced}:")
    for s, r in sorted(scored, key=lambda x: -x[0]):
        if s >= enforced:
            signals = detector.analyze(r["description"]).signals_for("indirect")
            print(f"  {s:.2f} {r['server']}/{r['name']} {signals}")


if __name__ == "__main__":
    main()
