"""What the MCP methods of :mod:`.handlers`, the era gate and a handler's ``Context`` use of
the server: :class:`ServerAPI`, implemented by :class:`~.mcpserver.MCPServer`.

They depend on this contract rather than on ``MCPServer`` itself, which imports them: so the
server package has no import cycle (tests/test_architecture.py checks it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from ..mrtr import RequestStateCodec
from .completion import Completers
from .context import Context, ServerRequestContext
from .prompts import Prompt
from .resources import Resource, ResourceTemplate
from .subscriptions import Subscription
from .tasks.runner import TaskRunner
from .tools import Tool

__all__ = ["MethodHandler", "ServerAPI"]

# A raw MCP method handler ``(ctx, params) -> result``.
MethodHandler = Callable[[ServerRequestContext, dict[str, Any]], Awaitable[dict[str, Any]]]


class ServerAPI(Protocol):
    """The registry and the result helpers the MCP methods serve from."""

    instructions: str | None
    page_size: int
    tools: dict[str, Tool]
    resources: dict[str, Resource]
    templates: dict[str, ResourceTemplate]
    prompts: dict[str, Prompt]
    completers: Completers
    subscriptions: set[Subscription]
    request_state: RequestStateCodec
    extensions: dict[str, dict[str, Any]]
    tasks: TaskRunner

    @property
    def server_info(self) -> dict[str, Any]: ...

    def capabilities(self) -> dict[str, Any]: ...

    def method(
        self, name: str, *, legacy: bool = True, modern: bool = True
    ) -> Callable[[MethodHandler], MethodHandler]: ...

    async def read_resource(self, uri: str, ctx: Context) -> list[dict[str, Any]]: ...

    def publish(self, method: str, params: dict[str, Any] | None = None) -> None: ...

    def modern_result(self, result: dict[str, Any]) -> dict[str, Any]: ...

    def is_modern(self, ctx: ServerRequestContext) -> bool: ...

    def required_scopes(self, method: str, params: Mapping[str, Any]) -> tuple[str, ...]: ...
