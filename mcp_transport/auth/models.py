"""The records the client keeps: tokens for a resource, and a client registration at an
authorization server. Both serialise to plain JSON for a token store."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Self

from .errors import OAuthError

__all__ = ["ClientInfo", "Tokens"]

# Refresh this many seconds before the stated expiry, so a token does not lapse in flight.
EXPIRY_MARGIN = 30.0


class _Record:
    """JSON round trip for the dataclasses below; unknown keys (a newer store) are ignored."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        record: dict[str, Any] = asdict(self)  # type: ignore[call-overload]  # subclasses are dataclasses
        return record

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]  # subclasses are dataclasses
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(slots=True)
class Tokens(_Record):
    access_token: str
    token_type: str = "Bearer"
    refresh_token: str | None = None
    expires_at: float | None = None
    scope: str | None = None
    # Where they came from: a refresh goes to the same token endpoint, and tokens from one
    # authorization server are never refreshed at another.
    issuer: str | None = None
    token_endpoint: str | None = None
    resource: str | None = None

    @classmethod
    def from_response(cls, body: Any, *, issuer: str, token_endpoint: str, resource: str) -> Tokens:
        """RFC 6749 §5.1 token response; ``token_type`` is compared case-insensitively."""
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise OAuthError("the token response carries no access_token")
        expires_in = body.get("expires_in")
        expires_at = time.time() + float(expires_in) if isinstance(expires_in, int | float) else None
        token_type = str(body.get("token_type") or "Bearer")
        return cls(
            access_token=body["access_token"],
            token_type="DPoP" if token_type.lower() == "dpop" else "Bearer",
            refresh_token=body.get("refresh_token") if isinstance(body.get("refresh_token"), str) else None,
            expires_at=expires_at,
            scope=body.get("scope") if isinstance(body.get("scope"), str) else None,
            issuer=issuer,
            token_endpoint=token_endpoint,
            resource=resource,
        )

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and time.time() >= self.expires_at - EXPIRY_MARGIN


@dataclass(slots=True)
class ClientInfo(_Record):
    """A client's identity at an authorization server.

    Pre-registered credentials (``client_secret`` or a PEM ``private_key`` for
    ``private_key_jwt``) may leave ``issuer`` unset: they are then bound to the first
    authorization server they are used with, and never offered to another (2026-07-28
    basic/authorization/client-registration#authorization-server-binding).
    """

    client_id: str
    client_secret: str | None = None
    private_key: str | None = None
    signing_alg: str = "ES256"
    token_endpoint_auth_method: str | None = None
    issuer: str | None = None
    redirect_uris: list[str] = field(default_factory=list)
