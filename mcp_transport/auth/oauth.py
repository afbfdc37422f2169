"""``OAuth``: an ``httpx.Auth`` that makes an MCP client authorize itself when a server asks.

On a 401 it discovers the protected resource and its authorization server, obtains a token
(authorization code + PKCE by default, or one of the non-interactive grants), and retries the
request; on a 403 ``insufficient_scope`` it re-authorizes for the union of the scopes held and
the scopes challenged (step-up). At most ``max_authorizations`` runs per request, after which the
401/403 reaches the caller. 2026-07-28 basic/authorization (Authorization Flow Steps; Error
Handling, Step-Up Authorization Flow).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Generator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx

from .challenge import Challenge, parse_www_authenticate
from .context import AuthContext, token_request
from .discover import fetch_as_metadata, fetch_protected_resource, legacy_metadata, require
from .discovery import canonical_resource
from .dpop import ALGORITHM, DPoPKey
from .errors import OAuthError
from .grants import AuthorizationCodeGrant, Grant, OnAuthorize
from .models import ClientInfo, Tokens
from .registration import Registrar
from .scopes import select_scopes
from .storage import InMemoryTokenStorage, TokenStorage

__all__ = ["OAuth"]

log = logging.getLogger("mcp_transport.auth")

DEFAULT_REDIRECT_URI = "http://127.0.0.1:33418/callback"
MAX_AUTHORIZATIONS = 3  # per request: the first authorization plus two step-ups


def _challenge(response: httpx.Response) -> Challenge:
    """The Bearer or DPoP challenge of a response (merged when both are present)."""
    params: dict[str, str] = {}
    for challenge in parse_www_authenticate(response.headers.get_list("www-authenticate")):
        if challenge.scheme in ("bearer", "dpop"):
            params = {**challenge.params, **params}
    return Challenge("bearer", params)


def _asks_nonce(response: httpx.Response, challenge: Challenge) -> bool:
    return (
        response.status_code == 401
        and challenge.params.get("error") == "use_dpop_nonce"
        and bool(response.headers.get("DPoP-Nonce"))
    )


class OAuth(httpx.Auth):
    """Authorization for ``Client(url, auth=OAuth(...))``.

    * ``on_authorize(url)``: shows the user the authorization URL and returns the URL the
      authorization server redirected back to (``loopback.LoopbackRedirect`` does both for a
      command-line program). Needed by the default authorization code grant.
    * ``client``: pre-registered credentials (secret or private key); tried first.
    * ``client_metadata_url``: an HTTPS URL hosting this client's metadata document, used as the
      client ID where the authorization server supports it; otherwise dynamic registration.
    * ``grant``: a non-interactive grant (``ClientCredentialsGrant``, ``JwtBearerGrant``,
      ``EnterpriseGrant``) instead of the authorization code flow.
    * ``storage``: where tokens and registrations live (default: in memory).
    * ``dpop``: True/False, or None to use DPoP when the authorization server supports ES256.
    * ``offline_access``: ask for a refresh token with ``offline_access`` when the
      authorization server lists it.
    """

    requires_request_body = True  # a retried request is sent again, body and all

    def __init__(
        self,
        *,
        on_authorize: OnAuthorize | None = None,
        redirect_uri: str = DEFAULT_REDIRECT_URI,
        client: ClientInfo | None = None,
        client_metadata_url: str | None = None,
        client_name: str = "mcp-transport",
        application_type: str = "native",
        grant: Grant | None = None,
        storage: TokenStorage | None = None,
        dpop: bool | None = None,
        offline_access: bool = True,
        http_client: httpx.AsyncClient | None = None,
        max_authorizations: int = MAX_AUTHORIZATIONS,
        timeout: float = 30.0,
    ) -> None:
        if grant is None:
            if on_authorize is None:
                raise ValueError(
                    "OAuth needs on_authorize (the user's redirect step) or a non-interactive grant"
                )
            grant = AuthorizationCodeGrant(on_authorize, redirect_uri)
        self.grant = grant
        self.storage = storage if storage is not None else InMemoryTokenStorage()
        self.registrar = Registrar(
            self.storage, client, client_metadata_url, client_name, application_type, redirect_uri
        )
        self.dpop = dpop
        self.offline_access = offline_access
        self.max_authorizations = max_authorizations
        self._http = http_client
        self._timeout = timeout
        self._key: DPoPKey | None = None
        self._lock = anyio.Lock()

    # -- httpx.Auth ---------------------------------------------------------------------------

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("OAuth is asynchronous: use it with httpx.AsyncClient (as Client does)")

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        resource = canonical_resource(str(request.url))
        tokens = await self._usable_tokens(resource)
        self._sign(request, tokens)
        response = yield request
        authorizations, nonce_retried = 0, False
        while True:
            self._note_nonce(request, response)
            challenge = _challenge(response)
            if not nonce_retried and tokens is not None and _asks_nonce(response, challenge):
                nonce_retried = True  # RFC 9449 §9: once, with the nonce just given
                self._sign(request, tokens)
                response = yield request
                continue
            step_up = response.status_code == 403 and challenge.params.get("error") == "insufficient_scope"
            if (response.status_code != 401 and not step_up) or authorizations >= self.max_authorizations:
                return
            authorizations += 1
            tokens = await self._authorize(request, challenge, tokens, step_up=step_up)
            self._sign(request, tokens)
            response = yield request

    # -- presenting the token -----------------------------------------------------------------

    def _sign(self, request: httpx.Request, tokens: Tokens | None) -> None:
        request.headers.pop("DPoP", None)
        if tokens is None:
            return
        if tokens.token_type == "DPoP" and self._key is not None:
            request.headers["Authorization"] = f"DPoP {tokens.access_token}"
            request.headers["DPoP"] = self._key.proof(request.method, str(request.url), tokens.access_token)
        else:
            request.headers["Authorization"] = f"Bearer {tokens.access_token}"

    def _note_nonce(self, request: httpx.Request, response: httpx.Response) -> None:
        if self._key is not None:
            self._key.remember_nonce(str(request.url), response.headers.get("DPoP-Nonce"))

    # -- obtaining tokens ---------------------------------------------------------------------

    @asynccontextmanager
    async def _http_client(self) -> AsyncGenerator[httpx.AsyncClient, None]:
        if self._http is not None:
            yield self._http
            return
        # Redirects are not followed: the authorization server's answers are read as given.
        async with httpx.AsyncClient(timeout=self._timeout, follow_redirects=False) as http:
            yield http

    async def _usable_tokens(self, resource: str) -> Tokens | None:
        """The stored tokens, refreshed first when expired (no discovery needed: the token
        endpoint is recorded with them). A failed refresh leaves the 401 to start over."""
        tokens = await self.storage.get_tokens(resource)
        if tokens is None or not tokens.expired:
            return tokens
        if not (tokens.refresh_token and tokens.issuer and tokens.token_endpoint):
            return None
        async with self._lock, self._http_client() as http:
            metadata = {"issuer": tokens.issuer, "token_endpoint": tokens.token_endpoint}
            dpop = self._key if tokens.token_type == "DPoP" else None  # a bound token refreshes with its key
            ctx = AuthContext(http, resource, resource, tokens.issuer, metadata, dpop=dpop)
            return await self._refresh(ctx, tokens)

    async def _refresh(self, ctx: AuthContext, tokens: Tokens) -> Tokens | None:
        assert tokens.refresh_token is not None
        client = await self.storage.get_client(ctx.issuer) or self.registrar.preregistered
        if client is not None and client.issuer not in (None, ctx.issuer):
            client = None
        form = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}
        try:
            fresh = await token_request(ctx, form, client, what="refresh")
        except OAuthError as exc:
            log.info("refresh at %s failed (%s): authorizing again", ctx.issuer, exc)
            await self.storage.set_tokens(ctx.resource, None)
            return None
        fresh.refresh_token = fresh.refresh_token or tokens.refresh_token  # RFC 6749 §6: may be kept
        fresh.scope = fresh.scope or tokens.scope
        await self.storage.set_tokens(ctx.resource, fresh)
        return fresh

    def _dpop_for(self, metadata: dict[str, Any]) -> DPoPKey | None:
        """The DPoP key when DPoP is on: forced, or (auto) when the server signs ES256 proofs."""
        algs = metadata.get("dpop_signing_alg_values_supported")
        if self.dpop is False or (self.dpop is None and not (isinstance(algs, list) and ALGORITHM in algs)):
            return None
        if self._key is None:
            self._key = DPoPKey()
        return self._key

    async def _discover(self, http: httpx.AsyncClient, server_url: str, challenge: Challenge) -> AuthContext:
        prm = await fetch_protected_resource(http, server_url, challenge.params.get("resource_metadata"))
        if prm is None:  # a 2025-03-26 server: the authorization server lives at its origin
            issuer, defaults = legacy_metadata(server_url)
            metadata = await fetch_as_metadata(http, issuer)
            resource = canonical_resource(server_url)
            return AuthContext(
                http, server_url, resource, issuer, metadata or defaults, None, metadata is None
            )
        issuer = prm["authorization_servers"][0]
        metadata = require(await fetch_as_metadata(http, issuer), issuer)
        return AuthContext(http, server_url, prm["resource"], issuer, metadata, prm)

    async def _authorize(
        self, request: httpx.Request, challenge: Challenge, used: Tokens | None, *, step_up: bool
    ) -> Tokens:
        resource_key = canonical_resource(str(request.url))
        async with self._lock:
            current = await self.storage.get_tokens(resource_key)
            if (
                not step_up
                and current is not None
                and not current.expired
                and (used is None or current.access_token != used.access_token)
            ):
                return current  # another request re-authorized while this one waited
            async with self._http_client() as http:
                ctx = await self._discover(http, str(request.url), challenge)
                ctx.dpop = self._dpop_for(ctx.metadata)
                if (
                    not step_up
                    and current is not None
                    and current.refresh_token
                    and current.issuer == ctx.issuer
                ):
                    refreshed = await self._refresh(ctx, current)
                    if refreshed is not None:
                        return refreshed
                tokens = await self._obtain(ctx, challenge, current)
        await self.storage.set_tokens(resource_key, tokens)
        return tokens

    async def _obtain(self, ctx: AuthContext, challenge: Challenge, current: Tokens | None) -> Tokens:
        prm_scopes = (ctx.protected_resource or {}).get("scopes_supported")
        ctx.scopes = select_scopes(
            challenge.scopes,
            prm_scopes if isinstance(prm_scopes, list) else None,
            previous=(current.scope or "").split() if current is not None else (),
            as_scopes_supported=ctx.metadata.get("scopes_supported"),
            want_refresh=self.offline_access and self.grant.interactive,
        )
        ctx.client = await self.registrar.client_for(ctx, dynamic=self.grant.interactive)
        return await self.grant.obtain(ctx)
