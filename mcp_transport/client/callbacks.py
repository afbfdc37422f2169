"""Application callbacks, contained: the one place the client calls user code that only
*observes* (notifications, progress, stream gaps). Such code failing must not fail a call,
a stream reader or the whole ``Client``: its exception is logged and the client goes on.

Handlers that *answer* the server (sampling, elicitation, roots) are not wrapped here: their
exception is the answer (a JSON-RPC error, built by the dispatcher).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import ParamSpec

__all__ = ["call_contained", "contained"]

log = logging.getLogger("mcp_transport.client")

P = ParamSpec("P")


async def call_contained(
    what: str, callback: Callable[P, Awaitable[object]], *args: P.args, **kwargs: P.kwargs
) -> None:
    """Await ``callback(*args)``; an exception it raises is logged (naming ``what``) and
    swallowed. Cancellation (a BaseException) still propagates."""
    try:
        await callback(*args, **kwargs)
    except Exception:
        log.exception("%s raised; the client ignores it and goes on", what)


def contained(what: str, callback: Callable[P, Awaitable[object]]) -> Callable[P, Awaitable[None]]:
    """``callback`` wrapped with :func:`call_contained`, for handing to code that calls it."""

    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        await call_contained(what, callback, *args, **kwargs)

    return wrapper
