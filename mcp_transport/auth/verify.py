"""Access token validation for a protected MCP server (2026-07-28
basic/authorization#token-handling: OAuth 2.1 §5.2, audience per RFC 8707 §2).

:class:`TokenVerifier` is the protocol; :class:`JWTVerifier` checks RFC 9068 JWT access tokens
against the issuer's JWKS, and :class:`~.introspection.IntrospectionVerifier` asks the
authorization server (RFC 7662). JOSE is PyJWT's; nothing here parses a signature itself.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Protocol

import anyio
import httpx
import jwt

from ..principal import Principal, principal_from_claims
from .discovery import as_metadata_urls, check_as_metadata
from .errors import OAuthError

__all__ = [
    "DEFAULT_ALGORITHMS",
    "DEFAULT_LEEWAY",
    "InvalidToken",
    "JWKSCache",
    "JWTVerifier",
    "OwnHTTP",
    "TokenVerifier",
    "VerifierUnavailable",
    "close_verifier",
    "discover_metadata",
]

# Asymmetric algorithms only: an "HS256" token would be checked with a public key as the secret.
DEFAULT_ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
DEFAULT_LEEWAY = 30.0  # seconds of clock skew tolerated on exp / nbf / iat
# RFC 9068 §4: the resource server MUST check that typ is "at+jwt" (or the full media type).
AT_JWT_TYPES = ("at+jwt", "application/at+jwt")
JWKS_MAX_AGE = 3600.0  # a key set is re-fetched at least this often
JWKS_MIN_REFETCH = 30.0  # an unknown kid re-fetches at most this often (no fetch storms)
HTTP_TIMEOUT = 10.0


class InvalidToken(Exception):
    """The token is not valid for this server: answered 401 ``invalid_token``. The message
    says why (it goes to the client, never the token itself)."""


class VerifierUnavailable(Exception):
    """The token cannot be checked now (the issuer's metadata, keys or introspection endpoint
    did not answer): answered 503, not 401, so clients retry instead of re-authorizing."""


class TokenVerifier(Protocol):
    """Checks an access token for this resource: the principal, or :class:`InvalidToken`
    (:class:`VerifierUnavailable` when it cannot tell now)."""

    async def verify(self, token: str) -> Principal: ...


async def close_verifier(verifier: TokenVerifier) -> None:
    """Release what ``verifier`` holds when it has an ``aclose()`` (the verifiers here do; a
    custom one needs none)."""
    aclose = getattr(verifier, "aclose", None)
    if aclose is not None:
        await aclose()


class OwnHTTP:
    """A verifier's HTTP client: the caller's (never closed here), or one made on first use and
    closed by ``aclose()``; a use after that makes a new one (an app may be started again)."""

    def __init__(self, given: httpx.AsyncClient | None) -> None:
        self._given = given
        self._made: httpx.AsyncClient | None = None

    def get(self) -> httpx.AsyncClient:
        if self._given is not None:
            return self._given
        if self._made is None:
            self._made = httpx.AsyncClient(timeout=HTTP_TIMEOUT)
        return self._made

    async def aclose(self) -> None:
        made, self._made = self._made, None
        if made is not None:
            await made.aclose()


async def discover_metadata(http: httpx.AsyncClient, issuer: str) -> dict[str, Any]:
    """The issuer's RFC 8414 / OpenID Connect metadata, tried in the spec's order
    (2026-07-28 basic/authorization/authorization-server-discovery), ``issuer`` checked."""
    problems: list[str] = []
    for url in as_metadata_urls(issuer):
        try:
            response = await http.get(url, headers={"accept": "application/json"})
            if response.status_code == 200:
                return check_as_metadata(response.json(), issuer)
            problems.append(f"{url}: HTTP {response.status_code}")
        except (httpx.HTTPError, ValueError, OAuthError) as exc:
            problems.append(f"{url}: {exc}")
    raise VerifierUnavailable(f"cannot discover the metadata of issuer {issuer}: {'; '.join(problems)}")


class JWKSCache:
    """The issuer's signing keys by ``kid``. Fetched on first use, re-fetched when older than
    ``max_age`` or when a token names an unknown ``kid`` (key rotation), but never more often
    than every ``min_refetch`` seconds: forged kids cannot make us hammer the issuer."""

    def __init__(
        self,
        http: httpx.AsyncClient | OwnHTTP,
        uri: str,
        *,
        max_age: float = JWKS_MAX_AGE,
        min_refetch: float = JWKS_MIN_REFETCH,
    ) -> None:
        self.http_client = http if isinstance(http, OwnHTTP) else OwnHTTP(http)
        self.uri = uri
        self.max_age = max_age
        self.min_refetch = min_refetch
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._fetched = float("-inf")
        self._lock = anyio.Lock()

    async def key(self, kid: str | None) -> jwt.PyJWK:
        now = time.monotonic()
        if kid not in self._keys or now - self._fetched > self.max_age:
            async with self._lock:  # concurrent misses share one fetch
                if time.monotonic() - self._fetched >= self.min_refetch:
                    await self._fetch()
        found = self._keys.get(kid)
        if found is None:
            raise InvalidToken(f"the token is signed with key {kid!r}, which the issuer does not publish")
        return found

    async def _fetch(self) -> None:
        self._fetched = time.monotonic()  # a failed fetch also counts: back off the same way
        try:
            response = await self.http_client.get().get(self.uri, headers={"accept": "application/json"})
            response.raise_for_status()
            keys = jwt.PyJWKSet.from_dict(response.json()).keys
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
            if not self._keys:
                raise VerifierUnavailable(f"cannot fetch the issuer's keys from {self.uri}: {exc}") from None
            return  # keep the keys we have until the issuer answers again
        self._keys = {k.key_id: k for k in keys if k.public_key_use in (None, "sig")}
        if len(self._keys) == 1 and None not in self._keys:
            self._keys[None] = next(iter(self._keys.values()))  # a token without kid, one key


class JWTVerifier:
    """RFC 9068 JWT access tokens signed by ``issuer``, for ``audience`` (this server's
    canonical URI). ``jwks_uri`` defaults to the one in the issuer's metadata.

    Checked: the signature with an allow-listed algorithm and the key named by ``kid``;
    ``typ`` (``token_types``; None skips it, for identity providers that mint plain "JWT"
    access tokens); ``iss``; ``aud`` contains ``audience``; ``exp`` (required), ``nbf`` and
    ``iat`` with ``leeway`` seconds of skew.
    """

    def __init__(
        self,
        issuer: str,
        audience: str,
        *,
        jwks_uri: str | None = None,
        algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
        leeway: float = DEFAULT_LEEWAY,
        token_types: Sequence[str] | None = AT_JWT_TYPES,
        http: httpx.AsyncClient | None = None,
        min_refetch: float = JWKS_MIN_REFETCH,
    ) -> None:
        if any(alg.upper().startswith("HS") or alg.lower() == "none" for alg in algorithms):
            raise ValueError("JWTVerifier accepts asymmetric algorithms only (no HS*, no none)")
        self.issuer = issuer
        self.audience = audience
        self.jwks_uri = jwks_uri
        self.algorithms = list(algorithms)
        self.leeway = leeway
        self.token_types = tuple(t.lower() for t in token_types) if token_types is not None else None
        self.http_client = OwnHTTP(http)
        self.min_refetch = min_refetch
        self._jwks: JWKSCache | None = None

    async def aclose(self) -> None:
        """Close the HTTP client of the metadata and JWKS fetches, if it was made here."""
        await self.http_client.aclose()

    async def _keys(self) -> JWKSCache:
        if self._jwks is None:
            uri = self.jwks_uri
            if uri is None:
                uri = (await discover_metadata(self.http_client.get(), self.issuer)).get("jwks_uri")
                if not isinstance(uri, str):
                    raise VerifierUnavailable(f"issuer {self.issuer} publishes no jwks_uri in its metadata")
            self._jwks = JWKSCache(self.http_client, uri, min_refetch=self.min_refetch)
        return self._jwks

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("the access token is not a JWT") from None
        if header.get("alg") not in self.algorithms:
            raise InvalidToken(f"the token's algorithm {header.get('alg')!r} is not accepted here")
        typ = str(header.get("typ", "")).lower()
        if self.token_types is not None and typ not in self.token_types:
            raise InvalidToken(
                f"the token's typ {header.get('typ')!r} is not an access token (RFC 9068: at+jwt)"
            )
        key = await (await self._keys()).key(header.get("kid"))
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the access token has expired") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken(f"the access token was not issued for this server ({self.audience})") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"the access token is invalid: {exc}") from None
        principal = principal_from_claims(claims, self.issuer)
        if principal is None:
            raise InvalidToken("the access token names no subject (sub) and no client (client_id)")
        return principal
