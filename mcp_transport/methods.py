"""The inbound method table, in jsonrpcserver's terms, through its public API only.

This is the only module that imports jsonrpcserver, so the dependency can be swapped. Every
entry is a jsonrpcserver method: ``async (context, params) -> jsonrpcserver.Result``, built
with the public ``Success``, so :attr:`MethodTable.methods` is a jsonrpcserver ``Methods``
mapping that its public ``async_dispatch*`` functions accept as it is.

The dispatcher does not go through those functions: they take the request as text (or a
deserialized dict), re-check each call against the method's signature with
``inspect.signature`` and run every request in an asyncio Task, which costs ~35 times what the
rest of our dispatch does (measured in docs/architecture.md, "The method table"). We have
already parsed and validated the message (jsonrpc.py), so :meth:`MethodTable.call` looks the
method up and awaits the handler the entry wraps: the ``Success`` round trip carries nothing
the dispatcher needs, and it cost a few per cent of a legacy ``tools/call`` (same section).

A handler's exception is never turned into an error here: it propagates out of
:meth:`MethodTable.call` untouched, so the dispatcher stays the one place that maps
exceptions to JSON-RPC errors (and no ``str(exc)`` reaches the wire).
"""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable
from typing import Any

with warnings.catch_warnings():
    # jsonrpcserver 5.0.9 reads its bundled schema with a deprecated importlib.resources call.
    warnings.simplefilter("ignore", DeprecationWarning)
    from jsonrpcserver import Result, Success

from .errors import MethodNotFound
from .jsonrpc import bounded

__all__ = ["Handler", "MethodTable"]

Handler = Callable[[Any, dict[str, Any]], Awaitable[dict[str, Any]]]
"""An inbound request handler: ``(context, params) -> result object``."""

Entry = Callable[[Any, dict[str, Any]], Awaitable[Result]]
"""A jsonrpcserver method: ``(context, params) -> Success(result)``."""


def _entry(handler: Handler) -> Entry:
    async def entry(context: Any, params: dict[str, Any]) -> Result:
        return Success(await handler(context, params))

    return entry


class MethodTable:
    """Method name -> handler. ``call`` raises MethodNotFound for unknown methods."""

    __slots__ = ("_handlers", "methods")

    def __init__(self) -> None:
        self.methods: dict[str, Entry] = {}
        """The table as a jsonrpcserver ``Methods`` mapping."""
        self._handlers: dict[str, Handler] = {}  # the same methods, unwrapped (see call)

    def add(self, name: str, handler: Handler) -> None:
        self.methods[name] = _entry(handler)
        self._handlers[name] = handler

    def __contains__(self, name: str) -> bool:
        return name in self.methods

    def names(self) -> list[str]:
        return sorted(self.methods)

    def call(self, context: Any, method: str, params: dict[str, Any] | None) -> Awaitable[dict[str, Any]]:
        """``method``'s handler called: await it for its result (MethodNotFound is raised
        here). The handler's own coroutine, not through its jsonrpcserver entry: wrapping
        each result in ``Success`` and reading it back with ``bind`` adds a coroutine and two
        objects to every request for nothing the dispatcher uses (docs/architecture.md, "The
        method table"); and no coroutine of this function's own either."""
        handler = self._handlers.get(method)
        if handler is None:
            raise MethodNotFound(f"Method not found: {bounded(method)}")
        return handler(context, params or {})
