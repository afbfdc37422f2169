"""The load generator: pure-Python asyncio on uvloop, raw sockets, HTTP/1.1 keep-alive, requests
pre-built as bytes, minimal response parsing (Content-Length or chunked), one connection and one
MCP session per virtual client, each client sending its next request as soon as the previous
response is complete (closed loop).

    python -m bench.loadgen calls    --port P --clients 32 --duration 3 [--tool echo]
    python -m bench.loadgen sessions --port P --count 2000 --clients 32
    python -m bench.loadgen progress --port P --count 1000 --repeat 3

Each prints one JSON object on stdout. The runner (bench.run) pins it to its own core and reads
``gen_cpu`` (generator CPU-seconds / wall seconds): near 1.0 means the generator, not the server,
was the bottleneck.

Per virtual client the session handshake is that of the Streamable HTTP transport: POST
``initialize``, read ``Mcp-Session-Id``, POST ``notifications/initialized``; then every
``tools/call`` carries ``Mcp-Session-Id`` and ``MCP-Protocol-Version``. Responses may be JSON or
SSE; a call counts as an error unless it is a 200 whose body holds a JSON-RPC ``result``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import cast

PROTOCOL_VERSION = "2025-11-25"
MODERN_VERSION = "2026-07-28"
MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
    "io.modelcontextprotocol/clientCapabilities": {},
}
_perf = time.perf_counter


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Response:
    __slots__ = ("body", "head", "raw_head", "status", "ttfb")

    def __init__(self, status: int, head: bytes, raw_head: bytes, body: bytes, ttfb: float) -> None:
        self.status = status
        self.head = head  # the header block, lower-cased
        self.raw_head = raw_head  # as received
        self.body = body
        self.ttfb = ttfb  # perf_counter() when the response's first byte arrived

    def header(self, name: bytes) -> bytes | None:
        """A header's value (``name`` lower-case), its case kept."""
        m = re.search(rb"\r\n" + name + rb":[ \t]*([^\r\n]*)", self.head)
        return self.raw_head[m.start(1) : m.end(1)].strip() if m else None

    def messages(self) -> list[dict]:
        """The JSON-RPC messages in the body, JSON or SSE."""
        if self.head.find(b"content-type: text/event-stream") >= 0:
            out = []
            for line in self.body.replace(b"\r\n", b"\n").split(b"\n"):
                if line.startswith(b"data:"):
                    data = line[5:].strip()
                    if data:
                        out.append(json.loads(data))
            return out
        return [json.loads(self.body)] if self.body.strip() else []


class Conn(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection; ``on_response`` is called for each complete response."""

    transport: asyncio.Transport  # set by connection_made, before create_connection returns

    def __init__(self) -> None:
        self.buf = bytearray()
        self.on_response: Callable[[Response], None] | None = None
        self.on_chunk: Callable[[bytes], None] | None = None  # sees each body chunk of a chunked response
        self.on_head: Callable[[int], None] | None = None  # sees each response's status, head parsed
        self.lost = asyncio.get_running_loop().create_future()
        self._head: bytes | None = None
        self._raw_head = b""
        self._status = 0
        self._clen = -1
        self._chunked = False
        self._body = bytearray()
        self._pos = 0  # parse position in buf (chunked)
        self._ttfb = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a stream protocol is always handed a Transport (asyncio docs: "Transports and Protocols")
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(exc)

    def data_received(self, data: bytes) -> None:
        if not self.buf and self._head is None:
            self._ttfb = _perf()
        self.buf += data
        while self._parse():
            pass

    def _parse(self) -> bool:
        buf = self.buf
        if self._head is None:
            i = buf.find(b"\r\n\r\n")
            if i < 0:
                return False
            raw = bytes(buf[: i + 2])
            head = raw.lower()
            del buf[: i + 4]
            self._head = head
            self._raw_head = raw
            self._status = int(head[9:12])
            j = head.find(b"\r\ncontent-length:")
            if j >= 0:
                self._clen = int(head[j + 17 : head.index(b"\r\n", j + 2)])
                self._chunked = False
            else:
                self._clen = -1
                self._chunked = head.find(b"\r\ntransfer-encoding: chunked") >= 0
                if not self._chunked:
                    self._clen = 0
            self._body = bytearray()
            self._pos = 0
            if self.on_head is not None:
                self.on_head(self._status)
        if not self._chunked:
            if len(buf) < self._clen:
                return False
            body = bytes(buf[: self._clen])
            del buf[: self._clen]
            return self._done(body)
        # chunked: consume complete chunks
        while True:
            i = buf.find(b"\r\n", self._pos)
            if i < 0:
                return False
            size = int(buf[self._pos : i].split(b";", 1)[0], 16)
            end = i + 2 + size
            if len(buf) < end + 2:
                return False
            if size == 0:
                # no trailers expected
                del buf[: end + 2]
                body = bytes(self._body)
                return self._done(body)
            chunk = bytes(buf[i + 2 : end])
            self._body += chunk
            if self.on_chunk is not None:
                self.on_chunk(chunk)
            self._pos = end + 2
            if self._pos > 65536:
                del buf[: self._pos]
                self._pos = 0

    def _done(self, body: bytes) -> bool:
        resp = Response(self._status, self._head or b"", self._raw_head, body, self._ttfb)
        self._head = None
        # Freed now, not when the next response starts: after a large body that free (pages
        # handed back to the kernel, ~0.3 ms for 7.5 MB) would land in the next one's timing.
        if self._body:
            self._body = bytearray()
        self._ttfb = _perf() if self.buf else 0.0
        cb = self.on_response
        if cb is not None:
            cb(resp)
        return bool(self.buf)

    async def request(self, data: bytes) -> Response:
        fut = asyncio.get_running_loop().create_future()

        def on_response(r: Response) -> None:
            if not fut.done():
                fut.set_result(r)
            else:
                print(f"unexpected extra response: HTTP {r.status} {r.body[:200]!r}", file=sys.stderr)

        self.on_response = on_response
        self.transport.write(data)
        try:
            return await asyncio.wait_for(fut, 30)
        finally:
            self.on_response = None


def post(
    host: str,
    port: int,
    body: bytes,
    session: bytes | None = None,
    version: bytes | None = None,
    path: str = "/mcp",
    extra: tuple[bytes, ...] = (),
) -> bytes:
    head = [
        b"POST %s HTTP/1.1" % path.encode(),
        b"Host: %s:%d" % (host.encode(), port),
        b"Content-Type: application/json",
        b"Accept: application/json, text/event-stream",
        *extra,
    ]
    if session:
        head.append(b"Mcp-Session-Id: " + session)
    if version:
        head.append(b"MCP-Protocol-Version: " + version)
    head.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def _prefix(
    host: str,
    port: int,
    session: bytes | None,
    version: bytes | None,
    path: str,
    extra: tuple[bytes, ...] = (),
) -> bytes:
    """The request up to the Content-Length value."""
    full = post(host, port, b"", session, version, path, extra)
    return full[: full.rindex(b"Content-Length: ") + 16]


INIT = json.dumps(
    {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "bench-loadgen", "version": "1"},
        },
    },
    separators=(",", ":"),
).encode()
INITIALIZED = b'{"jsonrpc":"2.0","method":"notifications/initialized"}'


async def connect(host: str, port: int) -> Conn:
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(Conn, host, port)
    return conn


async def open_session(conn: Conn, host: str, port: int, path: str = "/mcp") -> tuple[bytes | None, bytes]:
    """initialize + notifications/initialized on ``conn``; returns (session id, protocol version)."""
    r = await conn.request(post(host, port, INIT, path=path))
    if r.status != 200:
        raise RuntimeError(f"initialize: HTTP {r.status}: {r.body[:300]!r}")
    session = r.header(b"mcp-session-id")
    version = PROTOCOL_VERSION.encode()
    for m in r.messages():
        if "result" in m:
            version = m["result"].get("protocolVersion", PROTOCOL_VERSION).encode()
    r = await conn.request(post(host, port, INITIALIZED, session, version, path))
    if r.status not in (200, 202, 204):
        raise RuntimeError(f"notifications/initialized: HTTP {r.status}: {r.body[:300]!r}")
    return session, version


@dataclass(slots=True)
class _Tally:
    """What the clients of one calls run counted."""

    errors: int = 0
    count: int = 0  # responses inside the measured window
    total: int = 0  # every response, warm-up included
    first_error: str | None = None


def _pct(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


async def run_calls(a: argparse.Namespace) -> dict:
    host, port = a.host, a.port
    conns = [await connect(host, port) for _ in range(a.clients)]
    args = json.dumps(
        {"text": a.text} if a.tool == "echo" else json.loads(a.arguments), separators=(",", ":")
    )
    extra: tuple[bytes, ...] = ()
    sessions: list[tuple[bytes | None, bytes]]
    if a.modern:  # 2026-07-28: no session, the per-request _meta envelope and metadata headers
        sessions = [(None, MODERN_VERSION.encode())] * len(conns)
        meta = b',"_meta":' + json.dumps(MODERN_META, separators=(",", ":")).encode()
        extra = (b"Mcp-Method: tools/call", b"Mcp-Name: " + a.tool.encode())
    else:
        sessions = await asyncio.gather(*(open_session(c, host, port, a.path) for c in conns))
        meta = b""
    template = (
        b'{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"'
        + a.tool.encode()
        + b'","arguments":'
        + args.encode()
        + meta
        + b"}}"
    )
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    lat: list[float] = []
    ttfb: list[float] = []
    state = _Tally()
    t_begin = _perf()
    t_measure = t_begin + a.warmup
    t_end = t_measure + a.duration
    active = [len(conns)]

    def client(conn: Conn, session: bytes | None, version: bytes) -> None:
        prefix = _prefix(host, port, session, version, a.path, extra)
        n = [1]
        sent = [0.0]

        def send() -> None:
            body = template % n[0]
            n[0] += 1
            sent[0] = _perf()
            conn.transport.write(prefix + b"%d\r\n\r\n" % len(body) + body)

        def on_response(r: Response) -> None:
            now = _perf()
            state.total += 1
            if now >= t_measure:
                if now <= t_end:
                    lat.append(now - sent[0])
                    ttfb.append(r.ttfb - sent[0])
                    state.count += 1
                    if r.status != 200 or r.body.find(b'"result"') < 0:
                        state.errors += 1
                        if state.first_error is None:
                            state.first_error = f"HTTP {r.status}: {r.body[:200]!r}"
                else:
                    active[0] -= 1
                    if active[0] == 0 and not done.done():
                        done.set_result(None)
                    return
            send()

        conn.on_response = on_response
        send()

    cpu0 = _cpu()
    t_begin = _perf()
    t_measure = t_begin + a.warmup
    t_end = t_measure + a.duration
    for conn, (session, version) in zip(conns, sessions, strict=True):
        client(conn, session, version)
    await asyncio.wait_for(done, a.warmup + a.duration + 30)
    cpu = _cpu() - cpu0
    wall = _perf() - t_begin
    for c in conns:
        c.transport.close()
    lat.sort()
    ttfb.sort()
    return {
        "kind": "calls",
        "clients": a.clients,
        "modern": a.modern,
        "tool": a.tool,
        "requests": state.count,
        "duration": a.duration,
        "rps": state.count / a.duration,
        "p50_ms": _pct(lat, 50) * 1e3,
        "p99_ms": _pct(lat, 99) * 1e3,
        "ttfb_p50_ms": _pct(ttfb, 50) * 1e3,
        "errors": state.errors,
        "first_error": state.first_error,
        "gen_cpu": cpu / wall,
        "total_calls": state.total,
    }


async def run_sessions(a: argparse.Namespace) -> dict:
    """Open ``count`` sessions over ``clients`` connections and leave them open (no DELETE)."""
    host, port = a.host, a.port
    conns = [await connect(host, port) for _ in range(min(a.clients, a.count))]
    remaining = [a.count]
    errors = [0]
    sample: list[str] = []

    async def worker(conn: Conn) -> None:
        while remaining[0] > 0:
            remaining[0] -= 1
            try:
                session, _ = await open_session(conn, host, port, a.path)
            except RuntimeError:
                errors[0] += 1
            else:
                if not sample and session:
                    sample.append(session.decode())

    cpu0 = _cpu()
    t0 = _perf()
    await asyncio.gather(*(worker(c) for c in conns))
    wall = _perf() - t0
    cpu = _cpu() - cpu0
    for c in conns:
        c.transport.close()
    return {
        "kind": "sessions",
        "sessions": a.count,
        "errors": errors[0],
        "seconds": wall,
        "sessions_per_s": a.count / wall,
        "gen_cpu": cpu / wall,
        "sample_session": sample[0] if sample else None,
    }


async def run_probe(a: argparse.Namespace) -> dict:
    """One tools/call on an existing session (``--session``): its HTTP status says whether it lives."""
    conn = await connect(a.host, a.port)
    body = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}'
    r = await conn.request(post(a.host, a.port, body, a.session.encode(), PROTOCOL_VERSION.encode(), a.path))
    conn.transport.close()
    return {"kind": "probe", "status": r.status}


def progress_call(request_id: int, count: int, token: str) -> bytes:
    """A tools/call of ``progress_stream`` (``count`` notifications) with a progress token."""
    params = {"name": "progress_stream", "arguments": {"count": count}, "_meta": {"progressToken": token}}
    call = {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}
    return json.dumps(call, separators=(",", ":")).encode()


async def run_progress(a: argparse.Namespace) -> dict:
    """One tools/call of ``progress_stream`` (``count`` notifications), ``repeat`` times."""
    host, port = a.host, a.port
    conn = await connect(host, port)
    session, version = await open_session(conn, host, port, a.path)
    rates, ttfbs, firsts = [], [], []
    errors = 0
    cpu0 = _cpu()
    t_all = _perf()
    for n in range(a.repeat):
        body = progress_call(n + 1, a.count, f"p{n}")
        first = [0.0]

        def on_chunk(chunk: bytes, first=first) -> None:
            if not first[0] and b"notifications/progress" in chunk:
                first[0] = _perf()

        conn.on_chunk = on_chunk
        t0 = _perf()
        r = await conn.request(post(host, port, body, session, version, a.path))
        t1 = _perf()
        conn.on_chunk = None
        notes = r.body.count(b'"notifications/progress"')
        if r.status != 200 or notes != a.count or b'"result"' not in r.body:
            errors += 1
        rates.append(notes / (t1 - t0))
        ttfbs.append((r.ttfb - t0) * 1e3)
        if first[0]:
            firsts.append((first[0] - t0) * 1e3)
    wall = _perf() - t_all
    cpu = _cpu() - cpu0
    conn.transport.close()
    rates.sort()
    return {
        "kind": "progress",
        "count": a.count,
        "repeat": a.repeat,
        "notifications_per_s": rates[len(rates) // 2],
        "all": rates,
        "ttfb_ms": sorted(ttfbs)[len(ttfbs) // 2],
        "first_progress_ms": sorted(firsts)[len(firsts) // 2] if firsts else None,
        "errors": errors,
        "gen_cpu": cpu / wall,
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("kind", choices=("calls", "sessions", "progress", "probe"))
    p.add_argument("--session", default="", help="probe: the session id")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", default="/mcp")
    p.add_argument("--clients", type=int, default=1)
    p.add_argument("--duration", type=float, default=3.0)
    p.add_argument("--warmup", type=float, default=0.5)
    p.add_argument("--tool", default="echo")
    p.add_argument("--text", default="hello")
    p.add_argument("--arguments", default="{}", help="tool arguments as JSON (tools other than echo)")
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--modern", action="store_true", help="calls: the stateless 2026-07-28 leg (no session)")
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args(argv)
    run_and_print(
        {"calls": run_calls, "sessions": run_sessions, "progress": run_progress, "probe": run_probe}[a.kind],
        a,
    )


def run_and_print(
    fn: Callable[[argparse.Namespace], Coroutine[None, None, dict]], a: argparse.Namespace
) -> None:
    """Run a load kind on uvloop (asyncio without it) and print its result as one JSON line."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        result = asyncio.run(fn(a))
    else:
        result = uvloop.run(fn(a))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
