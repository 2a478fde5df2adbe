"""Sources: the texts a session has seen, each with the trust the tool registry gives it.

A user or system turn is trusted. A tool result is trusted unless the registry says the tool
returns third-party content (`untrusted_output: true`), and a tool the registry does not know
returns untrusted content. Where the registry names `untrusted_fields` (or `trusted_fields`), a
structured result (JSON, or YAML as many agent frameworks print it) is split per field: the
values under an untrusted key are one untrusted source, the rest one trusted source. Retrieved
documents are untrusted unless labelled `trusted`. Assistant turns are not sources: what the model
wrote is model-made, whatever it copied.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from celgate.sessions.text import normalise

TRUSTED = "trusted"
UNTRUSTED = "untrusted"
MAX_STRUCTURED_CHARS = 256 * 1024  # larger results are judged as one text (parsing stays cheap)
MAX_WALK = 20_000  # leaves read from one structured result


@dataclass(frozen=True, slots=True)
class Source:
    """One text the decision point has seen. `turn` orders sources within a session."""

    kind: str  # user | system | tool | document
    trust: str  # trusted | untrusted
    text: str
    turn: int
    tool: str = ""
    field: str = ""
    # The call that produced this result read a value the user typed (a file name, a URL, a query):
    # the user's own request named this source ("pay the bill in bill-2023.txt").
    named_by_user: bool = False
    # The producing call's argument values: a tuple of strings, or the call's protobuf Struct,
    # converted only when asked (`arg_texts`): most checks never ask.
    call_args: Any = dataclasses.field(default=(), compare=False)


def _walk(value: Any, key: str, depth: int = 0) -> Iterator[tuple[str, str]]:
    """(nearest key, leaf text) for every scalar in a parsed result, keys included as text."""
    if depth > 32:
        return
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield str(k), str(k)
            yield from _walk(v, str(k), depth + 1)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _walk(v, key, depth + 1)
    elif value is not None:
        yield key, str(value)


def _parse(text: str) -> Any:
    s = text.lstrip()
    if not s or len(text) > MAX_STRUCTURED_CHARS:
        return None
    if s[0] in "{[":
        try:
            return json.loads(text)
        except ValueError:
            pass
    if ":" not in text and not s.startswith("- "):
        return None
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return value if isinstance(value, Mapping | list) else None


def tool_sources(tool: str, text: str, turn: int, registry: Mapping[str, Any], *, call_args: Any = ()) -> list[Source]:
    """The sources one tool result makes, split per field where the registry asks for it."""
    entry = registry.get(tool) if isinstance(registry, Mapping) else None
    if not isinstance(entry, Mapping):
        return [Source("tool", UNTRUSTED, text, turn, tool, call_args=call_args)]
    if entry.get("sensitive") is True and not entry.get("untrusted_output"):
        # A tool that acts (sends, pays, books) answers with what it was sent: an echo of the
        # model's own arguments is no evidence of where they came from. What the service adds
        # (the id of the file it created, a timestamp) is its own: kept as a trusted source.
        minted = _minted(text, _echoed(call_args))
        return [Source("tool", TRUSTED, minted, turn, tool, call_args=call_args)] if minted else []
    whole = UNTRUSTED if entry.get("untrusted_output") is True else TRUSTED
    bad = tuple(str(f) for f in entry.get("untrusted_fields") or ())
    good = tuple(str(f) for f in entry.get("trusted_fields") or ())
    if not bad and not good:
        return [Source("tool", whole, text, turn, tool, call_args=call_args)]
    return [
        Source("tool", trust, part, turn, tool, fld, call_args=call_args)
        for trust, fld, part in _split(text, whole, bad, good)
    ]


def _echoed(call_args: Any) -> tuple[str, ...]:
    """The producing call's argument values as text (a tuple already, or a protobuf Struct)."""
    if isinstance(call_args, tuple):
        return call_args
    if isinstance(call_args, Mapping):
        return _args_text(call_args)
    return _args_text(struct_to_dict(call_args))


@functools.lru_cache(maxsize=1024)
def _minted(text: str, echoed: tuple[str, ...]) -> str:
    """The leaves of a sensitive tool's structured result that are not a part of its arguments
    (compared normalised, whole tokens; keys count as leaves), one per line; "" for a result that
    is not structured. Conservative: a leaf any argument holds is dropped, so the echo of an
    untrusted value never becomes trusted."""
    parsed = _parse(text)
    if parsed is None:
        return ""
    said = " \n ".join(" " + normalise(a) + " " for a in echoed)
    kept: list[str] = []
    for n, (_key, leaf) in enumerate(_walk(parsed, "")):
        if n >= MAX_WALK:
            break
        norm = normalise(leaf)
        if norm and (" " + norm + " ") not in said:
            kept.append(leaf)
    return "\n".join(kept)


@functools.lru_cache(maxsize=2048)
def _split(
    text: str, whole: str, bad_fields: tuple[str, ...], good_fields: tuple[str, ...]
) -> tuple[tuple[str, str, str], ...]:
    """(trust, field, text) parts of a structured result; cached, as a session re-sends its results."""
    parsed = _parse(text)
    if parsed is None:
        # Not structured: the whole text gets the stricter of the two readings.
        return ((UNTRUSTED if bad_fields else whole, "", text),)
    bad, good = set(bad_fields), set(good_fields)
    parts: dict[tuple[str, str], list[str]] = {}
    declared = False
    for n, (key, leaf) in enumerate(_walk(parsed, "")):
        declared = declared or key in bad or key in good
        if n >= MAX_WALK:
            break
        if key in bad:
            trust = UNTRUSTED
        elif key in good:
            trust = TRUSTED
        elif bad:
            trust = whole
        else:
            trust = UNTRUSTED  # only trusted_fields named: everything else is third-party
        parts.setdefault((trust, key if key in bad or key in good else ""), []).append(leaf)
    if not declared:
        # None of the fields the registry names: not the shape it describes, so trust none of it.
        return ((UNTRUSTED, "", text),)
    return tuple((trust, key, "\n".join(leaves)) for (trust, key), leaves in parts.items())


def arg_texts(source: Source) -> tuple[str, ...]:
    """The argument values of the call that produced `source`, as text."""
    args = source.call_args
    if isinstance(args, tuple):
        return args
    return _args_text(struct_to_dict(args))


def _args_text(args: Any) -> tuple[str, ...]:
    out: list[str] = []

    def walk(v: Any, depth: int = 0) -> None:
        if depth > 16 or len(out) > 64:
            return
        if isinstance(v, Mapping):
            for x in v.values():
                walk(x, depth + 1)
        elif isinstance(v, list | tuple):
            for x in v:
                walk(x, depth + 1)
        elif isinstance(v, str) and v:
            out.append(v)
        elif isinstance(v, int | float) and not isinstance(v, bool):
            out.append(str(v))

    walk(args)
    return tuple(out)


def struct_to_dict(struct: Any) -> dict[str, Any]:
    """A google.protobuf.Struct as plain Python (json_format's MessageToDict is ~10x slower)."""
    if struct is None:
        return {}
    return {k: _value(v) for k, v in struct.fields.items()}


def _value(v: Any) -> Any:
    kind = v.WhichOneof("kind")
    if kind == "string_value":
        return v.string_value
    if kind == "number_value":
        return v.number_value
    if kind == "bool_value":
        return v.bool_value
    if kind == "struct_value":
        return struct_to_dict(v.struct_value)
    if kind == "list_value":
        return [_value(x) for x in v.list_value.values]
    return None


@dataclass(frozen=True, slots=True)
class Call:
    """A tool call the model made earlier in the session (an assistant turn)."""

    turn: int
    name: str
    args: dict[str, Any]


def arg_kind(entry: Any, name: str) -> str:
    """What the registry says an argument is: destination, amount, selector, content, or "" ."""
    args = entry.get("args") if isinstance(entry, Mapping) else None
    kind = args.get(name) if isinstance(args, Mapping) else None
    return kind if isinstance(kind, str) else ""


def request_calls(
    request: Any, first_turn: int = 0, limit: int = 256, wanted: Callable[[str], bool] | None = None
) -> list[Call]:
    """The tool calls of the conversation's assistant turns (those `wanted` by name), newest last,
    at most `limit`; arguments are converted only for the calls kept."""
    picked: list[tuple[int, Any]] = []
    for turn, m in enumerate(request.messages, first_turn):
        if m.role == "assistant":
            picked.extend((turn, c) for c in m.tool_calls if wanted is None or wanted(c.name))
    return [Call(turn, c.name, struct_to_dict(c.args)) for turn, c in picked[-limit:]]


def message_sources(
    m: Any,
    registry: Mapping[str, Any],
    turn: int,
    calls: dict[str, tuple[str, Any]],
    keep_args: Callable[[Any], Any] | None = None,
) -> list[Source]:
    """The sources one conversation message makes; an assistant turn's calls are noted in `calls`
    (id -> (tool, arguments, through `keep_args` when given)) to name the tool turns answering them."""
    role = m.role
    if role == "assistant":
        for c in m.tool_calls:
            if c.id:
                calls[c.id] = (c.name, keep_args(c.args) if keep_args is not None else c.args)
        return []
    if role in ("user", "system", "developer"):
        if m.content:
            return [Source("user" if role == "user" else "system", TRUSTED, m.content, turn)]
        return []
    if role == "tool":
        name, args = calls.get(m.tool_call_id, (m.name, ()))
        return tool_sources(name or m.name, m.content, turn, registry, call_args=args)
    return []


def extra_sources(request: Any, registry: Mapping[str, Any], turn: int) -> list[Source]:
    """The sources a request carries besides its conversation: documents and, for a tool result,
    the result itself (turns from `turn`, the one after the conversation's last)."""
    out: list[Source] = []
    for d in request.documents:
        trust = TRUSTED if "trusted" in d.labels else UNTRUSTED
        out.append(Source("document", trust, d.content, turn, field=d.source or d.id))
        turn += 1
    if request.action == "tool_result" and request.tool.result:
        out.extend(tool_sources(request.tool.name, request.tool.result, turn, registry, call_args=request.tool.args))
    return out


def request_sources(request: Any, registry: Mapping[str, Any], first_turn: int = 0) -> list[Source]:
    """The sources a request carries: its conversation, its documents and, for a tool result, the
    result itself. Tool turns are named by the assistant call they answer (`tool_call_id`)."""
    out = conversation_sources(request.messages, registry, first_turn)
    out.extend(extra_sources(request, registry, first_turn + len(request.messages)))
    return out


def conversation_sources(messages: Any, registry: Mapping[str, Any], first_turn: int = 0) -> list[Source]:
    """The sources of a conversation alone: `request_sources` of a request carrying nothing but
    these messages (no copy of them into a new request needed)."""
    out: list[Source] = []
    calls: dict[str, tuple[str, Any]] = {}
    for turn, m in enumerate(messages, first_turn):
        out.extend(message_sources(m, registry, turn, calls))
    return out


def call_texts(args: Any) -> tuple[str, ...]:
    """A call's arguments as text (a cached source must not keep the request it came from alive)."""
    if isinstance(args, tuple):
        return args
    return _args_text(struct_to_dict(args))
