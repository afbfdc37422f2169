"""What a server scenario gets to work with: the target, the options, a way to record checks, and
helpers for the two HTTP eras (a legacy session, a modern request envelope)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from .http import ACCEPT_BOTH, LEGACY_VERSION, MODERN_VERSION, Reply, Stream, next_id, send
from .model import CheckResult, HandshakeFailed, Level, Rule, Status, Unsupported

__all__ = ["Context", "LegacySession", "Options", "body", "modern_headers", "modern_params"]

# Tools that stream progress for a while, in the order we look for them: ours, then the
# official conformance fixture. (name, arguments)
STREAM_TOOL_CANDIDATES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("sleep", {"seconds": 1.0}),
    ("test_tool_with_progress", {}),
)


@dataclass(slots=True)
class Options:
    timeout: float = 10.0  # seconds to wait for any one reply
    keepalive_wait: float = 20.0  # seconds to wait for a keepalive comment on an idle stream
    stream_tool: str | None = None  # a tool that sends progress over time; None = look for one
    stream_tool_args: dict[str, Any] | None = None
    task_tool: str | None = None  # a tool the server runs as a task; None = look for one
    task_tool_args: dict[str, Any] | None = None
    body_limit_bytes: int = 5 * 1024 * 1024
    stdio_command: str | None = None
    bearer: str | None = None  # an access token sent on every request (a protected server)
    bearer_other_audience: str | None = None  # a valid token for another resource: must get 401
    scoped_tool: str | None = None  # a tool the bearer token lacks a scope for: must get 403


@dataclass(slots=True)
class LegacySession:
    """A legacy (initialize-based) session: its id (None for a stateless server) and version."""

    id: str | None
    version: str
    init_reply: Reply
    initialized_reply: Reply

    def headers(self, **extra: str) -> dict[str, str]:
        headers = {
            "Accept": ACCEPT_BOTH,
            "Content-Type": "application/json",
            "MCP-Protocol-Version": self.version,
        }
        if self.id is not None:
            headers["Mcp-Session-Id"] = self.id
        headers.update(extra)
        return headers


def body(method: str, params: dict[str, Any] | None = None, request_id: Any = None) -> bytes:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if request_id is not None:
        message["id"] = request_id
    if params is not None:
        message["params"] = params
    return json.dumps(message).encode()


def modern_params(
    params: dict[str, Any] | None = None,
    version: str = MODERN_VERSION,
    capabilities: dict[str, Any] | None = None,
) -> dict[str, Any]:
    out = dict(params or {})
    meta = dict(out.get("_meta") or {})
    meta["io.modelcontextprotocol/protocolVersion"] = version
    meta["io.modelcontextprotocol/clientCapabilities"] = capabilities or {}
    meta["io.modelcontextprotocol/clientInfo"] = {"name": "mcp-transport-conformance", "version": "0.1"}
    out["_meta"] = meta
    return out


def sample_arguments(schema: dict[str, Any]) -> dict[str, Any]:
    """Plausible arguments for a tool: a value of the schema's type for every required
    property (the official suite's fixtures accept these too)."""
    props = schema.get("properties")
    samples = {"string": "us-west1", "integer": 1, "number": 1.5, "boolean": True, "object": {}, "array": []}
    args: dict[str, Any] = {}
    for name in schema.get("required") or []:
        prop = props.get(name) if isinstance(props, dict) else None
        kind = prop.get("type") if isinstance(prop, dict) else None
        args[name] = samples.get(kind, "x") if isinstance(kind, str) else "x"
    return args


def modern_headers(method: str, name: str | None = None, version: str = MODERN_VERSION) -> dict[str, str]:
    headers = {
        "Accept": ACCEPT_BOTH,
        "Content-Type": "application/json",
        "MCP-Protocol-Version": version,
        "Mcp-Method": method,
    }
    if name is not None:
        headers["Mcp-Name"] = name
    return headers


@dataclass
class Context:
    url: str
    options: Options
    http: httpx.AsyncClient
    scenario: str = ""
    era: str = (
        "both"  # what the user asked for: a modern scenario fails (not skips) a legacy server under "modern"
    )
    record: Callable[[CheckResult], None] = lambda result: None
    judged: set[str] = field(default_factory=set)
    _stream_tool: tuple[str, dict[str, Any]] | None = None
    _started: float = field(default_factory=time.monotonic)

    # -- recording -------------------------------------------------------------------------
    def check(
        self,
        rule: Rule,
        ok: bool,
        *,
        sent: str | None = None,
        got: str | None = None,
        expected: str | None = None,
        message: str = "",
    ) -> bool:
        """Judge ``rule``: PASS when ok, else FAIL (MUST) or WARN (SHOULD/MAY)."""
        status = Status.PASS if ok else (Status.FAIL if rule.level is Level.MUST else Status.WARN)
        self._emit(CheckResult(self.scenario, rule, status, message, sent, got, expected))
        return ok

    def skip(self, rule: Rule, reason: str) -> None:
        self._emit(CheckResult(self.scenario, rule, Status.SKIP, reason))

    def _emit(self, result: CheckResult) -> None:
        if result.rule.id in self.judged:
            return  # first verdict wins
        now = time.monotonic()
        result.duration, self._started = now - self._started, now
        self.judged.add(result.rule.id)
        self.record(result)

    # -- plain HTTP ------------------------------------------------------------------------
    @property
    def origin(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def is_loopback(self) -> bool:
        host = urlsplit(self.url).hostname or ""
        return host in ("localhost", "::1") or host.startswith("127.")

    async def post(
        self, payload: bytes, headers: dict[str, str], until_id: Any = None, timeout: float | None = None
    ) -> Reply:
        return await send(
            self.http,
            "POST",
            self.url,
            headers=headers,
            body=payload,
            timeout=timeout or self.options.timeout,
            until_id=until_id,
        )

    async def request(
        self, method: str, headers: dict[str, str], *, body: bytes | None = None, timeout: float | None = None
    ) -> Reply:
        return await send(
            self.http, method, self.url, headers=headers, body=body, timeout=timeout or self.options.timeout
        )

    def stream(self, method: str, headers: dict[str, str], payload: bytes | None = None) -> Stream:
        return Stream(self.http, method, self.url, headers=headers, body=payload)

    # -- the handshake ---------------------------------------------------------------------
    async def handshake(self) -> None:
        """Raise HandshakeFailed unless the target completes an MCP handshake in one era or the
        other: initialize (2025-11-25 basic/lifecycle §Initialization) or server/discover
        (2026-07-28 server/discover). Which era each scenario needs is its own business:
        a server that speaks only one era still gets the other era's checks skipped."""
        problems = []
        for attempt in (self.open_session, self.require_modern):
            try:
                await attempt()
                return
            except (httpx.HTTPError, OSError) as exc:
                raise HandshakeFailed(f"cannot reach {self.url}: {type(exc).__name__}: {exc}") from None
            except Unsupported as exc:
                problems.append(str(exc))
            except Exception as exc:  # a reply that is not even JSON-RPC
                problems.append(f"{type(exc).__name__}: {exc}")
        raise HandshakeFailed("the target completed no MCP handshake: " + "; ".join(problems))

    # -- legacy era ------------------------------------------------------------------------
    async def open_session(self, version: str = LEGACY_VERSION, **headers: str) -> LegacySession:
        """initialize + notifications/initialized. Raises Unsupported when initialize fails."""
        rid = next_id()
        params = {
            "protocolVersion": version,
            "capabilities": {},
            "clientInfo": {"name": "mcp-transport-conformance", "version": "0.1"},
        }
        init_headers = {"Accept": ACCEPT_BOTH, "Content-Type": "application/json", **headers}
        reply = await self.post(body("initialize", params, rid), init_headers, until_id=rid)
        result = (reply.response(rid) or {}).get("result")
        if reply.status != 200 or not isinstance(result, dict):
            raise Unsupported(f"initialize failed: sent {reply.sent}; got {reply.summary()}")
        announced = result.get("protocolVersion")
        negotiated = announced if isinstance(announced, str) else version
        session_id = reply.headers.get("mcp-session-id")
        session = LegacySession(session_id, negotiated, reply, reply)
        session.initialized_reply = await self.post(body("notifications/initialized"), session.headers())
        return session

    async def call(
        self,
        session: LegacySession,
        method: str,
        params: dict[str, Any] | None = None,
        timeout: float | None = None,
        **headers: str,
    ) -> tuple[Reply, int]:
        rid = next_id()
        reply = await self.post(
            body(method, params, rid), session.headers(**headers), until_id=rid, timeout=timeout
        )
        return reply, rid

    async def stream_tool(self, session: LegacySession) -> tuple[str, dict[str, Any]]:
        """The tool used for streaming checks: the --stream-tool option, else the first known
        candidate the server lists. Raises Unsupported when there is none."""
        if self.options.stream_tool:
            return self.options.stream_tool, dict(self.options.stream_tool_args or {})
        if self._stream_tool is None:
            names = await self.tool_names(session)
            for name, args in STREAM_TOOL_CANDIDATES:
                if name in names:
                    self._stream_tool = (name, args)
                    break
            else:
                raise Unsupported(
                    "no progress-streaming tool (pass --stream-tool NAME --stream-tool-args JSON; "
                    f"looked for {', '.join(n for n, _ in STREAM_TOOL_CANDIDATES)})"
                )
        return self._stream_tool[0], dict(self._stream_tool[1])

    async def tool_names(self, session: LegacySession) -> set[str]:
        reply, rid = await self.call(session, "tools/list", {})
        tools = ((reply.response(rid) or {}).get("result") or {}).get("tools") or []
        return {t["name"] for t in tools if isinstance(t, dict) and isinstance(t.get("name"), str)}

    def stream_tool_call(
        self, session: LegacySession, name: str, args: dict[str, Any], token: str
    ) -> tuple[Stream, int]:
        rid = next_id()
        params = {"name": name, "arguments": args, "_meta": {"progressToken": token}}
        return self.stream("POST", session.headers(), body("tools/call", params, rid)), rid

    # -- modern era ------------------------------------------------------------------------
    async def modern(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        name: str | None = None,
        headers: dict[str, str] | None = None,
        raw_params: bool = False,
        timeout: float | None = None,
    ) -> tuple[Reply, int]:
        """A 2026-07-28 request: envelope in ``params._meta`` (unless raw_params) and the mirrored
        headers (``headers`` overrides or, with a None value, removes them)."""
        rid = next_id()
        full = params if raw_params else modern_params(params)
        hdrs = modern_headers(method, name)
        for key, value in (headers or {}).items():
            hdrs = {k: v for k, v in hdrs.items() if k.lower() != key.lower()}
            if value is not None:
                hdrs[key] = value
        reply = await self.post(body(method, full, rid), hdrs, until_id=rid, timeout=timeout)
        return reply, rid

    async def require_modern(self) -> dict[str, Any]:
        """The server/discover result; raises Unsupported when the server does not speak 2026-07-28."""
        reply, rid = await self.modern("server/discover")
        result = (reply.response(rid) or {}).get("result")
        versions = result.get("supportedVersions") if isinstance(result, dict) else None
        if (
            reply.status != 200
            or not isinstance(result, dict)
            or not isinstance(versions, list)
            or MODERN_VERSION not in versions
        ):
            raise Unsupported(
                f"server does not speak {MODERN_VERSION}: server/discover got {reply.summary()}"
            )
        return result
