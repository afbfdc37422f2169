"""Example servers built on mcp_transport."""

__all__: list[str] = []
