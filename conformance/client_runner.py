"""Run the client scenarios against a client command (``mcp-transport conformance client``)."""

from __future__ import annotations

from collections.abc import Iterable

from .client_scenarios import CLIENT_SCENARIOS
from .context import Options
from .runner import Progress, RunResult, run_scenarios, select

__all__ = ["run_client_scenarios"]


async def run_client_scenarios(
    command: str,
    *,
    names: Iterable[str] | None = None,
    era: str = "both",
    timeout: float = 10.0,
    progress: Progress | None = None,
) -> RunResult:
    """``timeout`` bounds each client run (the command gets that long to finish its flow)."""
    chosen = select(CLIENT_SCENARIOS, target="client", era=era, names=names)
    return await run_scenarios(
        chosen, url=command, options=Options(timeout=timeout, keepalive_wait=0.0), era=era, progress=progress
    )
