"""A small real OAuth 2.1 authorization server for the resource-server tests, run as its own
process: ``python -m tests.auth_rs.authorization_server --port P``.

RFC 8414 metadata, dynamic registration, the authorization code flow with PKCE S256 (auto
approved for user ``alice``: the redirect comes straight back), refresh tokens, RS256 JWT
access tokens (RFC 9068, signed with joserfc, Authlib's JOSE library) carrying the RFC 8707
``resource`` as ``aud``, a JWKS endpoint and RFC 7662 introspection (client_secret_basic as
``rs``/``rs-secret``). Test-only endpoints: ``POST /test/mint`` (a token with any claims,
signed by the first key, the newest one or a stray one), ``POST /test/rotate`` (publish a new
signing key), ``POST /test/revoke``, ``POST /test/lifetime`` (the lifetime of the access tokens
the token endpoint issues from now on, and whether ``expires_in`` says it; an empty body restores
the default) and ``GET /test/events?client_id=C`` (what that client did: ``authorize`` and the
grant types it used at the token endpoint, in order).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import secrets
import time
from typing import Any

import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

INTROSPECTION_CLIENT = ("rs", "rs-secret")
ACCESS_TTL = 300


class AuthorizationServer:
    def __init__(self, base: str) -> None:
        self.base = base
        self.keys = [RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"}, private=True)]
        # Made up front: /test/rotate must answer at once (tests time the JWKS refetch floor).
        self.next_key = RSAKey.generate_key(2048, parameters={"kid": "k2", "use": "sig"}, private=True)
        self.stray = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"}, private=True)
        self.codes: dict[str, dict[str, Any]] = {}
        self.refresh: dict[str, dict[str, Any]] = {}
        self.issued: dict[str, dict[str, Any]] = {}  # access token -> claims (introspection)
        self.revoked: set[str] = set()
        self.access_ttl, self.advertise_ttl = ACCESS_TTL, True
        self.events: list[tuple[str, str]] = []  # (client_id, what): /test/events

    def mint(self, claims: dict[str, Any], *, key: RSAKey | None = None, typ: str = "at+jwt") -> str:
        key = key or self.keys[0]
        header = {"alg": "RS256", "kid": key.kid, "typ": typ}
        token = jwt.encode(header, claims, key)
        self.issued[token] = claims
        return token

    def access_claims(
        self, sub: str, client_id: str, scope: str, resource: str | None, ttl: int = ACCESS_TTL
    ) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.base,
            "sub": sub,
            "client_id": client_id,
            "scope": scope,
            "iat": now,
            "exp": now + ttl,
            "jti": secrets.token_hex(8),
        }
        if resource:
            claims["aud"] = resource
        return claims

    def tokens(self, grant: dict[str, Any]) -> dict[str, Any]:
        claims = self.access_claims(
            grant["sub"], grant["client_id"], grant["scope"], grant["resource"], self.access_ttl
        )
        refresh = secrets.token_urlsafe(16)
        self.refresh[refresh] = grant
        body: dict[str, Any] = {"access_token": self.mint(claims), "token_type": "Bearer"}
        if self.advertise_ttl:  # RFC 6749 §5.1: expires_in is only RECOMMENDED
            body["expires_in"] = self.access_ttl
        body["refresh_token"] = refresh
        if grant["scope"]:
            body["scope"] = grant["scope"]
        return body

    # -- endpoints -------------------------------------------------------------------------

    async def metadata(self, request: Request) -> Response:
        b = self.base
        return JSONResponse(
            {
                "issuer": b,
                "authorization_endpoint": f"{b}/authorize",
                "token_endpoint": f"{b}/token",
                "registration_endpoint": f"{b}/register",
                "jwks_uri": f"{b}/jwks",
                "introspection_endpoint": f"{b}/introspect",
                "code_challenge_methods_supported": ["S256"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "token_endpoint_auth_methods_supported": ["none"],
                "scopes_supported": ["mcp", "admin", "offline_access"],
                "authorization_response_iss_parameter_supported": True,
            }
        )

    async def jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [k.as_dict(private=False) for k in self.keys]})

    async def register(self, request: Request) -> Response:
        body = await request.json()
        client_id = "client-" + secrets.token_hex(4)
        return JSONResponse(
            {**body, "client_id": client_id, "token_endpoint_auth_method": "none"}, status_code=201
        )

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return JSONResponse({"error": "invalid_request", "error_description": "PKCE S256 required"}, 400)
        code = secrets.token_urlsafe(16)
        self.events.append((q["client_id"], "authorize"))
        self.codes[code] = {
            "sub": "alice",
            "client_id": q["client_id"],
            "scope": q.get("scope", ""),
            "resource": q.get("resource"),
            "challenge": q["code_challenge"],
            "redirect_uri": q["redirect_uri"],
        }
        sep = "&" if "?" in q["redirect_uri"] else "?"
        return RedirectResponse(
            f"{q['redirect_uri']}{sep}code={code}&state={q.get('state', '')}&iss={self.base}", 302
        )

    async def token(self, request: Request) -> Response:
        form = await request.form()
        if form.get("grant_type") == "authorization_code":
            grant = self.codes.pop(str(form.get("code")), None)
            verifier = str(form.get("code_verifier", ""))
            digest = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            )
            if grant is None or digest != grant["challenge"]:
                return JSONResponse({"error": "invalid_grant"}, 400)
            self.events.append((grant["client_id"], "authorization_code"))
            return JSONResponse(self.tokens(grant))
        if form.get("grant_type") == "refresh_token":
            grant = self.refresh.pop(str(form.get("refresh_token")), None)
            if grant is None:
                return JSONResponse({"error": "invalid_grant"}, 400)
            self.events.append((grant["client_id"], "refresh_token"))
            return JSONResponse(self.tokens(grant))
        return JSONResponse({"error": "unsupported_grant_type"}, 400)

    async def introspect(self, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        expected = "Basic " + base64.b64encode(":".join(INTROSPECTION_CLIENT).encode()).decode()
        if auth != expected:
            return JSONResponse({"error": "invalid_client"}, 401)
        token = str((await request.form()).get("token", ""))
        claims = self.issued.get(token)
        if claims is None or token in self.revoked or claims.get("exp", 0) < time.time():
            return JSONResponse({"active": False})
        return JSONResponse({"active": True, "token_type": "Bearer", **claims})

    # -- test controls ---------------------------------------------------------------------

    async def test_mint(self, request: Request) -> Response:
        body = await request.json()
        claims = self.access_claims(
            body.get("sub", "alice"), "test-client", body.get("scope", "mcp"), body.get("aud")
        )
        claims.update(body.get("claims", {}))
        # The newest published key only when asked: tokens of other tests keep the first key, which
        # the protected server already holds (its JWKS refetch floor would delay the new one).
        key = (
            self.stray if body.get("stray_key") else self.keys[-1] if body.get("newest_key") else self.keys[0]
        )
        return JSONResponse({"access_token": self.mint(claims, key=key, typ=body.get("typ", "at+jwt"))})

    async def test_rotate(self, request: Request) -> Response:
        self.keys.append(self.next_key)
        kid = f"k{len(self.keys) + 1}"
        self.next_key = RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig"}, private=True)
        return JSONResponse({"kid": self.keys[-1].kid})

    async def test_revoke(self, request: Request) -> Response:
        self.revoked.add((await request.json())["token"])
        return JSONResponse({})

    async def test_lifetime(self, request: Request) -> Response:
        body = await request.json()
        self.access_ttl = int(body.get("seconds", ACCESS_TTL))
        self.advertise_ttl = bool(body.get("advertise", True))
        return JSONResponse({})

    async def test_events(self, request: Request) -> Response:
        client_id = request.query_params["client_id"]
        return JSONResponse([what for who, what in self.events if who == client_id])

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/oauth-authorization-server", self.metadata),
                Route("/jwks", self.jwks),
                Route("/register", self.register, methods=["POST"]),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/introspect", self.introspect, methods=["POST"]),
                Route("/test/mint", self.test_mint, methods=["POST"]),
                Route("/test/rotate", self.test_rotate, methods=["POST"]),
                Route("/test/revoke", self.test_revoke, methods=["POST"]),
                Route("/test/lifetime", self.test_lifetime, methods=["POST"]),
                Route("/test/events", self.test_events),
            ]
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    server = AuthorizationServer(f"http://127.0.0.1:{args.port}")
    uvicorn.run(server.app(), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
