"""Who a request acts for: the :class:`Principal` a verified access token names (the
resource-server half of :mod:`mcp_transport.auth` fills it; transports and the server read it,
so it sits below both).

The HTTP endpoint verifies the token and sets :data:`current_principal` for the rest of the
request; handler tasks inherit it (asyncio copies the context when a task starts), so
``ctx.principal`` and the bindings (legacy sessions, MRTR ``requestState``, tasks) read one
value. Without authorization it is None.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Principal", "current_identity", "current_principal", "principal_from_claims"]


@dataclass(frozen=True, slots=True)
class Principal:
    """The subject, client and scopes of a verified access token, and all its claims."""

    subject: str
    client_id: str | None = None
    scopes: frozenset[str] = frozenset()
    issuer: str | None = None
    expires_at: float | None = None  # seconds since the epoch, when the token says
    claims: Mapping[str, Any] = field(default_factory=dict)

    @property
    def identity(self) -> str:
        """A stable key for bindings: the same user keeps it across tokens (refresh, step-up),
        another user of the same issuer never has it (``sub`` is unique per issuer, RFC 9068
        §2.2)."""
        return f"{self.issuer or ''} {self.subject}"

    def missing(self, required: Iterable[str]) -> list[str]:
        """The required scopes this principal does not hold, in the order given."""
        return [scope for scope in required if scope not in self.scopes]


current_principal: ContextVar[Principal | None] = ContextVar("mcp_transport_principal", default=None)


def current_identity() -> str | None:
    principal = current_principal.get()
    return principal.identity if principal is not None else None


def principal_from_claims(claims: Mapping[str, Any], issuer: str | None) -> Principal | None:
    """A principal from JWT or introspection claims (RFC 9068 §2.2, RFC 7662 §2.2), or None
    when they name no subject at all. A client-credentials token often has no ``sub``: the
    client is then the subject."""
    client_id = claims.get("client_id") or claims.get("azp")
    subject = claims.get("sub") or client_id
    if not isinstance(subject, str) or not subject:
        return None
    raw_scope = claims.get("scope", claims.get("scp", ""))
    scopes = raw_scope.split() if isinstance(raw_scope, str) else [s for s in raw_scope if isinstance(s, str)]
    exp = claims.get("exp")
    return Principal(
        subject=subject,
        client_id=client_id if isinstance(client_id, str) else None,
        scopes=frozenset(scopes),
        issuer=claims.get("iss") if isinstance(claims.get("iss"), str) else issuer,
        expires_at=float(exp) if isinstance(exp, int | float) else None,
        claims=dict(claims),
    )
