"""Load for two of the scaling curves (bench.curves), on the load generator's connections.

    python -m bench.curve_load streams --port P --server-pid PID --points 100,1000,5000 --duration 2
    python -m bench.curve_load resume  --port P --lengths 10,1000,10000 --repeat 5

``streams``: memory and throughput against open SSE streams. It opens standalone GET streams
(2025-11-25 basic/transports "Listening for Messages from the Server"), one per session, each on
its own connection, up to each point; reads the server's RSS from /proc; then runs closed-loop
``tools/call`` of ``echo`` on ``--clients`` more connections for ``--duration`` seconds while
the streams stay open.

``resume``: resume latency against the length of the stream resumed (2025-11-25
basic/transports "Resumability and Redelivery"). For each length L: one ``tools/call`` of
``progress_stream`` (count=L, with a progress token) answered as an SSE stream, then ``GET`` with
``Last-Event-ID`` set to its next-to-last event id, so the replay is the same single event (the
result) whatever L is: the time to it should not grow with L. Measured the same way at every
length: one untimed resume first (the server's first GET warms its code paths); then rounds, each
resuming every length in turn, so a disturbance on the shared machine hits every length alike;
the median over the rounds. The GET is sent ``--settle`` seconds after the POST's stream ended,
the same pause at every length: right at its end both processes had just spent CPU in
proportion to L (the server writing the stream, the client reading it), and the scheduler
makes a process that just ran long wait longer for the core when it wakes, so a GET sent at
once timed that, by milliseconds on a loaded machine, not the resume. A real client resumes
after the ``retry`` the server gave it (1,000 ms), never within microseconds of a stream's end;
everything the server does after the POST's last byte belongs to the POST (0.2-0.9 ms of CPU,
bench/profile_notes.md), and the resume itself is timed whole: from the GET's first byte to the
replayed event.

Each prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import time

from bench.harness import proc_rss_kb
from bench.loadgen import (
    PROTOCOL_VERSION,
    Conn,
    connect,
    open_session,
    post,
    progress_call,
    run_and_print,
    run_calls,
)

_perf = time.perf_counter


def get(
    host: str, port: int, session: bytes | None, version: bytes, path: str, last_id: bytes = b""
) -> bytes:
    head = [
        b"GET %s HTTP/1.1" % path.encode(),
        b"Host: %s:%d" % (host.encode(), port),
        b"Accept: text/event-stream",
        b"MCP-Protocol-Version: " + version,
    ]
    if session:
        head.append(b"Mcp-Session-Id: " + session)
    if last_id:
        head.append(b"Last-Event-ID: " + last_id)
    return b"\r\n".join(head) + b"\r\n\r\n"


async def open_stream(host: str, port: int, path: str) -> tuple[Conn, int]:
    """A new session with its GET stream open: the connection and the stream's HTTP status."""
    conn = await connect(host, port)
    session, version = await open_session(conn, host, port, path)
    status = asyncio.get_running_loop().create_future()

    def on_head(code: int) -> None:
        if not status.done():
            status.set_result(code)

    conn.on_head = on_head
    conn.transport.write(get(host, port, session, version, path))
    try:
        return conn, await asyncio.wait_for(status, 10)
    except TimeoutError:
        return conn, 0


async def run_streams(a: argparse.Namespace) -> dict:
    conns: list[Conn] = []
    refused: dict[int, int] = {}
    gate = asyncio.Semaphore(64)  # connections being set up at once

    async def one() -> None:
        async with gate:
            conn, status = await open_stream(a.host, a.port, a.path)
        conns.append(conn)
        if status != 200:
            refused[status] = refused.get(status, 0) + 1

    points = []
    base = proc_rss_kb(a.server_pid)
    for n in sorted(int(x) for x in a.points.split(",")):
        t0 = _perf()
        await asyncio.gather(*(one() for _ in range(n - len(conns))), return_exceptions=False)
        opened = _perf() - t0
        mem = proc_rss_kb(a.server_pid)
        calls = await run_calls(a)
        points.append(
            {
                "streams": n,
                "refused": dict(refused),
                "open_seconds": opened,
                "rss_kb": mem,
                **{k: calls[k] for k in ("rps", "p50_ms", "p99_ms", "errors", "first_error", "gen_cpu")},
            }
        )
        print(f"[streams] {n}: RSS {mem} KB, {calls['rps']:.0f} req/s", file=sys.stderr, flush=True)
    for c in conns:
        c.transport.close()
    return {"kind": "streams", "rss_kb_base": base, "points": points}


_ID = re.compile(rb"^id: ?(\S+)\r?$", re.M)


def _last_ids(body: bytes, count: int) -> list[bytes]:
    """The last ``count`` event ids of an SSE body, found from its end: the time between the
    POST and the timed GET does not grow with the stream (a regex over a 50,000-event body
    takes the client 50 ms and more)."""
    tail = 4096
    while True:
        ids = _ID.findall(body, max(0, len(body) - tail))
        if len(ids) >= count or tail >= len(body):
            return ids[-count:]
        tail *= 4


async def resume_once(
    conn: Conn, a: argparse.Namespace, session: bytes | None, version: bytes, n: int
) -> dict:
    call = progress_call(n, a.length, f"r{n}")
    r = await conn.request(post(a.host, a.port, call, session, version, a.path))
    ids = _last_ids(r.body, 2)
    if r.status != 200 or len(ids) < 2:
        return {"error": f"HTTP {r.status}, {len(ids)} event ids: {r.body[:200]!r}"}
    await asyncio.sleep(a.settle)
    first = [0.0]

    def on_chunk(chunk: bytes) -> None:
        if not first[0] and b"data:" in chunk:
            first[0] = _perf()

    conn.on_chunk = on_chunk
    t0 = _perf()
    replay = await conn.request(get(a.host, a.port, session, version, a.path, ids[-2]))
    t1 = _perf()
    conn.on_chunk = None
    if replay.status != 200 or b'"result"' not in replay.body:
        return {"error": f"resume: HTTP {replay.status}: {replay.body[:200]!r}"}
    return {"first_ms": ((first[0] or t1) - t0) * 1e3, "total_ms": (t1 - t0) * 1e3}


async def run_resume(a: argparse.Namespace) -> dict:
    conn = await connect(a.host, a.port)
    session, version = await open_session(conn, a.host, a.port, a.path)
    version = version or PROTOCOL_VERSION.encode()
    lengths = sorted(int(x) for x in a.lengths.split(","))
    a.length = lengths[0]
    await resume_once(conn, a, session, version, 0)  # warm-up, untimed
    measured: dict[int, tuple[list[dict], list[str]]] = {length: ([], []) for length in lengths}
    n = 0
    for _ in range(a.repeat):
        for length in lengths:  # every round visits every length
            a.length, n = length, n + 1
            r = await resume_once(conn, a, session, version, n)
            runs, errors = measured[length]
            (errors.append(r["error"]) if "error" in r else runs.append(r))
    points = []
    for length, (runs, errors) in measured.items():
        first = [r["first_ms"] for r in runs]
        points.append(
            {
                "length": length,
                "p50_ms": statistics.median(first) if first else None,
                "max_ms": max(first) if first else None,
                "total_p50_ms": statistics.median(r["total_ms"] for r in runs) if runs else None,
                "errors": len(errors),
                "first_error": errors[0] if errors else None,
            }
        )
        print(f"[resume] stream of {length}: {points[-1]['p50_ms']} ms", file=sys.stderr, flush=True)
    conn.transport.close()
    return {"kind": "resume", "points": points}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("kind", choices=("streams", "resume"))
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", default="/mcp")
    p.add_argument("--server-pid", type=int, default=0, help="streams: the server whose RSS is read")
    p.add_argument("--points", default="100,1000", help="streams: open streams at each measurement")
    p.add_argument("--clients", type=int, default=32, help="streams: tools/call connections")
    p.add_argument("--duration", type=float, default=2.0)
    p.add_argument("--warmup", type=float, default=0.5)
    p.add_argument("--lengths", default="10,100,1000", help="resume: stream lengths (events)")
    p.add_argument("--repeat", type=int, default=5, help="resume: resumes per length (rounds)")
    p.add_argument(
        "--settle", type=float, default=0.05, help="resume: seconds from a stream's end to its GET"
    )
    a = p.parse_args(argv)
    # what run_calls reads besides the above
    a.tool, a.text, a.arguments, a.modern = "echo", "hello", "{}", False
    run_and_print({"streams": run_streams, "resume": run_resume}[a.kind], a)


if __name__ == "__main__":
    main()
