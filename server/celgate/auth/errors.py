"""The two ways a caller is turned away; messages are safe to show the caller (no secrets, no keys)."""

from __future__ import annotations


class Unauthenticated(Exception):
    """No credential, or one that does not verify: HTTP 401 / gRPC UNAUTHENTICATED."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Forbidden(Exception):
    """A known caller asking for something outside its rights: HTTP 403 / gRPC PERMISSION_DENIED."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
