"""Session ids for legacy HTTP sessions. (The sessions themselves are records in a
:class:`~mcp_transport.state.session_store.SessionStore`.)"""

from __future__ import annotations

import secrets

__all__ = ["new_session_id"]


def new_session_id() -> str:
    """A session id: 192 bits from the OS CSPRNG, URL-safe visible ASCII
    (2025-11-25 basic/transports#session-management)."""
    return secrets.token_urlsafe(24)
