"""One request relayed through the gateway, and the upstream's questions on its behalf.

An upstream server may ask its client (the gateway) for elicitation, sampling or roots while
it handles a relayed request (2025-11-25 client/elicitation, client/sampling, client/roots).
The gateway asks its own client in turn, in the task that serves the downstream request:
that task owns the downstream :class:`~mcp_transport.Context`, and, for a 2026-07-28 client,
the question ends the round (MRTR): the downstream request then answers
``input_required``, the upstream call is cancelled, and the client's retry runs the
upstream call again with the answer at hand.

Which relayed request a question belongs to: the one whose task asks (a 2026-07-28
upstream: the Client fulfils ``input_required`` in the caller's task), else the most recent
request in flight on that upstream client (the Client's handlers are not told which of its
requests a server request relates to).
"""

from __future__ import annotations

import contextvars
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .. import Context, InternalError, MCPError
from ._upstream import Instance, UpstreamUnavailable

__all__ = ["QUESTIONS_PER_CALL", "RelayCall", "ask_downstream", "current_call"]

# Questions one relayed request may have waiting at once; more wait to be queued.
QUESTIONS_PER_CALL = 8

current_call: contextvars.ContextVar[RelayCall | None] = contextvars.ContextVar("relay_call", default=None)


class _Question:
    def __init__(self, method: str, params: dict[str, Any]) -> None:
        self.method = method
        self.params = params
        self.answer: dict[str, Any] | None = None
        self.error: Exception | None = None
        self.done = anyio.Event()

    def resolve(self, answer: dict[str, Any] | None = None, error: Exception | None = None) -> None:
        if not self.done.is_set():
            self.answer, self.error = answer, error
            self.done.set()


class RelayCall:
    """A downstream request being relayed to one upstream instance."""

    def __init__(self, ctx: Context, instance: Instance) -> None:
        self.ctx = ctx
        self.instance = instance
        self._send: MemoryObjectSendStream[_Question]
        self._receive: MemoryObjectReceiveStream[_Question]
        self._send, self._receive = anyio.create_memory_object_stream[_Question](QUESTIONS_PER_CALL)
        self._open: list[_Question] = []

    async def run(self, call: Any) -> dict[str, Any]:
        """``await call()`` while answering the upstream's questions from this task."""
        self.instance.calls.append(self)
        token = current_call.set(self)
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._answer_questions)
                result: dict[str, Any] = await call()
                group.cancel_scope.cancel()
            return result
        except BaseExceptionGroup as group_error:
            raise _single(group_error) from None
        finally:
            current_call.reset(token)
            self.instance.calls.remove(self)
            self._send.close()
            for question in self._open:
                question.resolve(error=UpstreamUnavailable(self.instance.upstream.label, "the request ended"))

    async def ask(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """From the upstream client's handler: wait for the downstream client's answer."""
        question = _Question(method, params)
        self._open.append(question)
        try:
            await self._send.send(question)
            await question.done.wait()
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            raise InternalError(f"{method}: the request it belongs to has ended") from None
        finally:
            self._open.remove(question)
        if question.error is not None:
            raise question.error
        assert question.answer is not None
        return question.answer

    def upstream_gone(self, reason: str) -> None:
        for question in self._open:
            question.resolve(error=UpstreamUnavailable(self.instance.upstream.label, reason))

    async def _answer_questions(self) -> None:
        async for question in self._receive:
            try:
                question.resolve(await downstream(self.ctx, question.method, question.params))
            except MCPError as exc:  # the client refused or failed: the upstream hears it
                question.resolve(error=exc)
            # Anything else is not an answer but the end of a 2026-07-28 round (MRTR: the
            # question becomes an input request of the downstream result). It propagates and
            # cancels the upstream call, which is asked again on the client's retry.


def _single(group: BaseExceptionGroup[Any]) -> BaseException:
    """The one error that ended a relay (the upstream call's, or an MRTR round's end)."""
    errors = [e for e in group.exceptions if not isinstance(e, anyio.get_cancelled_exc_class())]
    first = errors[0] if errors else group.exceptions[0]
    return _single(first) if isinstance(first, BaseExceptionGroup) else first


async def ask_downstream(instance: Instance, method: str, params: dict[str, Any]) -> dict[str, Any]:
    call = current_call.get()
    if call is None or call.instance is not instance:
        call = instance.calls[-1] if instance.calls else None
    if call is None:
        raise InternalError(f"{method}: no request is in flight through the gateway to ask its client")
    return await call.ask(method, params)


async def downstream(ctx: Context, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """Ask the downstream client: the same request on a legacy connection, the matching
    Context call (an MRTR input request) for a 2026-07-28 one."""
    if ctx.era.value != "modern":
        return await ctx.request_context.request(method, params)
    if method == "elicitation/create":
        if params.get("mode") == "url":
            answer = await ctx.elicit_url(params.get("message", ""), params.get("url", ""))
        else:
            answer = await ctx.elicit(params.get("message", ""), params.get("requestedSchema") or {})
        wire: dict[str, Any] = {"action": answer.action}
        if answer.content is not None:
            wire["content"] = answer.content
        return wire
    if method == "sampling/createMessage":
        sampled = await ctx.sample(
            params.get("messages") or [],
            max_tokens=int(params.get("maxTokens", 1000)),
            system_prompt=params.get("systemPrompt"),
            temperature=params.get("temperature"),
            stop_sequences=params.get("stopSequences"),
            model_preferences=params.get("modelPreferences"),
            metadata=params.get("metadata"),
        )
        return sampled.raw
    if method == "roots/list":
        roots = await ctx.list_roots()
        return {"roots": [{"uri": r.uri, **({"name": r.name} if r.name else {})} for r in roots]}
    raise InternalError(f"the gateway cannot relay {method} to a 2026-07-28 client")
