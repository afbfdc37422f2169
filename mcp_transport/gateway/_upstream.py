"""Upstreams: the servers a gateway mounts, and the live clients that reach them.

A ``Client`` must be closed by the task that opened it (it owns a task group), so every live
client runs in a task of its own, an :class:`Instance`, that opens it, waits to be told to
stop, and closes it. A dead instance (its server exited, its connection closed) is replaced
by a new one on next use, no sooner than ``RESTART_DELAY`` after the last start.
"""

from __future__ import annotations

import fnmatch
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio

from .. import Client, InternalError, UsageError

__all__ = ["RESTART_DELAY", "SEPARATOR", "ClientFactory", "Instance", "Upstream", "UpstreamUnavailable"]

log = logging.getLogger("mcp_transport.gateway")

SEPARATOR = "."  # github + create_issue -> github.create_issue
# A server that dies at once is started again at most this often (seconds).
RESTART_DELAY = 1.0

ClientFactory = Callable[..., Client]
"""Builds the client of an upstream; called with the gateway's relay handlers as keyword
arguments (``elicitation_handler``, ``sampling_handler``, ``on_notification``, ``roots``,
``log_level``, and ``era="legacy"`` for a legacy session's own client), which a factory
passes on to :class:`~mcp_transport.Client`."""


class UpstreamUnavailable(InternalError):
    """An upstream could not be reached, or it went away while a request was pending: the
    request fails with this JSON-RPC error (-32603), ``data`` naming the upstream."""

    def __init__(self, upstream: str, reason: str) -> None:
        super().__init__(f"upstream {upstream!r} is unavailable: {reason}", {"upstream": upstream})
        self.upstream = upstream


@dataclass(frozen=True)
class Upstream:
    """One mounted server. ``prefix`` (None: names as they are) comes before each tool and
    prompt name; ``allow``/``deny`` are glob patterns on the upstream's own names (deny
    wins; no allow list allows all); ``per_session``: each legacy session gets a client of
    its own (a child process per session over stdio), modern requests share one."""

    prefix: str | None
    factory: ClientFactory
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    per_session: bool = False

    @property
    def label(self) -> str:
        return self.prefix or "upstream"

    def permits(self, name: str) -> bool:
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in self.deny):
            return False
        return not self.allow or any(fnmatch.fnmatchcase(name, pattern) for pattern in self.allow)

    def public(self, name: str) -> str:
        return f"{self.prefix}{SEPARATOR}{name}" if self.prefix else name

    def own(self, public: str) -> str | None:
        """The upstream's name for ``public``, or None if it is not one of ours."""
        if self.prefix is None:
            name: str | None = public
        else:
            head, sep, name = public.partition(SEPARATOR)
            if not sep or head != self.prefix:
                return None
        return name if name and self.permits(name) else None


def as_factory(target: Client | str | Sequence[str] | ClientFactory, **options: Any) -> ClientFactory:
    """A URL or a command list becomes a factory of Clients with ``options``; a factory is
    used as it is; a ready-made Client is used once (it cannot be restarted, and the relay
    handlers cannot be given to it: only notifications and progress cross)."""
    if isinstance(target, Client):
        used = False

        def once(**relay: Any) -> Client:
            nonlocal used
            if used:
                raise UsageError(
                    "a Client instance serves once; mount a URL, a command or a factory to restart"
                )
            used = True
            target.on_notification = relay["on_notification"]
            return target

        return once
    if isinstance(target, str) or (isinstance(target, Sequence) and not callable(target)):

        def build(**relay: Any) -> Client:
            # The relay handlers always; the era the gateway suggests unless one was given.
            return Client(target, **{**relay, **options, **{k: v for k, v in relay.items() if k != "era"}})

        return build
    return target


class Instance:
    """One live client of an upstream, running in its own task."""

    def __init__(self, upstream: Upstream, relay: dict[str, Any]) -> None:
        self.upstream = upstream
        self.relay = relay
        self.client: Client | None = None
        self.error: str | None = None
        self.started = time.monotonic()
        self.calls: list[Any] = []  # the relay calls in flight (see _relay.RelayCall)
        self.catalogue: Any = None  # what it offers (_catalogue.Catalogue), set by the gateway
        self.session: Any = None  # the one connection it serves, or None when shared
        self.roots_stale = True  # the downstream's roots are to be fetched before the next call
        self._ready = anyio.Event()
        self._stop = anyio.Event()
        self._dead = False

    @property
    def dead(self) -> bool:
        return self._dead

    async def run(self) -> None:
        try:
            async with self.upstream.factory(**self.relay) as client:
                self.client = client
                self._ready.set()
                await self._stop.wait()
        except Exception as exc:
            self.error = str(exc) or type(exc).__name__
            log.warning("upstream %s: %s", self.upstream.label, self.error)
        finally:
            self.mark_dead("it was stopped" if self.error is None else self.error)

    def mark_dead(self, reason: str) -> None:
        if not self._dead:
            self._dead = True
            self.error = self.error or reason
            self._stop.set()
            self._ready.set()
            for call in list(self.calls):
                call.upstream_gone(reason)

    def stop(self) -> None:
        self.mark_dead("its session ended")

    async def get(self) -> Client:
        await self._ready.wait()
        if self._dead or self.client is None:
            raise UpstreamUnavailable(self.upstream.label, self.error or "it is not running")
        return self.client
