"""The scaling curves: how each server's cost grows with the work, point by point, in one run.

* ``concurrency``: tools/call echo (JSON answers) throughput and p50/p99 against the number of
  closed-loop clients, for every server and our modern leg; at each point the servers take turns,
  so a disturbance on the machine hits them alike.
* ``idle_sessions``: server RSS against open idle sessions, one server at a time (each within
  ``session_budget`` seconds and ``session_rss_cap_mb``: one past either stops early and says where).
* ``resume``: our resume latency against the length of the stream resumed (bench.curve_load).
* ``streams``: server RSS and c=32 throughput against open SSE (GET) streams (bench.curve_load).

Every server keeps its limits on: ours its body limit, event-log bounds and a session cap
(raised to 100,000 by bench/servers/ours.py, above the largest point).
"""

from __future__ import annotations

import contextlib
import copy
import time
from pathlib import Path

from bench.harness import (
    GEN_BOUND,
    CurveProfile,
    Pinning,
    Profile,
    Server,
    ServerSpec,
    loadgen,
    log,
    one_calls_run,
)

# a session idle timeout longer than any curve, so none expires while it is measured
NO_EXPIRY = 3600.0


def _server(spec: ServerSpec, mode: str, pin: Pinning, logdir: Path, tag: str) -> Server:
    idle = NO_EXPIRY if spec.sessions else None  # the plain echo has no sessions to expire
    return Server(spec, mode, pin, idle_timeout=idle, log=logdir / f"{spec.name}-{tag}.log")


def _warm(srv: Server, pin: Pinning) -> None:
    loadgen(pin, srv.port, "calls", "--clients", "4", "--duration", "0.3", "--warmup", "0")


def concurrency_curve(
    specs: list[ServerSpec], pin: Pinning, cp: CurveProfile, logdir: Path, failures: list[str]
) -> dict:
    prof = Profile(duration=cp.duration, warmup=cp.warmup, repeat=1)
    lines: dict[str, list[dict]] = {}
    with contextlib.ExitStack() as stack:
        servers: list[tuple[str, Server, tuple[str, ...]]] = []
        for spec in specs:
            try:
                srv = stack.enter_context(_server(spec, "json", pin, logdir, "curve-json"))
                _warm(srv, pin)
            except Exception as exc:
                failures.append(f"curves/concurrency {spec.name}: {exc}")
                continue
            servers.append((spec.name, srv, ()))
            if spec.modern:
                servers.append((f"{spec.name}-modern", srv, ("--modern",)))
        for clients in cp.concurrency:
            for name, srv, extra in servers:
                try:
                    r = one_calls_run(srv, pin, prof, clients, *extra)
                except Exception as exc:
                    failures.append(f"curves/concurrency {name} c={clients}: {exc}")
                    continue
                keep = ("rps", "p50_ms", "p99_ms", "errors", "gen_cpu", "foreign_cpu")
                lines.setdefault(name, []).append({"clients": clients, **{k: r.get(k) for k in keep}})
                log(f"[curve/concurrency] {name} c={clients}: {r['rps']:.0f} req/s p99 {r['p99_ms']:.2f} ms")
    return lines


def idle_sessions_curve(spec: ServerSpec, pin: Pinning, cp: CurveProfile, logdir: Path) -> dict:
    with _server(spec, "json", pin, logdir, "curve-sessions") as srv:
        _warm(srv, pin)
        out: dict = {"rss_kb_base": srv.rss_kb(), "points": []}
        opened, t_start, errors = 0, time.monotonic(), 0
        for n in cp.sessions:
            left = cp.session_budget - (time.monotonic() - t_start)
            rate = opened / (time.monotonic() - t_start) if opened else None
            if rate and (n - opened) / rate > left:
                out["stopped"] = (
                    f"stopped before {n:,}: at {rate:,.0f} sessions/s it would outlast the budget"
                )
                break
            if srv.rss_kb() > cp.session_rss_cap_mb * 1024:
                out["stopped"] = f"stopped before {n:,}: RSS over {cp.session_rss_cap_mb:,} MiB"
                break
            r = loadgen(pin, srv.port, "sessions", "--count", str(n - opened), "--clients", "32")
            opened, errors = n, errors + r["errors"]
            out["points"].append({"sessions": n, "rss_kb": srv.rss_kb(), "errors": errors})
            log(f"[curve/sessions] {spec.name} {n}: RSS {out['points'][-1]['rss_kb']} KB, errors {errors}")
    return out


def resume_curve(spec: ServerSpec, pin: Pinning, cp: CurveProfile, logdir: Path) -> dict:
    with _server(spec, "sse", pin, logdir, "curve-resume") as srv:
        _warm(srv, pin)
        lengths = ",".join(map(str, cp.resume_lengths))
        args = ("--lengths", lengths, "--repeat", str(cp.resume_repeat))
        return loadgen(pin, srv.port, "resume", *args, module="bench.curve_load")


def streams_curve(spec: ServerSpec, pin: Pinning, cp: CurveProfile, logdir: Path) -> dict:
    with _server(spec, "json", pin, logdir, "curve-streams") as srv:
        _warm(srv, pin)
        args = [
            "--server-pid",
            str(srv.pid),
            "--points",
            ",".join(map(str, cp.streams)),
            "--duration",
            str(cp.duration),
            "--warmup",
            str(cp.warmup),
        ]
        return loadgen(pin, srv.port, "streams", *args, module="bench.curve_load", timeout=900)


def curves_phase(
    specs: list[ServerSpec], pin: Pinning, cp: CurveProfile, logdir: Path, failures: list[str]
) -> dict:
    """Every curve for every server that can be measured on it; a failure is reported and the
    other curves still run."""
    out: dict = {"profile": copy.copy(cp.__dict__)}
    if cp.concurrency:
        out["concurrency"] = concurrency_curve(specs, pin, cp, logdir, failures)
    per_server = (
        ("idle_sessions", cp.sessions, idle_sessions_curve, lambda s: s.sessions),
        # ours only: the SDKs keep no event log unless given an event store, so they cannot resume
        ("resume", cp.resume_lengths, resume_curve, lambda s: s.name == "ours"),
        ("streams", cp.streams, streams_curve, lambda s: s.sessions),
    )
    for curve, points, run, applies in per_server:
        if not points:
            continue
        out[curve] = {}
        for spec in specs:
            if not applies(spec):
                continue
            try:
                out[curve][spec.name] = run(spec, pin, cp, logdir)
            except Exception as exc:
                failures.append(f"curves/{curve} {spec.name}: {exc}")
                log(f"error: curves/{curve} {spec.name}: {exc}")
    return out


def curve_notes(curves: dict) -> list[str]:
    """What a reader of the plots must know: a point where the generator was the limit, a line
    that stopped early, streams a server refused."""
    notes = [
        f"idle-session curve, {name}: {c['stopped']}"
        for name, c in curves.get("idle_sessions", {}).items()
        if c.get("stopped")
    ]
    for name, pts in curves.get("concurrency", {}).items():
        bound = [p["clients"] for p in pts if (p.get("gen_cpu") or 0) >= GEN_BOUND]
        if bound:
            notes.append(f"concurrency curve, {name}: the generator was the limit at c={bound}")
    for name, c in curves.get("streams", {}).items():
        refused = (c.get("points") or [{}])[-1].get("refused")
        if refused:
            notes.append(f"SSE-stream curve, {name}: GET streams refused (HTTP status: count) {refused}")
    return notes
