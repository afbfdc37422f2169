"""The sans-IO SSE parser (WHATWG event-stream rules plus MCP priming events)."""

from __future__ import annotations

import pytest

from mcp_transport.transports.http_client.sse_parser import EventTooLarge, ServerSentEvent, SSEParser


def parse_all(*chunks: bytes) -> list[ServerSentEvent]:
    parser = SSEParser()
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    return events


def test_simple_event() -> None:
    assert parse_all(b'event: message\ndata: {"a":1}\n\n') == [ServerSentEvent(data='{"a":1}')]


def test_multi_line_data_is_joined_with_newlines() -> None:
    assert parse_all(b"data: one\ndata: two\ndata:\ndata:three\n\n")[0].data == "one\ntwo\n\nthree"


def test_comments_and_unknown_fields_are_ignored() -> None:
    events = parse_all(b": keep-alive\n\n:\nfoo: bar\ndata: x\n\n")
    assert events == [ServerSentEvent(data="x")]


def test_priming_event_with_id_and_retry_but_empty_data() -> None:
    parser = SSEParser()
    events = parser.feed(b"id: s1:0\nretry: 500\ndata:\n\n")
    assert events == [ServerSentEvent(data="", id="s1:0", retry=500)]
    assert parser.last_event_id == "s1:0" and parser.retry == 500


def test_id_persists_across_events_and_nul_ids_are_ignored() -> None:
    events = parse_all(b"id: 7\ndata: a\n\ndata: b\n\nid: bad\x00id\ndata: c\n\n")
    assert [e.id for e in events] == ["7", "7", "7"]


def test_retry_must_be_digits() -> None:
    parser = SSEParser()
    parser.feed(b"retry: 12x\ndata: a\n\n")
    assert parser.retry is None
    parser.feed(b"retry: 1500\n\n")
    assert parser.retry == 1500


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_all_line_endings(newline: bytes) -> None:
    stream = b"data: a" + newline + b"data: b" + newline + newline + b"data: c" + newline + newline
    assert [e.data for e in parse_all(stream)] == ["a\nb", "c"]


def test_event_split_across_every_byte() -> None:
    stream = b'id: 1\r\nevent: message\r\ndata: {"x": "\xc3\xa9"}\r\n\r\n'
    events = parse_all(*[stream[i : i + 1] for i in range(len(stream))])
    assert events == [ServerSentEvent(data='{"x": "é"}', id="1")]


def test_crlf_split_between_chunks_counts_once() -> None:
    assert [e.data for e in parse_all(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n")] == ["a\nb"]


def test_leading_bom_is_dropped() -> None:
    assert parse_all(b"\xef\xbb", b"\xbfdata: x\n\n") == [ServerSentEvent(data="x")]


def test_field_without_colon_and_without_space() -> None:
    events = parse_all(b"data\ndata:x\n\n")
    assert events[0].data == "\nx"


def test_incomplete_event_is_not_dispatched() -> None:
    assert parse_all(b"data: partial\n") == []


def test_event_type() -> None:
    assert parse_all(b"event: endpoint\ndata: /messages\n\n")[0].event == "endpoint"


def test_oversized_event_is_rejected_without_buffering_forever() -> None:
    parser = SSEParser(max_event_bytes=100)
    with pytest.raises(EventTooLarge):
        parser.feed(b"data: " + b"x" * 200)
    parser = SSEParser(max_event_bytes=100)
    with pytest.raises(EventTooLarge):
        for _ in range(20):
            parser.feed(b"data: 0123456789\n")
