"""The SessionStore contract, one suite for every backend: the in-memory store and the Redis
store (a real redis-server). ``peer(store)`` is a second worker: for Redis another connection
with the same key prefix and another worker id, for memory the same store (one process is the
whole deployment). Then the Redis store's own promises: TTLs, one round trip per step, a dead
worker's busy marks, Redis down."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from mcp_transport.errors import StateUnavailable
from mcp_transport.state.records import SessionRecord
from mcp_transport.state.redis import RedisConnection, RedisSessionStore, WorkerRegistry
from mcp_transport.state.session_store import MemorySessionStore, SessionStore
from tests.services import RedisServer

pytestmark = pytest.mark.anyio

Factory = Callable[..., Any]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Factory, Factory]]:
    """``(new_store(), peer(store))`` for one backend."""
    if request.param == "memory":
        yield MemorySessionStore, lambda store: store
        return
    url = request.getfixturevalue("redis_server").url
    prefix = f"sessions:{uuid.uuid4().hex[:8]}:"
    conns: list[RedisConnection] = []

    def connect(**options: Any) -> RedisSessionStore:
        conns.append(RedisConnection(url, prefix=prefix))
        return RedisSessionStore(conns[-1], worker=f"w{len(conns)}", **options)

    yield connect, lambda store: connect()
    for conn in conns:
        await conn.aclose()


def record(session_id: str = "s1", **data: Any) -> SessionRecord:
    return SessionRecord.new(session_id, "alice", **data)


async def test_records_round_trip_between_workers(backend: tuple[Factory, Factory]) -> None:
    new_store, peer = backend
    store: SessionStore = new_store()
    original = record(
        version="2025-11-25",
        capabilities={"sampling": {}, "elicitation": {"form": {}}},
        client_info={"name": "client", "version": "1.0", "n": 1.25},
        subscriptions={"file:///a", "file:///b"},
    )
    assert await store.create(original, 10)
    other = peer(store)
    assert await other.get("s1") == original  # every field, exactly (floats included)
    assert await other.get("nope") is None
    assert SessionRecord.from_json(original.to_json()) == original
    with pytest.raises(ValueError, match="taken"):
        await other.create(record(), 10)


async def test_the_cap_holds_under_concurrent_creates(backend: tuple[Factory, Factory]) -> None:
    new_store, peer = backend
    stores = [new_store()]
    stores.append(peer(stores[0]))
    won: list[bool] = []

    async def create(i: int) -> None:
        won.append(await stores[i % 2].create(record(f"s{i}"), 7))

    async with anyio.create_task_group() as tg:
        for i in range(20):
            tg.start_soon(create, i)
    assert won.count(True) == 7 and len(won) == 20
    assert await stores[1].count() == 7
    assert not await stores[0].create(record("late"), 7)
    held = [i for i in range(20) if await stores[0].get(f"s{i}") is not None]
    assert len(held) == 7
    assert await stores[1].remove(f"s{held[0]}") is not None
    assert await stores[0].create(record("late"), 7)  # room again


async def test_acquire_marks_busy_and_touches_release_unmarks(backend: tuple[Factory, Factory]) -> None:
    new_store, peer = backend
    store: SessionStore = new_store()
    other = peer(store)
    created = record(last_active=0.0)
    assert await store.create(created, 10)
    before = time.time()
    first = await store.acquire("s1")
    assert first is not None and first.busy == 1 and first.last_active >= before
    second = await other.acquire("s1")
    assert second is not None and second.busy == 2
    await store.release("s1")
    await store.flush()  # a shared store may keep releases back until then
    after = await other.get("s1")
    assert after is not None and after.busy == 1
    await other.release("s1")
    await other.flush()
    done = await store.get("s1")
    assert done is not None and done.busy == 0 and done.last_active >= second.last_active
    assert await store.acquire("unknown") is None
    await store.release("unknown")  # nothing to release: no error, nothing created
    await store.flush()
    assert await store.get("unknown") is None


async def test_a_busy_session_never_expires(backend: tuple[Factory, Factory]) -> None:
    new_store, peer = backend
    store: SessionStore = new_store()
    assert await store.create(record("busy"), 10)
    assert await store.create(record("idle", ready=True), 10)
    assert await store.create(record("new"), 10)  # never became ready
    await store.acquire("busy")
    now = time.time()
    # Idle 10 s of 60; "new" not ready within the init timeout of 5 s, "busy" neither, but busy.
    assert [r.id for r in await peer(store).expire(now + 10, 60, 5)] == ["new"]
    assert await store.expire(now + 10, 60, 5) == []  # taken once
    far = now + 3600
    expired = await peer(store).expire(far, 60, 5)
    assert sorted(r.id for r in expired) == ["idle"]
    assert await store.get("busy") is not None
    await store.release("busy")
    if isinstance(store, RedisSessionStore):  # kept back: still busy for the others
        assert await peer(store).expire(time.time() + 61, 60, 3600) == []
    await store.flush()
    assert [r.id for r in await store.expire(time.time() + 61, 60, 3600)] == ["busy"]


async def test_init_timeout_and_ready(backend: tuple[Factory, Factory]) -> None:
    new_store, peer = backend
    store: SessionStore = new_store()
    for sid in ("a", "b"):
        assert await store.create(record(sid), 10)
    assert await peer(store).update("a", ready=True) is not None
    now = time.time()
    assert [r.id for r in await store.expire(now + 10, 60, 5)] == ["b"]  # never initialized
    assert await store.expire(now + 10, 60, 5) == []
    assert [r.id for r in await store.expire(now + 61, 60, 5)] == ["a"]


async def test_acquire_and_expire_race(backend: tuple[Factory, Factory]) -> None:
    """Either the request finds its session (and it is never expired under it) or the
    sweeper took it first (and the request finds nothing): never both, never neither."""
    new_store, peer = backend
    store: SessionStore = new_store()
    sweeper = peer(store)
    ids = [f"s{i}" for i in range(40)]
    for sid in ids:
        assert await store.create(record(sid, ready=True), 100)
    acquired: dict[str, SessionRecord | None] = {}
    expired: list[SessionRecord] = []

    async def request(sid: str) -> None:
        acquired[sid] = await store.acquire(sid)

    async def sweep() -> None:
        for _ in range(5):
            expired.extend(await sweeper.expire(time.time() + 120, 60, 60))
            await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as tg:
        tg.start_soon(sweep)
        for sid in ids:
            tg.start_soon(request, sid)
    gone = {r.id for r in expired}
    assert len(gone) == len(expired)  # each expired once
    for sid in ids:
        assert (acquired[sid] is None) == (sid in gone), sid
        assert (await store.get(sid) is None) == (sid in gone), sid
    assert await store.expire(time.time() + 120, 60, 60) == []  # the acquired ones are busy


async def test_update_compare_and_set_for_a_get_takeover(backend: tuple[Factory, Factory]) -> None:
    new_store, peer = backend
    store: SessionStore = new_store()
    assert await store.create(record(), 10)
    held = await store.update("s1", get_stream="g1", get_holder="A")
    assert held is not None and (held.get_stream, held.get_holder) == ("g1", "A")
    workers = [store, peer(store), peer(store)]
    winners: list[str] = []

    async def take_over(name: str, i: int) -> None:
        if await workers[i].update("s1", expect={"get_holder": "A"}, get_holder=name) is not None:
            winners.append(name)

    async with anyio.create_task_group() as tg:
        for i, name in enumerate(["B", "C", "D"]):
            tg.start_soon(take_over, name, i)
    assert len(winners) == 1
    now = await store.get("s1")
    assert now is not None and now.get_holder == winners[0] and now.get_stream == "g1"
    assert await store.update("s1", expect={"get_holder": "A"}, get_holder="E") is None  # stale view
    assert await store.update("s1", expect={"get_holder": winners[0]}, get_holder=None) is not None
    assert await store.update("nope", log_level="debug") is None


async def test_update_fields_and_subscriptions(backend: tuple[Factory, Factory]) -> None:
    new_store, peer = backend
    store: SessionStore = new_store()
    assert await store.create(record(), 10)
    changed = await peer(store).update(
        "s1",
        version="2025-06-18",
        capabilities={"roots": {"listChanged": True}},
        log_level="debug",
        subscriptions={"b://x", "a://y"},
    )
    assert changed is not None and changed.subscriptions == frozenset({"a://y", "b://x"})
    assert await store.get("s1") == changed
    # A set compares as a set: the order it was given in does not matter.
    assert (
        await store.update("s1", expect={"subscriptions": ["b://x", "a://y"]}, log_level="error") is not None
    )
    with pytest.raises(TypeError, match="principal"):
        await store.update("s1", principal="mallory")
    with pytest.raises(TypeError, match="busy"):
        await store.update("s1", expect={"busy": 0}, log_level="info")


async def test_remove_returns_the_record_busy_or_not(backend: tuple[Factory, Factory]) -> None:
    new_store, peer = backend
    store: SessionStore = new_store()
    assert await store.create(record(), 10)
    await store.acquire("s1")  # a DELETE runs inside a request of its own
    removed = await peer(store).remove("s1")
    assert removed is not None and removed.id == "s1" and removed.principal == "alice"
    await store.release("s1")
    await store.flush()
    assert await store.get("s1") is None and await store.remove("s1") is None
    assert await store.count() == 0


# -- the Redis store's own promises -----------------------------------------------------------


@pytest.fixture
async def conn(redis_server: RedisServer) -> AsyncIterator[RedisConnection]:
    conn = RedisConnection(redis_server.url, prefix=f"sessions:{uuid.uuid4().hex[:8]}:")
    yield conn
    await conn.aclose()


@pytest.mark.redis
async def test_idle_sessions_expire_by_ttl_and_busy_ones_do_not(conn: RedisConnection) -> None:
    store = RedisSessionStore(conn, idle_timeout=0.2, grace=0.1, worker="w1")
    for sid in ("idle", "busy", "released"):
        assert await store.create(record(sid), 10)
    await store.acquire("busy")
    await store.acquire("released")
    assert await conn.client.pttl(conn.key("session", "busy")) == -1  # no TTL while busy
    await anyio.sleep(0.4)
    await store.release("released")
    await store.flush()
    assert 0 < await conn.client.pttl(conn.key("session", "released")) <= 300
    assert await store.get("idle") is None  # Redis expired it: nobody swept
    assert await store.get("busy") is not None
    # At the cap, the index entry of the session Redis expired no longer counts.
    assert await store.count() == 3
    assert await store.create(record("new"), 3)
    assert await store.count() == 3


@pytest.mark.redis
async def test_keys_under_the_prefix(conn: RedisConnection) -> None:
    store = RedisSessionStore(conn, worker="w1")
    assert await store.create(record(), 10)
    await store.acquire("s1")
    keys = {key.decode() async for key in conn.client.scan_iter(match=conn.prefix + "*")}
    p = conn.prefix
    assert keys == {f"{p}session:s1", f"{p}sessions", f"{p}sessions:unready", f"{p}busy:w1", f"{p}unheld"}
    await store.release("s1")
    await store.flush()
    assert 0 < await conn.client.pttl(f"{p}session:s1") <= (1800 + 60) * 1000
    await store.update("s1", ready=True)
    await store.remove("s1")
    assert [key async for key in conn.client.scan_iter(match=p + "*")] == []  # nothing left behind


async def held(conn: RedisConnection) -> dict[str | None, set[str]]:
    """The GET-holder index: each worker's held set (and ``None``: unheld), non-empty ones."""

    async def ids(key: str) -> set[str]:
        members: Any = await conn.client.smembers(key)  # bytes (no decode_responses)
        return {m.decode() for m in members}

    index: dict[str | None, set[str]] = {
        w: await ids(conn.key("held", w)) for w in await ids(conn.key("holders"))
    }
    index[None] = await ids(conn.key("unheld"))
    return {w: found for w, found in index.items() if found}


@pytest.mark.redis
async def test_the_get_holder_index_follows_every_change_of_the_holder(conn: RedisConnection) -> None:
    """Create, takeover (compare-and-set), clearing, remove, sweep and a hash Redis expired
    unseen: the index names each session under its record's holder, and nothing else."""
    store = RedisSessionStore(conn, idle_timeout=0.2, grace=0.1, worker="w1")
    for sid, holder in (("a", "w1"), ("b", "w1"), ("c", None), ("d", "w2")):
        assert await store.create(record(sid, get_holder=holder), 10)
    assert await held(conn) == {"w1": {"a", "b"}, None: {"c"}, "w2": {"d"}}
    assert await store.update("a", expect={"get_holder": "w2"}, get_holder="w3") is None  # CAS lost
    assert await store.update("a", expect={"get_holder": "w1"}, get_holder="w2")
    assert await store.update("c", get_holder="w1")
    assert await store.update("b", get_holder=None)
    assert await store.update("d", log_level="debug")  # not the holder: the index stays
    assert await held(conn) == {"w1": {"c"}, None: {"b"}, "w2": {"a", "d"}}
    await store.remove("c")  # the last of w1's: w1 leaves the holders
    assert await held(conn) == {None: {"b"}, "w2": {"a", "d"}}
    await store.acquire("a")
    await anyio.sleep(0.4)  # b and d idle past the TTL: Redis drops their hashes unseen
    assert await store.expire(time.time(), 0.2, 10) == []  # forgets them, a is busy
    assert await held(conn) == {"w2": {"a"}}
    await store.release("a")
    await store.flush()  # the release reaches Redis with the worker's next flush
    assert [r.id for r in await store.expire(time.time() + 1, 0.2, 10)] == ["a"]
    assert await held(conn) == {}


@pytest.mark.redis
async def test_each_step_is_one_round_trip(conn: RedisConnection) -> None:
    """Every command the store sends goes through the client's execute_command (scripts too,
    as EVALSHA) or the connection's pipeline (acquire): count them."""
    store = RedisSessionStore(conn)
    assert await store.create(record("warm"), 10)  # loads the scripts
    for method in (store.acquire, store.release, store.remove):  # loads theirs
        await method("warm")
    await store.flush()
    await store.update("warm", log_level="debug")
    await store.expire(time.time(), 60, 60)
    await store.release_worker("w")
    assert await store.create(record(), 10)
    sent: list[object] = []
    execute = conn.client.execute_command

    async def counting(*args: Any, **options: Any) -> Any:
        sent.append(args[0])
        return await execute(*args, **options)

    conn.client.execute_command = counting  # type: ignore[method-assign]  # counts, then sends
    assert conn.pipeline is not None
    call = conn.pipeline.call

    async def counting_pipelined(*args: Any) -> Any:
        sent.append(args[0])
        return await call(*args)

    conn.pipeline.call = counting_pipelined  # type: ignore[method-assign]  # count what goes out
    steps = (
        lambda: store.acquire("s1"),
        lambda: store.update("s1", expect={"get_holder": None}, get_holder="w"),
        lambda: store.release("s1"),  # nothing: kept for the flush
        lambda: store.flush(),
        lambda: store.get("s1"),
        lambda: store.expire(time.time(), 60, 60),
        lambda: store.remove("s1"),
        lambda: store.create(record("s2"), 10),
        lambda: store.release_worker("w"),
    )
    for step in steps:
        sent.clear()
        await step()
        assert len(sent) == (0 if step is steps[2] else 1), sent


@pytest.mark.redis
async def test_a_dead_workers_busy_marks_are_cleared_by_the_registry_hook(conn: RedisConnection) -> None:
    dying = RedisSessionStore(conn, idle_timeout=60, worker="dying")
    survivor = RedisSessionStore(conn, idle_timeout=60, worker="survivor")
    assert await dying.create(record(ready=True), 10)
    await dying.acquire("s1")  # ... and the worker is killed while the request runs
    await survivor.acquire("s1")
    await survivor.release("s1")
    await survivor.flush()
    lease = WorkerRegistry(conn, worker="dying", lease=0.2)
    await lease.renew()
    assert await survivor.expire(time.time() + 3600, 60, 60) == []  # busy: its marks hold it
    await anyio.sleep(0.3)
    for dead in await WorkerRegistry(conn, worker="survivor").claim_lapsed():
        assert await survivor.release_worker(dead) == 1
    freed = await survivor.get("s1")
    assert freed is not None and freed.busy == 0
    assert 0 < await conn.client.pttl(conn.key("session", "s1")) <= 120_000  # its TTL is back
    assert not await conn.client.exists(conn.key("busy", "dying"))
    assert [r.id for r in await survivor.expire(time.time() + 61, 60, 60)] == ["s1"]
    assert await survivor.release_worker("dying") == 0  # idempotent


@pytest.mark.redis
async def test_redis_down_is_state_unavailable_and_service_resumes(
    conn: RedisConnection, redis_server: RedisServer
) -> None:
    store = RedisSessionStore(conn)
    assert await store.create(record(), 10)
    calls = [
        lambda: store.create(record("s2"), 10),
        lambda: store.get("s1"),
        lambda: store.acquire("s1"),
        lambda: store.flush(),  # the failed acquire may have marked it: that mark must go
        lambda: store.update("s1", log_level="debug"),
        lambda: store.remove("s1"),
        lambda: store.count(),
        lambda: store.expire(time.time(), 60, 60),
        lambda: store.release_worker("w"),
    ]
    with redis_server.stopped():
        for call in calls:
            started = time.monotonic()
            with pytest.raises(StateUnavailable) as failed:
                await call()
            assert failed.value.http_status == 503 and "Redis at" in failed.value.message
            assert time.monotonic() - started < 1.0  # fails fast, no hang
    # Back, on the same connection (the restart lost the data: no persistence in tests).
    assert await store.get("s1") is None
    assert await store.create(record(), 10)
    assert (await store.acquire("s1")) is not None


def test_touched_changes_only_the_bookkeeping() -> None:
    # SessionRecord.touched calls the constructor positionally (for speed): it must keep
    # every other field where it was.
    full = SessionRecord(
        *("s", "p", "2025-11-25", {"c": {}}, {"name": "n"}, "info", frozenset({"u"})),
        *("g", "w", True, 1.0, 2.0, 3),
    )
    assert full.touched(7, 9.0) == dataclasses.replace(full, busy=7, last_active=9.0)


# -- the Redis store's hot path: one round trip per request -------------------------------------


@pytest.mark.redis
async def test_a_cached_record_is_read_again_only_when_another_worker_changed_it(
    conn: RedisConnection,
) -> None:
    """acquire() sends the revision it cached: Redis answers 1 while the record is unchanged,
    the whole record after any update (on any worker), and nil once the session is gone, in
    the same round trip that marks it busy (no pub/sub, no window)."""
    here = RedisSessionStore(conn, worker="here")
    there = RedisSessionStore(conn, worker="there")
    assert conn.pipeline is not None
    replies: list[Any] = []
    call = conn.pipeline.call

    async def recording(*args: Any) -> Any:
        replies.append(reply := await call(*args))
        return reply

    conn.pipeline.call = recording  # type: ignore[method-assign]  # record what goes out
    assert await there.create(record(ready=True), 10)
    for _ in range(2):
        got = await here.acquire("s1")
        await here.release("s1")
        assert got is not None and got.log_level is None and got.principal == "alice"
    assert isinstance(replies[0], list) and replies[1] == 1  # read once, then only the revision
    assert await there.update("s1", log_level="debug", subscriptions={"a://x"}) is not None
    changed = await here.acquire("s1")
    assert changed is not None and (changed.log_level, changed.subscriptions) == (
        "debug",
        frozenset({"a://x"}),
    )
    assert isinstance(replies[-1], list)
    await here.release("s1")
    assert await there.remove("s1") is not None
    assert await here.acquire("s1") is None  # at once: the cached copy does not answer for it
    assert await there.create(record(), 10)  # the same id again: a new revision, read again
    again = await here.acquire("s1")
    assert again is not None and again.log_level is None and isinstance(replies[-1], list)


@pytest.mark.redis
async def test_the_busy_mark_goes_when_the_worker_holds_no_request_of_the_session(
    conn: RedisConnection,
) -> None:
    store = RedisSessionStore(conn, idle_timeout=60, worker="w1")
    sweeper = RedisSessionStore(conn, idle_timeout=60, worker="w2")
    key = conn.key("session", "s1")
    assert await store.create(record(ready=True), 10)
    await store.acquire("s1")  # a long request ...
    await store.acquire("s1")  # ... and a short one
    await store.release("s1")
    await store.flush()  # the long one still runs: its mark stays, no TTL, not expired
    assert await conn.client.pttl(key) == -1
    assert await sweeper.expire(time.time() + 3600, 60, 60) == []
    ended = time.time()
    await store.release("s1")
    assert await conn.client.pttl(key) == -1  # kept back ...
    await store.flush()  # ... until the flush: idle from the end of the request, TTL back
    assert 0 < await conn.client.pttl(key) <= 120_000
    idle = await sweeper.get("s1")
    assert idle is not None and idle.busy == 0 and ended <= idle.last_active <= time.time()
    assert not await conn.client.exists(conn.key("busy", "w1"))


@pytest.mark.redis
async def test_a_release_flushed_after_a_later_acquire_keeps_that_acquires_mark(
    conn: RedisConnection,
) -> None:
    """The flush and a new acquire of the same session race on different connections: the
    flush names the last acquire sent before the release, so a later one keeps its mark."""
    store = RedisSessionStore(conn, idle_timeout=60, worker="w1")
    assert await store.create(record(ready=True), 10)
    await store.acquire("s1")
    await store.release("s1")
    stale = dict(store._pending)  # a flush built now ...
    await store.acquire("s1")  # ... and a request that starts before it reaches Redis
    store._pending.update(stale)
    await store.flush()
    assert await conn.client.pttl(conn.key("session", "s1")) == -1  # still busy
    assert await RedisSessionStore(conn, idle_timeout=60).expire(time.time() + 3600, 60, 60) == []
    await store.release("s1")
    await store.flush()
    assert await conn.client.pttl(conn.key("session", "s1")) > 0


@pytest.mark.redis
async def test_a_flush_redis_missed_is_sent_again(conn: RedisConnection, redis_server: RedisServer) -> None:
    store = RedisSessionStore(conn, idle_timeout=60, worker="w1")
    assert await store.create(record(ready=True), 10)
    await store.acquire("s1")
    await store.release("s1")
    with redis_server.stopped(keep_data=True), pytest.raises(StateUnavailable):
        await store.flush()
    await store.flush()
    assert 0 < await conn.client.pttl(conn.key("session", "s1")) <= 120_000
