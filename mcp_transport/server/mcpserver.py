"""``MCPServer``: the registry of tools, resources and prompts (:class:`~.registry.Registry`)
and the serving side (the dispatcher a transport feeds, server-wide notifications).

The MCP methods that serve the registry live in :mod:`.handlers`, each behind the era gate of
:mod:`.era_gate`. Transports never see this module's logic: they create a dispatcher with
:meth:`MCPServer.dispatcher` (or a connection with :meth:`MCPServer.connect`) and feed it
messages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anyio.abc import TaskGroup

from ..connection import SendUnrelated
from ..dispatcher import DEFAULT_MAX_INBOUND_REQUESTS, Dispatcher, SendFn
from ..jsonrpc import Notification
from ..methods import MethodTable
from ..mrtr import DEFAULT_STATE_TTL, RequestStateCodec
from ..mrtr_keys import request_state_keys, require_shared_keys
from ..principal import current_identity
from ..protocol import META_SERVER_INFO, Era
from ..state.cluster import Cluster
from ..transports.stdio import run_stdio
from . import handlers
from . import resources as _resources
from .api import MethodHandler
from .context import ServerConnection, ServerRequestContext, send_stateless
from .era_gate import era_gate
from .fanout import Fanout
from .pagination import DEFAULT_PAGE_SIZE
from .registry import Registry
from .served import ServedConnection, StatelessServed
from .skills import Skill, add_skill, load_skill
from .subscriptions import Subscription
from .tasks import TaskRunner, TaskStore
from .tasks import methods as task_methods
from .tools import Tool

__all__ = ["MCPServer", "Tool"]

if TYPE_CHECKING:
    from ..auth.resource import ResourceServer


class MCPServer(Registry):
    """An MCP server: register tools, resources and prompts with decorators, then serve
    over stdio or HTTP.

        server = MCPServer("demo")

        @server.tool()
        async def add(a: int, b: int) -> int:
            "Add two numbers."
            return a + b

        server.run_stdio()          # or: mcp-transport serve module:server --port 8000

    Registering or removing a tool, resource or prompt while clients are connected sends
    them the matching ``notifications/*/list_changed`` (legacy sessions on their stream,
    2026-07-28 clients on their ``subscriptions/listen`` streams).

    ``request_state_keys``: HMAC keys for the 2026-07-28 ``requestState`` (MRTR); the first
    signs, all verify. Give every worker behind a load balancer the same keys so a retry may
    land on any of them. Default: one random key per process.

    ``task_store``: where tasks (2026-07-28 extension ``io.modelcontextprotocol/tasks``)
    live; default an in-memory store (one worker); ``state.redis.RedisTaskStore`` shares them
    between workers (docs/deployment.md). ``server.tasks`` is the
    :class:`~.tasks.TaskRunner` (TTL, poll interval and size bounds are its attributes).

    ``auth``: a :class:`~mcp_transport.auth.ResourceServer`: over HTTP every request then
    needs a valid access token (docs/guides/auth.md); ``ctx.principal`` names its owner.
    """

    def __init__(
        self,
        name: str,
        version: str = "0.1.0",
        *,
        title: str | None = None,
        instructions: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        request_state_keys: Sequence[bytes] | None = None,
        request_state_ttl: float = DEFAULT_STATE_TTL,
        task_store: TaskStore | None = None,
        auth: ResourceServer | None = None,
    ) -> None:
        super().__init__()
        self.name = name
        self.version = version
        self.title = title
        # The `_meta` every 2026-07-28 result carries, built once (see modern_result) and keyed
        # by what it was built from, so a server renamed at run time answers with its new info.
        self._result_meta: tuple[tuple[str, str, str | None], dict[str, Any]] | None = None
        self.instructions = instructions
        self.page_size = page_size
        self.methods = MethodTable()
        self._notification_handlers: dict[
            str, Callable[[ServerConnection, dict[str, Any]], Awaitable[None]]
        ] = {}
        self.fanout = Fanout()
        # The fan-out's own sets, by their historical names: transports attach legacy
        # connections, handlers add listen streams (.api.ServerAPI.subscriptions).
        self.connections: set[ServerConnection] = self.fanout.connections
        self.subscriptions: set[Subscription] = self.fanout.subscriptions
        self.request_state = RequestStateCodec(request_state_keys, request_state_ttl)
        self.tasks = TaskRunner(self, task_store, principal=_task_owner)
        self._task_store_given = task_store is not None
        # Served by http_app / run_http / mcp_router unless they are given their own.
        self.auth = auth
        self.skills: dict[str, Skill] = {}  # SKILL.md URI -> skill (extension io.modelcontextprotocol/skills)
        handlers.register(self)
        task_methods.register(self)

    # -- description -------------------------------------------------------------------------

    @property
    def server_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"name": self.name, "version": self.version}
        if self.title:
            info["title"] = self.title
        return info

    def capabilities(self) -> dict[str, Any]:
        """What this server offers, from what is registered
        (2025-11-25 basic/lifecycle#capability-negotiation). Logging is
        always on: every tool may log through its Context."""
        caps: dict[str, Any] = {"logging": {}}
        if self.tools:
            caps["tools"] = {"listChanged": True}
        if self.resources or self.templates:
            caps["resources"] = {"subscribe": True, "listChanged": True}
        if self.prompts:
            caps["prompts"] = {"listChanged": True}
        if self.completers:
            caps["completions"] = {}
        return caps

    def add_skill_directory(self, path: str | Path) -> Skill:
        """Serve the skill in directory ``path`` (a SKILL.md and its files) as
        ``skill://<name>/...`` resources, with ``skills/list``, ``skills/get`` and
        ``resources/directory/read`` (2026-07-28 extension io.modelcontextprotocol/skills).
        ValueError for a directory that is not a valid skill or breaks the size bounds."""
        skill = load_skill(path)
        add_skill(self, skill)
        return skill

    def method(
        self, name: str, *, legacy: bool = True, modern: bool = True
    ) -> Callable[[MethodHandler], MethodHandler]:
        """Register a raw MCP method handler ``(ctx, params) -> result`` behind the era gate.
        ``legacy`` / ``modern``: whether the method exists in that era (else -32601)."""

        def decorator(fn: MethodHandler) -> MethodHandler:
            self.methods.add(name, era_gate(self, name, fn, legacy=legacy, modern=modern))
            return fn

        return decorator

    def on_notification(self, method: str) -> Callable[[Any], Any]:
        """Register ``async (connection, params)`` for a client notification, e.g.
        ``notifications/roots/list_changed``."""

        def decorator(fn: Callable[[ServerConnection, dict[str, Any]], Awaitable[None]]) -> Any:
            self._notification_handlers[method] = fn
            return fn

        return decorator

    # -- notifications (the mechanism: .fanout) ---------------------------------------------

    async def notify_resource_updated(self, uri: str) -> None:
        """Tell every client subscribed to ``uri`` that it changed
        (``notifications/resources/updated``; legacy ``resources/subscribe`` or a listen
        stream's ``resourceSubscriptions``)."""
        await self.fanout.resource_updated(uri)

    def join_cluster(self, cluster: Cluster) -> None:
        """Serve as one of several workers (:class:`~mcp_transport.state.cluster.ClusterMember`;
        ``run_http(..., redis_url=...)`` calls it): tasks go to the cluster's shared store
        unless a store was given, and server-wide notifications reach the clients of every
        worker. Raises ValueError without shared MRTR keys (a round sealed by one worker
        must open on any other)."""
        if not self.request_state.configured:
            keys = request_state_keys()  # MCP_TRANSPORT_REQUEST_STATE_KEYS
            require_shared_keys(keys, redis_url="cluster")
            self.request_state = RequestStateCodec(keys, self.request_state.ttl)
        if not self._task_store_given:
            self.tasks.store = cluster.task_store()
        self.fanout.join(cluster)

    async def notify_all(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        only: Callable[[ServerConnection], bool] | None = None,
    ) -> None:
        """Send a notification to every initialized legacy connection (``only`` filters)
        and to every ``subscriptions/listen`` stream that opted in to it. With several
        workers (:meth:`join_cluster`) an unfiltered one reaches their clients too."""
        await self.fanout.notify(method, params, only)

    def publish(self, method: str, params: dict[str, Any] | None = None) -> None:
        """Offer a change notification to every open ``subscriptions/listen`` stream; each
        keeps it only if it opted in (sync: streams forward it from their own tasks). With
        several workers (:meth:`join_cluster`) the streams of every worker get the offer
        (``notifications/tasks`` of a task running on one worker, listened to on another)."""
        self.fanout.publish(method, params)

    def close_subscriptions(self, connection: ServerConnection | None = None) -> None:
        """End open ``subscriptions/listen`` requests gracefully (each answers its request
        with a result): all of them (server shutdown) or those of one connection."""
        self.fanout.close_subscriptions(connection)

    def _list_changed(self, kind: str) -> None:
        """Registry hook: ``notifications/<kind>/list_changed`` to every connected client."""
        self.fanout.list_changed(kind)

    # -- serving -----------------------------------------------------------------------------

    def dispatcher(
        self,
        send: SendFn,
        task_group: TaskGroup,
        connection: ServerConnection | None = None,
        *,
        max_inbound: int = DEFAULT_MAX_INBOUND_REQUESTS,
    ) -> Dispatcher:
        """A dispatcher serving this server to one peer (stdio pipe or HTTP session);
        ``max_inbound``: requests it runs at once (more get -32010)."""
        peer = connection if connection is not None else ServerConnection()
        peer.task_group = task_group
        return Dispatcher(
            self.methods,
            send,
            task_group,
            peer=peer,
            on_notification=self._dispatch_notification,
            context_class=ServerRequestContext,
            max_inbound=max_inbound,
        )

    def connect(
        self,
        send: SendFn,
        task_group: TaskGroup,
        *,
        send_unrelated: SendUnrelated | None = None,
        max_inbound: int = DEFAULT_MAX_INBOUND_REQUESTS,
    ) -> ServedConnection:
        """The transport seam (:class:`mcp_transport.connection.Application`): a connection
        serving this server to one peer."""
        peer = ServerConnection()
        peer.send_unrelated = send_unrelated
        return ServedConnection(self, peer, self.dispatcher(send, task_group, peer, max_inbound=max_inbound))

    def stateless(self, task_group: TaskGroup) -> StatelessServed:
        """The transport seam for stateless 2026-07-28 requests: one for the life of
        ``task_group``, answering every such request."""
        return StatelessServed(self.dispatcher(send_stateless, task_group))

    def param_schema(self, method: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The schema ``Mcp-Param-*`` headers are checked against: the called tool's input
        schema (2026-07-28 basic/transports, the ``Mcp-Param`` headers of ``tools/call``)."""
        name = params.get("name") if method == "tools/call" else None
        tool = self.tools.get(name) if isinstance(name, str) else None
        return tool.input_schema if tool is not None else None

    def required_scopes(self, method: str, params: Mapping[str, Any]) -> tuple[str, ...]:
        """The scopes the tool (``tools/call``) or resource (``resources/read``) a request
        names needs; () for anything else or an unknown name (which fails on its own)."""
        name, uri = params.get("name"), params.get("uri")
        if method == "tools/call" and isinstance(name, str):
            tool = self.tools.get(name)
            return tool.scopes if tool is not None else ()
        if method == "resources/read" and isinstance(uri, str):
            found = _resources.resolve(self.resources, self.templates, uri)
            return found[0].scopes if found is not None else ()
        return ()

    def shutting_down(self) -> None:
        """End every open ``subscriptions/listen`` stream with its result (process stop)."""
        self.close_subscriptions()

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

    def run_stdio(self, *, max_concurrent_requests: int = DEFAULT_MAX_INBOUND_REQUESTS) -> None:
        """Serve on this process's stdin/stdout until stdin closes; at most
        ``max_concurrent_requests`` requests run at once (more get -32010)."""
        run_stdio(self, max_concurrent_requests=max_concurrent_requests)

    # -- 2026-07-28 results ------------------------------------------------------------------

    def modern_result(self, result: dict[str, Any]) -> dict[str, Any]:
        """Add what every 2026-07-28 result carries: ``resultType`` and the server's info."""
        result.setdefault("resultType", "complete")
        meta = result.get("_meta")
        result["_meta"] = {**meta, **self._server_meta()} if meta else self._server_meta()
        return result

    def _server_meta(self) -> dict[str, Any]:
        """``{serverInfo key: server_info}``, one shared dict (nothing writes into a result's
        ``_meta`` once it is built: results are serialized, a task store keeps and reads them), rebuilt
        only when the name, version or title changed."""
        key = (self.name, self.version, self.title)
        cached = self._result_meta
        if cached is None or cached[0] != key:
            cached = self._result_meta = (key, {META_SERVER_INFO: self.server_info})
        return cached[1]

    def is_modern(self, ctx: ServerRequestContext) -> bool:
        return ctx.state is not None and ctx.state.era is Era.MODERN


def _task_owner(request: ServerRequestContext) -> str:
    """Tasks belong to the verified principal of the request that made them ("" without auth)."""
    return current_identity() or ""
