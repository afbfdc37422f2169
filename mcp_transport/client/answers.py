"""The client's answers to server->client requests (legacy era): ping, sampling,
elicitation, roots. Each handler the user gives is declared in the client capabilities;
a request with no handler gets -32601 from the method table, never silence."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ..methods import MethodTable
from ..protocol import Era

__all__ = ["RequestHandler", "apply_schema_defaults", "default_capabilities", "method_table"]

RequestHandler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
"""A handler for a server->client request: ``(params) -> result``."""


def default_capabilities(
    era: Era, sampling: RequestHandler | None, elicitation: RequestHandler | None, roots: bool
) -> dict[str, Any]:
    """ClientCapabilities matching the handlers (2025-11-25 basic/lifecycle#capability-negotiation;
    2026-07-28 roots has no listChanged)."""
    caps: dict[str, Any] = {}
    if roots:
        caps["roots"] = {"listChanged": True} if era is Era.LEGACY else {}
    if sampling is not None:
        caps["sampling"] = {}
    if elicitation is not None:
        caps["elicitation"] = {"form": {}}
    return caps


def method_table(
    sampling: RequestHandler | None,
    elicitation: RequestHandler | None,
    list_roots: Callable[[], Awaitable[list[dict[str, Any]]]] | None,
) -> MethodTable:
    """The inbound method table the client's dispatcher serves."""
    table = MethodTable()

    async def ping(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        return {}

    table.add("ping", ping)
    if sampling is not None:

        async def create_message(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
            return await sampling(params)

        table.add("sampling/createMessage", create_message)
    if elicitation is not None:

        async def elicit(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
            return apply_schema_defaults(params, await elicitation(params))

        table.add("elicitation/create", elicit)
    if list_roots is not None:

        async def roots(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
            return {"roots": await list_roots()}

        table.add("roots/list", roots)
    return table


def apply_schema_defaults(params: Mapping[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """Fill an accepted elicitation answer with the ``default`` of every requested field it
    leaves out (SEP-1034: the client applies the schema's defaults)."""
    if not _accepted(result):
        return result  # declined, cancelled, or not even a dict: the server judges it
    schema = params.get("requestedSchema")
    props = schema.get("properties") if isinstance(schema, Mapping) else None
    if not isinstance(props, Mapping):
        return result
    content = dict(result.get("content") or {})
    for name, prop in props.items():
        if name not in content and isinstance(prop, Mapping) and "default" in prop:
            content[name] = prop["default"]
    return {**result, "content": content}


def _accepted(result: object) -> bool:
    # A handler annotated to return a dict may still return anything at run time.
    return isinstance(result, dict) and result.get("action") == "accept"
