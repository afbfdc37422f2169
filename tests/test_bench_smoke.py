"""Smoke run of the benchmark harness itself (bench.run) against the plain uvicorn echo server only:
a few hundred requests per figure, checked for sanity, never for speed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
