from __future__ import annotations

__all__ = ["OAuthError"]


class OAuthError(Exception):
    """Authorization could not be completed: the message says which step failed and why.

    ``error`` carries the OAuth error code (RFC 6749 §5.2) when the authorization server sent one.
    """

    def __init__(self, message: str, error: str | None = None) -> None:
        super().__init__(message)
        self.error = error
