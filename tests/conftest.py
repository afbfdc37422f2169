"""Shared test configuration: async tests run on asyncio through anyio's pytest plugin; the
real-service fixtures (redis_server, haproxy, nginx, cluster) come from tests/services.py, and everything_url
(servers.everything on a free port, per module) from tests/interop_servers."""

import pytest

from tests.interop_servers import everything_url
from tests.services import cluster, haproxy, nginx, redis_server

__all__ = ["anyio_backend", "cluster", "everything_url", "haproxy", "nginx", "redis_server"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
