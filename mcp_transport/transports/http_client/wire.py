"""Small pieces both HTTP client transports share: handing a body's messages to the client,
reading a response's media type, telling a modern request by its envelope."""

from __future__ import annotations

import logging

import httpx

from ... import jsonrpc
from ...jsonrpc import ErrorResponse, InvalidMessage, RequestId, Result
from ..contract import Receive

__all__ = ["content_type", "deliver"]

log = logging.getLogger("mcp_transport.client.http")


async def deliver(
    body: bytes | str, receive: Receive, answer_id: RequestId | None = None
) -> tuple[bool, bool]:
    """Hand every message in a JSON body or SSE data field to ``receive``. Returns (a message
    was delivered, one of them answers ``answer_id``). An invalid body is logged and dropped:
    the server's mistake must not end the connection."""
    try:
        parsed = jsonrpc.parse(body, allow_batch=True)
    except InvalidMessage as exc:
        log.warning("ignoring an invalid message from the server: %s", exc.message)
        return False, False
    messages = parsed if isinstance(parsed, list) else [parsed]
    answered = False
    for message in messages:
        if answer_id is not None and isinstance(message, (Result, ErrorResponse)) and message.id == answer_id:
            answered = True
        await receive(message)
    return bool(messages), answered


def content_type(response: httpx.Response) -> str:
    value: str = response.headers.get("content-type", "")
    return value.split(";")[0].strip().lower()
