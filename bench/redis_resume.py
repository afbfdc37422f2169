"""Resume latency across workers, a Redis row of ``make bench`` (``bench.redis_rows``).

Two workers on one Redis (A and B). Two legacy sessions, both initialized on A, whose GET
stream gets its events from A: a ``progress_stream`` call answered as JSON on A puts its
progress notification on the session's GET stream while no client reads it. Then the client
resumes that stream with ``Last-Event-ID`` (2025-11-25
basic/transports#resumability-and-redelivery): one session always on A (the same worker),
the other always on B (another worker, whose copy of the session is built from the record on
its first request). Measured by the client: from sending the resume GET to reading its first
replayed event. The two sessions alternate, one resume each in turn, in the same run, so a
disturbance of the shared machine hits both alike; a few untimed rounds first.

    python -m bench.redis_resume A_PORT B_PORT [--resumes N]   # against running workers
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import anyio
import httpx

__all__ = ["RESUMES", "render", "resume_rows"]

RESUMES = 50  # timed resumes per side (each a POST and a GET: the row takes about a second)
_WARMUP = 3
_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
_VERSION = "2025-11-25"


class _Session:
    """One raw legacy session: its id and the id of the last event the client read."""

    def __init__(self, client: httpx.AsyncClient, session_id: str, last_event_id: str) -> None:
        self.client = client
        self.headers = {**_HEADERS, "mcp-session-id": session_id, "mcp-protocol-version": _VERSION}
        self.last_event_id = last_event_id
        self._ids = 1

    @classmethod
    async def open(cls, client: httpx.AsyncClient, url: str) -> _Session:
        """Initialize on ``url`` and open the GET stream there once (its priming event id)."""
        info = {"name": "bench", "version": "1"}
        params = {"protocolVersion": _VERSION, "capabilities": {}, "clientInfo": info}
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}
        response = await client.post(url, json=init, headers=_HEADERS)
        if response.status_code != 200 or "mcp-session-id" not in response.headers:
            raise RuntimeError(f"initialize on {url} failed: {response.status_code} {response.text}")
        session = cls(client, response.headers["mcp-session-id"], "")
        ack = await client.post(
            url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session.headers
        )
        ack.raise_for_status()
        session.last_event_id, _ = await session._first_event(url, None)
        return session

    async def round(self, producer: str, resumer: str) -> float:
        """One event onto the GET stream from ``producer``, then the resume on ``resumer``:
        seconds from sending the GET to its first replayed event."""
        self._ids += 1
        params = {"name": "progress_stream", "arguments": {"count": 1}, "_meta": {"progressToken": "t"}}
        call = {"jsonrpc": "2.0", "id": self._ids, "method": "tools/call", "params": params}
        answered = await self.client.post(
            producer, json=call, headers={**self.headers, "accept": "application/json"}
        )
        answered.raise_for_status()
        self.last_event_id, elapsed = await self._first_event(resumer, self.last_event_id)
        return elapsed

    async def _first_event(self, url: str, after: str | None) -> tuple[str, float]:
        """GET ``url`` (resuming after ``after``): the id of its first event with data (the
        priming event when not resuming) and the seconds it took; the connection is then cut."""
        headers = {k: v for k, v in self.headers.items() if k != "content-type"}
        headers["accept"] = "text/event-stream"
        if after is not None:
            headers["last-event-id"] = after
        started = time.perf_counter()
        async with self.client.stream("GET", url, headers=headers) as response:
            response.raise_for_status()
            event_id = ""
            async for line in response.aiter_lines():
                if line.startswith("id: "):
                    event_id = line[4:]
                elif line.startswith("data: ") and (after is None or line != "data: "):
                    return event_id, time.perf_counter() - started
        raise RuntimeError(f"the GET on {url} ended before an event")


async def _measure(a: str, b: str, resumes: int) -> tuple[list[float], list[float]]:
    same: list[float] = []
    other: list[float] = []
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0)) as client:
        on_a, on_b = await _Session.open(client, a), await _Session.open(client, a)
        for n in range(_WARMUP + resumes):
            s, o = await on_a.round(a, a), await on_b.round(a, b)
            if n >= _WARMUP:
                same.append(s)
                other.append(o)
    return same, other


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def resume_rows(a_port: int, b_port: int, resumes: int = RESUMES) -> dict:
    """Resume latency on the same worker and on another, in ms: ``resume_{same,other}_{p50,p99}``."""
    a, b = f"http://127.0.0.1:{a_port}/mcp", f"http://127.0.0.1:{b_port}/mcp"
    same, other = anyio.run(_measure, a, b, resumes)
    return {
        "resumes": resumes,
        "resume_same_p50": statistics.median(same) * 1000,
        "resume_same_p99": _p99(same) * 1000,
        "resume_other_p50": statistics.median(other) * 1000,
        "resume_other_p99": _p99(other) * 1000,
    }


def render(rows: dict) -> list[str]:
    """The row, as lines of the Redis rows' text (the same columns)."""

    def figure(label: str, side: str) -> str:
        p50, p99 = rows[f"resume_{side}_p50"], rows[f"resume_{side}_p99"]
        return f"  {label:<27}{p50:>9.2f} ms p50, {p99:.2f} ms p99"

    return [
        figure("resume, another worker", "other")
        + f"  (GET with Last-Event-ID to its first replayed event; {rows['resumes']} resumes)",
        figure("resume, same worker", "same") + "  (alternating with the above, in the same run)",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("a_port", type=int)
    parser.add_argument("b_port", type=int)
    parser.add_argument("--resumes", type=int, default=RESUMES)
    args = parser.parse_args(argv)
    print("\n".join(render(resume_rows(args.a_port, args.b_port, args.resumes))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
