"""The stdio transport's byte streams on real pipes: lines stay whole when the pipe is full,
and input that comes while nobody is reading is still read."""

from __future__ import annotations

import os

import anyio
import pytest

from mcp_transport.transports.stdio.framing import FdReceiveStream, FdSendStream, LineWriter

pytestmark = pytest.mark.anyio


async def test_a_line_larger_than_the_pipe_is_never_interleaved_with_other_lines() -> None:
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    writer = LineWriter(FdSendStream(write_fd))
    big = b"B" * 1_000_000 + b"\n"  # many times a pipe's buffer: written in parts
    received = bytearray()
    try:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(writer.write_line, big)
                await anyio.sleep(0.01)  # the pipe is full; the rest of the line waits for room
                received += os.read(read_fd, 65536)  # room, before the large line is done
                tg.start_soon(writer.write_line, b"small\n")  # must not go into that room
                while len(received) < len(big) + len(b"small\n"):
                    try:
                        received += os.read(read_fd, 65536)
                    except BlockingIOError:
                        await anyio.sleep(0.001)
    finally:
        os.close(read_fd)
        os.close(write_fd)
    assert bytes(received) == big + b"small\n"


async def test_input_that_comes_while_nobody_reads_is_read_later() -> None:
    read_fd, write_fd = os.pipe()
    reader = FdReceiveStream(read_fd)
    try:
        with anyio.fail_after(5):
            os.write(write_fd, b"one\n")
            assert await reader.receive() == b"one\n"
            received = anyio.Event()

            async def wait_then_read() -> None:
                assert await reader.receive() == b"two\n"  # waits: nothing to read yet
                received.set()

            async with anyio.create_task_group() as tg:
                tg.start_soon(wait_then_read)
                await anyio.sleep(0.01)
                os.write(write_fd, b"two\n")
            await received.wait()
            os.write(write_fd, b"three\n")  # nobody waits now
            await anyio.sleep(0.01)  # the loop sees it readable with no reader
            assert await reader.receive() == b"three\n"

            async def write_later() -> None:
                await anyio.sleep(0.01)
                os.write(write_fd, b"four\n")

            async with anyio.create_task_group() as tg:
                tg.start_soon(write_later)
                assert await reader.receive() == b"four\n"  # waits again: registered again
            os.close(write_fd)
            with pytest.raises(anyio.EndOfStream):
                await reader.receive()
    finally:
        await reader.aclose()
        os.close(read_fd)
