"""stdio load: spawn a server speaking newline-delimited JSON-RPC on stdin/stdout, do the MCP
handshake, then time ``tools/call`` of ``echo`` sequentially (one in flight) and concurrently
(``--window`` in flight).

    python -m bench.stdio_load --calls 2000 -- python -m servers.everything --stdio

Prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from bench.loadgen import INIT, INITIALIZED, _cpu


async def _run(a: argparse.Namespace) -> dict:
    proc = await asyncio.create_subprocess_exec(
        *a.command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        limit=1 << 24,
    )
    assert proc.stdin is not None and proc.stdout is not None  # both PIPE above
    w, r = proc.stdin, proc.stdout

    async def read_response() -> dict:
        while True:
            line = await asyncio.wait_for(r.readline(), 30)
            if not line:
                raise RuntimeError("server closed stdout")
            msg = json.loads(line)
            if "id" in msg and ("result" in msg or "error" in msg):
                return msg

    try:
        w.write(INIT + b"\n")
        await w.drain()
        await read_response()
        w.write(INITIALIZED + b"\n")
        template = (
            b'{"jsonrpc":"2.0","id":%d,"method":"tools/call",'
            b'"params":{"name":"echo","arguments":{"text":"hello"}}}\n'
        )
        errors = 0
        out: dict = {"kind": "stdio", "calls": a.calls}
        n = 1
        for _ in range(a.warmup):
            w.write(template % n)
            n += 1
            await read_response()
        # sequential
        cpu0, t0 = _cpu(), time.perf_counter()
        for _ in range(a.calls):
            w.write(template % n)
            n += 1
            if "result" not in await read_response():
                errors += 1
        wall = time.perf_counter() - t0
        out["sequential_per_s"] = a.calls / wall
        out["gen_cpu_sequential"] = (_cpu() - cpu0) / wall
        # concurrent: keep `window` requests in flight
        cpu0, t0 = _cpu(), time.perf_counter()
        sent = 0
        for _ in range(min(a.window, a.calls)):
            w.write(template % n)
            n += 1
            sent += 1
        got = 0
        while got < a.calls:
            if "result" not in await read_response():
                errors += 1
            got += 1
            if sent < a.calls:
                w.write(template % n)
                n += 1
                sent += 1
        wall = time.perf_counter() - t0
        out["concurrent_per_s"] = a.calls / wall
        out["gen_cpu_concurrent"] = (_cpu() - cpu0) / wall
        out["window"] = a.window
        out["errors"] = errors
        return out
    finally:
        if w.can_write_eof():
            w.close()
        try:
            await asyncio.wait_for(proc.wait(), 3)
        except (TimeoutError, ProcessLookupError):
            proc.kill()
            await proc.wait()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calls", type=int, default=2000)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--window", type=int, default=32)
    p.add_argument("command", nargs=argparse.REMAINDER)
    a = p.parse_args(argv)
    if a.command and a.command[0] == "--":
        a.command = a.command[1:]
    if not a.command:
        p.error("give the server command after --")
    json.dump(asyncio.run(_run(a)), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
