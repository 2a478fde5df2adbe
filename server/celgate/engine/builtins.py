"""Functions the engine itself adds to CEL, beside the detectors': small, pure and cheap."""

from __future__ import annotations

import hashlib

from celgate.engine.backends import FunctionSpec


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# `tool.description.sha256() == data.tools[tool.name].description_sha256` pins MCP tool definitions.
BUILTINS: list[FunctionSpec] = [
    FunctionSpec("sha256", "string_sha256", ("string",), "string", _sha256),
]
