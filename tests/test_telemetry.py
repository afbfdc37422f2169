"""OpenTelemetry across processes: one trace from our Client through the gateway
(``mcp-transport proxy``) to servers.everything, over HTTP and stdio, in both eras; spans of
server->client requests and of MRTR rounds; the metrics on a real ``/metrics``.

The gateway and the server are real subprocesses turned on by ``MCP_TRANSPORT_OTEL=1``; they
export their spans with the SDK's OTLP/HTTP exporter to a small OTLP receiver in this test
(real HTTP, protobuf decoded with opentelemetry-proto). The Client runs here, its spans in an
in-memory exporter. Trace context travels only in ``params._meta``
(2026-07-28 basic/index#_meta: ``traceparent``, ``tracestate``, ``baggage``).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mcp_transport import Client, RemoteError, telemetry
from mcp_transport.server import MCPServer
from mcp_transport.server.tasks import MemoryTaskStore
from mcp_transport.testing import MemoryClient
from tests.interop_servers import ServerProcess, free_port, our_server

pytestmark = pytest.mark.anyio

PY = sys.executable
ANSWER = {"action": "accept", "content": {"username": "ada", "email": "ada@example.org"}}


@dataclass(frozen=True)
class Span:
    """One span, wherever it was recorded: ids as hex, as on the wire."""

    name: str
    kind: str  # "SERVER" | "CLIENT"
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, Any]
    links: tuple[str, ...] = ()


class Receiver:
    """An OTLP/HTTP trace receiver on a free loopback port (what a collector does, reduced to
    keeping the spans)."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if self.path == "/v1/traces":
                    receiver.take(ExportTraceServiceRequest.FromString(body))
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def take(self, request: ExportTraceServiceRequest) -> None:
        kinds = {2: "SERVER", 3: "CLIENT"}
        found = [
            Span(
                s.name,
                kinds.get(s.kind, str(s.kind)),
                s.trace_id.hex(),
                s.span_id.hex(),
                s.parent_span_id.hex(),
                {a.key: _value(a.value) for a in s.attributes},
                tuple(link.span_id.hex() for link in s.links),
            )
            for rs in request.resource_spans
            for ss in rs.scope_spans
            for s in ss.spans
        ]
        with self.lock:
            self.spans += found


def _value(value: Any) -> Any:
    return getattr(value, value.WhichOneof("value")) if value.WhichOneof("value") else None


def local(span: ReadableSpan) -> Span:
    context = span.get_span_context()
    assert context is not None
    return Span(
        span.name,
        span.kind.name,
        f"{context.trace_id:032x}",
        f"{context.span_id:016x}",
        f"{span.parent.span_id:016x}" if span.parent is not None else "",
        dict(span.attributes or {}),
        tuple(f"{link.context.span_id:016x}" for link in span.links),
    )


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    rx = Receiver()
    rx.thread.start()
    try:
        yield rx
    finally:
        rx.server.shutdown()
        rx.server.server_close()


@pytest.fixture
def exported(monkeypatch: pytest.MonkeyPatch, receiver: Receiver) -> Iterator[InMemorySpanExporter]:
    """Subprocesses started now export to ``receiver``; this process records to memory."""
    for name, value in {
        "MCP_TRANSPORT_OTEL": "1",
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "OTEL_BSP_SCHEDULE_DELAY": "50",
    }.items():
        monkeypatch.setenv(name, value)
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    telemetry.configure(tracer_provider=provider)
    try:
        yield memory
    finally:
        telemetry.configure()  # back to the global providers: the API's no-op here


async def arrived(receiver: Receiver, trace_id: str, count: int) -> list[Span]:
    """The receiver's spans of ``trace_id`` once there are ``count`` (batches take a moment)."""
    with anyio.move_on_after(15):
        while True:
            with receiver.lock:
                spans = [s for s in receiver.spans if s.trace_id == trace_id]
            if len(spans) >= count:
                return spans
            await anyio.sleep(0.05)
    return spans


def child_of(spans: list[Span], parent: Span, name: str, kind: str) -> Span:
    found = [s for s in spans if s.parent_id == parent.span_id and s.name == name and s.kind == kind]
    assert len(found) == 1, f"no single {kind} {name!r} under {parent.name} ({parent.kind}): {spans}"
    return found[0]


def assert_one_trace(root: Span, remote: list[Span], method: str = "tools/call add") -> None:
    """client CLIENT -> gateway SERVER -> gateway CLIENT -> server SERVER, one trace."""
    gateway_in = child_of(remote, root, method, "SERVER")
    gateway_out = child_of(remote, gateway_in, method, "CLIENT")
    served = child_of(remote, gateway_out, method, "SERVER")
    assert served.attributes["mcp.method.name"] == "tools/call"
    assert served.attributes["gen_ai.tool.name"] == "add"
    assert served.attributes["jsonrpc.request.id"]
    assert served.attributes["mcp.protocol.version"]
    assert {s.trace_id for s in (gateway_in, gateway_out, served)} == {root.trace_id}


def proxy_http(upstream: list[str]) -> ServerProcess:
    port = free_port()
    argv = [
        PY,
        "-m",
        "mcp_transport",
        "proxy",
        "--stdio",
        " ".join(upstream),
        "--port",
        str(port),
        "--shared",
    ]
    return ServerProcess(argv, port)


async def traced_add(target: str | list[str], era: str, memory: InMemorySpanExporter) -> Span:
    async with Client(target, era=era) as client:
        assert client.era.value == era
        result = await client.call_tool("add", {"a": 1, "b": 2})
        assert result["structuredContent"] == {"result": 3}
    [root] = [local(s) for s in memory.get_finished_spans() if s.name == "tools/call add"]
    assert root.kind == "CLIENT" and root.parent_id == ""
    return root


@pytest.mark.parametrize("era", ["legacy", "modern"])
async def test_one_trace_client_http_gateway_stdio_server(
    exported: InMemorySpanExporter, receiver: Receiver, era: str
) -> None:
    """Client --HTTP--> gateway --stdio--> server."""
    gateway = proxy_http([PY, "-m", "servers.everything", "--stdio"]).start()
    try:
        root = await traced_add(gateway.url, era, exported)
        assert_one_trace(root, await arrived(receiver, root.trace_id, 3))
    finally:
        gateway.stop()


@pytest.mark.parametrize("era", ["legacy", "modern"])
async def test_one_trace_client_stdio_gateway_http_server(
    exported: InMemorySpanExporter, receiver: Receiver, era: str
) -> None:
    """Client --stdio--> gateway --HTTP--> server."""
    server = our_server().start()
    try:
        gateway = [PY, "-m", "mcp_transport", "proxy", server.url, "--era", era]
        root = await traced_add(gateway, era, exported)
        remote = await arrived(receiver, root.trace_id, 3)
        assert_one_trace(root, remote)
        if era == "legacy":  # the gateway's own session with the server: spans carry its id
            assert child_of(remote, root, "tools/call add", "SERVER").attributes.get("mcp.session.id") is None
            served = [s for s in remote if s.kind == "SERVER" and s.attributes.get("mcp.session.id")]
            assert served, "the HTTP server's legacy spans name their mcp.session.id"
    finally:
        server.stop()


async def elicited(url: str, era: str, memory: InMemorySpanExporter) -> list[Span]:
    """Call the tool that asks the user; the spans this process recorded."""

    async def answer(params: dict[str, Any]) -> dict[str, Any]:
        return ANSWER

    async with Client(url, era=era, elicitation_handler=answer) as client:
        await client.call_tool("test_elicitation", {"message": "Who?"})
    return [local(s) for s in memory.get_finished_spans()]


async def test_elicitation_is_a_span_pair_under_its_tool_call(
    exported: InMemorySpanExporter, receiver: Receiver
) -> None:
    """Legacy: the server's elicitation/create is a CLIENT span under its tools/call span,
    and the client answers it in a SERVER span under that."""
    server = our_server().start()
    try:
        mine = await elicited(server.url, "legacy", exported)
        [root] = [s for s in mine if s.name == "tools/call test_elicitation"]
        remote = await arrived(receiver, root.trace_id, 2)
        served = child_of(remote, root, "tools/call test_elicitation", "SERVER")
        asked = child_of(remote, served, "elicitation/create", "CLIENT")
        child_of(mine, asked, "elicitation/create", "SERVER")
    finally:
        server.stop()


async def test_mrtr_rounds_are_one_trace_under_the_first(
    exported: InMemorySpanExporter, receiver: Receiver
) -> None:
    """2026-07-28: an input_required answer makes a second request (2026-07-28
    basic/patterns/mrtr); its CLIENT span is numbered and a child of the first round's, and
    each round's SERVER span is the child of its round."""
    server = our_server().start()
    try:
        mine = await elicited(server.url, "modern", exported)
        rounds = sorted(
            (s for s in mine if s.name == "tools/call test_elicitation"),
            key=lambda s: s.attributes["mcp.request.round"],
        )
        assert [s.attributes["mcp.request.round"] for s in rounds] == [1, 2]
        first, second = rounds
        assert second.parent_id == first.span_id and first.parent_id == ""
        assert second.trace_id == first.trace_id
        child_of(mine, first, "elicitation/create", "SERVER")  # the answer to round 1's question
        remote = await arrived(receiver, first.trace_id, 2)
        for round_span in rounds:
            child_of(remote, round_span, "tools/call test_elicitation", "SERVER")
    finally:
        server.stop()


async def test_the_server_span_continues_the_meta_trace_and_ignores_a_hostile_one(
    exported: InMemorySpanExporter,
) -> None:
    """A valid ``traceparent`` in ``_meta`` is the SERVER span's parent; one that is not a
    string is absent (a new trace), and the request is answered all the same."""
    server = MCPServer("meta")

    @server.tool()
    async def add(a: float, b: float) -> float:
        return a + b

    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    async with MemoryClient.connect(server) as client:
        for meta in (
            {"traceparent": parent, "baggage": "tenant=a"},
            {"traceparent": 12, "tracestate": ["x"]},
        ):
            result = await client.call_tool("add", {"a": 1, "b": 2}, _meta=meta)
            assert result["structuredContent"] == {"result": 3}
    continued, fresh = [local(s) for s in exported.get_finished_spans() if s.name == "tools/call add"]
    assert (continued.trace_id, continued.parent_id) == (
        "0af7651916cd43dd8448eb211c80319c",
        "b7ad6b7169203331",
    )
    assert continued.kind == "SERVER" and continued.attributes["mcp.protocol.version"]
    assert fresh.parent_id == "" and fresh.trace_id != continued.trace_id


async def test_metrics_endpoint_shows_requests_and_a_rejection(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--metrics``: a real uvicorn serves Prometheus text at /metrics on the MCP port; it
    counts the calls by method and outcome (an unknown method as ``other``: a client cannot
    mint labels), and the request refused for its Origin."""
    monkeypatch.delenv("MCP_TRANSPORT_OTEL", raising=False)
    server = our_server(None, "--metrics").start()
    try:
        async with Client(server.url, era="modern") as client:
            await client.call_tool("add", {"a": 1, "b": 2})
            await client.call_tool("test_error_handling")
            with pytest.raises(RemoteError):
                await client.request("bogus/method-0123456789")  # a label it must not become
        async with httpx.AsyncClient() as http:
            refused = await http.post(
                server.url,
                json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                headers={"origin": "https://evil.example"},
            )
            assert refused.status_code == 403
            scraped = await http.get(server.url.removesuffix("/mcp") + "/metrics")
            posted = await http.post(server.url.removesuffix("/mcp") + "/metrics")
        assert posted.status_code == 405 and posted.headers["allow"] == "GET, HEAD"
        assert scraped.status_code == 200
        text = scraped.text
        assert 'mcp_server_requests_total{method="tools/call",outcome="ok"} 1.0' in text
        assert 'mcp_server_requests_total{method="tools/call",outcome="error"} 1.0' in text
        assert 'mcp_server_requests_rejected_total{reason="origin"} 1.0' in text
        assert 'mcp_server_requests_total{method="other",outcome="error"} 1.0' in text
        assert "bogus" not in text
        assert "mcp_server_operation_duration_seconds_bucket" in text
    finally:
        server.stop()


async def test_metrics_endpoint_shows_sessions_streams_and_events() -> None:
    """A legacy session is counted while it lives; a call whose progress turns its POST
    answer into an SSE stream appends events and opens a stream, closed again at its end."""
    server = our_server(None, "--metrics").start()
    metrics_url = server.url.removesuffix("/mcp") + "/metrics"

    async def ignore(value: float, total: float | None, message: str | None) -> None:
        pass

    try:
        async with httpx.AsyncClient() as http:
            async with Client(server.url, era="legacy") as client:
                await client.call_tool("test_tool_with_progress", on_progress=ignore)
                during = (await http.get(metrics_url)).text
            after = (await http.get(metrics_url)).text
        assert "mcp_server_sessions_active 1.0" in during
        assert "mcp_server_sessions_active 0.0" in after
        appended = [
            line for line in during.splitlines() if line.startswith("mcp_server_events_appended_total ")
        ]
        assert appended and float(appended[0].split()[1]) >= 3  # the progress events and the result
        assert "mcp_server_sse_streams_open 0.0" in after
    finally:
        server.stop()


def test_api_only_costs_one_check() -> None:
    """Without an SDK provider, the first request resolves telemetry off and later ones only
    test ``STATE.on``."""
    telemetry.configure()
    assert telemetry.STATE.on is False
    assert telemetry.STATE.tracer is None and telemetry.STATE.instruments is None


def points(reader: InMemoryMetricReader, name: str) -> dict[tuple[tuple[str, Any], ...], float]:
    data = reader.get_metrics_data()
    return {
        tuple(sorted((p.attributes or {}).items())): getattr(p, "value", 0.0)
        for rm in (data.resource_metrics if data else [])
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == name
        for p in m.data.data_points
    }


async def test_tasks_are_counted_by_state() -> None:
    """A task is ``working`` while it runs and moves to its terminal state when it ends
    (the 2026-07-28 tasks extension; SEP-2663 "Task Status")."""
    server = MCPServer("tasks", task_store=MemoryTaskStore())
    release = anyio.Event()

    @server.tool(task="optional")
    async def slow() -> str:
        await release.wait()
        return "done"

    reader = InMemoryMetricReader()
    telemetry.configure(meter_provider=MeterProvider(metric_readers=[reader]))
    try:
        async with MemoryClient.connect(server, initialize=False) as client:
            caps: dict[str, Any] = {"extensions": {"io.modelcontextprotocol/tasks": {}}}
            created = await client.modern_request(
                "tools/call", {"name": "slow", "arguments": {}}, capabilities=caps
            )
            assert created["resultType"] == "task"
            assert points(reader, "mcp.server.tasks")[(("state", "working"),)] == 1
            release.set()
            with anyio.fail_after(5):
                while points(reader, "mcp.server.tasks").get((("state", "completed"),)) != 1:  # noqa: ASYNC110  (a reader has no event)
                    await anyio.sleep(0.01)
            assert points(reader, "mcp.server.tasks")[(("state", "working"),)] == 0
    finally:
        telemetry.configure()


@pytest.mark.parametrize("mode", [[], ["--sdk"]])
def test_the_cost_bench_runs(mode: list[str]) -> None:
    """bench/telemetry_cost.py (docs/guides/observability.md, "What it costs") runs as documented."""
    done = subprocess.run(
        [PY, "-m", "bench.telemetry_cost", "-n", "100", *mode], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("sdk: " if mode else "api-only: ") and "us per tools/call" in done.stdout
