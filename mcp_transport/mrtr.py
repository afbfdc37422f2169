"""Multi round-trip requests (MRTR, 2026-07-28 basic/patterns/mrtr): the sans-IO parts.

In the modern era a server cannot send the client a request. When a handler needs input
(elicitation, sampling, roots) the server answers ``resultType: "input_required"`` with
``inputRequests`` and an opaque ``requestState``; the client gathers the input and retries the
same request with ``inputResponses`` and the state echoed byte-exact.

We make that invisible to handler authors by *replay*: the handler runs from the top on
every round. Each input call looks its answer up by key; with no answer it raises
:class:`InputRequired`, which ends the round. Answers from earlier rounds travel inside the
``requestState``, HMAC-protected (the client holds it between rounds, so it is attacker
controlled), bound to the method and arguments, and short-lived. Any worker configured with
the same keys accepts it, so rounds may land on different workers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from .errors import InvalidParams

__all__ = [
    "DEFAULT_STATE_TTL",
    "MRTR_METHODS",
    "InputRequired",
    "RequestStateCodec",
    "Round",
    "salient_digest",
]

# The only methods that may answer resultType "input_required"
# (2026-07-28 basic/patterns/mrtr#supported-requests).
MRTR_METHODS = frozenset({"tools/call", "prompts/get", "resources/read"})

# A requestState older than this is refused: rounds are interactive, minutes at most.
DEFAULT_STATE_TTL = 15 * 60
# Fields of a retried request that belong to MRTR, not to the request itself.
_MRTR_FIELDS = frozenset({"inputResponses", "requestState", "_meta"})


class InputRequired(Exception):
    """Raised by an input call that has no answer yet: ends this round with
    ``resultType: "input_required"``."""

    def __init__(self, requests: dict[str, dict[str, Any]]) -> None:
        super().__init__(f"input required: {', '.join(requests)}")
        self.requests = requests


def salient_digest(method: str, params: Mapping[str, Any]) -> str:
    """A digest of what the request is about (method and params, MRTR fields excluded), so a
    state minted for one call cannot be replayed on another."""
    salient = {k: v for k, v in params.items() if k not in _MRTR_FIELDS}
    data = orjson.dumps([method, salient], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(data).hexdigest()[:32]


class RequestStateCodec:
    """Seal and open ``requestState`` tokens: base64url(JSON payload) "." base64url(HMAC).

    ``keys``: the first signs, all verify (rotate by prepending a new key). Defaults to one
    random key per process, which is right for one worker; give every worker the same keys
    to let rounds land anywhere.
    """

    def __init__(self, keys: Sequence[bytes] | None = None, ttl: float = DEFAULT_STATE_TTL) -> None:
        # Whether the keys came from the configuration (several workers can share them)
        # or are this process's own random one.
        self.configured = bool(keys)
        self.keys = list(keys) if keys else [os.urandom(32)]
        if any(len(k) < 16 for k in self.keys):
            raise ValueError("requestState keys must be at least 16 bytes")
        self.ttl = ttl

    def seal(self, payload: dict[str, Any]) -> str:
        sealed = orjson.dumps({**payload, "exp": int(time.time() + self.ttl)})
        body = base64.urlsafe_b64encode(sealed).rstrip(b"=")
        mac = base64.urlsafe_b64encode(hmac.digest(self.keys[0], body, "sha256")).rstrip(b"=")
        return (body + b"." + mac).decode("ascii")

    def open(self, token: Any) -> dict[str, Any]:
        """The payload of a token we sealed; InvalidParams (-32602) for anything else."""
        if not isinstance(token, str) or token.count(".") != 1:
            raise InvalidParams("Invalid requestState: echo the requestState of the previous round unchanged")
        body, _, mac = token.encode("ascii", "replace").partition(b".")
        try:
            given = base64.urlsafe_b64decode(mac + b"=" * (-len(mac) % 4))
        except ValueError:
            given = b""
        if not any(hmac.compare_digest(hmac.digest(k, body, "sha256"), given) for k in self.keys):
            raise InvalidParams("Invalid requestState: it failed its integrity check (was it modified?)")
        # the MAC matched: this is the dict that seal() wrote
        payload: dict[str, Any] = orjson.loads(base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4)))
        if payload.get("exp", 0) < time.time():
            raise InvalidParams("Expired requestState: start the request again without it")
        return payload


@dataclass(slots=True)
class Round:
    """One modern request's view of MRTR: the answers known so far, and the input requests
    collected by this round."""

    answers: dict[str, Any] = field(default_factory=dict)
    asked: dict[str, dict[str, Any]] = field(default_factory=dict)
    app_state: Any = None
    _counter: int = 0

    @classmethod
    def from_request(
        cls, codec: RequestStateCodec, method: str, params: Mapping[str, Any], principal: str | None = None
    ) -> Round:
        """Rebuild the round from a (possibly retried) request: verified earlier answers from
        ``requestState`` plus this retry's ``inputResponses`` (unknown keys are kept but never
        asked for, so they are ignored). ``principal``: who this request acts for; a state
        sealed for someone else is refused (a captured retry cannot be replayed by another
        user)."""
        if "requestState" not in params and "inputResponses" not in params:
            return cls()  # a first round (most requests): nothing to verify or merge
        answers: dict[str, Any] = {}
        app_state = None
        if "requestState" in params:
            payload = codec.open(params["requestState"])
            if payload.get("d") != salient_digest(method, params):
                raise InvalidParams("Invalid requestState: it belongs to a different request")
            if payload.get("p") != principal:
                raise InvalidParams(
                    "Invalid requestState: it was issued to another principal; "
                    "start the request again without it"
                )
            answers.update(payload.get("a") or {})
            app_state = payload.get("s")
        responses = params.get("inputResponses")
        if responses is not None:
            if not isinstance(responses, Mapping):
                raise InvalidParams("inputResponses must be an object mapping input keys to results")
            answers.update(responses)
        return cls(answers=answers, app_state=app_state)

    def next_key(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}-{self._counter}"

    def result(
        self, codec: RequestStateCodec, method: str, params: Mapping[str, Any], principal: str | None = None
    ) -> dict[str, Any]:
        """The InputRequiredResult for what this round asked, its state bound to ``principal``."""
        carried = {k: v for k, v in self.answers.items() if k not in self.asked}
        state: dict[str, Any] = {"d": salient_digest(method, params), "a": carried, "p": principal}
        if self.app_state is not None:
            state["s"] = self.app_state
        return {
            "resultType": "input_required",
            "inputRequests": self.asked,
            "requestState": codec.seal(state),
        }
