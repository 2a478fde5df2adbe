"""celgate-client: ask celgate whether a prompt, reply, tool call, tool result or document may go through.

    from celgate_client import Client
    celgate = Client("http://127.0.0.1:8080", principal={"id": "u1", "roles": ["user"]})
    celgate.check_tool_call("send_email", {"to": "a@example.com"}).raise_for_effect()

The client fails closed: if celgate cannot be reached within `timeout`, checks return a deny decision
with the reason ``celgate_unreachable`` instead of raising.
"""

from celgate_client.client import AsyncClient, Client
from celgate_client.decision import ApprovalStatus, Decision, DocumentDecision, Reason, Redaction, Session
from celgate_client.errors import ApprovalRequired, CelgateError, InvalidRequest, PolicyDenied

__version__ = "0.1.0"

__all__ = [
    "ApprovalRequired",
    "ApprovalStatus",
    "AsyncClient",
    "CelgateError",
    "Client",
    "Decision",
    "DocumentDecision",
    "InvalidRequest",
    "PolicyDenied",
    "Reason",
    "Redaction",
    "Session",
    "__version__",
]
