"""The inbound method table, backed by jsonrpcserver.

This is the only module that imports jsonrpcserver, so the dependency can be swapped. We use
it at the level that keeps the hot path lean: per-request dispatch on a message we have already
parsed and validated ourselves (its string-to-string entry point re-parses and re-validates
with jsonschema, which costs more than a whole HTTP request; see bench/).

Handlers never let jsonrpcserver see their exceptions: jsonrpcserver would turn them into an
error carrying ``str(exc)``, which may leak internals. The exception is carried out of the
library untouched and re-raised here, so the dispatcher stays the one place that maps
exceptions to JSON-RPC errors.
"""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable
from typing import Any

with warnings.catch_warnings():
    # jsonrpcserver 5.0.9 reads its bundled schema with a deprecated importlib.resources call.
    warnings.simplefilter("ignore", DeprecationWarning)
    from jsonrpcserver.async_dispatcher import call as _call_method
    from jsonrpcserver.request import Request as _LibRequest
    from jsonrpcserver.result import ErrorResult, Success
from oslash.either import Left  # type: ignore[import-untyped]

from .errors import InvalidParams, MethodNotFound
from .jsonrpc import bounded

__all__ = ["Handler", "MethodTable"]

Handler = Callable[[Any, dict[str, Any]], Awaitable[dict[str, Any]]]
"""An inbound request handler: ``(context, params) -> result object``."""


class _Raised:
    """An exception carried through jsonrpcserver's Either."""

    __slots__ = ("exc",)

    def __init__(self, exc: Exception) -> None:
        self.exc = exc


def _entry(handler: Handler) -> Callable[..., Awaitable[Any]]:
    async def call(context: Any, params: dict[str, Any]) -> Any:
        try:
            return Success(await handler(context, params))
        except Exception as exc:  # re-raised by MethodTable.call, mapped by the dispatcher
            return Left(ErrorResult(0, "raised", _Raised(exc)))

    return call


class MethodTable:
    """Method name -> handler. ``call`` raises MethodNotFound for unknown methods."""

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[str, Callable[..., Awaitable[Any]]] = {}

    def add(self, name: str, handler: Handler) -> None:
        self._entries[name] = _entry(handler)

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def names(self) -> list[str]:
        return sorted(self._entries)

    async def call(self, context: Any, method: str, params: dict[str, Any] | None, request_id: Any) -> dict[str, Any]:
        # The lookup is ours and jsonrpcserver runs the call. Its dispatch_request would
        # also check the arguments against the handler's signature through
        # inspect.signature on every call, which was most of the per-request cost. Every
        # entry takes (context, params), with params as one positional argument, so that
        # check could never fail.
        entry = self._entries.get(method)
        if entry is None:
            raise MethodNotFound(f"Method not found: {bounded(method)}")
        outcome = await _call_method(_LibRequest(method, [params or {}], request_id), context, entry)
        if isinstance(outcome, Left):
            value: ErrorResult = outcome._error
            if isinstance(value.data, _Raised):
                raise value.data.exc
            raise InvalidParams(f"Invalid params for {method}: {value.data}")
        return outcome._value.result  # type: ignore[no-any-return]
