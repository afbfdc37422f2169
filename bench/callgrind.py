"""Instructions per request, noise-free: the server runs under valgrind's callgrind, a client sends a
fixed number of requests over real HTTP on 127.0.0.1, and the instructions the server executed for
them (counters zeroed after a warm-up, dumped after the last answer) are divided by their number.
On a shared machine this is the figure to compare two versions of a hot path with; wall-clock
throughput there swings by tens of percent from run to run.

    python -m bench.callgrind ours json                # legacy leg, tools/call echo, c=1
    python -m bench.callgrind ours sse --modern        # the 2026-07-28 leg
    python -m bench.callgrind plain json --clients 32
    python -m bench.callgrind ours json --root /tmp/old-checkout   # another version's server
    python -m bench.callgrind ours json --cprofile out.prof        # cProfile instead of callgrind

``--cprofile`` runs the server without valgrind and profiles exactly the measured requests (the
profiler is switched on and off by SIGUSR1/SIGUSR2), for where the instructions go by function.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench.harness import PY, ROOT, SERVERS, free_port
from bench.loadgen import MODERN_META, MODERN_VERSION, Conn, _prefix, connect, open_session

# runs the server module with a profiler that SIGUSR1 starts and SIGUSR2 stops and writes out
_PROFILED = """
import cProfile, runpy, signal, sys
out, module = sys.argv[1], sys.argv[2]
sys.argv = [module, *sys.argv[3:]]
prof = cProfile.Profile()
signal.signal(signal.SIGUSR1, lambda *_: prof.enable())
def stop(*_):
    prof.disable()
    prof.dump_stats(out)
signal.signal(signal.SIGUSR2, stop)
runpy.run_module(module, run_name="__main__")
"""


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


async def _drive(port: int, a: argparse.Namespace, between: list[Callable[[], None]]) -> None:
    """``a.warmup`` then ``a.requests`` tools/call echo requests spread over ``a.clients``
    connections; ``between`` (callables) run after the warm-up and after the measured requests."""
    conns: list[Conn] = [await connect("127.0.0.1", port) for _ in range(a.clients)]
    extra: tuple[bytes, ...] = ()
    meta = b""
    sessions: list[tuple[bytes | None, bytes]]
    if a.modern:
        sessions = [(None, MODERN_VERSION.encode())] * len(conns)
        meta = b',"_meta":' + json.dumps(MODERN_META, separators=(",", ":")).encode()
        extra = (b"Mcp-Method: tools/call", b"Mcp-Name: echo")
    else:
        sessions = [await open_session(c, "127.0.0.1", port) for c in conns]
    template = b'{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"echo","arguments":'
    template += b'{"text":"hello"}' + meta + b"}}"

    async def client(conn: Conn, session: bytes | None, version: bytes, n: int) -> None:
        prefix = _prefix("127.0.0.1", port, session, version, "/mcp", extra)
        for i in range(n):
            body = template % i
            r = await conn.request(prefix + b"%d\r\n\r\n" % len(body) + body)
            if r.status != 200 or b'"result"' not in r.body:
                raise RuntimeError(f"HTTP {r.status}: {r.body[:300]!r}")

    async def phase(total: int) -> None:
        per = [total // len(conns) + (i < total % len(conns)) for i in range(len(conns))]
        await asyncio.gather(*(client(c, *s, n) for c, s, n in zip(conns, sessions, per, strict=True)))

    await phase(a.warmup)
    between[0]()
    await phase(a.requests)
    between[1]()
    for c in conns:
        c.transport.close()


def _total(dump: Path) -> int:
    for line in dump.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {dump}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("server", choices=[s.name for s in SERVERS if s.name in ("plain", "ours", "official")])
    p.add_argument("mode", nargs="?", default="json", choices=("json", "sse"))
    p.add_argument("--modern", action="store_true", help="the stateless 2026-07-28 leg (ours only)")
    p.add_argument("--requests", type=int, default=1000)
    p.add_argument("--warmup", type=int, default=300)
    p.add_argument("--clients", type=int, default=1)
    p.add_argument("--root", type=Path, default=ROOT, help="the source tree the server runs from")
    p.add_argument("--cprofile", type=Path, help="profile with cProfile into this file instead")
    a = p.parse_args(argv)
    spec = next(s for s in SERVERS if s.name == a.server)
    port = free_port()
    out_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"callgrind-{os.getpid()}"
    out_dir.mkdir(exist_ok=True)
    server = [spec.module, "--port", str(port), "--mode", a.mode]
    if a.cprofile:
        cmd = [PY, "-c", _PROFILED, str(a.cprofile.resolve()), *server]
    else:
        cmd = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out_dir}/cg.out",
            PY,
            "-m",
            *server,
        ]
    env = {**os.environ, "PYTHONPATH": str(a.root)}
    proc = subprocess.Popen(cmd, cwd=a.root, env=env, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port, proc, 120)

        def control(option: str) -> None:
            if a.cprofile:
                os.kill(proc.pid, signal.SIGUSR1 if option == "-z" else signal.SIGUSR2)
            else:
                subprocess.run(["callgrind_control", option, str(proc.pid)], check=True, capture_output=True)

        asyncio.run(_drive(port, a, [lambda: control("-z"), lambda: control("-d")]))
        if a.cprofile:
            time.sleep(1)
            print(f"profile written to {a.cprofile}")
            return 0
        dumps = sorted(out_dir.glob("cg.out.*"), key=lambda f: f.stat().st_mtime)
        per = _total(dumps[-1]) / a.requests
        leg = "modern" if a.modern else "legacy"
        print(f"{a.server} {a.mode} {leg} c={a.clients}: {per:,.0f} instructions per request")
        return 0
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    sys.exit(main())
