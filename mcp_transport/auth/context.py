"""What one authorization run knows once discovery is done, and the token request every grant
ends with (RFC 6749 §3.2, with DPoP's nonce retry, RFC 9449 §8)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from .client_auth import apply_client_auth, choose_method, describe
from .dpop import DPoPKey
from .errors import OAuthError
from .models import ClientInfo, Tokens

__all__ = ["AuthContext", "post_form", "token_request"]


@dataclass(slots=True)
class AuthContext:
    http: httpx.AsyncClient
    server_url: str
    resource: str  # the RFC 8707 ``resource`` sent on every authorization and token request
    issuer: str
    metadata: dict[str, Any]  # the authorization server's validated metadata
    protected_resource: dict[str, Any] | None = None  # None: a 2025-03-26 server without one
    synthesized: bool = False  # no metadata document: the 2025-03-26 default endpoints
    scopes: list[str] | None = None
    dpop: DPoPKey | None = None
    client: ClientInfo | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def endpoint(self, name: str) -> str:
        value = self.metadata.get(name)
        if not isinstance(value, str) or not value:
            raise OAuthError(f"the authorization server {self.issuer} advertises no {name}")
        return value


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:200]


async def post_form(
    ctx: AuthContext, url: str, form: dict[str, str], client: ClientInfo | None, *, what: str
) -> dict[str, Any]:
    """POST a token-endpoint style form; client authentication and a DPoP proof are rebuilt per
    attempt, and one ``use_dpop_nonce`` answer is retried with the nonce it carries."""
    for attempt in (1, 2):
        body, headers = dict(form), {"Accept": "application/json"}
        if client is not None:
            method = choose_method(client, ctx.metadata.get("token_endpoint_auth_methods_supported"))
            apply_client_auth(client, method, body, headers, audience=ctx.issuer)
        if ctx.dpop is not None:
            headers["DPoP"] = ctx.dpop.proof("POST", url)
        try:
            response = await ctx.http.post(url, data=body, headers=headers)
        except httpx.HTTPError as exc:
            raise OAuthError(f"{what} to {url} failed: {type(exc).__name__}: {exc}") from exc
        answer = _json(response)
        if ctx.dpop is not None:
            ctx.dpop.remember_nonce(url, response.headers.get("DPoP-Nonce"))
            nonce_asked = isinstance(answer, dict) and answer.get("error") == "use_dpop_nonce"
            if attempt == 1 and nonce_asked and response.headers.get("DPoP-Nonce"):
                continue
        if response.status_code != 200 or not isinstance(answer, dict):
            error = answer.get("error") if isinstance(answer, dict) else None
            raise OAuthError(f"{what} to {url} failed: HTTP {response.status_code} {describe(answer)}", error)
        return answer
    raise AssertionError("unreachable")  # pragma: no cover


async def token_request(
    ctx: AuthContext, form: dict[str, str], client: ClientInfo | None, *, what: str = "token request"
) -> Tokens:
    url = ctx.endpoint("token_endpoint")
    answer = await post_form(ctx, url, {**form, "resource": ctx.resource}, client, what=what)
    tokens = Tokens.from_response(answer, issuer=ctx.issuer, token_endpoint=url, resource=ctx.resource)
    if tokens.scope is None and ctx.scopes:
        tokens.scope = " ".join(ctx.scopes)  # RFC 6749 §5.1: absent scope means as requested
    return tokens
