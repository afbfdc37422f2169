"""The client's side of a 2026-07-28 multi round-trip request (MRTR, 2026-07-28
basic/patterns/mrtr): answer the server's ``inputRequests`` with the client's handlers and
build the fields of the retry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from .. import telemetry
from ..errors import MCPError
from .answers import RequestHandler, apply_schema_defaults

__all__ = ["InputAnswerer", "InputRequiredError"]


class InputRequiredError(MCPError):
    """A 2026-07-28 multi round-trip request (MRTR) could not be completed locally: the
    server asked for input this client has no handler for, kept asking for more than
    ``max_input_rounds`` rounds, or answered with a ``resultType`` this client does not know."""


class InputAnswerer:
    """Answers input requests with the handlers the client was given (None: not offered)."""

    def __init__(
        self,
        sampling: RequestHandler | None,
        elicitation: RequestHandler | None,
        roots: Callable[[], Awaitable[list[dict[str, Any]]]] | None,
    ) -> None:
        self.sampling = sampling
        self.elicitation = elicitation
        self.roots = roots

    async def fulfil(self, method: str, result: dict[str, Any]) -> dict[str, Any]:
        """The MRTR fields of the retry for an ``input_required`` result: every input request
        answered by our handlers, and ``requestState`` echoed as given (omitted if absent)."""
        requests = result.get("inputRequests")
        extra: dict[str, Any] = {}
        if isinstance(requests, dict) and requests:
            responses: dict[str, Any] = {}
            for key, input_request in requests.items():
                responses[key] = await self._answer(method, key, input_request)
            extra["inputResponses"] = responses
        if "requestState" in result:
            extra["requestState"] = result["requestState"]
        if not extra:
            raise InputRequiredError(
                f"{method}: input_required result with neither inputRequests nor requestState"
            )
        return extra

    async def _answer(self, method: str, key: str, input_request: Any) -> dict[str, Any]:
        if not isinstance(input_request, dict) or not isinstance(input_request.get("method"), str):
            raise InputRequiredError(f"{method}: input request {key!r} is malformed: {input_request!r}")
        wanted = input_request["method"]
        raw = input_request.get("params")
        params: dict[str, Any] = raw if isinstance(raw, dict) else {}
        with telemetry.answering(wanted):
            if wanted == "elicitation/create" and self.elicitation is not None:
                return apply_schema_defaults(params, await self.elicitation(params))
            if wanted == "sampling/createMessage" and self.sampling is not None:
                return await self.sampling(params)
            if wanted == "roots/list" and self.roots is not None:
                return {"roots": await self.roots()}
        raise InputRequiredError(
            f"{method}: the server asked for {wanted} (input {key!r}), which this client has no handler for"
        )
