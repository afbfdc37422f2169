"""A transport mixin for tests that look at every message a client transport received."""

from __future__ import annotations

from typing import Any

from mcp_transport.jsonrpc import Message

__all__ = ["Recording"]


class Recording:
    """Mixed in before a transport class: ``received`` keeps every message it delivers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.received: list[Message] = []

    async def start(self, receive: Any, task_group: Any, on_closed: Any) -> None:

        async def recording(message: Message) -> None:
            self.received.append(message)
            await receive(message)

        await super().start(recording, task_group, on_closed)  # type: ignore[misc]
