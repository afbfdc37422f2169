"""The benchmark harness (docs/performance.md): ``make bench`` = ``python -m bench.run``.

In one run it starts each server under test on 127.0.0.1 pinned to core 0, drives it with the
same load generator (bench.loadgen) pinned to core 1, repeats each figure and quotes the median,
prints a table of figures and ratios and the targets (bench.targets) met or not, draws the scaling
curves (bench.curves, bench.plots) into docs/performance/, and writes it all as JSON
(bench/results/latest.json) and as markdown (docs/performance.md, bench.report).

    python -m bench.run                  # the full run with the scaling curves (~20 minutes)
    python -m bench.run --quick          # make bench-quick: fewer, shorter repeats, no curves but resume
    python -m bench.run --tiny           # seconds per figure: proves every phase and curve runs
    python -m bench.run --servers plain,official --skip sessions,stdio
    python -m bench.run --servers ours --skip http,sessions,stdio,curves   # the Redis rows alone

Servers under test (SERVERS below; ours is one more entry):
  plain     bench.servers.plain_echo    bare uvicorn ASGI echo: the practical ceiling
  official  bench.servers.official_sdk  the official MCP Python SDK (``mcp`` 2.3, MCPServer)
  ts        bench/servers/ts_sdk.mjs    the official TypeScript SDK (@modelcontextprotocol/sdk), node 22
  fastmcp   bench.servers.fastmcp_server  fastmcp 4 (PyPI)
  ours      bench.servers.ours          servers.everything on mcp_transport's run_http

Needs: taskset (util-linux) and 2 cores for pinning (without them it runs unpinned and says so);
the ``mcp`` package for the official SDK (``pip install -e '.[dev]'``), fastmcp and matplotlib (the
``bench`` extra) and node 22 with the TypeScript SDK (``make bench-deps``: npm ci in bench/); ``make
bench`` installs all three. A peer whose install is missing is skipped and the run says so.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import datetime as _dt
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.curves import curve_notes, curves_phase
from bench.harness import (
    FOREIGN,
    FULL,
    PY,
    QUICK,
    RESULTS,
    ROOT,
    SERVERS,
    TINY,
    Pinning,
    Profile,
    Server,
    ServerSpec,
    _get,
    loadgen,
    log,
    machine,
    med,
    one_calls_run,
    summarize,
)
from bench.plots import write_plots
from bench.redis_rows import redis_phase
from bench.redis_rows import render as render_redis
from bench.report import DOCS, write_docs
from bench.table import build_table, render_text
from bench.targets import HEADER as TARGETS_HEADER
from bench.targets import evaluate
from bench.telemetry_cost import cost_phase
from bench.telemetry_cost import render as render_telemetry

PLOTS = ROOT / "docs" / "performance"  # the curves' PNGs, shown in docs/performance.md


def http_phase(
    specs: list[ServerSpec], pin: Pinning, prof: Profile, logdir: Path, failures: list[str]
) -> dict:
    """Every server in every mode is started up front (idle ones cost nothing); each repeat then
    drives them in turn, so a disturbance on the machine hits all of them alike, not one."""
    out: dict = {}
    with contextlib.ExitStack() as stack:
        servers: list[tuple[ServerSpec, str, Server]] = []
        for spec in specs:
            for mode in spec.modes:
                try:
                    srv = stack.enter_context(Server(spec, mode, pin, log=logdir / f"{spec.name}-{mode}.log"))
                    loadgen(pin, srv.port, "calls", "--clients", "4", "--duration", "0.3", "--warmup", "0")
                except Exception as exc:  # a server that fails is reported, the others still run
                    failures.append(f"{spec.name}/{mode}: {exc}")
                    log(f"error: {spec.name}/{mode}: {exc}")
                    continue
                servers.append((spec, mode, srv))
                out.setdefault(spec.name, {})[mode] = {"rss_kb_start": srv.rss_kb()}
        log(f"[http] {len(servers)} servers up: " + ", ".join(f"{s.name}/{m}" for s, m, _ in servers))
        figures: list[tuple[str, int, tuple[str, ...]]] = [(f"c{c}", c, ()) for c in prof.concurrency]
        figures += [(f"modern_c{c}", c, ("--modern",)) for c in prof.concurrency]
        runs: dict[tuple[str, str, str], list[dict]] = {}
        broken: set[tuple[str, str]] = set()
        for rep in range(prof.repeat):
            for key, clients, extra in figures:
                for spec, mode, srv in servers:
                    if key.startswith("modern") and not (spec.modern and mode in ("json", "sse")):
                        continue
                    if (spec.name, mode) in broken:
                        continue
                    try:
                        r = one_calls_run(srv, pin, prof, clients, *extra)
                    except Exception as exc:
                        failures.append(f"{spec.name}/{mode} {key}: {exc}")
                        log(f"error: {spec.name}/{mode} {key}: {exc}")
                        broken.add((spec.name, mode))
                        continue
                    runs.setdefault((spec.name, mode, key), []).append(r)
                    log(
                        f"[{spec.name}/{mode}] {key} run {rep + 1}: {r['rps']:.0f} req/s "
                        f"p50 {r['p50_ms']:.3f} ms p99 {r['p99_ms']:.3f} ms gen_cpu {r['gen_cpu']:.2f} "
                        f"foreign {r.get('foreign_cpu', 0):.2f} errors {r['errors']} {r['first_error'] or ''}"
                    )
        for (name, mode, key), rs in runs.items():
            out[name][mode][key] = summarize(rs)
        for spec, mode, srv in servers:
            if mode != "sse" or (spec.name, mode) in broken:
                continue
            try:
                r = loadgen(
                    pin,
                    srv.port,
                    "progress",
                    "--count",
                    str(prof.progress),
                    "--repeat",
                    str(max(3, prof.repeat)),
                )
            except Exception as exc:
                failures.append(f"{spec.name}/{mode} progress: {exc}")
                log(f"error: {spec.name}/{mode} progress: {exc}")
                continue
            out[spec.name][mode]["progress"] = r
            log(
                f"[{spec.name}/{mode}] progress: {r['notifications_per_s']:.0f} notifications/s "
                f"(errors {r['errors']})"
            )
    return out


def sessions_phase(specs: list[ServerSpec], pin: Pinning, prof: Profile, logdir: Path) -> dict:
    """sessions/s, RSS per idle session, req/s at c=32 with idle sessions open, and RSS after expiry.

    The servers run side by side and each step is taken by all of them in turn (as in the HTTP
    phase); they stay up, idle, until the sessions of all of them have expired."""
    out: dict = {}
    with contextlib.ExitStack() as stack:
        servers: list[tuple[ServerSpec, Server]] = []
        twins: dict[str, Server] = {}
        for spec in specs:
            log(f"[{spec.name}/sessions] starting (idle timeout {prof.idle_timeout:g} s)")
            srv = stack.enter_context(
                Server(
                    spec,
                    "json",
                    pin,
                    idle_timeout=prof.idle_timeout,
                    log=logdir / f"{spec.name}-sessions.log",
                )
            )
            loadgen(pin, srv.port, "calls", "--clients", "4", "--duration", "0.3", "--warmup", "0")
            # Its twin: the same server without the idle sessions, for the c=32 baseline. Runs on
            # the twin alternate with runs on the server holding the sessions, so drift on a shared
            # machine (other processes, CPU steal) hits both figures alike instead of showing up
            # as a throughput drop.
            twin = stack.enter_context(
                Server(
                    spec,
                    "json",
                    pin,
                    idle_timeout=prof.idle_timeout,
                    log=logdir / f"{spec.name}-sessions-twin.log",
                )
            )
            loadgen(pin, twin.port, "calls", "--clients", "4", "--duration", "0.3", "--warmup", "0")
            twins[spec.name] = twin
            servers.append((spec, srv))
            out[spec.name] = {"gen_cpu": 0.0}
        t_start = time.monotonic()
        base_runs: dict[str, list[dict]] = {s.name: [] for s, _ in servers}
        rates: dict[str, list[float]] = {s.name: [] for s, _ in servers}
        for spec, srv in servers:
            out[spec.name]["rss_kb_before"] = srv.rss_kb()
        for _ in range(prof.repeat):
            for spec, srv in servers:
                r = loadgen(pin, srv.port, "sessions", "--count", str(prof.session_batch), "--clients", "32")
                rates[spec.name].append(r["sessions_per_s"])
                m = out[spec.name]
                m.setdefault("sample_session", r.get("sample_session"))
                m["gen_cpu"] = max(m["gen_cpu"], r["gen_cpu"])
        created = prof.session_batch * prof.repeat
        for spec, srv in servers:
            if created < prof.idle_sessions:
                loadgen(
                    pin, srv.port, "sessions", "--count", str(prof.idle_sessions - created), "--clients", "32"
                )
            m = out[spec.name]
            rss1 = srv.rss_kb()
            n = max(created, prof.idle_sessions)
            m.update(
                sessions_per_s=med(rates[spec.name]),
                sessions_runs=[round(x, 1) for x in rates[spec.name]],
                rss_kb_with_sessions=rss1,
                sessions_open=n,
                rss_per_session_kb=(rss1 - m["rss_kb_before"]) / n,
            )
        idle_runs: dict[str, list[dict]] = {s.name: [] for s, _ in servers}
        refused: dict[str, str] = {}  # a server that refused the 32 clients beside its idle sessions
        for i in range(prof.repeat):
            for spec, srv in servers:
                pair = [(idle_runs, srv), (base_runs, twins[spec.name])]
                for runs, target in pair if i % 2 == 0 else pair[::-1]:
                    if spec.name in refused:
                        break
                    try:
                        runs[spec.name].append(one_calls_run(target, pin, prof, 32))
                    except RuntimeError as exc:
                        # A peer with its own cap on open sessions (fastmcp keeps the mcp SDK's
                        # default of 10,000 and has no option to raise it) cannot take 32 more:
                        # its row says so instead of the whole phase failing.
                        refused[spec.name] = str(exc).strip().splitlines()[-1][:300]
                        log(f"[{spec.name}/sessions] refused the c=32 run: {refused[spec.name]}")
        elapsed = time.monotonic() - t_start
        t_last = time.monotonic()
        for spec, _ in servers:
            m = out[spec.name]
            if spec.name in refused:
                m["c32_refused"] = refused[spec.name]
                continue
            m["c32_base"] = summarize(base_runs[spec.name])
            base, idle = m["c32_base"], summarize(idle_runs[spec.name])
            m["c32_idle"] = idle
            m["idle_drop_pct"] = (1 - idle["rps"] / base["rps"]) * 100 if base["rps"] else float("nan")
            m["phase_seconds"] = elapsed
            if elapsed > prof.idle_timeout * 0.9:
                m["warning"] = "phase outlasted the idle timeout: some sessions expired before RSS was read"
            log(
                f"[{spec.name}/sessions] {m['sessions_per_s']:.0f} sessions/s, "
                f"{m['rss_per_session_kb']:.1f} KB/session, c32 {base['rps']:.0f} -> {idle['rps']:.0f} req/s "
                f"with {m['sessions_open']} idle sessions"
            )
        if servers:
            wait_until = t_last + prof.idle_timeout + 3
            log(f"[sessions] waiting {max(0, wait_until - time.monotonic()):.0f} s for sessions to expire")
            while time.monotonic() < wait_until:
                time.sleep(0.5)
            for spec, srv in servers:
                m = out[spec.name]
                # a request makes a server that sweeps lazily notice the expiry
                with contextlib.suppress(Exception):
                    loadgen(pin, srv.port, "sessions", "--count", "1", "--clients", "1")
                time.sleep(1)
                if m.get("sample_session"):
                    with contextlib.suppress(Exception):
                        status = loadgen(pin, srv.port, "probe", "--session", m["sample_session"])["status"]
                        m["expired_session_status"] = status
                        m["sessions_expired"] = status == 404
                rss2 = srv.rss_kb()
                grown = m["rss_kb_with_sessions"] - m["rss_kb_before"]
                m["rss_kb_after_expiry"] = rss2
                m["rss_freed_pct"] = (
                    (m["rss_kb_with_sessions"] - rss2) / grown * 100 if grown > 0 else float("nan")
                )
                # RSS rarely shrinks (the allocator keeps its arenas); that the memory came back to it
                # shows as a second batch of sessions reusing it instead of growing RSS again
                with contextlib.suppress(Exception):
                    loadgen(pin, srv.port, "sessions", "--count", str(m["sessions_open"]), "--clients", "32")
                    rss3 = srv.rss_kb()
                    m["rss_kb_second_batch"] = rss3
                    m["second_batch_growth_pct"] = (rss3 - rss2) / grown * 100 if grown > 0 else float("nan")
                log(
                    f"[{spec.name}/sessions] RSS {m['rss_kb_before']} -> {m['rss_kb_with_sessions']} -> "
                    f"{rss2} KB after expiry ({m['rss_freed_pct']:.0f}% of the growth freed) -> "
                    f"{m.get('rss_kb_second_batch')} KB with a second batch of sessions "
                    f"({m.get('second_batch_growth_pct', float('nan')):.0f}% of the first growth)"
                )
    return out


def stdio_phase(spec: ServerSpec, pin: Pinning, prof: Profile) -> dict:
    runs = []
    for _ in range(prof.repeat):
        cmd = pin.generator(
            [
                PY,
                "-m",
                "bench.stdio_load",
                "--calls",
                str(prof.stdio_calls),
                "--",
                *pin.server(spec.stdio_cmd()),
            ]
        )
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            raise RuntimeError(f"{shlex.join(cmd)} failed:\n{p.stderr[-2000:]}")
        runs.append(json.loads(p.stdout.strip().splitlines()[-1]))
    out = {
        "sequential_per_s": med([r["sequential_per_s"] for r in runs]),
        "concurrent_per_s": med([r["concurrent_per_s"] for r in runs]),
        "gen_cpu": max(max(r["gen_cpu_sequential"], r["gen_cpu_concurrent"]) for r in runs),
        "errors": sum(r["errors"] for r in runs),
    }
    log(
        f"[{spec.name}/stdio] sequential {out['sequential_per_s']:.0f}/s, "
        f"concurrent {out['concurrent_per_s']:.0f}/s"
    )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--quick", action="store_true", help="short runs, one repeat, 1,000 idle sessions, no curves"
    )
    p.add_argument(
        "--tiny", action="store_true", help="seconds per figure, tiny curves: proves the harness runs"
    )
    names = ",".join(s.name for s in SERVERS)
    p.add_argument("--servers", default=names, help=f"comma-separated, of: {names}")
    p.add_argument(
        "--skip",
        default="",
        help="comma-separated phases to skip: http, sessions, stdio, redis, telemetry, curves",
    )
    p.add_argument("--repeat", type=int, help="override the repeat count")
    p.add_argument("--duration", type=float, help="override the seconds per HTTP run")
    p.add_argument("--out", type=Path, help="JSON results file (default bench/results/latest.json)")
    p.add_argument(
        "--no-docs",
        action="store_true",
        help="do not rewrite docs/performance.md and docs/performance/ (plots go to bench/results/plots)",
    )
    p.add_argument("--no-pin", action="store_true", help="do not pin with taskset")
    arglist = sys.argv[1:] if argv is None else list(argv)
    a = p.parse_args(arglist)
    prof = copy.copy(TINY if a.tiny else QUICK if a.quick else FULL)
    if a.repeat:
        prof.repeat = a.repeat
    if a.duration:
        prof.duration = a.duration
    skip = {s for s in a.skip.split(",") if s}
    wanted = [s for s in a.servers.split(",") if s]
    pin = Pinning(not a.no_pin)
    notes = []
    if pin.why_not:
        notes.append(f"not pinned: {pin.why_not}")
        log(f"warning: not pinning server and generator: {pin.why_not}")
    specs = []
    for spec in SERVERS:
        if spec.name not in wanted:
            continue
        why = spec.missing()
        if why:
            notes.append(f"{spec.label} skipped: {why}")
            log(f"warning: skipping {spec.name}: {why}")
            continue
        specs.append(spec)
    with contextlib.suppress(OSError):
        load1 = os.getloadavg()[0]
        if load1 > 0.5:
            notes.append(
                f"load average {load1:.1f} when the run started: other work on the machine may skew figures"
            )
    t0 = time.monotonic()
    stamp = _dt.datetime.now(_dt.UTC)
    logdir = RESULTS / "logs"
    logdir.mkdir(parents=True, exist_ok=True)
    mcp_version = "?"
    with contextlib.suppress(Exception):
        from importlib.metadata import version

        mcp_version = version("mcp")
    results: dict = {
        "meta": {
            "command": ("python -m bench.run " + shlex.join(arglist)) if arglist else "make bench",
            "date": stamp.strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine(),
            "pinned": pin.enabled,
            "why_not_pinned": pin.why_not,
            "mcp_version": mcp_version,
            "profile": dataclasses.asdict(prof),
            "notes": notes,
        },
        "http": {},
        "sessions": {},
        "stdio": {},
    }
    failures: list[str] = []
    if "http" not in skip:
        results["http"] = http_phase(specs, pin, prof, logdir, failures)
    if "sessions" not in skip:
        sspecs = [s for s in specs if s.sessions]
        try:
            results["sessions"] = sessions_phase(sspecs, pin, prof, logdir)
        except Exception as exc:
            failures.append(f"sessions: {exc}")
            log(f"error: sessions phase: {exc}")
    if "stdio" not in skip:
        for spec in specs:
            if not spec.stdio:
                continue
            try:
                results["stdio"][spec.name] = stdio_phase(spec, pin, prof)
            except Exception as exc:
                failures.append(f"{spec.name} stdio: {exc}")
                log(f"error: {spec.name} stdio phase: {exc}")
    if "redis" not in skip and any(spec.name == "ours" for spec in specs):
        try:
            results["redis"] = redis_phase(pin, prof, logdir)
        except Exception as exc:
            failures.append(f"redis: {exc}")
            log(f"error: redis phase: {exc}")
    if "telemetry" not in skip and any(spec.name == "ours" for spec in specs):
        try:
            results["telemetry"] = cost_phase()
        except Exception as exc:
            failures.append(f"telemetry: {exc}")
            log(f"error: telemetry phase: {exc}")
    if prof.curves is not None and "curves" not in skip:
        results["curves"] = curves_phase(specs, pin, prof.curves, logdir, failures)
        notes.extend(curve_notes(results["curves"]))
        outdir = RESULTS / "plots" if a.no_docs else PLOTS
        written = write_plots(results["curves"], results["meta"]["machine"], results["meta"]["date"], outdir)
        results["plots"] = [str(path.relative_to(ROOT)) for path in written]
    seconds = time.monotonic() - t0
    results["meta"]["seconds"] = seconds
    for f in failures:
        notes.append("failed: " + f.splitlines()[0][:300])
    plain32 = _get(results, "http", "plain", "json", "c32")
    if plain32 and plain32.get("gen_cpu"):
        notes.append(
            f"generator headroom: it drove the plain echo at {plain32['rps']:,.0f} req/s (c=32) using "
            f"{plain32['gen_cpu']:.0%} of its core, i.e. about "
            f"{plain32['rps'] / plain32['gen_cpu']:,.0f} req/s at a full core"
        )
    foreign = []

    def walk(d):
        if isinstance(d, dict):
            if isinstance(d.get("foreign_cpu"), float):
                foreign.append(d["foreign_cpu"])
            for v in d.values():
                walk(v)

    walk(results)
    if foreign and max(foreign) > FOREIGN:
        notes.append(
            f"~ marks figures measured while other processes used more than {FOREIGN:.0%} of a core on the "
            f"two benchmark cores (median of the figures: {statistics.median(foreign):.0%}, "
            f"max {max(foreign):.0%}); the servers are interleaved run by run, "
            "so ratios suffer less than absolute numbers"
        )
    with contextlib.suppress(OSError):
        notes.append(f"load average at the end: {os.getloadavg()[0]:.1f}")
    header, table = build_table(results, prof)
    results["table"] = {"header": header, "rows": table}
    goals = [t.cells() for t in evaluate(results, prof)]
    results["targets"] = {"header": TARGETS_HEADER, "rows": goals}
    out = a.out or RESULTS / "latest.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str) + "\n")
    print(render_text(header, table))
    print("\nTargets (each a ratio of figures from this run):\n")
    print(render_text(TARGETS_HEADER, goals))
    if results.get("redis"):
        print("\n" + render_redis(results["redis"]))
    if results.get("telemetry"):
        print("\n" + render_telemetry(results["telemetry"]))
    print(f"\n{seconds:.0f} s; results in {out}" + ("" if a.no_docs else f" and {DOCS}"))
    for n in notes:
        print("note: " + n)
    if not a.no_docs:
        write_docs(results, header, table, goals, seconds)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
