"""Schemas from type hints: tool input (nested models, optional/default values, enums,
Annotated descriptions), structured output, and elicitation forms from pydantic models."""

from __future__ import annotations

import enum
from typing import Annotated, Literal, Optional

import pytest
from pydantic import BaseModel, Field, ValidationError

from mcp_transport.server import Content, Context, Image
from mcp_transport.server.client_features import elicitation_schema
from mcp_transport.server.schema import arguments_model, output_spec


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Address(BaseModel):
    street: str
    city: str = "Paris"


def tool(
    name: Annotated[str, Field(description="Who to greet")],
    address: Address,
    color: Color = Color.RED,
    nickname: Optional[str] = None,  # noqa: UP045 (the old spelling must work too)
    count: int | None = 3,
    mode: Literal["fast", "slow"] = "fast",
    ctx: Context | None = None,
) -> Address:
    raise NotImplementedError


def test_input_schema_from_hints() -> None:
    args = arguments_model(tool, Context)
    schema = args.schema
    assert schema["type"] == "object"
    assert schema["required"] == ["name", "address"]
    props = schema["properties"]
    assert set(props) == {"name", "address", "color", "nickname", "count", "mode"}
    assert props["name"] == {"type": "string", "description": "Who to greet"}
    # nested model: a $ref into $defs, kept (JSON Schema 2020-12), not inlined
    assert props["address"] == {"$ref": "#/$defs/Address"}
    assert schema["$defs"]["Address"]["required"] == ["street"]
    assert schema["$defs"]["Address"]["properties"]["city"]["default"] == "Paris"
    assert schema["$defs"]["Color"]["enum"] == ["red", "green"]
    assert props["color"]["default"] == "red"
    assert props["nickname"] == {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}
    assert props["count"]["default"] == 3
    assert props["mode"] == {"type": "string", "enum": ["fast", "slow"], "default": "fast"}
    assert "title" not in schema and all("title" not in p for p in props.values())


def test_context_parameter_is_left_out_and_reported() -> None:
    assert arguments_model(tool, Context).context_param == "ctx"

    def plain(ctx: Context) -> None: ...

    args = arguments_model(plain, Context)
    assert args.context_param == "ctx" and args.schema["properties"] == {}


def test_validation_converts_and_fills_defaults() -> None:
    args = arguments_model(tool, Context)
    kwargs = args.validate({"name": "x", "address": {"street": "Main"}, "color": "green"})
    assert kwargs["address"] == Address(street="Main", city="Paris")
    assert kwargs["color"] is Color.GREEN
    assert (kwargs["nickname"], kwargs["count"], kwargs["mode"]) == (None, 3, "fast")
    with pytest.raises(ValidationError):
        args.validate({"name": "x", "address": {}})
    with pytest.raises(ValidationError):
        args.validate({"name": "x", "address": {"street": "s"}, "mode": "medium"})


def test_output_schema_for_objects_and_wrapped_scalars() -> None:
    spec = output_spec(tool)
    assert spec is not None and not spec.wrapped
    assert spec.schema["type"] == "object" and spec.schema["required"] == ["street"]
    assert spec.structured(Address(street="s")) == {"street": "s", "city": "Paris"}

    def count() -> int:
        raise NotImplementedError  # only the annotation matters

    wrapped = output_spec(count)
    assert wrapped is not None and wrapped.wrapped
    assert wrapped.schema == {
        "type": "object",
        "properties": {"result": {"type": "integer"}},
        "required": ["result"],
    }
    assert wrapped.structured(3) == {"result": 3}


def test_no_output_schema_for_text_and_content() -> None:
    def text() -> str:
        raise NotImplementedError  # only the annotation matters

    def image() -> Image:
        raise NotImplementedError  # only the annotation matters

    def mixed() -> list[str | Content]:
        raise NotImplementedError  # only the annotation matters

    def nothing(): ...

    assert all(output_spec(f) is None for f in (text, image, mixed, nothing))


class Form(BaseModel):
    name: str = Field("John Doe", description="User name")
    age: int = 30
    status: Literal["active", "inactive"] = "active"
    color: Color = Color.RED
    tags: list[Literal["a", "b"]] = []
    email: Optional[str] = Field(None, title="E-mail")  # noqa: UP045


def test_elicitation_schema_from_model_is_flat_with_defaults_and_enums() -> None:
    schema = elicitation_schema(Form)
    assert schema["type"] == "object" and "$defs" not in schema and "required" not in schema
    props = schema["properties"]
    assert props["name"] == {"type": "string", "description": "User name", "default": "John Doe"}
    assert props["age"] == {"type": "integer", "default": 30}
    assert props["status"] == {"type": "string", "enum": ["active", "inactive"], "default": "active"}
    assert props["color"] == {"type": "string", "enum": ["red", "green"], "default": "red"}
    assert props["tags"] == {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}, "default": []}
    assert props["email"] == {"type": "string", "title": "E-mail", "default": None}


def test_elicitation_schema_dict_is_sent_as_given() -> None:
    raw = {"type": "object", "properties": {"x": {"type": "string", "enumNames": ["X"], "enum": ["x"]}}}
    assert elicitation_schema(raw) is raw
