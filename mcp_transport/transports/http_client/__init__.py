"""The client's HTTP wire: the Streamable HTTP transport (:mod:`.streamable`), the deprecated
HTTP+SSE one (:mod:`.legacy_sse`), the SSE parser they share (:mod:`.sse_parser`), the one
reconnect policy (:mod:`.reconnect`) and the mapping of HTTP failures to typed errors
(:mod:`.http_errors`). Nothing here imports the client or the server."""
