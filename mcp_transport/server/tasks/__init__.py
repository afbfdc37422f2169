"""Durable tasks (2026-07-28 extension ``io.modelcontextprotocol/tasks``, SEP-2663): a
``tools/call`` answered with a task handle that the client polls (``tasks/get``), feeds
input (``tasks/update``) and cancels (``tasks/cancel``).

* :mod:`.model`: a task's wire shapes;
* :mod:`mcp_transport.state.tasks` (re-exported here): the task record, the
  :class:`TaskStore` protocol and the in-memory store (``state.redis.RedisTaskStore``: Redis);
* :mod:`.context`: :class:`TaskContext`, what a handler running as a task talks to;
* :mod:`.runner`: :class:`TaskRunner`, which decides, runs and settles tasks;
* :mod:`.methods`: the ``tasks/*`` methods.
"""

from ...state.tasks import MemoryTaskStore, TaskLimitExceeded, TaskRecord, TaskStore
from .context import TaskContext
from .model import EXTENSION_ID
from .runner import TaskRunner

__all__ = [
    "EXTENSION_ID",
    "MemoryTaskStore",
    "TaskContext",
    "TaskLimitExceeded",
    "TaskRecord",
    "TaskRunner",
    "TaskStore",
]
