"""The era gate: every MCP method an :class:`~.mcpserver.MCPServer` registers runs behind it,
under the protocol state of the request's era (2026-07-28
basic/versioning#backward-compatibility-with-initialization-based-versions; on stdio,
2026-07-28 basic/transports/stdio#backward-compatibility)."""

from __future__ import annotations

from typing import Any

from ..errors import InsufficientScope, MethodNotFound
from ..mrtr import MRTR_METHODS, InputRequired, Round
from ..principal import current_identity, current_principal
from ..protocol import parse_envelope
from .api import MethodHandler, ServerAPI
from .context import ServerRequestContext, stateless_envelope
from .fanout import PENDING, delivered

__all__ = ["MethodHandler", "era_gate"]


def era_gate(server: ServerAPI, name: str, fn: MethodHandler, *, legacy: bool, modern: bool) -> MethodHandler:
    """Wrap a method so it runs under the right protocol state.

    A request whose ``_meta`` carries a protocol version is modern (2026-07-28): its state
    comes from that envelope and nothing from the connection is used. Anything else is
    legacy and goes through the connection's initialize lifecycle.

    Modern ``tools/call``, ``prompts/get`` and ``resources/read`` run as one MRTR round
    (2026-07-28 basic/patterns/mrtr#basic-workflow): input calls on the Context answer from the
    round's answers, and the first one without an answer ends the round with ``resultType: "input_required"``.
    """
    mrtr = name in MRTR_METHODS

    # Before each answer: what the request notified is delivered first (fanout.delivered).
    async def handler(ctx: ServerRequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _check_scopes(server, name, params)
        envelope = stateless_envelope(params) or parse_envelope(params)
        if envelope is not None:
            if not modern:
                raise MethodNotFound(
                    f"Method not found: {name} does not exist in protocol {envelope.protocol_version}"
                )
            ctx.state = envelope  # this request's own, built by parse_envelope
            if not mrtr:
                result = await fn(ctx, params)
                if PENDING:
                    await delivered()
                return server.modern_result(result)
            if "requestState" in params or "inputResponses" in params:
                # a retry: its earlier answers, verified; a first round (most requests) builds
                # its Round only when an input call needs one (Context._ask)
                ctx.round = Round.from_request(server.request_state, name, params, current_identity())
            try:
                result = await fn(ctx, params)
            except InputRequired:
                current = ctx.round or Round()  # an input call made it (unless the handler raised)
                result = current.result(server.request_state, name, params, current_identity())
            if PENDING:
                await delivered()
            return server.modern_result(result)
        if not legacy:
            raise MethodNotFound(
                f"Method not found: {name} needs the 2026-07-28 _meta envelope "
                f'(_meta["io.modelcontextprotocol/protocolVersion"])'
            )
        connection = ctx.connection
        connection.lifecycle.check(name)
        ctx.state = connection.state
        result = await fn(ctx, params)
        connection.lifecycle.advance(name)
        if PENDING:
            await delivered()
        return result

    return handler


def _check_scopes(server: ServerAPI, name: str, params: dict[str, Any]) -> None:
    """InsufficientScope (-32016, HTTP 403) when the verified principal lacks a scope the named
    tool or resource needs (2026-07-28 basic/authorization#runtime-insufficient-scope-errors);
    a request with no principal (no authorization configured, stdio) is not checked."""
    principal = current_principal.get()
    if principal is None:
        return
    missing = principal.missing(server.required_scopes(name, params))
    if missing:
        raise InsufficientScope(
            f"{name} needs the scope(s) {' '.join(missing)}: authorize again with them (step-up)",
            {"requiredScopes": missing},
        )
