"""The protected MCP server of the resource-server tests (served with ``mcp-transport serve
tests.auth_rs.protected_server:server --auth-issuer ... --auth-audience ...``)."""

from __future__ import annotations

from pydantic import BaseModel

from mcp_transport.server import Context, MCPServer

server = MCPServer("protected")


@server.tool()
async def whoami(ctx: Context) -> str:
    """The verified principal's subject and scopes."""
    principal = ctx.principal
    assert principal is not None
    return f"{principal.subject} {' '.join(sorted(principal.scopes))}"


@server.tool(scopes=["admin"])
async def purge() -> str:
    """Needs the admin scope."""
    return "purged"


@server.resource("secret://plans", scopes=["admin"])
def plans() -> str:
    return "the plans"


class Name(BaseModel):
    name: str


@server.tool()
async def greet(ctx: Context) -> str:
    """Asks for a name (MRTR in 2026-07-28)."""
    answer = await ctx.elicit("Your name?", Name)
    return f"hello {answer.data.name if answer.data else '?'}"


@server.tool(task="optional")
async def slow() -> str:
    """A task-capable tool."""
    return "done"
