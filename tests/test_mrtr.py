"""MRTR's sans-IO parts: sealed requestState and the replay round."""

import pytest

from mcp_transport.errors import InvalidParams
from mcp_transport.mrtr import RequestStateCodec, Round, salient_digest


def test_seal_and_open() -> None:
    codec = RequestStateCodec([b"k" * 32])
    token = codec.seal({"a": {"x": 1}})
    assert codec.open(token)["a"] == {"x": 1}


def test_tampered_state_is_refused() -> None:
    codec = RequestStateCodec([b"k" * 32])
    token = codec.seal({"a": {"x": 1}})
    body, mac = token.split(".")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    for bad in (flipped + "." + mac, body + "." + mac[::-1], "garbage", 42, token + "x"):
        with pytest.raises(InvalidParams):
            codec.open(bad)


def test_another_workers_keys_and_rotation() -> None:
    old, new = b"o" * 32, b"n" * 32
    token = RequestStateCodec([old]).seal({})
    RequestStateCodec([new, old]).open(token)  # rotation: still accepted
    with pytest.raises(InvalidParams):
        RequestStateCodec([new]).open(token)
    with pytest.raises(ValueError):
        RequestStateCodec([b"short"])


def test_expired_state_is_refused() -> None:
    codec = RequestStateCodec([b"k" * 32], ttl=-1)
    with pytest.raises(InvalidParams, match="Expired"):
        codec.open(codec.seal({}))


def test_round_carries_answers_and_binds_to_the_request() -> None:
    codec = RequestStateCodec()
    params = {"name": "greet", "arguments": {"x": 1}}
    first = Round.from_request(codec, "tools/call", params)
    first.asked["step1"] = {"method": "elicitation/create", "params": {}}
    result1 = first.result(codec, "tools/call", params)
    assert result1["resultType"] == "input_required" and "step1" in result1["inputRequests"]

    retry = {
        **params,
        "inputResponses": {"step1": {"action": "accept"}},
        "requestState": result1["requestState"],
    }
    second = Round.from_request(codec, "tools/call", retry)
    assert second.answers == {"step1": {"action": "accept"}}
    second.asked["step2"] = {"method": "roots/list"}
    result2 = second.result(codec, "tools/call", retry)

    third = Round.from_request(
        codec,
        "tools/call",
        {**params, "inputResponses": {"step2": {"roots": []}}, "requestState": result2["requestState"]},
    )
    assert third.answers == {"step1": {"action": "accept"}, "step2": {"roots": []}}

    other = {"name": "greet", "arguments": {"x": 2}, "requestState": result1["requestState"]}
    with pytest.raises(InvalidParams, match="different request"):
        Round.from_request(codec, "tools/call", other)


def test_salient_digest_ignores_mrtr_fields() -> None:
    a = salient_digest("tools/call", {"name": "t", "arguments": {}})
    assert a == salient_digest(
        "tools/call",
        {"name": "t", "arguments": {}, "requestState": "x", "inputResponses": {}, "_meta": {"k": 1}},
    )
    assert a != salient_digest("prompts/get", {"name": "t", "arguments": {}})
