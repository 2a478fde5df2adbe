from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Principal(_message.Message):
    __slots__ = ("id", "roles", "tenant", "attributes")
    ID_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    id: str
    roles: _containers.RepeatedScalarFieldContainer[str]
    tenant: str
    attributes: _struct_pb2.Struct
    def __init__(self, id: _Optional[str] = ..., roles: _Optional[_Iterable[str]] = ..., tenant: _Optional[str] = ..., attributes: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class Model(_message.Message):
    __slots__ = ("provider", "name")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    provider: str
    name: str
    def __init__(self, provider: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class ToolCall(_message.Message):
    __slots__ = ("id", "name", "args", "server", "description", "result", "input_schema")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    SERVER_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    INPUT_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    args: _struct_pb2.Struct
    server: str
    description: str
    result: str
    input_schema: _struct_pb2.Struct
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., args: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., server: _Optional[str] = ..., description: _Optional[str] = ..., result: _Optional[str] = ..., input_schema: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class Message(_message.Message):
    __slots__ = ("role", "content", "name", "tool_calls", "tool_call_id")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALL_ID_FIELD_NUMBER: _ClassVar[int]
    role: str
    content: str
    name: str
    tool_calls: _containers.RepeatedCompositeFieldContainer[ToolCall]
    tool_call_id: str
    def __init__(self, role: _Optional[str] = ..., content: _Optional[str] = ..., name: _Optional[str] = ..., tool_calls: _Optional[_Iterable[_Union[ToolCall, _Mapping]]] = ..., tool_call_id: _Optional[str] = ...) -> None: ...

class Document(_message.Message):
    __slots__ = ("id", "content", "source", "labels", "attributes")
    ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    id: str
    content: str
    source: str
    labels: _containers.RepeatedScalarFieldContainer[str]
    attributes: _struct_pb2.Struct
    def __init__(self, id: _Optional[str] = ..., content: _Optional[str] = ..., source: _Optional[str] = ..., labels: _Optional[_Iterable[str]] = ..., attributes: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class Session(_message.Message):
    __slots__ = ("id", "labels")
    ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    id: str
    labels: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., labels: _Optional[_Iterable[str]] = ...) -> None: ...

class CheckRequest(_message.Message):
    __slots__ = ("action", "principal", "model", "messages", "response", "tool", "documents", "session", "context", "tools", "explain", "request_id", "approval_id")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    EXPLAIN_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    action: str
    principal: Principal
    model: Model
    messages: _containers.RepeatedCompositeFieldContainer[Message]
    response: Message
    tool: ToolCall
    documents: _containers.RepeatedCompositeFieldContainer[Document]
    session: Session
    context: _struct_pb2.Struct
    tools: _containers.RepeatedCompositeFieldContainer[ToolCall]
    explain: bool
    request_id: str
    approval_id: str
    def __init__(self, action: _Optional[str] = ..., principal: _Optional[_Union[Principal, _Mapping]] = ..., model: _Optional[_Union[Model, _Mapping]] = ..., messages: _Optional[_Iterable[_Union[Message, _Mapping]]] = ..., response: _Optional[_Union[Message, _Mapping]] = ..., tool: _Optional[_Union[ToolCall, _Mapping]] = ..., documents: _Optional[_Iterable[_Union[Document, _Mapping]]] = ..., session: _Optional[_Union[Session, _Mapping]] = ..., context: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., tools: _Optional[_Iterable[_Union[ToolCall, _Mapping]]] = ..., explain: _Optional[bool] = ..., request_id: _Optional[str] = ..., approval_id: _Optional[str] = ...) -> None: ...

class Reason(_message.Message):
    __slots__ = ("policy", "rule", "effect", "message", "enforced")
    POLICY_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    EFFECT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ENFORCED_FIELD_NUMBER: _ClassVar[int]
    policy: str
    rule: str
    effect: str
    message: str
    enforced: bool
    def __init__(self, policy: _Optional[str] = ..., rule: _Optional[str] = ..., effect: _Optional[str] = ..., message: _Optional[str] = ..., enforced: _Optional[bool] = ...) -> None: ...

class Redaction(_message.Message):
    __slots__ = ("field", "start", "end", "type", "rule")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    field: str
    start: int
    end: int
    type: str
    rule: str
    def __init__(self, field: _Optional[str] = ..., start: _Optional[int] = ..., end: _Optional[int] = ..., type: _Optional[str] = ..., rule: _Optional[str] = ...) -> None: ...

class Finding(_message.Message):
    __slots__ = ("type", "start", "end", "score")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    type: str
    start: int
    end: int
    score: float
    def __init__(self, type: _Optional[str] = ..., start: _Optional[int] = ..., end: _Optional[int] = ..., score: _Optional[float] = ...) -> None: ...

class Source(_message.Message):
    __slots__ = ("kind", "trust", "tool", "turn", "field", "match", "value", "named_by_user")
    KIND_FIELD_NUMBER: _ClassVar[int]
    TRUST_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    TURN_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    MATCH_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    NAMED_BY_USER_FIELD_NUMBER: _ClassVar[int]
    kind: str
    trust: str
    tool: str
    turn: int
    field: str
    match: str
    value: str
    named_by_user: bool
    def __init__(self, kind: _Optional[str] = ..., trust: _Optional[str] = ..., tool: _Optional[str] = ..., turn: _Optional[int] = ..., field: _Optional[str] = ..., match: _Optional[str] = ..., value: _Optional[str] = ..., named_by_user: _Optional[bool] = ...) -> None: ...

class RuleTrace(_message.Message):
    __slots__ = ("policy", "rule", "result", "error", "duration_ns", "document")
    POLICY_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    DURATION_NS_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    policy: str
    rule: str
    result: str
    error: str
    duration_ns: int
    document: int
    def __init__(self, policy: _Optional[str] = ..., rule: _Optional[str] = ..., result: _Optional[str] = ..., error: _Optional[str] = ..., duration_ns: _Optional[int] = ..., document: _Optional[int] = ...) -> None: ...

class DocumentDecision(_message.Message):
    __slots__ = ("index", "id", "effect", "reasons")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    EFFECT_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    index: int
    id: str
    effect: str
    reasons: _containers.RepeatedCompositeFieldContainer[Reason]
    def __init__(self, index: _Optional[int] = ..., id: _Optional[str] = ..., effect: _Optional[str] = ..., reasons: _Optional[_Iterable[_Union[Reason, _Mapping]]] = ...) -> None: ...

class CheckResponse(_message.Message):
    __slots__ = ("decision_id", "effect", "reasons", "redactions", "rewritten", "labels", "approval_id", "policy_revision", "explanation", "documents", "message", "retry_after_seconds")
    class RewrittenEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    EFFECT_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    REDACTIONS_FIELD_NUMBER: _ClassVar[int]
    REWRITTEN_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    POLICY_REVISION_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_SECONDS_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    effect: str
    reasons: _containers.RepeatedCompositeFieldContainer[Reason]
    redactions: _containers.RepeatedCompositeFieldContainer[Redaction]
    rewritten: _containers.ScalarMap[str, str]
    labels: _containers.RepeatedScalarFieldContainer[str]
    approval_id: str
    policy_revision: str
    explanation: _containers.RepeatedCompositeFieldContainer[RuleTrace]
    documents: _containers.RepeatedCompositeFieldContainer[DocumentDecision]
    message: str
    retry_after_seconds: float
    def __init__(self, decision_id: _Optional[str] = ..., effect: _Optional[str] = ..., reasons: _Optional[_Iterable[_Union[Reason, _Mapping]]] = ..., redactions: _Optional[_Iterable[_Union[Redaction, _Mapping]]] = ..., rewritten: _Optional[_Mapping[str, str]] = ..., labels: _Optional[_Iterable[str]] = ..., approval_id: _Optional[str] = ..., policy_revision: _Optional[str] = ..., explanation: _Optional[_Iterable[_Union[RuleTrace, _Mapping]]] = ..., documents: _Optional[_Iterable[_Union[DocumentDecision, _Mapping]]] = ..., message: _Optional[str] = ..., retry_after_seconds: _Optional[float] = ...) -> None: ...

class CheckBatchRequest(_message.Message):
    __slots__ = ("requests",)
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[CheckRequest]
    def __init__(self, requests: _Optional[_Iterable[_Union[CheckRequest, _Mapping]]] = ...) -> None: ...

class CheckBatchResponse(_message.Message):
    __slots__ = ("responses",)
    RESPONSES_FIELD_NUMBER: _ClassVar[int]
    responses: _containers.RepeatedCompositeFieldContainer[CheckResponse]
    def __init__(self, responses: _Optional[_Iterable[_Union[CheckResponse, _Mapping]]] = ...) -> None: ...

class Approval(_message.Message):
    __slots__ = ("id", "state", "action", "principal", "tool", "session", "reasons", "request", "created_at", "decided_at", "expires_at", "used_at", "decided_by", "reason", "decision_id", "fingerprint")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DECIDED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    USED_AT_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    id: str
    state: str
    action: str
    principal: str
    tool: str
    session: str
    reasons: _containers.RepeatedCompositeFieldContainer[Reason]
    request: _struct_pb2.Struct
    created_at: str
    decided_at: str
    expires_at: str
    used_at: str
    decided_by: str
    reason: str
    decision_id: str
    fingerprint: str
    def __init__(self, id: _Optional[str] = ..., state: _Optional[str] = ..., action: _Optional[str] = ..., principal: _Optional[str] = ..., tool: _Optional[str] = ..., session: _Optional[str] = ..., reasons: _Optional[_Iterable[_Union[Reason, _Mapping]]] = ..., request: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., created_at: _Optional[str] = ..., decided_at: _Optional[str] = ..., expires_at: _Optional[str] = ..., used_at: _Optional[str] = ..., decided_by: _Optional[str] = ..., reason: _Optional[str] = ..., decision_id: _Optional[str] = ..., fingerprint: _Optional[str] = ...) -> None: ...

class ListApprovalsRequest(_message.Message):
    __slots__ = ("state", "principal", "tool", "limit")
    STATE_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    state: str
    principal: str
    tool: str
    limit: int
    def __init__(self, state: _Optional[str] = ..., principal: _Optional[str] = ..., tool: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListApprovalsResponse(_message.Message):
    __slots__ = ("approvals",)
    APPROVALS_FIELD_NUMBER: _ClassVar[int]
    approvals: _containers.RepeatedCompositeFieldContainer[Approval]
    def __init__(self, approvals: _Optional[_Iterable[_Union[Approval, _Mapping]]] = ...) -> None: ...

class GetApprovalRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetApprovalResponse(_message.Message):
    __slots__ = ("approval",)
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    approval: Approval
    def __init__(self, approval: _Optional[_Union[Approval, _Mapping]] = ...) -> None: ...

class ApproveRequest(_message.Message):
    __slots__ = ("id", "reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    reason: str
    def __init__(self, id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ApproveResponse(_message.Message):
    __slots__ = ("approval",)
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    approval: Approval
    def __init__(self, approval: _Optional[_Union[Approval, _Mapping]] = ...) -> None: ...

class DenyRequest(_message.Message):
    __slots__ = ("id", "reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    reason: str
    def __init__(self, id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class DenyResponse(_message.Message):
    __slots__ = ("approval",)
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    approval: Approval
    def __init__(self, approval: _Optional[_Union[Approval, _Mapping]] = ...) -> None: ...

class GetApprovalStatusRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetApprovalStatusResponse(_message.Message):
    __slots__ = ("id", "state", "expires_at", "decided_by", "reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    state: str
    expires_at: str
    decided_by: str
    reason: str
    def __init__(self, id: _Optional[str] = ..., state: _Optional[str] = ..., expires_at: _Optional[str] = ..., decided_by: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...
