"""The sans-IO line framing of the stdio transport."""

from mcp_transport.transports.stdio import LineBuffer, Oversized


def test_lines_split_across_chunks() -> None:
    buf = LineBuffer(100)
    assert buf.feed(b'{"a"') == []
    assert buf.feed(b':1}\n{"b":2}\r\n\n{"c"') == [b'{"a":1}', b'{"b":2}']
    assert buf.feed(b":3}\n") == [b'{"c":3}']


def test_oversized_line_is_reported_and_dropped_then_framing_recovers() -> None:
    buf = LineBuffer(10)
    out = buf.feed(b"x" * 8)
    assert out == []
    out = buf.feed(b"y" * 8)  # 16 bytes pending: over the limit, nothing is kept
    assert out == []
    out = buf.feed(b"z" * 4 + b"\nok\n")
    assert isinstance(out[0], Oversized) and out[0].size == 20
    assert out[1:] == [b"ok"]


def test_oversized_line_within_one_chunk() -> None:
    out = LineBuffer(4).feed(b"123456789\nabc\n")
    assert isinstance(out[0], Oversized) and out[1] == b"abc"
