"""``OAuth`` over real HTTP against a small resource server + authorization server on loopback
(uvicorn): what the official suite's mock never does — it issues no refresh tokens. Refresh
on a 401 (same issuer, no new authorization), proactive refresh of an expired token after a
"restart" with the file store, and one authorization for many concurrent 401s."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from mcp_transport.auth import FileTokenStorage, OAuth
from mcp_transport.auth.pkce import s256_challenge

pytestmark = pytest.mark.anyio


@dataclass
class AuthServer:
    """Counts what the client did; ``live`` holds the access tokens the resource accepts."""

    base: str = ""
    live: set[str] = field(default_factory=set)
    refresh_tokens: set[str] = field(default_factory=set)
    challenges: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: {"authorize": 0, "refresh": 0, "401": 0})
    ids: itertools.count[int] = field(default_factory=itertools.count)

    def issue(self) -> dict[str, Any]:
        n = next(self.ids)
        self.live.add(f"at-{n}")
        self.refresh_tokens.add(f"rt-{n}")
        return {
            "access_token": f"at-{n}",
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": f"rt-{n}",
        }

    def app(self) -> Starlette:
        async def prm(request: Request) -> Response:
            resource = f"{self.base}/mcp"
            return JSONResponse({"resource": resource, "authorization_servers": [f"{self.base}/as"]})

        async def metadata(request: Request) -> Response:
            issuer = f"{self.base}/as"
            return JSONResponse(
                {
                    "issuer": issuer,
                    "authorization_endpoint": f"{issuer}/authorize",
                    "token_endpoint": f"{issuer}/token",
                    "registration_endpoint": f"{issuer}/register",
                    "code_challenge_methods_supported": ["S256"],
                    "scopes_supported": ["read", "offline_access"],
                    "token_endpoint_auth_methods_supported": ["none"],
                    "authorization_response_iss_parameter_supported": True,
                }
            )

        async def register(request: Request) -> Response:
            return JSONResponse({"client_id": "c1", "token_endpoint_auth_method": "none"}, status_code=201)

        async def authorize(request: Request) -> Response:
            self.counts["authorize"] += 1
            q = request.query_params
            self.challenges["code-1"] = q["code_challenge"]
            iss = f"{self.base}/as"
            return RedirectResponse(f"{q['redirect_uri']}?code=code-1&state={q['state']}&iss={iss}", 302)

        async def token(request: Request) -> Response:
            form = await request.form()
            if form["grant_type"] == "authorization_code":
                assert s256_challenge(str(form["code_verifier"])) == self.challenges.pop(str(form["code"]))
                return JSONResponse(self.issue())
            if form["grant_type"] == "refresh_token" and form["refresh_token"] in self.refresh_tokens:
                self.counts["refresh"] += 1
                self.refresh_tokens.discard(str(form["refresh_token"]))
                return JSONResponse(self.issue())
            return JSONResponse({"error": "invalid_grant"}, status_code=400)

        async def mcp(request: Request) -> Response:
            token = request.headers.get("authorization", "").removeprefix("Bearer ")
            if token in self.live:
                return JSONResponse({"ok": token})
            self.counts["401"] += 1
            challenge = f'Bearer resource_metadata="{self.base}/.well-known/oauth-protected-resource/mcp"'
            return JSONResponse(
                {"error": "invalid_token"}, status_code=401, headers={"WWW-Authenticate": challenge}
            )

        return Starlette(
            routes=[
                Route("/.well-known/oauth-protected-resource/mcp", prm),
                Route("/.well-known/oauth-authorization-server/as", metadata),
                Route("/as/register", register, methods=["POST"]),
                Route("/as/authorize", authorize),
                Route("/as/token", token, methods=["POST"]),
                Route("/mcp", mcp, methods=["POST"]),
            ]
        )


async def approve(url: str) -> str:
    async with httpx.AsyncClient() as http:
        return (await http.get(url)).headers["location"]


@pytest.fixture
def server(serve_app: Callable[..., str]) -> tuple[AuthServer, str]:
    state = AuthServer()
    url = serve_app(state.app())
    state.base = url.removesuffix("/mcp")
    return state, url


async def _call(auth: OAuth, url: str) -> str:
    async with httpx.AsyncClient(auth=auth) as http:
        response = await http.post(url, json={})
    assert response.status_code == 200, response.text
    token: str = response.json()["ok"]
    return token


async def test_a_refused_token_is_refreshed_without_a_new_authorization(
    server: tuple[AuthServer, str],
) -> None:
    state, url = server
    auth = OAuth(on_authorize=approve)
    first = await _call(auth, url)
    state.live.discard(first)  # the resource stops accepting it
    second = await _call(auth, url)
    assert second != first
    assert state.counts == {"authorize": 1, "refresh": 1, "401": 2}


async def test_an_expired_token_is_refreshed_before_use_after_a_restart(
    server: tuple[AuthServer, str], tmp_path: Path
) -> None:
    state, url = server
    store = FileTokenStorage(tmp_path / "tokens.json")
    first = await _call(OAuth(on_authorize=approve, storage=store), url)
    tokens = await store.get_tokens(url)
    assert tokens is not None and tokens.scope is not None and "offline_access" in tokens.scope.split()
    tokens.expires_at = time.time() - 1
    await store.set_tokens(url, tokens)
    state.live.discard(first)
    # A new process: a new OAuth object reading the same file refreshes before sending.
    second = await _call(OAuth(on_authorize=approve, storage=FileTokenStorage(tmp_path / "tokens.json")), url)
    assert second != first
    assert state.counts == {"authorize": 1, "refresh": 1, "401": 1}


async def test_concurrent_401s_authorize_once(server: tuple[AuthServer, str]) -> None:
    state, url = server
    auth = OAuth(on_authorize=approve)
    tokens: list[str] = []
    async with httpx.AsyncClient(auth=auth) as http, anyio.create_task_group() as group:

        async def one() -> None:
            response = await http.post(url, json={})
            tokens.append(response.json()["ok"])

        for _ in range(5):
            group.start_soon(one)
    assert len(tokens) == 5 and len(set(tokens)) == 1
    assert state.counts["authorize"] == 1
