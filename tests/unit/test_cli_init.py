"""`celgate init DIR` writes a repository that checks, tests and decides as the README says."""

from __future__ import annotations

from pathlib import Path

import pytest

import celgate
from celgate.cli import main
from celgate.cli.init import POLICY, SUITE

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_init_then_check_then_test_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "my-policies"
    assert main(["init", str(repo)]) == 0
    assert main(["check", "--strict", str(repo)]) == 0
    assert main(["test", str(repo), "--coverage", "--strict"]) == 0
    assert "7 passed, 0 failed" in capsys.readouterr().out
    d = celgate.load(repo).check({"action": "tool_call", "principal": {"roles": ["admin"]}, "tool": {"name": "shell"}})
    assert d.effect == "allow"


def test_init_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "celgate.yaml").write_text("mine")
    assert main(["init", str(tmp_path)]) == 1
    assert (tmp_path / "celgate.yaml").read_text() == "mine"


def test_the_readme_shows_what_init_writes() -> None:
    assert POLICY in README and SUITE in README
