"""A gateway's session: the whole history re-sent with every check, one new turn each time.

    python bench/engine/gateway.py [--no-session] [--backend cpp]

bench/agents' history shape (a read_file call and its ~350-byte result per turn) at 10, 100 and
1,000 turns; each timed check re-sends it with one new turn and a sensitive call (every provenance
rule runs), with a `session.id` (so the session memory records what it has not seen) unless
`--no-session`. CPU time per check (`time.process_time`), p50 of 21 checks (11 at 1,000 turns), one
process: compare runs of two checkouts alternately under the bench lock.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "server"))
sys.path.insert(0, str(ROOT / "bench" / "agents"))

from run import _turn  # noqa: E402  (bench/agents/run.py)

import celgate  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-session", action="store_true", help="send no session.id")
    parser.add_argument("--backend", default=None)
    args = parser.parse_args()
    engine = celgate.load(ROOT / "policies", backend=args.backend)
    principal = {"id": "emma", "roles": ["user"]}
    call = {"recipient": "person7@example.com", "amount": 1007, "subject": "rent", "date": "2024-01-01"}
    print("| turns | p50 CPU µs per check |\n|---:|---:|")
    for turns in (10, 100, 1000):
        messages = [{"role": "user", "content": "Pay my rent to UK12345678901234567890 please."}]
        for t in range(turns):
            messages.extend(_turn(t))
        base = {"action": "tool_call", "principal": principal, "tool": {"name": "send_money", "args": call}}
        if not args.no_session:
            base["session"] = {"id": f"gateway-{turns}"}
        for _ in range(2):  # first sight of the history: analysed and recorded, not timed
            engine.check({**base, "messages": list(messages)})
        times = []
        for r in range(21 if turns < 1000 else 11):
            messages.extend(_turn(turns + r))
            started = time.process_time()
            engine.check({**base, "messages": list(messages)})
            times.append((time.process_time() - started) * 1e6)
        print(f"| {turns:,} | {statistics.median(times):,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
