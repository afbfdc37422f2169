"""``mcp-transport replay FILE --against URL | --against-stdio "CMD"``: send a recording's client
side to a server and report, message by message, where its answers differ (docs/recording.md).

Order: client messages go out in the recorded order, with their recorded ids. A message waits
for every answer (and every server request) the recording shows before it, at most
``--timeout`` seconds each, so a reply to an elicitation goes out after the server asked; with
``--speed F`` it also keeps the recorded delays divided by F (0, the default: no delays).

Matching: an answer is matched by the id it answers (over HTTP in its exchange, on stdio by its
turn among the answers to that id); any other server message by its place in the HTTP exchange
(the POST it came on) or, on stdio, in the order of such messages. Messages
on a GET stream are not compared (their timing is the server's own). Exit status: 0 every
answer matches, 1 a difference, 2 usage (the file, the options), 3 the target is unreachable.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Hashable
from typing import Any

__all__ = ["add_replay"]

EXIT_MATCH, EXIT_DIFFERENT, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
_DROPPED_HEADERS = frozenset({"host", "content-length", "mcp-session-id", "accept-encoding", "connection"})
Key = tuple[Hashable, ...]


def add_replay(commands: Any) -> None:
    replay = commands.add_parser(
        "replay",
        help="replay a recording against a server and report where its answers differ",
        description="Send the client side of FILE to a server; exit 0 when the answers match the "
        "recording, 1 on a difference, 2 on usage errors, 3 when the target is unreachable.",
    )
    replay.add_argument("file", help="a recording written by 'mcp-transport record' or Client(record=...)")
    target = replay.add_mutually_exclusive_group()
    target.add_argument("--against", metavar="URL", help="a Streamable HTTP endpoint")
    target.add_argument("--against-stdio", metavar="CMD", help="a stdio server command")
    replay.add_argument(
        "--speed", type=float, default=0.0, help="keep the recorded delays divided by this (0: none)"
    )
    replay.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each answer")
    replay.add_argument(
        "--ignore", action="append", default=[], metavar="FIELD", help="another volatile field name"
    )
    replay.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from ..recording import FormatError, read_recording
    from ._target import Usage, parse_url, split_command

    try:
        if not (args.against or args.against_stdio):
            raise Usage('give the server to replay against: --against URL or --against-stdio "CMD"')
        if args.speed < 0 or args.timeout <= 0:
            raise Usage("--speed must be 0 or more and --timeout more than 0")
        header, lines = read_recording(args.file)
        if args.against_stdio:
            _check_one_session(lines)
        target: Target = (
            HTTPTarget(parse_url(args.against))
            if args.against
            else StdioTarget(split_command(args.against_stdio))
        )
    except (Usage, FormatError) as exc:
        print(f"mcp-transport replay: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    import anyio

    volatile = frozenset([*header.get("volatile", ()), *args.ignore])
    replay = Replay(lines, target, volatile, speed=args.speed, timeout=args.timeout)
    return anyio.run(replay.run)


def _check_one_session(lines: list[dict[str, Any]]) -> None:
    """One stdio pipe is one session: a recording of several HTTP sessions replays over HTTP."""
    from ._target import Usage

    sessions = {line["session"] for line in lines if line.get("session")}
    if len(sessions) > 1:
        raise Usage(
            f"the recording holds {len(sessions)} HTTP sessions and a stdio server is one: "
            "replay it with --against URL"
        )


def _answer_key(message: Any, exchange: int | None) -> Key | None:
    """Ids are unique per session, not per recording: over HTTP an answer is also keyed by the
    exchange (the POST) it came on."""
    if isinstance(message, dict) and "method" not in message and ("result" in message or "error" in message):
        return ("answer", exchange, repr(message.get("id")))
    return None


class Keys:
    """Gives each server message its matching key, the same way for the recording and the run.

    ``stdio``: the run has no HTTP exchanges (an HTTP recording replayed on a pipe), so an
    answer is keyed by its turn among the answers to its id (ids may repeat in a recording:
    each client numbers its own), and other messages by their order on the pipe."""

    def __init__(self, *, stdio: bool = False) -> None:
        self._counts: dict[Hashable, int] = {}
        self._stdio = stdio

    def key(self, message: Any, exchange: int | None) -> Key:
        if self._stdio:
            exchange = None
        answer = _answer_key(message, exchange)
        if answer is not None:
            if not self._stdio:
                return answer
            turn = self._counts.get(answer, 0)
            self._counts[answer] = turn + 1
            return ("answer", turn, answer[2])
        group: Hashable = exchange if exchange is not None else "stdio"
        if message is None:
            return ("status", group)
        index = self._counts.get(group, 0)
        self._counts[group] = index + 1
        return ("message", group, index)


def _awaited(key: Key, message: Any) -> bool:
    """What a later client message waits for: answers and server requests."""
    return key[0] == "answer" or (isinstance(message, dict) and "method" in message and "id" in message)


class Target:
    """Where the run's server messages arrive: ``seen`` maps each key to (message, status)."""

    def __init__(self) -> None:
        import anyio

        self.seen: dict[Key, tuple[Any, int | None]] = {}
        self.keys = Keys()
        self.changed = anyio.Event()
        self.unreachable: str | None = None
        self.busy = 0  # exchanges still running (HTTP)
        self.on_arrival: Callable[[Key, Any], None] = lambda key, message: None

    def arrived(self, message: Any, exchange: int | None, status: int | None = None) -> None:
        key = self.keys.key(message, exchange)
        if key not in self.seen:
            self.seen[key] = (message, status)
            self.on_arrival(key, message)
        self.notify()

    def notify(self) -> None:
        """Wake the waiters (each waits on a fresh event afterwards)."""
        import anyio

        self.changed.set()
        self.changed = anyio.Event()

    async def start(self, task_group: Any) -> None: ...

    async def send(self, line: dict[str, Any], task_group: Any) -> None: ...

    async def aclose(self) -> None: ...


class StdioTarget(Target):
    def __init__(self, command: list[str]) -> None:
        super().__init__()
        self.keys = Keys(stdio=True)
        self.command = command
        self._process: Any = None

    async def start(self, task_group: Any) -> None:
        import subprocess

        import anyio

        try:
            self._process = await anyio.open_process(self.command, stderr=subprocess.DEVNULL)
        except OSError as exc:
            self.unreachable = f"cannot run {self.command[0]!r}: {exc.strerror}"
            return
        task_group.start_soon(self._read)

    async def _read(self) -> None:
        import anyio
        import orjson

        from ..transports.stdio.framing import LineBuffer

        buffer = LineBuffer()
        try:
            async for chunk in self._process.stdout:
                for line in buffer.feed(chunk):
                    if not isinstance(line, bytes):  # over the line bound: dropped by the buffer
                        self.arrived({"truncated": True}, None)
                        continue
                    try:
                        self.arrived(orjson.loads(line), None)
                    except orjson.JSONDecodeError:
                        self.arrived({"unparsed": line[:200].decode("utf-8", "replace")}, None)
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass

    async def send(self, line: dict[str, Any], task_group: Any) -> None:
        import anyio
        import orjson

        if self._process is None or line["message"] is None:
            return
        try:
            await self._process.stdin.send(orjson.dumps(line["message"]) + b"\n")
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            if not self.seen:
                self.unreachable = f"{self.command[0]!r} exited before it answered"

    async def aclose(self) -> None:
        import anyio

        if self._process is None:
            return
        await self._process.stdin.aclose()
        with anyio.move_on_after(2):
            await self._process.wait()
        if self._process.returncode is None:
            self._process.kill()
        await self._process.aclose()


class HTTPTarget(Target):
    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self._client: Any = None
        self._sessions: dict[str, str] = {}  # recorded session id -> this run's
        self._latest: str | None = None  # the last session id the server gave
        self._version: str | None = None  # negotiated by initialize (legacy protocol version header)

    async def start(self, task_group: Any) -> None:
        import httpx

        self._client = httpx.AsyncClient(timeout=httpx.Timeout(30.0, read=None))

    async def send(self, line: dict[str, Any], task_group: Any) -> None:
        if line.get("http", "POST") == "GET":
            return  # GET streams carry the server's own timing: not replayed
        self.busy += 1
        task_group.start_soon(self._exchange, line)

    async def _exchange(self, line: dict[str, Any]) -> None:
        import httpx
        import orjson

        from ..transports.http_client.sse_parser import SSEParser

        exchange = line.get("exchange")
        headers = self._headers(line)
        body = orjson.dumps(line["message"]) if line["message"] is not None else b""
        try:
            request = self._client.build_request(
                line.get("http", "POST"), self.url, headers=headers, content=body
            )
            response = await self._client.send(request, stream=True)
            try:
                self._learn_session(line, response.headers.get("mcp-session-id"))
                status, got = response.status_code, False
                if response.headers.get("content-type", "").startswith("text/event-stream"):
                    parser = SSEParser()
                    async for chunk in response.aiter_bytes():
                        for event in parser.feed(chunk):
                            if event.data:
                                self.arrived(orjson.loads(event.data), exchange, status)
                                got = True
                else:
                    data = await response.aread()
                    if data.strip():
                        self._learn_version(answer := orjson.loads(data))
                        self.arrived(answer, exchange, status)
                        got = True
                if not got:
                    self.arrived(None, exchange, status)
            finally:
                await response.aclose()
        except httpx.ConnectError as exc:
            self.unreachable = f"cannot connect to {self.url}: {exc}"
        except (httpx.HTTPError, orjson.JSONDecodeError) as exc:
            self.arrived({"transport-error": str(exc)}, exchange)
        finally:
            self.busy -= 1
            self.notify()

    def _headers(self, line: dict[str, Any]) -> dict[str, str]:
        """The recorded headers (secrets left out, the session id mapped to this run's); a line
        recorded by a Client has none: the defaults and the 2026-07-28 metadata headers."""
        from ..recording import REDACTED
        from ..transports.http.headers import request_headers

        recorded = line.get("headers")
        if recorded is not None:
            headers = {k: v for k, v in recorded.items() if k not in _DROPPED_HEADERS and v != REDACTED}
        else:
            headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
            message = line["message"]
            if isinstance(message, dict) and isinstance(message.get("method"), str):
                params = message.get("params")
                headers.update(
                    request_headers(message["method"], params if isinstance(params, dict) else None)
                )
            if self._version is not None and line.get("era") != "modern":
                headers.setdefault("MCP-Protocol-Version", self._version)
        session = line.get("session")
        if session is not None and self._latest is not None:
            headers["mcp-session-id"] = self._sessions.get(session, self._latest)
        elif session is not None:
            headers["mcp-session-id"] = session
        return headers

    def _learn_session(self, line: dict[str, Any], new: str | None) -> None:
        recorded = line.get("answer_session")
        if new is not None:
            self._latest = new
            if recorded is not None:
                self._sessions[recorded] = new

    def _learn_version(self, answer: Any) -> None:
        result = answer.get("result") if isinstance(answer, dict) else None
        if isinstance(result, dict) and isinstance(result.get("protocolVersion"), str):
            self._version = result["protocolVersion"]

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()


class Replay:
    def __init__(
        self,
        lines: list[dict[str, Any]],
        target: Target,
        volatile: frozenset[str],
        *,
        speed: float,
        timeout: float,
    ) -> None:
        self.target = target
        target.on_arrival = self._learn_volatile
        # a volatile value the server gave (requestState, taskId, cursor...) -> this run's value,
        # substituted into the client messages that echo it
        self.substitutes: dict[str, Any] = {}
        self.volatile = volatile
        self.speed = speed
        self.timeout = timeout
        self.expected: dict[Key, tuple[Any, int | None, int]] = {}  # key -> message, status, line number
        self.plan: list[tuple[dict[str, Any], list[Key]]] = []  # client lines, keys awaited before each
        self._index(lines)

    def _index(self, lines: list[dict[str, Any]]) -> None:
        stdio = isinstance(self.target, StdioTarget)
        keys, awaited = Keys(stdio=stdio), list[Key]()
        get_exchanges = {
            line.get("exchange") for line in lines if line["dir"] == "c2s" and line.get("http") == "GET"
        }
        answer_sessions = {
            line.get("exchange"): line["session"]
            for line in lines
            if line["dir"] == "s2c" and line.get("session")
        }
        for number, line in enumerate(lines, 2):  # line 1 is the header
            exchange = line.get("exchange")
            if line["dir"] == "c2s":
                line = {**line, "answer_session": answer_sessions.get(exchange)}
                self.plan.append((line, list(awaited)))
            elif line["message"] is None and stdio:
                continue  # an HTTP status without a message (202, 204): a pipe has none
            elif exchange not in get_exchanges or exchange is None:
                key = keys.key(line["message"], exchange)
                self.expected.setdefault(key, (line["message"], line.get("status"), number))
                if _awaited(key, line["message"]):
                    awaited.append(key)

    async def run(self) -> int:
        import anyio

        async with anyio.create_task_group() as tg:
            await self.target.start(tg)
            started = time.monotonic()
            for line, awaited in self.plan:
                if self.target.unreachable:
                    break
                await self._wait_for(awaited)
                if self.speed > 0:
                    await anyio.sleep(max(0.0, started + line["t"] / self.speed - time.monotonic()))
                await self.target.send({**line, "message": self._substitute(line["message"])}, tg)
            if not self.target.unreachable:
                # a missing message costs one --timeout
                await self._wait_for(list(self.expected), idle=True)
            tg.cancel_scope.cancel()  # exchanges still waiting for an answer end here
        await self.target.aclose()
        if self.target.unreachable:
            print(f"mcp-transport replay: error: {self.target.unreachable}", file=sys.stderr)
            return EXIT_UNREACHABLE
        return self._report()

    def _learn_volatile(self, key: Key, message: Any) -> None:
        expected = self.expected.get(key)
        if expected is not None:
            _pair_volatile(expected[0], message, self.volatile, self.substitutes)

    def _substitute(self, value: Any, key: str | None = None) -> Any:
        if isinstance(value, dict):
            return {k: self._substitute(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self._substitute(v, key) for v in value]
        if key in self.volatile and isinstance(value, str):
            return self.substitutes.get(value, value)
        return value

    async def _wait_for(self, keys: list[Key], *, idle: bool = False) -> None:
        """Until the run has these keys (and, with ``idle``, no exchange is running)."""
        import anyio

        def waiting() -> bool:
            missing = any(k not in self.target.seen for k in keys)
            return not self.target.unreachable and (missing or (idle and self.target.busy > 0))

        with anyio.move_on_after(self.timeout):
            while waiting():
                await self.target.changed.wait()

    def _report(self) -> int:
        from ..recording import differences

        problems = 0
        for key, (message, status, number) in self.expected.items():
            found = self.target.seen.get(key)
            what = f"line {number} ({_describe(key)})"
            if found is None:
                print(f"{what}: no such message from the server")
                problems += 1
                continue
            diffs = list(differences(message, found[0], self.volatile))
            if status is not None and found[1] is not None and status != found[1]:
                diffs.insert(0, f"HTTP status: expected {status}, got {found[1]}")
            for diff in diffs:
                print(f"{what}: {diff}")
            problems += bool(diffs)
        for key in self.target.seen.keys() - self.expected.keys():
            print(f"extra ({_describe(key)}): {self.target.seen[key][0]!r:.200}")
            problems += 1
        if problems:
            print(f"{problems} of {len(self.expected)} server messages differ")
            return EXIT_DIFFERENT
        print(f"no difference: {len(self.expected)} server messages match")
        return EXIT_MATCH


def _pair_volatile(recorded: Any, actual: Any, volatile: frozenset[str], out: dict[str, Any]) -> None:
    """Map each volatile string of a recorded server message to the run's value at the same
    place (the recorded client echoes the recorded value; the new server wants its own)."""
    if isinstance(recorded, dict) and isinstance(actual, dict):
        for key, value in recorded.items():
            if key not in actual:
                continue
            if key in volatile and isinstance(value, str):
                out[value] = actual[key]
            else:
                _pair_volatile(value, actual[key], volatile, out)
    elif isinstance(recorded, list) and isinstance(actual, list):
        for r, a in zip(recorded, actual, strict=False):
            _pair_volatile(r, a, volatile, out)


def _describe(key: Key) -> str:
    if key[0] == "answer":
        return f"the answer to id {key[2]}"
    if key[0] == "status":
        return f"the HTTP status of exchange {key[1]}"
    return f"server message {int(str(key[2])) + 1} of exchange {key[1]}"
