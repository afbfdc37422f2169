"""The MCP methods an :class:`~.mcpserver.MCPServer` answers, one function each, registered
behind the era gate by :func:`register` (2025-11-25 basic/lifecycle and the server/* pages;
2026-07-28 server/discover and the server/* pages).

Each handler is ``(server, ctx, params) -> result``. The era gate has already set
``ctx.state``; a handler looks at the era only where the two eras answer differently
(cache hints, error codes).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any, TypeVar

from ..errors import InvalidParams, MethodNotFound
from ..jsonrpc import bounded, preview
from ..protocol import LOG_LEVELS, META_SUBSCRIPTION_ID, MODERN_VERSIONS, PeerState, negotiate_version
from .api import ServerAPI
from .completion import completion_result, parse_reference
from .context import Context, ServerRequestContext
from .pagination import paginate
from .prompts import to_messages
from .resources import resolve
from .subscriptions import Subscription, honoured_filter
from .tools import call_tool

__all__ = ["LIST_TTL_MS", "READ_TTL_MS", "register"]

Params = dict[str, Any]
Result = dict[str, Any]
_T = TypeVar("_T")

# Cache hints on modern results (2026-07-28 server/utilities/caching#cacheable-model). Lists
# change only when registrations do (and list_changed invalidates them); they do not vary per
# client.
LIST_TTL_MS = 60_000
# A resource's contents may change at any time and may depend on who asks.
READ_TTL_MS = 0


_LEGACY, _MODERN, _BOTH = (True, False), (False, True), (True, True)


def register(server: ServerAPI) -> None:
    """Register every MCP method on ``server``, each in the eras it exists in."""
    table: list[tuple[str, Callable[..., Awaitable[Result]], tuple[bool, bool]]] = [
        ("initialize", initialize, _LEGACY),
        ("ping", ping, _LEGACY),
        ("server/discover", discover, _BOTH),
        ("logging/setLevel", set_level, _LEGACY),
        ("tools/list", list_tools, _BOTH),
        ("tools/call", call, _BOTH),
        ("resources/list", list_resources, _BOTH),
        ("resources/templates/list", list_templates, _BOTH),
        ("resources/read", read_resource, _BOTH),
        ("resources/subscribe", subscribe, _LEGACY),
        ("resources/unsubscribe", unsubscribe, _LEGACY),
        ("subscriptions/listen", listen, _MODERN),
        ("prompts/list", list_prompts, _BOTH),
        ("prompts/get", get_prompt, _BOTH),
        ("completion/complete", complete, _BOTH),
    ]
    for name, fn, (legacy, modern) in table:
        server.method(name, legacy=legacy, modern=modern)(partial(fn, server))


# -- lifecycle ---------------------------------------------------------------------------------


async def initialize(server: ServerAPI, ctx: ServerRequestContext, params: Params) -> Result:
    _check_initialize_params(params)
    version = negotiate_version(params["protocolVersion"])
    ctx.connection.state = PeerState(version, params["capabilities"], params["clientInfo"])
    result: Result = {
        "protocolVersion": version,
        "capabilities": server.capabilities(),
        "serverInfo": server.server_info,
    }
    if server.instructions:
        result["instructions"] = server.instructions
    return result


_JSON_TYPE_NAMES = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}


def _check_initialize_params(params: Params) -> None:
    """Raise InvalidParams unless ``params`` has the shape of InitializeRequestParams: every
    revision's schema requires protocolVersion (string), capabilities (object) and clientInfo
    (Implementation: string name and version). A session is never built on a guess."""
    if not isinstance(params.get("protocolVersion"), str):
        raise InvalidParams("initialize needs params.protocolVersion (a string such as '2025-11-25')")
    caps = params.get("capabilities")
    if not isinstance(caps, dict):
        got = _JSON_TYPE_NAMES.get(type(caps), "a number") if "capabilities" in params else "nothing"
        raise InvalidParams(f"initialize needs params.capabilities as an object ({{}} for none), got {got}")
    info = params.get("clientInfo")
    if not isinstance(info, dict) or not all(isinstance(info.get(key), str) for key in ("name", "version")):
        raise InvalidParams('initialize needs params.clientInfo: an object with string "name" and "version"')


async def ping(server: ServerAPI, ctx: ServerRequestContext, params: Params) -> Result:
    return {}


async def discover(server: ServerAPI, ctx: ServerRequestContext, params: Params) -> Result:
    capabilities = server.capabilities()
    if server.extensions:  # 2026-07-28 basic/extensions: offered extensions, by identifier
        capabilities["extensions"] = {name: dict(settings) for name, settings in server.extensions.items()}
    result: Result = {
        "supportedVersions": list(MODERN_VERSIONS),
        "capabilities": capabilities,
        "ttlMs": LIST_TTL_MS,
        "cacheScope": "public",
    }
    if server.instructions:
        result["instructions"] = server.instructions
    if not server.is_modern(ctx):
        # Asked without an envelope (a legacy peer probing): still answer, modern-shaped.
        return server.modern_result(result)
    return result


async def set_level(server: ServerAPI, ctx: ServerRequestContext, params: Params) -> Result:
    level = params.get("level")
    if level not in LOG_LEVELS:
        raise InvalidParams(f"Invalid log level {level!r}; use one of {', '.join(LOG_LEVELS)}")
    if ctx.state is not None:
        ctx.state.log_level = level
    return {}


# -- lists -------------------------------------------------------------------------------------


def _page(
    server: ServerAPI, ctx: ServerRequestContext, key: str, items: list[Result], params: Params
) -> Result:
    """One page of a list result; modern pages carry cache hints
    (2025-11-25 server/utilities/pagination;
    2026-07-28 server/utilities/caching#interaction-with-pagination)."""
    page, next_cursor = paginate(items, params.get("cursor"), server.page_size)
    result: Result = {key: page}
    if next_cursor is not None:
        result["nextCursor"] = next_cursor
    if server.is_modern(ctx):
        result["ttlMs"] = LIST_TTL_MS
        result["cacheScope"] = "public"
    return result


async def list_tools(server: ServerAPI, ctx: ServerRequestContext, params: Params) -> Result:
    return _page(server, ctx, "tools", [t.to_dict() for t in server.tools.values()], params)


async def list_resources(server: ServerAPI, ctx: ServerRequestContext, params: Params) -> Result:
    return _page(server, ctx, "resources", [r.to_dict() for r in server.resources.values()], params)


async def list_templates(server: ServerAPI, ctx: ServerRequestContext, params: Params) -> Result:
    return _page(server, ctx, "resourceTemplates", [t.to_dict() for t in server.templates.values()], params)


async def list_prompts(server: ServerAPI, ctx: ServerRequestContext, params: Params) -> Result:
    return _page(server, ctx, "prompts", [p.to_dict() for p in server.prompts.values()], params)


# -- tools -------------------------------------------------------------------------------------


def _named(registry: Mapping[str, _T], params: Params, kind: str) -> _T:
    """The tool or prompt ``params.name`` names, or InvalidParams pointing at ``<kind>s/list``."""
    name = params.get("name")
    item = registry.get(name) if isinstance(name, str) else None
    if item is None:
        # Quote the client's value bounded: it may be a huge string or a deeply nested object.
        message = f"Unknown {kind} {preview(name)}; call {kind}s/list for the available {kind}s"
        raise InvalidParams(message, {"name": bounded(name)})
    return item


def _arguments(params: Params, method: str, shape: str = "an object") -> dict[str, Any]:
    arguments = params.get("arguments") or {}
    if not isinstance(arguments, dict):
        raise InvalidParams(f"{method} params.arguments must be {shape}")
    return arguments


def call(server: ServerAPI, ctx: ServerRequestContext, params: Params) -> Awaitable[Result]:
    # A plain function handing back the call's coroutine: tools/call is the hot path, and this
    # saves a coroutine per call. (Its errors, raised here, reach the era gate all the same.)
    tool = _named(server.tools, params, "tool")
    if tool.task != "forbidden":  # may become a task (extension io.modelcontextprotocol/tasks)
        return server.tasks.call(tool, _arguments(params, "tools/call"), ctx)
    return call_tool(tool, _arguments(params, "tools/call"), partial(Context, ctx, server))


# -- resources ---------------------------------------------------------------------------------


def _uri(params: Params, method: str) -> str:
    uri = params.get("uri")
    if not isinstance(uri, str) or not uri:
        raise InvalidParams(f"{method} needs params.uri (a string)")
    return uri


async def read_resource(server: ServerAPI, ctx: ServerRequestContext, params: Params) -> Result:
    contents = await server.read_resource(_uri(params, "resources/read"), Context(ctx, server))
    result: Result = {"contents": contents}
    if server.is_modern(ctx):
        result["ttlMs"] = READ_TTL_MS
        result["cacheScope"] = "private"
    return result


async def subscribe(server: ServerAPI, ctx: ServerRequestContext, params: Params) -> Result:
    """Legacy subscriptions live on the connection; ``notify_resource_updated`` reads them."""
    uri = _uri(params, "resources/subscribe")
    if resolve(server.resources, server.templates, uri) is None:
        raise InvalidParams(f"Cannot subscribe to {uri}: no such resource", {"uri": uri})
    ctx.connection.subscriptions.add(uri)
    return {}


async def unsubscribe(server: ServerAPI, ctx: ServerRequestContext, params: Params) -> Result:
    ctx.connection.subscriptions.discard(_uri(params, "resources/unsubscribe"))
    return {}


async def listen(server: ServerAPI, ctx: ServerRequestContext, params: Params) -> Result:
    """``subscriptions/listen`` (2026-07-28 basic/patterns/subscriptions): acknowledge the honoured filter,
    then forward opted-in change notifications, each tagged with the subscription id (the
    listen request's id), until the client cancels (no response) or the server closes the
    subscription (a result). Runs as long as the stream is open."""
    requested = params.get("notifications")
    if not isinstance(requested, dict):
        raise InvalidParams(
            'subscriptions/listen needs params.notifications (an object such as {"toolsListChanged": true})'
        )
    honoured = honoured_filter(requested, server.capabilities())
    if "taskIds" in requested:  # extension io.modelcontextprotocol/tasks
        honoured["taskIds"] = await server.tasks.listenable(requested["taskIds"], ctx)
    tag = {META_SUBSCRIPTION_ID: ctx.id}
    subscription = Subscription(ctx.id, honoured, ctx.connection)
    server.subscriptions.add(subscription)
    try:
        await ctx.notify(
            "notifications/subscriptions/acknowledged", {"notifications": honoured, "_meta": tag}
        )
        while (item := await subscription.next()) is not None:
            method, item_params = item
            await ctx.notify(method, {**(item_params or {}), "_meta": tag})
    finally:
        server.subscriptions.discard(subscription)
    return {"_meta": dict(tag)}


# -- prompts and completion --------------------------------------------------------------------


async def get_prompt(server: ServerAPI, ctx: ServerRequestContext, params: Params) -> Result:
    prompt = _named(server.prompts, params, "prompt")
    kwargs = prompt.bind(_arguments(params, "prompts/get", "an object of strings"))
    if prompt.arguments.context_param is not None:
        kwargs[prompt.arguments.context_param] = Context(ctx, server)
    value = prompt.fn(**kwargs)
    if inspect.isawaitable(value):
        value = await value
    return {"description": prompt.description, "messages": to_messages(value)}


async def complete(server: ServerAPI, ctx: ServerRequestContext, params: Params) -> Result:
    if not server.completers:
        raise MethodNotFound(
            "Method not found: this server offers no completions (no completions capability)"
        )
    ref_type, ref, argument, value, context = parse_reference(params)
    if ref_type == "ref/prompt" and ref not in server.prompts:
        raise InvalidParams(f"Unknown prompt {preview(ref)}", {"name": bounded(ref)})
    if ref_type == "ref/resource" and ref not in server.templates and ref not in server.resources:
        raise InvalidParams(f"Unknown resource template {preview(ref)}", {"uri": bounded(ref)})
    return completion_result(await server.completers.complete(ref_type, ref, argument, value, context))
