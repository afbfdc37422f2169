"""Session-store races of the legacy leg, against a store whose every call takes a round trip
(as a networked store's would): the cap holds under concurrent initializes, and a request
that found its session is never cut off by the expiry sweeper."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest
from servers_for_tests import JSON_AND_SSE, RawSession, make_server

from mcp_transport.state import MemorySessionStore

pytestmark = pytest.mark.anyio


class RoundTripStore(MemorySessionStore):
    """The in-memory store behind a network: each operation is atomic, but its answer reaches
    the caller only ``latency`` seconds later, and other tasks run meanwhile."""

    def __init__(self, latency: float, only: frozenset[str] | None = None) -> None:
        super().__init__()
        self.latency = latency
        self.only = only  # the operations that take the round trip (None: all)

    def __getattribute__(self, name: str) -> Any:
        attr = super().__getattribute__(name)
        if name.startswith("_") or name in ("latency", "only") or not callable(attr):
            return attr
        if self.only is not None and name not in self.only:
            return attr

        async def round_trip(*args: Any, **kwargs: Any) -> Any:
            answer = await attr(*args, **kwargs)  # the store acts atomically
            await anyio.sleep(self.latency)  # the answer travels back
            return answer

        return round_trip


def initialize_body(rid: int) -> dict[str, Any]:
    info = {"name": "race", "version": "1"}
    params = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": info}
    return {"jsonrpc": "2.0", "id": rid, "method": "initialize", "params": params}


async def test_session_cap_holds_under_concurrent_initializes(http_server: Callable[..., str]) -> None:
    store = RoundTripStore(latency=0.005)
    url = http_server(make_server(), max_sessions=3, sessions=store)
    statuses: list[int] = []
    async with httpx.AsyncClient(timeout=10) as client:

        async def initialize(rid: int) -> None:
            response = await client.post(url, headers=JSON_AND_SSE, json=initialize_body(rid))
            statuses.append(response.status_code)
            assert response.status_code in (200, 503), response.text
            assert (response.status_code == 200) == ("mcp-session-id" in response.headers)

        async with anyio.create_task_group() as tg:
            for rid in range(20):
                tg.start_soon(initialize, rid)
    assert statuses.count(200) == 3 and statuses.count(503) == 17, statuses
    assert len(store._records) == 3


async def test_a_request_that_found_its_session_outlives_the_sweep(http_server: Callable[..., str]) -> None:
    # The idle timeout passes while the ping's session lookup is on its way back, and the
    # sweeper runs in that window. The ping found the session, so it must be answered, and
    # the session must live on (its idle time counts from the end of this request).
    store = RoundTripStore(latency=0.0, only=frozenset({"get", "acquire"}))
    url = http_server(make_server(), session_idle_timeout=0.3, sessions=store)
    async with httpx.AsyncClient(timeout=10) as client:
        raw = RawSession(client, url)
        await raw.initialize()
        await anyio.sleep(0.2)
        store.latency = 0.25  # found at 0.2 s idle, answered at 0.45 s; the sweeper runs every 75 ms
        response = await raw.post(raw.request("ping"))
        store.latency = 0.0
        assert response.status_code == 200, response.text
        assert response.json()["result"] == {}
        again = await raw.post(raw.request("ping"))
        assert again.status_code == 200 and again.json()["result"] == {}, again.text
