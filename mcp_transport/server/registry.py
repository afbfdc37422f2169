"""``Registry``: the tools, resources and prompts a server serves, and the decorators that
register them. :class:`~.mcpserver.MCPServer` builds on it with the serving side.

It knows nothing of connections: a change calls :meth:`Registry._list_changed`, which
``MCPServer`` implements by notifying its clients.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from . import resources as _resources
from .completion import Completers
from .context import Context
from .prompts import Prompt
from .resources import Resource, ResourceTemplate, UriTemplate
from .schema import arguments_model, output_spec
from .tasks import EXTENSION_ID as TASKS_EXTENSION
from .tools import Tool

__all__ = ["TASK_MODES", "TASK_STARTS", "Registry"]

F = TypeVar("F", bound=Callable[..., Any])

TASK_MODES = ("forbidden", "optional", "required")
TASK_STARTS = ("immediately", "on_detach")


class Registry:
    """What is registered, by name (tools, prompts) or URI (resources, templates)."""

    def __init__(self) -> None:
        self.tools: dict[str, Tool] = {}
        self.resources: dict[str, Resource] = {}
        self.templates: dict[str, ResourceTemplate] = {}
        self.prompts: dict[str, Prompt] = {}
        self.completers = Completers()
        # 2026-07-28 extensions this server offers (server/discover capabilities.extensions).
        self.extensions: dict[str, dict[str, Any]] = {}

    def _list_changed(self, kind: str) -> None:
        """``kind`` ("tools", "resources", "prompts") changed. Registration is synchronous
        (decorators run at import time too), so this must not block; a registry alone has
        nobody to tell."""

    # -- registration --------------------------------------------------------------------------

    def tool(
        self,
        name: str | None = None,
        *,
        description: str | None = None,
        title: str | None = None,
        annotations: dict[str, Any] | None = None,
        icons: list[dict[str, Any]] | None = None,
        input_schema: dict[str, Any] | None = None,
        meta: dict[str, Any] | None = None,
        task: str = "forbidden",
        task_start: str = "immediately",
        scopes: Sequence[str] = (),
    ) -> Callable[[F], F]:
        """Register a function as a tool.

        The input schema comes from the type hints (or ``input_schema``, served exactly as
        given and not validated locally); the description from the docstring; a return
        annotation other than str/content gives ``outputSchema`` and ``structuredContent``.
        A parameter annotated ``Context`` receives the request context.

        ``task``: whether a call may run as a task ("optional"), must ("required": a client
        that did not declare the extension gets -32021) or never does ("forbidden", the
        default); see docs/guides/tasks.md. ``task_start="on_detach"``: the call stays a
        plain request (MRTR input rounds included) until the handler calls
        ``await ctx.detach()``.

        ``scopes``: OAuth scopes a call needs when the server is protected (``auth=``); a
        token without them gets 403 ``insufficient_scope`` naming them (step-up).
        """
        if task not in TASK_MODES or task_start not in TASK_STARTS:
            raise ValueError(f"task must be one of {TASK_MODES} and task_start one of {TASK_STARTS}")

        def decorator(fn: F) -> F:
            tool_name = name or fn.__name__
            if tool_name in self.tools:
                raise ValueError(f"a tool named {tool_name!r} is already registered")
            args = arguments_model(fn, Context)
            self.tools[tool_name] = Tool(
                name=tool_name,
                fn=fn,
                description=description or _doc(fn) or tool_name,
                arguments=None if input_schema is not None else args,
                input_schema=input_schema if input_schema is not None else args.schema,
                output=output_spec(fn),
                title=title,
                annotations=annotations,
                icons=icons,
                meta=meta,
                context_param=args.context_param,
                task=task,
                task_start=task_start,
                scopes=tuple(scopes),
            )
            if task != "forbidden":
                self.extensions[TASKS_EXTENSION] = {}
            self._list_changed("tools")
            return fn

        return decorator

    def resource(
        self,
        uri: str,
        *,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        mime_type: str | None = None,
        size: int | None = None,
        annotations: dict[str, Any] | None = None,
        icons: list[dict[str, Any]] | None = None,
        meta: dict[str, Any] | None = None,
        scopes: Sequence[str] = (),
    ) -> Callable[[F], F]:
        """Register a function as a resource; it returns the contents (str: text, bytes:
        blob, or a list of contents).

        A URI with ``{var}`` expressions (RFC 6570) registers a template: the function's
        parameters receive the matched values, converted to their annotated types.
        ``scopes``: OAuth scopes a read needs when the server is protected (as for tools).
        """

        def decorator(fn: F) -> F:
            registry: dict[str, Any] = self.templates if UriTemplate.is_template(uri) else self.resources
            if uri in registry:
                raise ValueError(f"a resource {uri!r} is already registered")
            registry[uri] = _resources.make_resource(
                uri,
                fn,
                arguments_model(fn, Context),
                name=name or fn.__name__,
                title=title,
                description=description or _doc(fn) or None,
                mime_type=mime_type,
                size=size,
                annotations=annotations,
                icons=icons,
                meta=meta,
                scopes=tuple(scopes),
            )
            self._list_changed("resources")
            return fn

        return decorator

    def prompt(
        self,
        name: str | None = None,
        *,
        description: str | None = None,
        title: str | None = None,
        icons: list[dict[str, Any]] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> Callable[[F], F]:
        """Register a function as a prompt; its parameters are the prompt's arguments
        (required unless they have a default) and it returns the messages."""

        def decorator(fn: F) -> F:
            prompt_name = name or fn.__name__
            if prompt_name in self.prompts:
                raise ValueError(f"a prompt named {prompt_name!r} is already registered")
            self.prompts[prompt_name] = Prompt(
                name=prompt_name,
                fn=fn,
                description=description or _doc(fn) or prompt_name,
                arguments=arguments_model(fn, Context),
                title=title,
                icons=icons,
                meta=meta,
            )
            self._list_changed("prompts")
            return fn

        return decorator

    def completion(
        self, argument: str, *, prompt: str | None = None, template: str | None = None
    ) -> Callable[[F], F]:
        """Register suggestions for one argument of a prompt (``prompt=name``) or one
        variable of a resource template (``template=uri_template``). The function takes the
        partial value (and optionally the arguments filled in so far) and returns strings."""
        if prompt is not None and template is None:
            ref_type, ref = "ref/prompt", prompt
        elif template is not None and prompt is None:
            ref_type, ref = "ref/resource", template
        else:
            raise ValueError("completion() needs exactly one of prompt= or template=")

        def decorator(fn: F) -> F:
            self.completers.add(ref_type, ref, argument, fn)
            return fn

        return decorator

    def remove_tool(self, name: str) -> None:
        """Unregister a tool (KeyError if unknown); connected clients are told."""
        del self.tools[name]
        self._list_changed("tools")

    def remove_resource(self, uri: str) -> None:
        """Unregister a resource or a template by its URI (template); clients are told."""
        if self.resources.pop(uri, None) is None and self.templates.pop(uri, None) is None:
            raise KeyError(uri)
        self._list_changed("resources")

    def remove_prompt(self, name: str) -> None:
        """Unregister a prompt (KeyError if unknown); connected clients are told."""
        del self.prompts[name]
        self._list_changed("prompts")

    # -- reading resources -------------------------------------------------------------------

    async def read_resource(self, uri: str, ctx: Context) -> list[dict[str, Any]]:
        """The contents of ``uri``; an unknown URI raises the era's not-found error."""
        found = _resources.resolve(self.resources, self.templates, uri)
        if found is None:
            raise _resources.resource_not_found(uri, ctx.era)
        resource, values = found
        kwargs = _resources.bind_arguments(resource.arguments, values, uri)
        if resource.arguments.context_param is not None:
            kwargs[resource.arguments.context_param] = ctx
        value = resource.fn(**kwargs)
        if inspect.isawaitable(value):
            value = await value
        return _resources.to_contents(value, uri, resource.mime_type)


def _doc(fn: Callable[..., Any]) -> str:
    return inspect.cleandoc(fn.__doc__ or "")
