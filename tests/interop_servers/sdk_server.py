"""A small MCP server written with the official Python SDK (``mcp``), for interop tests.

python tests/interop_servers/sdk_server.py --stdio
python tests/interop_servers/sdk_server.py --port 8123 [--json] [--stateless]
"""

from __future__ import annotations

import argparse

import anyio
import mcp_types as types
from mcp.server.elicitation import AcceptedElicitation
from mcp.server.mcpserver import Context, MCPServer
from pydantic import BaseModel, Field

server = MCPServer("sdk-interop", version="1.0.0")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def echo(text: str) -> str:
    """Echo the text back."""
    return text


@server.tool()
async def countdown(steps: int, ctx: Context) -> str:
    """Report `steps` progress notifications, then return."""
    for i in range(steps):
        await ctx.report_progress(i + 1, steps)
        await anyio.sleep(0.01)
    return f"counted {steps}"


@server.tool()
async def sleep(seconds: float) -> str:
    """Sleep, then answer."""
    await anyio.sleep(seconds)
    return f"slept {seconds}"


class Answer(BaseModel):
    name: str = Field("Ada", description="Your name")
    age: int = Field(36, description="Your age")


@server.tool()
async def ask_user(ctx: Context) -> str:
    """Elicit a name and an age from the client."""
    result = await ctx.elicit("Who are you?", Answer)
    data = result.data if isinstance(result, AcceptedElicitation) else None
    name, age = (data.name, data.age) if data else (None, None)
    return f"{result.action}: {name}/{age}"


@server.tool()
async def sample(prompt: str, ctx: Context) -> str:
    """Ask the client's model (sampling/createMessage)."""
    result = await ctx.session.create_message(
        [types.SamplingMessage(role="user", content=types.TextContent(type="text", text=prompt))],
        max_tokens=20,
    )
    return f"model said: {result.content.text}"


@server.tool()
async def change_tools(ctx: Context) -> str:
    """Send notifications/tools/list_changed (on the GET stream, when there is one)."""
    await ctx.session.send_tool_list_changed()
    return "sent"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stdio", action="store_true")
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--json", action="store_true", help="answer POSTs with JSON, not SSE")
    parser.add_argument("--stateless", action="store_true")
    args = parser.parse_args()
    if args.stdio:
        server.run()
    else:
        server.run(
            "streamable-http",
            host="127.0.0.1",
            port=args.port,
            json_response=args.json,
            stateless_http=args.stateless,
        )


if __name__ == "__main__":
    main()
