"""`celgate init DIR`: a working policy repository to start from — config, one policy, its tests.

The files are the README's example, so what a new user reads is what they get; `celgate check
DIR` and `celgate test DIR --coverage --strict` pass on them as written (tests/unit/test_cli_init.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from celgate.cli.output import green, red

CONFIG = """\
apiVersion: celgate/v1
kind: Config
# What happens when no rule decides: tool calls are denied unless a rule allows them.
defaults: {prompt: allow, response: allow, tool_call: deny, tool_result: allow, retrieval: allow}
"""

POLICY = """\
apiVersion: celgate/v1
kind: Policy
name: tool-access
description: Shell-like tools only for admins; large transfers need a human.
actions: [tool_call]
variables:
  is_admin: '"admin" in principal.roles'
rules:
  - name: shell-needs-admin
    effect: deny
    when: tool.name in ["shell", "exec"] && !vars.is_admin
    messageExpression: '"tool " + tool.name + " needs the admin role"'
  - name: admins-run-shell       # tool calls are denied by default: say who may
    effect: allow
    when: tool.name in ["shell", "exec"] && vars.is_admin
  - name: big-transfer
    effect: require_approval
    when: tool.name == "transfer_funds" && double(tool.args.amount) > 1000.0
  - name: small-transfer
    effect: allow
    when: tool.name == "transfer_funds"
---
apiVersion: celgate/v1
kind: Policy
name: replies
description: Contact data and secrets never reach the user in a model's reply.
actions: [response]
rules:
  - name: mask-contact-data
    when: response.content.pii(["email", "phone"]).size() > 0 || response.content.secrets().size() > 0
    redact: {detectors: [pii.email, pii.phone, secrets], in: [response.content]}
"""

SUITE = """\
apiVersion: celgate/v1
kind: TestSuite
name: tool access
cases:
  - name: admins run shell
    request: {action: tool_call, principal: {id: u1, roles: [admin]}, tool: {name: shell}}
    expect: {effect: allow, rules: [tool-access/admins-run-shell], not_rules: [tool-access/shell-needs-admin]}
  - name: users cannot
    request: {action: tool_call, principal: {id: u2, roles: [user]}, tool: {name: shell}}
    expect: {effect: deny, rules: [tool-access/shell-needs-admin], not_rules: [tool-access/admins-run-shell]}
  - name: an unknown tool is denied by the default
    request: {action: tool_call, principal: {id: u2}, tool: {name: format_disk}}
    expect: {effect: deny, rules: [defaults/tool_call]}
  - name: big transfers need a human
    request: {action: tool_call, principal: {id: u2}, tool: {name: transfer_funds, args: {amount: 5000}}}
    expect: {effect: require_approval, rules: [tool-access/big-transfer]}
  - name: small transfers go through
    request: {action: tool_call, principal: {id: u2}, tool: {name: transfer_funds, args: {amount: 50}}}
    expect: {effect: allow, rules: [tool-access/small-transfer], not_rules: [tool-access/big-transfer]}
  - name: e-mail addresses are masked in replies
    request: {action: response, response: {content: "write to bob@example.com"}}
    expect: {effect: allow, rewritten: {response.content: "write to [email]"}}
  - name: an ordinary reply is untouched
    request: {action: response, response: {content: "The meeting moved to Thursday."}}
    expect: {effect: allow, not_rules: [replies/mask-contact-data]}
"""

FILES = {"celgate.yaml": CONFIG, "tool-access.yaml": POLICY, "tests/tool-access.yaml": SUITE}


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "init",
        help="write a working policy repository (config, a policy, its tests) to start from",
        description="Write celgate.yaml, tool-access.yaml and tests/tool-access.yaml into DIR (created if "
        "needed). Refuses to overwrite an existing file.",
    )
    p.add_argument("path", metavar="DIR", help="where to write the repository")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    root = Path(args.path)
    existing = [name for name in FILES if (root / name).exists()]
    if existing:
        print(red(f"celgate init: {root / existing[0]} already exists; not overwriting", sys.stderr), file=sys.stderr)
        return 1
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    print(green(f"wrote a policy repository to {root}: " + ", ".join(FILES)))
    print(f"next: celgate check {root} && celgate test {root} --coverage && celgate serve --policies {root}")
    return 0
