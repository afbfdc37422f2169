"""The inbound message bus: how a client's POSTed response or cancellation reaches the
dispatcher that waits for it.

On one worker that is a direct call. With several workers the POST may land on a worker
other than the one running the handler, so a Redis implementation publishes the message on
a per-session channel that the owning worker subscribes to.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from ..jsonrpc import Message

__all__ = ["Bus", "Deliver"]

Deliver = Callable[[Message], Awaitable[None]]


class Bus(Protocol):
    def subscribe(self, session_id: str, deliver: Deliver) -> None:
        """Route the session's inbound messages to ``deliver`` (on this worker)."""

    def unsubscribe(self, session_id: str) -> None: ...

    async def publish(self, session_id: str, message: Message) -> bool:
        """Deliver a message to the session's subscriber; False if nobody subscribes."""
        ...
