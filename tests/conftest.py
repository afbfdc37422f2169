"""Shared test configuration: async tests run on asyncio through anyio's pytest plugin; the
real-service fixtures (redis_server, haproxy) come from tests/services.py."""

import pytest

from tests.services import haproxy, redis_server

__all__ = ["anyio_backend", "haproxy", "redis_server"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
