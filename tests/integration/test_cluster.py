"""Three workers of ``servers.everything`` on one real redis-server behind a real haproxy
(round robin, keep-alive, no stickiness): requests are spread over the workers, every
response names its worker, the conformance suites pass through the balancer, and Redis
stopped under load costs 503s with JSON-RPC bodies, never a worker (docs/deployment.md)."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from conformance.context import Options
from conformance.model import Status
from conformance.runner import run_scenarios, select
from conformance.scenarios import SCENARIOS
from mcp_transport import jsonrpc
from mcp_transport.protocol import META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION
from tests.official_suite import run_suite, summary
from tests.services import CLUSTER_WORKERS, Cluster

pytestmark = [pytest.mark.redis, pytest.mark.timeout(360)]

JSON_AND_SSE = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
MODERN = "2026-07-28"


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


@pytest.mark.anyio
async def test_consecutive_requests_on_one_connection_land_on_different_workers(cluster: Cluster) -> None:
    ids = worker_ids_direct(cluster)
    assert len(set(ids)) == CLUSTER_WORKERS and all(len(i) == 8 for i in ids), ids
    connections: set[Any] = set()

    async def count_connection(request: httpx.Request) -> None:
        stream = request.extensions.get("network_stream")
        if stream is not None:
            connections.add(id(stream))

    async with httpx.AsyncClient(timeout=10, event_hooks={"request": [count_connection]}) as client:
        served = []
        for rid in range(2 * CLUSTER_WORKERS):
            response = await echo(client, cluster.url, rid)
            assert response.status_code == 200 and f"n{rid}" in response.text, response.text
            served.append(response.headers["mcp-worker"])
        # An error through the balancer names its worker too.
        refused = await client.post(cluster.url, headers=JSON_AND_SSE, content=b"{not json")
        assert refused.status_code == 400 and refused.headers["mcp-worker"] in ids
    assert all(a != b for a, b in itertools.pairwise(served)), served
    assert set(served) == set(ids), (served, ids)


@pytest.mark.conformance
@pytest.mark.slow
@pytest.mark.parametrize(
    ("line", "spec_version", "scenarios"),
    [("v01", None, 32), ("v02", "2025-11-25", 33), ("v02", MODERN, 40)],
)
def test_official_suite_through_the_balancer(
    cluster: Cluster, tmp_path: Path, line: str, spec_version: str | None, scenarios: int
) -> None:
    args = ["--suite", "all"]
    if spec_version is not None:
        args += ["--spec-version", spec_version, "--timeout", "30000"]
    results, run = run_suite(line, tmp_path, cluster.localhost_url, *args)
    print(summary(results))
    assert len(results) == scenarios, (
        f"{len(results)} scenarios ran\n{run.stdout.decode()[-3000:]}\n{run.stderr.decode()[-3000:]}"
    )
    failed = [name for name, checks in results.items() if checks.get("FAILURE")]
    assert not failed, f"failed: {failed}\n" + summary(results) + "\n" + cluster.logs()
    assert all(cluster.alive()), cluster.logs()


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
        init = await client.post(
            cluster.url,
            headers=JSON_AND_SSE,
            json={
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": {"name": "load", "version": "1"},
                },
            },
        )
        assert init.status_code == 200, init.text
        session = {**JSON_AND_SSE, "mcp-session-id": init.headers["mcp-session-id"]}
        session["mcp-protocol-version"] = "2025-11-25"
        await client.post(
            cluster.url, headers=session, json={"jsonrpc": "2.0", "method": "notifications/initialized"}
        )

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
            with cluster.redis.stopped():
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
