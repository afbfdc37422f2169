"""Smoke run of the benchmark harness itself (bench.run) against the plain uvicorn echo server only:
a few hundred requests per figure, checked for sanity, never for speed. Then, once each: the peers
(the official TypeScript SDK, fastmcp) start and answer a call over HTTP and stdio, the plot code
writes PNGs from a tiny synthetic result, and the targets judge figures as they should."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import loadgen
from bench.harness import SERVERS, TINY, Pinning, Server, ServerSpec
from bench.plots import write_plots
from bench.targets import evaluate

ROOT = Path(__file__).resolve().parent.parent


def test_bench_harness_smoke(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    cmd = [
        sys.executable,
        "-m",
        "bench.run",
        "--quick",
        "--servers",
        "plain",
        "--skip",
        "sessions,stdio",
        "--duration",
        "0.3",
        "--no-docs",
        "--out",
        str(out),
    ]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=90)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "tools/call req/s, JSON, c=32" in p.stdout  # the table was printed
    results = json.loads(out.read_text())
    plain = results["http"]["plain"]
    for mode in ("json", "sse"):
        for c in ("c1", "c32"):
            fig = plain[mode][c]
            assert fig["errors"] == 0, fig
            assert fig["rps"] > 50, fig  # sanity only: it answered a few hundred calls
            assert 0 < fig["p50_ms"] <= fig["p99_ms"], fig
            assert 0 < fig["gen_cpu"] <= 1.5, fig
    progress = plain["sse"]["progress"]
    assert progress["errors"] == 0 and progress["notifications_per_s"] > 0, progress
    rows = {r[0]: r for r in results["table"]["rows"]}
    assert rows["tools/call req/s, JSON, c=1"][1] != "—"


# --- the peers, the plots and the targets: each checked once, never for speed -----------------

PEERS = [s for s in SERVERS if s.name in ("ts", "fastmcp")]
PEERS_ALL = ("official", "ts", "fastmcp")


def _installed(spec: ServerSpec) -> ServerSpec:
    """A missing peer fails rather than skips: `make test` installs them (make bench-deps)."""
    why = spec.missing()
    assert why is None, f"{spec.label}: {why}"
    return spec


async def _one_call(port: int, text: str) -> list[dict]:
    """initialize, notifications/initialized, one tools/call of echo: the messages answering it."""
    conn = await loadgen.connect("127.0.0.1", port)
    try:
        session, version = await loadgen.open_session(conn, "127.0.0.1", port)
        call = {"jsonrpc": "2.0", "id": 7, "method": "tools/call"}
        call["params"] = {"name": "echo", "arguments": {"text": text}}
        body = json.dumps(call).encode()
        r = await conn.request(loadgen.post("127.0.0.1", port, body, session, version))
        assert r.status == 200, (r.status, r.body[:300])
        return r.messages()
    finally:
        conn.transport.close()


@pytest.mark.parametrize("mode", ["json", "sse"])
@pytest.mark.parametrize("spec", PEERS, ids=[s.name for s in PEERS])
def test_peer_answers_a_call_over_http(spec: ServerSpec, mode: str) -> None:
    with Server(_installed(spec), mode, Pinning(False), idle_timeout=60) as srv:
        messages = asyncio.run(_one_call(srv.port, f"hi {spec.name}"))
    results = [m for m in messages if m.get("id") == 7]
    assert results and results[0]["result"]["content"][0]["text"] == f"hi {spec.name}", messages


@pytest.mark.parametrize("spec", PEERS, ids=[s.name for s in PEERS])
def test_peer_answers_calls_over_stdio(spec: ServerSpec) -> None:
    cmd = [sys.executable, "-m", "bench.stdio_load", "--calls", "3", "--warmup", "1", "--window", "2", "--"]
    p = subprocess.run(
        [*cmd, *_installed(spec).stdio_cmd()], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert p.returncode == 0, p.stderr[-2000:]
    assert json.loads(p.stdout)["errors"] == 0


def _synthetic_curves() -> dict:
    conc = {
        name: [{"clients": c, "rps": 1000.0 * c, "p50_ms": 0.1 * c, "p99_ms": 0.3 * c} for c in (1, 4)]
        for name in ("ours", "ours-modern", "plain", "official")
    }
    sessions = {"ours": {"points": [{"sessions": n, "rss_kb": 50_000 + 2 * n} for n in (100, 1000)]}}
    resume = {"ours": {"points": [{"length": n, "p50_ms": 0.5, "max_ms": 0.9} for n in (10, 1000)]}}
    streams = {
        "ours": {"points": [{"streams": n, "rss_kb": 50_000 + 9 * n, "rps": 8000.0} for n in (10, 100)]}
    }
    return {"concurrency": conc, "idle_sessions": sessions, "resume": resume, "streams": streams}


def test_plots_are_written_as_png(tmp_path: Path) -> None:
    written = write_plots(_synthetic_curves(), "test machine", "2026-01-01", tmp_path)
    assert sorted(p.name for p in written) == [
        "concurrency.png",
        "idle_sessions.png",
        "resume.png",
        "sse_streams.png",
    ]
    for path in written:
        data = path.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5000, path


def _figures(ours_p99: float, ours_rps: float, modern_rps: float) -> dict:
    def fig(rps: float, p99: float) -> dict:
        return {"rps": rps, "p50_ms": p99 / 2, "p99_ms": p99, "ttfb_ms": p99 / 3}

    peers = {p: {m: {"c1": fig(500, 4.0), "c32": fig(900, 40.0)} for m in ("json", "sse")} for p in PEERS_ALL}
    ours = {
        m: {
            "c1": fig(3000, ours_p99),
            "c32": fig(ours_rps, 3.0),
            "modern_c1": fig(3000, ours_p99),
            "modern_c32": fig(modern_rps, 3.0),
        }
        for m in ("json", "sse")
    }
    plain = {m: {"c1": fig(8000, 0.2), "c32": fig(20000, 1.0)} for m in ("json", "sse")}
    return {"http": {"plain": plain, "ours": ours, **peers}, "sessions": {}, "stdio": {}}


def test_targets_compare_figures_of_one_run() -> None:
    good = {t.name: t for t in evaluate(_figures(ours_p99=0.3, ours_rps=14000, modern_rps=13500), TINY)}
    assert good["p99 c=1 JSON legacy <= 2x plain uvicorn"].ratio == "1.50x"
    assert good["p99 c=1 JSON legacy <= 2x plain uvicorn"].met is True
    assert good["p99 c=1 SSE modern below every SDK's"].met is True
    assert good["modern JSON c=32 >= 95% of legacy"].met is True  # 13,500 / 14,000 = 0.96
    assert good["legacy JSON c=32 >= 65% of plain uvicorn"].met is True  # 14,000 / 20,000
    assert good["ahead of the TS SDK on every row it has"].met is True
    assert good["stdio sequential calls/s >= 3x Py SDK"].met is None  # not measured: not a pass

    bad = {t.name: t for t in evaluate(_figures(ours_p99=5.0, ours_rps=12000, modern_rps=11000), TINY)}
    assert bad["p99 c=1 JSON legacy <= 2x plain uvicorn"].met is False  # 25x
    assert bad["p99 c=1 JSON legacy below every SDK's"].met is False  # 5.0 ms vs their 4.0 ms
    assert bad["modern JSON c=32 >= 95% of legacy"].met is False  # 0.92
    assert bad["legacy JSON c=32 >= 65% of plain uvicorn"].met is False  # 0.60
    ahead = bad["ahead of fastmcp on every row it has"]
    assert ahead.met is False and "p99 latency ms, JSON, c=1" in ahead.reference
