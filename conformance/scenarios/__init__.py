"""Every server scenario, one module per topic. The order is the run order: cheap probes first,
streaming and waiting last."""

from __future__ import annotations

from ..model import Scenario
from . import (
    accept_content_type,
    authorization,
    batch,
    body_limit,
    cancellation,
    event_ids,
    isolation,
    jsonrpc_errors,
    modern_discover,
    modern_headers,
    modern_streaming,
    modern_tasks,
    notifications,
    origin,
    pagination,
    progress,
    protocol_version,
    resumption,
    session_lifecycle,
    sse_hygiene,
    stdio_framing,
)

__all__ = ["SCENARIOS"]

SCENARIOS: tuple[Scenario, ...] = tuple(
    m.SCENARIO
    for m in (
        session_lifecycle,
        accept_content_type,
        notifications,
        protocol_version,
        batch,
        jsonrpc_errors,
        origin,
        body_limit,
        pagination,
        progress,
        event_ids,
        resumption,
        isolation,
        cancellation,
        sse_hygiene,
        modern_discover,
        modern_headers,
        modern_streaming,
        modern_tasks,
        authorization,
        stdio_framing,
    )
)
