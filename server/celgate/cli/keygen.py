"""`celgate keygen`: a new API key for a caller, and the hash that goes into the service config.

The key is printed once, for the caller; only its SHA-256 goes into `auth.callers[].key_sha256`.
`--hash` reads an existing key from standard input instead (to check or re-derive a hash).
"""

from __future__ import annotations

import argparse
import sys

from celgate.auth import keys


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "keygen",
        help="generate an API key and the hash to configure for it",
        description="Print a new random API key (give it to the caller) and its SHA-256 (put it in the "
        "service config under auth.callers[].key_sha256). The key itself is never stored by celgate.",
    )
    p.add_argument("--id", default="my-caller", metavar="CALLER", help="caller id for the printed config snippet")
    p.add_argument("--hash", action="store_true", help="hash a key read from standard input instead")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.hash:
        key = sys.stdin.readline().strip()
        if not key:
            print("celgate keygen --hash: expected a key on standard input", file=sys.stderr)
            return 2
        print(keys.hash_key(key))
        return 0
    key = keys.generate()
    print(f"key (give to the caller, shown once): {key}")
    print(f"key_sha256:                           {keys.hash_key(key)}")
    print()
    print("# in the --config file:")
    print("auth:")
    print("  callers:")
    print(f"    - id: {args.id}")
    print(f"      key_sha256: {keys.hash_key(key)}")
    return 0
