"""RFC 7662 token introspection: opaque (or any) access tokens checked by asking the
authorization server, with a bounded cache keyed by the token's hash."""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict

import httpx

from ..principal import Principal, principal_from_claims
from .verify import InvalidToken, OwnHTTP, VerifierUnavailable, discover_metadata

__all__ = ["DEFAULT_CACHE_SIZE", "DEFAULT_CACHE_TTL", "IntrospectionVerifier"]

DEFAULT_CACHE_SIZE = 1024  # tokens remembered (least recently used goes first)
DEFAULT_CACHE_TTL = 60.0  # seconds an answer is reused, never past the token's own exp


class IntrospectionVerifier:
    """Asks ``endpoint`` (default: ``introspection_endpoint`` in the issuer's metadata) about
    each token, authenticated as ``client_id``/``client_secret`` (client_secret_basic).

    Accepted: ``active: true``, ``iss`` (when given) equal to ``issuer``, ``aud`` containing
    ``audience`` (required: RFC 8707 §2, the token must be meant for this server), a subject
    or client. An active answer is cached by the token's SHA-256 for ``cache_ttl`` seconds or
    until the token's ``exp``, whichever is first; inactive answers are not cached.
    """

    def __init__(
        self,
        issuer: str,
        audience: str,
        *,
        endpoint: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        cache_size: int = DEFAULT_CACHE_SIZE,
        cache_ttl: float = DEFAULT_CACHE_TTL,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.endpoint = endpoint
        self.auth = httpx.BasicAuth(client_id, client_secret or "") if client_id else None
        self.cache_size = cache_size
        self.cache_ttl = cache_ttl
        self.http_client = OwnHTTP(http)
        self._cache: OrderedDict[bytes, tuple[float, Principal]] = OrderedDict()

    async def aclose(self) -> None:
        """Close the HTTP client of the introspection calls, if it was made here."""
        await self.http_client.aclose()

    async def verify(self, token: str) -> Principal:
        token_hash = hashlib.sha256(token.encode()).digest()
        cached = self._cache.get(token_hash)
        if cached is not None and cached[0] > time.time():
            self._cache.move_to_end(token_hash)
            return cached[1]
        self._cache.pop(token_hash, None)
        principal = await self._introspect(token)
        until = time.time() + self.cache_ttl
        if principal.expires_at is not None:
            until = min(until, principal.expires_at)
        self._cache[token_hash] = (until, principal)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return principal

    async def _endpoint(self) -> str:
        if self.endpoint is None:
            metadata = await discover_metadata(self.http_client.get(), self.issuer)
            found = metadata.get("introspection_endpoint")
            if not isinstance(found, str):
                raise VerifierUnavailable(f"issuer {self.issuer} publishes no introspection_endpoint")
            self.endpoint = found
        return self.endpoint

    async def _introspect(self, token: str) -> Principal:
        endpoint = await self._endpoint()
        try:
            response = await self.http_client.get().post(
                endpoint,
                data={"token": token, "token_type_hint": "access_token"},
                headers={"accept": "application/json"},
                auth=self.auth or httpx.USE_CLIENT_DEFAULT,
            )
            response.raise_for_status()
            claims = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise VerifierUnavailable(f"the introspection endpoint failed ({exc})") from None
        if not isinstance(claims, dict) or claims.get("active") is not True:
            raise InvalidToken("the access token is not active (revoked, expired or unknown)")
        if "iss" in claims and claims["iss"] != self.issuer:
            raise InvalidToken(f"the access token was issued by {claims['iss']!r}, not {self.issuer!r}")
        audiences = claims.get("aud")
        if isinstance(audiences, str):
            audiences = [audiences]
        if not isinstance(audiences, list) or self.audience not in audiences:
            raise InvalidToken(f"the access token was not issued for this server ({self.audience})")
        exp = claims.get("exp")
        if isinstance(exp, int | float) and exp < time.time():
            raise InvalidToken("the access token has expired")
        principal = principal_from_claims(claims, self.issuer)
        if principal is None:
            raise InvalidToken("the introspected token names no subject (sub) and no client (client_id)")
        return principal
