"""The benchmark's machinery, shared by its phases (bench.run, bench.curves, bench.profile): the
servers under test, the run profiles, starting a pinned server, running the load generator, and
reading a process's CPU and memory from /proc."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import platform
import resource
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PY = sys.executable
GEN_BOUND = 0.90  # generator CPU / wall above which the generator, not the server, is the limit
FOREIGN = 0.15  # CPU (in cores) other processes took on our two cores during a figure: above it, "~"
# The TypeScript SDK and the node 22 that runs it, installed from bench/package-lock.json by
# `make bench-deps` (npm ci)
NODE_MODULES = ROOT / "bench" / "node_modules"
NODE = NODE_MODULES / ".bin" / "node"


@dataclass
class ServerSpec:
    name: str
    label: str
    module: str
    modes: tuple[str, ...]
    sessions: bool = True  # real MCP sessions (memory and expiry figures)
    stdio: bool = True
    modern: bool = False  # also serves the stateless 2026-07-28 leg
    needs: tuple[str, ...] = ()  # importable modules it needs
    available_check: str = ""  # module whose presence means the server exists
    launcher: tuple[str, ...] = ()  # the command that starts it; default: python -m <module>
    needs_paths: tuple[Path, ...] = ()  # files it needs, from `make bench-deps`

    def argv(self) -> list[str]:
        return list(self.launcher) if self.launcher else [PY, "-m", self.module]

    def http_cmd(self, port: int, mode: str, idle_timeout: float | None = None) -> list[str]:
        cmd = [*self.argv(), "--port", str(port), "--mode", mode]
        if idle_timeout is not None:
            cmd += ["--session-idle-timeout", str(idle_timeout)]
        return cmd

    def stdio_cmd(self) -> list[str]:
        return [*self.argv(), "--stdio"]

    def missing(self) -> str | None:
        for mod in self.needs:
            if importlib.util.find_spec(mod) is None:
                return f"module {mod!r} not installed (pip install -e '.[dev,bench]')"
        for path in self.needs_paths:
            if not path.exists():
                return f"{path.relative_to(ROOT)} not installed (make bench-deps)"
        if self.available_check:
            try:
                if importlib.util.find_spec(self.available_check) is None:
                    return f"{self.available_check} does not exist yet"
            except ModuleNotFoundError:
                return f"{self.available_check} does not exist yet"
        return None


SERVERS = [
    ServerSpec(
        "plain",
        "plain uvicorn echo",
        "bench.servers.plain_echo",
        ("json", "sse"),
        sessions=False,
        stdio=False,
    ),
    ServerSpec(
        "official", "official Python SDK", "bench.servers.official_sdk", ("json", "sse"), needs=("mcp",)
    ),
    ServerSpec(
        "ts",
        "official TypeScript SDK",
        "bench/servers/ts_sdk.mjs",
        ("json", "sse"),
        launcher=(str(NODE), str(ROOT / "bench" / "servers" / "ts_sdk.mjs")),
        needs_paths=(NODE, NODE_MODULES / "@modelcontextprotocol" / "sdk" / "package.json"),
    ),
    ServerSpec("fastmcp", "fastmcp", "bench.servers.fastmcp_server", ("json", "sse"), needs=("fastmcp",)),
    ServerSpec(
        "ours",
        "mcp_transport",
        "bench.servers.ours",
        ("json", "sse", "auto"),
        modern=True,
        available_check="mcp_transport.transports.http",
    ),
]


@dataclass
class CurveProfile:
    """The points of the scaling curves (bench.curves); a curve with no points is not run."""

    concurrency: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256)
    duration: float = 1.0  # seconds per concurrency point, after the warm-up
    warmup: float = 0.3
    sessions: tuple[int, ...] = (1000, 2000, 5000, 10_000, 20_000, 50_000)
    session_budget: float = 120.0  # seconds one server may take to open the idle sessions
    session_rss_cap_mb: int = 4096  # a server past this RSS opens no more (the machine is shared)
    resume_lengths: tuple[int, ...] = (10, 100, 1000, 10_000, 50_000)
    resume_repeat: int = 9
    streams: tuple[int, ...] = (100, 500, 1000, 2000, 5000)


@dataclass
class Profile:
    duration: float
    warmup: float
    repeat: int
    concurrency: tuple[int, ...] = (1, 32)
    session_batch: int = 2000  # sessions per sessions/s repeat
    idle_sessions: int = 10_000
    idle_timeout: float = 60.0  # session idle timeout of the memory phase's servers
    progress: int = 1000
    stdio_calls: int = 2000
    curves: CurveProfile | None = None  # None: no scaling curves


# The sessions phase's c=32 runs (3 repeats x 4 servers with sessions x twin) take ~75 s after the
# idle sessions are opened: the idle timeout outlasts them, or sessions would expire mid-figure.
FULL = Profile(duration=2.0, warmup=0.5, repeat=3, idle_timeout=120.0, curves=CurveProfile())
QUICK = Profile(
    duration=0.5,
    warmup=0.2,
    repeat=1,
    session_batch=300,
    idle_sessions=1000,
    idle_timeout=6.0,
    stdio_calls=300,
    # of the curves only resume (a few seconds), for its target; an empty curve is not run
    curves=CurveProfile(
        concurrency=(),
        sessions=(),
        streams=(),
        resume_lengths=(10, 1000, 10_000, 50_000),
        resume_repeat=9,
    ),
)
# Seconds per figure: proves that every phase and curve runs (the smoke test, a changed harness);
# its figures mean nothing.
TINY = Profile(
    duration=0.2,
    warmup=0.1,
    repeat=1,
    session_batch=100,
    idle_sessions=300,
    idle_timeout=3.0,
    progress=100,
    stdio_calls=100,
    curves=CurveProfile(
        concurrency=(1, 4, 16),
        duration=0.2,
        warmup=0.1,
        sessions=(100, 300),
        session_budget=20.0,
        resume_lengths=(10, 100, 1000),
        resume_repeat=2,
        streams=(20, 60),
    ),
)


# --- machinery -------------------------------------------------------------------------------


class Pinning:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2
        self.why_not = None
        if enabled and not self.enabled:
            self.why_not = (
                "taskset not found (apt-get install util-linux)"
                if shutil.which("taskset") is None
                else "fewer than 2 cores"
            )

    def server(self, cmd: list[str]) -> list[str]:
        return ["taskset", "-c", "0", *cmd] if self.enabled else cmd

    def generator(self, cmd: list[str]) -> list[str]:
        return ["taskset", "-c", "1", *cmd] if self.enabled else cmd


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu(pid: int) -> float:
    """CPU-seconds (user + system) used so far by process ``pid``."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Server:
    def __init__(
        self,
        spec: ServerSpec,
        mode: str,
        pin: Pinning,
        idle_timeout: float | None = None,
        log: Path | None = None,
    ) -> None:
        self.spec, self.mode = spec, mode
        self.port = free_port()
        self.cmd = pin.server(spec.http_cmd(self.port, mode, idle_timeout))
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{shlex.join(self.cmd)} exited with {self.proc.returncode}"
                    + (f" (log: {self.log})" if self.log else "")
                )
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return self
            time.sleep(0.05)
        self.__exit__()
        raise RuntimeError(f"{shlex.join(self.cmd)} did not listen within 30 s")

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError(f"{shlex.join(self.cmd)} is not started: use the Server in a with block")
        return self.proc.pid  # taskset execs the command, so this is the server itself

    def cpu(self) -> float:
        return proc_cpu(self.pid)

    def rss_kb(self) -> int:
        return proc_rss_kb(self.pid)


def loadgen(
    pin: Pinning, port: int, kind: str, *args: str, timeout: float = 300, module: str = "bench.loadgen"
) -> dict:
    """One run of the load generator ``module`` (pinned to the generator's core): its JSON result."""
    cmd = pin.generator([PY, "-m", module, kind, "--port", str(port), *args])
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} failed:\n{p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def med(values: Sequence[float | None]) -> float:
    """The median of the values measured (None: not measured in that run)."""
    measured = [v for v in values if v is not None]
    return statistics.median(measured) if measured else float("nan")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- figures ---------------------------------------------------------------------------------


def core_busy() -> list[float]:
    """Busy CPU-seconds so far of each core (from /proc/stat)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = []
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                v = [int(x) for x in line.split()[1:]]
                out.append((sum(v[:8]) - v[3] - v[4]) / tick)  # all but idle and iowait
    return out


def one_calls_run(srv: Server, pin: Pinning, prof: Profile, clients: int, *extra: str) -> dict:
    """One loadgen ``calls`` run, with the server's CPU and the CPU others used on our two cores."""
    cpu0, busy0 = srv.cpu(), core_busy()
    ch0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    r = loadgen(
        pin,
        srv.port,
        "calls",
        "--clients",
        str(clients),
        "--duration",
        str(prof.duration),
        "--warmup",
        str(prof.warmup),
        *extra,
    )
    wall = time.monotonic() - t0
    ch1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy1, server_cpu = core_busy(), srv.cpu() - cpu0
    gen_cpu = (ch1.ru_utime + ch1.ru_stime) - (ch0.ru_utime + ch0.ru_stime)
    r["server_cpu_per_1000"] = server_cpu / max(1, r["total_calls"]) * 1000
    r["server_core_load"] = server_cpu / wall
    if pin.enabled and len(busy0) >= 2:
        # what ran on our cores besides the server (core 0) and the generator (core 1)
        r["foreign_cpu"] = max(
            0.0, ((busy1[0] - busy0[0]) - server_cpu) / wall, ((busy1[1] - busy0[1]) - gen_cpu) / wall
        )
    return r


def summarize(runs: list[dict]) -> dict:
    return {
        "rps": med([r["rps"] for r in runs]),
        "p50_ms": med([r["p50_ms"] for r in runs]),
        "p99_ms": med([r["p99_ms"] for r in runs]),
        "ttfb_ms": med([r["ttfb_p50_ms"] for r in runs]),
        "server_cpu_s_per_1000": med([r["server_cpu_per_1000"] for r in runs]),
        "server_core_load": med([r["server_core_load"] for r in runs]),
        "gen_cpu": max(r["gen_cpu"] for r in runs),
        "foreign_cpu": med([r.get("foreign_cpu") for r in runs]),
        "errors": sum(r["errors"] for r in runs),
        "first_error": next((r["first_error"] for r in runs if r["first_error"]), None),
        "runs": [round(r["rps"], 1) for r in runs],
    }


def calls_figure(srv: Server, pin: Pinning, prof: Profile, clients: int, *extra: str) -> dict:
    """tools/call echo at ``clients`` concurrency, ``prof.repeat`` times; medians."""
    return summarize([one_calls_run(srv, pin, prof, clients, *extra) for _ in range(prof.repeat)])


def _get(d: object, *path: str) -> Any:
    """The JSON value at ``path`` inside ``d``, None where the path breaks off."""
    for k in path:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def machine() -> str:
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    system = f"{platform.system()} {platform.release()}"
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {system}"
