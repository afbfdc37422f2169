"""mcp_transport: the Model Context Protocol over Streamable HTTP and stdio."""
