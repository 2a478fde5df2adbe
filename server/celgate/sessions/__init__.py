"""Agent sessions: the sources a session has seen and where a tool call's arguments came from."""

from celgate.sessions.provenance import EMPTY, ProvenanceIndex
from celgate.sessions.sources import TRUSTED, UNTRUSTED, Source, request_sources, tool_sources

__all__ = ["EMPTY", "TRUSTED", "UNTRUSTED", "ProvenanceIndex", "Source", "request_sources", "tool_sources"]
