"""Compiles a policy repository into a `Bundle`: one immutable, ready-to-evaluate revision.

Everything that can be decided before a request arrives is decided here: which policies apply to
which action, which request variables each action's policies read (only those are bound per
request), which policies must run once per retrieved document, and every expression compiled
and type-checked. A bundle is built off to the side and swapped in whole.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celgate.detectors import build
from celgate.engine import content
from celgate.engine.actions import ACTIONS, ALLOW, DENY, REQUIRE_APPROVAL, RETRIEVAL
from celgate.engine.backends import Backend, CelCompileError, FunctionSpec, Kind, new_backend
from celgate.engine.backends.base import VARIABLE_NAMES
from celgate.engine.builtins import BUILTINS
from celgate.engine.datainline import inline_data
from celgate.engine.datapaths import keyed_maps, reachable
from celgate.engine.decision import Reason
from celgate.engine.errors import PolicyError, PolicyLoadError
from celgate.engine.fusion import FusedProgram, fuse, fuse_message, fuse_quotas
from celgate.engine.lint import never_fire
from celgate.engine.model import Config, Expr, Policy, Redact, Rule, TestSuite
from celgate.engine.provenance import PROVENANCE_FUNCTIONS
from celgate.engine.repo import read_repo, revision_of

_IDENT = re.compile(r"(?<![.\w])([A-Za-z_]\w*)")
_VAR_REF = re.compile(r"\bvars\s*\.\s*([A-Za-z_]\w*)|\bvars\s*\[\s*[\"']([^\"']*)[\"']\s*\]")


def referenced_variables(source: str) -> frozenset[str]:
    """Top-level request variables an expression may read (an over-approximation is fine)."""
    return frozenset(m for m in _IDENT.findall(source) if m in VARIABLE_NAMES)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    policy: str
    name: str
    key: str  # "policy/rule"
    effect: str | None
    when: Any | None
    message: str
    message_expr: Any | None
    redact: Redact | None
    labels: tuple[str, ...]
    enforced: bool
    # The effect this rule counts as matched with when its condition cannot be evaluated (fail
    # closed): its own for require_approval, the policy's `on_error` for deny; None for allow and
    # obligation-only rules, which then do not match.
    error_effect: str | None = None


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    name: str
    enforced: bool
    when: Any | None
    variables: tuple[tuple[str, Any, bool], ...]  # (name, program, reads other vars)
    rules: tuple[CompiledRule, ...]
    per_document: bool  # evaluated once per retrieved document, with `document` bound


@dataclass(frozen=True, slots=True)
class CompiledQuota:
    name: str
    key: Any
    cost: Any | None
    when: Any | None
    limit: int
    window_seconds: float
    enforced: bool
    message: str


@dataclass(frozen=True, slots=True)
class ActionPlan:
    """Everything compiled for one action: what `Engine.check` runs for a request of it.

    Built once per bundle and action, read-only afterwards; the engine looks up one plan per
    request (`bundle.plans[action]`) and touches nothing else of the bundle on the hot path.
    """

    action: str
    default: str  # the effect when no rule matches (`defaults` in celgate.yaml)
    default_reason: Reason  # the reason a decision from the default carries
    policies: tuple[CompiledPolicy, ...]  # every policy of the action, in file order
    request_policies: tuple[CompiledPolicy, ...]  # those evaluated once per request
    document_policies: tuple[CompiledPolicy, ...]  # those evaluated once per document (`document` bound)
    quotas: tuple[CompiledQuota, ...]
    names: frozenset[str]  # the request variables its expressions read: only these are bound
    data: Any  # the part of `data` its expressions can reach, prepared for the backend
    # {stem: (the whole map, key kinds)} for data maps only ever indexed by tool names (bound per request)
    keyed_data: dict[str, tuple[dict[str, Any], frozenset[str]]]
    fused: FusedProgram | None  # all request-level rules in one program (None: rule by rule)
    fused_documents: FusedProgram | None  # all per-document rules in one program, run once per document
    fused_quotas: Any  # all quotas' (key, cost) in one program, or None
    fused_messages: dict[str, Any]  # rule key -> message program with the policy's vars bound

    @property
    def judges(self) -> bool:
        """Whether a request of this action can come out other than a plain allow."""
        return bool(self.policies or self.quotas or self.default != ALLOW)


@dataclass
class Bundle:
    """One compiled revision of a policy repository: one `ActionPlan` per action, and what they share."""

    revision: str
    config: Config
    backend: Backend
    detectors: Any
    plans: dict[str, ActionPlan]
    suites: list[TestSuite] = field(default_factory=list)
    # data/tools.yaml as plain Python: what provenance reads (trust per tool and field, arg kinds)
    registry: Mapping[str, Any] = field(default_factory=dict)
    # injection_score() at which an untrusted source counts as injected (injected_sources()):
    # data.owasp.llm01.untrusted_threshold when the repository has it
    injection_threshold: float = 0.5
    warnings: list[PolicyError] = field(default_factory=list)  # rules that can never fire (engine/lint.py)

    def rules(self) -> list[CompiledRule]:
        seen: dict[str, CompiledRule] = {}
        for plan in self.plans.values():
            for p in plan.policies:
                for r in p.rules:
                    seen[r.key] = r
        return list(seen.values())


def _detector_suite(config: Config, errors: list[PolicyError]) -> tuple[Any, list[FunctionSpec]]:
    try:
        suite = build(config.detectors)
    except ValueError as exc:
        errors.append(PolicyError(config.file, 1, 1, f"detectors: {exc}"))
        return None, []
    specs = [
        FunctionSpec(fn.name, ov.id, tuple(ov.params), ov.returns, ov.impl, pure=True)
        for fn in suite.functions
        for ov in fn.overloads
    ]
    return suite, specs


def _policy_sources(policy: Policy) -> list[str]:
    out = [policy.when.source] if policy.when else []
    out += [e.source for _, e in policy.variables]
    for r in policy.rules:
        out += [e.source for e in (r.when, r.message_expr) if e is not None]
    return out


def _error_effect(effect: str | None, on_error: str) -> str | None:
    if effect == DENY:
        return on_error
    return REQUIRE_APPROVAL if effect == REQUIRE_APPROVAL else None


def describe(rule: Rule, key: str, actions: tuple[str, ...]) -> str:
    """The message of a rule that gives none, so every reason says what its rule did."""
    if rule.effect is not None:
        return f"{rule.effect.replace('_', ' ')} by {key}"
    parts = []
    if rule.redact is not None:
        fields = rule.redact.fields or tuple(dict.fromkeys(f for a in actions for f in content.DEFAULT[a]))
        parts.append(f"redacts {', '.join(rule.redact.detectors)} in {', '.join(fields)}")
    if rule.labels:
        parts.append(f"labels the session {', '.join(rule.labels)}")
    return "; ".join(parts) or f"matched {key}"


class _Compiler:
    def __init__(
        self, backend: Backend, checker: Backend | None, detectors: Any, data: Mapping[str, Any] | None = None
    ) -> None:
        self.backend = backend
        self.checker = checker  # the C++ backend type-checks even when Python evaluates
        self.detectors = detectors
        self.errors: list[PolicyError] = []
        # `data` to inline constant paths of (engine.datainline; backends binding data per request)
        self.data = data
        self.inlined: dict[str, str] = {}  # source -> the rewritten source its program was compiled from
        self.kept: set[str] = set()  # sources compiled as written somewhere (their rewrite did not compile)

    def source_for(self, source: str) -> str:
        """The text a source's programs were compiled from (what their `data` reach is read from)."""
        return source if source in self.kept else self.inlined.get(source, source)

    def rewrite(self, source: str) -> str:
        return source if self.data is None else inline_data(source, self.data)

    def inlined_policy(self, policy: Policy) -> Policy:
        """The policy with each expression as compiled (for fusion, which compiles their text again)."""
        if not self.inlined:
            return policy

        def ex(e: Expr | None) -> Expr | None:
            return e if e is None else dataclasses.replace(e, source=self.source_for(e.source))

        return dataclasses.replace(
            policy,
            when=ex(policy.when),
            variables=tuple((n, ex(e)) for n, e in policy.variables),  # type: ignore[misc]
            rules=tuple(dataclasses.replace(r, when=ex(r.when), message_expr=ex(r.message_expr)) for r in policy.rules),
        )

    def expr(self, expr: Expr | None, kind: Kind) -> Any | None:
        if expr is None:
            return None
        rewritten = self.rewrite(expr.source)
        if rewritten != expr.source:
            try:
                program = self.backend.compile(rewritten, kind)
            except CelCompileError:
                self.kept.add(expr.source)  # as written: its errors, or its program
            else:
                self.inlined[expr.source] = rewritten
                return program
        try:
            if self.checker is not None and self.checker is not self.backend:
                self.checker.compile(expr.source, kind)
            return self.backend.compile(expr.source, kind)
        except CelCompileError as exc:
            for line, col, message in exc.problems:
                self.errors.append(expr.error(line, col, message))
            return None

    def check_var_refs(self, expr: Expr | None, known: set[str], later: set[str]) -> None:
        if expr is None:
            return
        for m in _VAR_REF.finditer(expr.source):
            name = m.group(1) or m.group(2)
            if name in known:
                continue
            line = expr.source.count("\n", 0, m.start()) + 1
            col = m.start() - (expr.source.rfind("\n", 0, m.start()) + 1) + 1
            why = "is declared after this use" if name in later else "is not declared in this policy's variables"
            self.errors.append(expr.error(line, col, f"vars.{name} {why}"))

    def redact(self, rule: Rule, file: str) -> None:
        if rule.redact is None or self.detectors is None:
            return
        for selector in rule.redact.detectors:
            try:
                self.detectors.validate_selector(selector)
            except ValueError as exc:
                self.errors.append(PolicyError(file, rule.pos.line, rule.pos.column, f"redact: {exc}"))
        try:
            self.detectors.validate_replacement(rule.redact.replacement)
        except ValueError as exc:
            self.errors.append(PolicyError(file, rule.pos.line, rule.pos.column, f"redact: {exc}"))

    def policy(self, policy: Policy, on_error: str = DENY) -> CompiledPolicy:
        """`on_error`: the policy's own, else celgate.yaml's (what an erroring deny rule counts as)."""
        enforced = policy.mode == "enforce"
        declared = [name for name, _ in policy.variables]
        variables = []
        for i, (name, expr) in enumerate(policy.variables):
            self.check_var_refs(expr, set(declared[:i]), set(declared[i:]))
            program = self.expr(expr, Kind.ANY)
            variables.append((name, program, bool(_VAR_REF.search(expr.source))))
        self.check_var_refs(policy.when, set(), set(declared))
        rules = []
        for rule in policy.rules:
            for e in (rule.when, rule.message_expr):
                self.check_var_refs(e, set(declared), set())
            self.redact(rule, policy.file)
            rules.append(
                CompiledRule(
                    policy=policy.name,
                    name=rule.name,
                    key=f"{policy.name}/{rule.name}",
                    effect=rule.effect,
                    when=self.expr(rule.when, Kind.BOOL),
                    message=rule.message or describe(rule, f"{policy.name}/{rule.name}", policy.actions),
                    message_expr=self.expr(rule.message_expr, Kind.STRING),
                    redact=rule.redact,
                    labels=rule.labels,
                    enforced=enforced,
                    error_effect=_error_effect(rule.effect, on_error),
                )
            )
        uses_document = any("document" in referenced_variables(s) for s in _policy_sources(policy))
        if uses_document and policy.actions != (RETRIEVAL,):
            self.errors.append(
                PolicyError(
                    policy.file,
                    policy.pos.line,
                    policy.pos.column,
                    "`document` is bound only for action retrieval; this policy also applies to "
                    + ", ".join(a for a in policy.actions if a != RETRIEVAL),
                )
            )
        return CompiledPolicy(
            name=policy.name,
            enforced=enforced,
            when=self.expr(policy.when, Kind.BOOL),
            variables=tuple(variables),
            rules=tuple(rules),
            per_document=uses_document,
        )


def compile_repo(path: str | Path, *, backend: str | None = None, revision: str | None = None) -> Bundle:
    """Reads, validates and compiles a policy repository; raises PolicyLoadError on any problem."""
    root = Path(path)
    contents = read_repo(root)
    errors: list[PolicyError] = list(contents.problems.errors)
    suite, specs = _detector_suite(contents.config, errors)
    specs = [*BUILTINS, *PROVENANCE_FUNCTIONS, *specs]
    engine_backend = new_backend(backend, specs)
    checker: Backend | None = engine_backend
    if not engine_backend.type_checked:
        try:
            checker = new_backend("cpp", specs)
        except ImportError:
            checker = None
    # Backends that bind `data` per request get its constant paths written into the expressions.
    compiler = _Compiler(engine_backend, checker, suite, contents.data if engine_backend.per_request_data else None)
    known = {p.name for p in contents.policies}
    for name in contents.config.modes:
        if name not in known:
            errors.append(PolicyError(contents.config.file, 1, 1, f"modes: no policy named {name!r}"))
    contents.policies = [
        dataclasses.replace(p, mode=contents.config.modes[p.name]) if p.name in contents.config.modes else p
        for p in contents.policies
    ]
    by_action: dict[str, list[CompiledPolicy]] = {a: [] for a in ACTIONS}
    request_level: dict[str, list[tuple[Policy, CompiledPolicy]]] = {a: [] for a in ACTIONS}
    document_level: dict[str, list[tuple[Policy, CompiledPolicy]]] = {a: [] for a in ACTIONS}
    names: dict[str, set[str]] = {a: {"action"} for a in ACTIONS}
    action_sources: dict[str, list[str]] = {a: [] for a in ACTIONS}
    for policy in contents.policies:
        compiled = compiler.policy(policy, policy.on_error or contents.config.rule_on_error)
        policy_sources = _policy_sources(policy)
        used = set().union(*(referenced_variables(s) for s in policy_sources))
        for action in policy.actions:
            by_action[action].append(compiled)
            (document_level if compiled.per_document else request_level)[action].append((policy, compiled))
            names[action] |= used
            action_sources[action] += policy_sources
    quotas: dict[str, list[CompiledQuota]] = {a: [] for a in ACTIONS}
    for q in contents.config.limits:
        compiled_quota = CompiledQuota(
            name=q.name,
            key=compiler.expr(q.key, Kind.STRING),
            cost=compiler.expr(q.cost, Kind.ANY),
            when=compiler.expr(q.when, Kind.BOOL),
            limit=q.limit,
            window_seconds=q.window_seconds,
            enforced=q.mode == "enforce",
            message=q.message,
        )
        used = set().union(*(referenced_variables(e.source) for e in (q.key, q.cost, q.when) if e is not None))
        for action in q.actions:
            quotas[action].append(compiled_quota)
            names[action] |= used
            action_sources[action] += [e.source for e in (q.key, q.cost, q.when) if e is not None]
    errors.extend(compiler.errors)
    if errors:
        raise PolicyLoadError(sorted(errors, key=lambda e: (e.file, e.line, e.column)))
    data: Mapping[str, Any] = contents.data
    plans = {}
    for action in ACTIONS:
        pairs = request_level[action]
        limits = [q for q in contents.config.limits if action in q.actions]
        docs = document_level[action]
        fused = _fuse_inlined(engine_backend, compiler, pairs)
        fused_docs = _fuse_inlined(engine_backend, compiler, docs)
        as_written = False  # a fused program compiled from the expressions as written
        if fused is None and pairs:
            fused = fuse(engine_backend, [p for p, _ in pairs], [c for _, c in pairs])
            as_written = fused is not None
        if fused_docs is None and docs:
            fused_docs = fuse(engine_backend, [p for p, _ in docs], [c for _, c in docs])
            as_written = as_written or fused_docs is not None
        # What this action's programs reach in `data`: the sources as compiled (constants inlined),
        # plus, when a fused program had to be compiled from the text as written, that text.
        sources = [compiler.source_for(s) for s in action_sources[action]]
        if as_written:
            sources += action_sources[action]
        action_policies = [compiler.inlined_policy(p) for p in contents.policies if action in p.actions]
        plans[action] = ActionPlan(
            action=action,
            default=contents.config.defaults[action],
            default_reason=default_reason(action, contents.config.defaults[action]),
            policies=tuple(by_action[action]),
            request_policies=tuple(c for _, c in pairs),
            document_policies=tuple(p for p in by_action[action] if p.per_document),
            quotas=tuple(quotas[action]),
            names=frozenset(names[action] - {"document"}),
            data=engine_backend.prepare_data(reachable(data, sources)),
            keyed_data=(
                {stem: (data[stem], kinds) for stem, kinds in keyed_maps(data, sources).items()}
                if engine_backend.per_request_data
                else {}
            ),
            fused=fused,
            fused_documents=fused_docs,
            fused_quotas=fuse_quotas(
                engine_backend,
                [
                    (
                        compiler.source_for(q.when.source) if q.when else None,
                        compiler.source_for(q.key.source),
                        compiler.source_for(q.cost.source) if q.cost else None,
                    )
                    for q in limits
                ],
            ),
            fused_messages=_fused_messages(engine_backend, action_policies),
        )
    bundle = Bundle(
        revision=revision or revision_of(root, contents.files),
        config=contents.config,
        backend=engine_backend,
        detectors=suite,
        plans=plans,
        suites=contents.suites,
        registry=data["tools"] if isinstance(data.get("tools"), Mapping) else {},
        injection_threshold=_injection_threshold(data),
        warnings=never_fire(contents.policies),
    )
    if engine_backend.type_checked:
        over = _over_budget(bundle, contents.policies, contents.config.limits)
        if over:
            raise PolicyLoadError(sorted(over, key=lambda e: (e.file, e.line, e.column)))
    return bundle


def _fuse_inlined(
    backend: Backend, compiler: _Compiler, pairs: list[tuple[Policy, CompiledPolicy]]
) -> FusedProgram | None:
    """The fused program from the expressions as compiled (data constants inlined), or None."""
    if not pairs:
        return None
    policies = [compiler.inlined_policy(p) for p, _ in pairs]
    return fuse(backend, policies, [c for _, c in pairs], warn=False)


def _over_budget(bundle: Bundle, policies: list[Policy], limits: tuple[Any, ...]) -> list[PolicyError]:
    """Expressions that exceed CEL's iteration budget on an ordinary request (see engine.budget)."""
    from celgate.engine import budget
    from celgate.engine.engine import Engine

    return budget.probe(Engine(bundle), policies, limits)  # its own in-memory stores: nothing is charged


def _injection_threshold(data: Mapping[str, Any]) -> float:
    owasp = data.get("owasp")
    llm01 = owasp.get("llm01") if isinstance(owasp, Mapping) else None
    value = llm01.get("untrusted_threshold") if isinstance(llm01, Mapping) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.5


def default_reason(action: str, effect: str) -> Reason:
    """Names the default when no rule decided: `defaults/<action>`, from celgate.yaml."""
    message = f"no rule decided this {action}; the default for {action} in celgate.yaml is {effect}"
    return Reason("defaults", action, effect, message, True)


def _fused_messages(backend: Backend, policies: list[Policy]) -> dict[str, Any]:
    """Message programs that see the policy's variables without evaluating them one by one."""
    out = {}
    for policy in policies:
        if not policy.variables:
            continue
        for rule in policy.rules:
            if rule.message_expr is not None:
                program = fuse_message(backend, policy, rule.message_expr.source)
                if program is not None:
                    out[f"{policy.name}/{rule.name}"] = program
    return out
