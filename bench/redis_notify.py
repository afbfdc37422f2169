"""What one server-wide notification costs Redis on a cluster of legacy sessions.

The broadcast of ``list_changed`` / ``resources/updated`` runs one script that publishes it
and finds the sessions whose GET holder cannot hear it (``state/redis/_cluster.py``); Redis
answers nothing else while it runs. Against a redis-server of its own, with ``--sessions``
session records held by three workers:

* heard: the three holders live (a lease key each, a connection subscribed to each one's
  ``listening`` channel): the script should find nothing to do;
* deaf: the same holders dead (no lease, no subscriber): every session needs the append.

Reported: Redis's own time per script call (``INFO commandstats``, ``evalsha``), so the
figure does not depend on the client or the machine's load; for the deaf case, Redis's time
reading the returned sessions (``hmget``, in pipelines) and the publisher's appends of the
notification to those sessions' GET streams, one at a time vs ``UNHELD_APPENDS`` in flight
(the client's wall clock, the two alternating in one run).

    python -m bench.redis_notify [--sessions N] [--calls N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import redis

from mcp_transport.state.records import SessionRecord
from mcp_transport.state.redis import RedisConnection, RedisEventLog, RedisSessionStore, WorkerRegistry
from mcp_transport.state.redis._cluster import LOOKUP_BATCH, RedisCluster
from mcp_transport.state.redis._messaging import Broadcast
from mcp_transport.transports.http.legacy import UNHELD_APPENDS
from tests.services import RedisServer

HOLDERS = ("w1", "w2", "w3")
PREFIX = "bench:"
LIST_CHANGED = "notifications/tools/list_changed"


async def _populate(url: str, sessions: int) -> None:
    """``sessions`` records, each with a GET stream, their holders spread over HOLDERS."""
    conn = RedisConnection(url, prefix=PREFIX)
    store, log = RedisSessionStore(conn, worker="w1"), RedisEventLog(conn)
    for n in range(sessions):
        sid, stream = f"s{n}", f"g{n}"
        await store.create(SessionRecord.new(sid, get_holder=HOLDERS[n % 3], get_stream=stream), sessions)
        await log.create(stream, sid)
    await conn.aclose()


def _redis_ms(client: redis.Redis, run: Any, calls: int) -> tuple[float, float]:
    """Redis's time (ms) per notification over ``calls`` runs of ``run``: in the script (one
    EVALSHA, the longest Redis is busy), and reading the sessions it returned (HMGETs, in
    pipelines of LOOKUP_BATCH)."""
    client.config_resetstat()
    for _ in range(calls):
        anyio.run(run)
    stats = client.info("commandstats")
    reads = stats.get("cmdstat_hmget", {}).get("usec", 0)
    return float(stats["cmdstat_evalsha"]["usec_per_call"]) / 1000, reads / calls / 1000


async def _appends(url: str, targets: list[tuple[str, str | None]], parallel: int) -> float:
    """Seconds to append one notification to each target's GET stream, ``parallel`` at once."""
    conn = RedisConnection(url, prefix=PREFIX)
    log = RedisEventLog(conn)
    pending = iter(targets)

    async def append() -> None:
        for _, stream in pending:
            assert stream is not None
            await log.append(stream, b'{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}')

    start = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(parallel):
            tg.start_soon(append)
    took = time.perf_counter() - start
    await conn.aclose()
    return took


def measure(sessions: int, calls: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as directory:
        server = RedisServer(Path(directory))
        server.start()
        try:
            return _measure(server.url, sessions, calls)
        finally:
            server.stop()


def _measure(url: str, sessions: int, calls: int) -> dict[str, float]:
    anyio.run(_populate, url, sessions)
    client = redis.Redis.from_url(url)
    found: list[tuple[str, str | None]] = []

    async def notify() -> None:
        conn = RedisConnection(url, prefix=PREFIX)
        cluster = RedisCluster(conn, WorkerRegistry(conn, worker="publisher"), Broadcast(conn, "publisher"))

        async def unheld(method: str, params: Any, targets: list[tuple[str, str | None]], note: str) -> None:
            found[:] = targets

        cluster.on_unheld(unheld)
        message = {
            "k": "notify",
            "w": "publisher",
            "m": "notifications/tools/list_changed",
            "p": None,
            "e": True,
        }
        found[:] = await cluster._get_streams(await cluster._publish(message), LIST_CHANGED, None)
        await conn.aclose()

    listeners = [client.pubsub() for _ in HOLDERS]
    for worker, pubsub in zip(HOLDERS, listeners, strict=True):
        client.set(f"{PREFIX}worker:{worker}", b"{}")
        pubsub.subscribe(f"{PREFIX}listening:{worker}")
    heard, _ = _redis_ms(client, notify, calls)
    assert not found, "live holders: nothing for the publisher"
    for worker, pubsub in zip(HOLDERS, listeners, strict=True):
        pubsub.close()
        client.delete(f"{PREFIX}worker:{worker}")
    deaf, reads = _redis_ms(client, notify, calls)
    assert len(found) == sessions, len(found)
    one, many = [], []
    for _ in range(2):  # alternating, in one run
        one.append(anyio.run(_appends, url, found, 1))
        many.append(anyio.run(_appends, url, found, UNHELD_APPENDS))
    client.close()
    appends = {"append_1_s": min(one), "append_n_s": min(many)}
    return {"heard_ms": heard, "deaf_ms": deaf, "reads_ms": reads, **appends}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args(argv)
    rows = measure(args.sessions, args.calls)
    print(f"{args.sessions} sessions, Redis time per notification (INFO commandstats):")
    print(f"  holders live, the script (nothing to append): {rows['heard_ms']:.3f} ms")
    print(f"  holders dead, the script (every session's id): {rows['deaf_ms']:.3f} ms")
    batches = -(-args.sessions // LOOKUP_BATCH)
    print(f"  holders dead, reading them: {rows['reads_ms']:.3f} ms in {batches} pipelines of {LOOKUP_BATCH}")
    print(f"publisher's appends to those {args.sessions} GET streams (wall clock, best of 2):")
    one, many = rows["append_1_s"], rows["append_n_s"]
    print(f"  one at a time: {one:.2f} s; {UNHELD_APPENDS} in flight: {many:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
