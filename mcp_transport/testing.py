"""Test an ``MCPServer`` in memory, without a transport: :class:`MemoryClient`.

    from mcp_transport.testing import MemoryClient

    async with MemoryClient.connect(server) as client:
        result = await client.request("tools/call", {"name": "add", "arguments": {"a": 1, "b": 2}})

A public testing API, like ``starlette.testclient``: it drives the same dispatcher a transport
would, records every message the server sends, and answers the server's requests (sampling,
elicitation, roots) with handlers you give it. docs/guides/testing.md shows it at work.

It sits above ``server/`` (it imports the server; nothing in the library imports it), so
importing ``mcp_transport`` never loads it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
from anyio.abc import TaskGroup

from .errors import RemoteError
from .jsonrpc import ErrorObject, ErrorResponse, Message, Notification, Request, RequestId, Result
from .protocol import LATEST_LEGACY_VERSION, META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION, MODERN_VERSIONS
from .server.context import ServerConnection
from .server.mcpserver import MCPServer

__all__ = ["MemoryClient"]

RequestHandler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class MemoryClient:
    """A client wired straight to a server's dispatcher, for tests.

    ``notifications`` holds every notification the server sent, in order; ``handlers`` maps
    a server->client method (``sampling/createMessage``...) to an async function returning
    its result (raise :class:`RemoteError` to answer with an error).
    """

    def __init__(self, server: MCPServer, task_group: TaskGroup) -> None:
        self.server = server
        self.connection = ServerConnection()
        self.connection.send_unrelated = lambda message: self._on_send(message, None)
        self.notifications: list[Notification] = []
        self.requests: list[Request] = []  # server->client requests, in order
        self.handlers: dict[str, RequestHandler] = {}
        self._task_group = task_group
        self._next_id = 0
        self._waiting: dict[RequestId, tuple[anyio.Event, list[Result | ErrorResponse]]] = {}
        self.dispatcher = server.dispatcher(self._on_send, task_group, self.connection)
        server.attach(self.connection)

    @classmethod
    @asynccontextmanager
    async def connect(
        cls,
        server: MCPServer,
        *,
        initialize: bool = True,
        capabilities: dict[str, Any] | None = None,
        version: str = LATEST_LEGACY_VERSION,
    ) -> AsyncIterator[MemoryClient]:
        """A connected client; legacy-initialized unless ``initialize`` is false."""
        async with anyio.create_task_group() as tg:
            client = cls(server, tg)
            try:
                if initialize:
                    await client.initialize(capabilities or {}, version)
                yield client
            finally:
                client.dispatcher.close("test client closed")
                server.detach(client.connection)
                tg.cancel_scope.cancel()

    async def initialize(
        self, capabilities: dict[str, Any], version: str = LATEST_LEGACY_VERSION
    ) -> dict[str, Any]:
        result = await self.request(
            "initialize",
            {
                "protocolVersion": version,
                "capabilities": capabilities,
                "clientInfo": {"name": "memory", "version": "0"},
            },
        )
        await self.notify("notifications/initialized")
        return result

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send a request and wait for its result; an error response raises RemoteError."""
        self._next_id += 1
        rid = self._next_id
        done, box = anyio.Event(), list[Result | ErrorResponse]()
        self._waiting[rid] = (done, box)
        await self.dispatcher.receive(Request(rid, method, params))
        with anyio.fail_after(10):
            await done.wait()
        response = box[0]
        if isinstance(response, ErrorResponse):
            raise RemoteError(response.error.code, response.error.message, response.error.data)
        return response.result

    async def modern_request(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        capabilities: dict[str, Any] | None = None,
        **meta: Any,
    ) -> dict[str, Any]:
        """A 2026-07-28 request: the ``_meta`` envelope added to ``params``."""
        envelope = {
            META_PROTOCOL_VERSION: MODERN_VERSIONS[0],
            META_CLIENT_CAPABILITIES: capabilities or {},
            **meta,
        }
        return await self.request(method, {**(params or {}), "_meta": envelope})

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        await self.dispatcher.receive(Notification(method, params))

    async def call_tool(
        self, name: str, arguments: dict[str, Any] | None = None, **params: Any
    ) -> dict[str, Any]:
        return await self.request("tools/call", {"name": name, "arguments": arguments or {}, **params})

    def notifications_of(self, method: str) -> list[dict[str, Any]]:
        return [n.params or {} for n in self.notifications if n.method == method]

    async def _on_send(self, message: Message, related_to: RequestId | None) -> None:
        if isinstance(message, (Result, ErrorResponse)):
            # an error with a null id (unparseable request) answers none of ours
            waiting = None if message.id is None else self._waiting.pop(message.id, None)
            if waiting is not None:
                waiting[1].append(message)
                waiting[0].set()
        elif isinstance(message, Request):
            self.requests.append(message)
            self._task_group.start_soon(self._answer, message)
        else:
            self.notifications.append(message)

    async def _answer(self, request: Request) -> None:
        handler = self.handlers.get(request.method)
        response: Message
        if handler is None:
            response = ErrorResponse(request.id, ErrorObject(-32601, f"Method not found: {request.method}"))
        else:
            try:
                response = Result(request.id, await handler(request.params or {}))
            except RemoteError as exc:
                response = ErrorResponse(request.id, ErrorObject(exc.code, exc.message, exc.data))
        await self.dispatcher.receive(response)
