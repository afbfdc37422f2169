"""One legacy session served by several workers: three uvicorn processes running
servers.everything on one real redis-server (``SharedState.redis``), each request of the
session sent straight to a different worker than the one before (no balancer here; the
balanced cluster has its own tests).

2025-11-25 basic/transports#session-management (any request names its session),
#resumability-and-redelivery (a resume on any worker), #multiple-connections (one GET per
session: a newer one takes over) and basic/utilities/cancellation.
"""

from __future__ import annotations

import contextlib
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import httpx
import orjson
import pytest
from redis import Redis
from servers_for_tests import (
    ASKING_TOOLS,
    RawSession,
    cancel_midway,
    cancellation,
    has_writer,
    iter_sse,
    read_with_random_cuts,
    response_of,
    sse_stream,
)

from mcp_transport.jsonrpc import WORKER_STOPPED
from tests.interop_servers import ServerProcess, free_port
from tests.services import RedisServer
from tests.waiting import until

pytestmark = [pytest.mark.anyio, pytest.mark.redis]

# Seconds after which a silent worker counts as dead (short, so the kill test is quick).
LEASE = 1.5

# The MRTR requestState key every worker shares (a cluster refuses to start without one).
REQUEST_STATE_KEY = "ab" * 16


def start_worker(
    redis: RedisServer, prefix: str, lease: float = LEASE, url: str | None = None
) -> ServerProcess:
    """One worker: the example server on the shared state, as an operator starts it (``url``:
    reach the redis server there instead, say through a proxy)."""
    port = free_port()
    argv = [sys.executable, "-m", "servers.everything", "--port", str(port), "--redis-url", url or redis.url]
    argv += ["--redis-prefix", prefix, "--worker-lease", str(lease), "--request-state-key", REQUEST_STATE_KEY]
    return ServerProcess(argv, port).start()


@pytest.fixture(scope="module")
def cluster(redis_server: RedisServer) -> Iterator[tuple[RedisServer, str, list[str]]]:
    """Three workers sharing one prefix on the redis server, for the whole module."""
    prefix = f"workers-{uuid.uuid4().hex[:8]}:"
    workers: list[ServerProcess] = []
    try:
        for _ in range(3):
            workers.append(start_worker(redis_server, prefix))
        yield redis_server, prefix, [w.url for w in workers]
    finally:
        for worker in workers:
            worker.stop()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(20.0)) as client:
        yield client


@pytest.fixture
def store(cluster: Any) -> Iterator[Redis]:
    """A plain client of the cluster's redis, to look at its keys."""
    client = Redis.from_url(cluster[0].url)
    yield client
    client.close()


class Session(RawSession):
    """A raw session whose requests go to the worker named by ``on``."""

    def __init__(self, client: httpx.AsyncClient, urls: list[str]) -> None:
        super().__init__(client, urls[0])
        self.urls = urls

    def on(self, worker: int) -> Session:
        self.url = self.urls[worker]
        return self


@pytest.fixture
def raw(cluster: Any, client: httpx.AsyncClient) -> Session:
    """A new session's client over the three workers (not initialized yet)."""
    return Session(client, list(cluster[2]))


async def test_a_session_served_by_three_workers(raw: Session) -> None:
    await raw.on(0).initialize(capabilities={"elicitation": {}, "sampling": {}})
    # tools/call with progress on another worker: the progress and the result on its stream
    request = raw.tool_call("test_tool_with_progress", {})
    async with sse_stream(raw.on(1), "POST", request) as events:
        got = [event["data"] async for event in events if event.get("data")]
    assert [m["params"]["progress"] for m in got[:-1]] == [0, 50, 100]
    assert got[-1]["result"]["content"][0]["text"] == "Tool with progress executed successfully"
    # elicitation and sampling: the handler waits on worker 1 / 0, the answer lands on worker 2
    for worker, (tool, arguments, answer, expected) in zip((1, 0), ASKING_TOOLS, strict=True):

        async def reply(message: dict[str, Any], answer: dict[str, Any] = answer) -> None:
            assert isinstance(message["id"], str)  # names the waiting worker
            answered = await raw.on(2).post({"jsonrpc": "2.0", "id": message["id"], "result": answer})
            assert answered.status_code == 202, answered.text

        request = raw.tool_call(tool, arguments, progress=False)
        async with sse_stream(raw.on(worker), "POST", request) as events:
            response = await response_of(events, reply)
        assert response["result"]["content"][0]["text"] == expected
    # the session is still good everywhere
    for worker in range(3):
        assert (await raw.on(worker).call("ping"))["result"] == {}


async def test_what_one_worker_records_of_a_session_holds_on_the_others(raw: Session) -> None:
    await raw.on(0).initialize()
    # logging/setLevel on worker 1 applies to a tool running on worker 2
    assert (await raw.on(1).call("logging/setLevel", {"level": "error"}))["result"] == {}
    response = await raw.on(2).post(raw.tool_call("test_tool_with_logging", {}, progress=False))
    # a JSON answer: no info-level message came first (the first would have made it a stream)
    assert response.headers["content-type"] == "application/json", response.text
    assert response.json()["result"]["content"][0]["text"] == "Tool with logging executed successfully"
    # resources/subscribe on worker 1 reaches worker 0, which holds the GET stream (and
    # so delivers the session's notifications) since before the subscription
    uri = "test://watched-resource"
    async with sse_stream(raw.on(0), "GET") as events:
        await anyio.sleep(0.2)  # the GET is held
        assert (await raw.on(1).call("resources/subscribe", {"uri": uri}))["result"] == {}
        other = Session(raw.client, raw.urls)
        await other.on(0).initialize()
        await anyio.sleep(0.2)  # (the news travels through worker 0's inbox)
        touched = await other.on(0).call("tools/call", {"name": "touch_watched_resource", "arguments": {}})
        assert "result" in touched, touched
        with anyio.fail_after(5):
            async for event in events:
                if event.get("data"):
                    assert event["data"] == {
                        "jsonrpc": "2.0",
                        "method": "notifications/resources/updated",
                        "params": {"uri": uri},
                    }
                    break


async def test_a_worker_that_served_the_session_sees_at_once_what_another_changed_or_deleted(
    raw: Session,
) -> None:
    """Worker 2 serves the session (and keeps its record), then worker 1 changes the log level
    and deletes the session: worker 2's next requests see each at once (its request reads the
    record's revision in the same round trip that marks the session busy)."""
    await raw.on(0).initialize()
    first = await raw.on(2).post(raw.tool_call("test_tool_with_logging", {}, progress=False))
    assert first.headers["content-type"].startswith("text/event-stream")  # log messages came first
    await first.aread()
    assert (await raw.on(1).call("logging/setLevel", {"level": "error"}))["result"] == {}
    second = await raw.on(2).post(raw.tool_call("test_tool_with_logging", {}, progress=False))
    assert second.headers["content-type"] == "application/json", second.text  # none now
    response = await raw.client.delete(raw.urls[1], headers=raw.headers)
    assert response.status_code == 204, response.text
    assert (await raw.on(2).post(raw.request("ping"))).status_code == 404


async def test_a_cancel_posted_to_one_worker_stops_the_request_on_another(raw: Session) -> None:
    await raw.on(2).initialize()
    request = raw.tool_call("sleep", {"seconds": 30})

    async def cancel() -> None:  # the handler runs on worker 0: cancel it through worker 1
        response = await raw.on(1).post(cancellation(request))
        assert response.status_code == 202, response.text

    async with sse_stream(raw.on(0), "POST", request) as events:
        await cancel_midway(events, cancel)
    # the session goes on
    assert (await raw.on(0).call("ping"))["result"] == {}


async def test_delete_on_one_worker_ends_the_streams_on_the_others(
    cluster: Any, raw: Session, store: Redis
) -> None:
    prefix = cluster[1]
    await raw.on(0).initialize()
    ended: list[str] = []

    streams: dict[str, str] = {}

    async def read(name: str, source: Any) -> None:
        async with source as response:
            assert response.status_code == 200
            async for event in iter_sse(response):
                streams.setdefault(name, event["id"].rpartition(":")[0])
        ended.append(name)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(read, "get", raw.on(1).stream("GET"))
            tg.start_soon(read, "post", raw.on(0).stream("POST", raw.tool_call("sleep", {"seconds": 30})))
            await anyio.sleep(0.5)  # both streams are open
            assert ended == []
            assert has_writer(store, prefix, streams["post"]), (
                "worker 0 is the registered writer of the POST stream"
            )
            response = await raw.client.delete(raw.urls[2], headers=raw.headers)
            assert response.status_code == 204, response.text
    assert sorted(ended) == ["get", "post"]
    for worker in range(3):
        assert (await raw.on(worker).post(raw.request("ping"))).status_code == 404
    # The handler on worker 0 was cancelled too (not left sleeping on a deleted session):
    # it finished, so its worker no longer counts itself the writer of its stream.
    await until(lambda: not has_writer(store, prefix, streams["post"]), interval=0.1)


async def test_a_get_on_another_worker_takes_the_stream_over(raw: Session) -> None:
    await raw.on(0).initialize()
    json_only = {"accept": "application/json"}  # related messages of a JSON answer go to the GET stream

    async def progress_on_get_stream() -> None:
        response = await raw.on(2).post(raw.tool_call("test_tool_with_progress", {}), json_only)
        assert response.status_code == 200, response.text

    first: list[dict[str, Any]] = []
    second: list[dict[str, Any]] = []
    with anyio.fail_after(15):
        async with sse_stream(raw.on(0), "GET") as events:
            await progress_on_get_stream()
            async for event in events:
                if event.get("data"):
                    first.append(event)
                    if len(first) == 3:
                        break
        held = raw.on(0).stream("GET")  # worker 0 holds the GET stream again ...
        async with held as old:
            assert old.status_code == 200
            # ... until worker 1 takes it over (no Last-Event-ID: it continues from what was
            # delivered on worker 0): worker 0's response ends
            async with sse_stream(raw.on(1), "GET") as events:
                async for _ in iter_sse(old):
                    pass
                await progress_on_get_stream()
                async for event in events:
                    if event.get("data"):
                        second.append(event)
                        if len(second) == 3:
                            break
    assert [e["data"]["params"]["progress"] for e in first + second] == [0, 50, 100] * 2
    ids = [e["id"] for e in first + second]
    assert len(set(ids)) == 6  # nothing delivered twice


async def test_resume_on_other_workers_at_100_random_cuts_of_a_1000_event_stream(raw: Session) -> None:
    await raw.on(0).initialize()
    request = raw.tool_call("progress_stream", {"count": 1000})

    def resume(connection: int, last_id: str) -> Any:
        # the events are produced on worker 0; every resume reads them on worker 1 or 2
        return raw.on(1 + connection % 2).stream("GET", headers={"last-event-id": last_id})

    raw.on(0)
    received, result, connection = await read_with_random_cuts(raw, request, 1000, resume, seed=13)
    assert [m["params"]["progress"] for m in received] == list(range(1, 1001))
    assert result["id"] == request["id"] and result["result"]["content"][0]["text"] == "sent 1000"
    assert connection == 101


async def test_a_killed_worker_ends_its_streams_with_a_typed_error(cluster: Any, raw: Session) -> None:
    redis, prefix, _ = cluster
    doomed = start_worker(redis, prefix)
    try:
        raw.urls.append(doomed.url)
        await raw.on(0).initialize()
        request = raw.tool_call("sleep", {"seconds": 60})
        last_id = None
        async with sse_stream(raw.on(3), "POST", request) as events:
            async for event in events:
                last_id = event.get("id", last_id)
                if event.get("data"):
                    break  # the tool runs on the doomed worker
        assert last_id is not None
        doomed.kill()
        started = anyio.current_time()
        # The client resumes on a survivor before the death is noticed; the stream stays open
        # and ends with the typed error once the lease lapses.
        message: dict[str, Any] = {}
        with anyio.fail_after(30):
            async with sse_stream(raw.on(1), "GET", **{"last-event-id": last_id}) as events:
                async for event in events:
                    message = event.get("data")
                    if message and "error" in message:
                        break
        assert message["id"] == request["id"]
        assert message["error"]["code"] == WORKER_STOPPED
        assert message["error"]["message"] == "the worker running this request stopped"
        assert anyio.current_time() - started < 30
        # the session outlives the worker
        call = await raw.on(2).call("tools/call", {"name": "echo", "arguments": {"text": "still here"}})
        assert call["result"]["content"][0]["text"] == "still here"
    finally:
        doomed.stop()


async def test_a_killed_get_holder_loses_nothing(cluster: Any, raw: Session) -> None:
    redis, prefix, _ = cluster
    doomed = start_worker(redis, prefix)
    try:
        raw.urls.append(doomed.url)
        await raw.on(0).initialize()
        json_only = {"accept": "application/json"}  # related messages go to the GET stream
        seen: list[dict[str, Any]] = []
        with anyio.fail_after(15):
            async with sse_stream(raw.on(3), "GET") as events:
                response = await raw.on(2).post(raw.tool_call("test_tool_with_progress", {}), json_only)
                assert response.status_code == 200, response.text
                async for event in events:
                    if event.get("data"):
                        seen.append(event)
                        if len(seen) == 3:
                            break
                doomed.kill()  # the GET's worker dies while its response is open
            # more goes to the GET stream while nobody holds it; then the client comes back
            response = await raw.on(2).post(raw.tool_call("test_tool_with_progress", {}), json_only)
            assert response.status_code == 200, response.text
            async with sse_stream(raw.on(1), "GET", **{"last-event-id": seen[-1]["id"]}) as events:
                async for event in events:
                    if event.get("data"):
                        seen.append(event)
                        if len(seen) == 6:
                            break
        assert [e["data"]["params"]["progress"] for e in seen] == [0, 50, 100] * 2
        assert len({e["id"] for e in seen}) == 6
    finally:
        doomed.stop()


LIST_CHANGED = {"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}
WATCHED = "test://watched-resource"
UPDATED = {"jsonrpc": "2.0", "method": "notifications/resources/updated", "params": {"uri": WATCHED}}


async def get_stream_until_progress(events: AsyncIterator[dict[str, Any]]) -> list[dict[str, Any]]:
    """The data events of a GET stream up to a ``progress`` of 100 (the marker a
    ``test_tool_with_progress`` call answered as JSON puts there after what came before)."""
    got: list[dict[str, Any]] = []
    async for event in events:
        if event.get("data"):
            got.append(event)
            if event["data"].get("params", {}).get("progress") == 100:
                return got
    raise AssertionError(f"the GET stream ended after {got}")


async def test_notifications_raised_while_the_get_holder_is_dead_are_replayed_once(
    cluster: Any, raw: Session, store: Redis
) -> None:
    """The worker holding the GET streams of sessions A (subscribed to a resource) and C is
    killed; before their clients resume, and before its lease lapses, ``list_changed`` and
    that resource's ``updated`` are raised on another worker. As with one worker (a
    notification goes to the GET stream's event log, with or without a reader), each resume
    on a third worker with Last-Event-ID replays what is the session's, exactly once: A
    both, C only list_changed (2025-11-25 basic/transports#resumability-and-redelivery,
    server/resources#subscriptions).
    Session B, whose GET holder is alive, gets list_changed once too: its holder delivers
    it, the worker that raised it does not."""
    redis, prefix, _ = cluster
    doomed = start_worker(redis, prefix, lease=10.0)  # the default: its lease outlives the test
    json_only = {"accept": "application/json"}  # related messages go to the GET stream
    marker = raw.tool_call("test_tool_with_progress", {})
    got: dict[str, list[dict[str, Any]]] = {}
    try:
        raw.urls.append(doomed.url)
        a, b, c = raw, Session(raw.client, raw.urls), Session(raw.client, raw.urls)
        for session in (a, b, c):
            await session.on(0).initialize()
        assert (await a.on(0).call("resources/subscribe", {"uri": WATCHED}))["result"] == {}
        with anyio.fail_after(20):
            async with sse_stream(b.on(1), "GET") as b_events:
                assert "id" in await anext(b_events)  # B's GET is held on worker 1
                async with a.on(3).stream("GET") as a_held, c.on(3).stream("GET") as c_held:
                    doomed_id = a_held.headers["mcp-worker"]
                    primed = {"a": await anext(iter_sse(a_held)), "c": await anext(iter_sse(c_held))}
                    doomed.kill()  # A's and C's GET holder dies with their responses open
                # Redis has seen the dead worker's connection close (its lease still runs)
                listening = f"{prefix}listening:{doomed_id}"
                await until(lambda: store.pubsub_numsub(listening)[0][1] == 0)
                logged: dict[str, list[dict[str, Any]]] = {"a": [], "c": []}  # A's and C's GET logs
                for tool, note in (
                    ("test_trigger_tool_change", LIST_CHANGED),
                    ("touch_watched_resource", UPDATED),
                ):
                    assert "result" in await b.on(2).call("tools/call", {"name": tool})
                    # As with one worker: in the log before the raising request answered.
                    for name, event in primed.items():
                        logged[name] += [note] if name == "a" or note is LIST_CHANGED else []
                        assert logged_after(store, prefix, event["id"]) == logged[name], name
                assert store.exists(f"{prefix}worker:{doomed_id}"), "raised before the lease lapsed"
                for name, session in (("a", a), ("c", c)):
                    resume = {"last-event-id": primed[name]["id"]}
                    async with sse_stream(session.on(1), "GET", **resume) as events:
                        assert (await session.on(2).post(marker, json_only)).status_code == 200
                        got[name] = await get_stream_until_progress(events)
                assert (await b.on(0).post(marker, json_only)).status_code == 200
                got["b"] = await get_stream_until_progress(b_events)
    finally:
        doomed.stop()
    expected = {"a": [LIST_CHANGED, UPDATED], "b": [LIST_CHANGED], "c": [LIST_CHANGED]}
    for name, events in got.items():
        notes = [e["data"] for e in events[:-3]]
        assert notes == expected[name], (name, events)
        assert [e["data"].get("params", {}).get("progress") for e in events[-3:]] == [0, 50, 100], events
        assert len({e["id"] for e in events}) == len(events)


class ListenerHold:
    """A TCP proxy in front of the redis server that, while ``held``, keeps back what Redis
    sends on the connections that subscribed to a channel (a worker's broadcast listener):
    a slow network path for that one connection, the worker's other connections untouched.
    What it kept back is sent, in order, on ``release()``."""

    def __init__(self, target: str) -> None:
        self.host, _, port = target.removeprefix("redis://").partition("/")[0].partition(":")
        self.port = int(port)
        self.held = False
        self._released = anyio.Event()

    def release(self) -> None:
        self.held = False
        self._released.set()

    async def serve(self, listener: Any) -> None:
        async def connection(client: Any) -> None:
            async with client, await anyio.connect_tcp(self.host, self.port) as upstream:
                subscribed = anyio.Event()
                async with anyio.create_task_group() as tg:
                    tg.start_soon(pump_up, client, upstream, subscribed, tg)
                    await pump_down(upstream, client, subscribed)
                    tg.cancel_scope.cancel()

        async def pump_up(client: Any, upstream: Any, subscribed: anyio.Event, tg: Any) -> None:
            with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError):
                async for chunk in client:
                    if b"SUBSCRIBE" in chunk.upper():
                        subscribed.set()
                    await upstream.send(chunk)
            tg.cancel_scope.cancel()

        async def pump_down(upstream: Any, client: Any, subscribed: anyio.Event) -> None:
            with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError):
                async for chunk in upstream:
                    if subscribed.is_set() and self.held:
                        await self._released.wait()
                    await client.send(chunk)

        await listener.serve(connection)


async def test_a_notification_published_before_a_takeover_and_heard_after_it_is_delivered_once(
    cluster: Any, raw: Session, store: Redis
) -> None:
    """Session A's GET holder is dead; ``resources/updated`` is raised on worker 1, which
    appends it to A's GET stream (no live holder hears it for A). A's client then resumes
    its GET on worker L, whose broadcast listener has not reached that notification yet (a
    slow network path to its listener connection, held by a proxy); when it does, L holds A's
    GET and delivers it too. A's stream still has it once (2025-11-25
    basic/transports#resumability-and-redelivery: no event is delivered twice)."""
    redis, prefix, _ = cluster
    doomed = start_worker(redis, prefix, lease=10.0)  # its lease outlives the test
    hold = ListenerHold(redis.url)
    proxy = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=free_port())
    got: list[dict[str, Any]] = []
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(hold.serve, proxy)
            port = proxy.extra(anyio.abc.SocketAttribute.local_port)
            late = await anyio.to_thread.run_sync(
                lambda: start_worker(redis, prefix, url=f"redis://127.0.0.1:{port}/0")
            )
            try:
                raw.urls += [doomed.url, late.url]  # workers 3 and 4
                a = raw
                await a.on(0).initialize()
                assert (await a.on(0).call("resources/subscribe", {"uri": WATCHED}))["result"] == {}
                with anyio.fail_after(20):
                    async with a.on(3).stream("GET") as held:
                        doomed_id = held.headers["mcp-worker"]
                        primed = await anext(iter_sse(held))
                        doomed.kill()
                    listening = f"{prefix}listening:{doomed_id}"
                    await until(lambda: store.pubsub_numsub(listening)[0][1] == 0)
                    hold.held = True  # from now on L's listener hears nothing, until released
                    touched = await a.on(1).call("tools/call", {"name": "touch_watched_resource"})
                    assert "result" in touched
                    assert logged_after(store, prefix, primed["id"]) == [UPDATED]  # worker 1's
                    resume = {"last-event-id": primed["id"]}
                    async with sse_stream(a.on(4), "GET", **resume) as events:  # L takes A's GET
                        hold.release()  # L's listener hears the update now, then this list change
                        assert "result" in await a.on(1).call(
                            "tools/call", {"name": "test_trigger_tool_change"}
                        )
                        async for event in events:  # L delivers in order: up to its list change
                            if event.get("data"):  # not the priming event
                                got.append(event["data"])
                            if got[-1:] == [LIST_CHANGED]:
                                break
            finally:
                late.stop()
                tg.cancel_scope.cancel()
    finally:
        doomed.stop()
    assert got == [UPDATED, LIST_CHANGED]
    assert logged_after(store, prefix, primed["id"]) == [UPDATED, LIST_CHANGED]


def logged_after(store: Redis, prefix: str, event_id: str) -> list[dict[str, Any]]:
    """The notifications in the Redis event log of the stream of event ``event_id``, after it."""
    stream, _, after = event_id.rpartition(":")
    entries: Any = store.xrange(f"{prefix}stream:{stream}:events", min=f"{int(after) + 1}-0")
    return [orjson.loads(fields[b"d"]) for _, fields in entries if b"d" in fields]


def holders_of(store: Redis, prefix: str, session_id: str | None) -> set[str]:
    """The workers (``"-"``: none) under which the GET-holder index lists a session."""
    members: Any = store.smembers(f"{prefix}holders")  # bytes (no decode_responses)
    workers = {w.decode() for w in members}
    found = {w for w in workers if store.sismember(f"{prefix}held:{w}", str(session_id))}
    return found | ({"-"} if store.sismember(f"{prefix}unheld", str(session_id)) else set())


async def test_a_deleted_or_taken_over_session_is_not_left_under_its_old_get_holder(
    cluster: Any, raw: Session, store: Redis
) -> None:
    """The index of sessions by GET holder follows the record. Session T, created on worker
    0, has its GET taken over by the doomed worker, which is then killed: a ``list_changed``
    raised on worker 2 is replayed to T's resume exactly once (worker 0, which no longer
    delivers T's broadcasts, must not keep T). Session D, held by the doomed worker and
    deleted, is under no holder: the notification appends nothing for it and fails nothing
    (2025-11-25 basic/transports#resumability-and-redelivery, #session-management)."""
    redis, prefix, _ = cluster
    doomed = start_worker(redis, prefix, lease=10.0)
    marker = raw.tool_call("test_tool_with_progress", {})
    try:
        raw.urls.append(doomed.url)
        t, d, b = raw, Session(raw.client, raw.urls), Session(raw.client, raw.urls)
        await t.on(0).initialize()
        doomed_id = (await d.on(3).initialize()).headers["mcp-worker"]
        await b.on(2).initialize()
        assert holders_of(store, prefix, d.session_id) == {doomed_id}
        with anyio.fail_after(20):
            async with t.on(3).stream("GET") as t_held:
                primed = await anext(iter_sse(t_held))
                assert holders_of(store, prefix, t.session_id) == {doomed_id}  # moved off worker 0
                assert (await raw.client.delete(raw.urls[1], headers=d.headers)).status_code == 204
                assert holders_of(store, prefix, d.session_id) == set()
                doomed.kill()
            await until(lambda: store.pubsub_numsub(f"{prefix}listening:{doomed_id}")[0][1] == 0)
            assert "result" in await b.on(2).call("tools/call", {"name": "test_trigger_tool_change"})
            async with t.on(1).stream("GET", headers={"last-event-id": primed["id"]}) as resumed:
                assert (await t.on(2).post(marker, {"accept": "application/json"})).status_code == 200
                got = await get_stream_until_progress(iter_sse(resumed))
    finally:
        doomed.stop()
    assert [e["data"] for e in got[:-3]] == [LIST_CHANGED], got
    assert not store.keys(f"{prefix}session:{d.session_id}*"), "nothing recreated for the deleted session"
    assert holders_of(store, prefix, t.session_id) == {resumed.headers["mcp-worker"]}


async def test_a_session_redis_dropped_ends_on_the_worker_at_its_next_request(
    cluster: Any, raw: Session, store: Redis
) -> None:
    prefix = cluster[1]
    await raw.on(0).initialize()
    stream_ids: list[str] = []

    async def read() -> None:
        async with raw.stream("POST", raw.tool_call("sleep", {"seconds": 30})) as response:
            async for event in iter_sse(response):
                if not stream_ids:
                    stream_ids.append(event["id"].rpartition(":")[0])

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(read)
            await until(lambda: bool(stream_ids))
            assert has_writer(store, prefix, stream_ids[0])
            # Redis loses the record (its TTL ran out and no sweeper saw it): the next request
            # finds no session, and worker 0 ends what it still ran for it.
            store.delete(f"{prefix}session:{raw.session_id}")
            assert (await raw.on(0).post(raw.request("ping"))).status_code == 404
            await until(lambda: not has_writer(store, prefix, stream_ids[0]))
            tg.cancel_scope.cancel()
