"""Small pieces both HTTP client transports share: handing a body's messages to the client,
reading a response's media type, telling a modern request by its envelope."""

from __future__ import annotations

import logging

import httpx

from ... import jsonrpc
from ...jsonrpc import ErrorResponse, InvalidMessage, Message, Notification, Request, RequestId, Result
from ...protocol import META_PROTOCOL_VERSION
from ..contract import Receive

__all__ = ["claims_modern", "content_type", "deliver"]

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


def claims_modern(message: Message) -> bool:
    """A 2026-07-28 request: its ``_meta`` names a protocol version (the per-request envelope
    of 2026-07-28 basic#meta). The same test the server's router makes."""
    if not isinstance(message, (Request, Notification)):
        return False
    meta = (message.params or {}).get("_meta")
    return isinstance(meta, dict) and META_PROTOCOL_VERSION in meta


def content_type(response: httpx.Response) -> str:
    value: str = response.headers.get("content-type", "")
    return value.split(";")[0].strip().lower()
