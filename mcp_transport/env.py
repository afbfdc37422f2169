"""The environment variables a deployment of several workers is configured with, named once.

Nothing here imports anything: the command line reads these names to build ``--help``, and
must not pull in the transports, the state backends or the MRTR codec to do so.
"""

from __future__ import annotations

__all__ = ["ENV_REDIS_URL", "ENV_REQUEST_STATE_KEYS"]

# The Redis of a deployment when no URL is given (run_http, mcp-transport serve,
# python -m servers.everything): redis://HOST:PORT/DB.
ENV_REDIS_URL = "MCP_TRANSPORT_REDIS_URL"
# The MRTR requestState keys every worker shares: HEX[,HEX...], the first seals, all open.
ENV_REQUEST_STATE_KEYS = "MCP_TRANSPORT_REQUEST_STATE_KEYS"
