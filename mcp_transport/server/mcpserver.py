"""``MCPServer``: the registry of tools (and, through the features layer, resources and
prompts), and the MCP methods that serve them in both protocol eras.

Transports never see this module's logic: they create a dispatcher with
:meth:`MCPServer.dispatcher` and feed it messages.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio
from anyio.abc import TaskGroup
from pydantic import ValidationError

from ..dispatcher import Dispatcher, SendFn
from ..errors import InvalidParams, MethodNotFound, RemoteError, RPCError
from ..jsonrpc import Notification
from ..methods import MethodTable
from ..protocol import LOG_LEVELS, META_SERVER_INFO, MODERN_VERSIONS, Era, PeerState, negotiate_version, parse_envelope
from .content import to_content
from .context import Context, ServerConnection, ServerRequestContext
from .pagination import DEFAULT_PAGE_SIZE, paginate
from .schema import ArgumentsModel, OutputSpec, arguments_model, output_spec, validation_message

__all__ = ["MCPServer", "Tool"]

F = TypeVar("F", bound=Callable[..., Any])
MethodHandler = Callable[[ServerRequestContext, dict[str, Any]], Awaitable[dict[str, Any]]]

# Cache hints on modern list results (digest §6.10): lists change only when the server's
# registrations do, and they do not vary per client.
LIST_TTL_MS = 60_000


@dataclass(slots=True)
class Tool:
    """A registered tool: its wire description and how to call it."""

    name: str
    fn: Callable[..., Any]
    description: str
    arguments: ArgumentsModel | None  # None when the user gave a raw input schema
    input_schema: dict[str, Any]
    output: OutputSpec | None
    title: str | None = None
    annotations: dict[str, Any] | None = None
    icons: list[dict[str, Any]] | None = None
    meta: dict[str, Any] | None = None
    context_param: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "description": self.description, "inputSchema": self.input_schema}
        for key, value in (
            ("title", self.title),
            ("annotations", self.annotations),
            ("icons", self.icons),
            ("_meta", self.meta),
        ):
            if value is not None:
                out[key] = value
        if self.output is not None:
            out["outputSchema"] = self.output.schema
        out.update(self.extra)
        return out


class MCPServer:
    """An MCP server: register tools with decorators, then serve over stdio or HTTP.

        server = MCPServer("demo")

        @server.tool()
        async def add(a: int, b: int) -> int:
            "Add two numbers."
            return a + b

        server.run_stdio()          # or: uvicorn on server.http_app()
    """

    def __init__(
        self,
        name: str,
        version: str = "0.1.0",
        *,
        title: str | None = None,
        instructions: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        self.name = name
        self.version = version
        self.title = title
        self.instructions = instructions
        self.page_size = page_size
        self.tools: dict[str, Tool] = {}
        self.methods = MethodTable()
        self._notification_handlers: dict[str, Callable[[ServerConnection, dict[str, Any]], Awaitable[None]]] = {}
        # Live legacy connections on this process, for notifications that belong to no
        # request. Transports attach/detach; modern requests never appear here.
        self.connections: set[ServerConnection] = set()
        self._register_core_methods()

    # -- registration ----------------------------------------------------------------------

    @property
    def server_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"name": self.name, "version": self.version}
        if self.title:
            info["title"] = self.title
        return info

    def capabilities(self) -> dict[str, Any]:
        """Server capabilities; the features layer adds to them as features register."""
        caps: dict[str, Any] = {"tools": {"listChanged": True}, "logging": {}}
        return caps

    def tool(
        self,
        name: str | None = None,
        *,
        description: str | None = None,
        title: str | None = None,
        annotations: dict[str, Any] | None = None,
        icons: list[dict[str, Any]] | None = None,
        input_schema: dict[str, Any] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> Callable[[F], F]:
        """Register a function as a tool.

        The input schema comes from the type hints (or ``input_schema``, served exactly as
        given and not validated locally); the description from the docstring; a return
        annotation other than str/content gives ``outputSchema`` and ``structuredContent``.
        A parameter annotated ``Context`` receives the request context.
        """

        def decorator(fn: F) -> F:
            tool_name = name or fn.__name__
            if tool_name in self.tools:
                raise ValueError(f"a tool named {tool_name!r} is already registered")
            args = arguments_model(fn, Context)
            self.tools[tool_name] = Tool(
                name=tool_name,
                fn=fn,
                description=description or inspect.cleandoc(fn.__doc__ or "") or tool_name,
                arguments=None if input_schema is not None else args,
                input_schema=input_schema if input_schema is not None else args.schema,
                output=output_spec(fn),
                title=title,
                annotations=annotations,
                icons=icons,
                meta=meta,
                context_param=args.context_param,
            )
            return fn

        return decorator

    def method(self, name: str, *, legacy: bool = True, modern: bool = True) -> Callable[[MethodHandler], MethodHandler]:
        """Register a raw MCP method handler ``(ctx, params) -> result`` behind the era gate."""

        def decorator(fn: MethodHandler) -> MethodHandler:
            self.methods.add(name, self._gated(name, fn, legacy=legacy, modern=modern))
            return fn

        return decorator

    def on_notification(self, method: str) -> Callable[[Any], Any]:
        def decorator(fn: Callable[[ServerConnection, dict[str, Any]], Awaitable[None]]) -> Any:
            self._notification_handlers[method] = fn
            return fn

        return decorator

    # -- serving ---------------------------------------------------------------------------

    def dispatcher(self, send: SendFn, task_group: TaskGroup, connection: ServerConnection | None = None) -> Dispatcher:
        """A dispatcher serving this server to one peer (stdio pipe or HTTP session)."""
        return Dispatcher(
            self.methods,
            send,
            task_group,
            peer=connection if connection is not None else ServerConnection(),
            on_notification=self._dispatch_notification,
            context_class=ServerRequestContext,
        )

    async def _dispatch_notification(self, dispatcher: Dispatcher, message: Notification) -> None:
        connection: ServerConnection = dispatcher.peer
        connection.lifecycle.advance(message.method)
        handler = self._notification_handlers.get(message.method)
        if handler is not None:
            await handler(connection, message.params or {})

    def attach(self, connection: ServerConnection) -> None:
        self.connections.add(connection)

    def detach(self, connection: ServerConnection) -> None:
        self.connections.discard(connection)

    async def notify_all(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        only: Callable[[ServerConnection], bool] | None = None,
    ) -> None:
        """Send a notification to every initialized legacy connection (``only`` filters)."""
        message = Notification(method, params)
        for connection in list(self.connections):
            if connection.send_unrelated is None or connection.state is None or (only and not only(connection)):
                continue
            try:
                await connection.send_unrelated(message)
            except Exception:  # one dead peer must not stop delivery to the others
                pass

    def run_stdio(self) -> None:
        """Serve on this process's stdin/stdout until stdin closes."""
        from ..transports.stdio import serve_stdio

        anyio.run(serve_stdio, self)

    # -- the era gate ----------------------------------------------------------------------

    def _gated(self, name: str, fn: MethodHandler, *, legacy: bool, modern: bool) -> Any:
        """Wrap a method so it runs under the right protocol state.

        A request whose ``_meta`` carries a protocol version is modern (2026-07-28): its state
        comes from that envelope and nothing from the connection is used. Anything else is
        legacy and goes through the connection's initialize lifecycle.
        """
        is_discover = name == "server/discover"

        async def handler(ctx: ServerRequestContext, params: dict[str, Any]) -> dict[str, Any]:
            envelope = parse_envelope(params, check_version=not is_discover)
            if envelope is not None:
                if not modern:
                    raise MethodNotFound(f"Method not found: {name} does not exist in protocol {envelope.protocol_version}")
                ctx.state = envelope.peer()
                return self._modern_result(await fn(ctx, params))
            if not legacy:
                raise MethodNotFound(
                    f"Method not found: {name} needs the 2026-07-28 _meta envelope "
                    f'(_meta["io.modelcontextprotocol/protocolVersion"])'
                )
            connection = ctx.connection
            connection.lifecycle.check(name)
            ctx.state = connection.state
            result = await fn(ctx, params)
            connection.lifecycle.advance(name)
            return result

        return handler

    def _modern_result(self, result: dict[str, Any]) -> dict[str, Any]:
        result.setdefault("resultType", "complete")
        meta = result.get("_meta")
        result["_meta"] = {**meta, META_SERVER_INFO: self.server_info} if meta else {META_SERVER_INFO: self.server_info}
        return result

    # -- core methods ----------------------------------------------------------------------

    def _register_core_methods(self) -> None:
        self.method("initialize", modern=False)(self._initialize)
        self.method("ping", modern=False)(self._ping)
        self.method("server/discover")(self._discover)
        self.method("logging/setLevel", modern=False)(self._set_level)
        self.method("tools/list")(self._list_tools)
        self.method("tools/call")(self._call_tool)

    async def _initialize(self, ctx: ServerRequestContext, params: dict[str, Any]) -> dict[str, Any]:
        caps = params.get("capabilities")
        info = params.get("clientInfo")
        if not isinstance(params.get("protocolVersion"), str):
            raise InvalidParams("initialize needs params.protocolVersion (a string such as '2025-11-25')")
        version = negotiate_version(params.get("protocolVersion"))
        ctx.connection.state = PeerState(version, caps if isinstance(caps, dict) else {}, info if isinstance(info, dict) else None)
        result: dict[str, Any] = {
            "protocolVersion": version,
            "capabilities": self.capabilities(),
            "serverInfo": self.server_info,
        }
        if self.instructions:
            result["instructions"] = self.instructions
        return result

    async def _ping(self, ctx: ServerRequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {}

    async def _discover(self, ctx: ServerRequestContext, params: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = {
            "supportedVersions": list(MODERN_VERSIONS),
            "capabilities": self.capabilities(),
            "ttlMs": LIST_TTL_MS,
            "cacheScope": "public",
        }
        if self.instructions:
            result["instructions"] = self.instructions
        if ctx.state is None or ctx.state.era is Era.LEGACY:
            # Asked without an envelope (a legacy peer probing): still answer, modern-shaped.
            return self._modern_result(result)
        return result

    async def _set_level(self, ctx: ServerRequestContext, params: dict[str, Any]) -> dict[str, Any]:
        level = params.get("level")
        if level not in LOG_LEVELS:
            raise InvalidParams(f"Invalid log level {level!r}; use one of {', '.join(LOG_LEVELS)}")
        if ctx.state is not None:
            ctx.state.log_level = level
        return {}

    def _list_result(self, ctx: ServerRequestContext, key: str, items: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        page, next_cursor = paginate(items, params.get("cursor"), self.page_size)
        result: dict[str, Any] = {key: page}
        if next_cursor is not None:
            result["nextCursor"] = next_cursor
        if ctx.state is not None and ctx.state.era is Era.MODERN:
            result["ttlMs"] = LIST_TTL_MS
            result["cacheScope"] = "public"
        return result

    async def _list_tools(self, ctx: ServerRequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._list_result(ctx, "tools", [t.to_dict() for t in self.tools.values()], params)

    async def _call_tool(self, ctx: ServerRequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params.get("name")
        tool = self.tools.get(name) if isinstance(name, str) else None
        if tool is None:
            raise InvalidParams(f"Unknown tool {name!r}; call tools/list for the available tools", {"name": name})
        arguments = params.get("arguments") or {}
        if not isinstance(arguments, dict):
            raise InvalidParams("tools/call params.arguments must be an object")
        return await self.run_tool(tool, arguments, Context(ctx, self))

    async def run_tool(self, tool: Tool, arguments: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """Call a tool and build its CallToolResult. Failures inside the tool, argument
        validation included, are results with isError so the model can correct itself
        (2025-11-25 tools page); only protocol faults are JSON-RPC errors."""
        if tool.arguments is not None:
            try:
                kwargs = tool.arguments.validate(arguments)
            except ValidationError as exc:
                return _error_result(validation_message(exc))
        else:
            kwargs = dict(arguments)
        if tool.context_param is not None:
            kwargs[tool.context_param] = ctx
        try:
            value = tool.fn(**kwargs)
            if inspect.isawaitable(value):
                value = await value
        except RPCError as exc:
            if not isinstance(exc, RemoteError):
                raise  # the tool chose a protocol error (e.g. a missing client capability)
            return _error_result(f"The client answered with an error: {exc}")
        except Exception as exc:
            return _error_result(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        return self._tool_result(tool, value)

    def _tool_result(self, tool: Tool, value: Any) -> dict[str, Any]:
        if isinstance(value, dict) and "content" in value and isinstance(value["content"], list):
            return value  # already a CallToolResult
        if tool.output is not None:
            structured = tool.output.structured(value)
            text = to_content(structured if tool.output.wrapped is False else structured["result"])
            return {"content": text, "structuredContent": structured}
        return {"content": to_content(value)}


def _error_result(message: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": message}], "isError": True}

