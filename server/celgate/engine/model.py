"""The policy repository's documents as typed values, validated with located errors.

Three kinds of document live in a policy repo: one `Config` (`celgate.yaml`), any number of
`Policy` files, and `TestSuite` files under `tests/`. Unknown keys are errors, never ignored: a
misspelt `when` that silently disappears would turn a guard into an always-matching rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from celgate.engine import content
from celgate.engine.actions import ACTIONS, DEFAULT_EFFECTS, EFFECTS
from celgate.engine.errors import PolicyError
from celgate.engine.yamldoc import LocDict, LocList, Pos
from celgate.quotas.base import MIN_WINDOW_SECONDS

API_VERSION = "celgate/v1"
NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9_.-]{0,126}[a-z0-9])?$")
VAR_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,126}$")


@dataclass(frozen=True, slots=True)
class Expr:
    """A CEL expression and where its text sits in the YAML file."""

    source: str
    file: str
    pos: Pos

    def error(self, line: int, column: int, message: str) -> PolicyError:
        file_line, file_col = self.pos.locate(line, column)
        return PolicyError(self.file, file_line, file_col, message)


@dataclass(frozen=True, slots=True)
class Redact:
    detectors: tuple[str, ...]
    fields: tuple[str, ...]  # empty: every content field of the action
    replacement: str


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    effect: str | None
    when: Expr | None
    message: str
    message_expr: Expr | None
    redact: Redact | None
    labels: tuple[str, ...]
    pos: Pos


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    description: str
    actions: tuple[str, ...]
    when: Expr | None
    mode: str
    variables: tuple[tuple[str, Expr], ...]
    rules: tuple[Rule, ...]
    file: str
    pos: Pos
    # What a deny rule of this policy that cannot be evaluated counts as (None: celgate.yaml's `on_error`)
    on_error: str | None = None


# `on_error` (a policy's, or celgate.yaml's default for every policy): what a deny rule whose
# condition cannot be evaluated counts as. Never `allow`: an error must not open the gate.
ON_ERROR_EFFECTS = ("deny", "require_approval")


@dataclass(frozen=True, slots=True)
class Config:
    defaults: dict[str, str]
    detectors: dict[str, Any]
    quotas: dict[str, Any]
    file: str = "celgate.yaml"
    limits: tuple[QuotaLimit, ...] = ()
    on_error: str = "deny"
    modes: dict[str, str] = field(default_factory=dict)  # policy name -> enforce | audit, overriding the file
    rule_on_error: str = "deny"  # top-level `on_error`: the default of every policy's (see ON_ERROR_EFFECTS)


@dataclass(frozen=True, slots=True)
class TestCase:
    name: str
    request: dict[str, Any]
    effect: str | None
    rules: tuple[str, ...]  # policy/rule names that must have matched
    not_rules: tuple[str, ...]  # policy/rule names that must not have matched
    rewritten: dict[str, str] | None
    labels: tuple[str, ...] | None
    documents: tuple[str, ...] | None  # expected effect per document, in order
    pos: Pos


@dataclass(frozen=True, slots=True)
class TestSuite:
    name: str
    cases: tuple[TestCase, ...]
    file: str


@dataclass
class Problems:
    """Collects every error of a run so an author sees them all at once."""

    errors: list[PolicyError] = field(default_factory=list)

    def add(self, file: str, pos: Pos | None, message: str) -> None:
        line, col = (pos.line, pos.column) if pos else (1, 1)
        self.errors.append(PolicyError(file, line, col, message))


def _plain(value: Any) -> Any:
    """Strips position bookkeeping so values can be handed to code that expects plain data."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class _Reader:
    """Validates one mapping against the keys it may hold, reporting problems with positions."""

    def __init__(self, doc: LocDict, file: str, problems: Problems, what: str) -> None:
        self.doc = doc
        self.file = file
        self.problems = problems
        self.what = what

    def check_keys(self, allowed: set[str], required: set[str] = frozenset()) -> bool:  # type: ignore[assignment]
        ok = True
        for key in self.doc:
            if key not in allowed:
                hint = _suggest(key, allowed)
                self.problems.add(self.file, self.doc.key_at[key], f"unknown key {key!r} in {self.what}{hint}")
                ok = False
        for key in sorted(required - set(self.doc)):
            self.problems.add(self.file, self.doc.pos, f"{self.what} needs {key!r}")
            ok = False
        return ok

    def pos(self, key: str) -> Pos:
        return self.doc.at.get(key, self.doc.pos)

    def string(self, key: str, default: str = "") -> str:
        value = self.doc.get(key, default)
        if value is None:
            return default
        if not isinstance(value, str):
            self.problems.add(self.file, self.pos(key), f"{key!r} must be a string, got {type(value).__name__}")
            return default
        return value

    def expr(self, key: str) -> Expr | None:
        if key not in self.doc or self.doc[key] is None:
            return None
        value = self.doc[key]
        if isinstance(value, bool):  # `when: true` is a fine constant expression
            value = "true" if value else "false"
        if not isinstance(value, str) or not value.strip():
            self.problems.add(self.file, self.pos(key), f"{key!r} must be a CEL expression (a string)")
            return None
        return Expr(value, self.file, self.pos(key))

    def string_list(self, key: str) -> tuple[str, ...] | None:
        if key not in self.doc:
            return None
        value = self.doc[key]
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problems.add(self.file, self.pos(key), f"{key!r} must be a list of strings")
            return None
        return tuple(value)

    def mapping(self, key: str) -> LocDict | None:
        value = self.doc.get(key)
        if value is None:
            return None
        if not isinstance(value, LocDict):
            self.problems.add(self.file, self.pos(key), f"{key!r} must be a mapping")
            return None
        return value


def _suggest(key: str, allowed: set[str]) -> str:
    import difflib

    close = difflib.get_close_matches(key, sorted(allowed), n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; expected one of: {', '.join(sorted(allowed))}"


MINIMAL_CONFIG = f"apiVersion: {API_VERSION}\nkind: Config"
CONFIG_HINT = (
    "; the smallest celgate.yaml is the two lines `apiVersion: celgate/v1` and `kind: Config` "
    "(tool calls then denied unless a rule allows them, everything else allowed; see docs/policies.md)"
)


def check_header(doc: Any, file: str, kind: str, problems: Problems) -> bool:
    hint = CONFIG_HINT if kind == "Config" else ""
    if not isinstance(doc, LocDict):
        what = "empty" if doc is None else "not a mapping"
        problems.add(file, getattr(doc, "pos", None), f"expected a {kind} document, got {what}{hint}")
        return False
    if doc.get("apiVersion") != API_VERSION:
        problems.add(file, doc.at.get("apiVersion", doc.pos), f"apiVersion must be {API_VERSION!r}{hint}")
        return False
    if doc.get("kind") != kind:
        problems.add(file, doc.at.get("kind", doc.pos), f"kind must be {kind!r} here, got {doc.get('kind')!r}{hint}")
        return False
    return True


_POLICY_KEYS = {
    *("apiVersion", "kind", "name", "description", "actions", "when", "mode", "variables", "rules", "on_error")
}
_RULE_KEYS = {"name", "effect", "when", "message", "messageExpression", "redact", "labels", "description"}
_REDACT_KEYS = {"detectors", "in", "replacement"}


def parse_policy(doc: LocDict, file: str, problems: Problems) -> Policy | None:
    r = _Reader(doc, file, problems, "policy")
    r.check_keys(_POLICY_KEYS, {"apiVersion", "kind", "name", "actions", "rules"})
    name = r.string("name")
    if name and not NAME_RE.match(name):
        problems.add(file, r.pos("name"), f"policy name {name!r} must be lower case letters, digits, '-', '_', '.'")
    actions = r.string_list("actions") or ()
    for i, action in enumerate(actions):
        if action not in ACTIONS:
            at = doc["actions"].at[i] if isinstance(doc.get("actions"), LocList) else r.pos("actions")
            problems.add(file, at, f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
    if "actions" in doc and not actions:
        problems.add(file, r.pos("actions"), "'actions' must name at least one action")
    mode = r.string("mode", "enforce")
    if mode not in ("enforce", "audit"):
        problems.add(file, r.pos("mode"), f"mode must be 'enforce' or 'audit', got {mode!r}")
    on_error = _on_error(r, "on_error")
    variables: list[tuple[str, Expr]] = []
    var_doc = r.mapping("variables")
    if var_doc is not None:
        vr = _Reader(var_doc, file, problems, "variables")
        for var_name in var_doc:
            if not VAR_RE.match(var_name):
                problems.add(file, var_doc.key_at[var_name], f"variable name {var_name!r} is not an identifier")
                continue
            e = vr.expr(var_name)
            if e is not None:
                variables.append((var_name, e))
    rules: list[Rule] = []
    raw_rules = doc.get("rules")
    if "rules" in doc and (not isinstance(raw_rules, LocList) or not raw_rules):
        problems.add(file, r.pos("rules"), "'rules' must be a non-empty list")
        raw_rules = LocList()
    seen: dict[str, Pos] = {}
    for i, raw in enumerate(raw_rules or []):
        rule = _parse_rule(raw, raw_rules.at[i], file, problems)
        if rule is None:
            continue
        if rule.name in seen:
            problems.add(file, rule.pos, f"duplicate rule name {rule.name!r} (first at line {seen[rule.name].line})")
            continue
        seen[rule.name] = rule.pos
        rules.append(rule)
    # Structural problems are reported, yet the expressions are still compiled so all errors show at once.
    return Policy(
        name=name,
        description=r.string("description"),
        actions=tuple(a for a in actions if a in ACTIONS),
        when=r.expr("when"),
        mode=mode,
        variables=tuple(variables),
        rules=tuple(rules),
        file=file,
        pos=doc.pos,
        on_error=on_error,
    )


def _on_error(r: _Reader, key: str) -> str | None:
    """A valid `on_error` value, or None when absent or invalid (then reported with its position)."""
    if key not in r.doc:
        return None
    value = r.doc[key]
    if value not in ON_ERROR_EFFECTS:
        r.problems.add(
            r.file,
            r.pos(key),
            f"{key} must be one of {', '.join(ON_ERROR_EFFECTS)}, got {value!r} "
            "(an evaluation error never allows; see docs/policies.md)",
        )
        return None
    return str(value)


def _parse_rule(raw: Any, pos: Pos, file: str, problems: Problems) -> Rule | None:
    if not isinstance(raw, LocDict):
        problems.add(file, pos, "a rule must be a mapping")
        return None
    r = _Reader(raw, file, problems, "rule")
    r.check_keys(_RULE_KEYS, {"name"})
    name = r.string("name")
    if name and not NAME_RE.match(name):
        problems.add(file, r.pos("name"), f"rule name {name!r} must be lower case letters, digits, '-', '_', '.'")
    effect = r.string("effect") or None
    if effect is not None and effect not in EFFECTS:
        problems.add(file, r.pos("effect"), f"unknown effect {effect!r}; expected one of {', '.join(EFFECTS)}")
    when = r.expr("when")
    if effect is not None and when is None and "when" not in raw:
        pass  # a rule without `when` always matches
    message = r.string("message")
    message_expr = r.expr("messageExpression")
    if message and message_expr:
        problems.add(file, r.pos("messageExpression"), "use either 'message' or 'messageExpression', not both")
    labels = r.string_list("labels") or ()
    for label in labels:
        if not LABEL_RE.match(label):
            problems.add(file, r.pos("labels"), f"label {label!r} has characters outside [A-Za-z0-9_.:/-]")
    redact = None
    red_doc = r.mapping("redact")
    if red_doc is not None:
        rr = _Reader(red_doc, file, problems, "redact")
        rr.check_keys(_REDACT_KEYS, {"detectors"})
        detectors = rr.string_list("detectors") or ()
        if "detectors" in red_doc and not detectors:
            problems.add(file, rr.pos("detectors"), "'detectors' must name at least one detector")
        fields = rr.string_list("in") or ()
        for f in fields:
            if not content.SPEC_RE.match(f):
                problems.add(
                    file, rr.pos("in"), f"unknown content field {f!r}; expected e.g. {', '.join(content.EXAMPLES)}"
                )
        redact = Redact(detectors, fields, rr.string("replacement", "[{type}]"))
    if effect is None and redact is None and not labels and "effect" not in raw:
        problems.add(file, pos, f"rule {name!r} needs at least one of 'effect', 'redact' or 'labels'")
    if effect not in EFFECTS:
        effect = None
    return Rule(name, effect, when, message, message_expr, redact, labels, pos)


_CONFIG_KEYS = {"apiVersion", "kind", "defaults", "detectors", "quotas", "modes", "on_error"}


def parse_config(doc: Any, file: str, problems: Problems) -> Config:
    if not check_header(doc, file, "Config", problems):
        return Config(dict(DEFAULT_EFFECTS), {}, {}, file)
    r = _Reader(doc, file, problems, "config")
    r.check_keys(_CONFIG_KEYS, {"apiVersion", "kind"})
    defaults = dict(DEFAULT_EFFECTS)
    d = r.mapping("defaults")
    if d is not None:
        for action, effect in d.items():
            if action not in ACTIONS:
                problems.add(file, d.key_at[action], f"unknown action {action!r} in defaults")
            elif effect not in EFFECTS:
                problems.add(file, d.at[action], f"unknown effect {effect!r}; expected one of {', '.join(EFFECTS)}")
            else:
                defaults[action] = effect
    modes: dict[str, str] = {}
    m = r.mapping("modes")
    if m is not None:
        for policy_name, mode in m.items():
            if mode not in ("enforce", "audit"):
                problems.add(file, m.at[policy_name], f"modes.{policy_name}: expected enforce or audit, got {mode!r}")
            else:
                modes[policy_name] = mode
    detectors = r.mapping("detectors")
    quotas = r.mapping("quotas")
    limits = parse_quotas(quotas, file, problems) if quotas is not None else ()
    on_error = quotas.get("on_error", "deny") if quotas is not None else "deny"
    if on_error not in ("deny", "allow"):
        problems.add(file, quotas.at.get("on_error"), f"quotas.on_error must be 'deny' or 'allow', got {on_error!r}")
    rule_on_error = _on_error(r, "on_error") or "deny"
    return Config(defaults, _plain(detectors) or {}, _plain(quotas) or {}, file, limits, on_error, modes, rule_on_error)


@dataclass(frozen=True, slots=True)
class QuotaLimit:
    name: str
    actions: tuple[str, ...]
    key: Expr
    cost: Expr | None
    when: Expr | None
    limit: int
    window_seconds: float
    mode: str
    message: str


_QUOTA_KEYS = {"on_error", "limits"}
_LIMIT_KEYS = {"name", "actions", "key", "cost", "when", "limit", "window", "mode", "message", "description"}
_WINDOW_RE = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_window(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value >= MIN_WINDOW_SECONDS else None
    if isinstance(value, str):
        m = _WINDOW_RE.match(value.strip())
        if m:
            seconds = float(m.group(1)) * _UNITS[m.group(2)]
            return seconds if seconds >= MIN_WINDOW_SECONDS else None
    return None


def parse_quotas(doc: LocDict, file: str, problems: Problems) -> tuple[QuotaLimit, ...]:
    _Reader(doc, file, problems, "quotas").check_keys(_QUOTA_KEYS)
    raw = doc.get("limits")
    if raw is None:
        return ()
    if not isinstance(raw, LocList):
        problems.add(file, doc.at.get("limits"), "quotas.limits must be a list")
        return ()
    out = []
    names: set[str] = set()
    for i, item in enumerate(raw):
        if not isinstance(item, LocDict):
            problems.add(file, raw.at[i], "a quota limit must be a mapping")
            continue
        r = _Reader(item, file, problems, "quota limit")
        before = len(problems.errors)
        r.check_keys(_LIMIT_KEYS, {"name", "actions", "key", "limit", "window"})
        name = r.string("name")
        if name and not NAME_RE.match(name):
            problems.add(file, r.pos("name"), f"quota name {name!r} must be lower case letters, digits, '-', '_', '.'")
        if name in names:
            problems.add(file, r.pos("name"), f"duplicate quota name {name!r}")
        names.add(name)
        actions = r.string_list("actions") or ()
        for action in actions:
            if action not in ACTIONS:
                problems.add(file, r.pos("actions"), f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
        limit = item.get("limit")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            problems.add(file, r.pos("limit"), "limit must be a non-negative integer")
        window = parse_window(item.get("window"))
        if window is None and "window" in item:
            problems.add(file, r.pos("window"), "window must be a duration of at least 1ms, such as 60s, 5m, 1h or 1d")
        mode = r.string("mode", "enforce")
        if mode not in ("enforce", "audit"):
            problems.add(file, r.pos("mode"), f"mode must be 'enforce' or 'audit', got {mode!r}")
        key = r.expr("key")
        if len(problems.errors) != before or key is None or window is None:
            continue
        out.append(
            QuotaLimit(
                name, actions, key, r.expr("cost"), r.expr("when"), int(limit), window, mode, r.string("message")
            )
        )
    return tuple(out)


_SUITE_KEYS = {"apiVersion", "kind", "name", "description", "cases"}
_CASE_KEYS = {"name", "request", "expect", "description"}
_EXPECT_KEYS = {"effect", "rules", "not_rules", "rewritten", "labels", "documents"}


def parse_suite(doc: Any, file: str, problems: Problems) -> TestSuite | None:
    if not check_header(doc, file, "TestSuite", problems):
        return None
    r = _Reader(doc, file, problems, "test suite")
    r.check_keys(_SUITE_KEYS, {"apiVersion", "kind", "name", "cases"})
    cases: list[TestCase] = []
    raw_cases = doc.get("cases")
    if not isinstance(raw_cases, LocList):
        problems.add(file, r.pos("cases"), "'cases' must be a list")
        return None
    for i, raw in enumerate(raw_cases):
        pos = raw_cases.at[i]
        if not isinstance(raw, LocDict):
            problems.add(file, pos, "a test case must be a mapping")
            continue
        cr = _Reader(raw, file, problems, "test case")
        cr.check_keys(_CASE_KEYS, {"name", "request", "expect"})
        exp = cr.mapping("expect")
        req = cr.mapping("request")
        if exp is None or req is None:
            problems.add(file, pos, "a test case needs a 'request' mapping and an 'expect' mapping")
            continue
        er = _Reader(exp, file, problems, "expect")
        er.check_keys(_EXPECT_KEYS)
        effect = er.string("effect") or None
        if effect is not None and effect not in EFFECTS:
            problems.add(file, er.pos("effect"), f"unknown effect {effect!r}")
        rewritten = er.mapping("rewritten")
        docs = er.string_list("documents")
        cases.append(
            TestCase(
                name=cr.string("name"),
                request=_plain(req),
                effect=effect,
                rules=er.string_list("rules") or (),
                not_rules=er.string_list("not_rules") or (),
                rewritten=_plain(rewritten) if rewritten is not None else None,
                labels=er.string_list("labels"),
                documents=docs,
                pos=pos,
            )
        )
    return TestSuite(r.string("name"), tuple(cases), file)
