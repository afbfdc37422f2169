"""OAuth 2.1 authorization for MCP clients (2026-07-28 basic/authorization).

``Client(url, auth=OAuth(...))``: see docs/guides/auth.md. JWT signing (DPoP proofs,
``private_key_jwt``) needs the ``auth`` extra: ``pip install 'mcp-transport[auth]'``.
"""

from .errors import OAuthError
from .grants import AuthorizationCodeGrant, ClientCredentialsGrant, EnterpriseGrant, Grant, JwtBearerGrant
from .loopback import LoopbackRedirect
from .models import ClientInfo, Tokens
from .oauth import OAuth
from .storage import FileTokenStorage, InMemoryTokenStorage, TokenStorage

__all__ = [
    "AuthorizationCodeGrant",
    "ClientCredentialsGrant",
    "ClientInfo",
    "EnterpriseGrant",
    "FileTokenStorage",
    "Grant",
    "InMemoryTokenStorage",
    "JwtBearerGrant",
    "LoopbackRedirect",
    "OAuth",
    "OAuthError",
    "TokenStorage",
    "Tokens",
]
