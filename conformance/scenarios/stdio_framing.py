"""stdio framing: one JSON-RPC message per line, nothing else on stdout, a malformed line answered
with -32700 (null id, a SHOULD) while the server keeps going, an unknown method -32601, and a prompt
exit when stdin closes. 2025-11-25 basic/transports §stdio, 2026-07-28 basic/transports/stdio
§Shutdown; JSON-RPC 2.0 §5."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shlex
import time
from typing import Any

from ..context import Context
from ..http import LEGACY_VERSION, MODERN_VERSION, next_id, short
from ..model import HandshakeFailed, Level, Rule, Scenario, Unsupported

__all__ = ["SCENARIO"]

STDIO = "basic/transports §stdio"
EXIT_WAIT = 5.0
STDERR_TAIL = 400  # characters of a failed server's stderr shown in the error

PARSE_ERROR = Rule(
    "stdio-malformed-line-32700",
    Level.SHOULD,
    "2025-11-25",
    "basic/index §Messages; JSON-RPC 2.0 §5, §5.1",
    "A line that is not JSON SHOULD be answered with a -32700 Parse error whose id is "
    "null. SHOULD, not MUST, like its HTTP twin: the stdio transport sets no rule for "
    "malformed lines, and the TypeScript and Python SDK servers drop them.",
)
KEEPS_GOING = Rule(
    "stdio-survives-malformed-line",
    Level.MUST,
    "2025-11-25",
    "basic/index §Requests, §Responses; JSON-RPC 2.0 §5",
    "After a malformed line the server MUST go on answering requests (every request gets a response).",
)
ONE_PER_LINE = Rule(
    "stdio-no-embedded-newlines",
    Level.MUST,
    "2025-11-25",
    STDIO,
    "Messages are newline-delimited and MUST NOT contain embedded newlines: each stdout line is one "
    "complete JSON-RPC message.",
)
ONLY_MCP = Rule(
    "stdio-stdout-only-mcp",
    Level.MUST,
    "2025-11-25",
    STDIO,
    "The server MUST NOT write anything to stdout that is not a valid MCP message (logs go to stderr).",
)
UNKNOWN = Rule(
    "stdio-unknown-method-32601",
    Level.MUST,
    "2025-11-25",
    "basic/index §Error Responses; JSON-RPC 2.0 §5.1",
    "An unknown method MUST get a -32601 error carrying the request's id.",
)
NO_REPLY = Rule(
    "stdio-notification-not-answered",
    Level.MUST,
    "2025-11-25",
    "basic/index §Notifications",
    "The receiver MUST NOT reply to a notification: every response on stdout answers a request we sent.",
)
EXIT_ON_EOF = Rule(
    "stdio-exits-on-stdin-eof",
    Level.SHOULD,
    "2026-07-28",
    "basic/transports/stdio §Shutdown",
    "Servers SHOULD exit promptly when stdin is closed (the only portable graceful signal).",
)


class _Proc:
    def __init__(self, command: str) -> None:
        self.command = command
        self.lines: list[str] = []
        self.messages: asyncio.Queue[Any] = asyncio.Queue()
        self.stderr = b""
        self.proc: asyncio.subprocess.Process | None = None
        self.stdout_closed = asyncio.Event()  # no more replies can come: stop waiting for them

    async def start(self) -> None:
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *shlex.split(self.command),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                limit=64 * 1024 * 1024,
            )
        except OSError as exc:
            raise HandshakeFailed(f"cannot start {self.command!r}: {exc}") from None
        self._tasks = [asyncio.create_task(self._read_stdout()), asyncio.create_task(self._read_stderr())]

    async def _read_stdout(self) -> None:
        assert self.proc and self.proc.stdout
        try:
            while line := await self.proc.stdout.readline():
                text = line.decode("utf-8", "replace").rstrip("\r\n")
                self.lines.append(text)
                with contextlib.suppress(ValueError):
                    await self.messages.put(json.loads(text))
        finally:
            self.stdout_closed.set()

    async def _read_stderr(self) -> None:
        assert self.proc and self.proc.stderr
        while chunk := await self.proc.stderr.read(65536):
            self.stderr += chunk

    async def write(self, raw: bytes) -> None:
        assert self.proc and self.proc.stdin
        try:
            self.proc.stdin.write(raw + b"\n")
            await self.proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server has exited; the checks see no replies

    async def request(self, method: str, params: Any, timeout: float) -> tuple[dict | None, int]:
        rid = next_id()
        message = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            message["params"] = params
        await self.write(json.dumps(message).encode())
        return await self.wait_for(lambda m: m.get("id") == rid, timeout), rid

    async def wait_for(self, predicate: Any, timeout: float) -> dict | None:
        """The next message matching ``predicate``; None after ``timeout`` or once stdout is closed
        and drained (a server that exited answers nothing more: no point waiting)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self.messages.empty() and self.stdout_closed.is_set():
                return None
            getter = asyncio.ensure_future(self.messages.get())
            closed = asyncio.ensure_future(self.stdout_closed.wait())
            await asyncio.wait(
                (getter, closed),
                timeout=max(0.0, deadline - loop.time()),
                return_when=asyncio.FIRST_COMPLETED,
            )
            closed.cancel()
            if not getter.done():
                getter.cancel()  # safe: Queue.get takes the item only when it resumes
                if not self.stdout_closed.is_set():
                    return None  # timed out
                continue
            message = getter.result()
            if isinstance(message, dict) and predicate(message):
                return message

    def exit_note(self) -> str:
        """Why a server may not be answering: its exit status and the tail of its stderr."""
        status = self.proc.returncode if self.proc else None
        exited = "still running" if status is None else f"exited with status {status}"
        tail = self.stderr.decode("utf-8", "replace").strip()[-STDERR_TAIL:]  # the error is at the end
        return f"the process {exited}; stderr: {tail or '(empty)'}"

    async def stop(self) -> float | None:
        """Close stdin; seconds until exit, or None if it had to be killed."""
        assert self.proc and self.proc.stdin
        started = time.monotonic()
        try:
            self.proc.stdin.close()
            await asyncio.wait_for(self.proc.wait(), EXIT_WAIT)
            await asyncio.sleep(0.05)  # let the readers take the last lines
            return time.monotonic() - started
        except (TimeoutError, OSError):
            self.proc.kill()
            await self.proc.wait()
            return None
        finally:
            for task in self._tasks:
                task.cancel()


async def run(ctx: Context) -> None:
    command = ctx.options.stdio_command or ctx.url
    proc = _Proc(command)
    await proc.start()
    sent_ids: set[Any] = set()
    stopped: Exception | None = None
    try:
        await _exercise(ctx, proc, sent_ids)
    except (Unsupported, HandshakeFailed) as exc:
        stopped = exc
    finally:
        elapsed = await proc.stop()
    if proc.lines:  # judged whatever happened: broken framing is often why nothing else worked
        _judge_framing(ctx, proc)
    if stopped is not None:
        raise stopped
    ctx.check(
        EXIT_ON_EOF,
        elapsed is not None,
        sent="closed stdin",
        got=f"still running after {EXIT_WAIT:g} s",
        expected="the process exits",
    )
    _judge_replies(ctx, proc, sent_ids)


async def _exercise(ctx: Context, proc: _Proc, sent_ids: set[Any]) -> None:
    timeout = ctx.options.timeout
    params = {
        "protocolVersion": LEGACY_VERSION,
        "capabilities": {},
        "clientInfo": {"name": "mcp-transport-conformance", "version": "0.1"},
    }
    init, rid = await proc.request("initialize", params, timeout)
    sent_ids.add(rid)
    legacy = isinstance(init, dict) and "result" in init
    if init is None:  # no handshake, nothing to judge (2025-11-25 basic/lifecycle §Initialization)
        await asyncio.sleep(0.05)  # let the stderr reader take the last of it
        raise HandshakeFailed(f"no reply to initialize (waited up to {timeout:g} s): {proc.exit_note()}")
    probe: tuple[str, Any] = ("ping", None)
    if legacy:
        await proc.write(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}')
    else:
        meta = {
            "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
            "io.modelcontextprotocol/clientCapabilities": {},
        }
        probe = ("server/discover", {"_meta": meta})

    await proc.write(b'{"jsonrpc": "2.0", "id": 1, "method": ')
    error = await proc.wait_for(lambda m: "error" in m and m.get("id") is None, timeout)
    ok = error is not None and error["error"].get("code") == -32700
    ctx.check(
        PARSE_ERROR,
        ok,
        sent='the line {"jsonrpc": "2.0", "id": 1, "method": ',
        got=short(error) if error else f"no id-null error within {timeout:g} s",
        expected='{"id": null, "error": {"code": -32700}}',
    )

    reply, rid = await proc.request(*probe, timeout)
    sent_ids.add(rid)
    ctx.check(
        KEEPS_GOING,
        reply is not None and "result" in reply,
        sent=f"{probe[0]} after the malformed line",
        got=short(reply) if reply else f"no reply within {timeout:g} s",
        expected=f"the {probe[0]} result",
    )

    unknown_params = probe[1] if not legacy else {}
    reply, rid = await proc.request("conformance/no-such-method", unknown_params, timeout)
    sent_ids.add(rid)
    ok = reply is not None and (reply.get("error") or {}).get("code") == -32601
    ctx.check(
        UNKNOWN,
        ok,
        sent="conformance/no-such-method",
        got=short(reply) if reply else "no reply",
        expected=f'{{"id": {rid}, "error": {{"code": -32601}}}}',
    )

    await proc.write(
        b'{"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "nope"}}'
    )
    reply, rid = await proc.request(
        *probe, timeout
    )  # a fence: whatever the notification caused is out by now
    sent_ids.add(rid)


def _judge_framing(ctx: Context, proc: _Proc) -> None:
    broken: list[str] = []
    foreign: list[str] = []
    for line in proc.lines:
        try:
            message = json.loads(line)
            if not (isinstance(message, dict) and message.get("jsonrpc") == "2.0"):
                foreign.append(line)
        except ValueError:
            (broken if line.lstrip().startswith(("{", "[", '"', "}", "]")) else foreign).append(line)
    ctx.check(
        ONE_PER_LINE,
        not broken,
        sent=proc.command,
        got=f"lines that are part of a message: {broken[:3]}",
        expected="one complete JSON-RPC message per line",
    )
    ctx.check(
        ONLY_MCP,
        not foreign,
        sent=proc.command,
        got=f"non-MCP stdout lines: {[short(x, 120) for x in foreign[:3]]}",
        expected="only JSON-RPC messages on stdout",
    )


def _judge_replies(ctx: Context, proc: _Proc, sent_ids: set[Any]) -> None:
    answers = []
    for line in proc.lines:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if not isinstance(message, dict) or not ("result" in message or "error" in message):
            continue
        parse_error = (message.get("error") or {}).get("code") == -32700
        if not parse_error and message.get("id") is not None and message.get("id") not in sent_ids:
            answers.append(message)
    ctx.check(
        NO_REPLY,
        not answers,
        sent="notifications/initialized, notifications/cancelled",
        got=f"responses to nothing we sent: {answers[:3]}",
        expected="no reply to notifications",
    )


SCENARIO = Scenario(
    "stdio-framing",
    "any",
    "stdio",
    "malformed line -32700 and keep going, one message per line, stdout only MCP, exit on EOF",
    (PARSE_ERROR, KEEPS_GOING, UNKNOWN, NO_REPLY, ONE_PER_LINE, ONLY_MCP, EXIT_ON_EOF),
    run,
)
