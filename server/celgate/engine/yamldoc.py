"""YAML documents that remember where each value came from.

A CEL error at column 12 of an expression is only useful to a policy author as a line and column of
the YAML file, so documents are parsed to PyYAML nodes and converted to plain values while the
position of every mapping value and list item is kept beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from celgate.engine.errors import PolicyError, PolicyLoadError


def _fail(file: str, line: int, column: int, message: str) -> PolicyLoadError:
    return PolicyLoadError([PolicyError(file, line, column, message)])


@dataclass(frozen=True, slots=True)
class Pos:
    """Where a scalar starts (1-based), and how its text maps to the file."""

    line: int
    column: int
    style: str | None = None  # None (plain), '"', "'", '|' or '>'
    block_indent: int = 0  # for block scalars: the column (1-based) where content lines start

    def locate(self, line: int, column: int) -> tuple[int, int]:
        """Maps a 1-based (line, column) inside the scalar's text to the file."""
        if self.style in ("|", ">"):
            return self.line + line, self.block_indent + column - 1
        if line == 1:
            quote = 1 if self.style in ('"', "'") else 0
            return self.line, self.column + quote + column - 1
        return self.line + line - 1, column


class LocDict(dict[str, Any]):
    """A mapping from a YAML document; `pos` is its own position, `at[key]` each value's."""

    pos: Pos
    at: dict[str, Pos]
    key_at: dict[str, Pos]


class LocList(list[Any]):
    """A sequence from a YAML document; `at[i]` is the position of item i."""

    pos: Pos
    at: list[Pos]


def _pos(node: yaml.Node, text_lines: list[str]) -> Pos:
    mark = node.start_mark
    style = getattr(node, "style", None)
    indent = 0
    if style in ("|", ">"):
        for raw in text_lines[mark.line + 1 :]:
            if raw.strip():
                indent = len(raw) - len(raw.lstrip(" ")) + 1
                break
    return Pos(mark.line + 1, mark.column + 1, style, indent)


class _Builder:
    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.lines = text.splitlines()
        self.constructor = yaml.SafeLoader("")

    def build(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.MappingNode):
            out = LocDict()
            out.pos = _pos(node, self.lines)
            out.at = {}
            out.key_at = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    p = _pos(key_node, self.lines)
                    raise _fail(self.file, p.line, p.column, "YAML merge keys are not supported")
                key = self.build(key_node)
                if not isinstance(key, str):
                    p = _pos(key_node, self.lines)
                    raise _fail(self.file, p.line, p.column, f"mapping keys must be strings, got {key!r}")
                if key in out:
                    p = _pos(key_node, self.lines)
                    raise _fail(self.file, p.line, p.column, f"duplicate key {key!r}")
                out[key] = self.build(value_node)
                out.at[key] = _pos(value_node, self.lines)
                out.key_at[key] = _pos(key_node, self.lines)
            return out
        if isinstance(node, yaml.SequenceNode):
            seq = LocList()
            seq.pos = _pos(node, self.lines)
            seq.at = []
            for item in node.value:
                seq.append(self.build(item))
                seq.at.append(_pos(item, self.lines))
            return seq
        return self.constructor.construct_object(node, deep=True)


def load_documents(file: str, text: str) -> list[Any]:
    """Parses every document of a YAML stream; raises PolicyError with the parser's position."""
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise _fail(file, line, col, f"invalid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise _fail(file, 1, 1, f"invalid YAML: {exc}") from None
    builder = _Builder(file, text)
    try:
        return [builder.build(n) for n in nodes if n is not None]
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise _fail(file, line, col, f"invalid YAML: {exc.problem}") from None
