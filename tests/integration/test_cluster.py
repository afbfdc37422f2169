"""Three workers of ``servers.everything`` on one real redis-server behind a real haproxy
(round robin, keep-alive, no stickiness), and the key scenarios again behind a real nginx in
front of the same workers (``balanced``): requests are spread over the workers, every
response names its worker, one legacy session (answers, cancels, DELETE, resumes, a GET
takeover) works with each request on another worker than the one before, the conformance
suites pass through the balancer, and Redis stopped under load costs 503s with JSON-RPC
bodies, never a worker (docs/deployment.md)."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
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
    read_with_random_cuts,
    response_of,
    sse_stream,
)

from conformance.context import Options
from conformance.model import Status
from conformance.runner import run_scenarios, select
from conformance.scenarios import SCENARIOS
from mcp_transport import jsonrpc
from mcp_transport.env import ENV_REDIS_URL, ENV_REQUEST_STATE_KEYS
from mcp_transport.protocol import META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION
from mcp_transport.server import MCPServer
from mcp_transport.transports.http import run_http
from tests.interop_servers import REPO, free_port, wait_listening
from tests.official_suite import run_suite, summary
from tests.services import CLUSTER_WORKERS, Cluster, RedisServer, worker_options
from tests.waiting import until

pytestmark = [pytest.mark.redis, pytest.mark.timeout(360)]

JSON_AND_SSE = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
MODERN = "2026-07-28"


@pytest.fixture(params=["haproxy", "nginx"])
def balanced(request: pytest.FixtureRequest, cluster: Cluster) -> Cluster:
    """The cluster through each balancer of docs/deployment.md in turn (the same workers)."""
    return cluster.through(request.param)


def modern_call(rid: int, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """A stateless 2026-07-28 request: any worker answers it from the request alone."""
    meta = {META_PROTOCOL_VERSION: MODERN, META_CLIENT_CAPABILITIES: {}}
    return {"jsonrpc": "2.0", "id": rid, "method": method, "params": {**(params or {}), "_meta": meta}}


def modern_headers(method: str, name: str | None = None) -> dict[str, str]:
    headers = {**JSON_AND_SSE, "mcp-protocol-version": MODERN, "mcp-method": method}
    if name is not None:
        headers["mcp-name"] = name
    return headers


async def echo(client: httpx.AsyncClient, url: str, rid: int) -> httpx.Response:
    message = modern_call(rid, "tools/call", {"name": "echo", "arguments": {"text": f"n{rid}"}})
    return await client.post(url, headers=modern_headers("tools/call", "echo"), json=message)


def worker_ids_direct(cluster: Cluster) -> list[str]:
    """Each worker's id, asked of it directly (not through the balancer)."""
    ids = []
    for worker in cluster.workers:
        response = httpx.post(
            worker.url, headers=modern_headers("tools/list"), json=modern_call(1, "tools/list")
        )
        assert response.status_code == 200, response.text
        ids.append(response.headers["mcp-worker"])
    return ids


class Seen:
    """Which worker answered each of a client's requests (an httpx response hook)."""

    def __init__(self) -> None:
        self.posts: list[tuple[bytes, str]] = []  # (request body, Mcp-Worker)
        self.gets: list[str] = []
        self.resumed_from: list[str | None] = []  # each GET's Last-Event-ID
        self.order: list[str] = []  # every response's, in the order they came

    async def hook(self, response: httpx.Response) -> None:
        worker = response.headers.get("mcp-worker", "")
        self.order.append(worker)
        if response.request.method == "GET":
            self.resumed_from.append(response.request.headers.get("last-event-id"))
            self.gets.append(worker)
        elif response.request.method == "POST":
            self.posts.append((bytes(response.request.content), worker))

    def ran(self, word: bytes) -> str:
        """The worker that answered the POST whose body holds ``word``."""
        return next(worker for body, worker in reversed(self.posts) if word in body)


@pytest.mark.anyio
async def test_consecutive_requests_on_one_connection_land_on_different_workers(balanced: Cluster) -> None:
    ids = worker_ids_direct(balanced)
    assert len(set(ids)) == CLUSTER_WORKERS and all(len(i) == 8 for i in ids), ids
    connections: set[int] = set()

    async def count_connection(response: httpx.Response) -> None:
        connections.add(id(response.extensions["network_stream"]))

    async with httpx.AsyncClient(timeout=10, event_hooks={"response": [count_connection]}) as client:
        served = []
        for rid in range(2 * CLUSTER_WORKERS):
            response = await echo(client, balanced.url, rid)
            assert response.status_code == 200 and f"n{rid}" in response.text, response.text
            served.append(response.headers["mcp-worker"])
        # An error through the balancer names its worker too.
        refused = await client.post(balanced.url, headers=JSON_AND_SSE, content=b"{not json")
        assert refused.status_code == 400 and refused.headers["mcp-worker"] in ids
    assert all(a != b for a, b in itertools.pairwise(served)), served
    assert set(served) == set(ids), (served, ids)
    assert len(connections) == 1, "the requests did not share one client connection"


# Just over the workers' max_body_bytes (4 MiB), under nginx's client_max_body_size (5 MiB).
OVERSIZED = 4 * 1024 * 1024 + 1


@pytest.mark.anyio
async def test_an_oversized_body_gets_the_workers_json_rpc_413_and_the_connection_lives(
    balanced: Cluster,
) -> None:
    """A body over the limit is answered by a worker (it names itself) with 413 and a
    JSON-RPC error that says what to fix, and the client's connection then serves its next
    request: the body trickles in, so a balancer that streamed it would see the worker's
    early answer and drop the client's connection (docs/deployment.md, nginx)."""
    ids = worker_ids_direct(balanced)
    head, tail = b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"', b'"}}'
    body = head + b"x" * (OVERSIZED - len(head) - len(tail)) + tail

    async def trickle() -> AsyncIterator[bytes]:
        yield body[:65536]
        await anyio.sleep(0.3)  # the worker has the headers by now
        yield body[65536:]

    connections: set[int] = set()
    async with httpx.AsyncClient(timeout=20) as client:
        for rid in range(2):
            headers = {**JSON_AND_SSE, "content-length": str(OVERSIZED)}
            refused = await client.post(balanced.url, headers=headers, content=trickle())
            assert refused.status_code == 413, refused.text
            assert refused.headers["mcp-worker"] in ids  # a worker answered, not the balancer
            error = refused.json()["error"]
            assert error["code"] == jsonrpc.REQUEST_TOO_LARGE and "send a smaller message" in error["message"]
            connections.add(id(refused.extensions["network_stream"]))
            after = await echo(client, balanced.url, rid)
            assert after.status_code == 200 and f"n{rid}" in after.text, after.text
            connections.add(id(after.extensions["network_stream"]))
    assert len(connections) == 1, "the client's connection was dropped after the 413"


@pytest.mark.conformance
@pytest.mark.slow
@pytest.mark.parametrize(
    ("line", "spec_version", "scenarios"),
    [("v01", None, 32), ("v02", "2025-11-25", 33), ("v02", MODERN, 40)],
)
def test_official_suite_through_the_balancer(
    balanced: Cluster, tmp_path: Path, line: str, spec_version: str | None, scenarios: int
) -> None:
    args = ["--suite", "all"]
    if spec_version is not None:
        args += ["--spec-version", spec_version, "--timeout", "30000"]
    results, run = run_suite(line, tmp_path, balanced.localhost_url, *args)
    print(summary(results))
    assert len(results) == scenarios, (
        f"{len(results)} scenarios ran\n{run.stdout.decode()[-3000:]}\n{run.stderr.decode()[-3000:]}"
    )
    failed = [name for name, checks in results.items() if checks.get("FAILURE")]
    assert not failed, f"failed: {failed}\n" + summary(results) + "\n" + balanced.logs()
    assert all(balanced.alive()), balanced.logs()


@pytest.mark.anyio
@pytest.mark.conformance
@pytest.mark.parametrize("era", ["legacy", "modern"])
async def test_our_conformance_suite_through_the_balancer(cluster: Cluster, era: str) -> None:
    chosen = select(SCENARIOS, target="http", era=era)
    run = await run_scenarios(
        chosen, url=cluster.url, options=Options(timeout=5.0, keepalive_wait=20.0), era=era
    )
    failed = [r for r in run.results if r.status in (Status.FAIL, Status.ERROR)]
    assert not failed, "\n".join(f"{r.status.value} {r.name}: {r.message}" for r in failed) + cluster.logs()


@pytest.mark.anyio
async def test_redis_stopped_under_load_answers_503_and_service_resumes(cluster: Cluster) -> None:
    """Requests keep coming while Redis stops: each is answered (a result, or 503 with a
    JSON-RPC -32013 body and Retry-After), no worker dies, and once Redis is back every
    request succeeds again, on every worker, without a restart."""
    outcomes: dict[str, int] = {}
    unavailable: list[httpx.Response] = []

    async def load(client: httpx.AsyncClient, stop: anyio.Event) -> None:
        rid = 0
        while not stop.is_set():
            rid += 1
            message = modern_call(rid, "tools/call", {"name": "echo", "arguments": {"text": "x"}})
            response = await client.post(
                cluster.url, headers=modern_headers("tools/call", "echo"), json=message
            )
            outcomes[str(response.status_code)] = outcomes.get(str(response.status_code), 0) + 1
            if response.status_code == 503:
                unavailable.append(response)
            await anyio.sleep(0.01)

    async with httpx.AsyncClient(timeout=15) as client:
        # A legacy session: every request on it needs the shared session store.
        session = await legacy_session(client, cluster.url)

        async def legacy_load(stop: anyio.Event) -> None:
            rid = 1000
            while not stop.is_set():
                rid += 1
                message = {"jsonrpc": "2.0", "id": rid, "method": "tools/list"}
                response = await client.post(cluster.url, headers=session, json=message)
                key = f"legacy {response.status_code}"
                outcomes[key] = outcomes.get(key, 0) + 1
                if response.status_code == 503:
                    unavailable.append(response)
                await anyio.sleep(0.01)

        stop = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(load, client, stop)
            tg.start_soon(legacy_load, stop)
            await anyio.sleep(0.5)
            with cluster.redis.stopped(keep_data=True):  # as a Redis with persistence restarts
                await anyio.sleep(3)
            await anyio.sleep(0.5)
            stop.set()
        assert all(cluster.alive()), cluster.logs()
        assert set(outcomes) <= {"200", "503", "legacy 200", "legacy 503"}, outcomes
        assert outcomes.get("legacy 503"), f"the session store was never found unreachable: {outcomes}"
        for response in unavailable:
            body = response.json()
            assert body["jsonrpc"] == "2.0" and body["error"]["code"] == jsonrpc.STATE_UNAVAILABLE, body
            assert int(response.headers["retry-after"]) >= 1 and response.headers["mcp-worker"]
        # Full service again, on every worker, within a few seconds.
        deadline = time.monotonic() + 10
        while True:
            seen = set()
            answers = []
            for rid in range(2 * CLUSTER_WORKERS):
                response = await client.post(
                    cluster.url,
                    headers=session,
                    json={"jsonrpc": "2.0", "id": 5000 + rid, "method": "tools/list"},
                )
                answers.append(response.status_code)
                seen.add(response.headers["mcp-worker"])
            if answers == [200] * len(answers) or time.monotonic() > deadline:
                break
            await anyio.sleep(0.5)
        assert answers == [200] * len(answers) and len(seen) == CLUSTER_WORKERS, (answers, cluster.logs())


async def sse_data(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """The JSON-RPC messages of an SSE response, as they arrive."""
    async for line in response.aiter_lines():
        if line.startswith("data:") and line[5:].strip():
            yield orjson.loads(line[5:])


async def next_method(stream: AsyncIterator[dict[str, Any]], method: str) -> dict[str, Any]:
    with anyio.fail_after(10):
        async for message in stream:
            if message.get("method") == method:
                return message
    raise AssertionError(f"the stream ended before {method}")


@pytest.mark.anyio
async def test_server_wide_notifications_reach_the_clients_of_other_workers(cluster: Cluster) -> None:
    """``list_changed`` and ``resources/updated`` emitted on one worker reach a 2026-07-28
    ``subscriptions/listen`` stream and a legacy session's GET stream held by another worker
    (2026-07-28 basic/patterns/subscriptions; 2025-11-25 server/tools#list-changed-notification)."""
    listener, legacy_worker, emitter, toucher = (cluster.workers[n].url for n in (0, 1, 2, 2))
    async with httpx.AsyncClient(timeout=15) as client:
        wanted = {"toolsListChanged": True, "resourceSubscriptions": ["test://watched-resource"]}
        listen = modern_call(1, "subscriptions/listen", {"notifications": wanted})
        raw = await legacy_session(client, legacy_worker)
        get_headers = {**raw, "accept": "text/event-stream"}
        get_headers.pop("content-type")
        async with (
            client.stream(
                "POST", listener, headers=modern_headers("subscriptions/listen"), content=orjson.dumps(listen)
            ) as modern_stream,
            client.stream("GET", legacy_worker, headers=get_headers) as get_stream,
        ):
            assert modern_stream.status_code == 200 and get_stream.status_code == 200
            modern_messages, legacy_messages = sse_data(modern_stream), sse_data(get_stream)
            await next_method(modern_messages, "notifications/subscriptions/acknowledged")
            for _ in range(2):  # adds dynamic_tool on the emitter, then removes it
                response = await echo_tool(client, emitter, "test_trigger_tool_change")
                assert response.headers["mcp-worker"] != modern_stream.headers["mcp-worker"]
                await next_method(modern_messages, "notifications/tools/list_changed")
                await next_method(legacy_messages, "notifications/tools/list_changed")
            await echo_tool(client, toucher, "touch_watched_resource")
            updated = await next_method(modern_messages, "notifications/resources/updated")
            assert updated["params"]["uri"] == "test://watched-resource"


async def echo_tool(client: httpx.AsyncClient, url: str, tool: str) -> httpx.Response:
    message = modern_call(7, "tools/call", {"name": tool, "arguments": {}})
    response = await client.post(url, headers=modern_headers("tools/call", tool), json=message)
    assert response.status_code == 200 and "result" in response.text, response.text
    return response


async def legacy_session(client: httpx.AsyncClient, url: str) -> dict[str, str]:
    """Initialize a 2025-11-25 session at ``url``; the headers of its later requests."""
    init = await client.post(
        url,
        headers=JSON_AND_SSE,
        json={
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        },
    )
    assert init.status_code == 200, init.text
    headers = {
        **JSON_AND_SSE,
        "mcp-session-id": init.headers["mcp-session-id"],
        "mcp-protocol-version": "2025-11-25",
    }
    ack = await client.post(
        url, headers=headers, json={"jsonrpc": "2.0", "method": "notifications/initialized"}
    )
    assert ack.status_code == 202, ack.text
    return headers


# -- one legacy session through the balancer -------------------------------------------------
# haproxy's round robin hands each request to the next worker, whatever the connection, so a
# client that sends its requests one after another sees them land on worker after worker.


@pytest.fixture
def store(cluster: Cluster) -> Iterator[Redis]:
    """A plain client of the cluster's Redis, to look at its keys."""
    client = Redis.from_url(cluster.redis.url)
    yield client
    client.close()


def spread(seen: Seen, cluster: Cluster) -> None:
    """Every request landed on another worker than the one before, and all workers served."""
    assert all(a != b for a, b in itertools.pairwise(seen.order)), seen.order
    assert set(seen.order) == set(worker_ids_direct(cluster)), seen.order


@pytest.mark.anyio
async def test_a_legacy_session_through_the_balancer_spread_over_the_workers(
    balanced: Cluster, store: Redis
) -> None:
    """A whole 2025-11-25 session through round robin, no affinity: progress on the worker
    the call lands on; elicitation and sampling answers land elsewhere and reach the waiting
    handler; a cancel lands elsewhere and stops the request; DELETE lands on a third worker
    and ends the GET and POST streams the other two hold (2025-11-25
    basic/transports#session-management, basic/utilities/cancellation)."""
    seen = Seen()
    async with httpx.AsyncClient(timeout=20, event_hooks={"response": [seen.hook]}) as client:
        raw = RawSession(client, balanced.url)
        await raw.initialize(capabilities={"elicitation": {}, "sampling": {}})
        request = raw.tool_call("test_tool_with_progress", {})
        async with sse_stream(raw, "POST", request) as events:
            got = [event["data"] async for event in events if event.get("data")]
        assert [m["params"]["progress"] for m in got[:-1]] == [0, 50, 100]
        assert got[-1]["result"]["content"][0]["text"] == "Tool with progress executed successfully"

        answered_on: list[str] = []  # the worker of each answer, in order
        for asked, (tool, arguments, answer, expected) in enumerate(ASKING_TOOLS, 1):

            async def reply(message: dict[str, Any], answer: dict[str, Any] = answer) -> None:
                answered = await raw.post({"jsonrpc": "2.0", "id": message["id"], "result": answer})
                assert answered.status_code == 202, answered.text
                answered_on.append(answered.headers["mcp-worker"])

            async with sse_stream(raw, "POST", raw.tool_call(tool, arguments, progress=False)) as events:
                response = await response_of(events, reply)
            assert response["result"]["content"][0]["text"] == expected  # the answer reached it
            assert len(answered_on) == asked, answered_on
            assert answered_on[-1] != seen.ran(tool.encode()), (tool, seen.order)  # answered elsewhere

        request = raw.tool_call("sleep", {"seconds": 30})
        cancelled_on: list[str] = []

        async def cancel() -> None:
            response = await raw.post(cancellation(request))
            assert response.status_code == 202, response.text
            cancelled_on.append(response.headers["mcp-worker"])

        async with sse_stream(raw, "POST", request) as events:
            await cancel_midway(events, cancel)
        assert len(cancelled_on) == 1 and cancelled_on[0] != seen.ran(b'"sleep"'), seen.order
        assert (await raw.call("ping"))["result"] == {}

        # DELETE ends the session's streams held by the two other workers.
        async with (
            sse_stream(raw, "GET") as get_events,
            sse_stream(raw, "POST", raw.tool_call("sleep", {"seconds": 31})) as post_events,
        ):
            holders = {seen.gets[-1], seen.ran(b'"seconds":31')}
            post_stream = ""
            async for event in post_events:
                if event.get("data"):
                    post_stream = event["id"].rpartition(":")[0]
                    break  # the handler runs
            assert has_writer(store, balanced.prefix, post_stream)
            deleted = await client.delete(balanced.url, headers=raw.headers)
            assert deleted.status_code == 204, deleted.text
            with anyio.fail_after(10):
                after = [event async for event in get_events] + [event async for event in post_events]
        assert not [e for e in after if "result" in (e.get("data") or {})], after
        assert len(holders) == 2 and deleted.headers["mcp-worker"] not in holders, seen.order
        assert (await raw.post(raw.request("ping"))).status_code == 404
    # The handler on the POST's worker was cancelled too, not left running for a deleted session.
    await until(lambda: not has_writer(store, balanced.prefix, post_stream), interval=0.1)
    spread(seen, balanced)


@pytest.mark.anyio
async def test_resume_through_the_balancer_at_100_random_cuts_of_a_1000_event_stream(
    balanced: Cluster,
) -> None:
    """The POST's stream is cut at 100 random places and resumed with Last-Event-ID through
    the balancer, every resume read on a worker other than the one running the tool: every
    event exactly once and in order (2025-11-25 basic/transports#resumability-and-redelivery)."""
    seen = Seen()
    read_on: list[str] = []
    async with httpx.AsyncClient(timeout=20, event_hooks={"response": [seen.hook]}) as client:
        raw = RawSession(client, balanced.url)
        await raw.initialize()
        request = raw.tool_call("progress_stream", {"count": 1000})

        @asynccontextmanager
        async def resume(connection: int, last_id: str) -> AsyncIterator[httpx.Response]:
            producer = seen.ran(b'"progress_stream"')
            for _ in range(CLUSTER_WORKERS):
                async with raw.stream("GET", headers={"last-event-id": last_id}) as response:
                    if response.headers["mcp-worker"] != producer:
                        read_on.append(response.headers["mcp-worker"])
                        yield response
                        return
                # The balancer chose the producer itself: left unread; the next goes elsewhere.
            raise AssertionError(f"every resume landed on the producer: {seen.gets}")

        received, result, connections = await read_with_random_cuts(raw, request, 1000, resume, seed=13)
    assert [m["params"]["progress"] for m in received] == list(range(1, 1001))
    assert result["id"] == request["id"] and result["result"]["content"][0]["text"] == "sent 1000"
    assert connections == 101 and len(read_on) == 100
    producer = seen.ran(b'"progress_stream"')
    assert set(read_on) == set(worker_ids_direct(balanced)) - {producer}, (producer, read_on)
    spread(seen, balanced)


async def first_messages(events: AsyncIterator[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """The next ``count`` events that carry a message."""
    got: list[dict[str, Any]] = []
    with anyio.fail_after(10):
        async for event in events:
            if event.get("data"):
                got.append(event)
                if len(got) == count:
                    return got
    raise AssertionError(f"the stream ended after {got}")


@pytest.mark.anyio
async def test_a_get_through_the_balancer_takes_the_stream_over(balanced: Cluster) -> None:
    """A second GET of the session, landing on another worker, takes the GET stream over: the
    first response ends, and what the session emits afterwards (a tool's progress, running on
    yet another worker) arrives once, on the new stream (2025-11-25
    basic/transports#multiple-connections)."""
    seen = Seen()
    async with httpx.AsyncClient(timeout=20, event_hooks={"response": [seen.hook]}) as client:
        raw = RawSession(client, balanced.url)
        await raw.initialize()

        async def progress_to_the_get_stream() -> None:
            # Answered with JSON: the tool's progress goes to the session's GET stream.
            response = await raw.post(
                raw.tool_call("test_tool_with_progress", {}), {"accept": "application/json"}
            )
            assert response.status_code == 200, response.text

        with anyio.fail_after(20):
            async with sse_stream(raw, "GET") as first:
                await progress_to_the_get_stream()
                before = await first_messages(first, 3)
                async with sse_stream(raw, "GET") as second:
                    rest = [event async for event in first]  # the first response ends
                    await progress_to_the_get_stream()
                    await progress_to_the_get_stream()
                    after = await first_messages(second, 6)
    assert len(set(seen.gets)) == 2, seen.gets  # the two GETs landed on different workers
    assert [e["data"]["params"]["progress"] for e in before + after] == [0, 50, 100] * 3
    assert not [e for e in rest if e.get("data")], rest
    assert len({e["id"] for e in before + after}) == 9  # nothing delivered twice
    spread(seen, balanced)


def test_serve_workers_n_runs_n_workers_on_one_port(redis_server: RedisServer, tmp_path: Path) -> None:
    """``mcp-transport serve MODULE:ATTR --workers 2``: two worker processes share one port
    (SO_REUSEPORT), the kernel spreads new connections over them, a killed worker is
    replaced, and SIGTERM stops them all."""
    port = free_port()
    options = worker_options(redis_server.url, f"serve-{uuid.uuid4().hex[:8]}:")
    argv = [sys.executable, "-m", "mcp_transport", "serve", "servers.everything:server", "--port", str(port)]
    log = (tmp_path / "serve.log").open("wb")
    parent = subprocess.Popen([*argv, "--workers", "2", *options], cwd=REPO, stdout=log, stderr=log)
    try:
        wait_listening(parent, port)

        def served_by() -> set[str]:
            seen = set()
            for rid in range(40):  # a new connection each: the kernel picks the worker
                with httpx.Client(timeout=10) as client:
                    message = modern_call(rid, "tools/list")
                    response = client.post(
                        f"http://127.0.0.1:{port}/mcp", headers=modern_headers("tools/list"), json=message
                    )
                assert response.status_code == 200, response.text
                seen.add(response.headers["mcp-worker"])
            return seen

        first = served_by()
        assert len(first) == 2, first
        children = [int(pid) for pid in subprocess.check_output(["pgrep", "-P", str(parent.pid)]).split()]
        assert len(children) == 2
        os.kill(children[0], signal.SIGKILL)
        deadline = time.monotonic() + 15
        while len(served_by() - first) < 1:  # the replacement is a new worker (a new id)
            assert time.monotonic() < deadline, "no replacement worker"
            time.sleep(0.5)
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(40) == 0
        for pid in children[1:]:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
    finally:
        if parent.poll() is None:
            parent.kill()
        log.close()


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--workers", "2"], "--redis-url"),
        (["--redis-url", "redis://127.0.0.1:1/0"], ENV_REQUEST_STATE_KEYS),
        (["--redis-url", "redis://127.0.0.1:1/0", "--request-state-key", "abc"], "at least 32 hex digits"),
    ],
)
def test_serve_refuses_a_worker_that_cannot_share(extra: list[str], says: str) -> None:
    """Several workers without Redis, or Redis without shared MRTR keys: refused at start, with
    the option to set (a worker with its own random key would refuse every other's rounds)."""
    env = {k: v for k, v in os.environ.items() if k not in (ENV_REQUEST_STATE_KEYS, ENV_REDIS_URL)}
    argv = [sys.executable, "-m", "servers.everything", "--port", str(free_port()), *extra]
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and says in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_run_http_refuses_redis_without_shared_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """``run_http(server, redis_url=...)``, the library's one way: the server joins the cluster
    before anything is served, and refuses to without keys."""
    monkeypatch.delenv(ENV_REQUEST_STATE_KEYS, raising=False)
    with pytest.raises(ValueError, match=ENV_REQUEST_STATE_KEYS):
        run_http(MCPServer("alone"), port=free_port(), redis_url="redis://127.0.0.1:1/0")


# -- a worker killed with SIGKILL (runs last: each test restarts the worker it killed) ---------

WORKER_STOPPED = -32014  # jsonrpc.WORKER_STOPPED: "the worker running this request stopped"
# The client must get the typed error within this many seconds of the death (the worker lease
# of the test cluster, 3 s, plus a heartbeat and the client's resume).
DEATH_NOTICED_WITHIN = 30.0


def worker_index(cluster: Cluster, worker: str) -> int:
    return worker_ids_direct(cluster).index(worker)


@pytest.mark.anyio
async def test_kill_9_of_the_worker_running_a_tool_our_client(balanced: Cluster) -> None:
    """The worker running ``sleep`` dies mid-stream: our Client's call fails with the typed
    error (-32014) within bounded time, and the next request of the same session succeeds
    on a surviving worker."""
    from mcp_transport import Client

    seen = Seen()
    async with (
        httpx.AsyncClient(timeout=60, event_hooks={"response": [seen.hook]}) as http,
        Client(balanced.url, era="legacy", http_client=http) as client,
    ):
        victim_id: list[str] = []

        async def victim() -> int:
            victim_id.append(seen.ran(b'"sleep"'))
            return worker_index(balanced, victim_id[0])

        def call(on_progress: Any) -> Awaitable[Any]:
            return client.call_tool("sleep", {"seconds": 120}, on_progress=on_progress)

        outcome, killed = await kill_during(balanced, call, victim)
        try:
            error = outcome.get("error")
            assert getattr(error, "code", None) == WORKER_STOPPED, (outcome, balanced.logs())
            assert outcome["after"] < DEATH_NOTICED_WITHIN, outcome
            after = await client.call_tool("echo", {"text": "after"})
            assert after["content"][0]["text"] == "after"
            assert seen.ran(b'"after"') != victim_id[0]
        finally:
            balanced.restart_worker(killed)


async def kill_during(
    cluster: Cluster, call: Callable[[Any], Awaitable[Any]], victim: Callable[[], Awaitable[int]]
) -> tuple[dict[str, Any], int]:
    """Start ``call(on_progress)``; at its first progress kill -9 the worker ``victim()``
    names; wait for the call's outcome. Returns ``{"result" or "error", "after": seconds
    from the death to the outcome}`` and the index of the killed worker."""
    progressed = anyio.Event()
    outcome: dict[str, Any] = {}

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        progressed.set()

    async def run() -> None:
        try:
            outcome["result"] = await call(on_progress)
        except Exception as exc:  # the typed error is the point: checked by the caller
            outcome["error"] = exc
        outcome["at"] = time.monotonic()

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        with anyio.fail_after(10):
            await progressed.wait()
        killed = await victim()
        cluster.kill_worker(killed)
        death = time.monotonic()
        with anyio.fail_after(DEATH_NOTICED_WITHIN + 10):
            while "at" not in outcome:  # noqa: ASYNC110  (the call's own outcome is the event)
                await anyio.sleep(0.1)
    outcome["after"] = outcome["at"] - death
    return outcome, killed


@pytest.mark.anyio
async def test_kill_9_of_the_worker_running_a_tool_official_sdk_client(balanced: Cluster) -> None:
    """The same death seen by the official MCP Python SDK client (``mcp`` 2.3, legacy
    mode): it resumes the broken stream with ``Last-Event-ID`` through the balancer, gets the
    error event from a surviving worker as a JSON-RPC error, and its session goes on."""
    from mcp import Client as SDKClient
    from mcp.shared.exceptions import MCPError

    ids = worker_ids_direct(balanced)
    async with SDKClient(balanced.url, mode="legacy") as client:

        def call(on_progress: Any) -> Awaitable[Any]:
            return client.call_tool("sleep", {"seconds": 120}, progress_callback=on_progress)

        outcome, killed = await kill_during(balanced, call, lambda: running_sleep(balanced, ids))
        try:
            error = outcome.get("error")
            assert isinstance(error, MCPError) and error.code == WORKER_STOPPED, (outcome, balanced.logs())
            assert outcome["after"] < DEATH_NOTICED_WITHIN, outcome
            after = await client.call_tool("echo", {"text": "after"})
            assert after.content[0].text == "after"  # type: ignore[union-attr]  # a text block
        finally:
            balanced.restart_worker(killed)


async def running_sleep(cluster: Cluster, ids: list[str]) -> int:
    """The index of the worker answering a POST stream (the ``sleep`` call, the one request
    in flight): the one whose writer table in Redis (``{prefix}writing:{worker}``) has an
    entry. The GET stream is not in that table, wherever it landed."""
    import redis.asyncio as aioredis

    store = aioredis.Redis.from_url(cluster.redis.url, decode_responses=True)
    try:
        with anyio.fail_after(10):
            while True:
                for n, worker in enumerate(ids):
                    if await store.hlen(f"{cluster.prefix}writing:{worker}"):
                        return n
                await anyio.sleep(0.05)
    finally:
        await store.aclose()


@pytest.mark.anyio
async def test_kill_9_of_the_worker_holding_only_the_get_stream(cluster: Cluster) -> None:
    """The worker holding a session's GET stream dies: the client resumes the stream on
    another worker (``Last-Event-ID``), which becomes the session's GET holder and delivers
    its notifications (2025-11-25 basic/transports#resumability-and-redelivery)."""
    from mcp_transport import Client

    seen = Seen()
    changed = anyio.Event()

    async def on_notification(method: str, params: dict[str, Any] | None) -> None:
        if method == "notifications/tools/list_changed":
            changed.set()

    async with (
        httpx.AsyncClient(timeout=60, event_hooks={"response": [seen.hook]}) as http,
        Client(cluster.url, era="legacy", http_client=http, on_notification=on_notification) as client,
    ):
        with anyio.fail_after(10):
            while not seen.gets:  # noqa: ASYNC110  (the hook records the GET)
                await anyio.sleep(0.05)
        holder_id = seen.gets[-1]
        victim = worker_index(cluster, holder_id)
        cluster.kill_worker(victim)
        try:
            with anyio.fail_after(DEATH_NOTICED_WITHIN):  # the client resumes on a live worker
                while seen.gets[-1] == holder_id:  # noqa: ASYNC110  (the hook records the GET)
                    await anyio.sleep(0.05)
            assert seen.resumed_from[-1] is not None, "the GET was not resumed with Last-Event-ID"
            # The new holder delivers the session's notifications, raised on any worker.
            await client.call_tool("test_trigger_tool_change", {})
            with anyio.fail_after(10):
                await changed.wait()
        finally:
            cluster.restart_worker(victim)
