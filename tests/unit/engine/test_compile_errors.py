"""`celgate check`: every mistake of a run reported at once, as FILE:LINE:COL: message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from celgate.engine import PolicyLoadError, compile_repo

BROKEN = """\
apiVersion: celgate/v1
kind: Policy
name: broken
actions: [tool_call, tool_cal]
whn: true
rules:
  - name: misspelt-field
    effect: deny
    when: tool.nmae == "x"
  - name: wrong-type
    effect: deny
    when: 'tool.name > 3'
  - name: unknown-function
    effect: forbid
    when: frobnicate(tool.name)
  - name: misspelt-field
    effect: deny
    when: 'true'
  - name: syntax
    effect: allow
    when: |
      tool.name == "a" &&
        tool.name ==
  - name: not-bool
    effect: deny
    when: tool.name
  - name: undeclared-var
    effect: deny
    when: vars.nope
"""


SMALL = "apiVersion: celgate/v1\nkind: Policy\nname: x\nactions: [prompt]\nrules: [{name: r, effect: allow}]\n"


def errors_of(repo: Path) -> list[str]:
    with pytest.raises(PolicyLoadError) as info:
        compile_repo(repo)
    return [str(e) for e in info.value.errors]


def test_all_errors_at_once_with_positions(make_repo) -> None:
    repo = make_repo({"broken.yaml": BROKEN})
    f = str(repo / "broken.yaml")
    errors = errors_of(repo)
    expected = [
        (f"{f}:4:22:", "unknown action 'tool_cal'"),
        (f"{f}:5:1:", "unknown key 'whn' in policy; did you mean 'when'?"),
        (f"{f}:9:15:", "undefined field 'nmae'"),
        (f"{f}:12:22:", "no matching overload for '_>_' applied to '(string, int)'"),
        (f"{f}:14:13:", "unknown effect 'forbid'"),
        (f"{f}:15:21:", "undeclared reference to 'frobnicate'"),
        (f"{f}:16:5:", "duplicate rule name 'misspelt-field'"),
        (f"{f}:24:", "Syntax error"),
        (f"{f}:26:11:", "must return a bool, but returns string"),
        (f"{f}:29:11:", "vars.nope is not declared"),
    ]
    for prefix, text in expected:
        assert any(e.startswith(prefix) and text in e for e in errors), (prefix, text, errors)
    assert len(errors) == len(expected)


@pytest.mark.parametrize(
    ("files", "where", "text"),
    [
        ({"p.yaml": "apiVersion: celgate/v1\nkind: Policy\nname: [\n"}, "p.yaml:4:1:", "invalid YAML"),
        ({"p.yaml": "apiVersion: celgate/v2\nkind: Policy\n"}, "p.yaml:1:", "apiVersion must be 'celgate/v1'"),
        ({"p.yaml": "apiVersion: celgate/v1\nkind: Policy\nname: x\nactions: [prompt]\n"}, "p.yaml:", "needs 'rules'"),
        (
            {"p.yaml": "apiVersion: celgate/v1\nkind: Policy\nname: x\nactions: [prompt]\nrules:\n  - name: r\n"},
            "p.yaml:6:5:",
            "needs at least one of 'effect', 'redact' or 'labels'",
        ),
        (
            {"a.yaml": SMALL, "b.yaml": SMALL},
            "b.yaml:",
            "duplicate policy name 'x'",
        ),
        ({"data/a.yaml": "x: 1\n", "data/a.json": "{}"}, "data/a", "defined by more than one file"),
        ({"data/bad.json": "{nope"}, "data/bad.json", "invalid JSON"),
        (
            {"celgate.yaml": "apiVersion: celgate/v1\nkind: Config\ndefaults: {tool_call: maybe}\n"},
            "celgate.yaml:3:",
            "unknown effect 'maybe'",
        ),
        (
            {"celgate.yaml": "apiVersion: celgate/v1\nkind: Config\nextra: 1\n"},
            "celgate.yaml:3:1:",
            "unknown key 'extra'",
        ),
        (
            {
                "p.yaml": "apiVersion: celgate/v1\nkind: Policy\nname: x\nactions: [prompt]\n"
                "rules: [{name: r, redact: {detectors: [pii.nope]}}]\n"
            },
            "p.yaml:5:",
            "unknown detector selector",
        ),
        (
            {
                "p.yaml": "apiVersion: celgate/v1\nkind: Policy\nname: x\nactions: [prompt]\n"
                "rules: [{name: r, effect: deny, when: 'document.id == \"x\"'}]\n"
            },
            "p.yaml:",
            "`document` is bound only for action retrieval",
        ),
    ],
)
def test_each_kind_of_mistake_is_located(make_repo, files: dict[str, str], where: str, text: str) -> None:
    errors = errors_of(make_repo(files))
    assert any(where in e and text in e for e in errors), errors


def test_missing_config_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text("apiVersion: celgate/v1\n")
    errors = errors_of(tmp_path)
    assert any("celgate.yaml" in e and "missing" in e for e in errors)


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "celgate.cli", *args], capture_output=True, text=True, input=stdin, timeout=60
    )


def test_cli_check_exit_status_and_output(make_repo) -> None:
    bad = make_repo({"broken.yaml": BROKEN})
    result = run_cli("check", str(bad))
    assert result.returncode == 1
    assert "broken.yaml:9:15: undefined field 'nmae'" in result.stderr
    assert "10 errors" in result.stderr
    shipped = Path(__file__).resolve().parents[3] / "policies"
    ok = run_cli("check", str(shipped))
    assert ok.returncode == 0, ok.stderr


def test_cli_test_reports_failures_with_a_diff_and_coverage(make_repo, tmp_path: Path) -> None:
    repo = make_repo(
        {
            "p.yaml": "apiVersion: celgate/v1\nkind: Policy\nname: p\nactions: [tool_call]\nrules:\n"
            "  - {name: allow-search, effect: allow, when: 'tool.name == \"search\"'}\n"
            "  - {name: never, effect: deny, when: 'tool.name == \"never\"'}\n",
            "tests/p.yaml": "apiVersion: celgate/v1\nkind: TestSuite\nname: suite\ncases:\n"
            "  - name: search passes\n    request: {action: tool_call, tool: {name: search}}\n"
            "    expect: {effect: allow, rules: [p/allow-search]}\n"
            "  - name: wrong expectation\n    request: {action: tool_call, tool: {name: other}}\n"
            "    expect: {effect: allow}\n",
        }
    )
    junit = tmp_path / "junit.xml"
    result = run_cli("test", str(repo), "--coverage", "--junit", str(junit))
    assert result.returncode == 1
    assert "FAIL" in result.stdout and "wrong expectation" in result.stdout
    assert "effect: expected allow, got deny" in result.stdout
    assert "1 passed, 1 failed" in result.stdout
    assert "not matched by any case: p/never" in result.stdout
    assert "<failure" in junit.read_text()


def test_cli_eval_prints_the_decision(make_repo) -> None:
    import json

    result = run_cli(
        "eval",
        "--policies",
        str(Path(__file__).resolve().parents[3] / "policies"),
        "-",
        stdin=json.dumps(
            {"action": "tool_call", "principal": {"id": "u", "roles": ["user"]}, "tool": {"name": "shell"}}
        ),
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["effect"] == "deny"
    bad = run_cli("eval", "-", stdin="{not json")
    assert bad.returncode == 2 and "invalid JSON" in bad.stderr
    wrong = run_cli("eval", "-", stdin='{"action": "launch"}')
    assert wrong.returncode == 2 and "action" in wrong.stderr
