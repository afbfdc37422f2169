"""OpenTelemetry traces and metrics for every request the dispatcher handles or sends.

Built on ``opentelemetry-api`` only: without an SDK (or with the API's no-op providers) the
hooks cost one attribute test per request (``STATE.on``), resolved on the first request. An
application turns telemetry on by installing the SDK's providers globally before it serves,
or by passing providers to :func:`configure`; ``mcp_transport.telemetry_sdk`` builds them
from the standard ``OTEL_*`` variables (``--otel``).

Traces follow the OpenTelemetry semantic conventions for MCP: a SERVER span per inbound
request and a CLIENT span per outbound one, named ``{mcp.method.name} {target}`` (the tool or
prompt name), with ``mcp.method.name``, ``mcp.protocol.version``, ``mcp.session.id``,
``jsonrpc.request.id``, ``gen_ai.tool.name`` and, on failure, ``error.type`` and
``rpc.response.status_code``. The trace context travels in ``params._meta`` under the
unprefixed W3C keys ``traceparent``, ``tracestate`` and ``baggage``
(2026-07-28 basic/index#_meta, the trace context keys), in both eras and on every transport,
because the dispatcher is where every request is sent and received.

Metrics (the instruments are listed in docs/guides/observability.md) go through the same
switch: with no meter provider nothing is recorded.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import metrics, propagate, trace
from opentelemetry.propagators.textmap import Getter

from .jsonrpc import ErrorResponse, Request, Response, Result

__all__ = [
    "INSTRUMENTATION",
    "SESSION_ID",
    "STATE",
    "answering",
    "call",
    "configure",
    "count",
    "rounds",
    "serve",
    "shift",
]

INSTRUMENTATION = "mcp_transport"

log = logging.getLogger("mcp_transport.telemetry")

# The transport that knows the MCP session (legacy HTTP) sets it around a request it runs.
SESSION_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("mcp_session_id", default=None)


class _Rounds:
    """The rounds of one multi-round request (2026-07-28 basic/patterns/mrtr): every round
    is a request of its own; the second and later are children of the first's CLIENT span,
    so the rounds of one tool call form one trace even when the caller traces nothing."""

    __slots__ = ("first", "last", "number")

    def __init__(self) -> None:
        self.first: trace.Span | None = None
        self.last: trace.Span | None = None  # the round whose input requests are being answered
        self.number = 0


_ROUNDS: contextvars.ContextVar[_Rounds | None] = contextvars.ContextVar("mcp_rounds", default=None)

# The semantic conventions' advice for mcp.*.operation.duration (seconds).
_DURATION_BUCKETS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300)
_TRACE_KEYS = ("traceparent", "tracestate", "baggage")


class _Instruments:
    """Every instrument, created once per meter provider."""

    def __init__(self, meter: metrics.Meter) -> None:
        self.requests = meter.create_counter(
            "mcp.server.requests",
            description="Inbound MCP requests by method and outcome (ok|error|cancelled)",
        )
        self.duration = meter.create_histogram(
            "mcp.server.operation.duration",
            unit="s",
            description="MCP request duration as observed on the receiver",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self.client_duration = meter.create_histogram(
            "mcp.client.operation.duration",
            unit="s",
            description="MCP request duration as observed on the sender",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        # Everything else is a named count; an up-down counter where the value goes down too.
        self.counts: dict[str, metrics.Counter | metrics.UpDownCounter] = {
            key: (meter.create_up_down_counter if down else meter.create_counter)(name, description=text)
            for key, down, name, text in _COUNTS
        }


# (key for count(), goes down too, instrument name, description)
_COUNTS = (
    ("sessions", True, "mcp.server.sessions.active", "Live legacy HTTP sessions on this worker"),
    ("streams", True, "mcp.server.sse.streams.open", "SSE responses being written now"),
    ("tasks", True, "mcp.server.tasks", "Tasks by state (2026-07-28 tasks extension)"),
    ("appended", False, "mcp.server.events.appended", "SSE events written to the event logs"),
    ("replayed", False, "mcp.server.events.replayed", "SSE events sent again to a resuming client"),
    ("resumes", False, "mcp.server.resumes", "Streams resumed with Last-Event-ID"),
    ("resume_gaps", False, "mcp.server.resume.gaps", "Resumes refused: the events after the cursor are gone"),
    ("rejected", False, "mcp.server.requests.rejected", "HTTP requests refused before dispatch, by reason"),
)


class _State:
    __slots__ = ("instruments", "meter_provider", "on", "resolved", "tracer", "tracer_provider")

    def __init__(self) -> None:
        # ``on`` starts True so the first request resolves the global providers (see _resolve).
        self.on = True
        self.resolved = False
        self.tracer_provider: trace.TracerProvider | None = None
        self.meter_provider: metrics.MeterProvider | None = None
        self.tracer: trace.Tracer | None = None
        self.instruments: _Instruments | None = None


STATE = _State()


def configure(
    tracer_provider: trace.TracerProvider | None = None,
    meter_provider: metrics.MeterProvider | None = None,
) -> None:
    """Use these providers (None: the global ones, as they are now). Call before serving, or
    again to switch; the API's own no-op and proxy providers turn telemetry off."""
    STATE.tracer_provider, STATE.meter_provider = tracer_provider, meter_provider
    STATE.resolved = False
    _resolve()


def _resolve() -> None:
    tp = STATE.tracer_provider or trace.get_tracer_provider()
    mp = STATE.meter_provider or metrics.get_meter_provider()
    live_trace = not isinstance(tp, (trace.ProxyTracerProvider, trace.NoOpTracerProvider))
    live_metrics = not isinstance(mp, (metrics.NoOpMeterProvider, _proxy_meter_provider()))
    STATE.tracer = tp.get_tracer(INSTRUMENTATION) if live_trace else None
    STATE.instruments = _Instruments(mp.get_meter(INSTRUMENTATION)) if live_metrics else None
    STATE.on = live_trace or live_metrics
    STATE.resolved = True


def _proxy_meter_provider() -> type:
    # The API exports no name for its proxy meter provider; its type is that of the global
    # provider before any SDK is set.
    from opentelemetry.metrics import _internal

    return _internal._ProxyMeterProvider


# -- inbound ------------------------------------------------------------------------------


class _MetaGetter(Getter[Mapping[str, Any]]):
    """Reads the trace keys of a peer's ``_meta``: strings only (anything else is absent),
    so a hostile value cannot reach the propagators."""

    def get(self, carrier: Mapping[str, Any], key: str) -> list[str] | None:
        value = carrier.get(key)
        return [value] if isinstance(value, str) and len(value) <= 8192 else None

    def keys(self, carrier: Mapping[str, Any]) -> list[str]:
        return [k for k in _TRACE_KEYS if k in carrier]


_GETTER = _MetaGetter()


def _meta(params: Mapping[str, Any] | None) -> Mapping[str, Any]:
    meta = params.get("_meta") if params else None
    return meta if isinstance(meta, dict) else {}


def _extract(params: Mapping[str, Any] | None) -> otel_context.Context | None:
    """The trace context a peer sent in ``_meta``; None (a new trace) when it sent none or
    the configured propagators fail on it: the peer's values must never fail the request."""
    meta = _meta(params)
    if not any(key in meta for key in _TRACE_KEYS):
        return None
    try:
        return propagate.extract(meta, getter=_GETTER)
    except Exception:
        log.debug("ignoring the trace context in _meta", exc_info=True)
        return None


def _describe(method: str, params: Mapping[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """The span name ``{method} {target}`` and the attributes the request itself tells."""
    attributes: dict[str, Any] = {"mcp.method.name": method}
    name = params.get("name") if params else None
    target = None
    if isinstance(name, str) and method in ("tools/call", "prompts/get"):
        target = name[:128]
        if method == "tools/call":
            attributes["gen_ai.tool.name"] = target
            attributes["gen_ai.operation.name"] = "execute_tool"
        else:
            attributes["gen_ai.prompt.name"] = target
    uri = params.get("uri") if params else None
    if isinstance(uri, str) and method.startswith("resources/"):
        attributes["mcp.resource.uri"] = uri[:1024]
    version = _meta(params).get("io.modelcontextprotocol/protocolVersion")
    if isinstance(version, str):
        attributes["mcp.protocol.version"] = version[:32]
    return (f"{method} {target}" if target else method), attributes


def _outcome(response: Response | None, attributes: dict[str, Any], span: trace.Span | None) -> str:
    """ok | error | cancelled, with the error attributes on ``attributes`` and ``span``."""
    if response is None:
        attributes["error.type"] = "cancelled"
        return "cancelled"
    if isinstance(response, ErrorResponse):
        code = str(response.error.code)
        attributes["error.type"] = attributes["rpc.response.status_code"] = code
        if span is not None:
            span.set_status(trace.StatusCode.ERROR, response.error.message[:256])
        return "error"
    if response.result.get("isError") is True:
        attributes["error.type"] = "tool_error"
        if span is not None:
            span.set_status(trace.StatusCode.ERROR, "tool_error")
        return "error"
    return "ok"


async def serve(
    request: Request, peer: Any, respond: Callable[[Request], Awaitable[Result | ErrorResponse]]
) -> Result | ErrorResponse:
    """Run ``respond(request)`` in a SERVER span whose parent is the trace context of the
    request's ``_meta``, and count it."""
    if not STATE.resolved:
        _resolve()
        if not STATE.on:
            return await respond(request)
    name, attributes = _describe(request.method, request.params)
    attributes["jsonrpc.request.id"] = str(request.id)
    # the version a legacy connection negotiated (its PeerState), when the request names none
    version = getattr(getattr(peer, "state", None), "protocol_version", None)
    if "mcp.protocol.version" not in attributes and isinstance(version, str):
        attributes["mcp.protocol.version"] = version
    session = SESSION_ID.get()
    if session is not None:
        attributes["mcp.session.id"] = session
    response: Result | ErrorResponse | None = None
    started = time.perf_counter()
    with _span(name, trace.SpanKind.SERVER, attributes, _extract(request.params)) as span:
        try:
            response = await respond(request)
            return response
        finally:
            outcome = _outcome(response, attributes, span)
            if span is not None:
                span.set_attributes(attributes)
            _record(request.method, outcome, attributes, time.perf_counter() - started)


@contextmanager
def _span(
    name: str,
    kind: trace.SpanKind,
    attributes: dict[str, Any],
    parent: otel_context.Context | None,
    links: list[trace.Link] | None = None,
) -> Iterator[trace.Span | None]:
    tracer = STATE.tracer
    if tracer is None:
        yield None
        return
    with tracer.start_as_current_span(
        name, context=parent, kind=kind, attributes=attributes, record_exception=False
    ) as span:
        yield span


def _record(method: str, outcome: str, attributes: dict[str, Any], seconds: float) -> None:
    """Count one request. Labels stay bounded whatever a peer sends: a method the server does
    not have is ``other``, and a failed request's tool or prompt name (anything the client
    typed) is left out; per-request values (ids, URIs) are on spans only."""
    instruments = STATE.instruments
    if instruments is None:
        return
    failed = "rpc.response.status_code" in attributes
    if failed and attributes["rpc.response.status_code"] == _METHOD_NOT_FOUND:
        method = attributes["mcp.method.name"] = "other"
    instruments.requests.add(1, {"method": method, "outcome": outcome})
    dropped = _FAILED_NOT_ON_METRICS if failed else _NOT_ON_METRICS
    instruments.duration.record(seconds, {k: v for k, v in attributes.items() if k not in dropped})


_METHOD_NOT_FOUND = "-32601"
_NOT_ON_METRICS = frozenset({"jsonrpc.request.id", "mcp.session.id", "mcp.resource.uri"})
_FAILED_NOT_ON_METRICS = _NOT_ON_METRICS | {"gen_ai.tool.name", "gen_ai.prompt.name"}


# -- outbound -----------------------------------------------------------------------------


async def call(
    method: str,
    params: dict[str, Any] | None,
    send: Callable[[dict[str, Any] | None], Awaitable[dict[str, Any]]],
) -> dict[str, Any]:
    """``send(params)`` in a CLIENT span, the span's trace context injected into
    ``params._meta`` (replacing any the params carried, e.g. a gateway forwarding its own
    client's keys)."""
    if not STATE.resolved:
        _resolve()
    if not STATE.on:
        return await send(params)
    name, attributes = _describe(method, params)
    rounds = _ROUNDS.get()
    parent = None
    if rounds is not None:
        rounds.number += 1
        attributes["mcp.request.round"] = rounds.number
        if rounds.first is not None:
            parent = trace.set_span_in_context(rounds.first)
    started = time.perf_counter()
    with _span(name, trace.SpanKind.CLIENT, attributes, parent) as span:
        if rounds is not None:
            rounds.last = span
            if rounds.first is None:
                rounds.first = span
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        if carrier:
            params = dict(params or {})
            params["_meta"] = {**_meta(params), **carrier}
        try:
            return await send(params)
        except Exception as exc:
            code = getattr(exc, "code", None)
            attributes["error.type"] = str(code) if isinstance(code, int) else type(exc).__name__
            if span is not None:
                span.set_status(trace.StatusCode.ERROR, str(exc)[:256])
            raise
        finally:
            if span is not None:
                span.set_attributes(attributes)
            if STATE.instruments is not None:
                attributes.pop("mcp.resource.uri", None)
                STATE.instruments.client_duration.record(time.perf_counter() - started, attributes)


@contextmanager
def rounds() -> Iterator[None]:
    """Around the rounds of one multi-round request: its requests are numbered
    (``mcp.request.round``) and the later ones are children of the first."""
    token = _ROUNDS.set(_Rounds() if STATE.on else None)
    try:
        yield
    finally:
        _ROUNDS.reset(token)


@contextmanager
def answering(method: str) -> Iterator[None]:
    """Around the client's answer to one input request of a round (elicitation, sampling,
    roots: the 2026-07-28 form of a server->client request, basic/patterns/mrtr): a SERVER
    span, as a legacy server->client request gets, under the round that asked."""
    rounds = _ROUNDS.get()
    if STATE.tracer is None or rounds is None or rounds.last is None:
        yield
        return
    parent = trace.set_span_in_context(rounds.last)
    with _span(method, trace.SpanKind.SERVER, {"mcp.method.name": method}, parent):
        yield


def current_span() -> trace.Span | None:
    """The span of the request this task is handling or sending, when tracing is on."""
    if STATE.tracer is None:
        return None
    span = trace.get_current_span()
    return span if span.get_span_context().is_valid else None


# -- counts -------------------------------------------------------------------------------


def count(name: str, amount: int = 1, **attributes: str) -> None:
    """Add ``amount`` to the named count (``sessions``, ``streams``, ``tasks``, ``appended``,
    ``replayed``, ``resumes``, ``resume_gaps``, ``rejected``); nothing when metrics are off."""
    if not STATE.on:
        return
    if not STATE.resolved:
        _resolve()
    instruments = STATE.instruments
    if instruments is not None:
        instruments.counts[name].add(amount, attributes or None)


def shift(name: str, old: str | None, new: str | None, **attributes: str) -> None:
    """Move one unit of an up-down count from the ``state`` ``old`` to ``new`` (tasks)."""
    if old is not None:
        count(name, -1, state=old, **attributes)
    if new is not None:
        count(name, 1, state=new, **attributes)
