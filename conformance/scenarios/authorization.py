"""A protected server as an OAuth resource server (2025-11-25 and 2026-07-28 basic/authorization):
the 401 challenge and its metadata document, invalid and wrong-audience tokens refused, 403
``insufficient_scope`` for a tool the token lacks a scope for. Probed without a token first; a
server that answers is not protected and every check is skipped. The token checks need
``--bearer`` (a valid token), ``--bearer-other-audience`` and ``--scoped-tool``."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..context import Context, body
from ..http import ACCEPT_BOTH, LEGACY_VERSION, Reply, next_id, send
from ..model import Level, Rule, Scenario, Unsupported

__all__ = ["SCENARIO"]

LOCATION = "basic/authorization §Authorization Server Location"
TOKENS = "basic/authorization §Token Handling"

CHALLENGE = Rule(
    "auth-401-resource-metadata",
    Level.MUST,
    "2025-11-25",
    LOCATION,
    "A 401 MUST carry WWW-Authenticate (Bearer) naming the protected resource metadata URL "
    "(resource_metadata, RFC 9728 §5.1).",
)
CHALLENGE_SCOPE = Rule(
    "auth-401-scope",
    Level.SHOULD,
    "2026-07-28",
    "basic/authorization §Scope Selection Strategy",
    "The 401 challenge SHOULD include the scope parameter (RFC 6750 §3).",
)
ERROR_BODY = Rule(
    "auth-error-jsonrpc-body",
    Level.MAY,
    "2025-11-25",
    "basic/transports §Sending Messages to the Server",
    "A 401/403 MAY carry a JSON-RPC error (no id needed) so an MCP client sees why it was refused.",
)
METADATA = Rule(
    "auth-metadata-document",
    Level.MUST,
    "2025-11-25",
    LOCATION,
    "The protected resource metadata document is a JSON object whose resource names this server "
    "(RFC 9728 §3.3) and whose authorization_servers lists at least one authorization server.",
)
WELL_KNOWN = Rule(
    "auth-metadata-well-known",
    Level.SHOULD,
    "2026-07-28",
    "basic/authorization/authorization-server-discovery §Protected Resource Metadata Discovery Requirements",
    "The metadata is also served at the well-known URI (path-inserted for the endpoint's path, or "
    "the root form) for clients that find no resource_metadata in the challenge.",
)
INVALID_TOKEN = Rule(
    "auth-invalid-token-401",
    Level.MUST,
    "2025-11-25",
    TOKENS,
    "Invalid or expired tokens MUST receive HTTP 401.",
)
WRONG_AUDIENCE = Rule(
    "auth-wrong-audience-401",
    Level.MUST,
    "2025-11-25",
    TOKENS,
    "Servers MUST validate that tokens were issued for them (audience, RFC 8707 §2): a token for "
    "another resource gets 401.",
)
INSUFFICIENT_SCOPE = Rule(
    "auth-insufficient-scope-403",
    Level.SHOULD,
    "2026-07-28",
    "basic/authorization §Runtime Insufficient Scope Errors",
    'A token without a scope the operation needs SHOULD get 403 with error="insufficient_scope" '
    "and the scope parameter naming the scopes needed (step-up).",
)
RULES = (
    CHALLENGE,
    CHALLENGE_SCOPE,
    ERROR_BODY,
    METADATA,
    WELL_KNOWN,
    INVALID_TOKEN,
    WRONG_AUDIENCE,
    INSUFFICIENT_SCOPE,
)


# auth-param = token "=" ( token / quoted-string ), RFC 9110 §11.2; the suite reads it itself
# rather than trusting the implementation under test.
_PARAM = re.compile(r'([A-Za-z0-9_\-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))')


def _challenge(reply: Reply) -> dict[str, str] | None:
    """The parameters of the Bearer challenge, or None without one."""
    for value in reply.headers.get_list("www-authenticate"):
        scheme, _, rest = value.strip().partition(" ")
        if scheme.lower() == "bearer":
            return {
                m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
                for m in _PARAM.finditer(rest)
            }
    return None


def _covers(resource: Any, url: str) -> bool:
    if not isinstance(resource, str):
        return False
    res, srv = urlsplit(resource), urlsplit(url)
    same_origin = (res.scheme.lower(), res.netloc.lower()) == (srv.scheme.lower(), srv.netloc.lower())
    path, mine = res.path.rstrip("/"), srv.path.rstrip("/")
    return same_origin and (mine == path or mine.startswith(path + "/"))


async def _initialize(ctx: Context, http: httpx.AsyncClient, token: str | None) -> Reply:
    rid = next_id()
    params = {
        "protocolVersion": LEGACY_VERSION,
        "capabilities": {},
        "clientInfo": {"name": "mcp-transport-conformance", "version": "0.1"},
    }
    headers = {"Accept": ACCEPT_BOTH, "Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return await send(
        http,
        "POST",
        ctx.url,
        headers=headers,
        body=body("initialize", params, rid),
        timeout=ctx.options.timeout,
    )


async def run(ctx: Context) -> None:
    async with httpx.AsyncClient(timeout=ctx.options.timeout) as bare:  # no default Authorization
        reply = await _initialize(ctx, bare, None)
        if reply.status != 401:
            raise Unsupported(f"the server answered HTTP {reply.status} without a token: it is not protected")
        params = _challenge(reply) or {}
        url = params.get("resource_metadata")
        ctx.check(
            CHALLENGE,
            url is not None,
            sent=reply.sent,
            got=reply.summary(),
            expected="Bearer resource_metadata",
        )
        ctx.check(CHALLENGE_SCOPE, "scope" in params, sent=reply.sent, got=str(params), expected="scope=...")
        error = reply.response()
        ctx.check(ERROR_BODY, bool(error and "error" in error), sent=reply.sent, got=reply.summary())
        await _metadata(ctx, bare, url)
        invalid = await _initialize(ctx, bare, "not-a-valid-token")
        ctx.check(
            INVALID_TOKEN,
            invalid.status == 401,
            sent=invalid.sent,
            got=invalid.summary(),
            expected="HTTP 401",
        )
        if ctx.options.bearer_other_audience is None:
            ctx.skip(WRONG_AUDIENCE, "no --bearer-other-audience token given")
        else:
            other = await _initialize(ctx, bare, ctx.options.bearer_other_audience)
            ctx.check(
                WRONG_AUDIENCE, other.status == 401, sent=other.sent, got=other.summary(), expected="HTTP 401"
            )
    await _insufficient_scope(ctx)


async def _metadata(ctx: Context, http: httpx.AsyncClient, url: str | None) -> None:
    parts = urlsplit(ctx.url)
    path = parts.path.rstrip("/")
    well_known = [
        f"{ctx.origin}/.well-known/oauth-protected-resource{path}",
        f"{ctx.origin}/.well-known/oauth-protected-resource",
    ]
    served = []
    for candidate in well_known:
        response = await http.get(candidate)
        if response.status_code == 200:
            served.append(candidate)
    ctx.check(WELL_KNOWN, bool(served), sent=f"GET {well_known}", expected="HTTP 200 at one of them")
    target = url or (served[0] if served else None)
    if target is None:
        ctx.skip(METADATA, "no metadata URL in the challenge and none at the well-known URIs")
        return
    response = await http.get(target)
    try:
        document = response.json()
    except ValueError:
        document = None
    servers = document.get("authorization_servers") if isinstance(document, dict) else None
    ok = (
        isinstance(document, dict)
        and _covers(document.get("resource"), ctx.url)
        and isinstance(servers, list)
        and bool(servers)
    )
    ctx.check(METADATA, ok, sent=f"GET {target}", got=f"HTTP {response.status_code} {response.text[:300]}")


async def _insufficient_scope(ctx: Context) -> None:
    tool = ctx.options.scoped_tool
    if ctx.options.bearer is None or tool is None:
        ctx.skip(INSUFFICIENT_SCOPE, "needs --bearer and --scoped-tool (a tool that token lacks a scope for)")
        return
    session = await ctx.open_session()  # the run's client sends --bearer on every request
    reply, _ = await ctx.call(session, "tools/call", {"name": tool, "arguments": {}})
    params = _challenge(reply) or {}
    ok = reply.status == 403 and params.get("error") == "insufficient_scope" and bool(params.get("scope"))
    ctx.check(
        INSUFFICIENT_SCOPE,
        ok,
        sent=reply.sent,
        got=f"{reply.summary()} WWW-Authenticate {params}",
        expected='HTTP 403, error="insufficient_scope", scope=...',
    )


SCENARIO = Scenario(
    "authorization",
    "any",
    "http",
    "401 challenge and metadata, invalid/wrong-audience tokens refused, 403 insufficient_scope",
    RULES,
    run,
)
