"""A gateway: one MCP endpoint in front of other MCP servers.

    mcp-transport proxy --stdio "python server.py" --port 8001   # a stdio server on HTTP
    mcp-transport proxy https://example.com/mcp                  # a remote server on stdio
    mcp-transport proxy --config gateway.toml --port 8001        # several, names prefixed

    gateway = Gateway().mount("github", "https://github.example/mcp")
    async with gateway:
        await serve_http(gateway, port=8001)

See docs/guides/gateway.md.
"""

from ._config import ConfigError, load_config
from ._server import DEFAULT_LIST_TIMEOUT, DEFAULT_MAX_SESSION_CLIENTS, Gateway
from ._serving import serve_http, serve_stdio
from ._upstream import Upstream, UpstreamUnavailable

__all__ = [
    "DEFAULT_LIST_TIMEOUT",
    "DEFAULT_MAX_SESSION_CLIENTS",
    "ConfigError",
    "Gateway",
    "Upstream",
    "UpstreamUnavailable",
    "load_config",
    "serve_http",
    "serve_stdio",
]
