"""Decision semantics from DESIGN.md, on both CEL backends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google.protobuf import json_format

import celgate
from celgate.engine import InvalidRequest
from celgate.quotas import QuotaStore, QuotaStoreError
from celgate.stores import Stores
from celgate.v1 import decision_pb2 as pb
from tests.unit.engine.conftest import policy

BACKENDS = ["cpp", "closures", "python"]

TOOLS = policy(
    "tools",
    "[tool_call]",
    """\
    - name: search-ok
      effect: allow
      when: tool.name == "search"
    - name: shell-admin
      effect: deny
      when: tool.name == "shell" && !("admin" in principal.roles)
      messageExpression: '"tool " + tool.name + " needs admin"'
    - name: shell-allowed
      effect: allow
      when: tool.name == "shell"
    - name: transfer-approval
      effect: require_approval
      when: tool.name == "transfer" && double(tool.args.amount) > 1000.0
    - name: transfer-ok
      effect: allow
      when: tool.name == "transfer"
    """,
)


def req(tool: str, roles: list[str] | None = None, **args: object) -> dict:
    return {
        "action": "tool_call",
        "principal": {"id": "u1", "roles": roles or ["user"]},
        "tool": {"name": tool, "args": args},
    }


@pytest.mark.parametrize("backend", BACKENDS)
def test_combining_and_defaults(make_repo, backend: str) -> None:
    engine = celgate.load(make_repo({"tools.yaml": TOOLS}), backend=backend)
    assert engine.check(req("search")).effect == "allow"
    denied = engine.check(req("shell"))
    assert denied.effect == "deny"  # deny overrides the matching allow
    assert denied.message == "tool shell needs admin"
    assert {r.key for r in denied.reasons} == {"tools/shell-admin", "tools/shell-allowed"}
    assert engine.check(req("shell", ["admin"])).effect == "allow"
    approval = engine.check(req("transfer", amount=5000))
    assert approval.effect == "require_approval"  # overrides allow
    assert approval.approval_id.startswith("apr_")
    assert engine.check(req("transfer", amount=10)).effect == "allow"
    # No rule matched: the action's default, and tool calls are closed by default.
    assert engine.check(req("format_disk")).effect == "deny"
    assert engine.check({"action": "prompt", "messages": [{"role": "user", "content": "hi"}]}).effect == "allow"


@pytest.mark.parametrize("backend", BACKENDS)
def test_runtime_errors_fail_closed_for_deny_and_open_for_allow(make_repo, backend: str) -> None:
    repo = make_repo(
        {
            "p.yaml": policy(
                "p",
                "[tool_call]",
                """\
                - name: needs-amount
                  effect: require_approval
                  when: double(tool.args.amount) > 10.0
                - name: allow-if-small
                  effect: allow
                  when: double(tool.args.amount) < 10.0
                """,
            )
        }
    )
    engine = celgate.load(repo, backend=backend)
    decision = engine.check(req("transfer", to="x"), explain=True)  # no amount: both rules error
    assert decision.effect == "require_approval"
    assert decision.matched_rules() == ["p/needs-amount"]
    assert "failed closed" in decision.reasons[0].message
    traces = {t.rule: t for t in decision.explanation or []}
    assert traces["needs-amount"].result == "error" and traces["needs-amount"].error
    assert traces["allow-if-small"].result == "error"


@pytest.mark.parametrize("backend", BACKENDS)
def test_audit_mode_is_reported_never_enforced(make_repo, backend: str) -> None:
    repo = make_repo(
        {
            "audit.yaml": policy(
                "audit-only",
                "[prompt]",
                """\
                - name: no-shouting
                  effect: deny
                  when: messages.exists(m, m.content == "HELLO")
                  labels: [loud]
                """,
                extra="mode: audit\n",
            )
        }
    )
    engine = celgate.load(repo, backend=backend)
    decision = engine.check({"action": "prompt", "messages": [{"role": "user", "content": "HELLO"}]})
    assert decision.effect == "allow"
    assert [(r.key, r.enforced) for r in decision.reasons] == [
        ("audit-only/no-shouting", False),
        ("defaults/prompt", True),
    ]
    assert decision.labels == []  # audit rules add no obligations


@pytest.mark.parametrize("backend", BACKENDS)
def test_policy_guard_and_explanation_lists_every_rule(make_repo, backend: str) -> None:
    repo = make_repo(
        {
            "g.yaml": policy(
                "guarded",
                "[tool_call]",
                """\
                - name: a
                  effect: allow
                  when: tool.name == "a"
                - name: b
                  effect: deny
                  when: tool.name == "b"
                """,
                extra='when: principal.tenant == "acme"\n',
            )
        }
    )
    engine = celgate.load(repo, backend=backend)
    off = engine.check({**req("a"), "principal": {"id": "u", "tenant": "other"}}, explain=True)
    assert off.effect == "deny"  # guard false: policy skipped, default applies
    assert [(t.rule, t.result) for t in off.explanation or []] == [
        ("", "not_matched"),
        ("a", "skipped"),
        ("b", "skipped"),
    ]
    on = engine.check({**req("a"), "principal": {"id": "u", "tenant": "acme"}}, explain=True)
    assert on.effect == "allow"
    assert [(t.rule, t.result) for t in on.explanation or []] == [("a", "matched"), ("b", "not_matched")]
    assert all(t.duration_ns >= 0 for t in on.explanation or [])


@pytest.mark.parametrize("backend", BACKENDS)
def test_variables_are_evaluated_once_per_request(make_repo, backend: str, monkeypatch) -> None:
    calls: list[str] = []
    from celgate.engine import builtins

    original = builtins.BUILTINS[0]
    counting = type(original)(
        original.name,
        original.overload_id,
        original.params,
        original.returns,
        lambda s: calls.append(s) or original.impl(s),
    )
    monkeypatch.setattr(builtins, "BUILTINS", [counting])
    monkeypatch.setattr("celgate.engine.compiler.BUILTINS", [counting])
    repo = make_repo(
        {
            "v.yaml": policy(
                "vars",
                "[tool_call]",
                """\
                - name: one
                  effect: allow
                  when: vars.digest.startsWith("a") || tool.name == "x"
                - name: two
                  effect: deny
                  when: vars.digest == "nope" && vars.upper
                - name: three
                  effect: deny
                  when: vars.digest.size() == 0
                """,
                extra="variables:\n  digest: tool.name.sha256()\n  upper: vars.digest.size() > 3\n",
            )
        }
    )
    engine = celgate.load(repo, backend=backend)
    calls.clear()  # compiling probes every rule once (engine.budget)
    decision = engine.check(req("x"))
    assert decision.effect == "allow"
    assert calls == ["x"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_retrieval_decides_each_document(make_repo, backend: str) -> None:
    repo = make_repo(
        {
            "r.yaml": policy(
                "tenant-docs",
                "[retrieval]",
                """\
                - name: cross-tenant
                  effect: deny
                  when: '!("tenant:" + principal.tenant in document.labels)'
                  messageExpression: '"document " + document.id + " belongs to another tenant"'
                """,
            )
        }
    )
    engine = celgate.load(repo, backend=backend)
    decision = engine.check(
        {
            "action": "retrieval",
            "principal": {"id": "u", "tenant": "acme"},
            "documents": [
                {"id": "d1", "content": "ours", "labels": ["tenant:acme"]},
                {"id": "d2", "content": "theirs", "labels": ["tenant:globex"]},
            ],
        }
    )
    assert decision.effect == "allow"
    assert [(d.id, d.effect) for d in decision.documents] == [("d1", "allow"), ("d2", "deny")]
    assert decision.documents[1].reasons[0].message == "document d2 belongs to another tenant"


@pytest.mark.parametrize("backend", BACKENDS)
def test_data_files_are_exposed_by_stem(make_repo, backend: str) -> None:
    repo = make_repo(
        {
            "data/models.yaml": "allowed: [{provider: openai, name: gpt-4o}]\n",
            "data/limits.json": json.dumps({"max": 3}),
            "m.yaml": policy(
                "models",
                "[prompt]",
                """\
                - name: unlisted-model
                  effect: deny
                  when: '!data.models.allowed.exists(m, m.provider == model.provider && m.name == model.name)'
                - name: too-many-turns
                  effect: deny
                  when: messages.size() > int(data.limits.max)
                """,
            ),
        }
    )
    engine = celgate.load(repo, backend=backend)
    ok = {"action": "prompt", "model": {"provider": "openai", "name": "gpt-4o"}, "messages": [{"role": "user"}]}
    assert engine.check(ok).effect == "allow"
    assert engine.check({**ok, "model": {"provider": "x", "name": "y"}}).effect == "deny"
    assert engine.check({**ok, "messages": [{"role": "user"}] * 4}).matched_rules() == ["models/too-many-turns"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_labels_and_redaction_obligations(make_repo, backend: str) -> None:
    repo = make_repo(
        {
            "o.yaml": policy(
                "obligations",
                "[tool_result]",
                """\
                - name: web-is-untrusted
                  when: tool.name == "fetch_page"
                  labels: [untrusted]
                - name: mask-email
                  redact:
                    detectors: [pii.email]
                    in: [tool.result]
                """,
            )
        }
    )
    engine = celgate.load(repo, backend=backend)
    decision = engine.check(
        {"action": "tool_result", "tool": {"name": "fetch_page", "result": "write to bob@example.com today"}}
    )
    assert decision.effect == "allow"
    assert decision.labels == ["untrusted"]
    assert decision.rewritten == {"tool.result": "write to [email] today"}
    assert [(r.field, r.start, r.end, r.type) for r in decision.redactions] == [("tool.result", 9, 24, "email")]


@pytest.mark.parametrize("backend", BACKENDS)
def test_quotas_deny_with_retry_after_and_fail_closed_when_store_is_down(make_repo, backend: str) -> None:
    config = """\
    apiVersion: celgate/v1
    kind: Config
    quotas:
      limits:
        - name: prompts-per-user
          actions: [prompt]
          key: principal.id
          limit: 2
          window: 1m
    """
    repo = make_repo({"celgate.yaml": config})
    engine = celgate.load(repo, backend=backend)
    r = {"action": "prompt", "principal": {"id": "u1"}, "messages": [{"role": "user", "content": "hi"}]}
    assert [engine.check(r).effect for _ in range(2)] == ["allow", "allow"]
    third = engine.check(r)
    assert third.effect == "deny" and third.matched_rules() == ["quota/prompts-per-user"]
    assert 0 < third.retry_after_seconds <= 60
    assert engine.check({**r, "principal": {"id": "u2"}}).effect == "allow"  # a separate bucket

    class Down(QuotaStore):
        def consume(self, charges, now):  # type: ignore[no-untyped-def]
            raise QuotaStoreError("connection refused")

    down = celgate.load(repo, backend=backend, stores=Stores(quotas=Down()))
    decision = down.check(r)
    assert decision.effect == "deny" and decision.matched_rules() == ["quota/store-unavailable"]


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        ({"action": "launch"}, "action"),
        ({}, "action"),
        ({"action": "prompt", "principal": {"roles": "admin"}}, "principal.roles"),
        ({"action": "prompt", "principal": {"id": 7}}, "principal.id"),
        ({"action": "prompt", "tool": {"nmae": "x"}}, "tool.nmae"),
        ({"action": "prompt", "messages": {"role": "user"}}, "messages"),
        ({"action": "prompt", "messages": [{"content": ["x"]}]}, "messages[0].content"),
        ({"action": "prompt", "tool": {"args": [1, 2]}}, "tool.args"),
        ({"action": "prompt", "context": {"x": float("nan")}}, "context.x"),
        ({"action": "prompt", "explain": "yes"}, "explain"),
    ],
)
def test_invalid_requests_name_the_field(make_repo, request_: dict, field: str) -> None:
    engine = celgate.load(make_repo({"tools.yaml": TOOLS}))
    with pytest.raises(InvalidRequest) as info:
        engine.check(request_)
    assert info.value.field == field
    assert info.value.message


def test_requests_accept_json_names_and_proto_messages(make_repo) -> None:
    engine = celgate.load(make_repo({"tools.yaml": TOOLS}))
    camel = {"action": "prompt", "messages": [{"role": "tool", "toolCallId": "c1", "content": "x"}]}
    assert engine.check(camel).effect == "allow"
    message = pb.CheckRequest(action="tool_call", tool=pb.ToolCall(name="search"))
    assert engine.check(message).effect == "allow"
    assert engine.check(req("search")).to_dict()["effect"] == "allow"


def test_decision_to_dict_is_the_proto_json_form(make_repo) -> None:
    engine = celgate.load(make_repo({"tools.yaml": TOOLS}))
    decision = engine.check(req("transfer", amount=5000), explain=True)
    as_dict = decision.to_dict()
    parsed = json_format.ParseDict(as_dict, pb.CheckResponse())
    assert parsed == decision.to_proto()
    assert as_dict["effect"] == "require_approval" and as_dict["approval_id"]
    assert as_dict["policy_revision"] == engine.revision


def test_revision_is_the_git_commit_or_a_content_digest(make_repo, tmp_path: Path) -> None:
    import subprocess

    repo = make_repo({"tools.yaml": TOOLS})
    digest = celgate.load(repo).revision
    assert digest.startswith("sha256:")
    assert celgate.load(repo).revision == digest  # stable
    (repo / "tools.yaml").write_text((repo / "tools.yaml").read_text() + "\n# changed\n")
    assert celgate.load(repo).revision != digest
    git = ["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "policies"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    assert celgate.load(repo).revision == head
    (repo / "tools.yaml").write_text((repo / "tools.yaml").read_text() + "\n# uncommitted\n")
    assert celgate.load(repo).revision.startswith(head + "+dirty.")


def test_modes_in_config_switch_a_policy_between_audit_and_enforce(make_repo) -> None:
    rules = """\
    - name: no-shouting
      effect: deny
      when: messages.exists(m, m.content == "HELLO")
    """
    loud = {"action": "prompt", "messages": [{"role": "user", "content": "HELLO"}]}
    config = "apiVersion: celgate/v1\nkind: Config\nmodes: {quiet: %s}\n"
    audited = make_repo({"celgate.yaml": config % "audit", "q.yaml": policy("quiet", "[prompt]", rules)})
    assert celgate.load(audited).check(loud).effect == "allow"
    enforced = make_repo(
        {"celgate.yaml": config % "enforce", "q.yaml": policy("quiet", "[prompt]", rules, "mode: audit\n")}
    )
    assert celgate.load(enforced).check(loud).effect == "deny"
    with pytest.raises(celgate.PolicyLoadError, match="no policy named 'nope'"):
        celgate.load(make_repo({"celgate.yaml": config.replace("quiet", "nope") % "audit"}))


def test_judges_says_whether_an_action_can_be_anything_but_a_plain_allow(make_repo) -> None:
    engine = celgate.load(make_repo({"tools.yaml": TOOLS}))
    assert engine.judges("tool_call")  # policies apply (and the default is deny)
    assert not engine.judges("response")  # nothing applies and the default is allow
    closed = make_repo({"celgate.yaml": "apiVersion: celgate/v1\nkind: Config\ndefaults: {response: deny}\n"})
    assert celgate.load(closed).judges("response")
