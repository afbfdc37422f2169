"""Streamable HTTP, the server side: the endpoint (:mod:`.endpoint`), its legacy session leg
(:mod:`.legacy`, :mod:`.sessions`, :mod:`.live_sessions`, :mod:`.session_routing`,
:mod:`.streams`) and stateless 2026-07-28 leg (:mod:`.modern`), SSE framing (:mod:`.sse`),
Host/Origin checks (:mod:`.security`), the ``Mcp-*`` request headers (:mod:`.headers`,
shared with the client) and the mounting helpers (:mod:`.app`)."""

from .app import HTTPApp, http_app, mcp_router, run_http
from .endpoint import StreamableHTTP, classify_post

__all__ = ["HTTPApp", "StreamableHTTP", "classify_post", "http_app", "mcp_router", "run_http"]
