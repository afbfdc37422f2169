"""The server side: ``MCPServer`` and what handlers receive."""

from .client_features import ElicitResult, Root, SamplingResult
from .content import Audio, Content, EmbeddedResource, Image, ResourceLink, Text
from .context import Context, ServerConnection, ServerRequestContext
from .mcpserver import MCPServer
from .prompts import Prompt, PromptMessage
from .resources import Resource, ResourceTemplate
from .tasks import TaskContext
from .tools import Tool

__all__ = [
    "Audio",
    "Content",
    "Context",
    "ElicitResult",
    "EmbeddedResource",
    "Image",
    "MCPServer",
    "Prompt",
    "PromptMessage",
    "Resource",
    "ResourceLink",
    "ResourceTemplate",
    "Root",
    "SamplingResult",
    "ServerConnection",
    "ServerRequestContext",
    "TaskContext",
    "Text",
    "Tool",
]
