"""One client session for one command: connect, ask, print, map the outcome to an exit status."""

from __future__ import annotations

import signal
import sys
from typing import Any

import anyio

from .. import Client, MCPError, RemoteError, TransportError
from ._ask import TerminalForm
from ._invocation import EXIT_ERROR, EXIT_OK, EXIT_TOOL_ERROR, Invocation
from ._render import Printer, Progress

__all__ = ["EXIT_INTERRUPTED", "run_session"]

EXIT_INTERRUPTED = 130


def run_session(invocation: Invocation) -> int:
    printer = Printer(json_output=invocation.json, schemas=invocation.schemas, progress=Progress.for_stderr())
    outcome = anyio.run(_session, invocation, printer)
    if not isinstance(outcome, dict):
        return outcome
    # Printed after the event loop ended, so a closed stdout (``| head``) is a plain
    # BrokenPipeError for main() and never one wrapped in a task group's exception group.
    printer.progress.clear()
    printer.result(invocation.command, outcome)
    if invocation.command == "call" and outcome.get("isError") is True:
        print(
            f"mcp-transport call: error: the tool {invocation.words[0]!r} reported an error", file=sys.stderr
        )
        return EXIT_TOOL_ERROR
    return EXIT_OK


async def _session(invocation: Invocation, printer: Printer) -> dict[str, Any] | int:
    """Run the command: its result, or an exit status. The first Ctrl-C cancels it (the
    Client then sends ``notifications/cancelled`` for the request in flight and closes the
    connection)."""
    interrupted = False
    outcome: dict[str, Any] | int = EXIT_ERROR
    async with anyio.create_task_group() as group:
        with anyio.open_signal_receiver(signal.SIGINT) as signals:

            async def watch() -> None:
                nonlocal interrupted
                async for _ in signals:
                    interrupted = True
                    group.cancel_scope.cancel()
                    return

            group.start_soon(watch)
            outcome = await _guarded(invocation, printer)
            group.cancel_scope.cancel()
    if interrupted:
        printer.progress.clear()
        print("mcp-transport: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return outcome


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RemoteError):
        return f"the server answered with an error: {exc}"
    if isinstance(exc, FileNotFoundError):
        return f"cannot start the server: {exc.strerror}: {exc.filename}"
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0] if text.strip() else type(exc).__name__


def _unwrap(exc: BaseException) -> BaseException:
    """The first real error inside (possibly nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


async def _guarded(invocation: Invocation, printer: Printer) -> dict[str, Any] | int:
    try:
        async with _client(invocation, printer) as client:
            return await _ask(client, invocation, printer)
    except (MCPError, OSError, TransportError, BaseExceptionGroup) as exc:
        error = _unwrap(exc)
        if not isinstance(error, Exception):
            raise
        print(f"mcp-transport {invocation.command}: error: {_reason(error)}", file=sys.stderr)
        return EXIT_ERROR


def _client(invocation: Invocation, printer: Printer) -> Client:
    form = TerminalForm(no_input=invocation.no_input, before_prompt=printer.progress.clear)
    return Client(
        invocation.target,
        era=invocation.era,
        timeout=invocation.timeout,
        headers=invocation.headers or None,
        elicitation_handler=form.answer,
        on_notification=printer.notification,
        log_level="info",
    )


async def _ask(client: Client, invocation: Invocation, printer: Printer) -> dict[str, Any]:
    command, caps = invocation.command, client.server_capabilities
    if command == "call":
        return await client.call_tool(
            invocation.words[0], invocation.arguments, on_progress=printer.progress.update
        )
    if command == "read":
        return await client.read_resource(invocation.words[0])
    if command == "prompt":
        return await client.get_prompt(invocation.words[0], invocation.arguments)
    if command not in caps:  # the server offers none: an empty list, not a -32601
        return {command: []}
    if command == "tools":
        return {"tools": await client.list_tools()}
    if command == "prompts":
        return {"prompts": await client.list_prompts()}
    return {
        "resources": await client.list_resources(),
        "resourceTemplates": await client.list_resource_templates(),
    }
