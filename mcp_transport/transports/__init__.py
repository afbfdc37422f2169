"""Transports: they frame bytes and move them; they never interpret MCP methods."""
