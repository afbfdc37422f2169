"""A small protected MCP server (Starlette + uvicorn, NOT built on mcp_transport) that proves the
conformance suite's ``authorization`` checks: correct by default, and each ``--bug NAME`` plants
one defect the suite must flag. Tokens are fixed strings: ``good`` (scope ``mcp``) and
``other-audience`` (valid, for another resource); ``admin_tool`` needs scope ``admin``.

    python tests/broken_servers/auth_server.py --port 8123 [--bug no_challenge]
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

BUGS = {
    "no_challenge": "answers 401 without WWW-Authenticate",
    "prm_wrong_resource": "publishes metadata whose resource is another server",
    "any_token": "accepts any bearer token",
    "wrong_audience_accepted": "accepts a token issued for another resource",
    "scope_401": "answers a missing scope with 401 instead of 403 insufficient_scope",
}
TOKENS = {"good": ("mcp", "self"), "other-audience": ("mcp", "other")}
bug: str | None = None
port = 0


def metadata_url() -> str:
    return f"http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp"


def refuse(status: int, error: str | None, scope: str, message: str) -> Response:
    params = [f'resource_metadata="{metadata_url()}"', f'scope="{scope}"']
    if error:
        params.insert(0, f'error="{error}"')
    headers = {} if bug == "no_challenge" else {"WWW-Authenticate": "Bearer " + ", ".join(params)}
    body = {"jsonrpc": "2.0", "id": None, "error": {"code": -32001, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


def principal_scopes(request: Request) -> set[str] | None:
    token = request.headers.get("authorization", "").removeprefix("Bearer ")
    if bug == "any_token" and token:
        return {"mcp"}
    found = TOKENS.get(token)
    if found is None or (found[1] != "self" and bug != "wrong_audience_accepted"):
        return None
    return set(found[0].split())


async def prm(request: Request) -> Response:
    resource = (
        "http://127.0.0.1:1/elsewhere" if bug == "prm_wrong_resource" else f"http://127.0.0.1:{port}/mcp"
    )
    return JSONResponse({"resource": resource, "authorization_servers": ["http://127.0.0.1:1/as"]})


async def mcp(request: Request) -> Response:
    scopes = principal_scopes(request)
    if scopes is None:
        return refuse(
            401, "invalid_token" if "authorization" in request.headers else None, "mcp", "Unauthorized"
        )
    if request.method != "POST":
        return Response(status_code=405)
    message: dict[str, Any] = json.loads(await request.body())
    rid, method = message.get("id"), message.get("method")
    if rid is None:
        return Response(status_code=202)
    if method == "initialize":
        result = {
            "protocolVersion": message["params"]["protocolVersion"],
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "auth-broken", "version": "0"},
        }
        return JSONResponse({"jsonrpc": "2.0", "id": rid, "result": result}, headers={"mcp-session-id": "s1"})
    if method == "tools/call" and message["params"]["name"] == "admin_tool" and "admin" not in scopes:
        if bug == "scope_401":
            return refuse(401, "invalid_token", "mcp admin", "Unauthorized")
        return refuse(403, "insufficient_scope", "mcp admin", "admin_tool needs the admin scope")
    return JSONResponse({"jsonrpc": "2.0", "id": rid, "result": {"content": [], "tools": []}})


app = Starlette(
    routes=[
        Route("/mcp", mcp, methods=["GET", "POST", "DELETE"]),
        Route("/.well-known/oauth-protected-resource/mcp", prm),
    ]
)


def main() -> None:
    global bug, port
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bug", choices=sorted(BUGS))
    args = parser.parse_args()
    bug, port = args.bug, args.port
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
