"""The Streamable HTTP endpoint (2025-11-25 basic/transports#streamable-http): one MCP
endpoint as a lean pure-ASGI app, serving both protocol eras.

Each POST is classified by :func:`classify_post`: 2026-07-28 requests are answered
statelessly by :mod:`.modern`; everything else goes to the session leg of :mod:`.legacy`.
GET and DELETE without a session id are 405 (``Allow: POST``), as on a modern-only server.

Session state lives behind :class:`~mcp_transport.state.shared.SharedState`: the SessionStore
holds session records, the EventLog holds every SSE stream (writers append, responses tail
it, ``Last-Event-ID`` resumes it); with several workers (Redis), the inbox and broadcast
channel carry what one worker must tell another (:mod:`.cluster`) and the worker registry
notices a worker that died. The endpoint knows the application only through
:class:`mcp_transport.connection.Application`.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

import anyio
from anyio.abc import TaskGroup

from ... import jsonrpc, telemetry
from ...connection import Application
from ...errors import (
    HeaderMismatch,
    InvalidRequest,
    RequestTooLarge,
    ResumeGap,
    RPCError,
    SessionNotFound,
    StateUnavailable,
    UnsupportedProtocolVersion,
)
from ...jsonrpc import InvalidMessage, Message, Notification, Request
from ...principal import Principal, current_identity, current_principal
from ...protocol import LEGACY_VERSIONS, claims_modern
from ...state.cluster import NOTIFY, Cluster, ClusterMember
from ...state.events import EventLog
from ...state.session_store import SessionStore
from ...state.shared import SharedState
from . import sse
from .asgi import (
    HTTPError,
    Receive,
    Scope,
    Send,
    check_post_headers,
    header_dict,
    retry_after,
    send_error,
    tag_worker,
)
from .cluster import ClusterLink
from .legacy import LegacyLeg, LegacyOptions
from .modern import ModernLeg
from .security import DEFAULT_MAX_BODY_BYTES, OriginPolicy, read_body
from .sessions import SESSION_HEADER
from .status import StatusCollector
from .streams import Streams

__all__ = [
    "DEFAULT_INIT_TIMEOUT",
    "DEFAULT_MAX_SESSIONS",
    "DEFAULT_SESSION_IDLE_TIMEOUT",
    "PRINCIPAL_KEY",
    "Authenticator",
    "Leg",
    "StreamableHTTP",
    "claims_modern_header",
    "classify_post",
]

log = logging.getLogger("mcp_transport.http")

# Session bounds: a client that never sends DELETE must not leak memory (docs/http-server.md).
DEFAULT_SESSION_IDLE_TIMEOUT = 30 * 60.0  # from the end of the last in-flight request
DEFAULT_MAX_SESSIONS = 10_000  # then 503 + Retry-After (the official SDK's cap since PR #3395)
DEFAULT_INIT_TIMEOUT = 60.0  # a session that never completes initialize
DEFAULT_RETRY_AFTER = 5  # seconds, on 503


# Where admit() leaves the verified principal in the ASGI scope (as Starlette's "user").
PRINCIPAL_KEY = "mcp_transport.principal"


class Authenticator(Protocol):
    """What a protected endpoint needs of its authorization (``mcp_transport.auth.ResourceServer``):
    each refusal is an :class:`HTTPError` carrying its ``WWW-Authenticate`` challenge."""

    def metadata(self) -> dict[str, Any]:
        """The protected resource metadata document (RFC 9728 §2)."""
        ...

    def metadata_paths(self, endpoint_path: str) -> set[str]:
        """The request paths that serve it."""
        ...

    async def authenticate(self, headers: Mapping[str, str], query_string: bytes) -> Principal:
        """The request's principal, or HTTPError 400/401/403."""
        ...

    def insufficient_scope(self, missing: list[str], what: str) -> HTTPError:
        """The 403 step-up refusal for ``what``, which needs ``missing``."""
        ...

    # Optionally ``async def aclose(self) -> None``: called when the endpoint shuts down, to
    # release what checking tokens holds (HTTP clients of the JWKS fetch, introspection).


class Leg(enum.Enum):
    LEGACY = "legacy"
    MODERN = "modern"


def classify_post(
    headers: dict[str, str],
    message: Message | list[Message],
    *,
    live_session: bool = False,
    modern_header: bool | None = None,
) -> Leg:
    """The one place that decides which leg serves a POST (2026-07-28
    basic/transports#backwards-compatibility): the body first, the header as a cross-check.

    * a request whose ``params._meta`` carries a protocol version is modern, whatever
      ``Mcp-Session-Id`` it also carries (a malformed envelope is then refused by the modern
      leg, never served as legacy);
    * ``initialize`` without that claim is legacy;
    * otherwise an ``MCP-Protocol-Version`` header naming 2026-07-28 or a version we do not
      know makes it modern, unless it belongs to a live legacy session (``live_session``);
      the official suite sends such requests without ``_meta`` and expects the modern 400;
    * a batch with any modern element is modern (and refused); anything else (no claim, a
      legacy header, responses) is legacy.

    ``modern_header``: :func:`claims_modern_header` of ``headers`` when the caller has it.
    """
    if isinstance(message, list):  # batches exist only in 2025-03-26; the modern leg refuses them
        return Leg.MODERN if any(claims_modern(m) for m in message) else Leg.LEGACY
    if isinstance(message, Request):
        if claims_modern(message):
            return Leg.MODERN
        if message.method == "initialize":
            return Leg.LEGACY
    elif not isinstance(message, Notification):
        return Leg.LEGACY
    if modern_header is None:
        modern_header = claims_modern_header(headers)
    if modern_header and not live_session:
        return Leg.MODERN
    return Leg.LEGACY


def claims_modern_header(headers: dict[str, str]) -> bool:
    """Whether ``MCP-Protocol-Version`` names a version that is not a 2025-era one."""
    version = headers.get("mcp-protocol-version")
    return version is not None and version.strip(" \t") not in LEGACY_VERSIONS


class StreamableHTTP:
    """The MCP endpoint as a pure ASGI app (mount it at the endpoint path).

    Options (defaults in brackets): ``response_mode`` "auto" | "json" | "sse" [auto: JSON
    unless the handler sends a related message first]; ``get_stream`` [True; False -> GET
    is 405]; ``allow_delete`` [True]; ``session_idle_timeout`` [1800 s]; ``max_sessions``
    [10,000 -> 503]; ``init_timeout`` [60 s]; ``max_body_bytes`` [4 MiB -> 413];
    ``keepalive`` [15 s]; ``retry_ms`` [1000]; ``allowed_hosts`` / ``allowed_origins``
    [loopback rule]; ``principal(scope) -> str | None`` binds sessions to an identity;
    ``auth``: an :class:`Authenticator` (``mcp_transport.auth.ResourceServer``) every request must
    satisfy (its verified principal then binds sessions, MRTR state and tasks);
    ``state`` [in memory: :meth:`SharedState.memory`]: where sessions and streams live,
    ``SharedState.redis(url)`` for several workers; ``event_log`` / ``sessions`` replace
    one part of the in-memory state (not with ``state``). With shared state, an
    application that is a :class:`~mcp_transport.state.cluster.ClusterMember` (an ``MCPServer``)
    joins the cluster here: shared tasks, notifications fanned out to every worker.
    ``status_page`` [False] collects what ``/mcp/status`` shows (:mod:`.status`; served by
    :class:`.app.HTTPApp`).
    """

    def __init__(
        self,
        app: Application,
        *,
        response_mode: str = "auto",
        get_stream: bool = True,
        allow_delete: bool = True,
        session_idle_timeout: float = DEFAULT_SESSION_IDLE_TIMEOUT,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        init_timeout: float = DEFAULT_INIT_TIMEOUT,
        retry_after: int = DEFAULT_RETRY_AFTER,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        keepalive: float = sse.DEFAULT_KEEPALIVE_SECONDS,
        retry_ms: int = sse.DEFAULT_RETRY_MS,
        allowed_hosts: Iterable[str] | None = None,
        allowed_origins: Iterable[str] | None = None,
        principal: Callable[[Scope], str | None] | None = None,
        auth: Authenticator | None = None,
        event_log: EventLog | None = None,
        sessions: SessionStore | None = None,
        state: SharedState | None = None,
        status_page: bool = False,
    ) -> None:
        if response_mode not in ("auto", "json", "sse"):
            raise ValueError(f"response_mode must be 'auto', 'json' or 'sse', not {response_mode!r}")
        if state is None:
            state = SharedState.memory(events=event_log, sessions=sessions)
        elif event_log is not None or sessions is not None:
            raise ValueError("pass the event log and session store in state=, not beside it")
        self.app = app
        self.get_stream = get_stream
        self.idle_timeout = session_idle_timeout
        self.max_sessions = max_sessions
        self.init_timeout = init_timeout
        self.max_body_bytes = max_body_bytes
        self.policy = OriginPolicy(allowed_hosts, allowed_origins)
        self.auth = auth
        if auth is not None and principal is None:
            principal = _verified_identity  # a session belongs to the principal that created it
        self.state = state
        self.log: EventLog = state.events
        self.sessions: SessionStore = state.sessions
        self.cluster = ClusterLink(state) if state.shared else None
        self.members: Cluster | None = None  # the application's side of the cluster
        members = None
        if self.cluster is not None and isinstance(app, ClusterMember):
            from ...state.redis import RedisCluster  # shared state is Redis (an optional extra)

            assert state.connection and state.registry and state.broadcast  # shared: all there
            members = self.members = RedisCluster(state.connection, state.registry, state.broadcast)
            app.join_cluster(members)  # ValueError (say, no shared MRTR keys): refused now
            self.cluster.handlers[NOTIFY] = members.received
        self.streams = Streams(
            self.log,
            self.sessions,
            get_stream=get_stream,
            keepalive=keepalive,
            retry_ms=retry_ms,
            writers=state.writers,
        )
        options = LegacyOptions(response_mode, allow_delete, max_sessions, retry_after, principal)
        self.legacy = LegacyLeg(app, options, state, self.streams, self.cluster)
        if members is not None:  # a session whose GET holder died still gets its notifications
            members.on_unheld(self.legacy.deliver_unheld)
        self.modern = ModernLeg(app, response_mode=response_mode, keepalive=keepalive)
        self.status: StatusCollector | None = StatusCollector() if status_page else None
        self._tg: TaskGroup | None = None
        self._started: anyio.Event | None = None
        self._runner: asyncio.Task[None] | None = None

    # -- runtime (started lazily: mounting without lifespan events must work) ---------------

    async def _ensure_started(self) -> TaskGroup:
        if self._tg is None:
            if self._started is None:
                self._started = anyio.Event()
                self._runner = asyncio.get_running_loop().create_task(self._run())
            await self._started.wait()
        tg = self._tg
        assert tg is not None  # set by _run before it sets _started
        return tg

    async def _run(self) -> None:
        """The background task group (handler tasks, stream tailers) and the sweeper that
        expires idle sessions and old events."""
        try:
            async with anyio.create_task_group() as tg, self._registered():
                self._tg = self.streams.task_group = tg
                if self.cluster is not None:
                    self.cluster.run(tg)
                if self.members is not None:
                    tg.start_soon(self.members.run)
                assert self._started is not None
                self._started.set()
                interval = min(max(min(self.idle_timeout, self.init_timeout) / 4, 0.05), 5.0)
                try:
                    while True:
                        await anyio.sleep(interval)
                        await self._sweep()
                finally:
                    await self._flush_sessions()  # while this worker still holds its lease
        finally:
            # If the group ever fails, the next request starts a fresh one.
            self._tg = self.streams.task_group = self._started = None

    def _registered(self) -> contextlib.AbstractAsyncContextManager[object]:
        """With several workers: this worker's lease in the registry, and the clean-up
        after each worker whose lease lapses (claimed by exactly one survivor)."""
        registry = self.state.registry
        return contextlib.nullcontext() if registry is None else registry.running(self._worker_lapsed)

    async def _worker_lapsed(self, dead: str) -> None:
        """Worker ``dead`` stopped: its streams get their WorkerStopped error, its busy
        marks go (its sessions live on, served by any other worker)."""
        ended = await self.legacy.end_orphans(dead)
        freed = await self.state.release_worker(dead)
        log.warning("worker %s stopped: ended %d of its streams, freed %d sessions", dead, ended, freed)

    async def _flush_sessions(self) -> None:
        """The worker stops: the busy marks it still has on sessions go now (one that stops
        cleanly is never claimed as dead, so nobody else would clear them). Bounded, shielded."""
        with anyio.CancelScope(shield=True), anyio.move_on_after(5.0):
            try:
                await self.sessions.flush()
            except StateUnavailable as exc:
                log.warning("the sessions' busy marks could not be cleared at shutdown: %s", exc.message)

    async def _sweep(self) -> None:
        try:
            await self.sessions.flush()  # this worker's finished work first: exact idle times
            for record in await self.sessions.expire(time.time(), self.idle_timeout, self.init_timeout):
                await self.legacy.end_session(record.id, "the session expired", removed=True)
            await self.log.sweep()
        except StateUnavailable as exc:  # Redis is away: the next sweep does it (no traceback)
            log.warning("session sweep skipped: %s", exc.message)
        except Exception:  # the sweeper must outlive any one bad session
            log.exception("session sweep failed")

    def shutting_down(self) -> None:
        """The server is stopping: end open ``subscriptions/listen`` streams gracefully (each
        gets its result) so the connections can close. Sync; safe to call twice."""
        self.app.shutting_down()

    async def aclose(self) -> None:
        """End this worker's sessions and stop the background task group (lifespan
        shutdown). With one worker the sessions go; with several their records stay for
        the other workers, and the streams this worker was answering end with
        WorkerStopped (their requests die with it)."""
        self.shutting_down()
        if self.cluster is None:
            for session_id in list(self.legacy.live):
                await self.legacy.end_session(session_id, "the server is shutting down")
        else:
            # The error events first: ending the live sessions cancels their handlers,
            # which then take their entries out of the writer table.
            with contextlib.suppress(Exception):
                await self.legacy.end_orphans(self.state.worker)
            self.legacy.end_live("the server is shutting down")
        if self._tg is not None:
            self._tg.cancel_scope.cancel()
        if self._runner is not None:
            with anyio.CancelScope(shield=True):
                await asyncio.gather(self._runner, return_exceptions=True)
        self._tg = self._started = self._runner = None
        await self._flush_sessions()  # what requests that ended since released
        close_auth = getattr(self.auth, "aclose", None)
        if close_auth is not None:
            try:
                await close_auth()
            except Exception:  # a failing close must not fail the rest of the shutdown
                log.exception("closing the authorization's resources failed")

    # -- ASGI -------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(self, receive, send)
            return
        if scope["type"] != "http":
            return
        send = tag_worker(send)
        headers, problem = self._screen(scope)
        # Nothing to refuse and no token to check: admitted with no coroutine to await.
        needs_admit = problem is not None or self.auth is not None
        if needs_admit and not await self._admit(scope, send, headers, problem):
            return
        reset = current_principal.set(scope.get(PRINCIPAL_KEY))
        try:
            if scope["method"] == "POST":  # nearly every request: one coroutine fewer than _route
                await self._post(scope, receive, send, headers)
            else:
                await self._route(scope, receive, send, headers)
        except HTTPError as exc:
            telemetry.count("rejected", reason=rejection(exc.status, exc.error))
            await send_error(send, exc.status, exc.error, headers=exc.headers, id=exc.id)
        except RPCError as exc:  # RequestTooLarge (413), ResumeGap (409), StateUnavailable (503)
            telemetry.count("rejected", reason=rejection(exc.http_status, exc))
            await send_error(send, exc.http_status, exc, headers=retry_after(exc))
        finally:
            current_principal.reset(reset)

    async def admit(self, scope: Scope, send: Send) -> dict[str, str] | None:
        """The request's headers, or None once it was refused: the checks every request to
        this endpoint passes, the status page's included: Host/Origin, then with ``auth`` the
        access token, on every method and in both eras (2026-07-28
        basic/authorization#token-requirements); its principal goes to ``scope[PRINCIPAL_KEY]``."""
        headers, problem = self._screen(scope)
        return headers if await self._admit(scope, send, headers, problem) else None

    def _screen(self, scope: Scope) -> tuple[dict[str, str], str | None]:
        """The request's headers and what is wrong with its Host/Origin (None: nothing)."""
        headers = header_dict(scope["headers"])
        return headers, self.policy.check(scope, headers.get("host"), headers.get("origin"))

    async def _admit(self, scope: Scope, send: Send, headers: dict[str, str], problem: str | None) -> bool:
        """Refuse a request with a Host/Origin ``problem`` (403); with ``auth``, check its
        token. False once the refusal is sent."""
        if problem is not None:
            telemetry.count("rejected", reason="host" if problem.startswith("Host") else "origin")
            await send_error(send, 403, InvalidRequest(f"Forbidden: {problem}"))
            return False
        if self.auth is not None:
            try:
                scope[PRINCIPAL_KEY] = await self.auth.authenticate(headers, scope.get("query_string", b""))
            except HTTPError as exc:
                await send_error(send, exc.status, exc.error, headers=exc.headers, id=exc.id)
                return False
        return True

    async def _route(self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        method = scope["method"]
        if method in ("GET", "DELETE") and SESSION_HEADER not in headers:
            raise HTTPError(
                405,
                InvalidRequest(
                    f"Method {method} not allowed without a session: 2026-07-28 clients POST every request; "
                    "GET and DELETE exist only for sessions made by initialize (send their Mcp-Session-Id)"
                ),
                headers=[(b"allow", b"POST")],
            )
        if method == "POST":
            await self._post(scope, receive, send, headers)
        elif method == "GET":
            await self._ensure_started()
            if self.status is None:
                await self.legacy.get(scope, receive, send, headers)
                return
            session = headers[SESSION_HEADER]
            self.status.stream(session, +1)
            try:
                await self.legacy.get(scope, receive, send, headers)
            finally:
                self.status.stream(session, -1)
        elif method == "DELETE":
            await self._ensure_started()
            await self.legacy.delete(scope, send, headers)
        else:
            allow = "GET, POST, DELETE" if self.get_stream else "POST, DELETE"
            raise HTTPError(
                405,
                InvalidRequest(f"Method {method} not allowed; the MCP endpoint accepts {allow}"),
                headers=[(b"allow", allow.encode())],
            )

    async def _post(self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        accept_json, accept_sse = check_post_headers(headers)
        body = await read_body(receive, self.max_body_bytes, headers.get("content-length"))
        try:
            message = jsonrpc.parse(body, allow_batch=True)
        except InvalidMessage as exc:
            raise HTTPError(400, InvalidRequest(exc.message, code=exc.code), id=exc.id) from None
        self._check_scopes(message)
        tg = self._tg if self._tg is not None else await self._ensure_started()  # no await once running
        session_id = headers.get(SESSION_HEADER)
        modern_header = claims_modern_header(headers)
        live = (
            modern_header
            and session_id is not None
            and await self.sessions.get(session_id.strip()) is not None
        )
        leg = classify_post(headers, message, live_session=live, modern_header=modern_header)
        watch = None
        if self.status is not None:  # the status page's one seam: time the POST, look at its answer
            watch = send = self.status.watch(send, message, leg.value, session_id)
        try:
            if leg is Leg.MODERN:
                await self.modern.post(
                    message,
                    headers,
                    receive,
                    send,
                    accept_json=accept_json,
                    accept_sse=accept_sse,
                    task_group=tg,
                )
            else:
                await self.legacy.post(scope, message, send, headers, tg, accept_json, accept_sse)
        finally:
            if watch is not None:
                watch.finish()

    def _check_scopes(self, message: Message | list[Message]) -> None:
        """A 403 step-up before dispatch when the tool/resource/prompt a request names needs
        scopes its token lacks (2026-07-28 basic/authorization#runtime-insufficient-scope-errors).
        The handler checks again (batches, other transports) with a JSON-RPC error."""
        principal = current_principal.get()
        if principal is None or self.auth is None or not isinstance(message, Request):
            return
        required = self.app.required_scopes(message.method, message.params or {})
        missing = principal.missing(required)
        if missing:
            refusal = self.auth.insufficient_scope(missing, _what(message))
            refusal.id = message.id
            raise refusal


def _verified_identity(scope: Scope) -> str | None:
    return current_identity()


def _what(request: Request) -> str:
    params = request.params or {}
    name = params.get("name", params.get("uri"))
    return f"{request.method} {name!r}" if isinstance(name, str) else request.method


_REJECTIONS: tuple[tuple[type[RPCError], str], ...] = (
    (RequestTooLarge, "size"),
    (SessionNotFound, "session"),
    (UnsupportedProtocolVersion, "version"),
    (HeaderMismatch, "headers"),
    (ResumeGap, "resume_gap"),
    (StateUnavailable, "state_unavailable"),
)


def rejection(status: int, error: RPCError) -> str:
    """The ``reason`` label of a request refused before dispatch (mcp.server.requests.rejected)."""
    for kind, reason in _REJECTIONS:
        if isinstance(error, kind):
            return reason
    if "Protocol-Version" in error.message:  # a legacy session's version header mismatch
        return "version"
    return "http" if status in (405, 406, 415) else "invalid"


async def _lifespan(app: StreamableHTTP, receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await app._ensure_started()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await app.aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return
