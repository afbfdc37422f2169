from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..errors import RPCError

__all__ = ["AuthError", "OAuthError"]


class OAuthError(Exception):
    """Authorization could not be completed: the message says which step failed and why.

    ``error`` carries the OAuth error code (RFC 6749 §5.2) when the authorization server sent one.
    """

    def __init__(self, message: str, error: str | None = None) -> None:
        super().__init__(message)
        self.error = error


class AuthError(Exception):
    """A protected server refuses a request: answer ``status`` with the ``WWW-Authenticate``
    value ``www_authenticate`` and ``error`` (a JSON-RPC error) as the body."""

    def __init__(self, status: int, error: RPCError, www_authenticate: str) -> None:
        super().__init__(error.message)
        self.status = status
        self.error = error
        self.www_authenticate = www_authenticate
