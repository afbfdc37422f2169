"""The server side: ``MCPServer`` and what handlers receive."""

from .content import Audio, Content, EmbeddedResource, Image, ResourceLink, Text
from .context import Context, ServerConnection, ServerRequestContext
from .mcpserver import MCPServer, Tool

__all__ = [
    "Audio",
    "Content",
    "Context",
    "EmbeddedResource",
    "Image",
    "MCPServer",
    "ResourceLink",
    "ServerConnection",
    "ServerRequestContext",
    "Text",
    "Tool",
]
