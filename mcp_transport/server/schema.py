"""JSON Schemas from Python type hints (pydantic), for tool input and output.

A tool's parameters become one pydantic model; its JSON Schema is the tool's ``inputSchema``
and the same model validates the arguments of every call, so the schema we advertise and the
validation we apply can never disagree.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, create_model

__all__ = ["ArgumentsModel", "OutputSpec", "arguments_model", "output_spec", "validation_message"]


class _Arguments(BaseModel):
    model_config = ConfigDict(extra="ignore", arbitrary_types_allowed=True)


@dataclass(frozen=True, slots=True)
class ArgumentsModel:
    """The validated-arguments side of a tool: schema plus the parameter names to pass."""

    model: type[BaseModel]
    schema: dict[str, Any]
    context_param: str | None  # the parameter that receives the Context, if any
    # The model's compiled validator (``BaseModel.__pydantic_validator__``, the pydantic-core
    # SchemaValidator that ``model_validate`` calls), taken once: the same validation and the
    # same errors, without model_validate's keyword handling on every tools/call.
    _validate: Callable[[Any], BaseModel] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_validate", self.model.__pydantic_validator__.validate_python)

    def validate(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Validated keyword arguments for the function; raises pydantic's ValidationError."""
        # A fresh instance's __dict__ holds exactly its fields, in order (extra arguments are
        # ignored, not stored); the instance itself is dropped, so its dict is ours to hand out.
        return self._validate(arguments).__dict__


def arguments_model(fn: Callable[..., Any], context_type: type) -> ArgumentsModel:
    """Build the arguments model of ``fn``; the parameter annotated with ``context_type`` (or
    a subclass) is left out of the schema and filled in by the server."""
    hints = typing.get_type_hints(fn, include_extras=True)
    fields: dict[str, Any] = {}
    context_param = None
    for name, param in inspect.signature(fn).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation = hints.get(name, Any)
        if _is_context(annotation, context_type):
            context_param = name
            continue
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[name] = (annotation, default)
    model = create_model(f"{fn.__name__}_arguments", __base__=_Arguments, **fields)
    schema = model.model_json_schema()
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        if isinstance(prop, dict):
            prop.pop("title", None)
    schema.setdefault("properties", {})
    return ArgumentsModel(model, schema, context_param)


def _is_context(annotation: Any, context_type: type) -> bool:
    """``Context``, a subclass, or ``Context | None``."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = args[0] if len(args) == 1 else None
    return isinstance(annotation, type) and issubclass(annotation, context_type)


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """Structured output: the ``outputSchema`` and how to turn a return value into
    ``structuredContent``. ``wrapped`` is set when the return type is not an object, since
    legacy outputSchema roots must be objects: the value then travels as ``{"result": v}``."""

    schema: dict[str, Any]
    adapter: TypeAdapter[Any]
    wrapped: bool

    def structured(self, value: Any) -> Any:
        dumped = self.adapter.dump_python(value, mode="json")
        return {"result": dumped} if self.wrapped else dumped


_UNSTRUCTURED = (str, bytes, type(None), inspect.Signature.empty)


def output_spec(fn: Callable[..., Any]) -> OutputSpec | None:
    """The structured-output spec from ``fn``'s return annotation, or None when the return
    value is plain content (str, content blocks, None, unannotated)."""
    hint = typing.get_type_hints(fn).get("return", inspect.Signature.empty)
    if hint in _UNSTRUCTURED or _is_content(hint):
        return None
    adapter: TypeAdapter[Any] = TypeAdapter(hint)
    schema = adapter.json_schema()
    wrapped = schema.get("type") != "object"
    if wrapped:
        schema = {"type": "object", "properties": {"result": schema}, "required": ["result"]}
    schema.pop("title", None)
    return OutputSpec(schema, adapter, wrapped)


def _is_content(hint: Any) -> bool:
    """A content block type, or a list/tuple/union containing one (``list[str | Image]``)."""
    from .content import is_content_type

    if typing.get_origin(hint) in (list, tuple, typing.Union, types.UnionType):
        return any(_is_content(arg) for arg in typing.get_args(hint))
    return is_content_type(hint)


def validation_message(exc: ValidationError) -> str:
    """A one-paragraph description of what was wrong with the arguments."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "arguments"
        parts.append(f"{where}: {err['msg']}")
    return "Invalid arguments: " + "; ".join(parts)
