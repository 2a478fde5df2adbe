"""The contract between detectors and the engine.

Detectors are pure functions of text. The engine registers them as CEL member functions on
strings, converts values per backend and memoises results per request, so everything here is
plain Python: ``str``, ``list[str]``, ``float``, ``int`` and :class:`Finding`.

Offsets are **Unicode code points** (Python ``str`` indices), never UTF-8 bytes, so a policy or
an SDK in any language that indexes by code point gets the same span.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Kind = Literal["string", "int", "double", "bool", "list_string", "findings"]

KINDS: frozenset[str] = frozenset({"string", "int", "double", "bool", "list_string", "findings"})


@dataclass(frozen=True, slots=True)
class Finding:
    """One span of text a detector flagged.

    ``start``/``end`` are code point offsets into the scanned text, ``end`` exclusive.
    ``score`` is the detector's confidence in [0, 1] (validated matches such as a Luhn-checked
    card score higher than format-only matches such as a national phone number).
    """

    type: str
    start: int
    end: int
    score: float


@dataclass(frozen=True, slots=True)
class CelOverload:
    """One typed overload. ``params[0]`` is always ``"string"`` (member style receiver)."""

    id: str
    params: tuple[str, ...]
    returns: str
    impl: Callable[..., object]

    def __post_init__(self) -> None:
        if not self.params or self.params[0] != "string":
            raise ValueError(f"overload {self.id}: receiver must be 'string'")
        for kind in (*self.params, self.returns):
            if kind not in KINDS:
                raise ValueError(f"overload {self.id}: unknown kind {kind!r}")


@dataclass(frozen=True, slots=True)
class CelFunction:
    """A CEL function name with its overloads."""

    name: str
    overloads: list[CelOverload]
