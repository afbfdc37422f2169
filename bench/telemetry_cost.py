"""What telemetry costs per request, in process (no sockets: the dispatcher's share alone).

    python -m bench.telemetry_cost                 # the API only (no provider): the default
    python -m bench.telemetry_cost --sdk           # SDK providers, spans to a no-op exporter
    valgrind --tool=callgrind --callgrind-out-file=/dev/null python -m bench.telemetry_cost -n 2000

Runs ``n`` tools/call requests through MemoryClient (the server's dispatcher, the era gate,
the tool) and prints microseconds per call. Under callgrind, run two ``n`` and divide the
difference of the instruction counts by the difference of ``n``: the start-up cancels out.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import anyio

from mcp_transport import telemetry
from mcp_transport.server import MCPServer
from mcp_transport.testing import MemoryClient

server = MCPServer("cost")


@server.tool()
async def add(a: float, b: float) -> float:
    return a + b


def install_sdk() -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class Discard(SpanExporter):
        def export(self, spans: object) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(Discard()))
    telemetry.configure(provider, MeterProvider(metric_readers=[InMemoryMetricReader()]))


async def calls(n: int) -> float:
    async with MemoryClient.connect(server) as client:
        for _ in range(50):  # warm up: first-call imports and caches
            await client.call_tool("add", {"a": 1, "b": 2})
        started = time.perf_counter()
        for _ in range(n):
            await client.call_tool("add", {"a": 1, "b": 2})
        return (time.perf_counter() - started) / n


def cost_phase(rounds: int = 3, n: int = 20_000) -> dict:
    """``make bench``'s "telemetry" phase: microseconds per call with the API only and with the
    SDK (spans to a no-op exporter), each in a fresh process, the two alternating ``rounds``
    times; medians."""
    runs: dict[str, list[float]] = {"api-only": [], "sdk": []}
    for _ in range(rounds):
        for mode, extra in (("api-only", []), ("sdk", ["--sdk"])):
            cmd = [sys.executable, "-m", "bench.telemetry_cost", "-n", str(n), *extra]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=300).stdout
            runs[mode].append(float(out.split(":")[1].split()[0]))
    api, sdk = statistics.median(runs["api-only"]), statistics.median(runs["sdk"])
    return {"api_only_us": api, "sdk_us": sdk, "sdk_ratio": sdk / api, "runs": runs}


def render(rows: dict) -> str:
    return "\n".join(
        [
            "Telemetry (tools/call through the server's dispatcher in process, bench/telemetry_cost.py; "
            "medians of alternating fresh processes):",
            f"  API only (no SDK configured)        {rows['api_only_us']:>8.1f} us per call",
            f"  SDK, spans to a no-op exporter      {rows['sdk_us']:>8.1f} us per call "
            f"= {rows['sdk_ratio']:.2f}x the API only",
            "  (the API-only hooks against no hooks: instruction counts, docs/guides/observability.md)",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=20_000, help="calls to time (default 20000)")
    parser.add_argument("--sdk", action="store_true", help="SDK providers with a no-op exporter")
    args = parser.parse_args(argv)
    if args.sdk:
        install_sdk()
    per_call = anyio.run(calls, args.n)
    print(f"{'sdk' if args.sdk else 'api-only'}: {per_call * 1e6:.1f} us per tools/call")


if __name__ == "__main__":
    main()
