"""The shared dispatcher: the sans-IO pending table, and two dispatchers wired back to back
in memory (a client side and a server side), the way h11 tests a ConnectionPair."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest

from mcp_transport import jsonrpc
from mcp_transport.dispatcher import Dispatcher, PendingTable, RequestContext
from mcp_transport.errors import ConnectionClosed, InvalidParams, RemoteError, RequestTimeout
from mcp_transport.jsonrpc import (
    ErrorObject,
    ErrorResponse,
    Message,
    Notification,
    Request,
    RequestId,
    Result,
)
from mcp_transport.methods import MethodTable
from tests.waiting import until

# -- PendingTable, no event loop -------------------------------------------------------------


def test_pending_table_resolves_each_request_once() -> None:
    table = PendingTable()
    rid, entry = table.open()
    assert table.resolve(Result(rid, {"ok": True}))
    assert entry.outcome == {"ok": True} and entry.done.is_set()
    assert not table.resolve(Result(rid, {}))  # a second answer for the same id is ignored
    assert not table.resolve(Result(999, {}))  # unknown ids are ignored


def test_pending_table_error_response_becomes_remote_error() -> None:
    table = PendingTable()
    rid, entry = table.open()
    table.resolve(ErrorResponse(rid, ErrorObject(-32602, "bad", {"x": 1})))
    assert isinstance(entry.outcome, RemoteError)
    assert (entry.outcome.code, entry.outcome.data) == (-32602, {"x": 1})


def test_pending_table_close_resolves_everything_and_refuses_new_requests() -> None:
    table = PendingTable()
    entries = [table.open()[1] for _ in range(3)]
    table.close("peer went away")
    assert all(isinstance(e.outcome, ConnectionClosed) and e.done.is_set() for e in entries)
    assert len(table) == 0
    with pytest.raises(ConnectionClosed, match="peer went away"):
        table.open()


def test_pending_table_fail_completes_with_the_local_error() -> None:
    table = PendingTable()
    rid, entry = table.open()
    lost = ConnectionClosed("the POST failed")
    assert table.fail(rid, lost) and entry.outcome is lost
    assert not table.fail(rid, lost)


def test_ids_are_never_reused() -> None:
    table = PendingTable()
    ids = {table.open()[0] for _ in range(100)}
    assert len(ids) == 100


# -- two dispatchers back to back ------------------------------------------------------------


class Pair:
    def __init__(self) -> None:
        self.client: Dispatcher
        self.server: Dispatcher
        self.to_client: list[Message] = []  # everything the server sent
        self.to_server: list[Message] = []


@asynccontextmanager
async def connected(
    server_methods: MethodTable, client_methods: MethodTable | None = None
) -> AsyncIterator[Pair]:
    pair = Pair()

    async def server_send(message: Message, related_to: RequestId | None) -> None:
        pair.to_client.append(message)
        await pair.client.receive(message)

    async def client_send(message: Message, related_to: RequestId | None) -> None:
        pair.to_server.append(message)
        await pair.server.receive(message)

    async with anyio.create_task_group() as tg:
        pair.server = Dispatcher(server_methods, server_send, tg)
        pair.client = Dispatcher(client_methods or MethodTable(), client_send, tg, default_timeout=5)
        yield pair
        pair.client.close("test over")
        pair.server.close("test over")
        tg.cancel_scope.cancel()


async def never(ctx: RequestContext, params: dict) -> dict:
    await anyio.sleep(30)
    return {}


def table(**handlers: Any) -> MethodTable:
    methods = MethodTable()
    for name, fn in handlers.items():
        methods.add(name.replace("__", "/"), fn)
    return methods


@pytest.mark.anyio
async def test_request_round_trip() -> None:
    async def echo(ctx: RequestContext, params: dict) -> dict:
        return {"echo": params}

    async with connected(table(echo=echo)) as pair:
        assert await pair.client.request("echo", {"a": 1}) == {"echo": {"a": 1}}


@pytest.mark.anyio
async def test_unknown_method_and_handler_errors() -> None:
    async def boom(ctx: RequestContext, params: dict) -> dict:
        raise KeyError("secret internal detail")

    async def picky(ctx: RequestContext, params: dict) -> dict:
        raise InvalidParams("x must be positive", {"field": "x"})

    async with connected(table(boom=boom, picky=picky)) as pair:
        with pytest.raises(RemoteError) as info:
            await pair.client.request("nope")
        assert info.value.code == -32601
        with pytest.raises(RemoteError) as info:
            await pair.client.request("boom")
        assert info.value.code == -32603
        assert "secret" not in info.value.message  # no internals leak to the peer
        with pytest.raises(RemoteError) as info:
            await pair.client.request("picky")
        assert (info.value.code, info.value.message, info.value.data) == (
            -32602,
            "x must be positive",
            {"field": "x"},
        )


@pytest.mark.anyio
async def test_slow_request_does_not_block_others() -> None:
    release = anyio.Event()

    async def slow(ctx: RequestContext, params: dict) -> dict:
        await release.wait()
        return {"slow": True}

    async def fast(ctx: RequestContext, params: dict) -> dict:
        return {"fast": True}

    async with connected(table(slow=slow, fast=fast)) as pair:
        results: list[dict] = []

        async def call_slow() -> None:
            results.append(await pair.client.request("slow"))

        async with anyio.create_task_group() as tg:
            tg.start_soon(call_slow)
            with anyio.fail_after(2):
                assert await pair.client.request("fast") == {"fast": True}
            assert results == []
            release.set()
        assert results == [{"slow": True}]


@pytest.mark.anyio
async def test_cancelled_request_stops_and_sends_no_response() -> None:
    started = anyio.Event()
    finished: list[bool] = []

    async def slow(ctx: RequestContext, params: dict) -> dict:
        started.set()
        await anyio.sleep(10)
        finished.append(True)
        return {}

    async with connected(table(slow=slow)) as pair:
        await pair.server.receive(Request("r1", "slow"))
        await started.wait()
        await pair.server.receive(
            Notification("notifications/cancelled", {"requestId": "r1", "reason": "user"})
        )
        await until(lambda: not pair.server.in_flight)
        assert finished == []
        assert not any(getattr(m, "id", None) == "r1" for m in pair.to_client)


@pytest.mark.anyio
async def test_initialize_cannot_be_cancelled_and_unknown_cancels_are_ignored() -> None:
    gate = anyio.Event()

    async def initialize(ctx: RequestContext, params: dict) -> dict:
        await gate.wait()
        return {"ok": True}

    async with connected(table(initialize=initialize)) as pair:
        await pair.server.receive(Request(1, "initialize"))
        await pair.server.receive(Notification("notifications/cancelled", {"requestId": 1}))
        await pair.server.receive(Notification("notifications/cancelled", {"requestId": "unknown"}))
        await pair.server.receive(Notification("notifications/cancelled", {"requestId": None}))
        gate.set()
        await until(lambda: any(isinstance(m, Result) and m.id == 1 for m in pair.to_client))


@pytest.mark.anyio
async def test_timeout_raises_and_tells_the_peer() -> None:
    async with connected(table(never=never)) as pair:
        with pytest.raises(RequestTimeout):
            await pair.client.request("never", timeout=0.05)
        cancels = [
            m for m in pair.to_server if isinstance(m, Notification) and m.method == "notifications/cancelled"
        ]
        assert len(cancels) == 1 and (cancels[0].params or {}).get("requestId") == 1
        await until(lambda: not pair.server.in_flight)  # and the server stopped working on it


@pytest.mark.anyio
async def test_caller_cancellation_tells_the_peer() -> None:
    async with connected(table(never=never)) as pair:
        with anyio.move_on_after(0.05):
            await pair.client.request("never")
        assert any(
            isinstance(m, Notification) and m.method == "notifications/cancelled" for m in pair.to_server
        )
        assert pair.client.in_flight == 0


@pytest.mark.anyio
async def test_close_resolves_every_pending_request() -> None:
    async with connected(table(never=never)) as pair:
        outcomes: list[BaseException] = []

        async def call() -> None:
            try:
                await pair.client.request("never")
            except ConnectionClosed as exc:
                outcomes.append(exc)

        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(call)
            await until(lambda: pair.client.in_flight >= 10)
            pair.client.close("client shut down")
        assert len(outcomes) == 10
        with pytest.raises(ConnectionClosed):
            await pair.client.request("never")


@pytest.mark.anyio
async def test_progress_reaches_the_caller_and_only_increases() -> None:
    async def work(ctx: RequestContext, params: dict) -> dict:
        for value in (1, 2, 2, 1.5, 3):  # the repeated and decreasing values must be dropped
            await ctx.report_progress(value, 3, f"step {value}")
        return {"done": True}

    seen: list[tuple] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with connected(table(work=work)) as pair:
        assert await pair.client.request("work", on_progress=on_progress) == {"done": True}
    assert seen == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")]


@pytest.mark.anyio
async def test_no_progress_without_a_token() -> None:
    async def work(ctx: RequestContext, params: dict) -> dict:
        await ctx.report_progress(1)
        return {}

    async with connected(table(work=work)) as pair:
        await pair.client.request("work")
        assert not any(isinstance(m, Notification) for m in pair.to_client)


@pytest.mark.anyio
async def test_duplicate_in_flight_id_is_refused() -> None:
    gate = anyio.Event()

    async def wait(ctx: RequestContext, params: dict) -> dict:
        await gate.wait()
        return {}

    async with connected(table(wait=wait)) as pair:
        await pair.server.receive(Request(5, "wait"))
        await pair.server.receive(Request(5, "wait"))
        errors = [m for m in pair.to_client if isinstance(m, ErrorResponse)]
        assert len(errors) == 1 and "already in use" in errors[0].error.message
        gate.set()


@pytest.mark.anyio
async def test_requests_both_ways_through_the_handler_context() -> None:
    async def ask_back(ctx: RequestContext, params: dict) -> dict:
        answer = await ctx.request("ping")
        return {"peer_said": answer}

    async def ping(ctx: RequestContext, params: dict) -> dict:
        return {}

    async with connected(table(ask_back=ask_back), table(ping=ping)) as pair:
        assert await pair.client.request("ask_back") == {"peer_said": {}}


# -- containment: what a callback or a write raises stops there -----------------------------


@pytest.mark.anyio
async def test_a_raising_progress_callback_is_contained() -> None:
    async def work(ctx: RequestContext, params: dict) -> dict:
        await ctx.report_progress(1, 2)
        await ctx.report_progress(2, 2)
        return {"done": True}

    calls: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        calls.append(progress)
        raise RuntimeError("a user progress callback that fails")

    async with connected(table(work=work)) as pair:
        # The call still succeeds and both progress events reached the callback.
        assert await pair.client.request("work", on_progress=on_progress) == {"done": True}
    assert calls == [1, 2]


@pytest.mark.anyio
async def test_a_raising_notification_handler_is_contained() -> None:
    async def on_notification(dispatcher: Dispatcher, message: Notification) -> None:
        raise RuntimeError("a user notification handler that fails")

    async def ping(ctx: RequestContext, params: dict) -> dict:
        return {}

    sent: list[Message] = []

    async def send(message: Message, related_to: RequestId | None) -> None:
        sent.append(message)

    async with anyio.create_task_group() as tg:
        server = Dispatcher(table(ping=ping), send, tg, on_notification=on_notification)
        await server.receive(Notification("notifications/roots/list_changed"))
        await server.receive(Request(1, "ping"))
        await until(lambda: bool(sent))
        server.close()
    assert sent == [Result(1, {})]


@pytest.mark.anyio
async def test_a_reply_that_cannot_be_written_fails_alone() -> None:
    async def ping(ctx: RequestContext, params: dict) -> dict:
        return {}

    written: list[Message] = []

    async def send(message: Message, related_to: RequestId | None) -> None:
        if related_to == "doomed":
            raise OSError("this one write fails")
        written.append(message)

    async with anyio.create_task_group() as tg:  # would end with the OSError before the fix
        server = Dispatcher(table(ping=ping), send, tg)
        await server.receive(Request("doomed", "ping"))
        await server.receive(Request("fine", "ping"))
        await until(lambda: bool(written))
        server.close()
    assert written == [Result("fine", {})]


@pytest.mark.anyio
async def test_requests_past_max_inbound_get_server_overloaded() -> None:
    gate = anyio.Event()

    async def wait(ctx: RequestContext, params: dict) -> dict:
        await gate.wait()
        return {}

    sent: list[Message] = []

    async def send(message: Message, related_to: RequestId | None) -> None:
        sent.append(message)

    async with anyio.create_task_group() as tg:
        server = Dispatcher(table(wait=wait), send, tg, max_inbound=2)
        for rid in (1, 2, 3):
            await server.receive(Request(rid, "wait"))
        refused = await server.run(Request(4, "wait"))  # the HTTP path refuses the same way
        assert isinstance(refused, ErrorResponse) and refused.error.code == jsonrpc.SERVER_OVERLOADED
        refusals = [(m.id, m.error.code) for m in sent if isinstance(m, ErrorResponse)]
        assert refusals == [(3, jsonrpc.SERVER_OVERLOADED)]
        gate.set()
        await until(lambda: len(sent) == 3)
        assert await server.run(Request(5, "wait")) == Result(5, {})  # room again
        server.close()


@pytest.mark.anyio
async def test_notify_after_close_is_dropped() -> None:
    sent: list[Message] = []

    async def send(message: Message, related_to: RequestId | None) -> None:
        sent.append(message)

    async with anyio.create_task_group() as tg:
        server = Dispatcher(MethodTable(), send, tg)
        server.close("session ended")
        await server.notify("notifications/message", {"level": "info", "data": "late"}, related_to=1)
    assert sent == []
