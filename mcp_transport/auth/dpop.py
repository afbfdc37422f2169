"""DPoP proofs (RFC 9449), the MCP profile of SEP-1932: one fresh proof per HTTP request, signed
with a key the client keeps for the life of the token, with the server's nonce when it asked
for one (§8 at the token endpoint, §9 at the resource).

The signing is PyJWT's (the ``auth`` extra); this module only chooses the claims.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .discovery import origin

__all__ = ["DPoPKey", "access_token_hash", "htu"]

ALGORITHM = "ES256"
# Nonces remembered per origin; a client talks to a handful (one resource, one or two
# authorization servers), so the bound is generous and the oldest is dropped beyond it.
MAX_NONCES = 64


def _jwt() -> Any:
    try:
        import jwt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("DPoP needs PyJWT with cryptography: pip install 'mcp-transport[auth]'") from exc
    return jwt


def htu(url: str) -> str:
    """The ``htu`` claim: the request URI without query and fragment (RFC 9449 §4.2)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def access_token_hash(token: str) -> str:
    """``ath``: base64url(SHA-256(ASCII access token)), RFC 9449 §4.2."""
    digest = hashlib.sha256(token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class DPoPKey:
    """An ES256 key pair and the nonces servers handed out, by origin."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec

        jwt = _jwt()
        self._private = ec.generate_private_key(ec.SECP256R1())
        public = jwt.algorithms.ECAlgorithm.to_jwk(self._private.public_key(), as_dict=True)
        self.public_jwk: dict[str, Any] = {k: public[k] for k in ("kty", "crv", "x", "y")}
        self._nonces: dict[str, str] = {}

    def remember_nonce(self, url: str, nonce: str | None) -> None:
        if not nonce:
            return
        self._nonces.pop(origin(url), None)
        self._nonces[origin(url)] = nonce
        while len(self._nonces) > MAX_NONCES:
            del self._nonces[next(iter(self._nonces))]

    def nonce_for(self, url: str) -> str | None:
        return self._nonces.get(origin(url))

    def proof(self, method: str, url: str, access_token: str | None = None) -> str:
        claims: dict[str, Any] = {
            "jti": secrets.token_urlsafe(16),
            "htm": method.upper(),
            "htu": htu(url),
            "iat": int(time.time()),
        }
        if access_token is not None:
            claims["ath"] = access_token_hash(access_token)
        nonce = self.nonce_for(url)
        if nonce is not None:
            claims["nonce"] = nonce
        headers = {"typ": "dpop+jwt", "jwk": self.public_jwk}
        token: str = _jwt().encode(claims, self._private, algorithm=ALGORITHM, headers=headers)
        return token
