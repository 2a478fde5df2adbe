"""Helpers to write small policy repositories for engine tests."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

CONFIG = """\
apiVersion: celgate/v1
kind: Config
defaults: {prompt: allow, response: allow, tool_call: deny, tool_result: allow, retrieval: allow}
"""


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Path]:
    """make_repo({"p.yaml": "...", "data/x.yaml": "..."}) -> repo path (celgate.yaml added unless given)."""

    def make(files: dict[str, str]) -> Path:
        root = tmp_path / "repo"
        root.mkdir(exist_ok=True)
        files = {"celgate.yaml": CONFIG, **files}
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))
        return root

    return make


def policy(name: str, actions: str, rules: str, extra: str = "") -> str:
    """A policy document; `rules` is the YAML list body, already indented by two spaces."""
    return f"apiVersion: celgate/v1\nkind: Policy\nname: {name}\nactions: {actions}\n{extra}rules:\n" + textwrap.dedent(
        rules
    )
