"""Prints the scenario tally: `python -m tests.scenarios.report`."""

from __future__ import annotations

from tests.scenarios.agents import ALL
from tests.scenarios.harness import Tally, shipped_engine


def main() -> None:
    engine = shipped_engine()
    tally = Tally()
    for play in ALL:
        tally.add(play(engine))
    print("\n".join(tally.lines()))
    for line in tally.legit_denied:
        print("  legit denied:", line)


if __name__ == "__main__":
    main()
