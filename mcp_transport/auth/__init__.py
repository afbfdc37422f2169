"""OAuth 2.1 authorization for MCP (2026-07-28 basic/authorization), both halves.

Client: ``Client(url, auth=OAuth(...))``. Server: ``MCPServer(..., auth=ResourceServer(...))``
with a :class:`TokenVerifier` (``JWTVerifier``, ``IntrospectionVerifier``). See
docs/guides/auth.md. JWT work (DPoP proofs, ``private_key_jwt``, JWT access tokens) needs the
``auth`` extra: ``pip install 'mcp-transport[auth]'``; the server names load it on first use.
"""

from typing import TYPE_CHECKING, Any

from ..principal import Principal
from .errors import OAuthError
from .grants import AuthorizationCodeGrant, ClientCredentialsGrant, EnterpriseGrant, Grant, JwtBearerGrant
from .loopback import LoopbackRedirect
from .models import ClientInfo, Tokens
from .oauth import OAuth
from .storage import FileTokenStorage, InMemoryTokenStorage, TokenStorage

if TYPE_CHECKING:
    from .introspection import IntrospectionVerifier
    from .resource import ResourceServer
    from .verify import InvalidToken, JWTVerifier, TokenVerifier

# The resource-server names import PyJWT: loaded when first used, so a client without the
# extra can still import this package.
_LAZY = {
    "IntrospectionVerifier": "introspection",
    "InvalidToken": "verify",
    "JWTVerifier": "verify",
    "ResourceServer": "resource",
    "TokenVerifier": "verify",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "AuthorizationCodeGrant",
    "ClientCredentialsGrant",
    "ClientInfo",
    "EnterpriseGrant",
    "FileTokenStorage",
    "Grant",
    "InMemoryTokenStorage",
    "IntrospectionVerifier",
    "InvalidToken",
    "JWTVerifier",
    "JwtBearerGrant",
    "LoopbackRedirect",
    "OAuth",
    "OAuthError",
    "Principal",
    "ResourceServer",
    "TokenStorage",
    "TokenVerifier",
    "Tokens",
]
