"""``mcp-transport proxy``: the gateway on the command line (filled in below)."""

from __future__ import annotations

from typing import Any

__all__ = ["add_proxy"]


def add_proxy(commands: Any) -> None:
    return None
