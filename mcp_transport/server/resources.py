"""Resources (2025-11-25 server/resources): static resources, URI templates, and what a read returns.

A resource is a function behind a URI. A static resource has a fixed URI; a template such as
``test://items/{id}`` matches a family of URIs and passes the matched values to the function
as typed arguments (validated like tool arguments). Either way the function returns the
contents: ``str`` (text), ``bytes`` (blob), or a list of those and content dicts.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import orjson
from pydantic import BaseModel, ValidationError

from ..errors import InvalidParams, RPCError
from ..jsonrpc import RESOURCE_NOT_FOUND
from ..protocol import Era
from .content import EmbeddedResource
from .schema import ArgumentsModel, validation_message

__all__ = [
    "Resource",
    "ResourceTemplate",
    "UriTemplate",
    "bind_arguments",
    "make_resource",
    "resolve",
    "resource_not_found",
    "to_contents",
]


@dataclass(slots=True)
class Resource:
    """A registered static resource: one URI, one function producing its contents."""

    uri: str
    name: str
    fn: Callable[..., Any]
    arguments: ArgumentsModel
    title: str | None = None
    description: str | None = None
    mime_type: str | None = None
    size: int | None = None
    annotations: dict[str, Any] | None = None
    icons: list[dict[str, Any]] | None = None
    meta: dict[str, Any] | None = None
    scopes: tuple[str, ...] = ()  # OAuth scopes a read needs (HTTP with auth)

    def to_dict(self) -> dict[str, Any]:
        return _describe({"uri": self.uri, "name": self.name}, self)


@dataclass(slots=True)
class ResourceTemplate:
    """A registered URI template: the function gets the matched values as arguments."""

    template: UriTemplate
    name: str
    fn: Callable[..., Any]
    arguments: ArgumentsModel
    title: str | None = None
    description: str | None = None
    mime_type: str | None = None
    annotations: dict[str, Any] | None = None
    icons: list[dict[str, Any]] | None = None
    meta: dict[str, Any] | None = None
    scopes: tuple[str, ...] = ()  # OAuth scopes a read needs (HTTP with auth)

    @property
    def uri_template(self) -> str:
        return self.template.text

    def to_dict(self) -> dict[str, Any]:
        return _describe({"uriTemplate": self.template.text, "name": self.name}, self)


def _describe(out: dict[str, Any], item: Resource | ResourceTemplate) -> dict[str, Any]:
    for key, value in (
        ("title", item.title),
        ("description", item.description),
        ("mimeType", item.mime_type),
        ("size", getattr(item, "size", None)),
        ("annotations", item.annotations),
        ("icons", item.icons),
        ("_meta", item.meta),
    ):
        if value is not None:
            out[key] = value
    return out


# RFC 6570 expressions we match: {var} (level 1, one path segment) and {+var} (level 2,
# reserved expansion, may span "/"). Other operators are refused at registration.
_EXPRESSION = re.compile(r"\{([+]?)([A-Za-z0-9_]+)\}")


class UriTemplate:
    """An RFC 6570 URI template, for matching URIs against it (levels 1 and 2)."""

    __slots__ = ("_regex", "text", "variables")

    def __init__(self, text: str) -> None:
        self.text = text
        self.variables: list[str] = []
        pattern, end = [], 0
        for m in _EXPRESSION.finditer(text):
            pattern.append(re.escape(text[end : m.start()]))
            operator, name = m.groups()
            if name in self.variables:
                raise ValueError(f"URI template {text!r} uses {{{name}}} twice")
            self.variables.append(name)
            pattern.append(f"(?P<{name}>.+?)" if operator == "+" else f"(?P<{name}>[^/?#]+)")
            end = m.end()
        rest = text[end:]
        if "{" in rest or "}" in rest or any("{" in p or "}" in p for p in pattern):
            raise ValueError(
                f"unsupported URI template {text!r}: only {{var}} and {{+var}} expressions are supported"
            )
        pattern.append(re.escape(rest))
        self._regex = re.compile("".join(pattern))

    @staticmethod
    def is_template(text: str) -> bool:
        return "{" in text

    def match(self, uri: str) -> dict[str, str] | None:
        """The variables of ``uri`` (percent-decoded), or None when it does not match."""
        m = self._regex.fullmatch(uri)
        return {k: unquote(v) for k, v in m.groupdict().items()} if m else None

    def __repr__(self) -> str:
        return f"UriTemplate({self.text!r})"


def make_resource(
    uri: str, fn: Callable[..., Any], arguments: ArgumentsModel, **fields: Any
) -> Resource | ResourceTemplate:
    """A static resource, or a template when ``uri`` has ``{var}`` expressions. The
    function's parameters must be exactly the template's variables (a Context aside)."""
    params = set(arguments.schema["properties"])
    if not UriTemplate.is_template(uri):
        if params:
            raise ValueError(f"static resource {uri!r} takes no parameters (use {{var}} for a template)")
        return Resource(uri=uri, fn=fn, arguments=arguments, **fields)
    template = UriTemplate(uri)
    if params - set(template.variables):
        unmatched = sorted(params - set(template.variables))
        raise ValueError(f"resource template {uri!r} has no variable for parameter(s) {unmatched}")
    fields.pop("size", None)  # a template describes many resources of unknown sizes
    return ResourceTemplate(template=template, fn=fn, arguments=arguments, **fields)


def resolve(
    resources: dict[str, Resource], templates: dict[str, ResourceTemplate], uri: str
) -> tuple[Resource | ResourceTemplate, dict[str, str]] | None:
    """What serves ``uri``, with the template's matched values: a static resource first,
    then the first matching template in registration order; None if nothing does."""
    if uri in resources:
        return resources[uri], {}
    for template in templates.values():
        if (values := template.template.match(uri)) is not None:
            return template, values
    return None


def resource_not_found(uri: str, era: Era) -> RPCError:
    """The error for a read of an unknown URI (2025-11-25 and 2026-07-28
    server/resources#error-handling): legacy -32002, modern -32602;
    both carry ``data.uri``."""
    message = f"Resource not found: {uri}"
    if era is Era.MODERN:
        return InvalidParams(message, {"uri": uri})
    return RPCError(message, {"uri": uri}, code=RESOURCE_NOT_FOUND)


def bind_arguments(arguments: ArgumentsModel, values: dict[str, Any], uri: str) -> dict[str, Any]:
    """Validated keyword arguments for a resource function; a value of the wrong type is a
    bad URI (-32602)."""
    try:
        return arguments.validate(values)
    except ValidationError as exc:
        raise InvalidParams(f"Invalid resource URI {uri}: {validation_message(exc)}", {"uri": uri}) from None


def to_contents(value: Any, uri: str, mime_type: str | None) -> list[dict[str, Any]]:
    """Turn a resource function's return value into ``ReadResourceResult.contents``.

    str -> text; bytes -> blob (base64); an EmbeddedResource or a dict with "text"/"blob" ->
    that item (uri and mimeType filled in when missing); a list -> each item; anything else
    -> its JSON as text (mimeType application/json unless the resource names one).
    """
    if isinstance(value, (list, tuple)):
        return [item for v in value for item in to_contents(v, uri, mime_type)]
    if isinstance(value, str):
        item: dict[str, Any] = {"uri": uri, "text": value}
    elif isinstance(value, (bytes, bytearray)):
        item = {"uri": uri, "blob": base64.b64encode(value).decode("ascii")}
    elif isinstance(value, EmbeddedResource):
        item = value.to_dict()["resource"]
    elif isinstance(value, dict) and ("text" in value or "blob" in value):
        item = {"uri": uri, **value}
    else:
        if isinstance(value, BaseModel):
            value = value.model_dump(mode="json")
        item = {"uri": uri, "text": orjson.dumps(value).decode()}
        mime_type = mime_type or "application/json"
    if mime_type is not None and "mimeType" not in item:
        item = {"uri": item.pop("uri"), "mimeType": mime_type, **item}
    return [item]
