"""The conformance suite for MCP servers and clients: scenarios, runner, reports and CLI."""

__all__: list[str] = []
