"""``tasks/get``, ``tasks/update`` and ``tasks/cancel`` (2026-07-28 extension
``io.modelcontextprotocol/tasks``, SEP-2663), registered on every server in the 2026-07-28
era only. ``tasks/result`` and ``tasks/list`` (the 2025-11-25 experimental shape) were
removed by the extension and are not registered, so they answer -32601."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from ..context import ServerRequestContext
from .model import require_extension

if TYPE_CHECKING:
    from ..mcpserver import MCPServer

__all__ = ["register"]


def register(server: MCPServer) -> None:
    for name, fn in (("tasks/get", get), ("tasks/update", update), ("tasks/cancel", cancel)):
        server.method(name, legacy=False)(partial(fn, server))


async def get(server: MCPServer, ctx: ServerRequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """The task's current ``DetailedTask`` (result or error inlined when terminal)."""
    require_extension(ctx, "tasks/get")
    return await server.tasks.get(params.get("taskId"), ctx)


async def update(server: MCPServer, ctx: ServerRequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Answers to outstanding input requests; an empty acknowledgement."""
    require_extension(ctx, "tasks/update")
    await server.tasks.update(params.get("taskId"), params.get("inputResponses"), ctx)
    return {}


async def cancel(server: MCPServer, ctx: ServerRequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Ask for cancellation; an empty acknowledgement, on a finished task too."""
    require_extension(ctx, "tasks/cancel")
    await server.tasks.cancel(params.get("taskId"), ctx)
    return {}
