"""A small policy repository with an approval hold, a deny and a secret-masking view (tests only)."""

from __future__ import annotations

from pathlib import Path

CONFIG = """\
apiVersion: celgate/v1
kind: Config
defaults: {prompt: allow, response: allow, tool_call: deny, tool_result: allow, retrieval: allow}
"""

PAYMENTS = """\
apiVersion: celgate/v1
kind: Policy
name: payments
actions: [tool_call]
rules:
  - name: transfers-allowed
    effect: allow
    when: tool.name == "transfer_funds"
  - name: big-transfer
    effect: require_approval
    when: tool.name == "transfer_funds" && double(tool.args.amount) > 1000.0
    messageExpression: '"transfer of " + string(tool.args.amount) + " needs a human"'
  - name: no-sanctioned-payee
    effect: deny
    when: tool.name == "transfer_funds" && tool.args.to == "sanctioned"
    message: payee is sanctioned
"""


def write_repo(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "celgate.yaml").write_text(CONFIG)
    (root / "payments.yaml").write_text(PAYMENTS)
    return root


def transfer(amount: float = 5000.0, to: str = "acct-42", principal: str = "alice", session: str = "s1") -> dict:
    return {
        "action": "tool_call",
        "principal": {"id": principal, "tenant": "acme", "roles": ["user"]},
        "tool": {"name": "transfer_funds", "args": {"amount": amount, "to": to, "memo": "key AKIAIOSFODNN7EXAMPLE"}},
        "session": {"id": session},
    }
