"""The client's HTTP wire: the Streamable HTTP transport (:mod:`.streamable`) and the stream
follower it reads and resumes SSE with (:mod:`.resume`), the deprecated HTTP+SSE transport
(:mod:`.legacy_sse`), the SSE parser they share (:mod:`.sse_parser`), the one reconnect
policy (:mod:`.reconnect`), the mapping of HTTP failures to typed errors
(:mod:`.http_errors`) and the small pieces both transports use (:mod:`.wire`). Nothing here
imports the client or the server."""
