"""Client scenarios: each starts a scripted server, runs the client command against it and judges
what the client sent. Contract in ``_scripted.py``; one scenario per module."""

from __future__ import annotations

from ..model import Scenario
from . import backoff, basics, delete_on_close, reinitialize, resume, server_requests

__all__ = ["CLIENT_SCENARIOS"]

CLIENT_SCENARIOS: tuple[Scenario, ...] = tuple(
    m.SCENARIO
    for m in (
        basics,
        reinitialize,
        delete_on_close,
        resume,
        backoff,
        server_requests,
    )
)
