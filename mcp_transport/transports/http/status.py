"""The live status page (opt-in: ``run_http(..., status_page=True)``, ``--status-page``).

:class:`StatusCollector` is fed at one seam, :meth:`StreamableHTTP._post` (and the GET stream
in ``_route``): a POST is timed from its parse to the end of its HTTP answer, and the answer's
bytes are watched on their way out for the outcome (an error response, ``isError``, a task's
status). Nothing of this runs when the page is off (the endpoint checks one attribute).

Bounded (docs/http-server.md "Status page"): ``MAX_RECENT`` recent requests (a ring),
``MAX_TOOLS`` tools with ``MAX_SAMPLES`` durations each, ``MAX_CLIENTS`` remembered client infos,
``MAX_TASKS`` task states, ``MAX_SCAN_BYTES`` of one JSON answer parsed for its outcome.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Iterable, MutableMapping
from typing import Any

import orjson

from ...jsonrpc import Message, Request
from ...protocol import META_CLIENT_INFO
from ...state.events import EventLog
from ...state.memory import MemoryEventLog
from ...state.session_store import SessionStore
from .asgi import Send

__all__ = ["MAX_RECENT", "MAX_TOOLS", "StatusCollector", "Watch", "snapshot"]

MAX_RECENT = 200
MAX_TOOLS = 256
MAX_SAMPLES = 200
MAX_CLIENTS = 1024
MAX_TASKS = 1000
MAX_SCAN_BYTES = 1024 * 1024
MAX_SESSION_ROWS = 200  # sessions listed on the page (the count is exact)


def _remember(table: OrderedDict[str, Any], key: str, value: Any, limit: int) -> None:
    table[key] = value
    table.move_to_end(key)
    if len(table) > limit:
        table.popitem(last=False)


class Watch:
    """One POST being answered: its timing, and a look at its answer as it goes out."""

    __slots__ = (
        "_body",
        "_collector",
        "_send",
        "client",
        "era",
        "http",
        "method",
        "outcome",
        "request_id",
        "session",
        "sse",
        "started",
        "tool",
    )

    def __init__(
        self,
        collector: StatusCollector,
        send: Send,
        message: Message | list[Message],
        era: str,
        session: str | None,
    ):
        self._collector = collector
        self._send = send
        self._body = bytearray()
        self.started = time.perf_counter()
        self.era, self.session = era, session
        self.http = 0
        self.sse = False
        self.outcome = "ok"
        self.method, self.tool, self.request_id = "batch", None, None
        self.client: dict[str, Any] | None = None  # initialize's clientInfo, until the session id is known
        if isinstance(message, Request):
            self.method, self.request_id = message.method, message.id
            params = message.params if isinstance(message.params, dict) else {}
            if message.method == "tools/call" and isinstance(params.get("name"), str):
                self.tool = params["name"][:100]
            self.client = collector.saw_client(params, session)
        elif not isinstance(message, list):
            self.method = getattr(message, "method", "response")

    async def __call__(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self._start(message)
        elif message["type"] == "http.response.body":
            self._scan(message.get("body", b""))
        await self._send(message)

    def _start(self, message: MutableMapping[str, Any]) -> None:
        self.http = message["status"]
        for name, value in message.get("headers", ()):
            if name == b"mcp-session-id" and self.session is None:
                self.session = value.decode("latin-1")
                if self.client is not None:
                    _remember(self._collector.clients, self.session, self.client, MAX_CLIENTS)
            elif name == b"content-type" and value.startswith(b"text/event-stream"):
                self.sse = True
                self._collector.stream(self.session, +1)
        if self.http >= 400:
            self.outcome = f"http {self.http}"

    def _scan(self, body: bytes) -> None:
        if self.sse:  # our own framing: each event's data is one ``data:`` line
            for line in body.split(b"\n"):
                if line.startswith((b"data: ", b"data:{")):
                    self._inspect(line[5:])
        elif len(self._body) + len(body) <= MAX_SCAN_BYTES:
            self._body += body

    def _inspect(self, data: bytes) -> None:
        try:
            answer = orjson.loads(data)
        except orjson.JSONDecodeError:
            return
        if not isinstance(answer, dict):
            return
        result = answer.get("result")
        if isinstance(result, dict):
            task_id, state = result.get("taskId"), result.get("status")
            if isinstance(task_id, str) and isinstance(state, str):
                _remember(self._collector.tasks, task_id, state, MAX_TASKS)
        if answer.get("id") != self.request_id or "method" in answer:
            return
        error = answer.get("error")
        if isinstance(error, dict):
            self.outcome = f"error {error.get('code')}"
        elif isinstance(result, dict) and result.get("isError") is True:
            self.outcome = "tool error"

    def finish(self) -> None:
        if not self.sse and self._body:
            self._inspect(bytes(self._body))
        if self.sse:
            self._collector.stream(self.session, -1)
        self._collector.finished(self, (time.perf_counter() - self.started) * 1000)


class StatusCollector:
    def __init__(self) -> None:
        self.started = time.time()
        self.recent: deque[dict[str, Any]] = deque(maxlen=MAX_RECENT)
        self.tools: dict[str, deque[float]] = {}
        self.tool_counts: dict[str, list[int]] = {}  # tool -> [calls, failures]
        self.clients: OrderedDict[str, Any] = OrderedDict()  # session id or "modern:<name>" -> client info
        self.tasks: OrderedDict[str, str] = OrderedDict()  # task id -> last status seen
        self.streams: dict[str | None, int] = {}  # session -> open SSE streams
        self.in_flight_modern = 0

    def watch(self, send: Send, message: Message | list[Message], era: str, session: str | None) -> Watch:
        if era == "modern":
            self.in_flight_modern += 1
        return Watch(self, send, message, era, session)

    def saw_client(self, params: dict[str, Any], session: str | None) -> dict[str, Any] | None:
        """Remember a modern request's client info; return an ``initialize``'s, which is
        remembered once its answer names the new session."""
        meta = params.get("_meta")
        info = meta.get(META_CLIENT_INFO) if isinstance(meta, dict) else None
        if isinstance(info, dict):
            _remember(self.clients, f"modern:{info.get('name')}", {**info, "seen": time.time()}, MAX_CLIENTS)
        elif session is None and isinstance(params.get("clientInfo"), dict):
            return {"clientInfo": params["clientInfo"], "version": params.get("protocolVersion")}
        return None

    def stream(self, session: str | None, delta: int) -> None:
        count = self.streams.get(session, 0) + delta
        if count > 0:
            self.streams[session] = count
        else:
            self.streams.pop(session, None)

    def finished(self, watch: Watch, ms: float) -> None:
        if watch.era == "modern":
            self.in_flight_modern -= 1
        entry = {
            "at": time.time(),
            "method": watch.method,
            "tool": watch.tool,
            "era": watch.era,
            "session": watch.session,
            "ms": round(ms, 2),
            "outcome": watch.outcome,
            "http": watch.http,
        }
        self.recent.append(entry)
        if watch.tool is None:
            return
        samples = self.tools.get(watch.tool)
        if samples is None:
            if len(self.tools) >= MAX_TOOLS:
                return
            samples = self.tools[watch.tool] = deque(maxlen=MAX_SAMPLES)
            self.tool_counts[watch.tool] = [0, 0]
        samples.append(ms)
        counts = self.tool_counts[watch.tool]
        counts[0] += 1
        counts[1] += watch.outcome != "ok"

    def tool_latency(self) -> list[dict[str, Any]]:
        out = []
        for tool, samples in self.tools.items():
            ordered = sorted(samples)
            calls, failures = self.tool_counts[tool]
            out.append(
                {
                    "tool": tool,
                    "calls": calls,
                    "failures": failures,
                    "p50": round(ordered[len(ordered) // 2], 2),
                    "p95": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 2),
                    "max": round(ordered[-1], 2),
                }
            )
        return sorted(out, key=lambda row: -row["p95"])

    def task_states(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for state in self.tasks.values():
            counts[state] = counts.get(state, 0) + 1
        return counts


async def snapshot(
    collector: StatusCollector, sessions: SessionStore, live: Iterable[str], log: EventLog
) -> dict[str, Any]:
    """What the page shows, as one JSON document (``/mcp/status.json``): the sessions this worker
    holds live (``live``: their ids), read from their records (wall clock, busy over all workers)."""
    now = time.time()
    rows = []
    for session_id in list(live)[:MAX_SESSION_ROWS]:
        record = await sessions.get(session_id)
        if record is None:
            continue
        info = collector.clients.get(record.id) or {}
        rows.append(
            {
                "id": record.id,
                "era": "legacy",
                "version": record.version,
                "client": info.get("clientInfo") or dict(record.client_info) or None,
                "age": round(now - record.created, 1),
                "idle": round(now - record.last_active, 1),
                "inFlight": record.busy,
                "streams": collector.streams.get(record.id, 0),
            }
        )
    modern = [
        {"client": {k: v for k, v in info.items() if k != "seen"}, "lastSeen": round(now - info["seen"], 1)}
        for key, info in reversed(collector.clients.items())
        if key.startswith("modern:")
    ][:MAX_SESSION_ROWS]
    events: dict[str, Any] = {"streams": len(log) if isinstance(log, MemoryEventLog) else None}
    if isinstance(log, MemoryEventLog):
        events.update(bytes=log.total_bytes, maxBytes=log.max_total_bytes, maxAge=log.max_age)
    return {
        "uptime": round(now - collector.started, 1),
        "sessions": rows,
        "sessionCount": await sessions.count(),
        "modernClients": modern,
        "modernInFlight": collector.in_flight_modern,
        "recent": list(reversed(collector.recent)),
        "eventLog": events,
        "tasks": collector.task_states(),
        "tools": collector.tool_latency(),
        "bounds": {"recent": MAX_RECENT, "tools": MAX_TOOLS, "samples": MAX_SAMPLES, "tasks": MAX_TASKS},
    }
