"""docs/performance.md, written by ``make bench`` from one run: the targets, the table, the plots
of the scaling curves and how each figure is measured."""

from __future__ import annotations

from pathlib import Path

from bench.harness import GEN_BOUND, ROOT
from bench.redis_rows import render as render_redis
from bench.table import render_markdown
from bench.targets import HEADER as TARGETS_HEADER
from bench.telemetry_cost import render as render_telemetry

DOCS = ROOT / "docs" / "performance.md"

PLOT_CAPTIONS = {
    "concurrency.png": "Throughput and p50/p99 latency against concurrency (JSON answers)",
    "idle_sessions.png": "Server memory against open idle sessions",
    "resume.png": "Resume latency against the length of the stream resumed (must stay flat)",
    "sse_streams.png": "Server memory and throughput against open SSE streams",
}

DOC_TEMPLATE = """# Performance

Produced by `{command}` ({date}, {seconds:.0f} s) on this machine: {machine}.
Figures are medians of {repeat} run(s) each; each HTTP run drives the server for {duration:g} s after
a {warmup:g} s warm-up. Raw numbers: `bench/results/latest.json` (written by each run, not committed).
`make bench-quick` prints the same targets from shorter runs (under 2 minutes; of the curves only
resume, for its target).

## Targets

Each is a ratio of two figures from this run, so drift on a shared machine moves both sides.

{targets}

## Every figure, every peer

{table}
{after_table}
## Scaling curves

{plots}

How it is measured (`bench/`):

* Each server runs on 127.0.0.1 pinned to core 0 (`taskset -c 0`); the load generator
  (`bench/loadgen.py`) runs pinned to core 1. {pinning}
* The generator is pure-Python asyncio on uvloop: raw sockets, HTTP/1.1 keep-alive, pre-built request
  bytes, minimal parsing (Content-Length or chunked). One connection and one MCP session per virtual
  client: `initialize`, read `Mcp-Session-Id`, `notifications/initialized`, then closed-loop
  `tools/call` of `echo` with `Mcp-Session-Id` and `MCP-Protocol-Version`. A call counts only if it is a
  200 whose JSON or SSE body holds a JSON-RPC result. "(gen-bound)" marks a figure where the generator
  used >= {gen_bound:.0%} of its core (it was then the limit, not the server); the highest generator
  load in this run was {max_gen:.0%} of a core.
* Servers, each with the same `echo` and `progress_stream` tools, access logs off everywhere:
  `bench/servers/plain_echo.py` (bare uvicorn ASGI app, uvloop + httptools: the ceiling);
  `bench/servers/official_sdk.py` (official `mcp` {mcp_version} `MCPServer`, streamable HTTP,
  `json_response=True` for JSON / `False` for SSE); `bench/servers/ts_sdk.mjs` (the official
  TypeScript SDK `@modelcontextprotocol/sdk`, pinned in `bench/package-lock.json`, on node 22 from
  the `node` package: node's http server, one `McpServer` + `StreamableHTTPServerTransport` per session,
  `enableJsonResponse` for JSON; it has no idle-session expiry); `bench/servers/fastmcp_server.py`
  (fastmcp from the `bench` extra, `FastMCP.http_app` on uvicorn, `json_response` for JSON);
  `bench/servers/ours.py` (`servers.everything` on `mcp_transport.transports.http.run_http`).
* Limits stay on: ours runs with its default body limit and event-log bounds (`docs/http-server.md`,
  "Limits") and a session cap, raised from the default 10,000 to 100,000 (as the official SDK's
  `max_sessions`) so the 50,000-session curve fits; the peers keep their own.
* Progress: one `tools/call` of `progress_stream` with `count={progress}` and a progress token, over SSE;
  notifications/s = {progress:,} / time to the final response.
* SSE time to first byte: c=1 `tools/call` in SSE mode, request sent to first response byte (the
  response is one event); and, for `progress_stream`, request sent to the first progress event.
* Server CPU-seconds per 1,000 calls: the server process's user+system CPU over a run divided by the
  calls it answered.
* Sessions: a server started with a {idle_timeout:g} s session idle timeout; sessions/s opening
  {session_batch:,} sessions over 32 connections (never deleted); RSS growth divided by the
  {idle_sessions:,} sessions then open; `tools/call` c=32 with them open, in runs alternating with
  runs on a twin server without them (the 32-session figure), so drift on a shared machine hits both
  alike; RSS again after they expired.
* stdio: the server as a child process; {stdio_calls:,} `tools/call` one at a time, then with 32 in
  flight.
* Curves (`bench/curves.py`, `bench/curve_load.py`): concurrency points with the servers taking turns
  at each; idle sessions opened in steps on one server at a time (each within a time budget: a slow
  one stops early and its line says so); resume = `progress_stream` of L events answered as SSE, then,
  50 ms after the stream ended (the same pause at every L: both processes have just spent CPU in
  proportion to L, and a resuming client waits the server's `retry` anyway), `GET` with
  `Last-Event-ID` of its next-to-last event (the replay is one event whatever L is), timed to the
  replayed event; an untimed resume first, then rounds that visit every L in turn, median per L;
  SSE streams = standalone `GET` streams, one per session and connection, held open while RSS is read
  and c=32 `tools/call` runs beside them. Only ours is on the resume curve: the SDKs keep no event
  log unless given an event store.

{notes}
"""


def _plots(paths: list[str]) -> str:
    if not paths:
        return "Not drawn in this run (`--quick`, or `--skip curves`): `make bench` draws them."
    out = []
    for path in paths:
        name = Path(path).name
        # relative to docs/performance.md
        out.append(f"![{PLOT_CAPTIONS.get(name, name)}](performance/{name})")
    return "\n\n".join(out)


def _max_gen(results: dict) -> float:
    gens: list[float] = []

    def walk(d: object) -> None:
        if isinstance(d, dict):
            for k, v in d.items():
                if k.startswith("gen_cpu") and isinstance(v, (int, float)):
                    gens.append(v)
                else:
                    walk(v)
        elif isinstance(d, list):
            for v in d:
                walk(v)

    walk(results)
    return max(gens) if gens else 0.0


def _after_table(results: dict) -> str:
    """The rows make bench prints after the table (shared state on Redis, telemetry), as
    the same text, so the page shows every figure of the run."""
    parts = [
        ("Shared state on Redis", render_redis, results.get("redis")),
        ("Telemetry", render_telemetry, results.get("telemetry")),
    ]
    return "".join(
        f"\n## {title} (this run)\n\n```\n{render(rows)}\n```\n" for title, render, rows in parts if rows
    )


def write_docs(
    results: dict, header: list[str], table: list[list[str]], goals: list[list[str]], seconds: float
) -> None:
    meta = results["meta"]
    notes = "\n".join(f"* {n}" for n in meta.get("notes", []))
    notes = ("Notes from this run:\n\n" + notes) if notes else ""
    extra = ROOT / "bench" / "profile_notes.md"
    if extra.exists():
        notes += "\n\n" + extra.read_text().strip()
    profile = {k: v for k, v in meta["profile"].items() if k != "curves"}
    DOCS.write_text(
        DOC_TEMPLATE.format(
            command=meta["command"],
            date=meta["date"],
            seconds=seconds,
            machine=meta["machine"],
            targets=render_markdown(TARGETS_HEADER, goals),
            table=render_markdown(header, table),
            after_table=_after_table(results),
            plots=_plots(results.get("plots", [])),
            pinning="" if meta["pinned"] else f"**Not pinned this run: {meta['why_not_pinned']}.**",
            gen_bound=GEN_BOUND,
            max_gen=_max_gen(results),
            mcp_version=meta.get("mcp_version", "?"),
            notes=notes.strip(),
            **profile,
        )
    )
