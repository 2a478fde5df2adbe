"""`celgate check` warns about rules that compile but can never fire, and fails on them with --strict."""

from __future__ import annotations

from pathlib import Path

import pytest

from celgate.cli import main
from celgate.engine import compile_repo
from tests.unit.engine.conftest import policy

NEVER = policy(
    "tools",
    "[tool_call]",
    """\
    - name: mask-replies
      redact: {detectors: [pii.email], in: [response.content]}
    - name: only-for-replies
      effect: deny
      when: tool.name == "x" && action == "response"
    - name: fine
      effect: deny
      when: action == "tool_call" && tool.name == "shell"
    - name: either
      effect: deny
      when: action == "response" || tool.name == "rm"
    - name: mask-args
      redact: {detectors: [pii.email], in: [tool.args, messages.content]}
    """,
)


def test_rules_that_can_never_fire_are_warned_about(make_repo) -> None:  # type: ignore[no-untyped-def]
    bundle = compile_repo(make_repo({"tools.yaml": NEVER}))
    messages = [w.message for w in bundle.warnings]
    assert len(messages) == 2, messages
    assert "'mask-replies' redacts response.content, which tool_call requests never carry" in messages[0]
    assert "'only-for-replies' needs action 'response'" in messages[1]
    assert all(w.line > 0 and w.file.endswith("tools.yaml") for w in bundle.warnings)


def test_check_strict_fails_on_warnings(make_repo, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    repo: Path = make_repo({"tools.yaml": NEVER})
    assert main(["check", str(repo)]) == 0
    assert "can never fire" in capsys.readouterr().err
    assert main(["check", "--strict", str(repo)]) == 1


def test_the_shipped_library_has_no_warnings() -> None:
    assert compile_repo(Path(__file__).resolve().parents[3] / "policies").warnings == []
