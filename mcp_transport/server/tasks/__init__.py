"""Durable tasks (2026-07-28 extension ``io.modelcontextprotocol/tasks``, SEP-2663): a
``tools/call`` answered with a task handle that the client polls (``tasks/get``), feeds
input (``tasks/update``) and cancels (``tasks/cancel``).

* :mod:`.model`: the task record and its wire shapes;
* :mod:`.store`: the :class:`TaskStore` protocol and the in-memory store;
* :mod:`.context`: :class:`TaskContext`, what a handler running as a task talks to;
* :mod:`.runner`: :class:`TaskRunner`, which decides, runs and settles tasks;
* :mod:`.methods`: the ``tasks/*`` methods.
"""

from .context import TaskContext
from .model import EXTENSION_ID, TaskRecord
from .runner import TaskRunner
from .store import MemoryTaskStore, TaskLimitExceeded, TaskStore

__all__ = [
    "EXTENSION_ID",
    "MemoryTaskStore",
    "TaskContext",
    "TaskLimitExceeded",
    "TaskRecord",
    "TaskRunner",
    "TaskStore",
]
