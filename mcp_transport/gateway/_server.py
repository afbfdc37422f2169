"""``Gateway``: an :class:`~mcp_transport.MCPServer` whose tools, prompts and resources are
those of the servers mounted on it.

    gateway = Gateway("hub")
    gateway.mount("github", "https://github.example/mcp")
    gateway.mount("files", [sys.executable, "files_server.py"], deny=["delete_*"])
    async with gateway:                 # the upstream clients run while the block runs
        await serve_http(gateway, port=8001)

It is built from the public API only: the MCP methods a gateway answers differently are
registered with :meth:`MCPServer.method` (replacing the registry's own), and everything
else (initialize, server/discover, logging/setLevel, subscriptions/listen, both eras, both
transports) is the plain MCPServer's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from typing import Any

import anyio
from anyio.abc import TaskGroup

from .. import (
    Client,
    ConnectError,
    ConnectionClosed,
    Context,
    InvalidParams,
    MCPServer,
    RequestTimeout,
    ServerOverloaded,
    UsageError,
)
from ._catalogue import CAPABILITY, KINDS, Catalogue, page
from ._relay import RelayCall, ask_downstream
from ._upstream import RESTART_DELAY, ClientFactory, Instance, Upstream, UpstreamUnavailable, as_factory

__all__ = ["DEFAULT_LIST_TIMEOUT", "DEFAULT_MAX_SESSION_CLIENTS", "Gateway"]

log = logging.getLogger("mcp_transport.gateway")

# Upstream clients held for legacy sessions at once (per_session upstreams: a child process
# each over stdio). One more session's request is answered -32010 (retry later).
DEFAULT_MAX_SESSION_CLIENTS = 32
# How long a merged list waits for one upstream's list; a slower one is left out of that
# answer (and logged) so that it never holds the others back.
DEFAULT_LIST_TIMEOUT = 10.0
# How long an ended session's requests may take to end (their cancellations to reach the
# upstream) before its upstream client is closed anyway.
REAP_GRACE = 5.0
_META_PREFIX = "io.modelcontextprotocol/"  # the protocol's own _meta keys (2026-07-28 envelope)
_SERVER_INFO = "io.modelcontextprotocol/serverInfo"

Sctx = Any  # the ServerRequestContext a raw method handler receives (see MCPServer.method)


class Gateway(MCPServer):
    def __init__(
        self,
        name: str = "mcp-transport-gateway",
        version: str = "0.1.0",
        *,
        max_session_clients: int = DEFAULT_MAX_SESSION_CLIENTS,
        list_timeout: float = DEFAULT_LIST_TIMEOUT,
        **server_options: Any,
    ) -> None:
        super().__init__(name, version, **server_options)
        self.upstreams: list[Upstream] = []
        self.max_session_clients = max_session_clients
        self.list_timeout = list_timeout
        self._shared: dict[Upstream, Instance] = {}
        self._sessions: dict[tuple[Upstream, Any], Instance] = {}
        self._stack: AsyncExitStack | None = None
        self._group: TaskGroup | None = None
        self.single_client = False  # served on stdio: one client, whose roots every upstream may have
        self._register()

    # -- mounting --------------------------------------------------------------------------

    def mount(
        self,
        prefix: str | None,
        target: Client | str | Sequence[str] | ClientFactory,
        *,
        allow: Sequence[str] = (),
        deny: Sequence[str] = (),
        per_session: bool = False,
        **client_options: Any,
    ) -> Gateway:
        """Mount a server: a URL, a stdio command (a list), a factory of Clients (called
        with the relay handlers as keyword arguments), or a Client (then elicitation,
        sampling and roots do not cross, and it is not restarted). ``prefix`` goes before
        its tool and prompt names (``github.create_issue``); ``client_options`` go to the
        Client built from a URL or a command."""
        if prefix is not None and (not prefix or "." in prefix):
            raise ValueError(f"prefix {prefix!r}: give a non-empty name without '.', or None")
        if any(u.prefix == prefix for u in self.upstreams):
            raise ValueError(f"an upstream is already mounted with prefix {prefix!r}")
        upstream = Upstream(
            prefix, as_factory(target, **client_options), tuple(allow), tuple(deny), per_session
        )
        self.upstreams.append(upstream)
        if self._group is not None:
            self._start(upstream, None)
        return self

    # -- running ---------------------------------------------------------------------------

    async def __aenter__(self) -> Gateway:
        self._stack = AsyncExitStack()
        self._group = await self._stack.enter_async_context(anyio.create_task_group())
        shared = [self._start(upstream, None) for upstream in self.upstreams]
        async with anyio.create_task_group() as group:  # warm the lists, each bounded
            for instance in shared:
                group.start_soon(self._fresh, instance)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for instance in [*self._shared.values(), *self._sessions.values()]:
            instance.stop()
        stack, self._stack, self._group = self._stack, None, None
        if stack is not None:
            await stack.aclose()

    def detach(self, connection: Any) -> None:
        """A legacy session or stdio connection ended: its own upstream clients stop."""
        super().detach(connection)
        for key in [k for k in self._sessions if k[1] is connection]:
            instance = self._sessions.pop(key)
            if self._group is not None:
                self._group.start_soon(self._reap, instance)
            else:
                instance.stop()

    async def _reap(self, instance: Instance) -> None:
        """Stop a session's upstream client once the session's requests are gone: the
        transport cancels them right after detaching the session, and each cancellation must
        still reach the upstream (``notifications/cancelled``) before its client closes."""
        with anyio.move_on_after(REAP_GRACE):
            while instance.calls:  # noqa: ASYNC110  (calls end in other tasks; no event to wait on)
                await anyio.sleep(0.01)
        instance.stop()

    def capabilities(self) -> dict[str, Any]:
        # Everything a mounted server may offer; lists are empty while an upstream is down.
        return {
            "logging": {},
            "tools": {"listChanged": True},
            "prompts": {"listChanged": True},
            "resources": {"subscribe": True, "listChanged": True},
            "completions": {},
        }

    def _start(self, upstream: Upstream, session: Any) -> Instance:
        if self._group is None:
            raise UsageError("the gateway is not running: serve it inside 'async with gateway:'")
        instance = Instance(upstream, {})
        instance.relay.update(self._relay_handlers(instance))
        if session is not None:
            # A legacy session's own upstream speaks legacy too: resources/subscribe, the
            # GET stream and roots notifications exist only there (2025-11-25 lifecycle).
            instance.relay["era"] = "legacy"
        instance.catalogue = Catalogue(upstream)
        instance.session = session
        if session is None:
            self._shared[upstream] = instance
        else:
            self._sessions[upstream, session] = instance
        self._group.start_soon(instance.run)
        return instance

    async def _instance(self, upstream: Upstream, ctx: Context) -> Instance:
        session = (
            ctx.request_context.connection if upstream.per_session and ctx.era.value == "legacy" else None
        )
        current = self._shared.get(upstream) if session is None else self._sessions.get((upstream, session))
        if current is not None and not current.dead:
            return current
        if current is None and session is not None and len(self._sessions) >= self.max_session_clients:
            raise ServerOverloaded(
                f"the gateway holds {self.max_session_clients} sessions' upstream clients; retry later"
            )
        if current is not None:  # it died: start it again, though not in a tight loop
            await anyio.sleep(max(0.0, current.started + RESTART_DELAY - time.monotonic()))
            replacement = (
                self._shared.get(upstream) if session is None else self._sessions.get((upstream, session))
            )
            if replacement is not current and replacement is not None:
                return replacement  # another request restarted it meanwhile
        return self._start(upstream, session)

    def _relay_handlers(self, instance: Instance) -> dict[str, Any]:
        async def elicit(params: dict[str, Any]) -> dict[str, Any]:
            return await ask_downstream(instance, "elicitation/create", params)

        async def sample(params: dict[str, Any]) -> dict[str, Any]:
            return await ask_downstream(instance, "sampling/createMessage", params)

        async def notified(method: str, params: dict[str, Any]) -> None:
            await self._upstream_notification(instance, method, params)

        return {
            "elicitation_handler": elicit,
            "sampling_handler": sample,
            "on_notification": notified,
            "roots": [],
            "log_level": "debug",
        }

    # -- notifications from upstream ------------------------------------------------------

    async def _upstream_notification(self, instance: Instance, method: str, params: dict[str, Any]) -> None:
        only = self._audience(instance)
        if method == "notifications/message":
            if instance.calls:  # it belongs to the request in flight: its client hears it
                ctx = instance.calls[-1].ctx
                level = params.get("level") if params.get("level") in _LEVELS else "info"
                await ctx.log(level, params.get("data"), params.get("logger"))
            else:
                await self.notify_all(method, params, only=only)
        elif method in (
            "notifications/tools/list_changed",
            "notifications/prompts/list_changed",
            "notifications/resources/list_changed",
        ):
            instance.catalogue.stale = True
            await self.notify_all(method, only=only)
        elif method == "notifications/resources/updated" and isinstance(params.get("uri"), str):
            uri = params["uri"]
            await self.notify_all(
                method, {"uri": uri}, only=lambda c: uri in c.subscriptions and (only is None or only(c))
            )

    def _audience(self, instance: Instance) -> Callable[[Any], bool] | None:
        """The connections an instance's unrelated notifications go to: its session's, or all."""
        session = instance.session
        return None if session is None else (lambda connection: connection is session)

    async def _roots_changed(self, connection: Any, params: dict[str, Any]) -> None:
        """notifications/roots/list_changed from a client: the upstreams that see its roots
        fetch them again before their next call."""
        for instance in [*self._sessions.values(), *self._shared.values()]:
            if instance.session is connection or (instance.session is None and self.single_client):
                instance.roots_stale = True

    async def _sync_roots(self, instance: Instance, ctx: Context, client: Client) -> None:
        """Give an upstream that serves one client that client's roots (2025-11-25
        client/roots): fetched from the client on the first call and after it says they
        changed. A shared upstream serving many clients gets none (whose would they be?)."""
        if not instance.roots_stale or (instance.session is None and not self.single_client):
            return
        peer = ctx.peer
        if ctx.era.value != "legacy" or peer is None or "roots" not in peer.client_capabilities:
            return
        instance.roots_stale = False
        try:
            roots = await ctx.list_roots()
            await client.set_roots([{"uri": r.uri, **({"name": r.name} if r.name else {})} for r in roots])
        except Exception as exc:  # best effort: the call itself goes on
            log.info("could not pass the client's roots to %s: %s", instance.upstream.label, exc)

    # -- catalogues -------------------------------------------------------------------------

    async def _fresh(self, instance: Instance) -> Catalogue:
        """The instance's lists, fetched first if stale, within ``list_timeout``; an upstream
        that cannot answer in time contributes nothing this once (logged)."""
        catalogue: Catalogue = instance.catalogue
        with anyio.move_on_after(self.list_timeout) as scope:
            async with catalogue.lock:
                if catalogue.stale:
                    try:
                        client = await instance.get()
                        for method in KINDS:
                            if CAPABILITY[method] in client.server_capabilities:
                                catalogue.store(method, await _collect(client, method))
                        catalogue.stale = False
                    except Exception as exc:
                        log.warning(
                            "upstream %s: could not list what it offers: %s", instance.upstream.label, exc
                        )
        if scope.cancelled_caught:
            log.warning(
                "upstream %s: no list within %g s; left out", instance.upstream.label, self.list_timeout
            )
        return catalogue

    async def _catalogues(self, ctx: Context) -> list[Catalogue]:
        """Every upstream's lists as this request's client sees them, fetched concurrently
        (a slow upstream delays the merge by ``list_timeout`` at most)."""
        found: dict[int, Catalogue] = {}

        async def one(index: int, upstream: Upstream) -> None:
            try:
                found[index] = await self._fresh(await self._instance(upstream, ctx))
            except Exception as exc:  # no instance (over the session bound): nothing from it
                log.warning("upstream %s: %s", upstream.label, exc)

        async with anyio.create_task_group() as group:
            for index, upstream in enumerate(self.upstreams):
                group.start_soon(one, index, upstream)
        return [found[i] for i in sorted(found)]

    async def _list(self, sctx: Sctx, params: dict[str, Any], method: str) -> dict[str, Any]:
        catalogues = await self._catalogues(Context(sctx, self))
        items = [item for catalogue in catalogues for item in catalogue.get(method)]
        result = page(KINDS[method][0], items, params.get("cursor"), self.page_size)
        if self.is_modern(sctx):
            # Cache hints (2026-07-28): the merged list changes whenever an upstream's does.
            result.update(ttlMs=0, cacheScope="public")
        return result

    # -- routing ------------------------------------------------------------------------------

    def _by_name(self, name: Any, kind: str) -> tuple[Upstream, str]:
        if isinstance(name, str):
            for upstream in sorted(self.upstreams, key=lambda u: u.prefix is None):  # prefixed first
                own = upstream.own(name)
                if own is not None:
                    return upstream, own
        raise InvalidParams(
            f"Unknown {kind} {str(name)[:80]!r}; call {kind}s/list for the available {kind}s",
            {"name": name if isinstance(name, str) else None},
        )

    async def _by_uri(self, sctx: Sctx, uri: Any) -> Upstream:
        if not isinstance(uri, str) or not uri:
            raise InvalidParams("params.uri must be a non-empty string")
        if len(self.upstreams) == 1:
            return self.upstreams[0]
        for catalogue in await self._catalogues(Context(sctx, self)):
            if catalogue.has_uri(uri):
                return catalogue.upstream
        raise InvalidParams(
            f"Unknown resource {uri[:200]!r}; call resources/list for the available resources", {"uri": uri}
        )

    # -- relaying ---------------------------------------------------------------------------

    async def _relay(
        self, sctx: Sctx, upstream: Upstream, method: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        ctx = Context(sctx, self)
        instance = await self._instance(upstream, ctx)
        client = await instance.get()
        await self._sync_roots(instance, ctx, client)

        async def progress(value: float, total: float | None, message: str | None) -> None:
            await ctx.report_progress(value, total, message)

        async def call() -> dict[str, Any]:
            return await client.request(method, params, on_progress=progress)

        try:
            result = await RelayCall(ctx, instance).run(call)
        except (ConnectionClosed, ConnectError) as exc:
            instance.mark_dead(str(exc))
            raise UpstreamUnavailable(upstream.label, str(exc)) from None
        except RequestTimeout as exc:
            raise UpstreamUnavailable(upstream.label, str(exc)) from None
        return _own_result(result)

    def _register(self) -> None:
        for method in KINDS:
            self.method(method)(_bind(self._list, method))
        self.method("tools/call")(self._call_tool)
        self.method("prompts/get")(self._get_prompt)
        self.method("resources/read")(self._read)
        self.method("resources/subscribe", modern=False)(self._subscribe)
        self.method("resources/unsubscribe", modern=False)(self._unsubscribe)
        self.method("completion/complete")(self._complete)
        self.on_notification("notifications/roots/list_changed")(self._roots_changed)

    async def _call_tool(self, sctx: Sctx, params: dict[str, Any]) -> dict[str, Any]:
        upstream, name = self._by_name(params.get("name"), "tool")
        return await self._relay(sctx, upstream, "tools/call", {**_forwarded(params), "name": name})

    async def _get_prompt(self, sctx: Sctx, params: dict[str, Any]) -> dict[str, Any]:
        upstream, name = self._by_name(params.get("name"), "prompt")
        return await self._relay(sctx, upstream, "prompts/get", {**_forwarded(params), "name": name})

    async def _read(self, sctx: Sctx, params: dict[str, Any]) -> dict[str, Any]:
        upstream = await self._by_uri(sctx, params.get("uri"))
        result = await self._relay(sctx, upstream, "resources/read", _forwarded(params))
        if self.is_modern(sctx):
            result.update(ttlMs=0, cacheScope="private")  # contents may change and differ per client
        return result

    async def _subscribe(self, sctx: Sctx, params: dict[str, Any]) -> dict[str, Any]:
        upstream = await self._by_uri(sctx, params.get("uri"))
        await self._relay(sctx, upstream, "resources/subscribe", _forwarded(params))
        sctx.connection.subscriptions.add(params["uri"])
        return {}

    async def _unsubscribe(self, sctx: Sctx, params: dict[str, Any]) -> dict[str, Any]:
        upstream = await self._by_uri(sctx, params.get("uri"))
        sctx.connection.subscriptions.discard(params["uri"])
        await self._relay(sctx, upstream, "resources/unsubscribe", _forwarded(params))
        return {}

    async def _complete(self, sctx: Sctx, params: dict[str, Any]) -> dict[str, Any]:
        raw_ref = params.get("ref")
        ref: dict[str, Any] = raw_ref if isinstance(raw_ref, dict) else {}
        forwarded = _forwarded(params)
        if ref.get("type") == "ref/prompt":
            upstream, name = self._by_name(ref.get("name"), "prompt")
            forwarded["ref"] = {**ref, "name": name}
        else:
            upstream = await self._by_uri(sctx, ref.get("uri"))
        return await self._relay(sctx, upstream, "completion/complete", forwarded)


_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")


async def _collect(client: Client, method: str) -> list[dict[str, Any]]:
    lists = {
        "tools/list": client.list_tools,
        "prompts/list": client.list_prompts,
        "resources/list": client.list_resources,
        "resources/templates/list": client.list_resource_templates,
    }
    return await lists[method]()


def _bind(
    fn: Callable[[Sctx, dict[str, Any], str], Awaitable[dict[str, Any]]], method: str
) -> Callable[[Sctx, dict[str, Any]], Awaitable[dict[str, Any]]]:
    async def handler(sctx: Sctx, params: dict[str, Any]) -> dict[str, Any]:
        return await fn(sctx, params, method)

    return handler


def _forwarded(params: dict[str, Any]) -> dict[str, Any]:
    """A request's params as the upstream gets them: without the downstream's protocol
    envelope, progress token and MRTR fields (the gateway's own client adds its own)."""
    out = {k: v for k, v in params.items() if k not in ("_meta", "inputResponses", "requestState")}
    meta = params.get("_meta")
    if isinstance(meta, dict):
        kept = {k: v for k, v in meta.items() if not k.startswith(_META_PREFIX) and k != "progressToken"}
        if kept:
            out["_meta"] = kept
    return out


def _own_result(result: dict[str, Any]) -> dict[str, Any]:
    """An upstream's result without what describes the upstream itself (its 2026-07-28
    resultType, serverInfo and cache hints): the gateway answers with its own."""
    out = {k: v for k, v in result.items() if k not in ("resultType", "ttlMs", "cacheScope")}
    meta = out.get("_meta")
    if isinstance(meta, dict) and _SERVER_INFO in meta:
        rest = {k: v for k, v in meta.items() if k != _SERVER_INFO}
        if rest:
            out["_meta"] = rest
        else:
            del out["_meta"]
    return out
